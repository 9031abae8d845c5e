import assert from "node:assert/strict";
import { test } from "node:test";

import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

test("a text run: labels, targets and norms", () => {
  const run = makeRun(fakeResponse({ steps: 5, text: "he lo!" }));
  assert.equal(run.steps, 5);
  assert.deepEqual(run.gates, ["f", "i", "g", "o"]);
  assert.equal(run.inputLabel(2), "␣");
  assert.equal(run.targetLabel(1), "␣"); // the next character
  assert.equal(run.norms.length, 2);
  assert.equal(run.norms[0].c.length, 5);
  assert.ok(run.norms[0].gc[0] < run.norms[0].gc[3], "rail gradients shrink going back");
  assert.equal(run.targetProb(0), 1 / run.vocab.length);
  assert.equal(run.guess(0).k, 0);
  assert.ok(Math.abs(run.norms[1].gh0 - Math.sqrt(3) * 1e-6) < 1e-18);
});

test("numeric runs label inputs with values or x_t", () => {
  const resp = fakeResponse({ text: null, loss: "mse", layers: 1 });
  const run = makeRun(resp, { targets: [[0.5], null, [1], [2], [3]] });
  assert.match(run.inputLabel(0), /^[−\d]/);
  assert.equal(run.targetLabel(0), "0.500");
  assert.equal(run.targetLabel(1), "");
  assert.equal(run.classTargets, null);
  const wide = { ...resp, input_size: 2, layers: [{ ...resp.layers[0], x: resp.layers[0].x.map((r) => [r[0], 1]) }] };
  assert.equal(makeRun(wide, null).inputLabel(2), "x₃");
});

test("class targets for numeric cross-entropy come from the config", () => {
  const resp = fakeResponse({ text: null, loss: "cross_entropy", layers: 1, steps: 3 });
  const run = makeRun(resp, { targets: [null, 1, 0] });
  assert.deepEqual(run.classTargets, [null, 1, 0]);
  assert.equal(run.targetProb(0), null);
  assert.equal(run.targetLabel(1), "1");
});

test("GRU and RNN runs have no cell state", () => {
  assert.equal(makeRun(fakeResponse({ cell: "gru" })).hasCellState, false);
  assert.deepEqual(makeRun(fakeResponse({ cell: "rnn" })).gates, ["h"]);
  assert.equal(makeRun(fakeResponse({ cell: "gru" })).norms[0].gc, null);
});

test("a dh loss has no head output", () => {
  const run = makeRun(fakeResponse({ loss: "dh", text: null }));
  assert.equal(run.output, null);
  assert.equal(run.gradYNorm, null);
  assert.equal(run.guess(0), null);
});

// --- Prepared off the page's thread: runNorms in the worker, matrices moved as Float64Arrays.

import { runNorms } from "../../static/js/core/run.js";
import { packMatrices, unpackAll, unpackMatrices } from "../../static/js/core/transfer.js";
import { recordedResponse } from "./fixtures.js";

test("a run made from the worker's norms is the run made here", () => {
  for (const cell of ["lstm", "gru", "rnn", "lstm-bi-proj", "lstm-topk"]) {
    const resp = recordedResponse(cell);
    const here = makeRun(resp);
    const prepared = structuredClone(runNorms(resp)); // as it crosses from the worker
    const there = makeRun(resp, null, prepared);
    for (const key of ["norms", "outputs", "gradYNorm"]) assert.deepEqual(there[key], here[key], `${cell} ${key}`);
    assert.equal(there.steps, here.steps);
    assert.deepEqual(there.guess(2), here.guess(2));
  }
});

test("a response packed into Float64Arrays comes back exactly, as plain arrays", () => {
  const resp = fakeResponse({ steps: 100, hidden: 64, layers: 2 });
  resp.output.top_k = { ids: Array.from({ length: 100 }, (_, t) => [t % 3, 2, 1]), probs: [[0.5, 0.25, 0.25]] };
  resp.layers[0].c[3][5] = -0; // a JSON -0 stays -0
  const { tree, buffers } = packMatrices(structuredClone(resp));
  assert.ok(buffers.length >= 4, "the large matrices travel as buffers");
  assert.ok(buffers.every((b) => b instanceof ArrayBuffer));
  assert.ok(JSON.stringify(tree).length < JSON.stringify(resp).length / 10, "the tree left to clone is small");
  const back = unpackAll(structuredClone(tree), buffers);
  assert.deepEqual(back, resp);
  assert.ok(Object.is(back.layers[0].c[3][5], -0));
  assert.ok(Array.isArray(back.layers[0].h[0]), "rows are plain arrays, as JSON.parse gives");
});

test("the page rebuilds a response a slice at a time", () => {
  const resp = fakeResponse({ steps: 50, hidden: 100, layers: 1 });
  const { tree, buffers } = packMatrices(structuredClone(resp));
  const slices = unpackMatrices(tree, buffers, 1000);
  let pauses = 0;
  let step = slices.next();
  while (!step.done) {
    pauses += 1;
    step = slices.next();
  }
  const numbers = resp.layers[0].a.length * resp.layers[0].a[0].length;
  assert.ok(pauses >= numbers / 1000, `${pauses} pauses`);
  assert.deepEqual(step.value, resp);
});
