// The detail area under the diagram (DOM glue): the cell view, the equations, the heatmaps,
// the unit chart and the guided explanation, and the selection they share: the layer and
// direction (the cell clicked in the diagram, or the selects) and the hidden units (clicked
// in any view).  The walk's step is the forward direction's position; a reverse direction
// is shown where it is at that step (core/walk.js positionOf).

import { cssGradient, SCALES } from "../core/colors.js";
import { runGraph } from "./cellgraph.js";
import { createCellDetail } from "./celldetail.js";
import { renderEquations } from "./equationsview.js";
import { visibleNodes } from "../explain/explain.js";
import { createHeatmaps } from "./heatmaps.js";
import { heatmapPanels } from "./charts.js";
import { language, registerStrings, t } from "../core/i18n.js";
import { createUnitChart } from "./unitchart.js";
import { MAX_SELECTED_UNITS as MAX_UNITS } from "../core/urlstate.js";
import { positionOf } from "../core/walk.js";
import { yieldToPage } from "../core/tasks.js";
import { sig4 } from "../core/format.js";

const $ = (id) => document.getElementById(id);

export const en = {
  "cellKeys.heatLabel":
    "Heatmaps of layer {k}: each quantity's units (rows, unit 1 on top) over the steps (columns), the current step t = {t} marked; unit {u} of {H} chosen. Up and down arrows choose the unit; its numbers are in the equations.",
  "cellKeys.chartLabel": "The chosen units over the steps: {list}. Their numbers at the current step are in the equations.",
  "cellKeys.heatTable": "The heatmaps as a table (every unit at this step)",
  "cellKeys.heatCaption": "Layer {k}, {mode} pass, t = {t}: each unit's values.",
  "cellKeys.chartTable": "The chart as a table (the chosen units at every step)",
  "cellKeys.chartCaption": "Layer {k}, {mode} pass: {name} of the chosen units at each step.",
  "cellKeys.unit": "Unit",
  "cellKeys.step": "Step",
  "cellKeys.heatScale": "Colours of these heatmaps:",
  "cellKeys.scaleOf": "{names}: {lo}..{hi}",
};
export const ko = {
  "cellKeys.heatLabel":
    "{k}층 히트맵: 값마다 유닛(행, 맨 위가 1번)을 시점(열)에 따라 보여 주고, 지금 시점 t = {t}를 표시해요. 유닛 {H}개 중 {u}번을 골랐어요. 위아래 화살표로 유닛을 골라요. 그 숫자는 수식에 있어요.",
  "cellKeys.chartLabel": "고른 유닛의 시점에 따른 변화예요: {list}. 지금 시점의 숫자는 수식에 있어요.",
  "cellKeys.heatTable": "히트맵을 표로 보기(이 시점의 모든 유닛)",
  "cellKeys.heatCaption": "{k}층, {mode}, t = {t}: 유닛마다의 값이에요.",
  "cellKeys.chartTable": "차트를 표로 보기(고른 유닛의 모든 시점)",
  "cellKeys.chartCaption": "{k}층, {mode}: 고른 유닛의 시점마다의 {name}이에요.",
  "cellKeys.unit": "유닛",
  "cellKeys.step": "시점",
  "cellKeys.heatScale": "이 히트맵의 색:",
  "cellKeys.scaleOf": "{names}: {lo}..{hi}",
};
registerStrings({ en, ko });
const tk = (key, params) => t(`cellKeys.${key}`, params); // (registered above)

/** A <details> holding a table, placed after `anchor`; `fill(table)` runs while it is open. */
function tableBox(anchor, testid) {
  const box = document.createElement("details");
  box.className = "chart-table-alt";
  box.setAttribute("data-testid", testid);
  const summary = document.createElement("summary");
  const table = document.createElement("table");
  box.append(summary, table);
  anchor.insertAdjacentElement("afterend", box);
  return { box, summary, table };
}

