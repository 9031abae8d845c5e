// One frame of the unrolled diagram as Plotly traces.  Pure: no DOM.
//
// A frame is (run, geometry, window start, mode, step).  Gate strips are heatmaps
// (strips.js), rails are line traces grouped by style (rails.js), labels are text-mode
// scatters, output nodes are markers; a veil fades what the walk has not reached and an
// outline marks the current step.  Only trace data changes from frame to frame: the boxes
// are in the static graph (figure.js).  Steps are 0-based here.
//
// A bidirectional layer has two rows: its forward direction at the walk's step and its
// reverse direction at T-1-step (walk.js), so the veil and the outline are drawn per row.

import { binStyle, colorAt, hexToRgb, identity, identityText, normBin, SCALES } from "../core/colors.js";
import { clip, escapeHtml, prob, sig4, subscript } from "../core/format.js";
import { FONT } from "./figure.js";
import { t as tr } from "../core/i18n.js";
import { railTraces } from "./rails.js";
import { stripTraces } from "./strips.js";
import { cellDoneIn, positionOf } from "../core/walk.js";

const INPUT_CHARS = 8; // a word longer than this is cut in the input row (hover has it whole)
const TOPK_CHARS = 6;

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
    textfont: { size: points.map((p) => p.size || size), color: points.map((p) => p.color || color), family: FONT },
    showlegend: false,
  };
}

/**
 * Is the head's output at t done?  Forward: once every direction of the top layer has
 * computed it (the merged output exists); backward: once its gradient has started down.
 */
export function outputDone(run, mode, step, t) {
  const top = run.rows.filter((row) => row.layer === run.numLayers - 1);
  const done = (row) => cellDoneIn(row.dir, mode, step, t, run.steps);
  return mode === "forward" ? top.every(done) : top.some(done);
}

/** The gradient size shown on the output at t (backward). */
function outputGrad(run, t) {
  return run.gradYNorm ? run.gradYNorm[t] : run.outputs[run.numLayers - 1].g[t];
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
    const top = run.topK(t);
    if (top && top.length > 1) {
      lines.push(tr("hover.topK", { k: top.length, list: top.map((q) => `${escapeHtml(q.label)} ${sig4(q.p)}`).join(", ") }));
    } else {
      const guess = run.guess(t);
      if (guess) lines.push(tr("hover.guess", { value: escapeHtml(run.classLabel(guess.k)), p: sig4(guess.p) }));
    }
  } else if (run.valueTargets) {
    const row = run.valueTargets[t];
    lines.push(row && row.some((v) => v !== null) ? tr("hover.target", { value: row.map(sig4).join(", ") }) : tr("hover.noTarget"));
    const y = run.headY(t);
    if (y) lines.push(tr("hover.y", { value: y.map(sig4).join(", ") }));
  } else {
    lines.push(tr("summary.lossKind.dh"));
  }
  if (mode === "backward") lines.push(tr("hover.gradY", { value: sig4(outputGrad(run, t)) }));
  return lines.join("<br>");
}

/** Does the run have an output head (a loss on its outputs)?  A dh run has none. */
export const hasHead = (run) => Boolean(run.output) && run.lossKind !== "dh";

/** Is step t scored (a target to compare the output with)?  Unscored steps get no output node. */
export function scored(run, t) {
  if (run.classTargets) return run.classTargets[t] !== null && run.classTargets[t] !== undefined;
  if (run.valueTargets) {
    const row = run.valueTargets[t];
    return Boolean(row) && row.some((v) => v !== null);
  }
  return hasHead(run);
}

