// The gate strips of a frame: one set of bricks per gate over every row (layer and
// direction) and slot of the window, as a heatmap's grid: x and y edges, z (the value's
// position on its scale, null for a gap or a step not yet done).  Forward: activations on
// fixed scales (sigmoid 0..1, tanh -1..1).  Backward: gradients on the signed log10 scale.
// With an embedding, one more strip under the inputs shows each step's looked-up vector
// (layer 0's x).  The diagram paints them on a canvas under its frame (stripcanvas.js):
// as Plotly heatmaps they were most of a step's drawing on a many-layer diagram.  A brick's
// hover text (gate, step, layer, direction, unit, value) is made when it is hovered
// (`hover(zRow, column)`), not for every brick of every frame.  Pure: no DOM.  Steps are 0-based.

import { identity, valueScale } from "../core/colors.js";
import { isSigmoid } from "../core/cells.js";
import { sig4 } from "../core/format.js";
import { t as tr } from "../core/i18n.js";
import { cellDoneIn } from "../core/walk.js";

/** "t = 3 · layer 1" (and the direction when the layer has two). */
export function whereText(run, t, k, dir) {
  return run.bidirectional ? tr("hover.whereDir", { t: t + 1, k: k + 1, dir: tr(`dir.${dir}`) }) : tr("hover.where", { t: t + 1, k: k + 1 });
}

/** The value a strip brick shows and its hover detail, for the units [a, b). */
function brick(values, a, b, name, forward) {
  let v = values[a];
  if (b - a === 1) {
    const what = forward ? tr("hover.value", { name, value: sig4(v) }) : tr("hover.grad", { name, value: sig4(v) });
    return { v, detail: `${tr("hover.unit", { u: a + 1 })}<br>${what}` };
  }
  let lo = v;
  let hi = v;
  let sum = 0;
  for (let j = a; j < b; j += 1) {
    sum += values[j];
    lo = Math.min(lo, values[j]);
    hi = Math.max(hi, values[j]);
  }
  v = sum / (b - a);
  const key = forward ? "hover.mean" : "hover.gradMean";
  return { v, detail: `${tr("hover.units", { u0: a + 1, u1: b })}<br>${tr(key, { name, value: sig4(v), min: sig4(lo), max: sig4(hi) })}` };
}

/** Gate strips: one brick set per gate over every row and slot of the window. */
export function stripTraces(run, geom, start, mode, step) {
  const forward = mode === "forward";
  const end = Math.min(start + geom.size, run.steps);
  // Diagram row of each heatmap row (rows sorted by height, a gap row between two).
  const rowAt = new Map(Array.from({ length: geom.rows }, (_, r) => [geom.heatRow(r), r]));
  const traces = geom.gates.map((gate, g) => {
    const rule = valueScale(isSigmoid(run.cell, gate), mode);
    const z = Array.from({ length: geom.heatRows }, () => new Array(geom.heatCols).fill(null));
    for (let r = 0; r < geom.rows; r += 1) {
      const { data, dir } = run.rows[r];
      const source = forward ? data[gate] : data.grad && data.grad[gate];
      if (!source) continue;
      const zr = geom.heatRow(r);
      for (let t = start; t < end; t += 1) {
        if (!cellDoneIn(dir, mode, step, t, run.steps)) continue;
        const values = source[t];
        for (let u = 0; u < geom.cols; u += 1) {
          const [a, b] = geom.groups[u];
          z[zr][geom.column(t - start, u)] = rule.position(brickValue(values, a, b));
        }
      }
    }
    const label = tr(`gate.${gate}`);
    const hover = (zr, col) => {
      const r = rowAt.get(zr);
      const s = Math.floor(col / (geom.cols + 1));
      const u = col % (geom.cols + 1);
      if (r === undefined || u >= geom.cols || z[zr][col] === null) return null;
      const { layer: k, dir, data } = run.rows[r];
      const values = (forward ? data[gate] : data.grad[gate])[start + s];
      const [a, b] = geom.groups[u];
      return `<b>${label}</b><br>${whereText(run, start + s, k, dir)} · ${brick(values, a, b, gate, forward).detail}`;
    };
    return stripBricks(gate, geom.xEdges, geom.yEdges[g], z, rule, hover);
  });
  if (geom.inputCols) traces.push(inputStripTrace(run, geom, start, mode, step));
  return traces;
}

/** The value a brick of units [a, b) shows: the unit's, or the group's mean. */
function brickValue(values, a, b) {
  if (b - a === 1) return values[a];
  let sum = 0;
  for (let j = a; j < b; j += 1) sum += values[j];
  return sum / (b - a);
}

/**
 * The input strip: each step's input vector (an embedding's row for its token), known before
 * the walk starts; backward, dL/dx once a direction of layer 0 has sent it down.
 */
function inputStripTrace(run, geom, start, mode, step) {
  const forward = mode === "forward";
  const rule = valueScale(false, mode);
  const end = Math.min(start + geom.size, run.steps);
  const z = [new Array(geom.inputHeatCols).fill(null)];
  const x = run.rows[0].data.x;
  const gx = run.inputGrad();
  const layer0 = run.rows.filter((row) => row.layer === 0);
  const label = tr(run.embedding ? "diagram.embedding" : "name.x");
  const valuesAt = (t) => (forward ? x[t] : gx && gx[t]);
  for (let t = start; t < end; t += 1) {
    const done = forward || layer0.some((row) => cellDoneIn(row.dir, mode, step, t, run.steps));
    const values = valuesAt(t);
    if (!done || !values) continue;
    for (let u = 0; u < geom.inputCols; u += 1) {
      const [a, b] = geom.inputGroups[u];
      z[0][geom.inputColumn(t - start, u)] = rule.position(brickValue(values, a, b));
    }
  }
  const hover = (zr, col) => {
    const s = Math.floor(col / (geom.inputCols + 1));
    const u = col % (geom.inputCols + 1);
    if (zr !== 0 || u >= geom.inputCols || z[0][col] === null) return null;
    const t = start + s;
    const token = run.tokens ? ` · ${run.inputLabel(t)}` : "";
    const [a, b] = geom.inputGroups[u];
    return `<b>${label}</b><br>t = ${t + 1}${token} · ${brick(valuesAt(t), a, b, "x", forward).detail}`;
  };
  return stripBricks("x", geom.inputXEdges, geom.y.inputStrip, z, rule, hover);
}

/** One strip's bricks: edges, positions on `rule`'s scale, its colours, and its hover text. */
function stripBricks(quantity, x, y, z, rule, hover) {
  return {
    name: `strip:${quantity}`,
    quantity,
    x,
    y,
    z,
    colorscale: rule.colorscale,
    zmin: rule.zmin,
    zmax: rule.zmax,
    hover,
    border: identity(quantity),
  };
}
