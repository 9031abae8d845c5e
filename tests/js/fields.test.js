// The field table drives every codec: request, URL, error placement, saved-model ownership.
import assert from "node:assert/strict";
import { test } from "node:test";

import { controlFor } from "../../static/js/core/api.js";
import { buildRequest, configFromPreset } from "../../static/js/core/config.js";
import { CONTROL_OF_REQUEST, ELEMENT_OF, MODEL_OWNED, SCALAR_FIELDS } from "../../static/js/core/fields.js";
import { decodeState, encodeState } from "../../static/js/core/urlstate.js";
import { fakePresets } from "./fixtures.js";

const presets = fakePresets();
const MODEL = "0123456789abcdef0123456789abcdef";
// A value unlike the preset's for each field (an LSTM, so its LSTM-only fields apply).
const CHANGED = { cell: "lstm", hidden: 5, layers: 3, seed: 42, forgetBias: 1.5, bidirectional: true, mergeMode: "sum", projSize: 2, bias: false };

test("every scalar field has a changed value to test with, and an element and a URL key", () => {
  assert.deepEqual(SCALAR_FIELDS.map((f) => f.key).sort(), Object.keys(CHANGED).sort());
  for (const f of SCALAR_FIELDS) assert.ok(f.element && f.url && f.request, f.key);
});

test("each scalar field goes into the request under its own name", () => {
  const config = { ...configFromPreset(presets[0]), ...CHANGED };
  const body = buildRequest(config);
  for (const f of SCALAR_FIELDS) assert.equal(body[f.request], CHANGED[f.key], f.key);
  const gru = buildRequest({ ...config, cell: "gru" });
  for (const f of SCALAR_FIELDS.filter((g) => g.lstmOnly)) assert.ok(!(f.request in gru), `${f.key} is LSTM-only`);
  // merge_mode goes with bidirectional only (the API refuses it alone).
  const one = buildRequest({ ...config, bidirectional: false });
  assert.ok(!("merge_mode" in one) && !("bidirectional" in one));
});

test("the architecture's defaults are left out of the request, so a plain model's request stays plain", () => {
  const body = buildRequest(configFromPreset(presets[0]));
  for (const key of ["bidirectional", "merge_mode", "proj_size", "bias"]) assert.ok(!(key in body), key);
  const bi = buildRequest({ ...configFromPreset(presets[0]), bidirectional: true, projSize: "3", bias: false });
  assert.deepEqual([bi.bidirectional, bi.merge_mode, bi.proj_size, bi.bias], [true, undefined, 3, false]);
});

test("booleans and merge modes read back from a link; nonsense is ignored", () => {
  const back = decodeState("?preset=hello&bi=true&merge=ave&bias=false&proj=2", presets, "hello");
  assert.deepEqual([back.bidirectional, back.mergeMode, back.bias, back.projSize], [true, "ave", false, 2]);
  const junk = decodeState("?preset=hello&bi=maybe&merge=max", presets, "hello");
  assert.deepEqual([junk.bidirectional, junk.mergeMode], [false, "concat"]);
  // The reverse direction of the selected cell is part of the view.
  assert.equal(decodeState("?preset=hello&dir=reverse", presets, "hello").direction, "reverse");
  assert.match(encodeState({ ...configFromPreset(presets[0]), direction: "reverse" }, presets), /dir=reverse/);
});

test("each scalar field survives the URL, except what a saved model owns", () => {
  const config = { ...configFromPreset(presets[0]), ...CHANGED, cell: "gru" };
  const back = decodeState(encodeState(config, presets), presets, presets[0].name);
  for (const f of SCALAR_FIELDS) assert.equal(back[f.key], config[f.key], f.key);
  const withModel = encodeState({ ...config, modelId: MODEL }, presets);
  for (const key of MODEL_OWNED) {
    const f = SCALAR_FIELDS.find((g) => g.key === key);
    assert.ok(!new URLSearchParams(withModel).has(f.url), `${key} is the model's, not the link's`);
  }
});

test("an error on a request field is shown beside the control that holds it", () => {
  for (const [request, key] of Object.entries(CONTROL_OF_REQUEST)) {
    if (request === "loss") continue; // the loss routes to its targets or its selector
    assert.equal(controlFor(["body", request]), key);
    assert.ok(ELEMENT_OF[key], key);
  }
});
