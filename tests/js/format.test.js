import assert from "node:assert/strict";
import { test } from "node:test";

import { escapeHtml, maxAbs, norm, rms, sig, sig4, subscript, visibleChar } from "../../static/js/core/format.js";

test("four significant digits, exponent for tiny and huge numbers", () => {
  assert.equal(sig4(0.123456), "0.1235");
  assert.equal(sig4(12.3456), "12.35");
  assert.equal(sig4(-3), "−3.000");
  assert.equal(sig4(1.23456e-7), "1.235e−7");
  assert.equal(sig4(123456), "1.235e+5");
  assert.equal(sig4(0), "0");
  assert.equal(sig4(null), "–");
  assert.equal(sig4(Infinity), "∞");
  assert.equal(sig(0.987654, 2), "0.99");
});

test("escapeHtml neutralises markup", () => {
  assert.equal(escapeHtml("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
  assert.equal(escapeHtml(`a & "b" 'c'`), "a &amp; &quot;b&quot; &#39;c&#39;");
});

test("invisible characters get symbols", () => {
  assert.equal(visibleChar(" "), "␣");
  assert.equal(visibleChar("\n"), "↵");
  assert.equal(visibleChar("a"), "a");
  assert.equal(visibleChar(undefined), "");
});

test("subscripts and vector sizes", () => {
  assert.equal(subscript(10), "₁₀");
  assert.equal(norm([3, 4]), 5);
  assert.equal(maxAbs([1, -7, 3]), 7);
  assert.equal(rms([1, 1, 1, 1]), 1);
  assert.equal(rms([]), 0);
});
