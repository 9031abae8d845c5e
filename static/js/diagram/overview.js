// The overview strip: the whole sequence as a thin heatmap (one row per layer and
// direction), the window in view framed, the current step marked.  Pure: no DOM.

import { logUnit, SCALES } from "../core/colors.js";
import { sig4 } from "../core/format.js";
import { t as tr } from "../core/i18n.js";
import { positionOf } from "../core/walk.js";
import { FONT } from "./figure.js";

const mean = (row) => row.reduce((a, b) => a + b, 0) / row.length;
const meanAbs = (row) => row.reduce((a, b) => a + Math.abs(b), 0) / row.length;

// Forward: how much memory each step keeps, on the sigmoid gates' 0..1 scale: the mean
// forget gate (LSTM), the mean update gate (GRU: the share of h_{t-1} kept), or mean |h| (RNN).
const KEEP = { lstm: ["f", mean], gru: ["z", mean], rnn: ["h", meanAbs] };

/** Per row (layer, direction) and step, what the strip shows (forward: memory kept; backward: gradient size). */
export function overviewValues(run, mode) {
  return run.rows.map((row, r) => {
    const base = { layer: row.layer, dir: row.dir };
    if (mode === "forward") {
      const [name, summary] = KEEP[run.cell] || KEEP.rnn;
      const raw = (row.data[name] || []).map(summary);
      return { ...base, z: raw, raw, name: tr("overview.mean", { name: name === "h" ? "|h|" : name }) };
    }
    const n = run.norms[r];
    const raw = run.hasCellState ? n.gcTotal : n.ghTotal;
    return { ...base, z: raw.map(logUnit), raw, name: run.hasCellState ? "‖dL/dc‖" : "‖dL/dh‖" };
  });
}

/** The i18n key of the strip's caption. */
export function overviewCaption(run, mode) {
  return mode === "forward" ? `overview.forward.${run.cell}` : `overview.backward.${run.hasCellState ? "c" : "h"}`;
}

/** The strip itself: one heatmap, redrawn only when the run, the mode or the width changes. */
export function buildOverview(run, mode) {
  const rows = overviewValues(run, mode);
  const x = Array.from({ length: run.steps }, (_, t) => t + 1); // 1-based, as the axis shows
  // Bottom to top as in the diagram: a layer's reverse row under its forward row.
  const order = rows.map((_, r) => r).sort((a, b) => rows[a].layer - rows[b].layer || (rows[a].dir === "reverse" ? -1 : 1));
  const y = order.map((_, j) => j);
  const where = (row, t) =>
    run.bidirectional
      ? tr("hover.whereDir", { t: t + 1, k: row.layer + 1, dir: tr(`dir.${row.dir}`) })
      : tr("hover.where", { t: t + 1, k: row.layer + 1 });
  const text = order.map((r) => rows[r].raw.map((v, t) => `${where(rows[r], t)}<br>${rows[r].name} = ${sig4(v)}`));
  const heat = {
    type: "heatmap",
    name: "overview",
    x,
    y,
    z: order.map((r) => rows[r].z),
    text,
    hovertemplate: "%{text}<extra></extra>",
    colorscale: mode === "forward" ? SCALES.sigmoid : SCALES.norm,
    zmin: 0,
    zmax: 1,
    zsmooth: false,
    showscale: false,
  };
  return { data: [heat] };
}

export const OVERVIEW_MARGIN = Object.freeze({ l: 64, r: 10, t: 2, b: 22 });

/**
 * What moves on the strip at every step, in pixels of the plot element: the frame of the
 * steps in view, the current step (the position of direction `dir`), and the veil over the
 * steps the walk has not reached (none with two directions: each has reached other steps).
 * (Drawn as plain elements over the plot, so a step costs no Plotly redraw.)
 */
export function overviewMarks(run, { start, size, mode, step, dir = "forward" }, { width, height }) {
  const m = OVERVIEW_MARGIN;
  const plotW = Math.max(1, width - m.l - m.r);
  const px = (x) => m.l + ((x - 0.5) / run.steps) * plotW; // x in 1-based step units
  const box = (x0, x1) => ({ left: px(x0), width: Math.max(0, px(x1) - px(x0)), top: m.t, height: height - m.t - m.b });
  const veil = run.bidirectional ? box(0.5, 0.5) : mode === "forward" ? box(step + 1.5, run.steps + 0.5) : box(0.5, step + 0.5);
  const pos = positionOf(dir, step, run.steps);
  return {
    frame: box(start + 0.5, start + size + 0.5),
    cursor: box(pos + 0.5, pos + 1.5),
    veil,
  };
}

export function overviewLayout(run, { height }) {
  return {
    height,
    margin: { ...OVERVIEW_MARGIN },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    font: { family: FONT, size: 10, color: "#555555" },
    showlegend: false,
    dragmode: false,
    hovermode: "closest",
    xaxis: { range: [0.5, run.steps + 0.5], fixedrange: true, showgrid: false, zeroline: false, ticks: "outside", ticklen: 3 },
    yaxis: { range: [-0.5, run.rows.length - 0.5], fixedrange: true, visible: false },
    uirevision: "overview",
  };
}

export function overviewHeight(rows) {
  return 30 + Math.max(2, rows) * 9;
}
