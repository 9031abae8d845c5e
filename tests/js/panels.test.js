import assert from "node:assert/strict";
import { test } from "node:test";

import { extremes, flowRows, flowSummary, flowTraces, logSafe } from "../../static/js/panels/flowdata.js";
import { sig } from "../../static/js/core/format.js";
import { checkpointHeatmaps, fraction, initialState, reduce } from "../../static/js/panels/trainstate.js";

const result = {
  cells: {
    rnn: {
      loss: 1.5,
      grad_norm_h: [[1e-9, 1e-3, 1]],
      grad_norm_x: [0, 0, 0],
      saturation: [0, 0.5, 1],
      grad_norm_params: { before: 4, after: 2, factor: 0.5, threshold: 2 },
      spectral_radius: [0.6],
      max_singular_value: [0.9],
    },
    gru: { loss: 1, grad_norm_h: [[0, 0.1, 1]], grad_norm_x: [0, 0, 0], saturation: [0, 0, 0], grad_norm_params: { before: 1, after: 1, factor: 1, threshold: null } },
    lstm: {
      loss: 2,
      grad_norm_h: [[0.5, 0.7, 2]],
      grad_norm_c: [[2e9, 1, 1]],
      forget_product: [[0.1, 0.5, 1]],
      grad_norm_x: [0, 0, 0],
      saturation: [0.2, 0.2, 0.2],
      grad_norm_params: { before: 1, after: 1, factor: 1, threshold: null },
    },
  },
};

test("log-safe values leave gaps for zero and non-finite norms", () => {
  assert.equal(logSafe(0), null);
  assert.equal(logSafe(Number.NaN), null);
  assert.equal(logSafe(1e-300), 1e-300);
});

test("extremes mark vanished and exploded steps, 1-based", () => {
  assert.deepEqual(extremes([1e-9, 1, 1e9, 5e-8]), { low: [1], high: [3] });
});

test("one line per cell's hidden path plus the LSTM's cell path, then rings", () => {
  const traces = flowTraces(result, 0);
  const lines = traces.filter((tr) => tr.meta);
  assert.deepEqual(lines.map((tr) => tr.meta), ["h", "h", "h", "c"]);
  assert.deepEqual(lines[1].y, [null, 0.1, 1]); // the GRU's zero is a gap on a log axis
  const rings = traces.filter((tr) => !tr.meta);
  assert.equal(rings.length, 2); // RNN below 1e-8 at t=1, LSTM c above 1e8 at t=1
  assert.deepEqual(rings.map((r) => r.x), [[1], [1]]);
});

test("table rows show ratios, the spectrum and clipping before and after", () => {
  const rows = flowRows(result, 0);
  assert.deepEqual(rows.map((r) => r.cell), ["rnn", "gru", "lstm"]);
  assert.equal(rows[0].ratio, sig(1e-9, 3));
  assert.equal(rows[0].spectral, "0.600 / 0.900");
  assert.equal(rows[0].clip, "4.000 → 2.000");
  assert.match(rows[1].clip, /^1\.000 /);
  assert.equal(rows[0].saturation, "50 %");
  assert.ok(flowSummary(result, 0).includes(sig(1e-9, 2)));
});

test("training state folds progress, checkpoints and the final event", () => {
  let s = initialState(100);
  assert.equal(fraction(s), 0);
  s = reduce(s, { event: "progress", data: { step: 10, loss: 2, grad_norm: 3, clipped: true, steps_per_s: 50, elapsed_s: 0.2 } });
  s = reduce(s, { event: "checkpoint", data: { step: 10, layers: [{ f: [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]] }] } });
  s = reduce(s, { event: "progress", data: { step: 50, loss: 1, grad_norm: 1, steps_per_s: 50, elapsed_s: 1 } });
  assert.deepEqual(s.curve, { step: [10, 50], loss: [2, 1] });
  assert.equal(fraction(s), 0.5);
  assert.equal(s.clipped, false);
  s = reduce(s, { event: "done", data: { done: true, reason: "cancelled", step: 60 } });
  assert.equal(fraction(s), 0.6); // a cancelled run's bar stays where it stopped
  assert.equal(s.step, 60);
  const [map] = checkpointHeatmaps(s.checkpoints[0], ["f", "i"]);
  assert.equal(map.name, "f");
  assert.deepEqual(map.z, [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]); // units down, steps across
});
