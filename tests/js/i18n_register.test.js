// Issue 18: both dictionaries agree in every part that registers strings, the Korean of the
// explanation and the panels speaks 해요체 throughout, and every glossary concept has one
// Korean term (no variant of it anywhere).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { en, ko } from "../../static/js/core/i18n.js";
import { GLOSSARY, glossaryStrings } from "../../static/js/core/glossary.js";

const dir = new URL("../../static/js/", import.meta.url);
const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".js"));
// Every module that registers its own strings, in any folder, is loaded (and so registered).
const registering = files.filter((f) => /registerStrings\(\s*\{/.test(readFileSync(new URL(f, dir), "utf8")));
const parts = await Promise.all(registering.map((f) => import(new URL(f, dir).href)));

const placeholders = (text) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every part that registers strings has the same keys and placeholders in both languages", () => {
  assert.ok(registering.length >= 1, "panels/strings.js registers its strings");
  for (const [k, part] of parts.entries()) {
    assert.ok(part.en && part.ko, `${registering[k]} exports en and ko`);
    assert.deepEqual(Object.keys(part.ko).sort(), Object.keys(part.en).sort(), registering[k]);
    for (const key of Object.keys(part.en)) assert.deepEqual(placeholders(part.ko[key]), placeholders(part.en[key]), `${registering[k]}: ${key}`);
  }
  // And the whole dictionary (core and every part) as the page looks it up.
  assert.deepEqual(Object.keys(ko).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) assert.deepEqual(placeholders(ko[key]), placeholders(en[key]), key);
});

/** The sentences of a Korean string, markup removed, each without its closing punctuation. */
function sentenceEnds(text) {
  const plain = String(text)
    .replace(/\[\[[a-z]+\|([^\]]+)\]\]/g, "$1")
    .replace(/\*\*/g, "")
    .replace(/<[^>]+>/g, " ");
  return plain
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim().replace(/[\s.!?…:)」’”"]+$/, "").replace(/\([^()]*\)$/, "").trim())
    .filter(Boolean);
}

test("the Korean of the explanation, the panels and the questions ends every sentence in 해요체", () => {
  const panelKeys = new Set(parts.flatMap((part) => Object.keys(part.ko)));
  const taught = Object.keys(ko).filter((key) => /^(explain|question|gradcheck|glossary|flow|train|models|eq|cell|controls|preset|legend|error)\./.test(key) || panelKeys.has(key));
  assert.ok(taught.length > 200);
  const wrong = [];
  for (const key of taught) {
    if (/니다/.test(ko[key])) wrong.push(`${key}: 합니다체`);
    for (const end of sentenceEnds(ko[key])) {
      // -다 and -까 end a sentence in 해라체 or 합니다체; 해요체 ends in -요 (or a bare noun phrase).
      if (/[다까]$/.test(end)) wrong.push(`${key}: …${end.slice(-20)}`);
    }
  }
  assert.deepEqual(wrong, []);
  // The check itself catches what it should.
  assert.deepEqual(sentenceEnds("비워 두면 자르지 않습니다. 값이 커요."), ["비워 두면 자르지 않습니다", "값이 커요"]);
});

test("every glossary concept has one Korean term: no variant of it in any Korean string", () => {
  const found = [];
  for (const entry of GLOSSARY) {
    for (const variant of entry.avoid) {
      // A variant counts as a word of its own (not inside a longer word: 플레이어 is not 레이어).
      const word = new RegExp(`(^|[^가-힣])${variant.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
      for (const [key, value] of Object.entries(ko)) if (word.test(value)) found.push(`${key}: ${variant} (use ${entry.ko})`);
    }
  }
  assert.deepEqual(found, []);
  // The dictionaries carry the glossary, and the names of the gates and states use its terms.
  for (const [key, value] of Object.entries(glossaryStrings("ko"))) assert.equal(ko[key], value);
  for (const [key, value] of Object.entries(glossaryStrings("en"))) assert.equal(en[key], value);
  const koTerm = Object.fromEntries(GLOSSARY.map((e) => [e.id, e.ko]));
  assert.ok(ko["gate.f"].startsWith(koTerm.forgetGate) && ko["name.c"].startsWith(koTerm.cellState));
  // Where the English names a task, the Korean uses the glossary's name for it.
  for (const [id, pattern] of [["copyTask", /copy task/i], ["temporalOrder", /^temporal order/i], ["addingProblem", /adding problem/i], ["logScale", /log scale/i], ["clipping", /gradient[^.]*clip|clip[^.]*gradient/i]]) {
    for (const key of Object.keys(en).filter((k) => pattern.test(en[k]) && !k.startsWith("term."))) {
      if (id === "clipping" && !/[가-힣]/.test(ko[key])) continue;
      assert.ok(ko[key].includes(koTerm[id]) || (id === "clipping" && ko[key].includes("클리핑")), `${key}: "${ko[key]}" should say ${koTerm[id]}`);
    }
  }
  // The slope of a function is 미분값, never 기울기 (which is the gradient).
  for (const [key, value] of Object.entries(ko)) assert.ok(!/tanh의 기울기|함수의 기울기/.test(value), key);
  // Korean equations carry no English words as superscripts.
  assert.equal(ko["eq.sup.next"], "다음");
  assert.equal(ko["eq.sup.above"], "위");
});
