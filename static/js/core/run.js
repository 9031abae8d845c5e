// One /api/backward response, made ready to draw: shapes, labels and the per-step norms
// every frame needs, computed once per run.  Pure: no DOM.
//
// A layer is one direction ("forward") or two ("bidirectional": a forward and a reverse
// direction, each with its own arrays and gradients, and the merged output `h` the layer
// above reads).  The page draws one row per (layer, direction): `rows`, in PyTorch's slot
// order (layer 0 forward, layer 0 reverse, layer 1 forward, ...).  Every view reads a
// direction's arrays through `data(k, dir)`, never `layers[k]` directly.

import { heatmapNames, stripNames } from "./cells.js";
import { maxAbs, norm, rms, sig, subscript, visibleChar } from "./format.js";

export const DIRECTIONS = Object.freeze(["forward", "reverse"]);

const zeros = (n) => new Array(n).fill(0);
const norms = (rows) => (rows ? rows.map(norm) : null);

/** Per-row norms along the rails, forward and backward. */
function rowNorms(data, steps) {
  const g = data.grad || {};
  return {
    c: norms(data.c), // ||c_t||
    h: norms(data.h), // ||h_t||
    hRms: data.h ? data.h.map(rms) : zeros(steps),
    cMax: data.c ? data.c.map(maxAbs) : null,
    hMax: data.h ? data.h.map(maxAbs) : null,
    xIn: norms(data.x),
    gc: norms(g.c_from_next), // gradient on the c rail from the direction's next step
    gh: norms(g.h_from_next), // gradient on the h rail from the direction's next step
    gAbove: norms(g.h_from_above), // gradient arriving from the layer above (or the loss)
    gx: norms(g.x), // gradient leaving downwards (into the layer below, or the input)
    gcTotal: norms(g.c), // total dL/dc_t
    ghTotal: norms(g.h), // total dL/dh_t
    gh0: g.h0 ? norm(g.h0) : 0,
    gc0: g.c0 ? norm(g.c0) : 0,
  };
}

/** One row per (layer, direction), in PyTorch's slot order. */
export function layerRows(layers) {
  const rows = [];
  layers.forEach((layer, k) => {
    if (layer.direction === "bidirectional") {
      for (const dir of DIRECTIONS) rows.push({ layer: k, dir, data: layer[dir] });
    } else {
      rows.push({ layer: k, dir: "forward", data: layer });
    }
  });
  return rows;
}

/**
 * What each layer hands up, per step: the norm of its output and of the gradient on it.
 * For the layers below the top, that gradient is exactly the layer above's dL/dx.
 */
function layerOutputs(resp, rows, steps) {
  const layers = resp.layers;
  return layers.map((layer, k) => {
    const bi = layer.direction === "bidirectional";
    const h = layer.h; // a bidirectional layer's merged output, else the direction's own h
    let g = null;
    if (k + 1 < layers.length) {
      const above = layers[k + 1].grad;
      g = above && above.x ? above.x : null;
    } else if (bi) {
      g = layer.grad && layer.grad.h ? layer.grad.h : null; // dL/d(the merged output), from the server
    } else {
      g = layer.grad ? layer.grad.h_from_above : null;
    }
    return { h: h ? h.map(norm) : zeros(steps), g: g ? g.map(norm) : zeros(steps) };
  });
}

function argmax(row) {
  let best = 0;
  for (let k = 1; k < row.length; k += 1) if (row[k] > row[best]) best = k;
  return best;
}

