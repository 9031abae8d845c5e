// Issue 17: the diagram's table alternative holds the values at the current step, per layer
// and direction: the forward values, or the gradients in the backward pass.
import assert from "node:assert/strict";
import { test } from "node:test";

import { diagramTable } from "../../static/js/diagram/table.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

test("forward: every layer's quantities at the step, their first units and norm", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 5, hidden: 3, layers: 2 }));
  const table = diagramTable(run, { mode: "forward", step: 2 });
  assert.equal(table.units, 3);
  const names = table.rows.filter((r) => r.layer === 1).map((r) => r.name);
  assert.deepEqual(names, run.heatmaps);
  const h = table.rows.find((r) => r.layer === 1 && r.name === "h");
  assert.deepEqual(h.values, Array.from(run.data(1).h[2]));
  assert.ok(Math.abs(h.norm - Math.hypot(...run.data(1).h[2])) < 1e-12);
});

test("backward: the gradients, and at most TABLE_UNITS units", () => {
  const run = makeRun(fakeResponse({ cell: "gru", steps: 4, hidden: 12, layers: 1 }));
  const table = diagramTable(run, { mode: "backward", step: 3, units: 8 });
  assert.equal(table.units, 8);
  const dh = table.rows.find((r) => r.name === "h");
  assert.deepEqual(dh.values, Array.from(run.data(0).grad.h[3]).slice(0, 8));
  assert.ok(Math.abs(dh.norm - Math.hypot(...run.data(0).grad.h[3])) < 1e-12);
});
