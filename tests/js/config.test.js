import assert from "node:assert/strict";
import { test } from "node:test";

import {
  asNumber,
  buildRequest,
  configForModel,
  configFromPreset,
  lossOptions,
  MODEL_ID,
  PRECISION,
} from "../../static/js/core/config.js";
import { walkEnd, walkStart, walkStep } from "../../static/js/core/walk.js";
import { fakePresets } from "./fixtures.js";

const [hello, sine, copy] = fakePresets();

test("a text preset becomes a text config with next-character cross-entropy", () => {
  const c = configFromPreset(hello);
  assert.equal(c.source, "text");
  assert.equal(c.text, "hello world");
  assert.equal(c.loss, "cross_entropy");
  assert.equal(c.mode, "forward");
  assert.equal(c.step, null);
  const body = buildRequest(c);
  assert.deepEqual(body, {
    cell: "lstm",
    hidden_size: 8,
    num_layers: 1,
    seed: 0,
    precision: PRECISION,
    loss: { kind: "cross_entropy" },
    forget_bias: 0,
    text: "hello world",
  });
});

test("numeric presets keep their targets and class count", () => {
  const s = buildRequest(configFromPreset(sine));
  assert.deepEqual(s.inputs, [[0], [0.5], [1]]);
  assert.deepEqual(s.loss, { kind: "mse", targets: [[0.5], [1], [0.5]] });
  assert.equal(s.text, undefined);
  const c = buildRequest(configFromPreset(copy));
  assert.deepEqual(c.loss, { kind: "cross_entropy", targets: [null, 1, 0], num_classes: 4 });
});

test("mse targets: skipped steps widen to null rows", () => {
  const c = { ...configFromPreset(sine), targets: [null, [1], null] };
  assert.deepEqual(buildRequest(c).loss.targets, [[null], [1], [null]]);
});

test("forget_bias is only sent for the LSTM", () => {
  const c = { ...configFromPreset(hello), cell: "gru", forgetBias: "3" };
  assert.equal("forget_bias" in buildRequest(c), false);
  assert.equal(buildRequest({ ...c, cell: "lstm" }).forget_bias, 3);
});

test("typed numbers become numbers; anything else goes as typed for the API to judge", () => {
  assert.equal(asNumber("12"), 12);
  assert.equal(asNumber(" 1.5 "), 1.5);
  assert.equal(asNumber("abc"), "abc");
  assert.equal(asNumber(""), "");
  const body = buildRequest({ ...configFromPreset(hello), hidden: "1000", layers: "x" });
  assert.equal(body.hidden_size, 1000);
  assert.equal(body.num_layers, "x");
});

test("loss choices depend on the kind of sequence", () => {
  assert.deepEqual(lossOptions("text"), ["cross_entropy", "dh"]);
  assert.deepEqual(lossOptions("numbers"), ["mse", "cross_entropy", "dh"]);
});

test("the walk goes 1..T forward and T..1 backward", () => {
  assert.equal(walkStart("forward", 10), 1);
  assert.equal(walkEnd("forward", 10), 10);
  assert.equal(walkStart("backward", 10), 10);
  assert.equal(walkEnd("backward", 10), 1);
  assert.equal(walkStep("forward", 3, 10, 1), 4);
  assert.equal(walkStep("backward", 3, 10, 1), 2);
  assert.equal(walkStep("backward", 1, 10, 1), 1);
  assert.equal(walkStep("forward", 10, 10, 1), 10);
  assert.equal(walkStep("backward", 10, 10, -1), 10);
});


const MODEL = "0123456789abcdef0123456789abcdef";

test("a saved model: model_id instead of cell, sizes, seed and forget_bias", () => {
  const c = { ...configFromPreset(hello), modelId: MODEL, cell: "gru", forgetBias: 3 };
  const body = buildRequest(c);
  assert.equal(body.model_id, MODEL);
  for (const key of ["cell", "hidden_size", "num_layers", "seed", "forget_bias"]) assert.equal(key in body, false, key);
  assert.equal(body.text, "hello world");
  assert.deepEqual(body.loss, { kind: "cross_entropy" });
  const numbers = buildRequest({ ...configFromPreset(sine), modelId: MODEL });
  assert.deepEqual(numbers.inputs, [[0], [0.5], [1]]);
  assert.equal(numbers.model_id, MODEL);
  assert.equal(MODEL_ID.test(MODEL), true);
  assert.equal(MODEL_ID.test("../etc"), false);
});

test("using a saved model keeps the sequence unless one is given; a text model gets text", () => {
  const presets = fakePresets();
  const text = configFromPreset(hello);
  const textModel = {
    id: MODEL, name: "m", cell: "lstm", hidden_size: 32, num_layers: 2, vocab: [..."helo wrd"], source: null,
  };
  const numModelOf = (width) => ({ id: MODEL, cell: "gru", hidden_size: 4, num_layers: 1, input_size: width });
  let c = configForModel(text, { id: MODEL }, textModel, presets);
  assert.equal(c.modelId, MODEL);
  assert.equal(c.text, "hello world");
  assert.equal(c.source, "text");
  assert.deepEqual([c.cell, c.hidden, c.layers], ["lstm", 32, 2]);
  assert.equal(c.step, null);
  c = configForModel(text, { id: MODEL, text: "abab" }, textModel, presets);
  assert.equal(c.text, "abab");
  // the current sequence is numbers but the model was trained on text: text it is
  const nums = configFromPreset(sine);
  c = configForModel(nums, { id: MODEL }, textModel, presets);
  assert.equal(c.source, "text");
  assert.equal(c.text, "hello world");
  assert.equal(c.loss, "cross_entropy");
  assert.equal(c.targets, null);
  // text the vocabulary cannot encode is replaced by the vocabulary's own tokens
  const abModel = { ...textModel, vocab: ["b", "a"] };
  c = configForModel(text, { id: MODEL }, abModel, presets);
  assert.equal(c.text, "ba");
  // a model without a vocabulary cannot read text: numbers of its width instead
  c = configForModel(text, { id: MODEL }, { ...numModelOf(3), vocab: null }, presets);
  assert.equal(c.source, "numbers");
  assert.equal(c.inputs[0].length, 3);
  // a numeric model keeps the numbers; given inputs replace them
  const numModel = { id: MODEL, cell: "gru", hidden_size: 4, num_layers: 1, vocab: null };
  c = configForModel(nums, { id: MODEL }, numModel, presets);
  assert.deepEqual(c.inputs, nums.inputs);
  assert.equal(c.loss, "mse");
  c = configForModel(nums, { id: MODEL, inputs: [[1], [2]] }, numModel, presets);
  assert.deepEqual(c.inputs, [[1], [2]]);
  // targets belong to their sequence: another sequence drops them (and the loss that read them)
  assert.equal(c.targets, null);
  assert.equal(c.loss, "dh");
  const scored = { ...text, loss: "mse", targets: [[1], [0]] };
  c = configForModel(scored, { id: MODEL, text: "def f():" }, textModel, presets);
  assert.deepEqual([c.loss, c.targets], ["cross_entropy", null]);
  c = configForModel(scored, { id: MODEL, text: scored.text }, textModel, presets);
  assert.deepEqual([c.loss, c.targets], ["mse", [[1], [0]]]);
  // the model summary could not be read: still runs the id with the current sequence
  c = configForModel(text, { id: MODEL }, null, presets);
  assert.equal(c.modelId, MODEL);
  assert.equal(c.cell, text.cell);
});
