// Bidirectional layers, an LSTM's projection, bias-free cells and large heads, on responses
// recorded from the real API (tests/api/test_page_fixtures.py): a 2-layer bidirectional LSTM
// with H = 3 projected to P = 2 ("hello!", T = 5), and a bias-free LSTM whose head is
// answered by its top 3 only.
import assert from "node:assert/strict";
import { test } from "node:test";

import { cellGraph, cellValues, directed, nodeColumns, overlaps, prevPosition, runGraph } from "../../static/js/cell/cellgraph.js";
import { heatmapFigure, heatmapGrid, panelBox, unitChartFigure } from "../../static/js/cell/charts.js";
import { equationRows, rowNumbers, tokensText } from "../../static/js/cell/equations.js";
import { buildRequest } from "../../static/js/core/config.js";
import { layerRows, makeRun } from "../../static/js/core/run.js";
import { cellDone, cellDoneIn, positionOf, railDoneIn, stepForPosition } from "../../static/js/core/walk.js";
import { staticLayout } from "../../static/js/diagram/figure.js";
import { buildFrame, outputDone } from "../../static/js/diagram/frames.js";
import { geometry, segments } from "../../static/js/diagram/layout.js";
import { overviewMarks, overviewValues } from "../../static/js/diagram/overview.js";
import { segDone } from "../../static/js/diagram/rails.js";
import { recordedResponse } from "./fixtures.js";

const BI = recordedResponse("lstm-bi-proj");
const TOPK = recordedResponse("lstm-topk");
const T = BI.steps; // 5

function setup(resp = BI, size = 5) {
  const run = makeRun(resp);
  const geom = geometry({
    size,
    layers: run.numLayers,
    directions: run.bidirectional ? 2 : 1,
    gates: run.gates,
    hasCellState: run.hasCellState,
    hidden: run.hidden,
    topK: run.showTopK ? 3 : 0,
  });
  return { run, geom };
}
const byName = (frame, name) => [...frame.data, ...frame.strips].find((d) => d.name === name);

test("the recorded response is what the page expects: two directions per layer, m with the projection", () => {
  assert.equal(BI.bidirectional, true);
  assert.equal(BI.proj_size, 2);
  assert.equal(BI.layers[0].direction, "bidirectional");
  for (const dir of ["forward", "reverse"]) {
    assert.equal(BI.layers[1][dir].h[0].length, 2); // proj_size
    assert.equal(BI.layers[1][dir].m[0].length, 3); // hidden_size
  }
  assert.equal(BI.layers[0].h[0].length, 4); // concat of two projected directions
});

test("a bidirectional run has one row per (layer, direction), read by name", () => {
  const run = makeRun(BI);
  assert.equal(run.bidirectional, true);
  assert.deepEqual(run.directions, ["forward", "reverse"]);
  assert.deepEqual(
    run.rows.map((r) => `${r.layer}:${r.dir}`),
    ["0:forward", "0:reverse", "1:forward", "1:reverse"],
  );
  assert.equal(run.data(1, "reverse"), BI.layers[1].reverse);
  assert.equal(run.rowOf(1, "reverse"), 3);
  assert.equal(run.stateSize, 2);
  assert.deepEqual(run.heatmaps, ["f", "i", "g", "o", "c", "m", "h"]);
  // One-direction runs keep one row per layer.
  const uni = makeRun(recordedResponse("lstm"));
  assert.deepEqual(layerRows(uni.layers).map((r) => r.dir), ["forward", "forward"]);
  assert.equal(uni.data(0), uni.layers[0]);
});

test("the arrows up: a layer's merged output, and the layer above's dL/dx coming down", () => {
  const run = makeRun(BI);
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(run.outputs[0].h[2] - norm(BI.layers[0].h[2])) < 1e-12);
  assert.ok(Math.abs(run.outputs[0].g[2] - norm(BI.layers[1].grad.x[2])) < 1e-12);
  // The top layer: the server's dL/d(merged output); concatenated, it is both directions'
  // parts side by side ...
  const top = BI.layers[1];
  const g = top.grad.h;
  assert.deepEqual(g[1], [...top.forward.grad.h_from_above[1], ...top.reverse.grad.h_from_above[1]]);
  // ... and it is what the arrow above the top layer shows.
  assert.ok(Math.abs(run.outputs[1].g[1] - norm(g[1])) < 1e-12);
});

