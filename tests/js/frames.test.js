import assert from "node:assert/strict";
import { test } from "node:test";

import { diagramHeight, diagramLayout, staticLayout } from "../../static/js/diagram/figure.js";
import { buildFrame } from "../../static/js/diagram/frames.js";
import { cellDone, railDone } from "../../static/js/core/walk.js";
import { geometry } from "../../static/js/diagram/layout.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

function setup(opts = {}, size = 4) {
  const run = makeRun(fakeResponse(opts));
  const geom = geometry({ size, layers: run.numLayers, gates: run.gates, hasCellState: run.hasCellState, hidden: run.hidden });
  return { run, geom };
}

// A trace by name, or a strip's bricks (painted under the traces, not given to Plotly).
const byName = (frame, name) => [...frame.data, ...frame.strips].find((d) => d.name === name);
const filledColumns = (strip, row = 0) => strip.z[row].map((v, c) => (v === null ? null : c)).filter((c) => c !== null);

test("done-ness: forward up to the step, backward from it", () => {
  assert.ok(cellDone("forward", 3, 3) && cellDone("forward", 3, 0) && !cellDone("forward", 3, 4));
  assert.ok(cellDone("backward", 3, 3) && cellDone("backward", 3, 9) && !cellDone("backward", 3, 2));
  // The rail out of the current cell is done forward; the one into it backward.
  assert.ok(railDone("forward", 3, 4) && !railDone("forward", 3, 5));
  assert.ok(railDone("backward", 3, 3) && !railDone("backward", 3, 2));
});

test("frames of a geometry share their traces; only the rail styles in use vary", () => {
  const { run, geom } = setup({ steps: 12, text: "abcdefghijklm" });
  const fixed = (frame) => frame.data.map((d) => d.name).filter((n) => !n.startsWith("rail:"));
  const names = fixed(buildFrame(run, geom, { start: 0, mode: "forward", step: 0 }));
  for (const mode of ["forward", "backward"]) {
    for (const [start, step] of [
      [0, 3],
      [5, 7],
      [8, 11],
    ]) {
      const frame = buildFrame(run, geom, { start, mode, step });
      assert.deepEqual(fixed(frame), names);
      for (const d of frame.data.filter((q) => q.name.startsWith("rail:"))) assert.ok(d.x.length > 0, d.name);
    }
  }
  assert.ok(names.includes("highlight") && names.includes("veil") && names.includes("arrowheads"));
  assert.ok(!names.includes("gate-labels")); // the letters are static shapes
});

test("forward: strips fill in up to the current step", () => {
  const { run, geom } = setup({ steps: 5 });
  const frame = buildFrame(run, geom, { start: 0, mode: "forward", step: 1 });
  const f = byName(frame, "strip:f");
  // 3 units per cell, steps 0 and 1 done: columns 0..2 and 4..6 (column 3 is the gap).
  assert.deepEqual(filledColumns(f), [0, 1, 2, 4, 5, 6]);
  assert.equal(f.zmin, 0);
  assert.equal(byName(frame, "strip:g").zmin, -1);
  // Sigmoid values as they are.
  assert.equal(f.z[0][0], run.layers[0].f[0][0]);
  assert.match(f.hover(0, 0), /forget gate f.*t = 1 · layer 1 · unit 1.*f = /s);
  // The second layer is row 2 (row 1 is the gap between layers).
  assert.ok(f.z[1].every((v) => v === null));
  assert.equal(f.z[2][0], run.layers[1].f[0][0]);
});

test("backward: strips show signed-log gradients from the end back to the step", () => {
  const { run, geom } = setup({ steps: 4 });
  const frame = buildFrame(run, geom, { start: 0, mode: "backward", step: 2 });
  const i = byName(frame, "strip:i");
  assert.deepEqual(filledColumns(i), [8, 9, 10, 12, 13, 14]);
  for (const c of filledColumns(i)) assert.ok(Math.abs(i.z[0][c]) <= 1);
  assert.match(i.hover(0, 8), /dL\/di = /);
});

test("rails: forward in identity colours, backward by gradient size, the rest pending", () => {
  const { run, geom } = setup({ steps: 6, layers: 1 });
  const fwd = buildFrame(run, geom, { start: 0, mode: "forward", step: 1 });
  const count = (trace) => (trace ? trace.x.filter((v) => v === null).length : 0);
  // c rail: boundaries 0..2 done (initial state, 1->2, 2->3), 3 and the stub 4 pending.
  assert.equal(count(byName(fwd, "rail:fwd_c")), 3);
  const heads = byName(fwd, "arrowheads");
  assert.ok(heads.marker.symbol.every((s) => s === "triangle-right" || s === "triangle-up"));
  const bwd = buildFrame(run, geom, { start: 2, mode: "backward", step: 5 });
  assert.equal(count(byName(bwd, "rail:fwd_c")), 0);
  const binned = bwd.data.filter((d) => d.name.startsWith("rail:bin")).reduce((n, d) => n + count(d), 0);
  // Step 6 of 6 backward: the c and h rails into it (boundary 5), its output and input arrows.
  assert.equal(binned, 4);
  assert.ok(byName(bwd, "arrowheads").marker.symbol.every((s) => s === "triangle-left" || s === "triangle-down"));
  // Larger gradients get wider lines.
  const late = buildFrame(run, geom, { start: 0, mode: "backward", step: 0 });
  const widths = late.data.filter((d) => d.name.startsWith("rail:bin") && d.x.length).map((d) => d.line.width);
  assert.ok(Math.max(...widths) > Math.min(...widths));
});

