// The redraw rule the heatmaps and the unit chart share (DOM glue): draw(run, state) when
// the run, the layer, the direction, the mode, the selected units or the width changed (or when forced,
// e.g. for a language change); otherwise place(run, state) only moves the step marker, so
// stepping costs no Plotly call.

export function keyedChart(element, { draw, place }) {
  let run = null;
  let key = null;
  let state = { k: 0, dir: "forward", mode: "forward", step: 1, units: [0] };

  function update(next, force = false) {
    state = { ...state, ...next };
    if (!run) return null;
    const nextKey = `${state.k}:${state.dir}:${state.mode}:${state.units.join(",")}:${element.clientWidth}`;
    if (force || nextKey !== key) {
      key = nextKey;
      return draw(run, state);
    }
    place(run, state);
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
