// The gallery of trained models (GET /api/gallery), as the page opens them.  Pure: no DOM.
//
// An entry's `watch` is 0-based like the API's arrays; the page's selection and URL are
// 1-based, so everything handed to the page here is 1-based.

import { MAX_SELECTED_UNITS } from "../core/urlstate.js";

/** The task the page opens on when the link names no view of its own. */
export const DEFAULT_TASK = "adding";

/** Whether a link names no view (nothing but, perhaps, the language): then the gallery's model opens. */
export function opensGallery(search) {
  const keys = [...new URLSearchParams(search || "").keys()];
  return keys.every((k) => k === "lang");
}

/** The entry the page opens on: the adding problem's LSTM, else the first; null when there is none. */
export function defaultEntry(models) {
  if (!Array.isArray(models) || !models.length) return null;
  return models.find((m) => m.task === DEFAULT_TASK && m.cell === "lstm") || models.find((m) => m.task === DEFAULT_TASK) || models[0];
}

/** The watched layer (1-based), its units (1-based, at most the cell view's four) and quantities by unit. */
export function watchSelection(entry) {
  const watch = Array.isArray(entry && entry.watch) ? entry.watch.filter((w) => Number.isInteger(w.unit)) : [];
  if (!watch.length) return { layer: 1, units: [], quantities: {} };
  const layer = Number.isInteger(watch[0].layer) ? watch[0].layer : 0;
  const units = [];
  const quantities = {};
  for (const w of watch) {
    if ((Number.isInteger(w.layer) ? w.layer : 0) !== layer) continue;
    const u = w.unit + 1;
    if (!units.includes(u)) units.push(u);
    (quantities[u] ||= []).includes(w.quantity) || quantities[u].push(w.quantity);
  }
  return { layer: layer + 1, units: units.slice(0, MAX_SELECTED_UNITS), quantities };
}

const stepsWhere = (rows, test) => (Array.isArray(rows) ? rows.flatMap((row, i) => (Array.isArray(row) && test(row) ? [i + 1] : [])) : []);

/** Steps (1-based) whose targets are scored. */
export function scoredSteps(example) {
  const targets = example && example.loss && Array.isArray(example.loss.targets) ? example.loss.targets : [];
  return targets.flatMap((v, i) => {
    const row = Array.isArray(v) ? v : [v];
    return row.some((x) => x !== null && x !== undefined) ? [i + 1] : [];
  });
}

/** The deepest point of a bracket string (1-based step; the first of equals). */
function deepestStep(text) {
  let depth = 0;
  let best = 0;
  let at = 1;
  [...text].forEach((ch, i) => {
    depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
    if (depth > best) [best, at] = [depth, i + 1];
  });
  return at;
}

/**
 * The steps where the mechanism shows (1-based, ascending): the adding problem's marked
 * steps, temporal order's X and Y, the copy task's first symbol and its go signal, the
 * deepest nesting of the parentheses, the Reber string's choice and where it is used; else
 * the first scored step.
 */
export function keySteps(entry) {
  const example = (entry && entry.example) || {};
  const inputs = example.inputs;
  const text = typeof example.text === "string" ? example.text : "";
  let steps = [];
  switch (entry && entry.task) {
    case "adding":
      steps = stepsWhere(inputs, (row) => row[1] === 1);
      break;
    case "temporal_order":
      steps = stepsWhere(inputs, (row) => row[0] === 1 || row[1] === 1); // channels X, Y, c, d
      break;
    case "copy":
      steps = [1, ...stepsWhere(inputs, (row) => row[row.length - 1] === 1)]; // symbols, blank, go
      break;
    case "dyck":
      if (text) steps = [deepestStep(text)];
      break;
    case "reber":
      if (text.length >= 3) steps = [2, text.length - 1]; // B, then T or P ... T or P, E
      break;
    default:
      break;
  }
  if (!steps.length) steps = scoredSteps(example).slice(0, 1);
  return [...new Set(steps)].sort((a, b) => a - b);
}

/** The viz:use-model request that opens an entry: its example, its watched units, its first key step. */
export function openRequest(entry) {
  const example = entry.example || {};
  const detail = { id: entry.model_id, gallery: entry.task, mode: "forward" };
  if (typeof example.text === "string") detail.text = example.text;
  else if (Array.isArray(example.inputs)) detail.inputs = example.inputs;
  // Always the example's own loss, named: an example without one is text read with the
  // server's default, next-token cross-entropy.
  if (example.loss && typeof example.loss.kind === "string") detail.loss = example.loss;
  else if (typeof example.text === "string") detail.loss = { kind: "cross_entropy" };
  const { layer, units } = watchSelection(entry);
  detail.layer = layer;
  if (units.length) detail.units = units;
  const [first] = keySteps(entry);
  if (first) detail.step = first;
  return detail;
}

/** The loss a request body's `loss` becomes in the page's config (kind, targets, classes). */
export function lossConfig(loss) {
  if (!loss || typeof loss.kind !== "string") return {};
  return {
    loss: loss.kind,
    targets: Array.isArray(loss.targets) ? loss.targets : null,
    numClasses: Number.isInteger(loss.num_classes) ? loss.num_classes : null,
  };
}

/** The gallery entry a run shows (by its saved model's id), or null. */
export function entryOfRun(models, config) {
  if (!config || !config.modelId || !Array.isArray(models)) return null;
  return models.find((m) => m.model_id === config.modelId) || null;
}

/** An entry's text in a language (English when that language has none). */
export function localized(value, lang) {
  if (!value || typeof value !== "object") return typeof value === "string" ? value : "";
  return value[lang] || value.en || "";
}
