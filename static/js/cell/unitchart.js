// The selected units' c and h (or their gradients) over time (DOM glue around Plotly), with
// the current step as a marker positioned over the plot.

import { UNIT_CHART_HEIGHT, UNIT_CHART_MARGIN, unitChartFigure } from "./charts.js";
import { keyedChart } from "./chartview.js";
import { exportConfig } from "../core/plotconfig.js";

export function createUnitChart({ element, cursor }) {
  const Plotly = () => window.Plotly;
  let width = 0;

  function placeCursor(run, state) {
    const plotW = width - UNIT_CHART_MARGIN.l - UNIT_CHART_MARGIN.r;
    const colW = plotW / run.steps;
    cursor.hidden = false;
    cursor.style.left = `${UNIT_CHART_MARGIN.l + (state.step - 1 + 0.5) * colW - 1}px`;
    cursor.style.top = `${UNIT_CHART_MARGIN.t}px`;
    cursor.style.height = `${UNIT_CHART_HEIGHT - UNIT_CHART_MARGIN.t - UNIT_CHART_MARGIN.b}px`;
    element.dataset.step = String(state.step);
  }

  async function draw(run, state) {
    width = Math.max(280, Math.floor(element.clientWidth));
    const fig = unitChartFigure(run, { ...state, width });
    const dirName = run.bidirectional ? `-${state.dir}` : "";
    await Plotly().react(element, fig.data, fig.layout, exportConfig(`units-layer${state.k + 1}${dirName}-${state.mode}`));
    Object.assign(element.dataset, { mode: state.mode, direction: state.dir, units: state.units.map((u) => u + 1).join(",") });
    placeCursor(run, state);
  }

  return keyedChart(element, { draw, place: placeCursor });
}