test("the highlight frames the current slot and the veil covers what is not reached", () => {
  const { run, geom } = setup({ steps: 10, text: "abcdefghijk" }, 4);
  const frame = buildFrame(run, geom, { start: 3, mode: "forward", step: 5 });
  const hl = byName(frame, "highlight");
  assert.equal((Math.min(...hl.x) + Math.max(...hl.x)) / 2, 2);
  const veil = byName(frame, "veil");
  assert.ok(Math.min(...veil.x) > 2 && Math.min(...veil.x) < 3);
  const back = buildFrame(run, geom, { start: 3, mode: "backward", step: 5 });
  assert.ok(Math.max(...byName(back, "veil").x) < 2);
  assert.deepEqual(frame.meta, { start: 3, mode: "forward", step: 5, slot: 2, size: 4 });
  // Backward at t = 1 everything is done, the initial state included: no veil.
  assert.equal(byName(buildFrame(run, geom, { start: 0, mode: "backward", step: 0 }), "veil").x.length, 0);
});

test("user text is escaped in labels", () => {
  const { run, geom } = setup({ steps: 5, text: "<b>&x" });
  const frame = buildFrame(run, geom, { start: 0, mode: "forward", step: 0 });
  const inputs = byName(frame, "inputs").text;
  assert.deepEqual(inputs.slice(0, 3), ["&lt;", "b", "&gt;"]);
  assert.ok(!byName(frame, "targets").text.some((s) => s.includes("<")));
});

test("wide layers show group means with their spread", () => {
  const { run, geom } = setup({ steps: 3, hidden: 40, layers: 1 });
  const frame = buildFrame(run, geom, { start: 0, mode: "forward", step: 2 });
  const f = byName(frame, "strip:f");
  assert.equal(geom.cols, 32);
  assert.match(f.hover(0, 0), /unit 1<br>f = /);
  assert.match(f.hover(0, 3), /units 4–5.*mean .* \(min .*, max .*\)/s);
});

test("GRU and RNN frames build, with one rail each", () => {
  for (const cell of ["gru", "rnn"]) {
    const { run, geom } = setup({ cell, steps: 4 });
    const frame = buildFrame(run, geom, { start: 0, mode: "backward", step: 0 });
    assert.equal(byName(frame, "rail:fwd_c"), undefined);
    assert.equal(frame.strips.length, run.gates.length);
    assert.ok(!frame.data.some((d) => d.type === "heatmap")); // painted under the traces
  }
});

test("the static graph holds boxes, letters and row names; the diagram's graph lies over it", () => {
  const { geom } = setup({ steps: 5 });
  const a = staticLayout(geom, { height: 400 });
  const b = staticLayout(geom, { height: 400 });
  assert.equal(a.shapes, b.shapes); // one array per geometry
  // Boxes, the c line through each, and a letter per gate strip.
  const letters = a.shapes.filter((s) => s.label);
  assert.equal(letters.length, 4 * 2 * 4);
  assert.deepEqual([...new Set(letters.map((s) => s.label.text))], ["f", "i", "g", "o"]);
  assert.ok(a.yaxis.ticktext.includes("layer 2"));
  const top = diagramLayout(geom, { height: 400, revision: 3 });
  assert.equal(top.shapes, undefined);
  assert.equal(top.paper_bgcolor, "rgba(0,0,0,0)");
  // Same plot area: same margins and ranges.
  assert.deepEqual(top.margin, a.margin);
  assert.deepEqual(top.xaxis.range, a.xaxis.range);
  assert.deepEqual(top.yaxis.range, a.yaxis.range);
  assert.equal(top.datarevision, 3);
  assert.ok(diagramHeight(geom) > 300);
});

test("backward, LSTM: the cell path's rule sits on the c rail leaving the current cell", () => {
  const { run, geom } = setup({ steps: 6, text: "abcdefg", layers: 2 });
  const at = (mode, step, start = 0) => byName(buildFrame(run, geom, { start, mode, step }), "carousel");
  const back = at("backward", 3);
  assert.equal(back.x.length, 2); // one per layer
  assert.deepEqual(back.x, [2.5, 2.5]); // between the cells of steps 3 and 4 (0-based 2 and 3)
  assert.deepEqual(back.y, [geom.railY(0, "c"), geom.railY(1, "c")]);
  const ratio = run.norms[0].gc[2] / run.norms[0].gcTotal[3];
  assert.ok(back.hovertext[0].includes("⊙") && back.hovertext[0].includes(String(ratio.toPrecision(4)).replace("-", "−")));
  assert.equal(at("forward", 3).x.length, 0);
  assert.equal(at("backward", 0).x.length, 0); // nothing before step 1 on screen
  const gru = setup({ cell: "gru", steps: 6, text: "abcdefg" });
  assert.equal(byName(buildFrame(gru.run, gru.geom, { start: 0, mode: "backward", step: 3 }), "carousel").x.length, 0);
});
