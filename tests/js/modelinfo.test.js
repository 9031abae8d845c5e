import assert from "node:assert/strict";
import { test } from "node:test";

import { openingText } from "../../static/js/core/config.js";
import { setLanguage } from "../../static/js/core/i18n.js";
import {
  describeUpload,
  openable,
  parityMark,
  parityText,
  remedyKey,
  settingLines,
  valueText,
} from "../../static/js/panels/modelinfo.js";

const keras = {
  name: "tagger",
  cell: "lstm",
  num_layers: 2,
  hidden_size: 8,
  input_size: 4,
  output_size: 3,
  vocab_size: 10,
  source: {
    framework: "keras",
    format: "keras",
    filename: "tagger.keras",
    read: { layers: [{ class: "LSTM", name: "encoder", units: 8, activation: "tanh" }], ignored_at_inference: ["Dropout"] },
    given: {},
    assumed: { output: "values: as they are" },
  },
  vocab: null,
  config: { input_kind: "tokens", output_kind: "logits", output_steps: "last", nonlinearity: "tanh" },
  parity: { checked: true, framework: "keras", max_abs_diff: 2.4e-7, probe_steps: 20, compared: "probs" },
};

test("values and settings become text, one line per layer", () => {
  assert.equal(valueText(["a", "b"]), "a, b");
  assert.equal(valueText({ units: 8, activation: "tanh" }), "units 8, activation tanh");
  assert.equal(valueText(null), "—");
  assert.equal(valueText([]), "—");
  assert.equal(valueText([null, 8]), "(None, 8)");
  assert.equal(valueText({ name: "input", batch_shape: [null, 8] }), "name input, batch_shape (None, 8)");
  assert.deepEqual(settingLines(keras.source.read), ["class LSTM, name encoder, units 8, activation tanh", "ignored_at_inference: Dropout"]);
});

test("the parity line names the framework, the difference and the probe", () => {
  setLanguage("en");
  assert.equal(parityText(keras.parity), "matches Keras to 2e-7 on a 20-step probe (the probabilities)");
  assert.equal(parityText({ checked: false, reason: "not checked: keras is not installed" }), "not checked: keras is not installed");
  assert.equal(parityMark(keras.parity), "✓ Keras 2e-7");
  // a disagreement, or an overflow (no difference recorded), is never shown as a match
  const off = { ...keras.parity, matches: false, max_abs_diff: 0.7 };
  assert.match(parityText(off), /^does NOT match Keras: largest difference 7e-1/);
  assert.equal(parityMark(off), "✗ Keras disagrees");
  const overflow = { ...keras.parity, matches: false, max_abs_diff: null };
  assert.match(parityText(overflow), /inf\/NaN/);
  assert.equal(parityMark({ ...keras.parity, max_abs_diff: null }), "✗ Keras disagrees");
  setLanguage("ko");
  assert.match(parityText(keras.parity), /Keras 계산과의 차이가 2e-7 이내예요/);
  setLanguage("en");
});

test("what was read: assumed settings and a missing vocabulary are marked", () => {
  setLanguage("en");
  const rows = describeUpload(keras);
  const byLabel = (label) => rows.filter(([l]) => l === label);
  assert.deepEqual(byLabel("From")[0].slice(1), ["Keras · keras · tagger.keras", "read"]);
  assert.match(byLabel("Input")[0][1], /token ids through an embedding \(10 tokens × 4\)/);
  assert.match(byLabel("Head")[0][1], /last step only/);
  assert.equal(byLabel("Vocabulary")[0][2], "assumed");
  assert.deepEqual(byLabel("Assumed (the file cannot say)").map((r) => r[1]), ["output: values: as they are"]);
  assert.equal(byLabel("Parity")[0][2], "read");
});

test("a token model without a vocabulary cannot be opened with text", () => {
  assert.deepEqual(openable(keras), { ok: false, why: "models.open.needsVocab" });
  assert.deepEqual(openable({ vocab: ["a", "b"], config: { input_kind: "tokens" } }), { ok: true, why: null });
  assert.deepEqual(openable({ config: { input_kind: "numbers" } }), { ok: true, why: null });
});

test("the opening text is the page's when every token is known, else the vocabulary's", () => {
  assert.equal(openingText(["h", "e", "l", "o"], "hello"), "hello");
  assert.equal(openingText(["h", "e", "l", "o"], "help"), "helo");
  assert.equal(openingText(["the", "cat", "sat"], "the cat"), "the cat");
  assert.equal(openingText(["the", "cat", "sat"], "a cat"), "the cat sat");
  assert.equal(openingText(["x"], ""), "xx");
});

test("a refusal's remedy follows the form field it names", () => {
  const refusal = (loc, status = 422) => ({ status, data: { detail: [{ loc, msg: "…", type: "value_error" }] } });
  assert.equal(remedyKey(refusal(["body", "nonlinearity"])), "models.refused.nonlinearity");
  assert.equal(remedyKey(refusal(["body", "file", "weight_hh_l0"])), "models.refused.file");
  assert.equal(remedyKey(refusal(["body", "file"], 413)), "models.refused.tooBig");
  assert.equal(remedyKey(refusal(["header", "origin"], 403)), null);
  assert.equal(remedyKey({ status: 0, data: null }), null);
});
