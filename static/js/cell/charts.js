// The heatmaps (hidden unit x time, one panel per quantity: its axes, title and unit
// outlines, the bricks being a picture heatimage.js paints) and the selected units' line
// chart, as Plotly figures, for one layer and direction.  Pure: no DOM.  Only run, layer,
// direction, mode and language change these; the current step is a marker the view
// positions over them (no Plotly call per step).

import { identity, identityText, stateRange, valueScale } from "../core/colors.js";
import { heatmapNames, isSigmoid } from "../core/cells.js";
import { FONT } from "../diagram/figure.js";
import { t as tr } from "../core/i18n.js";

const PANEL_H = 132; // px per panel row (plot area)
const GAP_Y = 46; // px between panel rows (room for the title)
const MARGIN = { l: 44, r: 12, t: 30, b: 34 };

/** Name shown on a panel's title: "f · forget gate" or "dL/df". */
function panelTitle(name, mode) {
  const long = name === "c" || name === "h" || name === "m" ? tr(`name.${name}`) : name === "a" ? "A" : tr(`gate.${name}`);
  return mode === "backward" ? `dL/d${name === "a" ? "A" : name}  ·  ${long}` : long;
}

/** The grid of panels: [{name, row, col, domain: {x, y}}] and the figure height (px). */
// The look both axes of every heatmap panel share.
const PANEL_AXIS = Object.freeze({
  fixedrange: true,
  showgrid: false,
  zeroline: false,
  ticks: "outside",
  ticklen: 3,
  tickfont: { size: 10 },
});

/** Panels per row: three for five or more quantities, two for fewer; fewer on a narrow figure. */
function columnsFor(count, width) {
  const cols = count >= 5 ? 3 : 2;
  if (width < 560) return 1;
  if (width < 900) return Math.min(cols, 2);
  return cols;
}

/**
 * The grid of panels for a cell's quantities (a cell type, or the list of names) in a figure
 * `width` px wide: {panels: [{name, row, col, domain: {x, y}}], rows, cols, height, margin}.
 */
export function heatmapGrid(cellOrNames, width = 1000) {
  const names = Array.isArray(cellOrNames) ? cellOrNames : heatmapNames(cellOrNames);
  const cols = columnsFor(names.length, width);
  const rows = Math.ceil(names.length / cols);
  const plotH = rows * PANEL_H + (rows - 1) * GAP_Y;
  const height = plotH + MARGIN.t + MARGIN.b;
  const gapX = 0.06;
  const w = (1 - gapX * (cols - 1)) / cols;
  const panels = names.map((name, k) => {
    const row = Math.floor(k / cols);
    const col = k % cols;
    const top = 1 - (row * (PANEL_H + GAP_Y)) / plotH;
    const bottom = top - PANEL_H / plotH;
    return { name, row, col, domain: { x: [col * (w + gapX), col * (w + gapX) + w], y: [Math.max(0, bottom), Math.min(1, top)] } };
  });
  return { panels, rows, cols, height, margin: MARGIN };
}

const axisId = (k) => (k === 0 ? "" : String(k + 1));

// A run's rows never change, so each one's range is scanned once: the heatmaps, their colour
// key and every unit chosen ask again.
const RANGES = new WeakMap();
const rangeOf = (rows) => {
  if (!rows) return stateRange(rows);
  if (!RANGES.has(rows)) RANGES.set(rows, stateRange(rows));
  return RANGES.get(rows);
};

/**
 * The panels of layer k's direction `dir` in a mode, in the grid's order: [{name, rows,
 * units, rule, range, symbol, cellUnits}], rows being the trace's own rows[t][u] (null when
 * the trace lacks that quantity), `rule` the value rule it is coloured by (colors.js
 * valueScale; an unbounded state on the run's `range`), `units` its row count.  With a
 * projection, h has proj_size rows (not the cell's units: `cellUnits` false) and m, the
 * cell's own o ⊙ tanh(c), has a panel.
 */
export function heatmapPanels(run, { k, dir = "forward", mode }) {
  const layer = run.data(k, dir);
  const forward = mode !== "backward";
  return run.heatmaps.map((name) => {
    const source = forward ? layer[name] : layer.grad && layer.grad[name];
    const rows = source && source.length ? source : null;
    const sigmoid = isSigmoid(run.cell, name);
    // Unbounded states (a trained LSTM's c counts far past 1) on a range fixed for the run.
    const range = forward && !sigmoid ? rangeOf(rows) : 1;
    return {
      name,
      rows,
      units: rows ? rows[0].length : run.hidden,
      rule: valueScale(sigmoid, mode, range),
      range,
      symbol: forward ? name : `dL/d${name}`,
      cellUnits: !(name === "h" && run.projSize > 0),
    };
  });
}

/**
 * The heatmaps of layer k's direction `dir` in a mode, for a figure `width` px wide, with the
 * selected units outlined: {data, layout, panels}.  Each panel is an image (`images[name]`,
 * a URL of heatimage.js's picture) placed on its axes, brick (t, u) over step t and unit u;
 * no trace, so Plotly draws the axes, titles and outlines only (heatmaps.js hovers).
 */
