// Which timesteps the diagram shows: a window of W cells of a sequence of T.  Pure: no DOM.
//
// Steps here are 0-based; `start` is the first step in view.  Stepping inside the window
// does not move it (a stable picture while stepping back and forth); near its edges it
// scrolls just enough to keep `margin` cells of context on the side the walk is heading.

export const SLOT_PX = 84; // target width of one timestep column
export const MIN_CELLS = 4;
export const MAX_CELLS = 20;

/** How many cells fit in `widthPx` (never more than T). */
export function windowSize(widthPx, steps, { slotPx = SLOT_PX, min = MIN_CELLS, max = MAX_CELLS } = {}) {
  const fit = Math.floor(Math.max(0, widthPx) / slotPx);
  return Math.max(1, Math.min(steps, Math.max(min, Math.min(max, fit))));
}

const clampStart = (start, steps, size) => Math.max(0, Math.min(steps - size, start));

/** Context cells kept between the current step and the window's edge. */
export function marginFor(size) {
  return size >= 8 ? 2 : size >= 5 ? 1 : 0;
}

/** The window start that puts `step` in the middle. */
export function centerWindow(step, steps, size) {
  return clampStart(step - Math.floor((size - 1) / 2), steps, size);
}

/** The smallest move of `start` that keeps `step` in view with a margin of context. */
export function followWindow(start, step, steps, size, margin = marginFor(size)) {
  let s = clampStart(start, steps, size);
  if (step < s + margin) s = step - margin;
  else if (step > s + size - 1 - margin) s = step - (size - 1 - margin);
  return clampStart(s, steps, size);
}

/** Steps in view, as [first, last] inclusive. */
export function windowRange(start, steps, size) {
  const s = clampStart(start, steps, size);
  return [s, Math.min(steps, s + size) - 1];
}
