// Every user-visible string of the page, by key.  Pure: no DOM.
//
// `en` is complete; other languages (a `ko` dictionary is planned) may be partial: a key a
// language lacks falls back to English, and an unknown key shows as itself so it is easy to
// spot.  Placeholders are written {name} and filled from the `params` object of t().

import { en as panelEn, ko as panelKo } from "./panels/strings.js";

export const en = {
  "page.title": "LSTM visualiser",
  "page.subtitle": "Exact forward and backward passes, gate by gate",
  "page.skip": "Skip to the diagram",

  "controls.heading": "Model and sequence",
  "controls.hide": "Hide controls",
  "controls.show": "Show controls",
  "controls.preset": "Preset",
  "controls.sequence": "Sequence",
  "controls.source.text": "Characters",
  "controls.source.numbers": "Numbers",
  "controls.text": "Text",
  "controls.text.hint": "Each character is one step; the target is the next character.",
  "controls.inputs": "Inputs",
  "controls.inputs.hint": "One step per line; values separated by spaces or commas.",
  "controls.targets": "Targets",
  "controls.targets.hint": "One line per step; leave a line empty or write - to skip that step.",
  "controls.cell": "Cell type",
  "controls.hidden": "Hidden size",
  "controls.layers": "Layers",
  "controls.seed": "Seed",
  "controls.forgetBias": "Forget-gate bias",
  "controls.forgetBias.hint": "Added to the forget gate's bias (LSTM only).",
  "controls.loss": "Loss",
  "controls.run": "Run",
  "controls.running": "Running…",

  "cell.lstm": "LSTM",
  "cell.gru": "GRU",
  "cell.rnn": "RNN (tanh)",

  "loss.cross_entropy.text": "Cross-entropy on next char",
  "loss.cross_entropy": "Cross-entropy on classes",
  "loss.mse": "Mean squared error",
  "loss.dh": "Sum of the top layer's h",

  "player.label": "Step through the trace",
  "player.first": "First step",
  "player.prev": "Previous step",
  "player.play": "Play",
  "player.pause": "Pause",
  "player.next": "Next step",
  "player.last": "Last step",
  "player.slider": "Timestep",
  "player.speed": "Speed",
  "player.speed.option": "{n} steps/s",
  "player.speed.one": "1 step/s",
  "player.mode": "Pass",
  "player.forward": "Forward",
  "player.backward": "Backward",
  "player.step": "t = {t} / {T}",
  "player.keys": "Keys: ← → step, space play/pause, Home/End first/last.",
  "player.walkForward": "Forward pass: t = 1 → {T}",
  "player.walkBackward": "Backward pass (BPTT): t = {T} → 1",

  "summary.loss": "loss {loss}",
  "summary.shape": "{cell} · {layers} × {hidden} units · T = {T}",
  "summary.lossKind.cross_entropy": "cross-entropy",
  "summary.lossKind.mse": "mean squared error",
  "summary.lossKind.dh": "sum of top h",

  "diagram.label": "Unrolled {cell}: {T} steps, {layers} layers; {mode} pass at t = {t}.",
  "diagram.layer": "layer {k}",
  "diagram.output": "output",
  "diagram.input": "input",
  "diagram.overview": "Whole sequence: click to jump",
  "overview.mean": "mean {name}",
  "overview.forward.lstm": "Whole sequence, mean forget gate f per step (click to jump)",
  "overview.forward.gru": "Whole sequence, mean update gate z per step (click to jump)",
  "overview.forward.rnn": "Whole sequence, mean |h| per step (click to jump)",
  "overview.backward.c": "Whole sequence, gradient size ‖dL/dc‖ per step (click to jump)",
  "overview.backward.h": "Whole sequence, gradient size ‖dL/dh‖ per step (click to jump)",
  "diagram.overviewLabel": "Overview of all {T} steps; the frame marks the steps in view.",
  "diagram.initial": "{name}₀",

  "gate.f": "forget gate f",
  "gate.i": "input gate i",
  "gate.g": "candidate g",
  "gate.o": "output gate o",
  "gate.r": "reset gate r",
  "gate.z": "update gate z",
  "gate.n": "candidate n",
  "gate.h": "hidden state h",
  "name.c": "cell state c",
  "name.h": "hidden state h",
  "name.x": "input x",
  "name.y": "output y",

  "hover.where": "t = {t} · layer {k}",
  "hover.unit": "unit {u}",
  "hover.units": "units {u0}–{u1}",
  "hover.value": "{name} = {value}",
  "hover.mean": "mean {value} (min {min}, max {max})",
  "hover.grad": "dL/d{name} = {value}",
  "hover.gradMean": "dL/d{name}: mean {value} (min {min}, max {max})",
  "hover.norm": "‖{name}‖ = {value}",
  "hover.maxAbs": "max |·| = {value}",
  "hover.railForward": "{name} from step {from} to step {to} · layer {k}",
  "hover.railInitial": "initial {name} into step 1 · layer {k}",
  "hover.railBackward": "dL/d{name} flowing from step {from} back to step {to} · layer {k}",
  "hover.railBackwardInitial": "dL/d{name}₀: what reaches the initial state · layer {k}",
  "hover.up": "h from layer {k} up to layer {k1} · t = {t}",
  "hover.upGrad": "dL/dh flowing down from layer {k1} to layer {k} · t = {t}",
  "hover.in": "input x at t = {t}",
  "hover.inGrad": "dL/dx at t = {t}",
  "hover.out": "top h into the output at t = {t}",
  "hover.outGrad": "dL/dh arriving from the loss at t = {t}",
  "hover.target": "target {value}",
  "hover.noTarget": "not scored",
  "hover.prob": "p(target) = {value}",
  "hover.guess": "most likely {value} ({p})",
  "hover.y": "y = {value}",
  "hover.gradY": "‖dL/dy‖ = {value}",
  "hover.token": "t = {t}: {token}",

  "legend.heading": "Colour scales",
  "legend.sigmoid.lstm": "Gates f, i, o (sigmoid)",
  "legend.sigmoid.gru": "Gates r, z (sigmoid)",
  "legend.tanh.lstm": "Candidate g (tanh)",
  "legend.tanh.gru": "Candidate n (tanh)",
  "legend.tanh.rnn": "h = tanh(a)",
  "legend.output.cross_entropy": "Output circles: p(target), 0..1 scale.",
  "legend.output.mse": "Output circles: y, −1..1 scale.",
  "legend.output.backward": "Output circles: ‖dL/dy‖, rail scale.",
  "legend.grad": "Gradient dL/d· (sign, log₁₀ size)",
  "legend.norm": "Rail gradient ‖dL/dc‖, ‖dL/dh‖",
  "legend.width": "wider = larger",
  "legend.identity": "Quantities",

  "detail.placeholder": "Cell view, heatmaps, equations and the explanation will appear here.",

  "error.network": "The server could not be reached. Is it still running?",
  "error.server": "The server failed ({status}). Try again, or try a smaller model.",
  "error.general": "Something went wrong: {msg}",
  "error.field": "{label}: {msg}",
  "error.given": " (you gave {input})",
  "error.le": "at most {limit}{given}.",
  "error.ge": "at least {limit}{given}.",
  "error.lt": "less than {limit}{given}.",
  "error.gt": "more than {limit}{given}.",
  "error.int": "a whole number is needed{given}.",
  "error.number": "a number is needed{given}.",
  "error.finite": "a finite number is needed.",
  "error.tooLong": "too long: at most {limit} characters.",
  "error.missing": "this is required.",
  "error.empty": "empty: at least one line is needed.",
  "error.parseNumber": "line {line}: “{token}” is not a number.",
  "error.parseInteger": "line {line}: “{token}” is not a whole number.",
  "error.ragged": "line {line} has {got} values; line 1 has {want}.",
  "error.nullInput": "line {line} is empty; every input step needs values.",
  "error.textShort": "at least 2 characters are needed (one step and its target).",
  "error.tooBig": "The result would be too large for the page. {msg}",
  "error.noPresets": "The presets could not be loaded.",

  "label.preset": "preset",
  "label.text": "Text",
  "label.inputs": "Inputs",
  "label.targets": "Targets",
  "label.cell": "Cell type",
  "label.hidden": "Hidden size",
  "label.layers": "Layers",
  "label.seed": "Seed",
  "label.forgetBias": "Forget-gate bias",
  "label.loss": "Loss",
};

// The panels (gradient flow, models, training) keep their strings beside their code.
Object.assign(en, panelEn);
const dictionaries = { en, ko: { ...panelKo } };
let current = "en";

/** Register (or extend) a language's dictionary; keys it lacks fall back to English. */
export function addDictionary(lang, dict) {
  dictionaries[lang] = { ...(dictionaries[lang] || {}), ...dict };
}

export function setLanguage(lang) {
  current = lang in dictionaries ? lang : "en";
  return current;
}

export function language() {
  return current;
}

/** The string for `key` in `lang` (default: the current language), placeholders filled. */
export function t(key, params = {}, lang = current) {
  const dict = dictionaries[lang] || en;
  let text = Object.hasOwn(dict, key) ? dict[key] : Object.hasOwn(en, key) ? en[key] : key;
  if (text.includes("{")) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
  }
  return text;
}
