import assert from "node:assert/strict";
import { test } from "node:test";

import { equationRows, mathPlain, mathSegments, rowNumbers, tokensText } from "../../static/js/cell/equations.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

test("math strings split into base, subscripts and superscripts", () => {
  assert.deepEqual(mathSegments("c_{t−1}"), [{ text: "c" }, { text: "t−1", sub: true }]);
  assert.deepEqual(mathSegments("dh_t^{next}"), [{ text: "dh" }, { text: "t", sub: true }, { text: "next", sup: true }]);
  assert.deepEqual(mathSegments("W_{ih} x_t + b"), [{ text: "W" }, { text: "ih", sub: true }, { text: " x" }, { text: "t", sub: true }, { text: " + b" }]);
  assert.deepEqual(mathSegments("plain"), [{ text: "plain" }]);
  assert.equal(mathPlain("dh_{t−1}"), "dh_t−1");
});

test("forward LSTM rows substitute the trace's numbers for the unit, by gate name", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 4, hidden: 3, layers: 1 }));
  const L = run.layers[0];
  const rows = equationRows(run, { k: 0, t: 2, u: 1, mode: "forward" });
  assert.deepEqual(rows.map((r) => r.id), ["A", "f", "g", "i", "c", "o", "h"]);
  const nums = rowNumbers(rows);
  assert.equal(nums.f, L.f[2][1]);
  assert.equal(nums.c, L.c[2][1]);
  assert.equal(nums.c_prev, L.c[1][1]);
  assert.equal(nums.h, L.h[2][1]);
  assert.equal(nums.A_f, L.a[2][3 + 1]); // PyTorch packing: f is the second quarter
  assert.equal(nums.A_i, L.a[2][1]);
  assert.equal(nums.A_o, L.a[2][9 + 1]);
  const c = rows.find((r) => r.id === "c");
  assert.equal(tokensText(c.sym), "c_t = f_t ⊙ c_t−1 + i_t ⊙ g_t");
  assert.match(tokensText(c.num), /^= [−\d.e]+ × \(?[−\d.e]+\)? \+ \(?[−\d.e]+\)? × \(?[−\d.e]+\)? = [−\d.e]+$/);
  // symbols carry their identity names for colouring
  assert.equal(c.sym[0].name, "c");
  assert.equal(c.sym[2].name, "f");
});

test("at t = 1 the previous cell state is the zero initial state", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 3, hidden: 2, layers: 1 }));
  assert.equal(rowNumbers(equationRows(run, { k: 0, t: 0, u: 0, mode: "forward" })).c_prev, 0);
});

test("backward LSTM rows: dh's two sources, dc, the gates, the slice, what goes back", () => {
  const run = makeRun(fakeResponse({ cell: "lstm", steps: 4, hidden: 3, layers: 1 }));
  const G = run.layers[0].grad;
  const rows = equationRows(run, { k: 0, t: 2, u: 0, mode: "backward" });
  assert.deepEqual(rows.map((r) => r.id), ["dh", "do", "dc", "dg", "di", "df", "dAo", "dA", "dc_prev", "dh_prev", "dx"]);
  const nums = rowNumbers(rows);
  assert.equal(nums.dh_above, G.h_from_above[2][0]);
  assert.equal(nums.dh_next, G.h_from_next[2][0]);
  assert.equal(nums.dh, G.h[2][0]);
  assert.equal(nums.dc, G.c[2][0]);
  assert.equal(nums.dc_next, G.c_from_next[2][0]);
  assert.equal(nums.df, G.f[2][0]);
  assert.equal(nums.dA_f, G.a[2][3]);
  assert.equal(nums.dc_prev, G.c_from_next[1][0]);
  assert.equal(nums.dh_prev, G.h_from_next[1][0]);
  const first = rowNumbers(equationRows(run, { k: 0, t: 0, u: 2, mode: "backward" }));
  assert.equal(first.dc_prev, G.c0[2]);
  assert.equal(first.dh_prev, G.h0[2]);
  // dA lists the slices in the API's packing order, each named
  const dA = rows.find((r) => r.id === "dA");
  assert.deepEqual(dA.sym.filter((tok) => tok.k === "m" && tok.name).map((tok) => tok.text), ["dA_i", "dA_f", "dA_g", "dA_o"]);
});

test("GRU and RNN rows, both modes", () => {
  for (const cell of ["gru", "rnn"]) {
    const run = makeRun(fakeResponse({ cell, steps: 3, hidden: 2, layers: 1 }));
    for (const mode of ["forward", "backward"]) {
      const rows = equationRows(run, { k: 0, t: 1, u: 1, mode });
      assert.ok(rows.length >= 2, `${cell} ${mode}`);
      const nums = rowNumbers(rows);
      if (mode === "forward") assert.equal(nums.h, run.layers[0].h[1][1]);
      else assert.equal(nums.dh, run.layers[0].grad.h[1][1]);
      for (const r of rows) assert.ok(tokensText(r.sym).length > 0);
    }
  }
});
