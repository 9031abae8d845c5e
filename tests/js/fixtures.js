// Small synthetic /api/backward responses (the shape the API returns) for the unit tests,
// built from the cell catalogue the API serves, and real responses recorded from the API.
// Both are written by tests/api/test_page_fixtures.py, so they cannot drift from the server.

import { readFileSync } from "node:fs";

import { setCells } from "../../static/js/core/cells.js";

const read = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

/** GET /api/limits `cells`, as recorded; importing this module loads it into core/cells.js. */
export const CELLS = read("cells.json");
setCells(CELLS);

/** A real /api/backward response (T = 5, H = 3, 2 layers, text "hello!", precision 6). */
export function recordedResponse(cell) {
  return read(`backward-${cell}.json`);
}

const GATES = Object.fromEntries(Object.entries(CELLS).map(([cell, c]) => [cell, c.gate_order]));
const FORWARD = Object.fromEntries(Object.entries(CELLS).map(([cell, c]) => [cell, c.forward.filter((n) => n !== "x")]));

// Deterministic values in (-1, 1) that differ by array, layer, step and unit.
function matrix(rows, cols, seed) {
  return Array.from({ length: rows }, (_, t) =>
    Array.from({ length: cols }, (_, u) => Math.sin(seed * 12.9898 + t * 78.233 + u * 37.719)),
  );
}

/**
 * A response for `cell` with T steps, H units, L layers.  Gradients on the rails shrink
 * by 10x per step backwards, so magnitude bins can be checked.
 */
export function fakeResponse({ cell = "lstm", steps = 5, hidden = 3, layers = 2, text = "hello!", loss = "cross_entropy" } = {}) {
  const tokens = text ? Array.from(text).slice(0, steps + 1) : null;
  const vocab = tokens ? [...new Set(tokens)].sort() : null;
  const inputSize = vocab ? vocab.length : 1;
  const out = [];
  for (let k = 0; k < layers; k += 1) {
    const width = k === 0 ? inputSize : hidden;
    const layer = { x: matrix(steps, width, 1 + k) };
    for (const [n, name] of FORWARD[cell].entries()) {
      const w = name === "a" && cell === "lstm" ? 4 * hidden : hidden;
      layer[name] = matrix(steps, w, 10 + n + 20 * k);
    }
    for (const name of CELLS[cell].sigmoid) {
      if (layer[name]) layer[name] = layer[name].map((row) => row.map((v) => (v + 1) / 2));
    }
    const decay = (t) => 10 ** -(steps - 1 - t);
    const grad = {};
    for (const name of ["x", ...FORWARD[cell]]) {
      grad[name] = (name === "x" ? layer.x : layer[name]).map((row, t) => row.map((v) => v * decay(t)));
    }
    grad.h_from_above = layer.h.map((row, t) => row.map(() => 0.5 * decay(t)));
    grad.h_from_next = layer.h.map((row, t) => row.map(() => (t === steps - 1 ? 0 : 0.1 * decay(t))));
    if (cell === "lstm") grad.c_from_next = layer.c.map((row, t) => row.map(() => (t === steps - 1 ? 0 : 0.2 * decay(t))));
    grad.h0 = new Array(hidden).fill(1e-6);
    if (cell === "lstm") grad.c0 = new Array(hidden).fill(2e-6);
    layer.grad = grad;
    out.push(layer);
  }
  const classes = vocab ? vocab.length : 2;
  const probs = Array.from({ length: steps }, () => new Array(classes).fill(1 / classes));
  const output =
    loss === "dh"
      ? null
      : { y: matrix(steps, classes, 99), probs: loss === "cross_entropy" ? probs : undefined, grad_y: matrix(steps, classes, 98) };
  return {
    cell,
    hidden_size: hidden,
    num_layers: layers,
    input_size: inputSize,
    steps,
    gate_order: GATES[cell],
    tokens,
    vocab,
    loss_kind: loss,
    loss: 1.2345678,
    layers: out,
    output,
  };
}

/** A minimal /api/presets body. */
export function fakePresets() {
  return [
    {
      name: "hello",
      title: "Text: hello world",
      description: "text",
      request: { cell: "lstm", hidden_size: 8, num_layers: 1, seed: 0, forget_bias: 0, text: "hello world" },
    },
    {
      name: "sine",
      title: "Sine",
      description: "numbers",
      request: {
        cell: "lstm",
        hidden_size: 8,
        num_layers: 1,
        seed: 0,
        forget_bias: 0,
        inputs: [[0], [0.5], [1]],
        loss: { kind: "mse", targets: [[0.5], [1], [0.5]] },
      },
    },
    {
      name: "copy",
      title: "Copy",
      description: "classes",
      request: {
        cell: "lstm",
        hidden_size: 16,
        num_layers: 1,
        seed: 0,
        forget_bias: 0,
        inputs: [
          [1, 0],
          [0, 1],
          [1, 0],
        ],
        loss: { kind: "cross_entropy", targets: [null, 1, 0], num_classes: 4 },
      },
    },
  ];
}
