// The rails of a frame (c and h between cells, h up between layers, x in, h out) as a few
// Plotly line traces grouped by style, plus one marker trace of arrowheads that carries the
// hover text.  Forward: identity colours.  Backward: width and colour by the size of the
// gradient each arrow carries, flowing against the forward arrows.  Pure: no DOM.
// Steps are 0-based.

import { binStyle, identity, NORM_BINS, normBin } from "../core/colors.js";
import { sig4, subscript } from "../core/format.js";
import { t as tr } from "../core/i18n.js";
import { segments } from "./layout.js";
import { cellDone, railDone } from "../core/walk.js";

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


/** Hover text and size of a rail segment: {norm, max, text}. */
function railInfo(run, seg, mode) {
  const n = run.norms[seg.layer];
  const k = seg.layer + 1;
  if (mode === "forward") {
    if (seg.kind === "c" || seg.kind === "h") {
      const name = seg.kind;
      if (seg.b === 0) return { norm: 0, text: tr("hover.railInitial", { name: `${name}${subscript(0)}`, k }) };
      const vnorm = n[name][seg.b - 1];
      const vmax = n[`${name}Max`][seg.b - 1];
      const head = tr("hover.railForward", { name: `${name}${subscript(seg.b)}`, from: seg.b, to: seg.b + 1, k });
      return { norm: vnorm, text: `${head}<br>${tr("hover.norm", { name, value: sig4(vnorm) })} · ${tr("hover.maxAbs", { value: sig4(vmax) })}` };
    }
    if (seg.kind === "up") {
      const v = n.h[seg.t];
      return { norm: v, text: `${tr("hover.up", { k, k1: k + 1, t: seg.t + 1 })}<br>${tr("hover.norm", { name: "h", value: sig4(v) })}` };
    }
    if (seg.kind === "in") {
      const v = n.xIn[seg.t];
      return { norm: v, text: `${tr("hover.in", { t: seg.t + 1 })}<br>${tr("hover.norm", { name: "x", value: sig4(v) })}` };
    }
    const v = n.h[seg.t];
    return { norm: v, text: `${tr("hover.out", { t: seg.t + 1 })}<br>${tr("hover.norm", { name: "h", value: sig4(v) })}` };
  }
  // Backward: the gradient each arrow carries, flowing against the forward arrows.
  if (seg.kind === "c" || seg.kind === "h") {
    const name = seg.kind;
    const initial = seg.b === 0;
    const v = initial ? n[`g${name}0`] : n[`g${name}`][seg.b - 1];
    const head = initial
      ? tr("hover.railBackwardInitial", { name, k })
      : tr("hover.railBackward", { name: `${name}${subscript(seg.b)}`, from: seg.b + 1, to: seg.b, k });
    return { norm: v, text: `${head}<br>${tr("hover.norm", { name: `dL/d${name}`, value: sig4(v) })}` };
  }
  if (seg.kind === "up") {
    const v = n.gAbove[seg.t];
    return { norm: v, text: `${tr("hover.upGrad", { k, k1: k + 1, t: seg.t + 1 })}<br>${tr("hover.norm", { name: "dL/dh", value: sig4(v) })}` };
  }
  if (seg.kind === "in") {
    const v = n.gx[seg.t];
    return { norm: v, text: `${tr("hover.inGrad", { t: seg.t + 1 })}<br>${tr("hover.norm", { name: "dL/dx", value: sig4(v) })}` };
  }
  const v = n.gAbove[seg.t];
  return { norm: v, text: `${tr("hover.outGrad", { t: seg.t + 1 })}<br>${tr("hover.norm", { name: "dL/dh", value: sig4(v) })}` };
}

function segDone(seg, mode, step) {
  return seg.kind === "c" || seg.kind === "h" ? railDone(mode, step, seg.b) : cellDone(mode, step, seg.t);
}

const HEAD_OFFSET = 0.035;

/** Rails: the line traces (fixed list) and one marker trace of arrowheads carrying the hover. */
export function railTraces(run, geom, start, mode, step) {
  const lines = Object.fromEntries(RAIL_KEYS.map((key) => [key, { x: [], y: [] }]));
  const heads = { x: [], y: [], symbol: [], size: [], color: [], text: [] };
  for (const seg of segments(geom, start, run.steps)) {
    const done = segDone(seg, mode, step);
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
      heads.x.push(back ? seg.x0 + HEAD_OFFSET : seg.x1 - HEAD_OFFSET);
      heads.y.push(seg.y0);
      heads.symbol.push(back ? "triangle-left" : "triangle-right");
    } else {
      heads.x.push(seg.x0);
      heads.y.push(back ? seg.y0 + HEAD_OFFSET * 2 : seg.y1 - HEAD_OFFSET * 2);
      heads.symbol.push(back ? "triangle-down" : "triangle-up");
    }
    heads.size.push(back ? 7 + style.width * 0.9 : 6 + style.width * 1.4);
    heads.color.push(style.color);
    heads.text.push(info.text);
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
    hovertemplate: "%{text}<extra></extra>",
    marker: { symbol: heads.symbol, size: heads.size, color: heads.color, line: { width: 0 } },
    showlegend: false,
  });
  return traces;
}