/** Output nodes: what the head made of the top h at each step (colour), or its gradient. */
function outputTrace(run, geom, start, mode, step) {
  const end = Math.min(start + geom.size, run.steps);
  const pts = { x: [], y: [], color: [], line: [], text: [] };
  for (let t = start; hasHead(run) && t < end; t += 1) {
    if (!scored(run, t)) continue; // no target there: nothing is compared, no node drawn
    const done = outputDone(run, mode, step, t);
    let color = "#ffffff";
    if (done && mode === "forward") {
      const y = run.headY(t);
      if (run.classTargets) {
        const p = run.targetProb(t);
        color = p === null ? "#ffffff" : colorAt(SCALES.sigmoid, p);
      } else if (run.valueTargets && y) {
        color = colorAt(SCALES.tanh, (y[0] + 1) / 2);
      }
    } else if (done) {
      color = binStyle(normBin(outputGrad(run, t))).color;
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

/**
 * Each step's most likely outputs over the output row (large heads and token models), most
 * likely nearest the output, the target's line marked.  Forward: once the output is done.
 */
function topKTrace(run, geom, start, mode, step) {
  const points = [];
  const lines = geom.y.topK.length;
  const end = Math.min(start + geom.size, run.steps);
  for (let t = start; t < end && lines; t += 1) {
    if (mode === "forward" && !outputDone(run, mode, step, t)) continue;
    const top = run.topK(t) || [];
    const target = run.classTargets ? run.classTargets[t] : null;
    const hover = [
      `<b>${tr("diagram.topK", { k: top.length })}</b> · t = ${t + 1}`,
      ...top.map((q, j) => `${j + 1}. ${escapeHtml(q.label)}  ${sig4(q.p)}${q.k === target ? ` ← ${tr("diagram.target")}` : ""}`),
    ].join("<br>");
    top.slice(0, lines).forEach((q, j) => {
      const hit = q.k === target;
      points.push({
        x: t - start,
        y: geom.y.topK[j],
        text: `${escapeHtml(clip(q.label, TOPK_CHARS))} ${prob(q.p)}`,
        color: hit ? "#1b7837" : j === 0 ? "#222222" : "#6b6b6b",
        hover,
      });
    });
  }
  return textTrace("topk", points, { size: 10, hover: true });
}

function labelTraces(run, geom, start, mode, step) {
  const end = Math.min(start + geom.size, run.steps);
  const T = run.steps;
  const inputs = [];
  const stepsRow = [];
  const targets = [];
  const isText = Boolean(run.tokens);
  const current = new Set(run.directions.map((dir) => positionOf(dir, step, T)));
  for (let t = start; t < end; t += 1) {
    const s = t - start;
    const whole = escapeHtml(run.inputLabel(t));
    const token = escapeHtml(clip(run.inputLabel(t), INPUT_CHARS));
    inputs.push({ x: s, y: geom.y.input, text: token, hover: tr("hover.token", { t: t + 1, token: whole }) });
    stepsRow.push({ x: s, y: geom.y.step, text: String(t + 1), color: current.has(t) ? "#000000" : "#8a8a8a" });
    let target = escapeHtml(clip(run.targetLabel(t), INPUT_CHARS));
    const p = run.targetProb(t);
    // With the predictions listed above, the target says how likely the model found it.
    if (run.showTopK && p !== null && (mode === "backward" || outputDone(run, mode, step, t))) target = `${target} ${prob(p)}`;
    targets.push({ x: s, y: geom.y.target, text: target });
  }
  const edge = [];
  const xl = geom.railX(0)[0] - 0.09; // clear of the arrowheads of the backward pass
  const xr = geom.railX(geom.size)[1] + 0.06;
  for (let r = 0; r < geom.rows; r += 1) {
    const reverse = geom.rowDir(r) === "reverse";
    for (const which of geom.hasCellState ? ["c", "h"] : ["h"]) {
      // A forward row's initial state enters on the left (x₀); a reverse row's on the right (x_{T+1}).
      const atEdge = reverse ? start + geom.size >= T : start === 0;
      const text = atEdge ? `${which}${subscript(reverse ? T + 1 : 0)}` : "⋯";
      edge.push({ x: reverse ? xr : xl, y: geom.railY(r, which), text, color: identityText(which), reverse });
    }
  }
  return [
    textTrace("inputs", inputs, { size: isText ? (run.embedding ? 13 : 15) : 11, color: "#222222", hover: true }),
    textTrace("steps", stepsRow, { size: 10 }),
    textTrace("targets", targets, { size: isText ? (run.showTopK ? 12 : 15) : 11, color: "#222222" }),
    textTrace("edges", edge.filter((e) => !e.reverse), { size: 11, position: "middle left" }),
    textTrace("edges-reverse", edge.filter((e) => e.reverse), { size: 11, position: "middle right" }),
  ];
}

/** Closed rectangles as one line trace (null between them). */
function rects(name, boxes, style) {
  const x = [];
  const y = [];
  for (const [x0, x1, y0, y1] of boxes) {
    if (!(x1 > x0)) continue;
    if (x.length) {
      x.push(null);
      y.push(null);
    }
    x.push(x0, x1, x1, x0, x0);
    y.push(y0, y0, y1, y1, y0);
  }
  return { type: "scatter", mode: "lines", name, x, y, hoverinfo: "skip", showlegend: false, ...style };
}

/** The positions [lo, hi] (inclusive; lo > hi: none) a row has done at this point of the walk. */
function doneRange(dir, mode, step, T) {
  const pos = positionOf(dir, step, T);
  const forwardOrder = (dir === "reverse") === (mode === "backward");
  return forwardOrder ? [0, pos] : [pos, T - 1];
}

/** The veil's boxes over a band of y for the positions outside [lo, hi]. */
function veilBoxes(geom, start, [lo, hi], y0, y1) {
  const [xa, xb] = geom.xRange;
  if (lo > hi) return [[xa, xb, y0, y1]];
  const boxes = [];
  if (lo > start) boxes.push([xa, Math.min(xb, lo - start - 1 + geom.half + 0.01), y0, y1]);
  if (hi < start + geom.size - 1) boxes.push([Math.max(xa, hi - start + 1 - geom.half - 0.01), xb, y0, y1]);
  return boxes;
}

const VEIL = { line: { width: 0, color: "rgba(0,0,0,0)" }, fillcolor: "rgba(255,255,255,0.74)" };
const OUTLINE = { line: { width: 2.5, color: "#1f1f1f" } };

/** The veil over the cells the walk has not reached, and the frame around the current step. */
function focusTraces(run, geom, start, mode, step) {
  const [xa, xb] = geom.xRange;
  const [ya, yb] = geom.yRange;
  const T = run.steps;
  if (!run.bidirectional) {
    const veil = rects("veil", veilBoxes(geom, start, doneRange("forward", mode, step, T), ya, yb), { fill: "toself", ...VEIL });
    const s = step - start;
    const inView = s >= 0 && s < geom.size;
    // An outline only: a tint would shift the colours of the values inside it.
    const frame = rects("highlight", inView ? [[s - 0.47, s + 0.47, ya + 0.06, yb - 0.04]] : [], OUTLINE);
    return [veil, frame];
  }
  // Two directions: each row is veiled and outlined at its own position.
  const boxes = [];
  const outlines = [];
  for (let r = 0; r < geom.rows; r += 1) {
    const dir = geom.rowDir(r);
    const reverse = dir === "reverse";
    // (The lowest row's band stops above the inputs: they are known before the walk starts.)
    const y0 = geom.rowBottom(r) - (reverse ? (geom.rowLayer(r) === 0 ? 0.02 : 0.375) : 0.15);
    const y1 = geom.rowTop(r) + (reverse ? 0.15 : 0.375);
    boxes.push(...veilBoxes(geom, start, doneRange(dir, mode, step, T), y0, y1));
    const s = positionOf(dir, step, T) - start;
    if (s >= 0 && s < geom.size) outlines.push([s - geom.half - 0.06, s + geom.half + 0.06, geom.rowBottom(r) - 0.07, geom.rowTop(r) + 0.07]);
  }
  if (mode === "forward") {
    // The head reads both directions: its outputs exist where both have been.
    const lo = positionOf("reverse", step, T);
    boxes.push(...veilBoxes(geom, start, [lo, step], geom.boxTop(geom.layers - 1) + 0.375, yb));
  }
  return [rects("veil", boxes, { fill: "toself", ...VEIL }), rects("highlight", outlines, OUTLINE)];
}

/**
 * Backward, LSTM: the constant error carousel's rule written on the c rail that leaves the
 * current cell towards the direction's previous step: the part of dc_{t−1} through the direct
 * edge, dc_t ⊙ f_t (t+1 for a reverse row; the total also gets what arrives through h_{t−1}),
 * with its numbers in the hover.  Always one trace (empty when it does not apply), so the
 * frame keeps its shape.
 */
function carouselTrace(run, geom, start, mode, step) {
  const points = [];
  const T = run.steps;
  for (let r = 0; r < geom.rows && mode === "backward" && geom.hasCellState; r += 1) {
    const reverse = geom.rowDir(r) === "reverse";
    const pos = positionOf(geom.rowDir(r), step, T);
    const prev = reverse ? pos + 1 : pos - 1;
    if (prev < 0 || prev >= T) continue;
    const slot = (reverse ? pos + 1 : pos) - start; // the rail between the two cells enters this slot
    if (slot <= 0 || slot >= geom.size) continue;
    const [x0, x1] = geom.railX(slot);
    const n = run.norms[r];
    const into = n.gcTotal[pos];
    const out = n.gc[prev];
    points.push({
      x: (x0 + x1) / 2,
      y: geom.railY(r, "c"),
      text: "⊙ f",
      color: identityText("f"),
      hover: tr(reverse ? "diagram.carouselReverse" : "diagram.carousel", { t: pos + 1, into: sig4(into), out: sig4(out), ratio: into > 0 ? sig4(out / into) : "–" }),
    });
  }
  return textTrace("carousel", points, { size: 12, position: "top center", hover: true });
}

/** The selected row's box at its current position (when there is more than one row). */
function selectedTrace(run, geom, start, step, row) {
  const show = geom.rows > 1 && Number.isInteger(row) && row >= 0 && row < geom.rows;
  const s = show ? positionOf(geom.rowDir(row), step, run.steps) - start : -1;
  const boxes = show && s >= 0 && s < geom.size ? [[s - geom.half - 0.05, s + geom.half + 0.05, geom.rowBottom(row) - 0.07, geom.rowTop(row) + 0.07]] : [];
  return rects("selected-layer", boxes, { line: { width: 2, color: "#0072B2", dash: "dot" } });
}

const rgba = (hex, alpha) => `rgba(${hexToRgb(hex).join(",")},${alpha})`;

/**
 * What the guided explanation points at in the diagram: outlines around the named gate
 * strips of the selected cell, and a wide translucent band along the c or h rail.
 */
function emphasisTraces(run, geom, start, step, row, names) {
  const r = Number.isInteger(row) && row >= 0 && row < geom.rows ? row : 0;
  const s = positionOf(geom.rowDir(r), step, run.steps) - start;
  const inView = s >= 0 && s < geom.size;
  const set = new Set(names || []);
  const x = [];
  const y = [];
  if (inView) {
    geom.gates.forEach((gate, g) => {
      if (!set.has(gate)) return;
      const [lo, hi] = geom.band.strips[g];
      const x0 = geom.labelX(s) - geom.labelW / 2;
      const x1 = s + geom.half - 0.02;
      const y0 = geom.rowBottom(r) + lo - 0.025;
      const y1 = geom.rowBottom(r) + hi + 0.025;
      x.push(x0, x1, x1, x0, x0, null);
      y.push(y0, y0, y1, y1, y0, null);
    });
  }
  const rail = (which) => {
    const on = set.has(which) && (which === "h" || geom.hasCellState);
    const yr = on ? geom.railY(r, which) : 0;
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
 * The traces of one frame.  `step` is 0-based; `start` is the window's first step; `layer`
 * and `dir` the selected cell's layer and direction.  Returns {data, strips, meta}: Plotly's
 * traces, the gate strips' bricks (stripcanvas.js paints them under the traces), and what is
 * drawn where for tests and the page.
 */
export function buildFrame(run, geom, { start, mode, step, layer = 0, dir = "forward", emphasis = null }) {
  const row = run.rowOf(Number.isInteger(layer) ? layer : 0, dir);
  const data = [
    ...emphasisTraces(run, geom, start, step, row, emphasis),
    ...railTraces(run, geom, start, mode, step),
    outputTrace(run, geom, start, mode, step),
    topKTrace(run, geom, start, mode, step),
    ...labelTraces(run, geom, start, mode, step),
    ...focusTraces(run, geom, start, mode, step),
    selectedTrace(run, geom, start, step, row),
    carouselTrace(run, geom, start, mode, step),
  ];
  // The gate strips are painted under the frame (stripcanvas.js), not given to Plotly.
  const strips = stripTraces(run, geom, start, mode, step);
  return { data, strips, meta: { start, mode, step, slot: step - start, size: geom.size } };
}
