import assert from "node:assert/strict";
import { test } from "node:test";

import { configFromPreset, presetOf } from "../../static/js/core/config.js";
import { decodeState, encodeState, langFromSearch } from "../../static/js/core/urlstate.js";
import { fakePresets } from "./fixtures.js";

const presets = fakePresets();

test("an untouched preset is just its name", () => {
  assert.equal(encodeState(configFromPreset(presets[0]), presets), "?preset=hello");
});

test("only what differs from the preset is written", () => {
  const c = { ...configFromPreset(presets[0]), hidden: 5, cell: "gru", mode: "backward", step: 3 };
  const q = encodeState(c, presets);
  assert.equal(q, "?preset=hello&cell=gru&hidden=5&mode=backward&t=3");
});

test("every field survives a round trip", () => {
  const c = {
    ...configFromPreset(presets[1]),
    inputs: [[0.25], [-1e-3], [2]],
    targets: [null, [1], [0.5]],
    hidden: 12,
    layers: 3,
    seed: 42,
    forgetBias: 1.5,
    mode: "backward",
    step: 2,
  };
  const q = encodeState(c, presets, "hello");
  // Its own inputs: no longer the preset's sequence, so the link names no preset.
  assert.ok(!q.includes("preset="), q);
  const back = decodeState(q, presets, "hello");
  assert.deepEqual(back.inputs, c.inputs);
  assert.deepEqual(back.targets, c.targets);
  assert.equal(back.preset, "hello");
  for (const key of ["source", "hidden", "layers", "seed", "forgetBias", "mode", "step", "loss", "cell"]) {
    assert.deepEqual(back[key], c[key], key);
  }
});

test("text with markup and separators round-trips", () => {
  const text = "<img src=x onerror=alert(1)> a,b;c&d=e+f 한글";
  const c = { ...configFromPreset(presets[0]), text };
  const q = encodeState(c, presets);
  assert.ok(!q.includes("<"));
  assert.equal(decodeState(q, presets, "hello").text, text);
});

test("class targets decode as integers", () => {
  const c = { ...configFromPreset(presets[2]), targets: [1, null, 3] };
  const back = decodeState(encodeState(c, presets), presets, "hello");
  assert.deepEqual(back.targets, [1, null, 3]);
  assert.equal(back.numClasses, 4);
});

test("a text config on a numeric preset keeps its text", () => {
  const c = { ...configFromPreset(presets[1]), source: "text", text: "abcabc", loss: "cross_entropy", targets: null };
  const back = decodeState(encodeState(c, presets), presets, "hello");
  assert.equal(back.source, "text");
  assert.equal(back.text, "abcabc");
});

test("unknown or broken values fall back, numbers-to-be stay as typed", () => {
  const back = decodeState("?preset=nope&cell=lstmx&hidden=abc&t=-2&mode=sideways&inputs=1,x", presets, "hello");
  assert.equal(back.preset, "hello");
  assert.equal(back.cell, "lstm");
  assert.equal(back.hidden, "abc");
  assert.equal(back.step, null);
  assert.equal(back.mode, "forward");
  assert.equal(decodeState("", presets, "sine").preset, "sine");
});

test("a saved model and the language are in the link; the model's own sizes are not", () => {
  const id = "0123456789abcdef0123456789abcdef";
  const c = { ...configFromPreset(presets[0]), modelId: id, cell: "gru", hidden: 32, lang: "ko" };
  const q = encodeState(c, presets);
  assert.equal(q, `?preset=hello&model=${id}&lang=ko`);
  const back = decodeState(q, presets, "hello");
  assert.equal(back.modelId, id);
  assert.equal(back.lang, "ko");
  assert.equal(decodeState("?model=not-an-id", presets, "hello").modelId, null);
  assert.equal(decodeState("?lang=xx", presets, "hello").lang, "en");
  assert.equal(langFromSearch("?preset=sine&lang=ko"), "ko");
  assert.equal(langFromSearch(""), "en");
  assert.equal(encodeState({ ...configFromPreset(presets[0]), lang: "en" }, presets), "?preset=hello");
});

test("the selection inside the cell round-trips through the URL (1-based, first unit of layer 1 left out)", () => {
  const presets = fakePresets();
  const base = decodeState("", presets, presets[0].name);
  assert.equal(base.layer, null);
  assert.equal(base.units, null);
  const query = encodeState({ ...base, layer: 2, units: [3, 5] }, presets);
  assert.match(query, /layer=2/);
  assert.match(query, /units=3,5/);
  const back = decodeState(query, presets, presets[0].name);
  assert.equal(back.layer, 2);
  assert.deepEqual(back.units, [3, 5]);
  assert.doesNotMatch(encodeState({ ...base, layer: 1, units: [1] }, presets), /layer=|units=/);
  const junk = decodeState("?layer=0&units=x,2,-1,1.5,9,10,11,12", presets, presets[0].name);
  assert.equal(junk.layer, null);
  assert.deepEqual(junk.units, [2, 9, 10, 11]); // whole numbers from 1, at most four
});

test("a sequence that is no longer the preset's names no preset, and still round-trips", () => {
  const hello = configFromPreset(presets[0]);
  // Typed Korean text.
  const typed = { ...hello, text: "안녕하세요 여러분" };
  const q = encodeState(typed, presets, "hello");
  assert.ok(!q.includes("preset="), q);
  assert.equal(decodeState(q, presets, "hello").text, typed.text);
  // A saved model's numeric probe on the text preset.
  const id = "0123456789abcdef0123456789abcdef";
  const probe = { ...hello, modelId: id, source: "numbers", inputs: [[0.1, 0.2], [0.3, 0.4]], loss: "dh", targets: null };
  const qm = encodeState(probe, presets, "hello");
  assert.ok(!qm.includes("preset="), qm);
  const back = decodeState(qm, presets, "hello");
  assert.deepEqual(back.inputs, probe.inputs);
  assert.equal(back.modelId, id);
  // Relative to the default preset: a custom sequence on another preset round-trips too.
  const other = { ...configFromPreset(presets[1]), inputs: [[5], [6]] };
  const qo = encodeState(other, presets, "hello");
  const o = decodeState(qo, presets, "hello");
  assert.deepEqual(o.inputs, other.inputs);
  for (const key of ["source", "hidden", "layers", "loss", "cell"]) assert.deepEqual(o[key], other[key], key);
  // Back to the preset's own text: its name again.
  assert.equal(encodeState({ ...typed, text: hello.text }, presets, "hello"), "?preset=hello");
});

test("presetOf: the preset while the sequence is its own, else null", () => {
  const hello = configFromPreset(presets[0]);
  assert.equal(presetOf(hello, presets), "hello");
  assert.equal(presetOf({ ...hello, text: "hello world!" }, presets), null);
  assert.equal(presetOf({ ...hello, hidden: 99 }, presets), "hello"); // sizes are not the sequence
  assert.equal(presetOf({ ...hello, preset: "nope" }, presets), null);
});
