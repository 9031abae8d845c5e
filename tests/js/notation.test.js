// Issue 17: one notation in the cell view's equations: a negative operand is parenthesised
// ("0 − (−0.1483)", "(1 − (−0.5)²)"), never "0 − −0.1483".
import assert from "node:assert/strict";
import { test } from "node:test";

import { equationRows, parenthesizeNegatives, tokensText } from "../../static/js/cell/equations.js";
import { sig4 } from "../../static/js/core/format.js";
import { makeRun } from "../../static/js/core/run.js";
import { fakeResponse } from "./fixtures.js";

const o = (text) => ({ k: "t", text });
const n = (value) => ({ k: "n", value });

test("a negative number after an operator or squared is in parentheses", () => {
  const s = sig4;
  assert.equal(tokensText(parenthesizeNegatives([o("("), n(0), o(" − "), n(-0.1483), o(")")])), `(${s(0)} − (${s(-0.1483)}))`);
  assert.equal(s(-0.1483), "−0.1483");
  assert.equal(tokensText(parenthesizeNegatives([o("(1 − "), n(-0.5), o("²)")])), `(1 − (${s(-0.5)})²)`);
  assert.equal(tokensText(parenthesizeNegatives([o("= "), n(-2), o(" × "), n(3)])), `= ${s(-2)} × ${s(3)}`);
  assert.equal(tokensText(parenthesizeNegatives([o("= "), n(2), o(" ⊙ "), n(-3)])), `= ${s(2)} ⊙ (${s(-3)})`);
});

test("no equation row of any cell, pass or step prints two signs in a row", () => {
  for (const cell of ["lstm", "gru", "rnn"]) {
    const run = makeRun(fakeResponse({ cell, steps: 5, hidden: 4, layers: 2 }));
    for (const mode of ["forward", "backward"]) {
      for (let k = 0; k < 2; k += 1) {
        for (let t = 0; t < 5; t += 1) {
          for (let u = 0; u < 4; u += 1) {
            for (const row of equationRows(run, { k, t, u, mode })) {
              const text = tokensText(row.num);
              assert.doesNotMatch(text, /[−+×⊙]\s*[−-]\d/, `${cell} ${mode} k${k} t${t} u${u} ${row.id}: ${text}`);
              assert.doesNotMatch(text, /[^(\d]−\d[\d.e−]*²/, `${cell} ${mode} ${row.id}: a bare negative squared: ${text}`);
            }
          }
        }
      }
    }
  }
});
