// Issue 17: the cell view's legible minimum width and which sides of its box have more.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MIN_TEXT_PX, minSvgWidth, moreSides } from "../../static/js/cell/cellscroll.js";

test("the SVG's minimum width draws its smallest font at MIN_TEXT_PX", () => {
  assert.equal(MIN_TEXT_PX, 9);
  // The LSTM's 990-unit graph with 12.5-unit text: 9 px needs a scale of 0.72.
  assert.equal(minSvgWidth(990, 12.5), 713);
  assert.ok((713 / 990) * 12.5 >= 9);
  assert.equal(minSvgWidth(1140, 12.5), 821); // with a projection
  assert.equal(minSvgWidth(990, 0), 0); // nothing measured: no minimum
  assert.equal(minSvgWidth(0, 12.5), 0);
});

test("a scroll box has more on the left once scrolled, on the right until its end", () => {
  assert.deepEqual(moreSides({ scrollLeft: 0, clientWidth: 356, scrollWidth: 713 }), { left: false, right: true });
  assert.deepEqual(moreSides({ scrollLeft: 100, clientWidth: 356, scrollWidth: 713 }), { left: true, right: true });
  assert.deepEqual(moreSides({ scrollLeft: 357, clientWidth: 356, scrollWidth: 713 }), { left: true, right: false });
  assert.deepEqual(moreSides({ scrollLeft: 0, clientWidth: 930, scrollWidth: 930 }), { left: false, right: false });
});
