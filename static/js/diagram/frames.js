// One frame of the unrolled diagram as Plotly traces.  Pure: no DOM.
//
// A frame is (run, geometry, window start, mode, step).  Gate strips are heatmaps
// (strips.js), rails are line traces grouped by style (rails.js), labels are text-mode
// scatters, output nodes are markers; a veil fades what the walk has not reached and an
// outline marks the current step.  Only trace data changes from frame to frame: the boxes
// are in the static graph (figure.js).  Steps are 0-based here.

import { binStyle, colorAt, hexToRgb, identity, identityText, normBin, SCALES } from "../core/colors.js";
import { escapeHtml, sig4, subscript } from "../core/format.js";
import { FONT } from "./figure.js";
import { t as tr } from "../core/i18n.js";
import { railTraces } from "./rails.js";
import { stripTraces } from "./strips.js";
import { cellDone } from "../core/walk.js";

function textTrace(name, points, { size = 11, color = "#333333", position = "middle center", hover = false } = {}) {
  return {
    type: "scatter",
    mode: "text",
    name,
    x: points.map((p) => p.x),
    y: points.map((p) => p.y),
    text: points.map((p) => p.text),
    hovertext: hover ? points.map((p) => p.hover || "") : undefined,
    hovertemplate: hover ? "%{hovertext}<extra></extra>" : undefined,
    hoverinfo: hover ? undefined : "skip",
    textposition: position,
    textfont: { size, color: points.map((p) => p.color || color), family: FONT },
    showlegend: false,
  };
}

function outputHover(run, t, mode) {
  const lines = [`<b>${tr("diagram.output")}</b> · t = ${t + 1}`];
  if (run.classTargets) {
    const target = run.classTargets[t];
    if (target === null) lines.push(tr("hover.noTarget"));
    else {
      lines.push(tr("hover.target", { value: escapeHtml(run.classLabel(target)) }));
      lines.push(tr("hover.prob", { value: sig4(run.targetProb(t)) }));
    }
    const guess = run.guess(t);
    if (guess) lines.push(tr("hover.guess", { value: escapeHtml(run.classLabel(guess.k)), p: sig4(guess.p) }));
  } else if (run.valueTargets) {
    const row = run.valueTargets[t];
    lines.push(row && row.some((v) => v !== null) ? tr("hover.target", { value: row.map(sig4).join(", ") }) : tr("hover.noTarget"));
    if (run.output) lines.push(tr("hover.y", { value: run.output.y[t].map(sig4).join(", ") }));
  } else {
    lines.push(tr("summary.lossKind.dh"));
  }
  if (mode === "backward") {
    const g = run.gradYNorm ? run.gradYNorm[t] : run.norms[run.numLayers - 1].gAbove[t];
    lines.push(tr("hover.gradY", { value: sig4(g) }));
  }
  return lines.join("<br>");
}

/** Output nodes: what the head made of the top h at each step (colour), or its gradient. */
function outputTrace(run, geom, start, mode, step) {
  const end = Math.min(start + geom.size, run.steps);
  const pts = { x: [], y: [], color: [], line: [], text: [] };
  for (let t = start; t < end; t += 1) {
    const done = cellDone(mode, step, t);
    let color = "#ffffff";
    if (done && mode === "forward") {
      if (run.classTargets) {
        const p = run.targetProb(t);
        color = p === null ? "#ffffff" : colorAt(SCALES.sigmoid, p);
      } else if (run.valueTargets && run.output) {
        color = colorAt(SCALES.tanh, (run.output.y[t][0] + 1) / 2);
      }
    } else if (done) {
      const g = run.gradYNorm ? run.gradYNorm[t] : run.norms[run.numLayers - 1].gAbove[t];
      color = binStyle(normBin(g)).color;
    }
    pts.x.push(t - start);
    pts.y.push(geom.y.output);
    pts.color.push(color);
    pts.line.push(done ? "#555555" : "#cfcfcf");
    pts.text.push(outputHover(run, t, mode));
  }
  return {
    type: "scatter",
    mode: "markers",
    name: "outputs",
    x: pts.x,
    y: pts.y,
    text: pts.text,
    hovertemplate: "%{text}<extra></extra>",
    marker: { symbol: "circle", size: 15, color: pts.color, line: { color: pts.line, width: 1.5 } },
    showlegend: false,
  };
}