function tableOf(table, caption, head, rows) {
  const cell = (tag, text, attrs = {}) => {
    const el = document.createElement(tag);
    el.textContent = text;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  };
  const thead = document.createElement("thead");
  const tr = document.createElement("tr");
  tr.append(...head.map((h) => cell("th", h, { scope: "col" })));
  thead.append(tr);
  const tbody = document.createElement("tbody");
  for (const [label, values] of rows) {
    const row = document.createElement("tr");
    row.append(cell("th", label, { scope: "row" }), ...values.map((v) => cell("td", v === null ? "" : sig4(v), v === null ? {} : { "data-value": String(v) })));
    tbody.append(row);
  }
  table.replaceChildren(cell("caption", caption), thead, tbody);
}

/** Plotly's SVG (a stream of tick labels) is hidden from screen readers, whenever it is (re)built. */
function hideSvgOf(element) {
  const hide = () => {
    // (The SVGs only: the toolbar beside them keeps its buttons, which must stay reachable.)
    for (const el of element.querySelectorAll("svg.main-svg:not([aria-hidden])")) el.setAttribute("aria-hidden", "true");
  };
  new MutationObserver(hide).observe(element, { childList: true, subtree: true });
  hide();
}

function legendBar(label, scale, ticks) {
  const box = document.createElement("div");
  box.className = "mini-scale";
  const name = document.createElement("span");
  name.textContent = label;
  const bar = document.createElement("i");
  bar.style.background = cssGradient(scale);
  const row = document.createElement("span");
  row.className = "mini-ticks";
  for (const tick of ticks) {
    const s = document.createElement("span");
    s.textContent = tick;
    row.append(s);
  }
  box.append(name, bar, row);
  return box;
}

