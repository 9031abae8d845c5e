// The cell catalogue the page reads from the API, and the views that follow it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { cellInfo, cellTypes, heatmapNames, isSigmoid, stripNames } from "../../static/js/core/cells.js";
import { makeRun } from "../../static/js/core/run.js";
import { CELLS, recordedResponse } from "./fixtures.js";

test("the catalogue is the API's: every cell, in reading order", () => {
  assert.deepEqual(cellTypes(), ["lstm", "gru", "rnn"]);
  assert.deepEqual(stripNames("lstm"), ["f", "i", "g", "o"]);
  assert.deepEqual(stripNames("gru"), ["r", "z", "n"]);
  assert.deepEqual(heatmapNames("lstm"), ["f", "i", "g", "o", "c", "h"]);
  assert.ok(isSigmoid("lstm", "f") && !isSigmoid("lstm", "g") && isSigmoid("gru", "z") && !isSigmoid("rnn", "h"));
  assert.throws(() => cellInfo("transformer"), /unknown cell type transformer/);
});

test("every quantity the page draws is an array the API returns", () => {
  for (const [cell, info] of Object.entries(CELLS)) {
    const arrays = new Set(info.arrays);
    for (const name of [...info.strips, ...info.heatmaps, ...info.sigmoid]) assert.ok(arrays.has(name), `${cell}: ${name}`);
  }
});

test("a real response of every cell becomes a run with the catalogue's strips", () => {
  for (const cell of cellTypes()) {
    const resp = recordedResponse(cell);
    const run = makeRun(resp);
    assert.equal(run.cell, cell);
    assert.deepEqual(run.gates, stripNames(cell));
    for (const name of heatmapNames(cell)) assert.equal(resp.layers[0][name].length, resp.steps, `${cell}.${name}`);
  }
});