/** Class targets per step (index or null), or null when the loss has none. */
function classTargets(resp, config) {
  if (resp.loss_kind !== "cross_entropy") return null;
  const target = resp.output && resp.output.target;
  if (target && Array.isArray(target.ids)) return target.ids.map((k) => (Number.isInteger(k) && k >= 0 ? k : null));
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

/** A class index as shown: the token for text (or a vocabulary), else the number. */
function classLabel(resp, k) {
  if (k === null || k === undefined) return "";
  return resp.vocab && k < resp.vocab.length ? visibleChar(resp.vocab[k]) : String(k);
}

/** Whether the input was looked up in an embedding (token ids in, dL/dE out). */
function hasEmbedding(resp) {
  if (resp.grad && resp.grad["embedding.weight"]) return true;
  // Without the gradient (a forward trace): token ids whose vectors are not one-hot rows.
  const x0 = resp.layers[0] && (resp.layers[0].direction === "bidirectional" ? resp.layers[0].forward.x : resp.layers[0].x);
  return Boolean(resp.tokens && resp.vocab && x0 && x0[0] && x0[0].length !== resp.vocab.length);
}

/**
 * The per-step norms makeRun needs, computed where the response was parsed (the trace
 * worker), so the page's thread does not walk every number: {norms, outputs, gradYNorm}.
 */
export function runNorms(resp) {
  const rows = layerRows(resp.layers);
  const output = resp.output || null;
  return {
    norms: rows.map((row) => rowNorms(row.data, resp.steps)),
    outputs: layerOutputs(resp, rows, resp.steps),
    gradYNorm: output && output.grad_y ? output.grad_y.map(norm) : null,
  };
}

/** A response made ready to draw; `prepared` is runNorms(resp) when already computed. */
export function makeRun(resp, config = null, prepared = null) {
  const steps = resp.steps;
  const layers = resp.layers;
  const rows = layerRows(layers);
  const { norms: rowNormsAll, outputs, gradYNorm } = prepared || runNorms(resp);
  const bidirectional = Boolean(resp.bidirectional) || layers.some((l) => l.direction === "bidirectional");
  const directions = bidirectional ? DIRECTIONS.slice() : ["forward"];
  const cls = classTargets(resp, config);
  const vals = valueTargets(resp, config);
  const output = resp.output || null;
  const x0 = rows[0].data.x || [];
  const projSize = resp.proj_size || 0;
  const embedding = hasEmbedding(resp);
  const full = !output || output.full !== false;
  const topK = output && output.top_k ? output.top_k : null;
  const heatmaps = heatmapNames(resp.cell).slice();
  // With a projection the LSTM's own o * tanh(c) is m; h is W_hr m, projSize wide.
  if (projSize && !heatmaps.includes("m")) heatmaps.splice(Math.max(0, heatmaps.indexOf("h")), 0, "m");

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
  const rowIndex = new Map(rows.map((row, r) => [`${row.layer}:${row.dir}`, r]));

  return {
    cell: resp.cell,
    steps,
    hidden: resp.hidden_size,
    numLayers: resp.num_layers,
    inputSize: resp.input_size,
    bidirectional,
    directions,
    mergeMode: resp.merge_mode || "concat",
    projSize,
    /** Numbers in each direction's h (the projection's, or the hidden size). */
    stateSize: projSize || resp.hidden_size,
    bias: resp.bias !== false,
    outputSize: resp.output_size ?? resp.hidden_size,
    embedding,
    gates: stripNames(resp.cell),
    /** What the heatmaps show: the catalogue's quantities, and m with a projection. */
    heatmaps,
    // The API's packing order of the stacked arrays (`a`, the weights): PyTorch's i, f, g, o.
    // The page reads every block by its name through this list, never by position.
    gateOrder: resp.gate_order || [],
    hasCellState: resp.cell === "lstm",
    tokens: resp.tokens || null,
    vocab: resp.vocab || null,
    lossKind: resp.loss_kind,
    loss: resp.loss,
    layers,
    rows,
    output,
    /** Whether the head's whole T x O matrices came (else top_k and target carry it). */
    fullOutput: full,
    /** Each step's most likely outputs are shown over the output row (large heads, token models). */
    showTopK: Boolean(topK) && (!full || embedding),
    response: resp, // the raw /api/backward answer (for the JSON export)
    classTargets: cls,
    valueTargets: vals,
    norms: rowNormsAll,
    /** Per layer: ||output|| and ||dL/d output|| per step (the arrows up and out). */
    outputs,
    gradYNorm,
    inputLabel,
    targetLabel,
    classLabel: (k) => classLabel(resp, k),
    /** The row index of (layer, direction), or -1. */
    rowOf: (k, dir = "forward") => rowIndex.get(`${k}:${dir}`) ?? -1,
    /** The arrays of layer k's direction `dir` (x, the gates, c, h, m, grad). */
    data(k, dir = "forward") {
      const r = rowIndex.get(`${k}:${dir}`);
      return r === undefined ? null : rows[r].data;
    },
    /** The gradient arriving at the input (layer 0's dL/dx, both directions' sum). */
    inputGrad() {
      const first = layers[0];
      return first.grad && first.grad.x ? first.grad.x : null;
    },
    /** p(target) at step t (cross-entropy), or null. */
    targetProb(t) {
      if (!cls || !output || cls[t] === null) return null;
      if (output.target && Array.isArray(output.target.probs)) return output.target.probs[t] ?? null;
      return output.probs ? output.probs[t][cls[t]] : null;
    },
    /** The most likely class at step t (cross-entropy): {k, p}, or null. */
    guess(t) {
      if (topK && topK.ids[t] && topK.ids[t].length) return { k: topK.ids[t][0], p: topK.probs[t][0] };
      if (!output || !output.probs) return null;
      const k = argmax(output.probs[t]);
      return { k, p: output.probs[t][k] };
    },
    /** Step t's most likely outputs, most likely first: [{k, p, label}], or null. */
    topK(t) {
      if (!topK || !topK.ids[t]) return null;
      return topK.ids[t].map((k, j) => ({ k, p: topK.probs[t][j], label: classLabel(resp, k) }));
    },
    /** The head's y at step t when the API sent it, or null. */
    headY(t) {
      return output && Array.isArray(output.y) ? output.y[t] : null;
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