function labelTraces(run, geom, start, mode, step) {
  const end = Math.min(start + geom.size, run.steps);
  const inputs = [];
  const stepsRow = [];
  const targets = [];
  const isText = Boolean(run.tokens);
  for (let t = start; t < end; t += 1) {
    const s = t - start;
    const token = escapeHtml(run.inputLabel(t));
    inputs.push({ x: s, y: geom.y.input, text: token, hover: tr("hover.token", { t: t + 1, token }) });
    stepsRow.push({ x: s, y: geom.y.step, text: String(t + 1), color: t === step ? "#000000" : "#8a8a8a" });
    targets.push({ x: s, y: geom.y.target, text: escapeHtml(run.targetLabel(t)) });
  }
  const edge = [];
  const xl = geom.railX(0)[0] - 0.09; // clear of the arrowheads of the backward pass
  for (let k = 0; k < geom.layers; k += 1) {
    for (const which of geom.hasCellState ? ["c", "h"] : ["h"]) {
      const text = start === 0 ? `${which}${subscript(0)}` : "⋯";
      edge.push({ x: xl, y: geom.railY(k, which), text, color: identityText(which) });
    }
  }
  return [
    textTrace("inputs", inputs, { size: isText ? 15 : 11, color: "#222222", hover: true }),
    textTrace("steps", stepsRow, { size: 10 }),
    textTrace("targets", targets, { size: isText ? 15 : 11, color: "#222222" }),
    textTrace("edges", edge, { size: 11, position: "middle left" }),
  ];
}

function polygon(name, x0, x1, y0, y1, style) {
  const visible = x1 > x0;
  return {
    type: "scatter",
    mode: "lines",
    name,
    x: visible ? [x0, x1, x1, x0, x0] : [],
    y: visible ? [y0, y0, y1, y1, y0] : [],
    fill: "toself",
    hoverinfo: "skip",
    showlegend: false,
    ...style,
  };
}

/** The veil over the cells the walk has not reached, and the frame around the current step. */
function focusTraces(geom, start, mode, step) {
  const [xa, xb] = geom.xRange;
  const [ya, yb] = geom.yRange;
  const s = step - start;
  const veil =
    mode === "forward"
      ? polygon("veil", Math.max(xa, s + 1 - geom.half - 0.01), xb, ya, yb, {})
      : polygon("veil", xa, step === 0 ? xa : Math.min(xb, s - 1 + geom.half + 0.01), ya, yb, {}); // at t = 1 all is done
  Object.assign(veil, { line: { width: 0, color: "rgba(0,0,0,0)" }, fillcolor: "rgba(255,255,255,0.74)" });
  const inView = s >= 0 && s < geom.size;
  // An outline only: a tint would shift the colours of the values inside it.
  const frame = polygon("highlight", inView ? s - 0.47 : 0, inView ? s + 0.47 : 0, ya + 0.06, yb - 0.04, {
    line: { width: 2.5, color: "#1f1f1f" },
    fill: "none",
  });
  return [veil, frame];
}

/**
 * Backward, LSTM: the constant error carousel's rule written on the c rail that leaves the
 * current cell towards t-1, dc_{t-1} = dc_t ⊙ f_t, with its numbers in the hover.  Always
 * one trace (empty when it does not apply), so the frame keeps its shape.
 */
