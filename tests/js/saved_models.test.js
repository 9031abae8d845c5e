import assert from "node:assert/strict";
import { test } from "node:test";

import { galleryTitles, isGalleryModel, shownName } from "../../static/js/panels/modelinfo.js";

// A gallery model as GET /api/models lists it: stored under its English title.
const adding = {
  id: "a1",
  name: "Adding problem: the input gate opens twice",
  source: { framework: "lstmvis", format: "gallery", task: "adding", file: "adding-lstm.safetensors" },
};
const mine = { id: "b2", name: "Adding problem: the input gate opens twice", source: { framework: "pytorch", format: "npz" } };
const gallery = [
  { model_id: "a1", title: { en: "Adding problem: the input gate opens twice", ko: "덧셈 문제: 입력 게이트가 두 번 열려요" } },
  { model_id: "c3" }, // no title: skipped
];

test("a gallery model reads under its title in the page's language", () => {
  const titles = galleryTitles(gallery);
  assert.equal(titles.size, 1);
  assert.equal(shownName(adding, titles, "ko"), "덧셈 문제: 입력 게이트가 두 번 열려요");
  assert.equal(shownName(adding, titles, "en"), "Adding problem: the input gate opens twice");
  // A language the title lacks falls back to English.
  assert.equal(shownName(adding, titles, "fr"), "Adding problem: the input gate opens twice");
});

test("a name someone gave stays as given, even one that reads like a gallery title", () => {
  const titles = galleryTitles(gallery);
  assert.equal(shownName(mine, titles, "ko"), mine.name);
  // Without the gallery's answer every model keeps its stored name.
  assert.equal(shownName(adding, new Map(), "ko"), adding.name);
  assert.equal(shownName(adding, null, "ko"), adding.name);
  assert.equal(galleryTitles(null).size, 0);
});

test("the gallery's models are told apart by their source", () => {
  assert.equal(isGalleryModel(adding), true);
  assert.equal(isGalleryModel(mine), false);
  assert.equal(isGalleryModel({ id: "x", name: "old", source: null }), false);
});
