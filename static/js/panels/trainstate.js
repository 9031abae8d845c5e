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

/**
 * Share of the budget done, 0..1: 1 once a run completed; a run that stopped early
 * (cancelled, time limit, diverged, failed) stays where it stopped.
 */
export function fraction(state) {
  if (state.done?.reason === "completed") return 1;
  return state.steps > 0 ? Math.min(1, state.step / state.steps) : 0;
}

/** Why a finished run stopped before its budget (null while running or when it completed). */
export function stoppedEarly(state) {
  return state.done && state.done.reason !== "completed" ? state.done.reason : null;
}

/**
 * The loss chart's step axis: from 0 to the steps done so far (at least 1), so a short or
 * stopped run fills the chart; the planned budget is said in the axis title instead.
 */
export function stepRange(state) {
  const last = state.curve.step.length ? state.curve.step[state.curve.step.length - 1] : 0;
  return [0, Math.max(1, state.step, last)];
}

/** The loss curve as table rows [step, loss]. */
export function lossRows(state) {
  return state.curve.step.map((step, k) => [step, state.curve.loss[k]]);
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
      // The page counts units and steps from 1 everywhere.
      const unitLabels = Array.from({ length: units }, (_, u) => u + 1);
      const stepLabels = Array.from({ length: steps }, (_, k) => k + 1);
      return { name, z, units, steps, unitLabels, stepLabels };
    });
}

export const HEATMAP = Object.freeze({ minWidth: 90, rowHeight: 170, rowGap: 74, gapX: 34, narrow: 640 });

/**
 * Where a checkpoint's n heatmaps go in a chart `width` px wide: as many columns as fit at
 * HEATMAP.minWidth each (all n in one row on a wide screen; two or three rows on a phone),
 * each map's x and y domain (paper fractions), the chart's height and margins, and whether
 * the colour bars sit beside the maps (wide) or under them (narrow).
 */
export function heatmapGrid(n, width) {
  const narrow = width < HEATMAP.narrow;
  const margin = narrow ? { l: 44, r: 12, t: 26, b: 124 } : { l: 44, r: 150, t: 26, b: 40 };
  const gapX = HEATMAP.gapX;
  const avail = Math.max(HEATMAP.minWidth, width - margin.l - margin.r);
  const fit = Math.max(1, Math.min(n, Math.floor((avail + gapX) / (HEATMAP.minWidth + gapX))));
  // Rows as even as they can be (six maps in 3 + 3, not 4 + 2).
  const rows = Math.max(1, Math.ceil(n / fit));
  const cols = Math.max(1, Math.ceil(n / rows));
  const plotHeight = rows * HEATMAP.rowHeight + (rows - 1) * HEATMAP.rowGap;
  const gx = gapX / avail;
  const cellW = (1 - gx * (cols - 1)) / cols;
  const cells = Array.from({ length: n }, (_, j) => {
    const r = Math.floor(j / cols);
    const c = j % cols;
    const top = 1 - (r * (HEATMAP.rowHeight + HEATMAP.rowGap)) / plotHeight;
    const x0 = c * (cellW + gx);
    return { x: [x0, x0 + cellW], y: [top - HEATMAP.rowHeight / plotHeight, top], row: r, col: c, last: r === rows - 1 || j + cols >= n };
  });
  return { cols, rows, cells, narrow, margin, height: plotHeight + margin.t + margin.b };
}
