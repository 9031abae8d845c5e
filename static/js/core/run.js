// One /api/backward response, made ready to draw: shapes, labels and the per-step norms
// every frame needs, computed once per run.  Pure: no DOM.

import { stripNames } from "./cells.js";
import { maxAbs, norm, rms, sig, subscript, visibleChar } from "./format.js";

const zeros = (n) => new Array(n).fill(0);
const norms = (rows) => (rows ? rows.map(norm) : null);

/** Per-layer norms along the rails, forward and backward. */
function layerNorms(layer, steps) {
  const g = layer.grad || {};
  return {
    c: norms(layer.c), // ||c_t||
    h: norms(layer.h), // ||h_t||
    hRms: layer.h ? layer.h.map(rms) : zeros(steps),
    cMax: layer.c ? layer.c.map(maxAbs) : null,
    hMax: layer.h ? layer.h.map(maxAbs) : null,
    xIn: norms(layer.x),
    gc: norms(g.c_from_next), // gradient on the c rail from t+1 into t
    gh: norms(g.h_from_next), // gradient on the h rail from t+1 into t
    gAbove: norms(g.h_from_above), // gradient arriving from the layer above (or the loss)
    gx: norms(g.x), // gradient leaving downwards (into the layer below, or the input)
    gcTotal: norms(g.c), // total dL/dc_t
    ghTotal: norms(g.h), // total dL/dh_t
    gh0: g.h0 ? norm(g.h0) : 0,
    gc0: g.c0 ? norm(g.c0) : 0,
  };
}

function argmax(row) {
  let best = 0;
  for (let k = 1; k < row.length; k += 1) if (row[k] > row[best]) best = k;
  return best;
}

/** Class targets per step (index or null), or null when the loss has none. */
function classTargets(resp, config) {
  if (resp.loss_kind !== "cross_entropy") return null;
  if (resp.tokens && resp.vocab) {
    const index = new Map(resp.vocab.map((ch, k) => [ch, k]));
    return resp.tokens.slice(1, resp.steps + 1).map((ch) => index.get(ch) ?? null);
  }
  const raw = config && Array.isArray(config.targets) ? config.targets : [];
  return Array.from({ length: resp.steps }, (_, t) => {
    const v = Array.isArray(raw[t]) ? raw[t][0] : raw[t];
    return Number.isInteger(v) ? v : null;
  });
}

/** Regression targets per step (rows, null elements unscored), or null. */
function valueTargets(resp, config) {
  if (resp.loss_kind !== "mse") return null;
  const raw = config && Array.isArray(config.targets) ? config.targets : [];
  return Array.from({ length: resp.steps }, (_, t) => (Array.isArray(raw[t]) ? raw[t] : null));
}

/** A class index as shown: the character for text, else the number. */
function classLabel(resp, k) {
  if (k === null || k === undefined) return "";
  return resp.vocab ? visibleChar(resp.vocab[k]) : String(k);
}

export function makeRun(resp, config = null) {
  const steps = resp.steps;
  const layers = resp.layers;
  const cls = classTargets(resp, config);
  const vals = valueTargets(resp, config);
  const output = resp.output || null;
  const x0 = layers[0].x || [];

  const inputLabel = (t) => {
    if (resp.tokens) return visibleChar(resp.tokens[t]);
    const row = x0[t] || [];
    return row.length === 1 ? sig(row[0], 3) : `x${subscript(t + 1)}`;
  };
  const targetLabel = (t) => {
    if (cls) return classLabel(resp, cls[t]);
    if (vals) {
      const row = vals[t];
      if (!row || row.every((v) => v === null)) return "";
      return row.length === 1 ? sig(row[0], 3) : row.map((v) => sig(v, 2)).join(" ");
    }
    return "";
  };

  return {
    cell: resp.cell,
    steps,
    hidden: resp.hidden_size,
    numLayers: resp.num_layers,
    inputSize: resp.input_size,
    gates: stripNames(resp.cell),
    // The API's packing order of the stacked arrays (`a`, the weights): PyTorch's i, f, g, o.
    // The page reads every block by its name through this list, never by position.
    gateOrder: resp.gate_order || [],
    hasCellState: resp.cell === "lstm",
    tokens: resp.tokens || null,
    vocab: resp.vocab || null,
    lossKind: resp.loss_kind,
    loss: resp.loss,
    layers,
    output,
    response: resp, // the raw /api/backward answer (for the JSON export)
    classTargets: cls,
    valueTargets: vals,
    norms: layers.map((layer) => layerNorms(layer, steps)),
    gradYNorm: output && output.grad_y ? output.grad_y.map(norm) : null,
    inputLabel,
    targetLabel,
    classLabel: (k) => classLabel(resp, k),
    /** p(target) at step t (cross-entropy), or null. */
    targetProb(t) {
      if (!cls || !output || !output.probs || cls[t] === null) return null;
      return output.probs[t][cls[t]];
    },
    /** The most likely class at step t (cross-entropy): {k, p}, or null. */
    guess(t) {
      if (!output || !output.probs) return null;
      const k = argmax(output.probs[t]);
      return { k, p: output.probs[t][k] };
    },
  };
}

/** What "Export trace (JSON)" writes: the request, the API's answer and where the view is. */
export function exportPayload(run, { request, config, view }) {
  return {
    format: "lstmvis-trace",
    version: 1,
    exported_at: new Date().toISOString(),
    request,
    view: { mode: config.mode, step: config.step, ...view },
    response: run.response,
  };
}
