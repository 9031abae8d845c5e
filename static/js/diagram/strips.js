// The gate strips of a frame: one Plotly heatmap per gate over every row (layer and
// direction) and slot of the window.  Forward: activations on fixed scales (sigmoid 0..1,
// tanh -1..1).  Backward: gradients on the signed log10 scale.  Hover names the gate,
// step, layer, direction, unit and value.  With an embedding, one more strip under the
// inputs shows each step's looked-up vector (layer 0's x).  Pure: no DOM.  Steps are 0-based.

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

/** Gate strips: one heatmap per gate over every row and slot of the window. */
export function stripTraces(run, geom, start, mode, step) {
  const forward = mode === "forward";
  const end = Math.min(start + geom.size, run.steps);
  const traces = geom.gates.map((gate, g) => {
    const rule = valueScale(isSigmoid(run.cell, gate), mode);
    const z = Array.from({ length: geom.heatRows }, () => new Array(geom.heatCols).fill(null));
    const text = Array.from({ length: geom.heatRows }, () => new Array(geom.heatCols).fill(""));
    const label = tr(`gate.${gate}`);
    for (let r = 0; r < geom.rows; r += 1) {
      const { layer: k, dir, data } = run.rows[r];
      const source = forward ? data[gate] : data.grad && data.grad[gate];
      if (!source) continue;
      const zr = geom.heatRow(r);
      for (let t = start; t < end; t += 1) {
        if (!cellDoneIn(dir, mode, step, t, run.steps)) continue;
        const values = source[t];
        const where = whereText(run, t, k, dir);
        for (let u = 0; u < geom.cols; u += 1) {
          const [a, b] = geom.groups[u];
          const col = geom.column(t - start, u);
          const { v, detail } = brick(values, a, b, gate, forward);
          z[zr][col] = rule.position(v);
          text[zr][col] = `<b>${label}</b><br>${where} · ${detail}`;
        }
      }
    }
    return stripHeatmap(gate, geom.xEdges, geom.yEdges[g], z, text, rule);
  });
  if (geom.inputCols) traces.push(inputStripTrace(run, geom, start, mode, step));
  return traces;
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
  const text = [new Array(geom.inputHeatCols).fill("")];
  const x = run.rows[0].data.x;
  const gx = run.inputGrad();
  const layer0 = run.rows.filter((row) => row.layer === 0);
  const label = tr(run.embedding ? "diagram.embedding" : "name.x");
  for (let t = start; t < end; t += 1) {
    const done = forward || layer0.some((row) => cellDoneIn(row.dir, mode, step, t, run.steps));
    const values = forward ? x[t] : gx && gx[t];
    if (!done || !values) continue;
    const token = run.tokens ? ` · ${run.inputLabel(t)}` : "";
    for (let u = 0; u < geom.inputCols; u += 1) {
      const [a, b] = geom.inputGroups[u];
      const { v, detail } = brick(values, a, b, "x", forward);
      const col = geom.inputColumn(t - start, u);
      z[0][col] = rule.position(v);
      text[0][col] = `<b>${label}</b><br>t = ${t + 1}${token} · ${detail}`;
    }
  }
  return stripHeatmap("x", geom.inputXEdges, geom.y.inputStrip, z, text, rule);
}

/** One strip as a Plotly heatmap: its bricks' colours by `rule`, hover text framed in its hue. */
function stripHeatmap(quantity, x, y, z, text, rule) {
  return {
    type: "heatmap",
    name: `strip:${quantity}`,
    x,
    y,
    z,
    text,
    hovertemplate: "%{text}<extra></extra>",
    hoverongaps: false,
    colorscale: rule.colorscale,
    zmin: rule.zmin,
    zmax: rule.zmax,
    zsmooth: false,
    showscale: false,
    hoverlabel: { bgcolor: "#ffffff", bordercolor: identity(quantity), font: { color: "#222222" } },
  };
}