test("the walk: the reverse direction computes T..1 forward and 1..T backward", () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((s) => positionOf("reverse", s, T)), [4, 3, 2, 1, 0]);
  assert.deepEqual([0, 4].map((s) => positionOf("forward", s, T)), [0, 4]);
  // Forward pass at step 1 (0-based): forward has done 0..1, reverse 3..4.
  assert.deepEqual([0, 1, 2, 3, 4].filter((t) => cellDoneIn("forward", "forward", 1, t, T)), [0, 1]);
  assert.deepEqual([0, 1, 2, 3, 4].filter((t) => cellDoneIn("reverse", "forward", 1, t, T)), [3, 4]);
  // Backward pass at step 3 (going T-1 -> 0): forward has done 3..4, reverse 0..1.
  assert.deepEqual([0, 1, 2, 3, 4].filter((t) => cellDoneIn("forward", "backward", 3, t, T)), [3, 4]);
  assert.deepEqual([0, 1, 2, 3, 4].filter((t) => cellDoneIn("reverse", "backward", 3, t, T)), [0, 1]);
  // The forward direction's rule is the one-direction rule.
  for (let s = 0; s < T; s += 1) for (let t = 0; t < T; t += 1) assert.equal(cellDoneIn("forward", "forward", s, t, T), cellDone("forward", s, t));
  // Rails: the reverse row's initial state (b = T) comes first, the rail out of its current cell is done.
  assert.ok(railDoneIn("reverse", "forward", 0, T, T) && railDoneIn("reverse", "forward", 0, T - 1, T));
  assert.ok(!railDoneIn("reverse", "forward", 0, T - 2, T));
  // Clicking a reverse cell at position 1 jumps to the step where the reverse direction is there.
  assert.equal(stepForPosition("reverse", 1, T), 4);
  assert.equal(positionOf("reverse", stepForPosition("reverse", 1, T) - 1, T), 1);
});

test("geometry: each bidirectional layer is a block of two rows, the reverse row under the forward one", () => {
  const { geom } = setup();
  assert.equal(geom.rows, 4);
  assert.ok(geom.rowBottom(1) < geom.rowBottom(0), "layer 1's reverse row is below its forward row");
  assert.ok(geom.rowTop(1) < geom.rowBottom(0));
  assert.ok(geom.boxTop(0) < geom.boxBottom(1), "layers do not overlap");
  assert.equal(geom.boxBottom(0), geom.rowBottom(1));
  assert.equal(geom.boxTop(0), geom.rowTop(0));
  // Heatmap rows rise with y: each gate's y edges are sorted.
  for (const edges of geom.yEdges) assert.deepEqual(edges, edges.slice().sort((a, b) => a - b));
  // The reverse rows' rails: from position b into b-1, the initial state (b = T) at the right edge.
  const rails = segments(geom, 0, T).filter((s) => s.kind === "h" && s.row === 1);
  assert.deepEqual(rails.map((s) => s.b), [1, 2, 3, 4, 5]);
  const fwd = segments(geom, 0, T).filter((s) => s.kind === "h" && s.row === 0);
  assert.deepEqual(fwd.map((s) => s.b), [0, 1, 2, 3, 4]);
  // Row names: "layer 1 / forward →" and "layer 1 / ← reverse".
  const ticks = staticLayout(geom, { height: 400 }).yaxis.ticktext;
  assert.ok(ticks.some((text) => text.includes("forward →")) && ticks.some((text) => text.includes("← reverse")));
});

