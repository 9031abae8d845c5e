import assert from "node:assert/strict";
import { test } from "node:test";

import { brickSize, heatPixels } from "../../static/js/cell/heatimage.js";
import { colorAt, colorTable, hexToRgb, SCALES, scaleUnit, stateRange, TABLE_SIZE, valueScale } from "../../static/js/core/colors.js";

/** The RGBA of brick (t, u) (0-based) in a picture. */
function brick(picture, steps, units, t, u) {
  const size = brickSize(steps, units);
  const p = (u * size.y * picture.width + t * size.x) * 4;
  return Array.from(picture.pixels.slice(p, p + 4));
}

/** The colour the page's rule gives v, as the table rounds it. */
function expected(rule, v) {
  const at = scaleUnit(rule, v);
  return [...hexToRgb(colorAt(rule.colorscale, Math.round(at * (TABLE_SIZE - 1)) / (TABLE_SIZE - 1))), 255];
}

test("every brick has the colour the value rule gives its value; step across, unit down", () => {
  const steps = 7;
  const units = 3;
  // rows[t][u], values spread over and beyond each scale.
  const rows = Array.from({ length: steps }, (_, t) => Array.from({ length: units }, (_, u) => Math.sin(1.7 * t + 3.1 * u) * (1 + u)));
  for (const rule of [valueScale(true, "forward"), valueScale(false, "forward", stateRange(rows)), valueScale(false, "backward")]) {
    const picture = heatPixels(rows, rule);
    const size = brickSize(steps, units);
    assert.equal(picture.width, steps * size.x);
    assert.equal(picture.height, units * size.y);
    for (let t = 0; t < steps; t += 1) {
      for (let u = 0; u < units; u += 1) assert.deepEqual(brick(picture, steps, units, t, u), expected(rule, rows[t][u]), `${rule.name} t=${t} u=${u}`);
    }
    // A brick is one colour throughout (its last pixel too).
    const last = ((units * size.y - 1) * picture.width + steps * size.x - 1) * 4;
    assert.deepEqual(Array.from(picture.pixels.slice(last, last + 4)), expected(rule, rows[steps - 1][units - 1]));
  }
});

test("the table's colours are the scale's own at its stops; the ends are the scale's ends", () => {
  const table = colorTable(SCALES.tanh);
  assert.deepEqual(Array.from(table.slice(0, 3)), hexToRgb(SCALES.tanh[0][1]));
  const end = (TABLE_SIZE - 1) * 3;
  assert.deepEqual(Array.from(table.slice(end, end + 3)), hexToRgb(SCALES.tanh[4][1]));
});

test("a value without a colour is transparent; values past the range take the end colour", () => {
  const rule = valueScale(false, "forward", 1);
  const rows = [[Number.NaN, 5, -5]];
  const picture = heatPixels(rows, rule);
  assert.equal(brick(picture, 1, 3, 0, 0)[3], 0);
  assert.deepEqual(brick(picture, 1, 3, 0, 1), [...hexToRgb(SCALES.tanh[4][1]), 255]);
  assert.deepEqual(brick(picture, 1, 3, 0, 2), [...hexToRgb(SCALES.tanh[0][1]), 255]);
});

test("bricks are whole pixels: large runs one pixel a value, small ones scaled up by a whole factor", () => {
  assert.deepEqual(brickSize(1000, 256), { x: 1, y: 1 });
  assert.deepEqual(brickSize(10, 8), { x: 52, y: 32 });
  const big = heatPixels(Array.from({ length: 1000 }, () => new Array(256).fill(0.5)), valueScale(true, "forward"));
  assert.deepEqual([big.width, big.height], [1000, 256]);
});
