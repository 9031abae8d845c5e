// The page's configuration: what the controls hold, made from a preset, and the request
// body it becomes.  Pure: no DOM.
//
// A config is a plain object:
//   preset, source ("text" | "numbers"), text, inputs (rows), targets (rows or class
//   indices), numClasses, cell, hidden, layers, seed, forgetBias, bidirectional, mergeMode,
//   projSize, bias (the architecture: see fields.js), loss ("cross_entropy" |
//   "mse" | "dh"), mode ("forward" | "backward"), step (1-based, or null: the walk's start),
//   modelId (a saved model's 32-hex id, or null: weights from the seed), lang ("en" | "ko").
// Numeric fields hold what the user typed until the request is built; the API is the one
// judge of ranges, so its messages (and limits) are the ones the page shows.

import { applies, SCALAR_FIELDS } from "./fields.js";
import { sameRows } from "./sequence.js";

export const MODES = ["forward", "backward"];
export const PRECISION = 6; // significant digits asked of the API (hover shows 4)


/** Loss choices for a kind of sequence. */
export function lossOptions(source) {
  return source === "text" ? ["cross_entropy", "dh"] : ["mse", "cross_entropy", "dh"];
}

/** The config a preset's request body describes (forward pass, at its first step). */
export function configFromPreset(preset) {
  const req = preset.request;
  const loss = req.loss || null;
  const source = typeof req.text === "string" ? "text" : "numbers";
  return {
    preset: preset.name,
    source,
    text: source === "text" ? req.text : "",
    inputs: source === "numbers" ? req.inputs : null,
    targets: loss && Array.isArray(loss.targets) ? loss.targets : null,
    numClasses: loss && Number.isInteger(loss.num_classes) ? loss.num_classes : null,
    ...Object.fromEntries(SCALAR_FIELDS.map((f) => [f.key, req[f.request] ?? f.fallback])),
    loss: loss ? loss.kind : source === "text" ? "cross_entropy" : "dh",
    mode: "forward",
    step: null,
    modelId: null,
  };
}

export const MODEL_ID = /^[0-9a-f]{32}$/;

/** Is a config's sequence (its kind and its text or inputs) still the preset's own? */
export function sameSequence(config, preset) {
  if (!preset) return false;
  const base = configFromPreset(preset);
  if (config.source !== base.source) return false;
  if (config.source === "text") return config.text === base.text;
  return Array.isArray(config.inputs) && sameRows(config.inputs, base.inputs);
}

/**
 * The preset a config still is (its name), or null when its sequence is no longer that
 * preset's (typed text, a model's probe): the page then shows "Custom" and the link names no preset.
 */
export function presetOf(config, presets) {
  const preset = presets.find((p) => p.name === config.preset);
  return preset && sameSequence(config, preset) ? preset.name : null;
}

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** A typed value as a number when it reads as one, else as typed (the API will say why). */
export function asNumber(value) {
  if (typeof value === "number") return value;
  if (typeof value === "string" && NUMERIC.test(value)) return Number(value);
  return value;
}

/** The loss part of the request body. */
function lossBody(config) {
  if (config.loss === "dh") return { kind: "dh" };
  if (config.loss === "mse") {
    const rows = config.targets || [];
    const first = rows.find((row) => Array.isArray(row));
    const width = first ? first.length : 1;
    const targets = rows.map((row) => (Array.isArray(row) ? row : new Array(width).fill(null)));
    return { kind: "mse", targets };
  }
  const body = { kind: "cross_entropy" };
  if (config.source !== "text") {
    body.targets = (config.targets || []).map((v) => (Array.isArray(v) ? (v[0] ?? null) : v));
    if (Number.isInteger(config.numClasses)) body.num_classes = config.numClasses;
  }
  return body;
}

/**
 * The POST /api/backward body for a config.  With a saved model (`modelId`), the model
 * defines the cell, its sizes, its architecture and weights: every field fields.js marks
 * `model` is left out and the API answers with the model's own.
 */