test("frames: reverse rows fill from the right, and their arrows run right to left", () => {
  const { run, geom } = setup();
  const frame = buildFrame(run, geom, { start: 0, mode: "forward", step: 1 });
  const f = byName(frame, "strip:f");
  const filled = (row) => f.z[geom.heatRow(row)].map((v, c) => (v === null ? null : Math.floor(c / (geom.cols + 1)))).filter((c) => c !== null);
  assert.deepEqual([...new Set(filled(0))], [0, 1]); // forward: positions 1, 2
  assert.deepEqual([...new Set(filled(1))], [3, 4]); // reverse: positions 5, 4
  assert.equal(f.z[geom.heatRow(1)][geom.column(4, 0)], BI.layers[0].reverse.f[4][0]);
  const heads = byName(frame, "arrowheads");
  const symbolOf = (meta) => heads.marker.symbol[heads.customdata.indexOf(meta)];
  const reverseH = heads.customdata.filter((m) => m.startsWith("h:reverse"));
  assert.ok(reverseH.length > 0);
  for (const meta of reverseH) assert.equal(symbolOf(meta), "triangle-left");
  for (const meta of heads.customdata.filter((m) => m.startsWith("h:forward"))) assert.equal(symbolOf(meta), "triangle-right");
  // Backward: the other way round.
  const back = byName(buildFrame(run, geom, { start: 0, mode: "backward", step: 3 }), "arrowheads");
  for (const [j, meta] of back.customdata.entries()) {
    if (meta.startsWith("c:reverse")) assert.equal(back.marker.symbol[j], "triangle-right");
    if (meta.startsWith("c:forward")) assert.equal(back.marker.symbol[j], "triangle-left");
  }
  // The reverse rows' initial state is named on the right: h₆ (T + 1).
  assert.ok(byName(frame, "edges-reverse").text.every((text) => text === "c₆" || text === "h₆"));
  // Each row is outlined at its own position: forward at 1, reverse at 3 (0-based).
  const outline = byName(frame, "highlight");
  assert.equal(outline.x.filter((v) => v === null).length, 3); // four boxes
});

test("the layer above and the head read both directions: done only where both are", () => {
  const { run, geom } = setup();
  // Forward at step 1: forward has 0..1, reverse 3..4: no position has both.
  assert.deepEqual([0, 1, 2, 3, 4].filter((t) => outputDone(run, "forward", 1, t)), []);
  assert.deepEqual([0, 1, 2, 3, 4].filter((t) => outputDone(run, "forward", 3, t)), [1, 2, 3]);
  const up = segments(geom, 0, T).filter((s) => s.kind === "up");
  assert.deepEqual(up.filter((s) => segDone(run, s, "forward", 3)).map((s) => s.t), [1, 2, 3]);
  const inputs = segments(geom, 0, T).filter((s) => s.kind === "in");
  assert.deepEqual(inputs.filter((s) => segDone(run, s, "forward", 0)).map((s) => s.t), [0, 4]);
});

test("the cell view of a reverse direction: its previous step is t+1", () => {
  const run = makeRun(BI);
  const L = BI.layers[0].reverse;
  const v = cellValues(run, 0, 2, "forward", "reverse");
  assert.deepEqual(v.c_prev, L.c[3]);
  assert.deepEqual(v.h_prev, L.h[3]);
  assert.deepEqual(v.mul_h, L.m[2]); // m = o ⊙ tanh(c)
  assert.deepEqual(v.proj, L.h[2]); // h = W_hr m
  // At its start (position T-1) the previous state is the zero initial state, P wide.
  assert.deepEqual(cellValues(run, 0, T - 1, "forward", "reverse").h_prev, [0, 0]);
  assert.equal(prevPosition("reverse", T - 1, T), null);
  // Backward: what flows back to t+1 is h_from_next at t+1 (it came from t).
  const G = L.grad;
  const b = cellValues(run, 0, 2, "backward", "reverse");
  assert.deepEqual(b.h_prev, G.h_from_next[3]);
  assert.deepEqual(b.c_prev, G.c_from_next[3]);
  assert.deepEqual(b.mul_h, G.m[2]);
  assert.deepEqual(cellValues(run, 0, T - 1, "backward", "reverse").h_prev, G.h0);
  assert.equal(directed("h_{t−1} → c_{t+1}", "reverse"), "h_{t+1} → c_{t−1}");
  assert.equal(directed("h_{t−1}", "forward"), "h_{t−1}");
});