function carouselTrace(run, geom, start, mode, step) {
  const s = step - start;
  const points = [];
  if (mode === "backward" && geom.hasCellState && step > 0 && s > 0 && s < geom.size) {
    const [x0, x1] = geom.railX(s);
    for (let k = 0; k < geom.layers; k += 1) {
      const n = run.norms[k];
      const into = n.gcTotal[step];
      const out = n.gc[step - 1];
      points.push({
        x: (x0 + x1) / 2,
        y: geom.railY(k, "c"),
        text: "⊙ f",
        color: identityText("f"),
        hover: tr("diagram.carousel", { t: step + 1, into: sig4(into), out: sig4(out), ratio: into > 0 ? sig4(out / into) : "–" }),
      });
    }
  }
  return textTrace("carousel", points, { size: 12, position: "top center", hover: true });
}

/** The selected layer's box at the current step (when there is more than one layer). */
function selectedTrace(geom, start, step, layer) {
  const s = step - start;
  const show = geom.layers > 1 && Number.isInteger(layer) && s >= 0 && s < geom.size;
  const y0 = show ? geom.boxBottom(layer) - 0.07 : 0;
  const y1 = show ? geom.boxTop(layer) + 0.07 : 0;
  return polygon("selected-layer", show ? s - geom.half - 0.05 : 0, show ? s + geom.half + 0.05 : 0, y0, y1, {
    line: { width: 2, color: "#0072B2", dash: "dot" },
    fill: "none",
  });
}

const rgba = (hex, alpha) => `rgba(${hexToRgb(hex).join(",")},${alpha})`;

/**
 * What the guided explanation points at in the diagram: outlines around the named gate
 * strips of the selected cell, and a wide translucent band along the c or h rail.
 */
function emphasisTraces(geom, start, step, layer, names) {
  const k = Number.isInteger(layer) ? layer : 0;
  const s = step - start;
  const inView = s >= 0 && s < geom.size;
  const set = new Set(names || []);
  const x = [];
  const y = [];
  if (inView) {
    geom.gates.forEach((gate, r) => {
      if (!set.has(gate)) return;
      const [lo, hi] = geom.band.strips[r];
      const x0 = geom.labelX(s) - geom.labelW / 2;
      const x1 = s + geom.half - 0.02;
      const y0 = geom.boxBottom(k) + lo - 0.025;
      const y1 = geom.boxBottom(k) + hi + 0.025;
      x.push(x0, x1, x1, x0, x0, null);
      y.push(y0, y0, y1, y1, y0, null);
    });
  }
  const rail = (which) => {
    const on = set.has(which) && (which === "h" || geom.hasCellState);
    const yr = on ? geom.railY(k, which) : 0;
    return {
      type: "scatter",
      mode: "lines",
      name: `emph:${which}`,
      x: on ? [geom.xRange[0] + 0.3, geom.xRange[1]] : [],
      y: on ? [yr, yr] : [],
      line: { width: 12, color: rgba(identity(which), 0.28) },
      hoverinfo: "skip",
      showlegend: false,
    };
  };
  return [
    rail("c"),
    rail("h"),
    { type: "scatter", mode: "lines", name: "emph:gates", x, y, line: { width: 2.5, color: "#111111" }, hoverinfo: "skip", showlegend: false },
  ];
}

/**
 * The traces of one frame.  `step` is 0-based; `start` is the window's first step.
 * Returns {data, meta}: meta tells tests and the page what is drawn where.
 */
export function buildFrame(run, geom, { start, mode, step, layer = 0, emphasis = null }) {
  const data = [
    ...emphasisTraces(geom, start, step, layer, emphasis),
    ...stripTraces(run, geom, start, mode, step),
    ...railTraces(run, geom, start, mode, step),
    outputTrace(run, geom, start, mode, step),
    ...labelTraces(run, geom, start, mode, step),
    ...focusTraces(geom, start, mode, step),
    selectedTrace(geom, start, step, layer),
    carouselTrace(run, geom, start, mode, step),
  ];
  return { data, meta: { start, mode, step, slot: step - start, size: geom.size } };
}
