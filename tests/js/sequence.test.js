import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeRows, encodeRows, formatRows, parseRows, sameRows, widenNullRows } from "../../static/js/core/sequence.js";

test("the editor reads one step per line, spaces or commas", () => {
  assert.deepEqual(parseRows("1 2\n3,4\n  5 ,  6  \n\n").rows, [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  assert.deepEqual(parseRows("1e-3\n-.5\n+2").rows, [[0.001], [-0.5], [2]]);
});

test("parse errors name the line and say what is wrong", () => {
  assert.deepEqual(parseRows("").error, { key: "error.empty", params: {} });
  assert.deepEqual(parseRows("1\nabc").error, { key: "error.parseNumber", params: { line: 2, token: "abc" } });
  assert.deepEqual(parseRows("1 2\n3").error, { key: "error.ragged", params: { line: 2, got: 1, want: 2 } });
  assert.deepEqual(parseRows("1\n\n2").error, { key: "error.nullInput", params: { line: 2 } });
  assert.equal(parseRows("Infinity").error.key, "error.parseNumber");
});

test("targets may skip steps; class targets are whole numbers", () => {
  assert.deepEqual(parseRows("-\n0.5\n\n1", { nulls: true }).rows, [null, [0.5], null, [1]]);
  assert.deepEqual(parseRows("-\n1\n3", { integers: true, nulls: true }).rows, [null, 1, 3]);
  assert.equal(parseRows("1.5", { integers: true }).error.key, "error.parseInteger");
  assert.deepEqual(parseRows("1 - 2", { nulls: true }).rows, [[1, null, 2]]);
});

test("format and parse round-trip", () => {
  const rows = [[0.1, 2], [null, null], [3, -4]];
  const back = parseRows(formatRows(rows), { nulls: true }).rows;
  assert.deepEqual(back, [[0.1, 2], null, [3, -4]]);
  assert.equal(formatRows([null, 1, 2]), "-\n1\n2");
});

test("the URL's compact rows round-trip", () => {
  const rows = [[0.1, 2], [3, -4e-7]];
  assert.equal(encodeRows(rows), "0.1,2;3,-4e-7");
  assert.deepEqual(decodeRows(encodeRows(rows)), rows);
  assert.deepEqual(decodeRows("1;;3", { integers: true }), [1, null, 3]);
  assert.deepEqual(decodeRows(";0.5"), [null, [0.5]]);
  assert.equal(decodeRows("1,x"), null);
  assert.equal(decodeRows(""), null);
  assert.ok(sameRows([[1], [2]], [[1], [2]]));
  assert.ok(!sameRows([[1], [2]], [[1], [3]]));
});

test("null rows widen to the targets' width", () => {
  assert.deepEqual(widenNullRows([null, [1, 2]]), [
    [null, null],
    [1, 2],
  ]);
});