export function buildRequest(config) {
  if (config.modelId) {
    const body = { model_id: config.modelId, precision: PRECISION, loss: lossBody(config) };
    if (config.source === "text") body.text = config.text;
    else body.inputs = config.inputs;
    return body;
  }
  const body = {};
  for (const f of SCALAR_FIELDS) {
    if (!applies(f, config)) continue; // the API refuses it elsewhere
    const value = f.parse === "number" ? asNumber(config[f.key]) : f.parse === "bool" ? Boolean(config[f.key] ?? f.fallback) : config[f.key];
    if (f.omitDefault && String(value) === String(f.fallback)) continue; // the API's own default
    body[f.request] = value;
  }
  body.precision = PRECISION;
  body.loss = lossBody(config);
  if (config.source === "text") body.text = config.text;
  else body.inputs = config.inputs;
  return body;
}

/** Inputs of the right width when the page's sequence does not fit a model: a few sine waves. */
export function probeInputs(width, steps = 12) {
  return Array.from({ length: steps }, (_, s) => Array.from({ length: width }, (_, d) => Number(Math.sin(0.5 * s + d).toFixed(4))));
}

/** The text a model with a vocabulary opens with: `text` if every token is known, else its tokens. */
export function openingText(vocab, text) {
  const chars = vocab.every((token) => token.length === 1);
  const pieces = chars ? [...(text || "")] : (text || "").split(/\s+/).filter(Boolean);
  const known = new Set(vocab);
  if (pieces.length >= 2 && pieces.every((p) => known.has(p))) return text;
  const start = vocab.slice(0, 40);
  if (start.length < 2) start.push(start[0]); // a step needs a next token to be scored against
  return start.join(chars ? "" : " ");
}

/**
 * A saved model's architecture as config fields (its summary's `architecture`; a model
 * saved before that was recorded is one-direction, biased, without a projection).
 */
export function architectureOf(model) {
  const arch = (model && model.architecture) || {};
  return {
    bidirectional: Boolean(arch.bidirectional),
    mergeMode: arch.merge_mode || "concat",
    projSize: Number.isInteger(arch.proj_size) ? arch.proj_size : 0,
    bias: arch.bias !== false,
  };
}

/**
 * The config to run a saved model with (the "viz:use-model" event): `detail` is the event's
 * {id, text?, inputs?}, `model` the saved model's summary from GET /api/models/{id} (or null
 * when it could not be read).  Keeps the current sequence unless one is given; a model
 * trained on text (it has a vocabulary) always gets a text sequence, the current one when
 * the current sequence is text, else the text it was trained on or the first text preset's.
 */
export function configForModel(config, detail, model, presets = []) {
  const next = { ...config, modelId: detail.id, step: null };
  const vocab = model && Array.isArray(model.vocab) ? model.vocab : null;
  if (typeof detail.text === "string") {
    next.source = "text";
    next.text = detail.text;
  } else if (Array.isArray(detail.inputs)) {
    next.source = "numbers";
    next.inputs = detail.inputs;
  } else if (vocab) {
    // A model with a vocabulary reads text of its own tokens: the page's text or a preset's
    // if they are, else its vocabulary.
    next.source = "text";
    const preset = presets.find((p) => typeof p.request.text === "string");
    const candidates = [config.source === "text" ? config.text : "", preset ? preset.request.text : ""];
    next.text = candidates.find((text) => text && openingText(vocab, text) === text) || openingText(vocab, "");
  } else if (model && !vocab && config.source === "text") {
    // Without a vocabulary the server cannot know which input a character is: numbers instead.
    next.source = "numbers";
    next.inputs = probeInputs(model.input_size);
  }
  // Targets (and the loss that reads them) belong to a sequence: another source or another
  // sequence starts from its source's default loss, unless the asker names one.
  const sameSequence =
    next.source === config.source &&
    (next.source === "text" ? next.text === config.text : JSON.stringify(next.inputs) === JSON.stringify(config.inputs));
  if (!sameSequence) {
    next.targets = null;
    next.numClasses = null;
    next.loss = next.source === "text" ? "cross_entropy" : "dh";
  }
  if (model) {
    next.cell = model.cell;
    next.hidden = model.hidden_size;
    next.layers = model.num_layers;
    Object.assign(next, architectureOf(model));
  }
  return next;
}
