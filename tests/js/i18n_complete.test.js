// Both languages are complete: every key of `en` is in `ko` and the other way round (this
// covers the panels' strings too: importing panels/strings.js registers them), with the same placeholders.
import assert from "node:assert/strict";
import { test } from "node:test";

import { en, ko } from "../../static/js/core/i18n.js";
import { en as panelEn } from "../../static/js/panels/strings.js";

const placeholders = (text) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every English key has a Korean string, and no Korean key is unknown in English", () => {
  const missing = Object.keys(en).filter((key) => !Object.hasOwn(ko, key));
  const extra = Object.keys(ko).filter((key) => !Object.hasOwn(en, key));
  assert.deepEqual(missing, [], "keys missing in ko");
  assert.deepEqual(extra, [], "keys missing in en");
});

test("placeholders match between the languages", () => {
  for (const key of Object.keys(en)) {
    if (!Object.hasOwn(ko, key)) continue;
    assert.deepEqual(placeholders(ko[key]), placeholders(en[key]), key);
  }
});

test("the page's Korean strings are Korean where English has words (not copied English)", () => {
  // Strings that are the same in both languages: names, symbols and formats.  (The panels'
  // strings belong to their own module and tests.)
  const same = Object.keys(en).filter((key) => ko[key] === en[key] && !Object.hasOwn(panelEn, key));
  for (const key of same) assert.ok(!/[a-z]{4,}/.test(en[key].replace(/\{\w+\}|LSTM|GRU|RNN|tanh|hello world/g, "")), `${key}: "${en[key]}" is untranslated`);
  for (const [key, value] of Object.entries(ko)) assert.equal(typeof value, "string", key);
});
