// The whole view in the URL's query string, so a reload or a pasted link restores it.
// Pure: no DOM (the caller reads and writes location).
//
// Only what differs from the chosen preset is written: "?preset=sine&hidden=16&mode=backward&t=7".
// Numeric sequences use the compact rows of sequence.js ("0.1,2;0.3,4").

import { cellTypes } from "./cells.js";
import { asNumber, configFromPreset, MODEL_ID, MODES, presetOf } from "./config.js";
import { MERGE_MODES, MODEL_OWNED, URL_SCALARS } from "./fields.js";
import { decodeRows, encodeRows, sameRows } from "./sequence.js";

// The cell view follows at most this many units at once (as detail.js allows).
export const MAX_SELECTED_UNITS = 4;

const LOSSES = ["cross_entropy", "mse", "dh"];

/** A value from a link as its field reads it; undefined when it is not one (then ignored). */
function parseField(field, raw) {
  if (field.parse === "cell") return cellTypes().includes(raw) ? raw : undefined;
  if (field.parse === "loss") return LOSSES.includes(raw) ? raw : undefined;
  if (field.parse === "merge") return MERGE_MODES.includes(raw) ? raw : undefined;
  if (field.parse === "bool") return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : undefined;
  if (field.parse === "integer") {
    const v = asNumber(raw);
    return Number.isInteger(v) ? v : null;
  }
  return asNumber(raw); // numbers stay as typed when they do not parse: the API says why
}

// encodeURIComponent, keeping the row/column separators readable.
const enc = (v) => encodeURIComponent(String(v)).replace(/%2C/gi, ",").replace(/%3B/gi, ";");

const same = (a, b) => String(a) === String(b);

/**
 * The query string ("?...") for a config, relative to its preset.  A config whose sequence is
 * no longer its preset's (config.js presetOf) names no preset: it is written relative to the
 * default preset (`defaultName`, else the first), which is what a link without one opens on.
 */
export function encodeState(config, presets, defaultName = null) {
  const named = presetOf(config, presets);
  const preset =
    presets.find((p) => p.name === named) || presets.find((p) => p.name === defaultName) || presets[0];
  const base = configFromPreset(preset);
  const parts = named ? [["preset", preset.name]] : [];
  if (config.source !== base.source) parts.push(["src", config.source]);
  if (config.source === "text") {
    if (config.text !== base.text || config.source !== base.source) parts.push(["text", config.text]);
  } else if (config.inputs && (config.source !== base.source || !sameRows(config.inputs, base.inputs))) {
    parts.push(["inputs", encodeRows(config.inputs)]);
  }
  if (config.targets && !sameRows(config.targets, base.targets)) parts.push(["targets", encodeRows(config.targets)]);
  // A saved model defines its own cell and sizes: those are not part of the link.
  const fromModel = new Set(config.modelId ? MODEL_OWNED : []);
  for (const { key, url } of URL_SCALARS) {
    if (fromModel.has(key)) continue;
    const v = config[key];
    if (v !== null && v !== undefined && !same(v, base[key])) parts.push([url, v]);
  }
  if (config.modelId) parts.push(["model", config.modelId]);
  if (config.mode && config.mode !== "forward") parts.push(["mode", config.mode]);
  if (Number.isInteger(config.step)) parts.push(["t", config.step]);
  // The selection inside the cell (1-based), when it is not the first layer's first unit.
  if (Number.isInteger(config.layer) && config.layer > 1) parts.push(["layer", config.layer]);
  if (config.direction === "reverse") parts.push(["dir", "reverse"]);
  if (Array.isArray(config.units) && config.units.length && !(config.units.length === 1 && config.units[0] === 1)) {
    parts.push(["units", config.units.join(",")]);
  }
  if (config.lang && config.lang !== "en") parts.push(["lang", config.lang]);
  // Never a link that names no view (that one opens the gallery): the preset it equals.
  if (parts.every(([k]) => k === "lang")) parts.unshift(["preset", preset.name]);
  return "?" + parts.map(([k, v]) => `${k}=${enc(v)}`).join("&");
}

/**
 * The config a query string describes: its preset (or the default one), overridden by
 * every key present.  Values that do not parse as numbers stay as written, so the API
 * can say what is wrong with them next to the control that holds them.
 */
export function decodeState(search, presets, defaultName) {
  const params = new URLSearchParams(search || "");
  const preset =
    presets.find((p) => p.name === params.get("preset")) ||
    presets.find((p) => p.name === defaultName) ||
    presets[0];
  const config = configFromPreset(preset);
  const src = params.get("src");
  if (src === "text" || src === "numbers") config.source = src;
  if (params.has("text")) config.text = params.get("text");
  if (params.has("inputs")) config.inputs = decodeRows(params.get("inputs")) || config.inputs;
  for (const field of URL_SCALARS) {
    if (!params.has(field.url)) continue;
    const value = parseField(field, params.get(field.url));
    if (value !== undefined) config[field.key] = value;
  }
  if (params.has("targets")) {
    const rows = decodeRows(params.get("targets"), { integers: config.loss === "cross_entropy" });
    if (rows) config.targets = rows;
  }
  if (config.source === "text" && typeof config.text !== "string") config.text = "";
  const mode = params.get("mode");
  if (MODES.includes(mode)) config.mode = mode;
  const step = asNumber(params.get("t") ?? "");
  config.step = Number.isInteger(step) && step >= 1 ? step : null;
  const model = params.get("model");
  config.modelId = model && MODEL_ID.test(model) ? model : null;
  config.lang = langFromSearch(search);
  const layer = asNumber(params.get("layer") ?? "");
  config.layer = Number.isInteger(layer) && layer >= 1 ? layer : null;
  config.direction = params.get("dir") === "reverse" ? "reverse" : "forward";
  const units = (params.get("units") || "")
    .split(",")
    .map((u) => asNumber(u))
    .filter((u) => Number.isInteger(u) && u >= 1);
  config.units = units.length ? units.slice(0, MAX_SELECTED_UNITS) : null;
  return config;
}

/** The language a query string asks for ("en" unless it names another known one). */
export function langFromSearch(search, known = ["en", "ko"]) {
  const lang = new URLSearchParams(search || "").get("lang");
  return known.includes(lang) ? lang : "en";
}
