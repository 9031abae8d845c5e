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

// A bidirectional layer runs a second, reverse direction over the sequence from its end.
// The walk's step is the forward direction's position; at the same point of the walk the
// reverse direction has read as many inputs, from the other end: its position is T-1-step
// (0-based).  So in the forward pass it computes t = T .. 1 while the forward one computes
// 1 .. T, and in the backward pass its gradients run t = 1 .. T.

/** The position (0-based) a direction is at when the walk is at `step` (0-based). */
export function positionOf(dir, step, steps) {
  return dir === "reverse" ? steps - 1 - step : step;
}

/** The walk's step (1-based) at which a direction is at position t (0-based). */
export function stepForPosition(dir, t, steps) {
  return positionOf(dir, t, steps) + 1;
}

/** Is a direction's cell at position t done at this point of the walk? */
export function cellDoneIn(dir, mode, step, t, steps) {
  return cellDone(mode, step, positionOf(dir, t, steps));
}

/**
 * Is a direction's horizontal rail at boundary b done?  Boundary b lies between positions
 * b-1 and b: the forward direction's state goes from b-1 into b, the reverse one's from b
 * into b-1 (b = T: its initial state, entering the last position from the right).
 */
export function railDoneIn(dir, mode, step, b, steps) {
  return railDone(mode, step, dir === "reverse" ? steps - b : b);
}
