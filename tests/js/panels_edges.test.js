// Issue 17, the panels' charts: each cell's gradient line told apart by colour, dash and
// marker (colour-blind safe, 3:1 on white), readable at T = 1000; one Plotly config with no
// cloud and one toolbar button; a stopped run's bar and axis; units counted from 1; heatmaps
// that fit a phone.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { CELL_LINE, contrast, hexToRgb } from "../../static/js/core/colors.js";
import { chartConfig, exportConfig, toImageOptions } from "../../static/js/core/plotconfig.js";
import { crossings, flowTable, flowTraces, legendItems, MARKERS, thresholdShapes } from "../../static/js/panels/flowdata.js";
import { checkpointHeatmaps, fraction, heatmapGrid, initialState, lossRows, reduce, stepRange, stoppedEarly } from "../../static/js/panels/trainstate.js";

// --- colour-vision simulation (Machado, Oliveira & Fernandes 2009, severity 1) and CIELAB ---
const CVD = {
  protan: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deutan: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritan: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};
const toLinear = (hex) => hexToRgb(hex).map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
function lab(rgb) {
  const [r, g, b] = rgb.map((v) => Math.min(1, Math.max(0, v)));
  const xyz = [0.4124 * r + 0.3576 * g + 0.1805 * b, 0.2126 * r + 0.7152 * g + 0.0722 * b, 0.0193 * r + 0.1192 * g + 0.9505 * b];
  const f = (t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const [fx, fy, fz] = xyz.map((v, k) => f(v / [0.95047, 1, 1.08883][k]));
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}
const seen = (hex, m) => lab(m ? m.map((row) => row.reduce((s, w, k) => s + w * toLinear(hex)[k], 0)) : toLinear(hex));
const deltaE = (a, b) => Math.hypot(...a.map((v, k) => v - b[k]));

test("each cell's line has its own colour: 3:1 on white, apart in normal and colour-blind vision", () => {
  const colours = Object.values(CELL_LINE);
  assert.equal(new Set(colours).size, 4);
  for (const c of colours) assert.ok(contrast(c) >= 3, `${c} has ${contrast(c).toFixed(2)}:1 on white`);
  for (const [vision, m] of [["normal", null], ...Object.entries(CVD)]) {
    for (let a = 0; a < colours.length; a++) {
      for (let b = a + 1; b < colours.length; b++) {
        const d = deltaE(seen(colours[a], m), seen(colours[b], m));
        assert.ok(d >= 10, `${colours[a]} and ${colours[b]} are ${d.toFixed(1)} apart in ${vision} vision`);
      }
    }
  }
  // The check itself can fail: red and green are one colour to a deuteranope.
  assert.ok(deltaE(seen("#ff0000", CVD.deutan), seen("#a0a000", CVD.deutan)) < 10);
  assert.equal(contrast("#ffffff"), 1);
  assert.ok(Math.abs(contrast("#000000") - 21) < 1e-9);
});

/** A compare answer with T steps: every norm shrinks by `factor` per step back from T. */
function answer(T, factor = 0.7) {
  const series = (f) => [Array.from({ length: T }, (_, k) => f ** (T - 1 - k))];
  const cell = (f) => ({ loss: 1, grad_norm_h: series(f), saturation: [0], grad_norm_params: { before: 1, after: 1, threshold: null } });
  return { cells: { rnn: cell(factor), gru: cell(factor ** 0.5), lstm: { ...cell(factor ** 0.8), grad_norm_c: series(factor ** 0.9) } } };
}

test("the lines differ by colour, dash and marker, and stay lines at T = 1000", () => {
  const lines = flowTraces(answer(1000), 0).filter((tr) => tr.meta);
  assert.equal(lines.length, 4);
  for (const key of ["color", "dash"]) assert.equal(new Set(lines.map((tr) => tr.line[key])).size, 4, key);
  assert.equal(new Set(lines.map((tr) => tr.marker.symbol)).size, 4);
  // Plotly draws at most `maxdisplayed` markers per trace (the line keeps every point).
  for (const tr of lines) {
    assert.ok(tr.marker.maxdisplayed > 0 && tr.marker.maxdisplayed <= MARKERS, tr.name);
    assert.equal(tr.y.length, 1000);
  }
  // A short sequence keeps a marker on every step.
  for (const tr of flowTraces(answer(20), 0).filter((x) => x.meta)) assert.equal(tr.marker.maxdisplayed, 0);
});

test("a vanished norm is marked once per line where it crossed, not on every step", () => {
  const traces = flowTraces(answer(1000), 0);
  const marks = traces.filter((tr) => !tr.meta);
  // Every line falls below 1e-8 long before t = 1: four lines, four marks of one point each.
  assert.equal(marks.length, 4);
  for (const m of marks) assert.equal(m.x.length, 1);
  assert.equal(marks.filter((m) => m.showlegend).length, 1);
  assert.deepEqual(crossings([1e-9, 1e-9, 1e-3, 1e9, 1]), { low: 2, high: 4 });
  // The band under 1e-8 reaches the smallest norm drawn.
  const bands = thresholdShapes(answer(1000), 0).filter((s) => s.type === "rect");
  assert.equal(bands.length, 1);
  assert.equal(bands[0].y1, 1e-8);
  assert.ok(bands[0].y0 < 1e-100);
  assert.equal(thresholdShapes(answer(10, 0.9), 0).filter((s) => s.type === "rect").length, 0);
});

test("the page's legend names every line with its style, and the data table has every step", () => {
  const traces = flowTraces(answer(60), 0);
  const items = legendItems(traces);
  assert.deepEqual(items.map((i) => i.kind), ["line", "line", "line", "line", "mark"]);
  assert.equal(new Set(items.slice(0, 4).map((i) => `${i.color}/${i.dash}/${i.symbol}`)).size, 4);
  const table = flowTable({ cells: { ...answer(30).cells, gru: { ...answer(30).cells.gru, grad_norm_h: [[0, ...Array(29).fill(1)]] } } }, 0);
  assert.equal(table.head.length, 5);
  assert.equal(table.rows.length, 30);
  assert.equal(table.rows[0][0], 1);
  assert.equal(table.rows[0][2], "0"); // an exact zero is a number in the table, a gap on the chart
  assert.equal(table.rows[29][1], "1");
});

test("every Plotly chart uses plotconfig.js: no toolbar or one PNG button, nothing sent to a cloud", () => {
  const config = exportConfig("x", { responsive: true });
  assert.deepEqual(config.modeBarButtons.flat(), ["toImage"]);
  // The panels' charts have no toolbar (their own Download PNG button instead).
  const panel = chartConfig();
  assert.equal(panel.displayModeBar, false);
  assert.deepEqual(toImageOptions("loss"), { format: "png", filename: "loss", scale: 2 });
  for (const c of [config, panel]) {
    assert.equal(c.displaylogo, false);
    for (const key of ["showLink", "showSendToCloud", "showEditInChartStudio", "sendData"]) assert.ok(!c[key], key);
  }
  const dir = new URL("../../static/js/", import.meta.url);
  const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".js"));
  let calls = 0;
  for (const f of files) {
    const code = readFileSync(new URL(f, dir), "utf8");
    assert.doesNotMatch(code, /sendDataToCloud|showSendToCloud:\s*true|showLink:\s*true|editInChartStudio/, f);
    // Every drawing call hands Plotly one of plotconfig.js's configurations.
    for (const m of code.matchAll(/Plotly(?:\(\))?\.(?:react|newPlot|plot)\(([^;]*)\);/g)) {
      calls += 1;
      assert.match(m[1], /exportConfig\(|chartConfig\(|DIAGRAM_CONFIG|STATIC_CONFIG/, `${f}: ${m[0].slice(0, 80)}`);
    }
  }
  assert.ok(calls >= 5, `found ${calls} Plotly calls`);
});

test("a cancelled run's bar stays where it stopped; the axis follows the steps done", () => {
  let s = initialState(20000);
  for (const step of [1, 50, 120]) s = reduce(s, { event: "progress", data: { step, loss: 1, grad_norm: 1, steps_per_s: 1, elapsed_s: 1 } });
  assert.deepEqual(stepRange(s), [0, 120]);
  s = reduce(s, { event: "done", data: { done: true, reason: "cancelled", step: 131 } });
  assert.equal(fraction(s), 131 / 20000);
  assert.equal(stoppedEarly(s), "cancelled");
  assert.deepEqual(stepRange(s), [0, 131]);
  assert.deepEqual(lossRows(s), [[1, 1], [50, 1], [120, 1]]);
  const done = reduce(initialState(10), { event: "done", data: { done: true, reason: "completed", step: 10 } });
  assert.equal(fraction(done), 1);
  assert.equal(stoppedEarly(done), null);
  assert.deepEqual(stepRange(initialState(500)), [0, 1]);
});

test("checkpoint heatmaps count units and steps from 1", () => {
  const [map] = checkpointHeatmaps({ layers: [{ f: [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]] }] }, ["f"]);
  assert.deepEqual(map.unitLabels, [1, 2, 3]);
  assert.deepEqual(map.stepLabels, [1, 2]);
});

