import assert from "node:assert/strict";
import { test } from "node:test";

import { centerWindow, followWindow, marginFor, windowRange, windowSize } from "../../static/js/diagram/window.js";

test("window size follows the width, never more than T", () => {
  assert.equal(windowSize(840, 10), 10);
  assert.equal(windowSize(840, 5), 5);
  assert.equal(windowSize(840, 500), 10);
  assert.equal(windowSize(100, 500), 4); // at least a few cells
  assert.equal(windowSize(5000, 500), 20); // at most 20
  assert.equal(windowSize(0, 1), 1);
});

test("centring clamps at both ends", () => {
  assert.equal(centerWindow(0, 100, 10), 0);
  assert.equal(centerWindow(50, 100, 10), 46);
  assert.equal(centerWindow(99, 100, 10), 90);
  assert.equal(centerWindow(3, 5, 10), 0);
});

test("stepping inside the window does not move it", () => {
  const size = 10;
  assert.equal(marginFor(size), 2);
  assert.equal(followWindow(20, 25, 100, size), 20);
  assert.equal(followWindow(20, 22, 100, size), 20);
});

test("near an edge it scrolls just enough to keep context", () => {
  assert.equal(followWindow(20, 28, 100, 10), 21); // 2 cells of context on the right
  assert.equal(followWindow(20, 21, 100, 10), 19);
  assert.equal(followWindow(0, 1, 100, 10), 0);
  assert.equal(followWindow(90, 99, 100, 10), 90);
  // Walking the whole sequence keeps the step in view all the way.
  let start = 0;
  for (let t = 0; t < 100; t += 1) {
    start = followWindow(start, t, 100, 10);
    const [a, b] = windowRange(start, 100, 10);
    assert.ok(t >= a && t <= b, `step ${t} in [${a}, ${b}]`);
  }
  for (let t = 99; t >= 0; t -= 1) {
    start = followWindow(start, t, 100, 10);
    const [a, b] = windowRange(start, 100, 10);
    assert.ok(t >= a && t <= b);
  }
});

test("windowRange is inclusive and clamped", () => {
  assert.deepEqual(windowRange(0, 5, 10), [0, 4]);
  assert.deepEqual(windowRange(95, 100, 10), [90, 99]);
});
