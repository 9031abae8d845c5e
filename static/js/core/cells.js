// The cell catalogue: each cell's packed gate order, its arrays, which of them go through a
// sigmoid, and what the page draws (the diagram's strips, the unit x time heatmaps) in the
// seed's reading order.  It comes from the server (GET /api/limits `cells`, made from
// app/nn/spec.py), so the page spells none of it.  Pure: no DOM.

let catalogue = null;

/** Set once the page has /api/limits (and by the unit tests, from the recorded response). */
export function setCells(cells) {
  catalogue = cells;
}

export function cellInfo(cell) {
  const info = catalogue && catalogue[cell];
  if (!info) throw new Error(catalogue ? `unknown cell type ${cell}` : "the cell catalogue is not loaded (GET /api/limits)");
  return info;
}

/** Cell types the server computes, in its order. */
export const cellTypes = () => Object.keys(catalogue || {});
/** What the diagram's strips show in each cell (the gates; an RNN has none, so its state). */
export const stripNames = (cell) => cellInfo(cell).strips;
/** The unit x time quantities: heatmaps, training checkpoints, the legend's colours. */
export const heatmapNames = (cell) => cellInfo(cell).heatmaps;
/** Whether a quantity of this cell goes through a sigmoid (drawn on 0..1). */
export const isSigmoid = (cell, name) => cellInfo(cell).sigmoid.includes(name);
