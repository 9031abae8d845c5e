// A heatmap panel's picture as RGBA pixels, one brick per (step, unit).  Pure: no DOM.
//
// The page colours the bricks itself rather than handing Plotly a heatmap trace: at
// T = 1000, H = 256 six panels are 1.5 million values, and Plotly's heatmap (defaults,
// calc, its per-brick colour parsing) took several hundred ms of one task on each Run.
// Here a value goes through the same rule as everywhere else (colors.js valueScale and
// scaleUnit) and a table of the scale's colours, in a loop over typed arrays; the picture is
// then a layout image under Plotly's axes.  The values themselves are never resampled: a
// brick is one value, drawn at least one pixel wide.

import { colorTable, scaleUnit, TABLE_SIZE } from "../core/colors.js";

// Small runs are drawn with bricks of several pixels, so the browser scales the picture up
// by a whole factor or less, never smearing one brick into its neighbours.
const MIN_WIDTH = 512;
const MIN_HEIGHT = 256;

/** Pixels per brick, across (steps) and down (units), for T steps of n units. */
export function brickSize(steps, units) {
  return { x: Math.max(1, Math.ceil(MIN_WIDTH / steps)), y: Math.max(1, Math.ceil(MIN_HEIGHT / units)) };
}

/**
 * The picture of `rows` (rows[t][u], T steps of n units) under a value rule (valueScale):
 * {width, height, pixels} with step t across and unit u down (unit 1 on top), each brick
 * brickSize() pixels.  A value without a colour (NaN, ±∞ where the rule has none) is
 * transparent, so the white plot shows through, as Plotly draws a gap.
 */
export function heatPixels(rows, rule, table = colorTable(rule.colorscale)) {
  const steps = rows.length;
  const units = steps ? rows[0].length : 0;
  const brick = brickSize(steps || 1, units || 1);
  const width = steps * brick.x;
  const height = units * brick.y;
  const pixels = new Uint8ClampedArray(width * height * 4);
  const last = TABLE_SIZE - 1;
  for (let t = 0; t < steps; t += 1) {
    const row = rows[t];
    for (let u = 0; u < units; u += 1) {
      const at = scaleUnit(rule, row[u]);
      if (at === null) continue; // transparent
      const c = Math.round(at * last) * 3;
      for (let dy = 0; dy < brick.y; dy += 1) {
        let p = ((u * brick.y + dy) * width + t * brick.x) * 4;
        for (let dx = 0; dx < brick.x; dx += 1, p += 4) {
          pixels[p] = table[c];
          pixels[p + 1] = table[c + 1];
          pixels[p + 2] = table[c + 2];
          pixels[p + 3] = 255;
        }
      }
    }
  }
  return { width, height, pixels };
}
