// The rails of a frame (c and h between cells, the output up between layers, x in, h out)
// as a few Plotly line traces grouped by style, plus one marker trace of arrowheads that
// carries the hover text.  Forward: identity colours.  Backward: width and colour by the size
// of the gradient each arrow carries, flowing against the forward arrows.  A reverse row's
// recurrent arrows run right to left (its gradients left to right).  Pure: no DOM.
// Steps are 0-based.

import { binStyle, identity, NORM_BINS, normBin } from "../core/colors.js";
import { sig4, subscript } from "../core/format.js";
import { t as tr } from "../core/i18n.js";
import { segments } from "./layout.js";
import { cellDoneIn, railDoneIn } from "../core/walk.js";

const PENDING = { color: "#d9d9d9", width: 1 };
const FORWARD_STYLE = {
  c: { color: identity("c"), width: 3.5 },
  h: { color: identity("h"), width: 2.5 },
  x: { color: identity("x"), width: 1.5 },
};

// The fixed list of rail line traces: pending, three forward styles, NORM_BINS gradient bins.
const RAIL_KEYS = ["pending", "fwd_c", "fwd_h", "fwd_x", ...Array.from({ length: NORM_BINS }, (_, k) => `bin${k}`)];

function railStyle(key) {
  if (key === "pending") return PENDING;
  if (key.startsWith("fwd_")) return FORWARD_STYLE[key.slice(4)];
  return binStyle(Number(key.slice(3)));
}

/** A state's name with its 1-based step as a subscript: h₃. */
const named = (name, step) => `${name}${subscript(step)}`;

/** The row's layer, with its direction when the layer has two: "layer 1" or "layer 1, ← reverse". */
export function layerText(run, k, dir) {
  return run.bidirectional && dir ? tr("hover.layerDir", { k: k + 1, dir: tr(`dir.${dir}`) }) : tr("hover.layer", { k: k + 1 });
}

/** Hover text and size of a recurrent (c or h) rail segment: {norm, text}. */
function recurrentInfo(run, seg, mode) {
  const n = run.norms[seg.row];
  const name = seg.kind;
  const layer = layerText(run, seg.layer, seg.dir);
  const T = run.steps;
  const reverse = seg.dir === "reverse";
  // The state this segment carries: a forward row's of position b-1, a reverse row's of b.
  const from = reverse ? seg.b : seg.b - 1; // 0-based position it leaves
  const to = reverse ? seg.b - 1 : seg.b; // 0-based position it enters
  const initial = reverse ? seg.b === T : seg.b === 0;
  // The initial state's name: h₀ for the forward direction, h_{T+1} for the reverse one.
  const initialName = named(name, reverse ? T + 1 : 0);
  if (mode === "forward") {
    if (initial) return { norm: 0, text: tr("hover.railInitial", { name: initialName, to: to + 1, layer }) };
    const vnorm = n[name][from];
    const vmax = n[`${name}Max`][from];
    const head = tr("hover.railForward", { name: named(name, from + 1), from: from + 1, to: to + 1, layer });
    return { norm: vnorm, text: `${head}<br>${tr("hover.norm", { name, value: sig4(vnorm) })} · ${tr("hover.maxAbs", { value: sig4(vmax) })}` };
  }
  // Backward: the gradient flows from `to` back to `from`, where it arrives as h_from_next
  // (c_from_next); past the last position it reaches the initial state.
  const v = initial ? n[`g${name}0`] : n[`g${name}`][from];
  const head = initial
    ? tr("hover.railBackwardInitial", { name: initialName, layer })
    : tr("hover.railBackward", { name: named(name, from + 1), from: to + 1, to: from + 1, layer });
  return { norm: v, text: `${head}<br>${tr("hover.norm", { name: `dL/d${name}`, value: sig4(v) })}` };
}

/** Hover text and size of a segment: {norm, text}. */
function railInfo(run, seg, mode) {
  if (seg.kind === "c" || seg.kind === "h") return recurrentInfo(run, seg, mode);
  const out = run.outputs[seg.layer];
  const k = seg.layer + 1;
  const merged = run.bidirectional ? `<br>${tr("hover.merged", { mode: tr(`merge.${run.mergeMode}`) })}` : "";
  if (mode === "forward") {
    if (seg.kind === "up") {
      const v = out.h[seg.t];
      return { norm: v, text: `${tr("hover.up", { k, k1: k + 1, t: seg.t + 1 })}${merged}<br>${tr("hover.norm", { name: "h", value: sig4(v) })}` };
    }
    if (seg.kind === "in") {
      const v = run.norms[0].xIn[seg.t];
      const both = run.bidirectional ? `<br>${tr("hover.inBoth")}` : "";
      return { norm: v, text: `${tr("hover.in", { t: seg.t + 1 })}${both}<br>${tr("hover.norm", { name: "x", value: sig4(v) })}` };
    }
    const v = out.h[seg.t];
    return { norm: v, text: `${tr("hover.out", { t: seg.t + 1 })}${merged}<br>${tr("hover.norm", { name: "h", value: sig4(v) })}` };
  }
  if (seg.kind === "up") {
    const v = out.g[seg.t];
    return { norm: v, text: `${tr("hover.upGrad", { k, k1: k + 1, t: seg.t + 1 })}<br>${tr("hover.norm", { name: "dL/dh", value: sig4(v) })}` };
  }
  if (seg.kind === "in") {
    const gx = run.inputGrad();
    const v = gx ? Math.sqrt(gx[seg.t].reduce((s, x) => s + x * x, 0)) : 0;
    return { norm: v, text: `${tr("hover.inGrad", { t: seg.t + 1 })}<br>${tr("hover.norm", { name: "dL/dx", value: sig4(v) })}` };
  }
  const v = out.g[seg.t];
  return { norm: v, text: `${tr("hover.outGrad", { t: seg.t + 1 })}<br>${tr("hover.norm", { name: "dL/dh", value: sig4(v) })}` };
}

