// The gallery's guided path (static/js/panels/gallerytour.js) and how a gallery model is
// opened (gallerydata.js): pure functions on a small hand-made run whose numbers are known.

import { test } from "node:test";
import assert from "node:assert/strict";

import { openRequest } from "../../static/js/panels/gallerydata.js";
import { KEPT_PRODUCT, TOUR_VIEWS, tourStops } from "../../static/js/panels/gallerytour.js";

// The adding problem over 6 steps, marks at t = 2 and t = 5; unit 2 (0-based 1) is watched.
const inputs = [
  [0.1, 0],
  [0.4, 1],
  [0.3, 0],
  [0.2, 0],
  [0.5, 1],
  [0.6, 0],
];
const entry = {
  model_id: "m1",
  task: "adding",
  cell: "lstm",
  watch: [
    { layer: 0, quantity: "c", unit: 1 },
    { layer: 0, quantity: "i", unit: 1 },
  ],
  metrics: { mse: 0.001, baseline_mse: 0.17 },
  example: { inputs, loss: { kind: "mse", targets: [[null], [null], [null], [null], [null], [0.9]] } },
};
const unitRows = (values) => values.map((v) => [0, v]);
const cValues = [0.01, 0.41, 0.4, 0.41, 0.9, 0.89];
const data = {
  i: unitRows([0.01, 0.9, 0.02, 0.01, 0.95, 0.03]),
  f: unitRows([1, 0.9, 0.9, 0.9, 0.9, 0.9]),
  c: unitRows(cValues),
  grad: { c: unitRows([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) },
};
const run = {
  cell: "lstm",
  steps: 6,
  data: (k, dir) => (k === 0 && dir === "forward" ? data : null),
  headY: (t) => (t === 5 ? [0.88] : null),
};
const config = { modelId: "m1", source: "numbers", inputs };

test("the adding model's path: four views, the marked steps and this run's numbers", () => {
  const stops = tourStops(entry, run, config);
  assert.deepEqual(
    stops.map((s) => s.view),
    TOUR_VIEWS,
  );
  assert.deepEqual(
    stops.map((s) => [s.mode, s.step]),
    [
      ["forward", 2],
      ["forward", 5],
      ["forward", 6],
      ["backward", 2],
    ],
  );
  const [diagram, cell, heatmaps, flow] = stops;
  assert.equal(diagram.key, "add.lstm.diagram");
  assert.equal(diagram.params.u, 2); // 1-based on the page
  assert.equal(diagram.params.g1, "0.900");
  assert.equal(diagram.params.g2, "0.950");
  assert.equal(diagram.params.gRest, "0.0175"); // (0.01 + 0.02 + 0.01 + 0.03) / 4
  assert.equal(diagram.params.n, 4);
  assert.equal(cell.params.d1, "0.400"); // 0.41 - 0.01
  assert.equal(cell.params.d2, "0.490");
  assert.equal(cell.params.dMax, "0.0100"); // the largest change off the marks (t = 1 from zero, t = 3, 4, 6)
  assert.equal(heatmaps.params.sT, "0.890");
  assert.equal(heatmaps.params.y, "0.880");
  assert.equal(heatmaps.params.target, "0.900");
  // Back from t = 6 to t = 2: the forget gates of steps 3..6 multiply the cell path.
  assert.equal(flow.params.prod, "0.656");
  assert.equal(flow.key, 0.6561 >= KEPT_PRODUCT ? "lstm.kept" : "lstm.faded");
  assert.equal(flow.params.gk, "0.200");
  assert.equal(flow.params.ge, "0.600");
});

test("a faded product says so", () => {
  const faded = { ...data, f: unitRows([1, 0.1, 0.1, 0.1, 0.1, 0.1]) };
  const stops = tourStops(entry, { ...run, data: () => faded }, config);
  assert.equal(stops[3].key, "lstm.faded");
  assert.equal(stops[3].params.prod, "1.00e−4");
});

test("no path when the run is not the entry's example or not its model", () => {
  assert.deepEqual(tourStops(entry, run, { ...config, inputs: inputs.slice(1) }), []);
  assert.deepEqual(tourStops(entry, run, { ...config, modelId: "other" }), []);
  assert.deepEqual(tourStops(entry, run, { ...config, source: "text", text: "ab" }), []);
  assert.deepEqual(tourStops(entry, null, config), []);
});

test("opening a text model without a loss of its own asks for next-token cross-entropy", () => {
  const code = { model_id: "c1", task: "code", watch: [{ layer: 0, quantity: "c", unit: 3 }], example: { text: "def f():\n" } };
  assert.deepEqual(openRequest(code).loss, { kind: "cross_entropy" });
  assert.deepEqual(openRequest(entry).loss, entry.example.loss);
});
