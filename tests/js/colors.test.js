import assert from "node:assert/strict";
import { test } from "node:test";

import {
  binStyle,
  colorAt,
  cssGradient,
  identity,
  identityText,
  logUnit,
  NORM_BINS,
  normBin,
  RAIL_WIDTH,
  SCALES,
  scaleUnit,
  signedLog,
  valueScale,
} from "../../static/js/core/colors.js";

test("each quantity has its own identity colour, GRU blocks borrow the LSTM's", () => {
  const six = ["f", "i", "g", "o", "c", "h"].map(identity);
  assert.equal(new Set(six).size, 6);
  assert.equal(identity("r"), identity("f"));
  assert.equal(identity("z"), identity("i"));
  assert.equal(identity("n"), identity("g"));
  assert.match(identityText("h"), /^#[0-9a-f]{6}$/);
  assert.notEqual(identityText("h"), identity("h").toLowerCase());
});

test("scales run from 0 to 1 with hex colours", () => {
  for (const scale of Object.values(SCALES)) {
    assert.equal(scale[0][0], 0);
    assert.equal(scale.at(-1)[0], 1);
    for (const [, c] of scale) assert.match(c, /^#[0-9a-f]{6}$/i);
  }
});

test("colorAt interpolates and clamps", () => {
  const scale = [
    [0, "#000000"],
    [1, "#ffffff"],
  ];
  assert.equal(colorAt(scale, 0), "#000000");
  assert.equal(colorAt(scale, 1), "#ffffff");
  assert.equal(colorAt(scale, 0.5), "#808080");
  assert.equal(colorAt(scale, -3), "#000000");
  assert.equal(colorAt(scale, 7), "#ffffff");
  assert.equal(colorAt(scale, NaN), "#000000");
  // Diverging scales are white in the middle.
  assert.equal(colorAt(SCALES.tanh, 0.5), "#f7f7f7");
  assert.equal(colorAt(SCALES.grad, 0.5), "#f7f7f7");
});

test("gradient magnitudes sit on a fixed log10 window 1e-8 .. 1", () => {
  assert.equal(logUnit(0), 0);
  assert.equal(logUnit(1e-12), 0);
  assert.equal(logUnit(1e-8), 0);
  assert.equal(logUnit(1e-4), 0.5);
  assert.equal(logUnit(1), 1);
  assert.equal(logUnit(1e3), 1);
  assert.equal(signedLog(-1e-4), -0.5);
  assert.equal(signedLog(1e-2), 0.75);
  assert.equal(signedLog(0), 0);
  assert.equal(signedLog(NaN), null);
});

test("norm bins grow in width and darken with size", () => {
  assert.equal(normBin(0), 0);
  assert.equal(normBin(1), NORM_BINS - 1);
  assert.equal(normBin(50), NORM_BINS - 1);
  assert.ok(normBin(1e-2) > normBin(1e-6));
  const small = binStyle(0);
  const big = binStyle(NORM_BINS - 1);
  assert.ok(big.width > small.width);
  assert.ok(small.width >= RAIL_WIDTH.min && big.width <= RAIL_WIDTH.max);
});

test("cssGradient lists every stop", () => {
  const css = cssGradient(SCALES.sigmoid);
  assert.match(css, /^linear-gradient\(to right, /);
  assert.equal(css.split("%").length - 1, SCALES.sigmoid.length);
});

test("one colour rule: forward gates 0..1, other values -1..1, gradients by signed log size", () => {
  const gate = valueScale(true, "forward");
  const value = valueScale(false, "forward");
  const grad = valueScale(true, "backward");
  assert.deepEqual([gate.name, gate.zmin, gate.zmax], ["sigmoid", 0, 1]);
  assert.deepEqual([value.name, value.zmin, value.zmax], ["tanh", -1, 1]);
  assert.deepEqual([grad.name, grad.zmin, grad.zmax], ["grad", -1, 1]);
  assert.equal(scaleUnit(gate, 0.25), 0.25);
  assert.equal(scaleUnit(value, 0), 0.5);
  assert.equal(scaleUnit(value, 5), 1); // clipped, never rescaled
  assert.equal(scaleUnit(grad, -1), 0); // |g| = 1e0: the end of the window, negative side
  assert.equal(scaleUnit(grad, 1e-8), 0.5); // at the bottom of the window: no colour either way
  assert.equal(scaleUnit(value, NaN), null);
});

test("an unbounded state's colour range is fixed for the run: 1 within -1..1, else 2, 5, 10, 20 ... above its peak", async () => {
  const { stateRange, valueScale } = await import("../../static/js/core/colors.js");
  assert.equal(stateRange([[0.3, -0.99]]), 1);
  assert.equal(stateRange([[0.3], [-1.5]]), 2);
  assert.equal(stateRange([[-7.86, 0.1]]), 10);
  assert.equal(stateRange([[4.9]]), 5);
  assert.equal(stateRange([[NaN, 21]]), 50);
  assert.equal(stateRange(null), 1);
  const rule = valueScale(false, "forward", 10);
  assert.deepEqual([rule.zmin, rule.zmax], [-10, 10]);
  assert.deepEqual([valueScale(true, "forward", 10).zmax, valueScale(false, "backward", 10).zmax], [1, 1]);
});
