// The explanation's questions, answered from the live run, and the numbers its step texts
// quote.  Pure: no DOM.
//
// A question is about the cell the equations show: layer k, direction dir, position t
// (0-based) and unit u (0-based) of the run on the page.  Its answer is computed from the
// trace (the same arrays the equations print), and `tolerance` says how far a reader's
// answer may be from it when the reader multiplies the printed, 4-digit numbers.  Every
// question is about the LSTM (the walk follows it).  Prompts are i18n keys
// ("question.<id>") with the placeholders of `questionParams`.

import { prevPosition } from "../cell/cellgraph.js";

const product = (a, b) => ({ answer: a * b, tolerance: 0.01 * Math.abs(a * b) + 1e-9 });

export const QUESTIONS = Object.freeze({
  // Forward: what the forget gate keeps and what the input gate writes.
  keep: {
    mode: "forward",
    solve: ({ L, t, u, p }) => product(L.f[t][u], p !== null ? L.c[p][u] : 0),
  },
  write: {
    mode: "forward",
    solve: ({ L, t, u }) => product(L.i[t][u], L.g[t][u]),
  },
  // Backward: the part of dc_{t-1} through the direct edge, and what a closed gate sends.
  edge: {
    mode: "backward",
    solve: ({ L, t, u }) => product(L.grad.c[t][u], L.f[t][u]),
  },
  closed: {
    mode: "backward",
    solve: () => ({ answer: 0, tolerance: 1e-12 }),
  },
  // Further: dc_t minus its part from the next step is the part through h_t.
  throughH: {
    mode: "backward",
    solve: ({ L, t, u }) => {
      const total = L.grad.c[t][u];
      const next = L.grad.c_from_next[t][u];
      return { answer: total - next, tolerance: 0.002 * (Math.abs(total) + Math.abs(next)) + 1e-9 };
    },
  },
  init: {
    mode: "backward",
    solve: ({ run }) => {
      const answer = 0.5 ** run.steps;
      return { answer, tolerance: 0.01 * answer };
    },
  },
});

/** What a question is about: {run, L, k, dir, t, u, p}, or null when it cannot be asked. */
export function questionState(run, { layer = 1, dir = "forward", step = 1, unit = 1 } = {}) {
  if (!run || run.cell !== "lstm") return null;
  const k = layer - 1;
  const t = step - 1;
  const u = unit - 1;
  const L = run.data(k, dir);
  if (!L || !L.f || !L.f[t] || L.f[t][u] === undefined) return null;
  return { run, L, k, dir, t, u, p: prevPosition(dir, t, run.steps) };
}

/** The answer and tolerance of question `id` in a state (null without one). */
export function solve(id, state) {
  const q = QUESTIONS[id];
  if (!q || !state) return null;
  if (q.mode === "backward" && !state.L.grad) return null;
  return q.solve(state);
}

/** A reader's answer as a number: "0,25", " 1.5e-3 ", "−0.2" all read; anything else is NaN. */
export function parseAnswer(text) {
  const clean = String(text).trim().replace(/\u2212/g, "-").replace(/,/g, ".").replace(/\s+/g, "");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(clean)) return Number.NaN;
  return Number(clean);
}

/** Is `text` an accepted answer to question `id` in `state`? */
export function check(id, state, text) {
  const solved = solve(id, state);
  const value = parseAnswer(text);
  if (!solved || !Number.isFinite(value)) return false;
  return Math.abs(value - solved.answer) <= solved.tolerance;
}

/** Placeholders of the prompts and step texts: where the equations are, and this run's sizes. */
export function liveParams(run, { layer = 1, dir = "forward", step = 1, unit = 1 } = {}, format = String) {
  if (!run) return { u: unit, t: step, k: layer };
  const k = layer - 1;
  const L = run.data(k, dir);
  const units = run.hidden;
  const state = run.stateSize;
  // x's width at this layer: dx has it (the embedding's width, the input's, or the layer below's h).
  const dx = L && L.grad && L.grad.x && L.grad.x[0];
  return {
    u: unit,
    t: step,
    k: layer,
    T: run.steps,
    H: units,
    G: 4 * units,
    P: state,
    D: dx ? dx.length : run.inputSize,
    half: format(0.5 ** run.steps),
    loss: format(run.loss),
  };
}

/** Progress kept in localStorage: the ids answered correctly. */
export const PROGRESS_KEY = "lstm-viz.questions.v1";

export function readProgress(raw) {
  try {
    const value = JSON.parse(raw || "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}