export function createDetail({ setMode, setFocus, createExplain, onSelect = () => {} }) {
  let run = null;
  let frame = { mode: "forward", step: 1 };
  let layer = 0;
  let dir = "forward";
  let units = [0];

  const cell = createCellDetail({ element: $("cell-detail"), tooltip: $("cell-tip"), onSelectUnit: selectUnit });
  const heatmaps = createHeatmaps({ element: $("heatmaps"), stage: $("heat-stage"), onSelectUnit: selectUnit });
  const chart = createUnitChart({ element: $("unit-chart"), cursor: $("unit-cursor") });
  // The guided explanation's view is handed in by the entry (rooms do not import each other's glue).
  const explain = createExplain({
    onStep: (step) => applyStep(step, true),
    onDirection: (next) => selectLayer(layer, next),
  });
  // Keyboard: the heatmaps take the focus; ↑ ↓ choose the unit (unit 1 is on top), as a click does.
  const heatEl = $("heatmaps");
  const chartEl = $("unit-chart");
  heatEl.tabIndex = 0;
  heatEl.setAttribute("role", "group"); // (not img: its toolbar has buttons)
  heatEl.setAttribute("aria-keyshortcuts", "ArrowUp ArrowDown");
  chartEl.setAttribute("role", "group");
  hideSvgOf(heatEl);
  hideSvgOf(chartEl);
  heatEl.addEventListener("keydown", (event) => {
    if (!run || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    event.preventDefault();
    const u = units[units.length - 1] + (event.key === "ArrowDown" ? 1 : -1);
    if (u >= 0 && u < run.hidden) selectUnit(u, { add: event.shiftKey });
  });

  // The charts' table alternatives (built while open): every unit at the current step (the
  // heatmaps' column there), and the chosen units at every step (the unit chart's lines).
  const heatTable = tableBox($("heat-stage"), "heat-table");
  let runSerial = 0;
  const pending = new Set(); // charts a run has yet to draw (each takes the frame on screen then)
  const chartTable = tableBox(chartEl.parentElement, "chart-table-alt");
  heatTable.box.addEventListener("toggle", () => renderTables());
  chartTable.box.addEventListener("toggle", () => {
    delete chartTable.box.dataset.key;
    renderTables();
  });

  const quantityLabel = (name, back) => {
    const label = name === "a" ? "A" : ["c", "h", "m"].includes(name) ? t(`name.${name}`) : t(`gate.${name}`);
    return back ? `dL/d ${label}` : label;
  };

  function renderTables() {
    heatTable.summary.textContent = tk("heatTable");
    chartTable.summary.textContent = tk("chartTable");
    if (!run) return;
    const back = frame.mode === "backward";
    const L = run.data(layer, dir);
    const src = back ? L.grad : L;
    const pos = position() - 1;
    const mode = t(back ? "player.backward" : "player.forward");
    const k = run.bidirectional ? `${layer + 1} (${t(`dir.${dir}`)})` : layer + 1;
    Object.assign(heatTable.box.dataset, { mode: frame.mode, step: String(pos + 1), layer: String(layer + 1) });
    Object.assign(chartTable.box.dataset, { mode: frame.mode, units: units.map((u) => u + 1).join(","), layer: String(layer + 1) });
    const names = run.heatmaps.filter((name) => src && src[name] && src[name][pos]);
    if (heatTable.box.open) {
      tableOf(
        heatTable.table,
        tk("heatCaption", { k, mode, t: pos + 1 }),
        [tk("unit"), ...names.map((name) => quantityLabel(name, back))],
        Array.from({ length: run.hidden }, (_, u) => [String(u + 1), names.map((name) => (src[name][pos][u] ?? null))]),
      );
    }
    // (The chart's table does not change with the step: rebuilt only when what it shows does.)
    const chartKey = `${runSerial}:${frame.mode}:${layer}:${dir}:${units.join(",")}:${language()}`;
    if (chartTable.box.open && chartTable.box.dataset.key !== chartKey) {
      chartTable.box.dataset.key = chartKey;
      // What the chart draws: c and h (or their gradients), per chosen unit.
      const shown = ["c", "h"].filter((name) => src && src[name]);
      const columns = units.flatMap((u) => shown.map((name) => [u, name]));
      tableOf(
        chartTable.table,
        tk("chartCaption", { k, mode, name: shown.map((name) => quantityLabel(name, back)).join(", ") }),
        [tk("step"), ...columns.map(([u, name]) => `${t("hover.unit", { u: u + 1 })}: ${quantityLabel(name, back)}`)],
        Array.from({ length: run.steps }, (_, s) => [String(s + 1), columns.map(([u, name]) => (src[name][s] ? (src[name][s][u] ?? null) : null))]),
      );
    }
  }

  /** The heatmaps' and the unit chart's names: what they show, which unit, how to choose. */
  function labelCharts() {
    renderTables();
    if (!run) return;
    const where = run.bidirectional ? `${layer + 1} (${t(`dir.${dir}`)})` : layer + 1;
    heatEl.setAttribute("aria-label", tk("heatLabel", { k: where, t: position(), u: units[units.length - 1] + 1, H: run.hidden }));
    chartEl.setAttribute("aria-label", tk("chartLabel", { list: units.map((u) => t("hover.unit", { u: u + 1 })).join(", ") }));
  }

  const layerSelect = $("cell-layer");
  const dirSelect = $("cell-direction");
  const unitSelect = $("eq-unit");

  /** The shown direction's position at the walk's step (1-based). */
  const position = () => (run ? positionOf(dir, frame.step - 1, run.steps) + 1 : frame.step);

  function applyStep(step, navigate) {
    if (!run) return;
    if (step && navigate && step.mode !== frame.mode) setMode(step.mode);
    cell.setEmphasis(step ? visibleNodes(step, runGraph(run)) : null);
    setFocus({ emphasis: step ? step.diagram : null });
  }

  function header() {
    const params = {
      t: position(),
      k: layer + 1,
      mode: t(frame.mode === "backward" ? "player.backward" : "player.forward"),
      dir: t(`dir.${dir}`),
    };
    $("cell-where").textContent = t(run.bidirectional ? "cell.whereDir" : "cell.where", params);
    // (In a sentence the direction is a plain word: "the reverse direction", "역방향이에요".)
    $("heat-hint").textContent = t(run.bidirectional ? "heat.hintDir" : "heat.hint", { ...params, dir: t(`dirWord.${dir}`) });
    explain.setContext({ bidirectional: run.bidirectional, dir, layer, t: position(), projSize: run.projSize });
    labelCharts();
    heatLegend();
    const legend = $("cell-legend");
    const legendKey = `${frame.mode}:${run.cell}:${language()}`;
    if (legend.dataset.key === legendKey) return;
    legend.dataset.key = legendKey;
    legend.replaceChildren(
      ...(frame.mode === "backward"
        ? [legendBar(t("cell.legend.grad"), SCALES.grad, ["−1", "±1e−8", "1"])]
        : [
            ...(run.cell === "rnn" ? [] : [legendBar(t("cell.legend.sigmoid"), SCALES.sigmoid, ["0", "1"])]),
            legendBar(t("cell.legend.tanh"), SCALES.tanh, ["−1", "0", "1"]),
          ]),
    );
  }

  /**
   * The heatmaps' own colour key: one bar per scale their panels use, named by the panels on
   * it, with its real ends (a trained counter's c on ±20 reads there, not on the cell view's
   * −1..1).  Redrawn when the run, layer, direction, mode or language changes.
   */
  function heatLegend() {
    const box = heatLegendBox();
    const key = `${runSerial}:${layer}:${dir}:${frame.mode}:${language()}`;
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    const groups = new Map();
    for (const panel of heatmapPanels(run, { k: layer, dir, mode: frame.mode })) {
      const id = `${panel.rule.name}:${panel.rule.zmin}:${panel.rule.zmax}`;
      if (!groups.has(id)) groups.set(id, { rule: panel.rule, names: [] });
      groups.get(id).names.push(frame.mode === "backward" ? `dL/d${panel.name}` : panel.name);
    }
    const bars = [...groups.values()].map(({ rule, names }) => {
      const ticks = rule.name === "grad" ? ["−1", "±1e−8", "1"] : rule.zmin === 0 ? ["0", "1"] : [`−${rule.zmax}`, "0", String(rule.zmax)];
      const label = rule.name === "grad" ? `${names.join(", ")}: ${t("cell.legend.grad")}` : tk("scaleOf", { names: names.join(", "), lo: ticks[0], hi: ticks[ticks.length - 1] });
      return legendBar(label, rule.colorscale, ticks);
    });
    const title = document.createElement("span");
    title.className = "heat-legend-title";
    title.textContent = tk("heatScale");
    box.replaceChildren(title, ...bars);
    box.dataset.scales = [...groups.keys()].join(" ");
  }

  function heatLegendBox() {
    let box = $("heat-legend");
    if (!box) {
      box = document.createElement("div");
      box.id = "heat-legend";
      box.className = "mini-legend heat-legend";
      box.dataset.testid = "heat-legend";
      $("heat-stage").before(box);
    }
    return box;
  }

  function equations() {
    renderEquations($("equations"), $("eq-where"), run, { k: layer, dir, step: position(), unit: units[units.length - 1], mode: frame.mode });
  }

  function fillSelects() {
    layerSelect.replaceChildren(
      ...Array.from({ length: run.numLayers }, (_, k) => {
        const o = document.createElement("option");
        o.value = String(k + 1);
        o.textContent = String(k + 1);
        return o;
      }),
    );
    layerSelect.value = String(layer + 1);
    $("cell-layer-field").hidden = run.numLayers < 2;
    $("cell-direction-field").hidden = !run.bidirectional;
    dirSelect.value = dir;
    unitSelect.replaceChildren(
      ...Array.from({ length: run.hidden }, (_, u) => {
        const o = document.createElement("option");
        o.value = String(u + 1);
        o.textContent = String(u + 1);
        return o;
      }),
    );
    unitSelect.value = String(units[units.length - 1] + 1);
  }

  function selectUnit(u, { add = false } = {}) {
    if (!run || !(u >= 0 && u < run.hidden)) return;
    if (add) {
      units = units.includes(u) ? (units.length > 1 ? units.filter((v) => v !== u) : units) : [...units, u].slice(-MAX_UNITS);
    } else {
      units = [u];
    }
    unitSelect.value = String(units[units.length - 1] + 1);
    cell.setUnits(units);
    labelCharts();
    equations();
    heatmaps.update({ units });
    chart.update({ units });
    onSelect({ layer, dir, units: units.slice() });
  }

  /** Show layer k's direction `d` (the current one when not given). */
  function selectLayer(k, d = dir) {
    const nextDir = run && run.bidirectional && d === "reverse" ? "reverse" : "forward";
    if (!run || (k === layer && nextDir === dir) || k < 0 || k >= run.numLayers) return;
    layer = k;
    dir = nextDir;
    layerSelect.value = String(k + 1);
    dirSelect.value = dir;
    cell.setLayer(k, dir, position());
    $("cell-legend").dataset.key = "";
    header();
    equations();
    heatmaps.update({ k, dir, step: position() });
    chart.update({ k, dir, step: position() });
    setFocus({ layer: k, dir });
    const step = explain.current;
    if (step) cell.setEmphasis(visibleNodes(step, runGraph(run)));
    onSelect({ layer, dir, units: units.slice() });
  }

  // Option values are 1-based, as shown.
  layerSelect.addEventListener("change", () => selectLayer(Number(layerSelect.value) - 1));
  dirSelect.addEventListener("change", () => selectLayer(layer, dirSelect.value));
  unitSelect.addEventListener("change", () => selectUnit(Number(unitSelect.value) - 1));

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      heatmaps.update({});
      chart.update({});
    }, 150);
  });

  return {
    /** A new run: take the layer, direction and units asked for (0-based), else keep the current ones, when they exist. */
    async setRun(nextRun, { mode, step, layer: askedLayer = null, dir: askedDir = null, units: askedUnits = null }) {
      run = nextRun;
      runSerial += 1;
      frame = { mode, step };
      if (Number.isInteger(askedLayer)) layer = askedLayer;
      if (askedDir) dir = askedDir;
      if (Array.isArray(askedUnits) && askedUnits.length) units = askedUnits.slice(0, MAX_UNITS);
      if (layer >= run.numLayers) layer = 0;
      if (!run.bidirectional) dir = "forward";
      units = units.filter((u) => u < run.hidden);
      if (!units.length) units = [0];
      fillSelects();
      $("cell-legend").dataset.key = "";
      cell.setRun(run, { layer, dir, mode, step: position() });
      cell.setUnits(units);
      header();
      equations();
      explain.setCell(run.cell);
      applyStep(explain.current, false);
      setFocus({ layer, dir });
      // The heatmaps and the unit chart are drawn each in a task of its own (the cell view and
      // the diagram have painted first), with the frame on screen by then; a newer run's
      // setRun ends this one's.
      const serial = runSerial;
      const views = [heatmaps, chart];
      views.forEach((view) => pending.add(view));
      for (const view of views) {
        await yieldToPage();
        if (serial !== runSerial) return;
        await view.setRun(run, { k: layer, dir, mode: frame.mode, step: position(), units });
        pending.delete(view);
      }
    },
    /** A frame of the walk (step 1-based).  Heatmaps and chart redraw only when the mode changed. */
    show({ mode, step }) {
      if (!run) return null;
      frame = { mode, step };
      cell.show({ mode, step: position() });
      header();
      equations();
      // A chart a run has yet to draw takes this frame when its turn comes.
      const next = { mode, step: position() };
      return Promise.all([heatmaps, chart].filter((view) => !pending.has(view)).map((view) => view.update(next)));
    },
    selectLayer,
    /** Bring the cell view into sight and give it the focus (Enter on a diagram cell). */
    focusCell() {
      const view = $("cell-detail");
      if (!view) return;
      if (!view.hasAttribute("tabindex")) view.tabIndex = -1;
      view.scrollIntoView({ block: "nearest" });
      view.focus({ preventScroll: true });
    },
    get layer() {
      return layer;
    },
    get direction() {
      return dir;
    },
    get units() {
      return units.slice();
    },
    /** Language changed: every text and the Plotly figures. */
    relabel() {
      if (!run) {
        explain.refresh();
        return null;
      }
      cell.relabel();
      header();
      equations();
      explain.refresh();
      return Promise.all([heatmaps.refresh(), chart.refresh()]);
    },
    start() {
      renderTables();
      explain.start();
    },
  };
}
