import assert from "node:assert/strict";
import { test } from "node:test";

import { callAPI, controlFor, describeFailure, plainMessage } from "../../static/js/core/api.js";

test("errors point at the control that holds the field", () => {
  assert.equal(controlFor(["body", "hidden_size"]), "hidden");
  assert.equal(controlFor(["body", "num_layers"]), "layers");
  assert.equal(controlFor(["body", "forget_bias"]), "forgetBias");
  assert.equal(controlFor(["body", "text"], "text"), "text");
  assert.equal(controlFor(["body", "inputs", 3, 0], "numbers"), "inputs");
  assert.equal(controlFor(["body", "loss", "mse", "targets", 2, 0], "numbers"), "targets");
  assert.equal(controlFor(["body", "loss", "targets"], "text"), "loss");
  assert.equal(controlFor(["body", "precision"]), "run");
  assert.equal(controlFor(undefined), "run");
});

test("pydantic errors read as plain words", () => {
  const item = { type: "less_than_equal", loc: ["body", "hidden_size"], msg: "Input should be ...", input: 1000, ctx: { le: 256 } };
  assert.equal(plainMessage(item), "at most 256 (you gave 1000).");
  assert.equal(plainMessage({ type: "int_type", input: "abc" }), "a whole number is needed (you gave “abc”).");
  assert.equal(plainMessage({ type: "greater_than_equal", input: 0, ctx: { ge: 1 } }), "at least 1 (you gave 0).");
  assert.equal(plainMessage({ type: "value_error", msg: "text needs at least 2 characters" }), "Text needs at least 2 characters");
  // Without ctx (the server may leave it out), the bound comes from the message.
  assert.equal(plainMessage({ type: "less_than_equal", msg: "Input should be less than or equal to 4", input: 9 }), "at most 4 (you gave 9).");
  // Without input, no "(you gave ...)".
  assert.equal(plainMessage({ type: "greater_than_equal", msg: "Input should be greater than or equal to 1" }), "at least 1.");
  assert.equal(plainMessage({ type: "less_than_equal", msg: "odd" }), "Odd");
});

test("a failed response becomes one message per error, labelled by control", () => {
  const result = {
    ok: false,
    status: 422,
    data: { detail: [{ type: "less_than_equal", loc: ["body", "hidden_size"], msg: "x", input: 1000, ctx: { le: 256 } }] },
  };
  assert.deepEqual(describeFailure(result, "text"), [{ control: "hidden", message: "Hidden size: at most 256 (you gave 1000)." }]);
  assert.equal(describeFailure({ ok: false, status: 0, data: null })[0].control, "run");
  assert.match(describeFailure({ ok: false, status: 500, data: null })[0].message, /500/);
  assert.match(describeFailure({ ok: false, status: 413, data: { detail: "too big" } })[0].message, /too big/);
  const big = describeFailure(
    { ok: false, status: 413, data: { detail: [{ loc: ["body", "fields"], msg: "the response would hold 9 numbers", type: "value_error" }] } },
    "text",
  );
  assert.deepEqual(big, [{ control: "run", message: "The result would be too large for the page. The response would hold 9 numbers" }]);
});

test("callAPI never throws", async () => {
  const ok = await callAPI(async () => ({ ok: true, status: 200, json: async () => ({ a: 1 }) }), "/x");
  assert.deepEqual(ok, { ok: true, status: 200, data: { a: 1 } });
  const down = await callAPI(async () => {
    throw new TypeError("failed");
  }, "/x");
  assert.deepEqual(down, { ok: false, status: 0, data: null });
  let seen = null;
  const notJson = await callAPI(async (url, init) => {
    seen = init;
    return { ok: false, status: 502, json: async () => JSON.parse("<html>") };
  }, "/x", { json: { a: 1 } });
  assert.deepEqual(notJson, { ok: false, status: 502, data: null });
  assert.equal(seen.method, "POST");
  assert.equal(seen.body, '{"a":1}');
});

test("callAPI: one shape for JSON, multipart and DELETE, and for a server that is not there", async () => {
  const seen = [];
  const fake = async (url, init) => {
    seen.push({ url, ...init });
    return { ok: true, status: init.method === "DELETE" ? 204 : 200, json: async () => (init.method === "DELETE" ? Promise.reject(new Error("no body")) : { id: 1 }) };
  };
  assert.deepEqual(await callAPI(fake, "/a", { json: { x: 1 } }), { ok: true, status: 200, data: { id: 1 } });
  assert.equal(seen[0].method, "POST");
  assert.equal(seen[0].headers["Content-Type"], "application/json");
  assert.equal(seen[0].body, '{"x":1}');
  const form = { kind: "form" };
  await callAPI(fake, "/b", { form });
  assert.equal(seen[1].method, "POST");
  assert.equal(seen[1].body, form);
  assert.ok(!("Content-Type" in seen[1].headers), "the browser sets the multipart boundary");
  assert.deepEqual(await callAPI(fake, "/c", { method: "DELETE" }), { ok: true, status: 204, data: null });
  assert.equal((await callAPI(fake, "/d")).status, 200);
  assert.equal(seen[3].method, "GET");
  const down = async () => Promise.reject(new TypeError("Failed to fetch"));
  assert.deepEqual(await callAPI(down, "/e"), { ok: false, status: 0, data: null });
});
