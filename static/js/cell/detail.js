// The detail area under the diagram (DOM glue): the cell view, the equations, the heatmaps,
// the unit chart and the guided explanation, and the selection they share: the layer (the
// cell clicked in the diagram) and the hidden units (clicked in any view).

import { cssGradient, SCALES } from "../core/colors.js";
import { cellGraph } from "./cellgraph.js";
import { createCellDetail } from "./celldetail.js";
import { renderEquations } from "./equationsview.js";
import { visibleNodes } from "../explain/explain.js";
import { createHeatmaps } from "./heatmaps.js";
import { language, t } from "../core/i18n.js";
import { createUnitChart } from "./unitchart.js";
import { MAX_SELECTED_UNITS as MAX_UNITS } from "../core/urlstate.js";

const $ = (id) => document.getElementById(id);

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
  let units = [0];

  const cell = createCellDetail({ element: $("cell-detail"), tooltip: $("cell-tip"), onSelectUnit: selectUnit });
  const heatmaps = createHeatmaps({ element: $("heatmaps"), stage: $("heat-stage"), onSelectUnit: selectUnit });
  const chart = createUnitChart({ element: $("unit-chart"), cursor: $("unit-cursor") });
  // The guided explanation's view is handed in by the entry (rooms do not import each other's glue).
  const explain = createExplain({ onStep: (step) => applyStep(step, true) });
  const layerSelect = $("cell-layer");
  const unitSelect = $("eq-unit");

  function applyStep(step, navigate) {
    if (!run) return;
    if (step && navigate && step.mode !== frame.mode) setMode(step.mode);
    cell.setEmphasis(step ? visibleNodes(step, cellGraph(run.cell)) : null);
    setFocus({ emphasis: step ? step.diagram : null });
  }

  function header() {
    $("cell-where").textContent = t("cell.where", {
      t: frame.step,
      k: layer + 1,
      mode: t(frame.mode === "backward" ? "player.backward" : "player.forward"),
    });
    const legend = $("cell-legend");
    const legendKey = `${frame.mode}:${run.cell}:${language()}`;
    if (legend.dataset.key === legendKey) return;
    legend.dataset.key = legendKey;
    $("heat-hint").textContent = t("heat.hint", { k: layer + 1 });
    legend.replaceChildren(
      ...(frame.mode === "backward"
        ? [legendBar(t("cell.legend.grad"), SCALES.grad, ["−1", "±1e−8", "1"])]
        : [
            ...(run.cell === "rnn" ? [] : [legendBar(t("cell.legend.sigmoid"), SCALES.sigmoid, ["0", "1"])]),
            legendBar(t("cell.legend.tanh"), SCALES.tanh, ["−1", "0", "1"]),
          ]),
    );
  }

  function equations() {
    renderEquations($("equations"), $("eq-where"), run, { k: layer, step: frame.step, unit: units[units.length - 1], mode: frame.mode });
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
    equations();
    heatmaps.update({ units });
    chart.update({ units });
    onSelect({ layer, units: units.slice() });
  }

  function selectLayer(k) {
    if (!run || k === layer || k < 0 || k >= run.numLayers) return;
    layer = k;
    layerSelect.value = String(k + 1);
    cell.setLayer(k);
    $("cell-legend").dataset.key = "";
    header();
    equations();
    heatmaps.update({ k });
    chart.update({ k });
    setFocus({ layer: k });
    const step = explain.current;
    if (step) cell.setEmphasis(visibleNodes(step, cellGraph(run.cell)));
    onSelect({ layer, units: units.slice() });
  }

  // Option values are 1-based, as shown.
  layerSelect.addEventListener("change", () => selectLayer(Number(layerSelect.value) - 1));
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
    /** A new run: take the layer and units asked for (0-based), else keep the current ones, when they exist. */
    async setRun(nextRun, { mode, step, layer: askedLayer = null, units: askedUnits = null }) {
      run = nextRun;
      frame = { mode, step };
      if (Number.isInteger(askedLayer)) layer = askedLayer;
      if (Array.isArray(askedUnits) && askedUnits.length) units = askedUnits.slice(0, MAX_UNITS);
      if (layer >= run.numLayers) layer = 0;
      units = units.filter((u) => u < run.hidden);
      if (!units.length) units = [0];
      fillSelects();
      $("cell-legend").dataset.key = "";
      cell.setRun(run, { layer, mode, step });
      cell.setUnits(units);
      header();
      equations();
      explain.setCell(run.cell);
      applyStep(explain.current, false);
      setFocus({ layer });
      await Promise.all([heatmaps.setRun(run, { k: layer, mode, step, units }), chart.setRun(run, { k: layer, mode, step, units })]);
    },
    /** A frame of the walk (step 1-based).  Heatmaps and chart redraw only when the mode changed. */
    show({ mode, step }) {
      if (!run) return null;
      frame = { mode, step };
      cell.show({ mode, step });
      header();
      equations();
      return Promise.all([heatmaps.update({ mode, step }), chart.update({ mode, step })]);
    },
    selectLayer,
    get layer() {
      return layer;
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
      explain.start();
    },
  };
}