test("the heatmaps fit the panel: one row when wide, rows of two or three on a phone, none overlapping", () => {
  const wide = heatmapGrid(6, 930);
  assert.equal(wide.rows, 1);
  assert.equal(wide.narrow, false);
  for (const width of [344, 500, 700, 930]) {
    for (const n of [1, 4, 6]) {
      const g = heatmapGrid(n, width);
      const plotWidth = width - g.margin.l - g.margin.r;
      for (const [j, c] of g.cells.entries()) {
        assert.ok(c.x[0] >= 0 && c.x[1] <= 1 + 1e-9 && c.y[0] >= -1e-9 && c.y[1] <= 1 + 1e-9, `${width}/${n}/${j}`);
        assert.ok((c.x[1] - c.x[0]) * plotWidth >= 80, `${width}/${n}: map ${j} is ${((c.x[1] - c.x[0]) * plotWidth).toFixed(0)} px wide`);
        for (const d of g.cells.slice(j + 1)) {
          const apart = c.x[1] <= d.x[0] || d.x[1] <= c.x[0] || c.y[1] <= d.y[0] || d.y[1] <= c.y[0];
          assert.ok(apart, `${width}/${n}: maps overlap`);
        }
      }
    }
  }
  assert.ok(heatmapGrid(6, 344).narrow && heatmapGrid(6, 344).rows >= 2);
  // Rows as even as they can be: six maps that fit four to a row go three and three.
  assert.equal(heatmapGrid(6, 44 + 150 + 4 * 90 + 3 * 34 + 20).cols, 3);
});

