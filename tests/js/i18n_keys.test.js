// Every i18n key the page uses exists in the English dictionary.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { en } from "../../static/js/core/i18n.js";

const root = new URL("../../", import.meta.url);
// Every module that registers strings of its own (the panels, the gallery, the player ...),
// loaded so its keys are in the dictionary the checks below read.
const jsDir = new URL("static/js/", root);
const registering = readdirSync(jsDir, { recursive: true })
  .filter((f) => f.endsWith(".js"))
  .filter((f) => /registerStrings\(\s*\{/.test(readFileSync(new URL(f, jsDir), "utf8")));
assert.ok(registering.length >= 3);
await Promise.all(registering.map((f) => import(new URL(f, jsDir).href)));

test("keys in the template exist", () => {
  const html = readFileSync(new URL("templates/index.html", root), "utf8");
  const keys = [...html.matchAll(/data-i18n(?:-label|-title)?="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(keys.length > 20);
  for (const key of keys) assert.ok(Object.hasOwn(en, key), key);
});

test("literal keys in the scripts exist, in every folder", () => {
  const dir = new URL("static/js/", root);
  const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".js"));
  assert.ok(files.some((f) => f.includes("/")), "modules in folders are read too");
  for (const file of files) {
    const src = readFileSync(new URL(file, dir), "utf8");
    for (const m of src.matchAll(/\bt(?:r)?\(\s*"([a-zA-Z0-9_]+\.[a-zA-Z0-9_.]+)"/g)) assert.ok(Object.hasOwn(en, m[1]), `${file}: ${m[1]}`);
    for (const m of src.matchAll(/relabel\([^,]+,\s*[^"]*"([a-zA-Z0-9_]+\.[a-zA-Z0-9_.]+)"(?:\s*:\s*"([a-zA-Z0-9_]+\.[a-zA-Z0-9_.]+)")?/g)) {
      for (const key of [m[1], m[2]].filter(Boolean)) assert.ok(Object.hasOwn(en, key), `${file}: ${key}`);
    }
  }
});

test("the templates hold no user-visible text outside i18n.js (but a title before scripts run)", () => {
  const html = ["templates/index.html", "templates/panels.html"]
    .map((file) => readFileSync(new URL(file, root), "utf8"))
    .join("\n")
    .replace(/\{#[\s\S]*?#\}/g, "")
    .replace(/\{%[\s\S]*?%\}/g, "")
    .replace(/<title>[^<]*<\/title>/, "")
    .replace(/<script[\s\S]*?<\/script>/g, "")
    .replace(/<svg[\s\S]*?<\/svg>/g, "")
    .replace(/<[^>]+>/g, "");
  assert.equal(html.trim(), "");
});