export function heatmapFigure(run, { k, dir = "forward", mode, units = [], width, images = {} }) {
  const grid = heatmapGrid(run.heatmaps, width);
  const panels = heatmapPanels(run, { k, dir, mode });
  const T = run.steps;
  const layout = {
    width,
    height: grid.height,
    margin: grid.margin,
    font: { family: FONT, size: 11, color: "#333333" },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    dragmode: false,
    hovermode: false,
    showlegend: false,
    annotations: [],
    shapes: [],
    images: [],
  };
  grid.panels.forEach((cell, j) => {
    const panel = panels[j];
    const id = axisId(j);
    const H = panel.units;
    if (images[panel.name]) {
      layout.images.push({
        name: `heat:${panel.name}`,
        source: images[panel.name],
        xref: `x${id}`,
        yref: `y${id}`,
        x: 0.5,
        y: 0.5, // unit 1's top edge (the axis runs downwards)
        sizex: T,
        sizey: H,
        xanchor: "left",
        yanchor: "top",
        sizing: "stretch",
        layer: "below",
      });
    }
    layout[`xaxis${id}`] = {
      ...PANEL_AXIS,
      domain: cell.domain.x,
      range: [0.5, T + 0.5],
      anchor: `y${id}`,
      nticks: Math.min(T, 12),
      title: cell.row === grid.rows - 1 ? { text: "t", font: { size: 11 }, standoff: 2 } : undefined,
    };
    layout[`yaxis${id}`] = {
      ...PANEL_AXIS,
      domain: cell.domain.y,
      range: [H + 0.5, 0.5], // unit 1 on top
      anchor: `x${id}`,
      nticks: Math.min(H, 6),
      title: cell.col === 0 ? { text: tr("heat.unit"), font: { size: 11 }, standoff: 2 } : undefined,
    };
    layout.annotations.push({
      xref: "paper",
      yref: "paper",
      x: cell.domain.x[0],
      y: cell.domain.y[1],
      yshift: 4,
      xanchor: "left",
      yanchor: "bottom",
      showarrow: false,
      align: "left",
      text: `<b>${panelTitle(panel.name, mode)}</b>${panel.range > 1 ? ` (±${panel.range})` : ""}`,
      font: { size: 12, color: identityText(panel.name === "a" ? "x" : panel.name) },
    });
    for (const u of panel.cellUnits ? units : []) {
      layout.shapes.push({
        type: "rect",
        xref: `x${id}`,
        yref: `y${id}`,
        x0: 0.5,
        x1: T + 0.5,
        y0: u + 0.5,
        y1: u + 1.5,
        line: { color: "#111111", width: 1.6 },
        fillcolor: "rgba(0,0,0,0)",
      });
    }
  });
  return { data: [], layout, panels };
}

/** The pixel box of panel j's plot area in a figure of `width` px: {left, top, width, height}. */
export function panelBox(cellOrNames, j, width) {
  const grid = heatmapGrid(cellOrNames, width);
  const panel = grid.panels[j];
  const plotW = width - grid.margin.l - grid.margin.r;
  const plotH = grid.height - grid.margin.t - grid.margin.b;
  return {
    left: grid.margin.l + panel.domain.x[0] * plotW,
    width: (panel.domain.x[1] - panel.domain.x[0]) * plotW,
    top: grid.margin.t + (1 - panel.domain.y[1]) * plotH,
    height: (panel.domain.y[1] - panel.domain.y[0]) * plotH,
  };
}

const DASHES = ["solid", "dash", "dot", "dashdot"];
const MARKERS_UP_TO = 200; // steps (at 1280 px a marker is then about 3 px apart)
export const UNIT_CHART_MARGIN = { l: 58, r: 12, t: 40, b: 40 };
export const UNIT_CHART_HEIGHT = 300;

/**
 * The selected units' c_t and h_t over time (forward), or |dL/dc_t| and |dL/dh_t| on a log
 * axis (backward: gradients span decades, and their fading is the point).  With a projection
 * the units' own output is m_t (h_t = W_hr m_t has other units).
 */
export function unitChartFigure(run, { k, dir = "forward", mode, units, width }) {
  const layer = run.data(k, dir);
  const names = run.hasCellState ? ["c", run.projSize > 0 ? "m" : "h"] : ["h"];
  const back = mode === "backward";
  const xs = Array.from({ length: run.steps }, (_, t) => t + 1);
  const data = [];
  units.forEach((u, j) => {
    for (const name of names) {
      const rows = back ? layer.grad[name] : layer[name];
      const raw = rows.map((r) => r[u]);
      const symbol = back ? `dL/d${name}` : name;
      data.push({
        type: "scatter",
        // A marker per step while steps are apart; past MARKERS_UP_TO they merge into the line.
        mode: run.steps <= MARKERS_UP_TO ? "lines+markers" : "lines",
        name: `${symbol} · ${tr("hover.unit", { u: u + 1 })}`,
        x: xs,
        y: back ? raw.map((v) => (v === 0 ? null : Math.abs(v))) : raw,
        customdata: raw,
        line: { color: identity(name), width: 2, dash: DASHES[j % DASHES.length] },
        marker: { size: 4 },
        hovertemplate: `<b>${symbol}</b> · ${tr("hover.unit", { u: u + 1 })}<br>t = %{x}<br>${symbol} = %{customdata:.4g}<extra></extra>`,
      });
    }
  });
  const layout = {
    width,
    height: UNIT_CHART_HEIGHT,
    margin: UNIT_CHART_MARGIN,
    font: { family: FONT, size: 11, color: "#333333" },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    dragmode: false,
    hovermode: "closest",
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", font: { size: 11 } },
    xaxis: { range: [0.5, run.steps + 0.5], fixedrange: true, title: { text: "t", standoff: 4 }, zeroline: false, gridcolor: "#eeeeee" },
    yaxis: back
      ? { type: "log", fixedrange: true, title: { text: tr("unit.gradAxis") }, exponentformat: "power", gridcolor: "#eeeeee" }
      : { fixedrange: true, title: { text: tr("unit.valueAxis") }, zeroline: true, zerolinecolor: "#bbbbbb", gridcolor: "#eeeeee" },
  };
  return { data, layout };
}