/** The rows of layer k (one per direction). */
const rowsOf = (run, k) => run.rows.filter((row) => row.layer === k);

/**
 * Is a segment done?  A recurrent rail by its row's walk; the input once a direction of
 * layer 0 has read it; a layer's output (up, out) forward once every direction of the layer
 * has computed it, backward once its gradient has started down any direction.
 */
export function segDone(run, seg, mode, step) {
  if (seg.kind === "c" || seg.kind === "h") return railDoneIn(seg.dir, mode, step, seg.b, run.steps);
  const rows = rowsOf(run, seg.layer);
  const done = (row) => cellDoneIn(row.dir, mode, step, seg.t, run.steps);
  if (seg.kind === "in") return rows.some(done);
  return mode === "forward" ? rows.every(done) : rows.some(done);
}

const HEAD_OFFSET = 0.035;

/** Rails: the line traces (fixed list) and one marker trace of arrowheads carrying the hover. */
export function railTraces(run, geom, start, mode, step) {
  const lines = Object.fromEntries(RAIL_KEYS.map((key) => [key, { x: [], y: [] }]));
  const heads = { x: [], y: [], symbol: [], size: [], color: [], text: [], meta: [] };
  for (const seg of segments(geom, start, run.steps)) {
    const done = segDone(run, seg, mode, step);
    let key = "pending";
    let info = null;
    if (done) {
      info = railInfo(run, seg, mode);
      if (mode === "forward") key = seg.kind === "c" ? "fwd_c" : seg.kind === "in" ? "fwd_x" : "fwd_h";
      else key = `bin${normBin(info.norm)}`;
    }
    const line = lines[key];
    line.x.push(seg.x0, seg.x1, null);
    line.y.push(seg.y0, seg.y1, null);
    if (!done) continue;
    const horizontal = seg.y0 === seg.y1;
    const style = railStyle(key);
    const back = mode === "backward";
    if (horizontal) {
      // Forward rows point right (forward pass) or left (gradients); reverse rows the other way.
      const left = back !== (seg.dir === "reverse");
      heads.x.push(left ? seg.x0 + HEAD_OFFSET : seg.x1 - HEAD_OFFSET);
      heads.y.push(seg.y0);
      heads.symbol.push(left ? "triangle-left" : "triangle-right");
    } else {
      heads.x.push(seg.x0);
      heads.y.push(back ? seg.y0 + HEAD_OFFSET * 2 : seg.y1 - HEAD_OFFSET * 2);
      heads.symbol.push(back ? "triangle-down" : "triangle-up");
    }
    heads.size.push(back ? 7 + style.width * 0.9 : 6 + style.width * 1.4);
    heads.color.push(style.color);
    heads.text.push(info.text);
    // What each head belongs to, for the page's tests: "h:reverse:3" (kind, direction, boundary or step).
    heads.meta.push(horizontal ? `${seg.kind}:${seg.dir}:${seg.b}` : `${seg.kind}:${seg.layer}:${seg.t}`);
  }
  // Only styles in use become traces (an empty trace still costs Plotly time).
  const traces = RAIL_KEYS.filter((key) => lines[key].x.length).map((key) => {
    const style = railStyle(key);
    return {
      type: "scatter",
      mode: "lines",
      name: `rail:${key}`,
      x: lines[key].x,
      y: lines[key].y,
      line: { color: style.color, width: style.width },
      hoverinfo: "skip",
      showlegend: false,
    };
  });
  traces.push({
    type: "scatter",
    mode: "markers",
    name: "arrowheads",
    x: heads.x,
    y: heads.y,
    text: heads.text,
    customdata: heads.meta,
    hovertemplate: "%{text}<extra></extra>",
    marker: { symbol: heads.symbol, size: heads.size, color: heads.color, line: { width: 0 } },
    showlegend: false,
  });
  return traces;
}
