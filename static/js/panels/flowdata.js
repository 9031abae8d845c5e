// The gradient-flow chart and table, computed from a POST /api/compare answer.  Pure: no DOM.
//
// One colour per quantity (as everywhere on the page): every hidden path is h's colour, the
// LSTM's cell path is c's; the three cells differ by line style and marker.

import { identity } from "../core/colors.js";
import { sig } from "../core/format.js";
import { t } from "../core/i18n.js";
import "./strings.js"; // the panels' strings, registered with i18n

export const CELL_ORDER = ["rnn", "gru", "lstm"];
export const VANISHED = 1e-8;
export const EXPLODED = 1e8;
const DASH = { rnn: "dot", gru: "dash", lstm: "solid" };
const SYMBOL = { rnn: "circle", gru: "square", lstm: "diamond" };

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

function line(name, values, color, dash, symbol, key) {
  const steps = values.map((_, k) => k + 1);
  return {
    type: "scatter",
    mode: values.length > 60 ? "lines" : "lines+markers",
    name,
    x: steps,
    y: values.map(logSafe),
    line: { color, dash, width: key === "c" ? 3 : 2 },
    marker: { symbol, size: 5, color },
    hovertemplate: t("flow.hover", { name, t: "%{x}", value: "%{y:.4g}" }) + "<extra></extra>",
    meta: key,
  };
}

function markers(name, values, steps, symbol, color, legend) {
  return {
    type: "scatter",
    mode: "markers",
    name,
    x: steps,
    y: steps.map((s) => logSafe(values[s - 1])),
    // Open symbols draw their outline in marker.color.
    marker: { symbol, size: 8, color, line: { width: 1.5 } },
    hovertemplate: `${name}<br>t = %{x}<br>%{y:.3g}<extra></extra>`,
    // One legend entry per kind of mark, whichever line it is on.
    legendgroup: legend,
    showlegend: false,
  };
}

/**
 * Plotly traces for one layer: each cell's ‖dL/dh_t‖, the LSTM's ‖dL/dc_t‖, and rings on
 * the steps where a norm fell below 1e-8 or rose above 1e8.
 */
export function flowTraces(result, layer) {
  const traces = [];
  const rings = [];
  for (const cell of CELL_ORDER) {
    const entry = result.cells[cell];
    if (!entry) continue;
    const label = t(`flow.cell.${cell}`);
    const paths = [["h", entry.grad_norm_h[layer], t("flow.trace.h", { cell: label })]];
    if (cell === "lstm" && entry.grad_norm_c) paths.push(["c", entry.grad_norm_c[layer], t("flow.trace.c")]);
    for (const [key, values, name] of paths) {
      const color = identity(key);
      traces.push(line(name, values, color, key === "c" ? "solid" : DASH[cell], SYMBOL[cell], key));
      const { low, high } = extremes(values);
      if (low.length) rings.push(markers(`${name}: ${t("flow.trace.low")}`, values, low, "circle-open", "#555555", "low"));
      if (high.length) rings.push(markers(`${name}: ${t("flow.trace.high")}`, values, high, "x-open", "#b00020", "high"));
    }
  }
  for (const kind of ["low", "high"]) {
    const first = rings.find((r) => r.legendgroup === kind);
    if (first) Object.assign(first, { showlegend: true, legendrank: 2000, name: t(`flow.trace.${kind}`) });
  }
  return [...traces, ...rings];
}

/** Horizontal guides at 1e-8 and 1e8, the thresholds the rings mark. */
export function thresholdShapes() {
  return [VANISHED, EXPLODED].map((y) => ({
    type: "line",
    xref: "paper",
    x0: 0,
    x1: 1,
    y0: y,
    y1: y,
    line: { color: "#999999", width: 1, dash: "dot" },
  }));
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
