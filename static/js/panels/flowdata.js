// The gradient-flow chart and table, computed from a POST /api/compare answer.  Pure: no DOM.
//
// Each cell's line has a colour of its own (core/colors.js CELL_LINE: colour-blind safe, at
// least 3:1 against white), a dash and a marker, so no line is told apart by one cue alone.
// Markers are thinned on long sequences (at most MARKERS per line), so a line of 1000 steps
// stays a line; the steps where a norm left 1e-8 .. 1e8 are a shaded band and one mark per
// line where it crossed, never a ring on every step.

import { CELL_LINE } from "../core/colors.js";
import { sig } from "../core/format.js";
import { t } from "../core/i18n.js";
import "./strings.js"; // the panels' strings, registered with i18n

export const CELL_ORDER = ["rnn", "gru", "lstm"];
export const VANISHED = 1e-8;
export const EXPLODED = 1e8;
export const MARKERS = 12;
export const DASH = Object.freeze({ rnn: "dot", gru: "dash", lstm: "solid", c: "longdashdot" });
export const SYMBOL = Object.freeze({ rnn: "circle", gru: "square", lstm: "diamond", c: "triangle-up" });
const GUIDE = "#767676"; // 4.5:1 on white
const RING = { low: "#333333", high: "#b00020" };

/** A value for a log axis: zero or non-finite norms become gaps, not -Infinity. */
export function logSafe(v) {
  return Number.isFinite(v) && v > 0 ? v : null;
}

/** Steps (1-based) whose value is below VANISHED or above EXPLODED (exact zeros have no place on a log axis). */
export function extremes(values) {
  const low = [];
  const high = [];
  values.forEach((v, k) => {
    if (!Number.isFinite(v) || v <= 0) return;
    if (v < VANISHED) low.push(k + 1);
    else if (v > EXPLODED) high.push(k + 1);
  });
  return { low, high };
}

/** The style of one line: `key` is a cell (its hidden path) or "c" (the LSTM's cell path). */
export function lineStyle(key) {
  return { color: CELL_LINE[key], dash: DASH[key], symbol: SYMBOL[key] };
}

function line(name, values, key, meta) {
  const { color, dash, symbol } = lineStyle(key);
  const steps = values.map((_, k) => k + 1);
  return {
    type: "scatter",
    mode: "lines+markers",
    name,
    x: steps,
    y: values.map(logSafe),
    // The LSTM's two paths often carry nearly the same norm: its hidden path is a wide band
    // with large diamonds, its cell path a thin dash-dot line with small triangles drawn over
    // it, so both show where they coincide.
    line: { color, dash, width: key === "lstm" ? 5 : 2 },
    // maxdisplayed thins the markers, never the line.
    marker: { symbol, size: key === "lstm" ? 11 : key === "c" ? 6 : 7, color, maxdisplayed: values.length > MARKERS * 3 ? MARKERS : 0, line: { color: "#ffffff", width: 1 } },
    hovertemplate: t("flow.hover", { name, t: "%{x}", value: "%{y:.4g}" }) + "<extra></extra>",
    meta,
  };
}

/**
 * Where a line crossed a threshold, read backwards from t = T (the way the gradient travels):
 * the latest step below 1e-8 and the latest above 1e8, or null.
 */
export function crossings(values) {
  const { low, high } = extremes(values);
  return { low: low.length ? low[low.length - 1] : null, high: high.length ? high[high.length - 1] : null };
}

function crossMark(name, values, step, kind) {
  return {
    type: "scatter",
    mode: "markers",
    name: `${name}: ${t(`flow.trace.${kind}`)}`,
    x: [step],
    y: [logSafe(values[step - 1])],
    marker: { symbol: kind === "low" ? "circle-open" : "x-open", size: 13, color: RING[kind], line: { width: 2 } },
    hovertemplate: t(`flow.cross.${kind}`, { name, t: step }) + "<extra></extra>",
    // One legend entry per kind of mark, whichever line it is on.
    legendgroup: kind,
    showlegend: false,
  };
}

/**
 * Plotly traces for one layer: each cell's ‖dL/dh_t‖, the LSTM's ‖dL/dc_t‖, and one mark per
 * line at the step where its norm, read back from T, fell below 1e-8 or rose above 1e8.
 */
export function flowTraces(result, layer) {
  const traces = [];
  const marks = [];
  for (const cell of CELL_ORDER) {
    const entry = result.cells[cell];
    if (!entry) continue;
    const label = t(`flow.cell.${cell}`);
    const paths = [[cell, "h", entry.grad_norm_h[layer], t("flow.trace.h", { cell: label })]];
    if (cell === "lstm" && entry.grad_norm_c) paths.push(["c", "c", entry.grad_norm_c[layer], t("flow.trace.c")]);
    for (const [style, meta, values, name] of paths) {
      traces.push(line(name, values, style, meta));
      const cross = crossings(values);
      for (const kind of ["low", "high"]) if (cross[kind] !== null) marks.push(crossMark(name, values, cross[kind], kind));
    }
  }
  for (const kind of ["low", "high"]) {
    const first = marks.find((r) => r.legendgroup === kind);
    if (first) Object.assign(first, { showlegend: true, legendrank: 2000, name: t(`flow.trace.${kind}`) });
  }
  return [...traces, ...marks];
}

