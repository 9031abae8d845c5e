import assert from "node:assert/strict";
import { test } from "node:test";

import { CELL_W, geometry, PITCH, segments, unitGroups } from "../../static/js/diagram/layout.js";

const lstm = (size = 4, layers = 2, hidden = 3) =>
  geometry({ size, layers, gates: ["f", "i", "g", "o"], hasCellState: true, hidden });

test("unit groups cover every unit once, at most 32 columns", () => {
  assert.deepEqual(unitGroups(3), [
    [0, 1],
    [1, 2],
    [2, 3],
  ]);
  const big = unitGroups(100);
  assert.equal(big.length, 32);
  assert.equal(big[0][0], 0);
  assert.equal(big.at(-1)[1], 100);
  for (let k = 1; k < big.length; k += 1) assert.equal(big[k][0], big[k - 1][1]);
});

test("one box per cell, plus the c line through it for the LSTM", () => {
  const g = lstm(4, 2);
  assert.equal(g.shapes.filter((s) => s.type === "rect").length, 8);
  assert.equal(g.shapes.filter((s) => s.type === "line").length, 8);
  const gru = geometry({ size: 4, layers: 2, gates: ["r", "z", "n"], hasCellState: false, hidden: 3 });
  assert.equal(gru.shapes.length, 8);
});

test("strip bricks: columns and rows match the heatmap's edges", () => {
  const g = lstm(4, 2, 3);
  assert.equal(g.xEdges.length, g.heatCols + 1);
  assert.equal(g.heatCols, 4 * 4 - 1);
  assert.equal(g.heatRows, 3);
  for (const edges of g.yEdges) assert.equal(edges.length, g.heatRows + 1);
  for (let k = 1; k < g.xEdges.length; k += 1) assert.ok(g.xEdges[k] > g.xEdges[k - 1]);
  // The strips of a slot sit inside its box.
  const left = g.xEdges[g.column(1, 0)];
  const right = g.xEdges[g.column(1, 2) + 1];
  assert.ok(left > 1 - CELL_W / 2 && right < 1 + CELL_W / 2);
  // Rows read top to bottom in display order, inside the box.
  assert.ok(g.stripY(0, 0) > g.stripY(0, 3));
  assert.ok(g.stripY(1, 3) > PITCH && g.stripY(1, 0) < PITCH + 1);
});

test("segments: rails by boundary, stubs only where a neighbour exists", () => {
  const g = lstm(4, 2);
  const first = segments(g, 0, 10);
  const c0 = first.filter((s) => s.kind === "c" && s.layer === 0).map((s) => s.b);
  assert.deepEqual(c0, [0, 1, 2, 3, 4]); // initial state in, and the stub out to step 5
  const end = segments(g, 6, 10).filter((s) => s.kind === "h" && s.layer === 1).map((s) => s.b);
  assert.deepEqual(end, [6, 7, 8, 9]); // nothing leaves the last step
  const ups = first.filter((s) => s.kind === "up");
  assert.equal(ups.length, 4); // one per step between the two layers
  assert.equal(first.filter((s) => s.kind === "in").length, 4);
  assert.equal(first.filter((s) => s.kind === "out").length, 4);
  for (const s of first.filter((q) => q.kind === "c")) assert.ok(s.x1 > s.x0 && s.y0 === s.y1);
});