test("the panels' strings write subscripts one way (Unicode), never raw _t, _{t−1} or ÷", async () => {
  const { en, ko } = await import("../../static/js/panels/strings.js");
  const raw = [];
  for (const [lang, dict] of [["en", en], ["ko", ko]]) {
    for (const [key, value] of Object.entries(dict)) if (/[A-Za-z]_[A-Za-z{]|÷/.test(value)) raw.push(`${lang} ${key}: ${value.slice(0, 60)}`);
  }
  assert.deepEqual(raw, []);
});

test("the LSTM's two paths show where they coincide, and the dotted guides have a legend entry", () => {
  const traces = flowTraces(answer(60), 0);
  const h = traces.find((tr) => tr.meta === "h" && tr.line.color === CELL_LINE.lstm);
  const c = traces.find((tr) => tr.meta === "c");
  // A wide band under a thin line drawn over it (c comes after h), big diamonds under small triangles.
  assert.ok(h.line.width >= c.line.width + 2, `${h.line.width} vs ${c.line.width}`);
  assert.ok(h.marker.size >= c.marker.size + 3);
  assert.ok(traces.indexOf(c) > traces.indexOf(h));
  const items = legendItems(traces, thresholdShapes(answer(60), 0));
  const guide = items.find((i) => i.kind === "guide");
  assert.ok(guide, "a legend entry for the dotted lines at 1e-8 and 1e8");
  assert.match(guide.name, /1e-8.*1e8/);
  assert.equal(guide.dash, "dot");
  // No guide drawn, no entry.
  assert.equal(legendItems(traces).filter((i) => i.kind === "guide").length, 0);
});
