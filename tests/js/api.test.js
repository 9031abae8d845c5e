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

// --- Traces of any size: core/tracefetch.js --------------------------------------------

import { fetchTrace, joinWindows, stepsAtMost, suggestedChange, windowRequest } from "../../static/js/core/tracefetch.js";
import { recordedResponse } from "./fixtures.js";

const TOO_LARGE = (loc, msg) => ({ ok: false, status: 413, data: { detail: [{ loc: ["body", loc], msg, type: "response_too_large" }] } });

/** The recorded response cut to steps start..stop-1 as the server sends a window. */
function windowOf(resp, start, stop) {
  const stopAt = Math.min(stop, resp.steps);
  const cut = (node, key) => {
    if (Array.isArray(node)) return key === "h0" || key === "c0" ? node : node.slice(start, stopAt);
    if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).filter(([k]) => !/^(weight|bias)_|^grad_head/.test(k)).map(([k, v]) => [k, cut(v, k)]));
    return node;
  };
  return { ...resp, layers: resp.layers.map((l) => cut(l)), output: cut(resp.output), window: { start, stop: stopAt } };
}

/** A fake server: 413 for any response of more than `cap` steps; records each request. */
function fakeServer(resp, cap) {
  const asked = [];
  const fetchImpl = async (url, init) => {
    const body = JSON.parse(init.body);
    asked.push(body);
    const win = body.window;
    const steps = win ? Math.min(win.stop, resp.steps) - win.start : resp.steps;
    const answer = steps > cap ? TOO_LARGE("fields", "the response would hold ...; ask for `fields` ['h', 'c'], or shorten the sequence").data : win ? windowOf(resp, win.start, win.stop) : resp;
    return { ok: steps <= cap, status: steps <= cap ? 200 : 413, json: async () => JSON.parse(JSON.stringify(answer)) };
  };
  return { fetchImpl, asked };
}

/** What the fake server's JSON carries (-0 is written 0). */
const sent = (value) => JSON.parse(JSON.stringify(value));

const withoutWeightGrads = (resp) => {
  const strip = (node) => {
    if (Array.isArray(node)) return node.map(strip);
    if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).filter(([k]) => !/^(weight|bias)_|^grad_head/.test(k)).map(([k, v]) => [k, strip(v)]));
    return node;
  };
  return strip(resp);
};

test("a trace that fits comes in one request, as asked", async () => {
  const resp = recordedResponse("lstm");
  const { fetchImpl, asked } = fakeServer(resp, 100);
  const body = { text: "hello!", precision: 6 };
  const result = await fetchTrace(fetchImpl, "/api/backward", body);
  assert.deepEqual(result, { ok: true, status: 200, data: sent(resp) });
  assert.deepEqual(asked, [body]);
});

test("a trace over the size cap is fetched as consecutive windows and joined into the whole run", async () => {
  for (const cell of ["lstm", "gru", "rnn", "lstm-bi-proj", "lstm-topk"]) {
    const resp = recordedResponse(cell);
    const { fetchImpl, asked } = fakeServer(resp, 2); // at most 2 steps per response
    const body = { text: "hello!", precision: 6 };
    const result = await fetchTrace(fetchImpl, "/api/backward", body);
    assert.equal(result.ok, true, cell);
    const { windows, ...joined } = result.data;
    assert.deepEqual(joined, sent(withoutWeightGrads(resp)), cell);
    assert.ok(windows >= 3, cell);
    // Whole (413), then halving until a window fits; every window without weight gradients.
    const windowsAsked = asked.filter((b) => b.window);
    assert.ok(windowsAsked.every((b) => b.param_grads === false && b.precision === 6), cell);
    const fetched = windowsAsked.filter((b) => b.window.stop - b.window.start <= 2 || b.window.stop >= resp.steps);
    assert.equal(fetched[0].window.start, 0);
  }
});

test("a 413 with nothing the page can take and one step too large is the server's error", async () => {
  const resp = recordedResponse("lstm");
  const { fetchImpl } = fakeServer(resp, 0);
  const result = await fetchTrace(fetchImpl, "/api/backward", { text: "hello!", precision: 6 });
  assert.equal(result.status, 413);
  assert.match(describeFailure(result, "text")[0].message, /shorten the sequence/);
});

test("windows as long as the 413 says fit: the fewest requests", async () => {
  const resp = recordedResponse("lstm"); // 5 steps
  const asked = [];
  const fetchImpl = async (url, init) => {
    const body = JSON.parse(init.body);
    asked.push(body.window ? [body.window.start, body.window.stop] : "whole");
    const win = body.window;
    const n = win ? Math.min(win.stop, resp.steps) - win.start : resp.steps;
    const answer = n > 3 ? TOO_LARGE("fields", "... or shorten the sequence; or fetch it as `window`s of up to 3 steps each with `param_grads` false").data : windowOf(resp, win.start, win.stop);
    return { ok: n <= 3, status: n <= 3 ? 200 : 413, json: async () => answer };
  };
  const result = await fetchTrace(fetchImpl, "/api/backward", { text: "hello!", precision: 6 });
  assert.equal(result.ok, true);
  assert.deepEqual(asked, ["whole", [0, 3], [3, 5]]);
  assert.equal(result.data.layers[0].h.length, 5);
});

test("the 413's suggestion is followed when the page can take it", () => {
  assert.deepEqual(suggestedChange(TOO_LARGE("full_output", "leave out `full_output` (...)"), { full_output: true }), { full_output: false });
  assert.deepEqual(suggestedChange(TOO_LARGE("precision", "set `precision` to 4 (about 56 MiB)"), {}), { precision: 4 });
  // The page asked for a precision already, or the change would drop arrays it draws: windows instead.
  assert.equal(suggestedChange(TOO_LARGE("precision", "set `precision` to 4 (about 56 MiB)"), { precision: 6 }), null);
  assert.equal(suggestedChange(TOO_LARGE("fields", "ask for `fields` ['h', 'c']"), { precision: 6 }), null);
  assert.equal(suggestedChange({ ok: false, status: 422, data: { detail: [] } }, {}), null);
});

test("the trace request for a window: the steps, and no weight gradients", () => {
  const body = { text: "x".repeat(1001), hidden_size: 256, precision: 6 };
  assert.equal(stepsAtMost(body), 1000);
  assert.equal(stepsAtMost({ inputs: [[1], [2], [3]] }), 3);
  assert.equal(stepsAtMost({ text: "한국어 글" }), 4); // characters, not UTF-16 units
  assert.deepEqual(windowRequest(body, 500, 1000), { ...body, param_grads: false, window: { start: 500, stop: 1000 } });
  assert.equal(body.window, undefined, "the page's request is not changed");
});

test("windows that do not cover the run are refused, not drawn", () => {
  const resp = recordedResponse("lstm");
  assert.throws(() => joinWindows([windowOf(resp, 0, 2), windowOf(resp, 3, 5)]), /consecutive/);
  assert.throws(() => joinWindows([windowOf(resp, 0, 2)]), /cover/);
});