/** The legend, drawn by the page under the chart (it wraps on a phone; Plotly's overlapped the axis title). */
export function legendItems(traces, shapes = []) {
  const lines = traces
    .filter((tr) => tr.meta)
    .map((tr) => ({ kind: "line", name: tr.name, color: tr.line.color, dash: tr.line.dash, width: tr.line.width, symbol: tr.marker.symbol }));
  const marks = traces
    .filter((tr) => !tr.meta && tr.showlegend)
    .map((tr) => ({ kind: "mark", name: tr.name, color: tr.marker.color, symbol: tr.marker.symbol }));
  // The dotted guides at 1e-8 and 1e8 (thresholdShapes) are named too.
  const guide = shapes.find((sh) => sh.type === "line");
  const guides = guide ? [{ kind: "guide", name: t("flow.guides"), color: guide.line.color, dash: guide.line.dash }] : [];
  return [...lines, ...marks, ...guides];
}

/** SVG stroke-dasharray for a Plotly dash name. */
export function dashArray(dash) {
  return { dot: "2 3", dash: "6 4", longdashdot: "10 3 2 3" }[dash] ?? "";
}

/**
 * Guides at 1e-8 and 1e8 (the thresholds the marks use) and, where some norm went past
 * one, a shaded band from the threshold to the furthest value.
 */
export function thresholdShapes(result = null, layer = 0) {
  const shapes = [VANISHED, EXPLODED].map((y) => ({
    type: "line",
    xref: "paper",
    x0: 0,
    x1: 1,
    y0: y,
    y1: y,
    line: { color: GUIDE, width: 1, dash: "dot" },
  }));
  if (!result) return shapes;
  const all = [];
  for (const cell of CELL_ORDER) {
    const entry = result.cells[cell];
    if (!entry) continue;
    all.push(...entry.grad_norm_h[layer].map(logSafe));
    if (entry.grad_norm_c) all.push(...entry.grad_norm_c[layer].map(logSafe));
  }
  const finite = all.filter((v) => v !== null);
  const band = (y0, y1, kind) => ({
    type: "rect",
    xref: "paper",
    x0: 0,
    x1: 1,
    y0,
    y1,
    layer: "below",
    line: { width: 0 },
    fillcolor: kind === "low" ? "#000000" : "#b00020",
    opacity: 0.06,
    name: kind,
  });
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  if (lo < VANISHED) shapes.push(band(lo, VANISHED, "low"));
  if (hi > EXPLODED) shapes.push(band(EXPLODED, hi, "high"));
  return shapes;
}

/** The chart's numbers as a table: a row per step t, a column per line (as the legend names it). */
export function flowTable(result, layer) {
  const columns = [];
  for (const cell of CELL_ORDER) {
    const entry = result.cells[cell];
    if (!entry) continue;
    columns.push([t("flow.trace.h", { cell: t(`flow.cell.${cell}`) }), entry.grad_norm_h[layer]]);
    if (cell === "lstm" && entry.grad_norm_c) columns.push([t("flow.trace.c"), entry.grad_norm_c[layer]]);
  }
  const steps = columns.length ? columns[0][1].length : 0;
  return {
    head: [t("flow.data.step"), ...columns.map(([name]) => name)],
    rows: Array.from({ length: steps }, (_, k) => [k + 1, ...columns.map(([, values]) => tableNumber(values[k]))]),
  };
}

/** A number for a data table: 4 significant digits; "–" where there is none. */
export function tableNumber(v) {
  return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : "–";
}

/** Rows of the comparison table, as strings ready for textContent. */
export function flowRows(result, layer) {
  const none = t("flow.none");
  return CELL_ORDER.filter((c) => result.cells[c]).map((cell) => {
    const e = result.cells[cell];
    const h = e.grad_norm_h[layer];
    const first = h[0];
    const last = h[h.length - 1];
    const clip = e.grad_norm_params;
    const sat = e.saturation.length ? e.saturation.reduce((a, b) => a + b, 0) / e.saturation.length : 0;
    return {
      cell,
      label: t(`flow.cell.${cell}`),
      loss: sig(e.loss),
      first: sig(first),
      last: sig(last),
      ratio: last > 0 ? sig(first / last, 3) : none,
      spectral: e.spectral_radius ? `${sig(e.spectral_radius[layer], 3)} / ${sig(e.max_singular_value[layer], 3)}` : none,
      clip:
        clip.threshold === null || clip.threshold === undefined
          ? t("flow.table.noClip", { before: sig(clip.before) })
          : `${sig(clip.before)} → ${sig(clip.after)}`,
      saturation: `${Math.round(sat * 100)} %`,
    };
  });
}

/** The one-sentence reading of the chart: what share of the gradient reaches step 1. */
export function flowSummary(result, layer) {
  const share = (cell) => {
    const h = result.cells[cell].grad_norm_h[layer];
    const last = h[h.length - 1];
    return last > 0 ? sig(h[0] / last, 2) : t("flow.none");
  };
  return t("flow.summary", { rnn: share("rnn"), gru: share("gru"), lstm: share("lstm") });
}
