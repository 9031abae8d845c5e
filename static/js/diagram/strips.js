// The gate strips of a frame: one Plotly heatmap per gate over every layer and slot of the
// window.  Forward: activations on fixed scales (sigmoid 0..1, tanh -1..1).  Backward:
// gradients on the signed log10 scale.  Hover names the gate, step, layer, unit and value.
// Pure: no DOM.  Steps are 0-based.

import { identity, valueScale } from "../core/colors.js";
import { isSigmoid } from "../core/cells.js";
import { sig4 } from "../core/format.js";
import { t as tr } from "../core/i18n.js";
import { cellDone } from "../core/walk.js";

/** Gate strips: one heatmap per gate over every layer and slot of the window. */
export function stripTraces(run, geom, start, mode, step) {
  const forward = mode === "forward";
  const end = Math.min(start + geom.size, run.steps);
  return geom.gates.map((gate, r) => {
    const rule = valueScale(isSigmoid(run.cell, gate), mode);
    const z = Array.from({ length: geom.heatRows }, () => new Array(geom.heatCols).fill(null));
    const text = Array.from({ length: geom.heatRows }, () => new Array(geom.heatCols).fill(""));
    const label = tr(`gate.${gate}`);
    for (let k = 0; k < geom.layers; k += 1) {
      const layer = run.layers[k];
      const source = forward ? layer[gate] : layer.grad && layer.grad[gate];
      if (!source) continue;
      for (let t = start; t < end; t += 1) {
        if (!cellDone(mode, step, t)) continue;
        const values = source[t];
        const where = tr("hover.where", { t: t + 1, k: k + 1 });
        for (let u = 0; u < geom.cols; u += 1) {
          const [a, b] = geom.groups[u];
          const col = geom.column(t - start, u);
          let v = values[a];
          let detail;
          if (b - a === 1) {
            const what = forward ? tr("hover.value", { name: gate, value: sig4(v) }) : tr("hover.grad", { name: gate, value: sig4(v) });
            detail = `${tr("hover.unit", { u: a + 1 })}<br>${what}`;
          } else {
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
            detail = `${tr("hover.units", { u0: a + 1, u1: b })}<br>${tr(key, { name: gate, value: sig4(v), min: sig4(lo), max: sig4(hi) })}`;
          }
          z[2 * k][col] = rule.position(v);
          text[2 * k][col] = `<b>${label}</b><br>${where} · ${detail}`;
        }
      }
    }
    return {
      type: "heatmap",
      name: `strip:${gate}`,
      x: geom.xEdges,
      y: geom.yEdges[r],
      z,
      text,
      hovertemplate: "%{text}<extra></extra>",
      hoverongaps: false,
      colorscale: rule.colorscale,
      zmin: rule.zmin,
      zmax: rule.zmax,
      zsmooth: false,
      showscale: false,
      hoverlabel: { bgcolor: "#ffffff", bordercolor: identity(gate), font: { color: "#222222" } },
    };
  });
}
