import assert from "node:assert/strict";
import { test } from "node:test";

import { addDictionary, en, language, setLanguage, t } from "../../static/js/core/i18n.js";

test("placeholders are filled, unknown ones left visible", () => {
  assert.equal(t("player.step", { t: 3, T: 10 }), "t = 3 / 10");
  assert.equal(t("player.step", { t: 3 }), "t = 3 / {T}");
});

test("a missing key in another language falls back to English", () => {
  // A partial dictionary (a language being written): what it lacks comes from English.
  addDictionary("xx-test", { "player.forward": "Vorwärts" });
  assert.equal(setLanguage("xx-test"), "xx-test");
  assert.equal(t("player.forward"), "Vorwärts");
  assert.equal(t("player.backward"), en["player.backward"]);
  assert.equal(t("no.such.key"), "no.such.key");
  assert.equal(setLanguage("xx"), "en");
  assert.equal(language(), "en");
  assert.equal(t("player.forward", {}, "xx-test"), "Vorwärts");
  assert.equal(t("player.forward", {}, "ko"), "순전파");
});

test("every value is a string", () => {
  for (const [key, value] of Object.entries(en)) assert.equal(typeof value, "string", key);
});
