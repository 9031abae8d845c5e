// A training run as the page sees it, folded from its server-sent events.  Pure: no DOM.
//
// Events: {event: "progress" | "checkpoint" | "done", data}.  reduce() returns a new state;
// the views draw from the state alone, so a replayed stream gives the same picture.

export function initialState(steps) {
  return {
    steps, // the step budget asked for
    step: 0,
    loss: null,
    gradNorm: null,
    clipped: false,
    stepsPerS: 0,
    elapsedS: 0,
    curve: { step: [], loss: [] },
    checkpoints: [],
    done: null, // the final event's data once it arrives
  };
}

export function reduce(state, { event, data }) {
  if (event === "progress") {
    return {
      ...state,
      step: data.step,
      loss: data.loss,
      gradNorm: data.grad_norm,
      clipped: Boolean(data.clipped),
      stepsPerS: data.steps_per_s,
      elapsedS: data.elapsed_s,
      curve: { step: [...state.curve.step, data.step], loss: [...state.curve.loss, data.loss] },
    };
  }
  if (event === "checkpoint") {
    return { ...state, checkpoints: [...state.checkpoints, data] };
  }
  if (event === "done") {
    return { ...state, done: data, step: data.step ?? state.step, elapsedS: data.elapsed_s ?? state.elapsedS };
  }
  return state;
}

/** Share of the budget done, 0..1 (1 once finished, whatever the reason). */
export function fraction(state) {
  if (state.done) return 1;
  return state.steps > 0 ? Math.min(1, state.step / state.steps) : 0;
}

/** Gate arrays of one checkpoint's layer as heatmap rows: units down, probe steps across. */
export function checkpointHeatmaps(checkpoint, names, layer = 0) {
  const arrays = checkpoint.layers[layer];
  return names
    .filter((name) => Array.isArray(arrays[name]))
    .map((name) => {
      const steps = arrays[name].length;
      const units = steps ? arrays[name][0].length : 0;
      const z = Array.from({ length: units }, (_, u) => arrays[name].map((row) => row[u]));
      return { name, z, units, steps };
    });
}
