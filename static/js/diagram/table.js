// The diagram as a table (the text alternative of the unrolled diagram): at the walk's
// current step, for every layer and direction, each quantity the heatmaps show (h, c, the
// gates; their gradients in the backward pass), its first units and its norm over all.
// Pure: no DOM (diagram.js renders it).

import { norm } from "../core/format.js";
import { positionOf } from "../core/walk.js";

export const TABLE_UNITS = 8;

/**
 * {units, hidden, rows: [{layer, dir, position, name, values, norm}]} at the walk's step
 * (0-based) in a mode; a reverse direction is read at its own position (T-1-step).
 */
export function diagramTable(run, { mode, step, units = TABLE_UNITS }) {
  const n = Math.min(units, run.hidden);
  const rows = [];
  for (const row of run.rows) {
    const position = positionOf(row.dir, step, run.steps);
    const source = mode === "backward" ? row.data.grad : row.data;
    if (!source) continue;
    for (const name of run.heatmaps) {
      const arr = source[name];
      const vec = arr && arr[position];
      if (!Array.isArray(vec) && !ArrayBuffer.isView(vec)) continue;
      const values = Array.from(vec);
      rows.push({ layer: row.layer, dir: row.dir, position, name, values: values.slice(0, n), norm: norm(values) });
    }
  }
  return { units: n, hidden: run.hidden, rows };
}
