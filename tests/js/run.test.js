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
