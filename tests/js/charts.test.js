import assert from "node:assert/strict";
import { test } from "node:test";

import { heatmapFigure, heatmapGrid, panelBox, unitChartFigure } from "../../static/js/cell/charts.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

test("LSTM heatmaps: f, i, g, o, c, h as unit x time, fixed scales", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 5, hidden: 3, layers: 2 }));
  const fig = heatmapFigure(run, { k: 1, mode: "forward", units: [2], width: 900 });
  assert.deepEqual(fig.data.map((d) => d.name), ["heat:f", "heat:i", "heat:g", "heat:o", "heat:c", "heat:h"]);
  const f = fig.data[0];
  assert.equal(f.z.length, 3); // units
  assert.equal(f.z[0].length, 5); // steps
  assert.equal(f.z[2][4], run.layers[1].f[4][2]);
  assert.deepEqual([f.zmin, f.zmax], [0, 1]);
  assert.deepEqual([fig.data[4].zmin, fig.data[4].zmax], [-1, 1]);
  assert.equal(fig.layout.shapes.length, 6); // the selected unit, once per panel
  assert.equal(fig.layout.shapes[0].y0, 2.5);
  const back = heatmapFigure(run, { k: 0, mode: "backward", units: [], width: 900 });
  assert.equal(back.data[0].customdata[1][2], run.layers[0].grad.f[2][1]);
  assert.ok(back.data.every((d) => d.zmin === -1 && d.zmax === 1));
});

test("panels tile the figure without overlapping", () => {
  for (const cell of ["lstm", "gru", "rnn"]) {
    const grid = heatmapGrid(cell);
    const boxes = grid.panels.map((_, j) => panelBox(cell, j, 1000));
    for (let a = 0; a < boxes.length; a += 1) {
      for (let b = a + 1; b < boxes.length; b += 1) {
        const p = boxes[a];
        const q = boxes[b];
        const apart = p.left + p.width <= q.left || q.left + q.width <= p.left || p.top + p.height <= q.top || q.top + q.height <= p.top;
        assert.ok(apart, `${cell}: ${a} and ${b}`);
      }
    }
  }
});

test("unit chart: c and h per selected unit; gradients as |value| on a log axis", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 4, hidden: 3, layers: 1 }));
  const fwd = unitChartFigure(run, { k: 0, mode: "forward", units: [0, 2], width: 500 });
  assert.equal(fwd.data.length, 4);
  assert.deepEqual(fwd.data[0].y, run.layers[0].c.map((r) => r[0]));
  const back = unitChartFigure(run, { k: 0, mode: "backward", units: [1], width: 500 });
  assert.equal(back.layout.yaxis.type, "log");
  assert.deepEqual(back.data[1].customdata, run.layers[0].grad.h.map((r) => r[1]));
  assert.ok(back.data[1].y.every((v) => v === null || v > 0));
  const rnn = makeRun(fakeResponse({ cell: "rnn", steps: 3, hidden: 2, layers: 1 }));
  assert.equal(unitChartFigure(rnn, { k: 0, mode: "forward", units: [0], width: 400 }).data.length, 1);
});
