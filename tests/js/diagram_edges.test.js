// Issue 17: the diagram draws an output node only where something is scored (a target at
// that step) and only for a run with a head; the target row is named on the axis.
import assert from "node:assert/strict";
import { test } from "node:test";

import { staticLayout } from "../../static/js/diagram/figure.js";
import { buildFrame, hasHead, scored } from "../../static/js/diagram/frames.js";
import { geometry } from "../../static/js/diagram/layout.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

function setup(response, size = 5) {
  const run = makeRun(response);
  const geom = geometry({ size, layers: run.numLayers, gates: run.gates, hasCellState: run.hasCellState, hidden: run.hidden });
  return { run, geom };
}

const outputs = (run, geom, mode = "forward") =>
  buildFrame(run, geom, { start: 0, mode, step: mode === "forward" ? run.steps - 1 : 0 }).data.find((d) => d.name === "outputs");

test("a run without a head (dh) has no output nodes", () => {
  const { run, geom } = setup(fakeResponse({ loss: "dh", steps: 5 }));
  assert.equal(hasHead(run), false);
  for (const mode of ["forward", "backward"]) assert.equal(outputs(run, geom, mode).x.length, 0, mode);
  const ticks = staticLayout(geom, { height: 300, output: false, targets: false }).yaxis.ticktext;
  assert.ok(!ticks.includes("output") && !ticks.includes("target"), ticks.join(","));
});

test("unscored steps have no output node; scored ones do", () => {
  const response = fakeResponse({ loss: "cross_entropy", steps: 5 });
  const { run, geom } = setup(response);
  assert.ok(hasHead(run));
  const all = outputs(run, geom);
  assert.deepEqual(all.x, [0, 1, 2, 3, 4]);
  // The same with steps 2 and 4 unscored.
  const targeted = setup(response);
  targeted.run.classTargets = targeted.run.classTargets.map((v, t) => (t === 1 || t === 3 ? null : v));
  assert.equal(scored(targeted.run, 1), false);
  assert.equal(scored(targeted.run, 2), true);
  for (const mode of ["forward", "backward"]) assert.deepEqual(outputs(targeted.run, targeted.geom, mode).x, [0, 2, 4], mode);
});

test("the target row is named on the axis when there is a head", () => {
  const { geom } = setup(fakeResponse({ steps: 5 }));
  const layout = staticLayout(geom, { height: 300 });
  const at = layout.yaxis.tickvals[layout.yaxis.ticktext.indexOf("target")];
  assert.equal(at, geom.y.target);
  assert.ok(layout.yaxis.ticktext.includes("output"));
});
