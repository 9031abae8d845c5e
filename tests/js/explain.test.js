import assert from "node:assert/strict";
import { test } from "node:test";

import "./fixtures.js"; // loads the cell catalogue the graphs read

import { cellGraph } from "../../static/js/cell/cellgraph.js";
import { explainKeys, partOf, richText, STEPS, stepAt, visibleNodes } from "../../static/js/explain/explain.js";
import { en, ko } from "../../static/js/core/i18n.js";

test("the walk follows the seed: why, gates in order, forget, input, output, backward, the cell path, measured, further", () => {
  assert.deepEqual(
    STEPS.map((s) => s.id),
    [
      ...["why", "order", "forget", "candidate", "input", "output", "checkForward"],
      ...["twoWays", "gates", "slice", "vanishing", "compare", "checkBackward"],
      ...["weights", "firstGrad", "cellPath", "clipping", "gru", "gradcheck", "checkFurther"],
    ],
  );
  assert.equal(STEPS.find((s) => s.id === "compare").view, "gradflow"); // the step that uses the gradient-flow view
  const firstBackward = STEPS.findIndex((s) => s.mode === "backward");
  assert.ok(STEPS.slice(0, firstBackward).every((s) => s.mode === "forward"));
  assert.ok(STEPS.slice(firstBackward).every((s) => s.mode === "backward"));
  assert.equal(stepAt(-3).id, "why");
  assert.equal(stepAt(99).id, "checkFurther");
  // Every part ends in a step with questions, answered from the live run.
  assert.deepEqual(
    STEPS.filter((s) => s.questions).map((s) => [s.id, partOf(s), s.mode]),
    [
      ["checkForward", "forward", "forward"],
      ["checkBackward", "backward", "backward"],
      ["checkFurther", "further", "backward"],
    ],
  );
});

test("every step points at nodes of the LSTM graph and has text in both languages", () => {
  // The projected LSTM has every node (W_hr too); the plain one all but the projection.
  const graph = cellGraph("lstm", { proj: true });
  const ids = new Set(graph.nodes.map((n) => n.id));
  for (const step of STEPS) {
    assert.ok(step.nodes.length > 0, step.id);
    for (const id of step.nodes) assert.ok(ids.has(id), `${step.id}: ${id}`);
    assert.deepEqual(visibleNodes(step, graph), step.nodes);
    assert.deepEqual(visibleNodes(step, cellGraph("lstm")), step.nodes.filter((id) => id !== "proj"));
  }
  for (const key of explainKeys()) {
    assert.ok(en[key] && en[key].length > 10, `en ${key}`);
    assert.ok(ko[key] && /[가-힣]/.test(ko[key]), `ko ${key}`);
  }
  assert.ok(STEPS.find((s) => s.id === "slice").nodes.includes("slice"));
  // other cells: only the nodes they have
  const gru = visibleNodes(stepAt(2), cellGraph("gru"));
  assert.ok(gru.every((id) => cellGraph("gru").nodes.some((n) => n.id === id)));
});

test("rich text: coloured phrases, bold, paragraphs; everything else stays plain text", () => {
  const out = richText("A [[f|forget gate f]] and **bold** <b>x</b>\n\nsecond");
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], [
    { text: "A " },
    { text: "forget gate f", name: "f" },
    { text: " and " },
    { text: "bold", strong: true },
    { text: " <b>x</b>" },
  ]);
  assert.deepEqual(out[1], [{ text: "second" }]);
});

test("the explanation's markup is well formed in both languages and names the same colours", () => {
  for (const key of explainKeys().filter((k) => k.endsWith(".body"))) {
    for (const dict of [en, ko]) {
      const text = dict[key];
      const opens = (text.match(/\[\[/g) || []).length;
      const closes = (text.match(/\]\]/g) || []).length;
      assert.equal(opens, closes, key);
      assert.equal((text.match(/\*\*/g) || []).length % 2, 0, key);
    }
    const names = (dict) => [...dict[key].matchAll(/\[\[([a-z]+)\|/g)].map((m) => m[1]).sort();
    assert.deepEqual(names(ko), names(en), key);
  }
});
