import assert from "node:assert/strict";
import { test } from "node:test";

import { logUnit } from "../../static/js/core/colors.js";
import { buildOverview, overviewCaption, overviewLayout, overviewMarks, overviewValues } from "../../static/js/diagram/overview.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

test("one row per layer over the whole sequence", () => {
  const run = makeRun(fakeResponse({ steps: 8, text: "abcdefghi", layers: 3 }));
  const fwd = overviewValues(run, "forward");
  assert.equal(fwd.length, 3);
  assert.equal(fwd[0].z.length, 8);
  const f = run.layers[0].f[3];
  assert.equal(fwd[0].z[3], f.reduce((a, b) => a + b, 0) / f.length); // mean forget gate
  assert.equal(overviewCaption(run, "forward"), "overview.forward.lstm");
  assert.equal(overviewCaption(run, "backward"), "overview.backward.c");
  const bwd = overviewValues(run, "backward");
  assert.equal(bwd[1].z[2], logUnit(run.norms[1].gcTotal[2]));
});

test("GRU keeps the update gate, RNN mean |h|", () => {
  const gru = makeRun(fakeResponse({ cell: "gru", steps: 4 }));
  assert.equal(overviewValues(gru, "forward")[0].name, "mean z");
  const rnn = makeRun(fakeResponse({ cell: "rnn", steps: 4 }));
  const values = overviewValues(rnn, "forward")[0].z;
  assert.ok(values.every((v) => v >= 0 && v <= 1));
  assert.equal(overviewCaption(rnn, "backward"), "overview.backward.h");
});

test("the strip is one heatmap in 1-based step coordinates", () => {
  const run = makeRun(fakeResponse({ steps: 8, text: "abcdefghi" }));
  const { data } = buildOverview(run, "forward");
  assert.equal(data.length, 1);
  assert.deepEqual(data[0].x, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(overviewLayout(run, { height: 50 }).xaxis.range, [0.5, 8.5]);
  assert.equal(buildOverview(run, "backward").data[0].zmax, 1);
});

test("marks: window frame, cursor and veil in pixels of the plot", () => {
  const run = makeRun(fakeResponse({ steps: 8, text: "abcdefghi" }));
  // 8 steps over a plot area of 80 px (width 154 - margins 74): 10 px per step from x = 64.
  const marks = overviewMarks(run, { start: 2, size: 4, mode: "forward", step: 3 }, { width: 154, height: 60 });
  assert.deepEqual([marks.frame.left, marks.frame.width], [84, 40]);
  assert.deepEqual([marks.cursor.left, marks.cursor.width], [94, 10]);
  assert.deepEqual([marks.veil.left, marks.veil.width], [104, 40]);
  assert.equal(marks.frame.height, 60 - 2 - 22);
  const back = overviewMarks(run, { start: 2, size: 4, mode: "backward", step: 3 }, { width: 154, height: 60 });
  assert.deepEqual([back.veil.left, back.veil.width], [64, 30]);
  const end = overviewMarks(run, { start: 4, size: 4, mode: "forward", step: 7 }, { width: 154, height: 60 });
  assert.equal(end.veil.width, 0);
});