test("the projected LSTM's graph shows m and W_hr, and fits its wider view", () => {
  const run = makeRun(BI);
  const graph = runGraph(run);
  assert.equal(graph, cellGraph("lstm", { proj: true }));
  const by = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
  assert.equal(by.mul_h.label[0], "m_t");
  assert.equal(by.proj.op, "W_{hr}·");
  assert.equal(by.proj.label[0], "h_t");
  assert.ok(graph.edges.some((e) => e.from === "mul_h" && e.to === "proj"));
  assert.ok(graph.edges.some((e) => e.from === "proj" && e.to === "h_next") && graph.edges.some((e) => e.from === "proj" && e.to === "h_up"));
  for (const n of graph.nodes) assert.ok(n.x + n.w / 2 <= graph.width && n.x - n.w / 2 >= 0, n.id);
  for (const e of graph.edges) for (const [x] of e.points) assert.ok(x <= graph.width);
  for (let a = 0; a < graph.nodes.length; a += 1) {
    for (let c = a + 1; c < graph.nodes.length; c += 1) {
      const p = graph.nodes[a];
      const q = graph.nodes[c];
      if (p.parent === q.id || q.parent === p.id) continue;
      assert.ok(!overlaps(p, q, 4), `${p.id} overlaps ${q.id}`);
    }
  }
  // h's strips are proj_size wide; m's the cell's units.
  assert.equal(nodeColumns(by.h_next, run, 0).length, 2);
  assert.equal(nodeColumns(by.mul_h, run, 0).length, 3);
  // Layer 1 reads the concatenation: x is 2 P wide.
  assert.equal(nodeColumns(by.x, run, 1, "reverse").length, 4);
});

test("a bias-free graph and equations drop the b terms", () => {
  const graph = cellGraph("lstm", { bias: false });
  assert.equal(graph.formula.forward, "A = W_{ih} x_t + W_{hh} h_{t−1}");
  assert.equal(graph.nodes.find((n) => n.id === "affine").op, "W·");
  assert.equal(cellGraph("gru", { bias: false }).nodes.find((n) => n.id === "affine").label[0], "W_i x_t,  W_h h_{t−1}");
  const run = makeRun(TOPK);
  assert.equal(run.bias, false);
  const A = equationRows(run, { k: 0, t: 1, u: 0, mode: "forward" }).find((r) => r.id === "A");
  assert.ok(!tokensText(A.sym).includes("b_"), tokensText(A.sym));
});

test("equations in reverse read t+1 for the previous step, and projected rows show m", () => {
  const run = makeRun(BI);
  const L = BI.layers[1].reverse;
  const rows = equationRows(run, { k: 1, dir: "reverse", t: 1, u: 2, mode: "forward" });
  assert.deepEqual(rows.map((r) => r.id), ["A", "f", "g", "i", "c", "o", "m", "h"]);
  const nums = rowNumbers(rows);
  assert.equal(nums.c_prev, L.c[2][2]);
  assert.equal(nums.m, L.m[1][2]);
  assert.equal(tokensText(rows.find((r) => r.id === "c").sym), "c_t = f_t ⊙ c_t+1 + i_t ⊙ g_t");
  assert.equal(tokensText(rows.find((r) => r.id === "h").sym), "h_t = W_hr m_t");
  const back = equationRows(run, { k: 1, dir: "reverse", t: 1, u: 0, mode: "backward" });
  assert.deepEqual(back.map((r) => r.id), ["dh", "dm", "do", "dc", "dg", "di", "df", "dAo", "dA", "dc_prev", "dh_prev", "dx"]);
  const b = rowNumbers(back);
  const G = L.grad;
  assert.equal(b.dm, G.m[1][0]);
  assert.equal(b.dc_prev, G.c_from_next[2][0]);
  assert.equal(tokensText(back.find((r) => r.id === "dc_prev").sym), "dc_t+1^next = dc_t ⊙ f_t");
  // The forward direction keeps t−1.
  const fwd = rowNumbers(equationRows(run, { k: 1, dir: "forward", t: 1, u: 2, mode: "forward" }));
  assert.equal(fwd.c_prev, BI.layers[1].forward.c[0][2]);
});

