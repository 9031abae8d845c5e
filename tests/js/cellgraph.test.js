import assert from "node:assert/strict";
import { test } from "node:test";

import { anchor, cellGraph, cellValues, columnValue, nodeColumns, overlaps, sliceByName, stripNodes } from "../../static/js/cell/cellgraph.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

const CELLS = ["lstm", "gru", "rnn"];

test("every edge joins existing nodes and every node fits the view", () => {
  for (const cell of CELLS) {
    const g = cellGraph(cell);
    const ids = new Set(g.nodes.map((n) => n.id));
    assert.equal(ids.size, g.nodes.length, `${cell}: node ids are unique`);
    for (const e of g.edges) {
      assert.ok(ids.has(e.from) && ids.has(e.to), `${cell}: ${e.from} -> ${e.to}`);
      assert.ok(e.points.length >= 2);
      for (const [x, y] of e.points) assert.ok(x >= 0 && x <= g.width && y >= 0 && y <= g.height);
    }
    for (const n of g.nodes) {
      assert.ok(n.x - n.w / 2 >= 0 && n.x + n.w / 2 <= g.width, `${cell}: ${n.id} inside horizontally`);
      assert.ok(n.y - n.h / 2 >= 0 && n.y + n.h / 2 <= g.height, `${cell}: ${n.id} inside vertically`);
    }
  }
});

test("no two nodes overlap (ports sit inside their slice node only)", () => {
  for (const cell of CELLS) {
    const nodes = cellGraph(cell).nodes;
    for (let a = 0; a < nodes.length; a += 1) {
      for (let b = a + 1; b < nodes.length; b += 1) {
        const p = nodes[a];
        const q = nodes[b];
        if (p.parent === q.id || q.parent === p.id) continue;
        assert.ok(!overlaps(p, q, 4), `${cell}: ${p.id} overlaps ${q.id}`);
      }
    }
  }
});

test("the LSTM graph has the book's nodes, and the slice node names each slice", () => {
  const g = cellGraph("lstm");
  const ids = g.nodes.map((n) => n.id);
  for (const id of ["x", "h_prev", "c_prev", "affine", "slice", "f", "i", "g", "o", "mul_f", "mul_ig", "add", "tanh_c", "mul_h", "h_next", "h_up", "c_next"]) {
    assert.ok(ids.includes(id), id);
  }
  const ports = g.nodes.filter((n) => n.parent === "slice");
  assert.deepEqual(ports.map((p) => p.gate).sort(), ["f", "g", "i", "o"]);
  for (const p of ports) {
    assert.equal(p.label[0], `A_${p.gate}`);
    // each port feeds the gate of the same name
    assert.ok(g.edges.some((e) => e.from === p.id && e.to === p.gate));
  }
  // h_t branches two ways: to the next step and to the layer above
  assert.ok(g.edges.some((e) => e.from === "mul_h" && e.to === "h_next"));
  assert.ok(g.edges.some((e) => e.from === "mul_h" && e.to === "h_up"));
});

test("anchors are on the box edges", () => {
  const n = { x: 100, y: 50, w: 40, h: 20 };
  assert.deepEqual(anchor(n, "top"), [100, 40]);
  assert.deepEqual(anchor(n, "bottom"), [100, 60]);
  assert.deepEqual(anchor(n, "left"), [80, 50]);
  assert.deepEqual(anchor(n, "right"), [120, 50]);
});

test("slices of A are found by name through gate_order, not by position", () => {
  const row = [0, 1, 2, 3, 4, 5, 6, 7]; // H = 2
  assert.deepEqual(sliceByName(row, ["i", "f", "g", "o"], "f", 2), [2, 3]);
  assert.deepEqual(sliceByName(row, ["f", "g", "i", "o"], "f", 2), [0, 1]); // the book's order
  assert.deepEqual(sliceByName(row, ["f", "g", "i", "o"], "i", 2), [4, 5]);
  assert.throws(() => sliceByName(row, ["i", "f", "g", "o"], "z", 2));
});

test("forward values are the trace's arrays at (layer, step)", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 4, hidden: 3, layers: 2 }));
  const L = run.layers[1];
  const v = cellValues(run, 1, 2, "forward");
  assert.deepEqual(v.f, L.f[2]);
  assert.deepEqual(v.add, L.c[2]);
  assert.deepEqual(v.c_prev, L.c[1]);
  assert.deepEqual(v.h_prev, L.h[1]);
  assert.deepEqual(v["slice:f"], L.a[2].slice(3, 6)); // PyTorch packing i, f, g, o
  assert.deepEqual(v["slice:o"], L.a[2].slice(9, 12));
  assert.deepEqual(v.mul_ig, L.i[2].map((x, j) => x * L.g[2][j]));
  const first = cellValues(run, 0, 0, "forward");
  assert.deepEqual(first.c_prev, [0, 0, 0]);
  assert.deepEqual(first.h_prev, [0, 0, 0]);
});

test("backward values: dh_t's two parts, dc_t, what flows back to t-1", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 4, hidden: 3, layers: 1 }));
  const G = run.layers[0].grad;
  const v = cellValues(run, 0, 2, "backward");
  assert.deepEqual(v.h_up, G.h_from_above[2]);
  assert.deepEqual(v.h_next, G.h_from_next[2]);
  assert.deepEqual(v.mul_h, G.h[2]);
  assert.deepEqual(v.add, G.c[2]);
  assert.deepEqual(v.c_prev, G.c_from_next[1]);
  assert.deepEqual(v.h_prev, G.h_from_next[1]);
  assert.deepEqual(v.affine, G.a[2]);
  assert.deepEqual(v["slice:g"], G.a[2].slice(6, 9));
  const first = cellValues(run, 0, 0, "backward");
  assert.deepEqual(first.c_prev, G.c0);
  assert.deepEqual(first.h_prev, G.h0);
});

test("GRU and RNN graphs get their own values", () => {
  for (const cell of ["gru", "rnn"]) {
    const run = makeRun(fakeResponse({ cell, steps: 3, hidden: 2, layers: 1 }));
    for (const mode of ["forward", "backward"]) {
      const v = cellValues(run, 0, 1, mode);
      for (const n of stripNodes(cellGraph(cell))) {
        assert.ok(Array.isArray(v[n.id]), `${cell} ${mode}: ${n.id}`);
        assert.equal(v[n.id].length, n.size === "D" ? run.layers[0].x[0].length : 2, `${cell} ${mode}: ${n.id}`);
      }
    }
  }
});

test("wide layers are shown as group means; A gets named quarters", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 2, hidden: 40, layers: 1 }));
  const h = cellGraph("lstm").nodes.find((n) => n.id === "add");
  const cols = nodeColumns(h, run, 0);
  assert.equal(cols.length, 32);
  assert.equal(cols[0][0], 0);
  assert.equal(cols.at(-1)[1], 40);
  const a = nodeColumns(cellGraph("lstm").nodes.find((n) => n.id === "affine"), run, 0);
  assert.equal(a.length, 64); // 16 per quarter
  assert.equal(a[16][0], 40);
  assert.equal(columnValue([1, 2, 3, 6], [1, 4]), (2 + 3 + 6) / 3);
  assert.equal(columnValue([1, 2], [1, 2]), 2);
});
