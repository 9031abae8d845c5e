// The walk through a trace: forward t = 1 .. T, backward (BPTT) t = T .. 1, and what is
// done at a point of it.  Pure: no DOM.

/** The step the walk starts at in a mode (1-based). */
export function walkStart(mode, steps) {
  return mode === "backward" ? steps : 1;
}

/** The step the walk ends at in a mode (1-based). */
export function walkEnd(mode, steps) {
  return mode === "backward" ? 1 : steps;
}

/** One step along the walk (+1 = towards its end), clamped to 1..T. */
export function walkStep(mode, step, steps, delta) {
  const dir = mode === "backward" ? -1 : 1;
  return Math.max(1, Math.min(steps, step + dir * delta));
}

// Below, steps are 0-based (as in the arrays); the player's steps above are 1-based.

/** Is the cell at step t done at this point of the walk? */
export function cellDone(mode, step, t) {
  return mode === "forward" ? t <= step : t >= step;
}

/** Is the horizontal rail at boundary b (state of step b-1 into step b) done? */
export function railDone(mode, step, b) {
  return mode === "forward" ? b <= step + 1 : b >= step;
}