test("heatmaps per direction: m gets a panel, h is proj_size rows without the unit outline", () => {
  const run = makeRun(BI);
  const fig = heatmapFigure(run, { k: 0, dir: "reverse", mode: "forward", units: [1], width: 1000 });
  assert.deepEqual(fig.panels.map((p) => p.name), ["f", "i", "g", "o", "c", "m", "h"]);
  assert.equal(fig.panels[0].rows[4][1], BI.layers[0].reverse.f[4][1]);
  assert.equal(fig.panels[6].units, 2); // h: P = 2 rows
  assert.equal(fig.panels[6].cellUnits, false);
  assert.deepEqual(fig.layout.yaxis7.range, [2.5, 0.5]);
  assert.equal(fig.layout.shapes.length, 6); // outlined in every panel but h
  const narrow = heatmapGrid(run.heatmaps, 400);
  assert.equal(narrow.cols, 1);
  const boxes = run.heatmaps.map((_, j) => panelBox(run.heatmaps, j, 400));
  for (let a = 1; a < boxes.length; a += 1) assert.ok(boxes[a].top >= boxes[a - 1].top + boxes[a - 1].height);
  const chart = unitChartFigure(run, { k: 1, dir: "reverse", mode: "forward", units: [0], width: 500 });
  assert.deepEqual(chart.data[1].y, BI.layers[1].reverse.m.map((r) => r[0]));
});

test("overview: a row per direction; the cursor follows the direction shown", () => {
  const run = makeRun(BI);
  assert.equal(overviewValues(run, "forward").length, 4);
  const marks = overviewMarks(run, { start: 0, size: 5, mode: "forward", step: 1, dir: "reverse" }, { width: 124, height: 60 });
  // 5 steps over 50 px from x = 64: the reverse direction at step 1 is at position 3 (0-based).
  assert.equal(marks.cursor.left, 64 + 30);
  assert.equal(marks.veil.width, 0);
});

test("a large head: top k and the target's probability, never the whole matrices", () => {
  assert.equal(TOPK.output.full, false);
  assert.ok(!("probs" in TOPK.output) && !("y" in TOPK.output));
  const run = makeRun(TOPK);
  assert.equal(run.fullOutput, false);
  assert.equal(run.showTopK, true);
  assert.deepEqual(run.classTargets, TOPK.output.target.ids);
  assert.equal(run.targetProb(2), TOPK.output.target.probs[2]);
  assert.deepEqual(run.guess(0), { k: TOPK.output.top_k.ids[0][0], p: TOPK.output.top_k.probs[0][0] });
  const top = run.topK(1);
  assert.equal(top.length, 3);
  assert.equal(top[0].label, TOPK.vocab[TOPK.output.top_k.ids[1][0]]);
  assert.equal(run.gradYNorm, null);
  assert.equal(run.headY(0), null);
  const { geom } = setup(TOPK);
  assert.equal(geom.y.topK.length, 3);
  const frame = buildFrame(run, geom, { start: 0, mode: "forward", step: 2 });
  const listed = byName(frame, "topk");
  assert.equal(listed.text.length, 9); // three steps done, three predictions each
  assert.match(listed.text[0], /^\S+ (\.\d+|1|\d\.\d+e−\d+)$/);
  // The output circles and the hover work without y and probs.
  const outputs = byName(frame, "outputs");
  assert.match(outputs.text[0], /p\(target\)/);
  const back = buildFrame(run, geom, { start: 0, mode: "backward", step: 4 });
  assert.equal(byName(back, "topk").text.length, 15);
});

test("the request carries the architecture the controls hold", () => {
  const config = { source: "text", text: "hello", cell: "lstm", hidden: "6", layers: "2", seed: 0, forgetBias: 0, bidirectional: true, mergeMode: "ave", projSize: "3", bias: false, loss: "cross_entropy" };
  const body = buildRequest(config);
  assert.deepEqual([body.bidirectional, body.merge_mode, body.proj_size, body.bias], [true, "ave", 3, false]);
  const gru = buildRequest({ ...config, cell: "gru" });
  assert.ok(!("proj_size" in gru) && gru.bidirectional === true);
  // A saved model owns its architecture: none of it is sent.
  const saved = buildRequest({ ...config, modelId: "0123456789abcdef0123456789abcdef" });
  for (const key of ["bidirectional", "merge_mode", "proj_size", "bias"]) assert.ok(!(key in saved), key);
});
