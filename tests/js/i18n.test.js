import assert from "node:assert/strict";
import { test } from "node:test";

import { addDictionary, en, language, setLanguage, t } from "../../static/js/i18n.js";

test("placeholders are filled, unknown ones left visible", () => {
  assert.equal(t("player.step", { t: 3, T: 10 }), "t = 3 / 10");
  assert.equal(t("player.step", { t: 3 }), "t = 3 / {T}");
});

test("a missing key in another language falls back to English", () => {
  addDictionary("ko", { "player.forward": "순전파" });
  assert.equal(setLanguage("ko"), "ko");
  assert.equal(t("player.forward"), "순전파");
  assert.equal(t("player.backward"), en["player.backward"]);
  assert.equal(t("no.such.key"), "no.such.key");
  assert.equal(setLanguage("xx"), "en");
  assert.equal(language(), "en");
  assert.equal(t("player.forward", {}, "ko"), "순전파");
});

test("every value is a string", () => {
  for (const [key, value] of Object.entries(en)) assert.equal(typeof value, "string", key);
});
