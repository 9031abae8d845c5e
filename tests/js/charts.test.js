import assert from "node:assert/strict";
import { test } from "node:test";

import { heatmapFigure, heatmapGrid, heatmapPanels, panelBox, unitChartFigure } from "../../static/js/cell/charts.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

test("LSTM heatmaps: f, i, g, o, c, h as unit x time, fixed scales", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 5, hidden: 3, layers: 2 }));
  const images = Object.fromEntries(run.heatmaps.map((n) => [n, `data:image/png;base64,${n}`]));
  const fig = heatmapFigure(run, { k: 1, mode: "forward", units: [2], width: 900, images });
  assert.deepEqual(fig.data, []); // the bricks are pictures, not a Plotly trace
  assert.deepEqual(fig.layout.images.map((d) => d.name), ["heat:f", "heat:i", "heat:g", "heat:o", "heat:c", "heat:h"]);
  const f = fig.layout.images[0];
  // The picture covers steps 1..5 and units 1..3 of its own axes, unit 1 on top.
  assert.deepEqual([f.source, f.xref, f.yref, f.x, f.sizex, f.y, f.sizey, f.yanchor], [images.f, "x", "y", 0.5, 5, 0.5, 3, "top"]);
  assert.deepEqual(fig.layout.yaxis.range, [3.5, 0.5]);
  assert.equal(fig.layout.images[1].xref, "x2");
  const panels = heatmapPanels(run, { k: 1, mode: "forward" });
  assert.equal(panels[0].rows, run.layers[1].f); // the trace's own rows, not a copy
  assert.equal(panels[0].units, 3);
  assert.deepEqual([panels[0].rule.zmin, panels[0].rule.zmax], [0, 1]);
  assert.deepEqual([panels[4].rule.zmin, panels[4].rule.zmax], [-1, 1]);
  assert.equal(fig.layout.shapes.length, 6); // the selected unit, once per panel
  assert.equal(fig.layout.shapes[0].y0, 2.5);
  const back = heatmapPanels(run, { k: 0, mode: "backward" });
  assert.equal(back[0].rows, run.layers[0].grad.f);
  assert.equal(back[0].symbol, "dL/df");
  assert.ok(back.every((p) => p.rule.zmin === -1 && p.rule.zmax === 1 && p.rule.name === "grad"));
  // A panel without its picture yet is left out, never drawn from stale data.
  assert.equal(heatmapFigure(run, { k: 1, mode: "forward", units: [], width: 900 }).layout.images.length, 0);
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

test("unit chart: a marker per step on short runs, lines alone on long ones", () => {
  const short = makeRun(fakeResponse({ cell: "lstm", steps: 4, hidden: 2, layers: 1 }));
  assert.ok(unitChartFigure(short, { k: 0, mode: "forward", units: [0], width: 500 }).data.every((d) => d.mode === "lines+markers"));
  const long = makeRun(fakeResponse({ cell: "lstm", steps: 201, hidden: 2, layers: 1 }));
  const fig = unitChartFigure(long, { k: 0, mode: "forward", units: [0], width: 500 });
  assert.ok(fig.data.every((d) => d.mode === "lines" && d.y.length === 201));
});
