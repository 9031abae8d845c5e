// The selected units' c and h (or their gradients) over time (DOM glue around Plotly), with
// the current step as a marker positioned over the plot.

import { UNIT_CHART_HEIGHT, UNIT_CHART_MARGIN, unitChartFigure } from "./charts.js";
import { EXPORT_CONFIG } from "./heatmaps.js";

export function createUnitChart({ element, cursor }) {
  const Plotly = () => window.Plotly;
  let run = null;
  let key = null;
  let width = 0;
  let state = { k: 0, mode: "forward", step: 1, units: [0] };

  function placeCursor() {
    const plotW = width - UNIT_CHART_MARGIN.l - UNIT_CHART_MARGIN.r;
    const colW = plotW / run.steps;
    cursor.hidden = false;
    cursor.style.left = `${UNIT_CHART_MARGIN.l + (state.step - 1 + 0.5) * colW - 1}px`;
    cursor.style.top = `${UNIT_CHART_MARGIN.t}px`;
    cursor.style.height = `${UNIT_CHART_HEIGHT - UNIT_CHART_MARGIN.t - UNIT_CHART_MARGIN.b}px`;
    element.dataset.step = String(state.step);
  }

  async function draw() {
    width = Math.max(280, Math.floor(element.clientWidth));
    const fig = unitChartFigure(run, { ...state, width });
    await Plotly().react(element, fig.data, fig.layout, EXPORT_CONFIG(`units-layer${state.k + 1}-${state.mode}`));
    Object.assign(element.dataset, { mode: state.mode, units: state.units.map((u) => u + 1).join(",") });
    placeCursor();
  }

  function update(next, force = false) {
    state = { ...state, ...next };
    if (!run) return null;
    const nextKey = `${state.k}:${state.mode}:${state.units.join(",")}:${element.clientWidth}`;
    if (force || nextKey !== key) {
      key = nextKey;
      return draw();
    }
    placeCursor();
    return null;
  }

  return {
    setRun(nextRun, next) {
      run = nextRun;
      key = null;
      return update(next);
    },
    update,
    refresh() {
      return update({}, true);
    },
  };
}
