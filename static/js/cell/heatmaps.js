// The heatmaps of one layer and direction (DOM glue around Plotly): redrawn when the run,
// the layer, the direction, the mode, the language or the selected units change; the current step is a marker per panel,
// a plain element positioned over the plot, so stepping costs no Plotly call.

import { keyedChart } from "./chartview.js";
import { exportConfig } from "../core/plotconfig.js";
import { heatmapFigure, panelBox } from "./charts.js";


export function createHeatmaps({ element, stage, onSelectUnit }) {
  const Plotly = () => window.Plotly;
  let cursors = [];
  let bound = false;
  let width = 0;

  function placeCursors(run, state) {
    const names = run.heatmaps;
    while (cursors.length < names.length) {
      const el = document.createElement("div");
      el.className = "heat-cursor";
      el.setAttribute("aria-hidden", "true");
      stage.append(el);
      cursors.push(el);
    }
    cursors.forEach((el, j) => {
      el.hidden = j >= names.length;
      if (el.hidden) return;
      const box = panelBox(names, j, width);
      const colW = box.width / run.steps;
      el.style.left = `${box.left + (state.step - 1) * colW}px`;
      el.style.width = `${Math.max(2, colW)}px`;
      el.style.top = `${box.top}px`;
      el.style.height = `${box.height}px`;
    });
    element.dataset.step = String(state.step);
  }

  async function draw(run, state) {
    width = Math.max(320, Math.floor(element.clientWidth));
    const fig = heatmapFigure(run, { k: state.k, dir: state.dir, mode: state.mode, units: state.units, width });
    const dirName = run.bidirectional ? `-${state.dir}` : "";
    await Plotly().react(element, fig.data, fig.layout, exportConfig(`heatmaps-layer${state.k + 1}${dirName}-${state.mode}`));
    if (!bound) {
      bound = true;
      element.on("plotly_click", (event) => {
        const point = event && event.points && event.points[0];
        if (!point || !Number.isFinite(point.y)) return;
        const native = event.event || {};
        onSelectUnit(Math.round(point.y) - 1, { add: Boolean(native.shiftKey || native.ctrlKey || native.metaKey) });
      });
    }
    Object.assign(element.dataset, {
      mode: state.mode,
      layer: String(state.k + 1),
      direction: state.dir,
      panels: fig.data.map((d) => d.name.slice(5)).join(" "),
      units: state.units.map((u) => u + 1).join(","),
    });
    placeCursors(run, state);
  }

  return keyedChart(element, { draw, place: placeCursors });
}
