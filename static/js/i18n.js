// Every user-visible string of the page, by key.  Pure: no DOM.
//
// `en` and `ko` are complete (tests/js/i18n_complete.test.js checks that every key is in
// both, with the same placeholders).  A key a language lacks would fall back to English, and
// an unknown key shows as itself so it is easy to spot.  Placeholders are written {name} and
// filled from the `params` object of t().  The explanation's texts use the small markup of
// explain.js ([[f|coloured phrase]], **bold**, blank line = new paragraph).

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

  "detail.label": "Inside one cell: the cell view, equations, heatmaps and the guided explanation",

  "lang.toggle": "한국어",
  "lang.label": "Language: switch to Korean",
  "export.json": "Export trace (JSON)",
  "export.label": "Download the current trace, its request and the view as a JSON file",

  "preset.hello.title": "Text: hello world",
  "preset.hello.description": "Next-character prediction on a short text: one-hot characters, cross-entropy.",
  "preset.sine.title": "Sine wave",
  "preset.sine.description": "Predict the next value of a sine wave (24 steps, mean squared error).",
  "preset.adding.title": "Adding problem",
  "preset.adding.description": "Two marked values among 20; the target, read at the last step only, is their sum.",
  "preset.copy.title": "Copy task",
  "preset.copy.description": "See 4 symbols, wait 3 steps, then repeat them (cross-entropy on the recall steps).",
  "preset.temporal_order.title": "Temporal order",
  "preset.temporal_order.description": "Which of X and Y came first and which second, among 24 noise symbols? Scored at the last step.",

  "controls.savedModel": "Saved model: {name}",
  "controls.savedNote": "Its cell type and sizes are used; those controls are locked.",
  "controls.seeded": "Back to a seeded model",

  "cell.heading": "Inside the cell",
  "cell.where": "t = {t} · layer {k} · {mode}",
  "cell.layer": "Layer",
  "cell.label": "Computational graph of the {cell} cell at t = {t}, layer {k}, {mode}.",
  "cell.hint": "Hover a strip for its numbers. Click a unit to select it (Shift-click adds one). Click a cell in the diagram to show it here.",
  "cell.fromPrev": "from step t−1",
  "cell.toPrev": "back to step t−1",
  "cell.toNext": "to step t+1",
  "cell.fromNext": "from step t+1",
  "cell.toAbove": "to the layer above",
  "cell.fromAbove": "from the layer above",
  "cell.toAboveTop": "to the output",
  "cell.fromAboveTop": "from the loss",
  "cell.xIn": "the input",
  "cell.xInBelow": "h of the layer below",
  "cell.xBack": "to the input",
  "cell.xBackBelow": "down to the layer below",
  "cell.slice": "slice node",
  "cell.sliceBack": "slice node: joins",
  "cell.sliceHover": "Slice node: splits A by name into A_f, A_g, A_i, A_o (the API packs A as {order}; the book slices f, g, i, o).",
  "cell.sliceHoverBack": "Slice node, backward: joins dA_f, dA_g, dA_i, dA_o back into dA, each into its own slice ({order}).",
  "cell.affine": "one affine map for all four gates",
  "cell.affineRnn": "the affine map",
  "cell.affineBack": "on to the weights, x and h of t−1",
  "cell.packing": "A, packed {order}",
  "cell.legend.sigmoid": "σ gates, 0..1",
  "cell.legend.tanh": "other values, −1..1 (clipped)",
  "cell.legend.grad": "gradients: sign, log₁₀ size",
  "cell.zero": "zero: the initial state",

  "heat.heading": "Heatmaps: hidden unit × time",
  "heat.hint": "Layer {k}. Click a unit to select it (Shift-click adds one); the dark line marks the current step.",
  "heat.unit": "unit",

  "unit.heading": "Selected units over time",
  "unit.valueAxis": "value",
  "unit.gradAxis": "|gradient| (log scale)",

  "eq.heading": "Equations",
  "eq.where": "{mode} · unit {u} · t = {t} · layer {k}",
  "eq.note": "d· is ∂L/∂·; ⊙ is the Hadamard (element-wise) product. The numbers are this unit's values from the trace.",
  "eq.joined": "joined by name, packed as PyTorch's i, f, g, o",
  "eq.throughN": "through n",
  "eq.throughGates": "through the gates",

  "explain.heading": "Guided explanation",
  "explain.next": "Next",
  "explain.prev": "Back",
  "explain.progress": "Step {k} of {n}",
  "explain.hide": "Hide",
  "explain.show": "Show",
  "explain.lstmOnly": "This walk-through follows the LSTM; switch the cell type to LSTM to see every part it points at.",
  "explain.goto": "Go to step {k}",

  "explain.why.title": "Why an LSTM adds a cell state and three gates",
  "explain.why.body": "A plain RNN carries everything in one hidden state h. On the way back, its gradient is multiplied, step after step, by the same weights and by the slope of tanh, and over many steps it fades away. This is the **vanishing gradient** problem, and it makes dependencies across long distances hard to learn.\n\nThe LSTM keeps a second state, the [[c|cell state cₜ]], on a path of its own along the top of the cell. Three gates decide what happens on that path: the [[f|forget gate f]], the [[i|input gate i]] and the [[o|output gate o]]. Each gate is a vector with one number between 0 and 1 per hidden unit, and it scales how much passes.",
  "explain.order.title": "The gates are computed together, but read in order",
  "explain.order.body": "All four blocks come from one affine map, A = W_ih·xₜ + W_hh·hₜ₋₁ + b, a vector four times as wide as the hidden state. The **slice node** cuts A into four named pieces, one each for [[f|f]], [[i|i]], [[g|g]] and [[o|o]], and each piece goes through its own function (σ or tanh).\n\nThey are computed in parallel, but the story reads in order: forget, input, output. The book slices A as f, g, i, o; PyTorch (and this page's data) packs it as i, f, g, o. The order does not matter as long as every slice is taken by its name, which is why the slice node names each one.",
  "explain.forget.title": "1. Forget gate: how much of the old memory to keep",
  "explain.forget.body": "[[f|fₜ = σ(A_f)]] is computed from the previous hidden state hₜ₋₁ and the current input xₜ. The sigmoid squeezes each unit into 0..1: near 0 means forget, near 1 means keep.\n\nIt multiplies the previous cell state element by element: [[f|fₜ]] ⊙ [[c|cₜ₋₁]]. Hover the strips to see, unit by unit, how much of the old memory survives into this step.",
  "explain.candidate.title": "2. Input gate, part one: the candidate g",
  "explain.candidate.body": "Before deciding how much to write, the cell proposes what to write: the candidate memory [[g|gₜ = tanh(A_g)]], made from hₜ₋₁ and xₜ like the gates. tanh keeps it in −1..1, so a unit can push the memory up or down.\n\nThe book calls g the new memory cell; it is also called the candidate cell state.",
  "explain.input.title": "2. Input gate, part two: how much of g to add",
  "explain.input.body": "[[i|iₜ = σ(A_i)]] gives, per unit, the share of the candidate that goes in. The two meet in a **Hadamard product** [[i|iₜ]] ⊙ [[g|gₜ]]: each unit is multiplied by the same unit of the other vector, with no sums.\n\nAdding this to what the forget gate kept gives the new cell state: [[c|cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ]]. Only a multiplication and an addition touch the cell state; no weight matrix does.",
  "explain.output.title": "3. Output gate: what becomes the hidden state",
  "explain.output.body": "[[o|oₜ = σ(A_o)]] decides how much of the new memory to show. The cell state goes through tanh and is scaled by the gate: [[h|hₜ = oₜ ⊙ tanh(cₜ)]].\n\nThen hₜ goes two ways: to the next step, where it is hₜ₋₁, and up to the layer above or to the output. The backward pass starts from this fork.",
  "explain.twoWays.title": "Backward: dhₜ arrives from two places",
  "explain.twoWays.body": "Now we walk from the last step back to the first (backpropagation through time). A d in front of a name means the partial derivative of the loss by it: dhₜ = ∂L/∂hₜ.\n\nBecause hₜ went two ways, its gradient is the sum of two parts: [[h|dhₜ = dhₜ(above) + dhₜ(next)]], one from the layer above (or the loss) and one from step t+1. The two small nodes on the right show each part, and the product node shows their sum.",
  "explain.gates.title": "Backward to each gate",
  "explain.gates.body": "From dhₜ the gradient runs back through the same nodes, and each node applies its local derivative.\n\n[[o|doₜ = dhₜ ⊙ tanh(cₜ)]]. The cell state gets [[c|dcₜ = dcₜ(next) + dhₜ ⊙ oₜ ⊙ (1 − tanh²(cₜ))]]: its part from step t+1 plus the part through tanh. The + node copies dcₜ to both of its inputs, and each × node multiplies by the other factor: [[g|dgₜ = dcₜ ⊙ iₜ]], [[i|diₜ = dcₜ ⊙ gₜ]], [[f|dfₜ = dcₜ ⊙ cₜ₋₁]].",
  "explain.slice.title": "Backward through the slice node",
  "explain.slice.body": "Each gate's gradient goes through the derivative of its activation (σ′ = σ(1 − σ), tanh′ = 1 − tanh²) and becomes dA_f, dA_g, dA_i or dA_o. The slice node's backward is the reverse of slicing: it **joins** the four pieces back into one dA, each in the place its name has in A.\n\nFrom dA, one matrix product each gives the gradients of the weights, of the input, dxₜ = W_ihᵀ·dA, and of the previous hidden state, dhₜ₋₁ = W_hhᵀ·dA, which flows on to step t−1.",
  "explain.vanishing.title": "Part 2: why the cell path eases vanishing gradients",
  "explain.vanishing.body": "Follow the top line backwards: [[c|dcₜ₋₁ = dcₜ ⊙ fₜ]]. Between two cell states the gradient meets no weight matrix and no squashing slope, only the forget gate, unit by unit. Over many steps it is multiplied by one f after another, so where the forget gate stays near 1 the gradient travels far almost unchanged.\n\nIn a plain RNN every step multiplies by W_hhᵀ and by the slope of tanh (at most 1), so the gradient usually shrinks geometrically (or sometimes explodes). Step backwards through the diagram and watch the [[c|c rail]]; then set the forget-gate bias to 3, run again, and it stays thick for longer. The LSTM does not remove the problem entirely (f can close), but it gives the gradient a path that the network can learn to keep open.",

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
