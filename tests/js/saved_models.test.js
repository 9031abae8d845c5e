import assert from "node:assert/strict";
import { test } from "node:test";

import { shownName } from "../../static/js/panels/modelinfo.js";

// A gallery model as GET /api/models lists it: stored under its English title, with its titles.
const adding = {
  id: "a1",
  name: "Adding problem: the input gate opens twice",
  title: { en: "Adding problem: the input gate opens twice", ko: "덧셈 문제: 입력 게이트가 두 번 열려요" },
  source: { framework: "lstmvis", format: "gallery", task: "adding", file: "adding-lstm.safetensors" },
};
const mine = { id: "b2", name: "Adding problem: the input gate opens twice", title: null, source: { framework: "pytorch", format: "npz" } };

test("a gallery model reads under its title in the page's language", () => {
  assert.equal(shownName(adding, "ko"), "덧셈 문제: 입력 게이트가 두 번 열려요");
  assert.equal(shownName(adding, "en"), "Adding problem: the input gate opens twice");
  // A language the title lacks falls back to English.
  assert.equal(shownName(adding, "fr"), "Adding problem: the input gate opens twice");
});

test("a name someone gave stays as given, even one that reads like a gallery title", () => {
  assert.equal(shownName(mine, "ko"), mine.name);
  assert.equal(shownName({ id: "c3", name: "old record" }, "ko"), "old record"); // saved before titles
});
