// A trace (POST /api/backward or /api/forward) of any size the limits accept.  Pure: the
// fetch is passed in (the trace worker gives its own, the tests a fake).
//
// One response may be at most the server's MAX_RESPONSE_BYTES.  When the estimate is over,
// the server answers 413 (type response_too_large) before computing anything, naming the
// smallest change that fits.  The page draws every per-step array, so it cannot drop
// `fields`; it follows a suggestion it can take (leaving out `full_output`) and otherwise
// asks for the run as consecutive windows of steps (`window`), without the weights'
// gradients (`param_grads: false`, which the page does not draw), of the length the 413
// names (halving it while the server still says it is too large, should it not name one).  The windows put together are one response
// of the same shape as a whole one.

import { callAPI } from "./api.js";

/** The fewest steps a window may have (one step of one layer always fits the cap). */
const MIN_WINDOW = 1;

/** Whether an answer is the server's "the response would be too large" (413). */
export function tooLarge(result) {
  const detail = result && result.data && result.data.detail;
  return result.status === 413 && Array.isArray(detail) && detail.some((d) => d && d.type === "response_too_large");
}

/**
 * The change a 413 names that the page can make without losing what it draws, as fields to
 * merge into the request, or null.  (`fields` the page cannot take: it draws every array;
 * `precision` it takes only when it asked for none.)
 */
export function suggestedChange(result, body) {
  if (!tooLarge(result)) return null;
  for (const item of result.data.detail) {
    const field = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body")[0] : null;
    if (field === "full_output" && body.full_output) return { full_output: false };
    if (field === "precision" && body.precision === undefined) {
      const match = /`precision` to (\d+)/.exec(String(item.msg || ""));
      if (match) return { precision: Number(match[1]) };
    }
  }
  return null;
}

/**
 * Steps the request's sequence has at most (a text of n characters gives n - 1 steps; with a
 * word vocabulary fewer, and the server ends a window past the end at the end).
 */
export function stepsAtMost(body) {
  if (Array.isArray(body.inputs)) return body.inputs.length;
  if (Array.isArray(body.tokens)) return body.tokens.length;
  if (typeof body.text === "string") return Math.max(1, [...body.text].length - 1);
  return 1;
}

/** The request for steps start..stop-1 of `body`'s run. */
export function windowRequest(body, start, stop) {
  return { ...body, param_grads: false, window: { start, stop } };
}

// Per-step lists are every array under `layers` and `output` but these (one row per layer,
// not per step), and the strings beside them.
const NOT_PER_STEP = new Set(["h0", "c0"]);

function joinRows(parts) {
  const first = parts[0];
  if (Array.isArray(first)) return parts.flatMap((p) => p);
  if (first === null || typeof first !== "object") return first;
  const out = {};
  for (const key of Object.keys(first)) {
    const values = parts.map((p) => p[key]);
    out[key] = NOT_PER_STEP.has(key) ? values[0] : joinRows(values);
  }
  return out;
}

/** The steps per window a 413 names ("`window`s of up to N steps"), or null. */
export function suggestedWindow(result) {
  if (!tooLarge(result)) return null;
  for (const item of result.data.detail) {
    const match = /`window`s of up to (\d+) steps/.exec(String(item.msg || ""));
    if (match && Number(match[1]) >= 1) return Number(match[1]);
  }
  return null;
}

/** The steps a window's response holds: {start, stop}. */
const span = (resp) => resp.window;

/** Consecutive windows' responses as one response of the whole run (no `window`). */
export function joinWindows(parts) {
  if (parts.length === 1 && !span(parts[0])) return parts[0];
  const { window: _first, ...rest } = parts[0];
  const last = parts[parts.length - 1];
  if (span(parts[0]).start !== 0 || span(last).stop !== last.steps) throw new Error("the windows do not cover the run");
  parts.forEach((p, k) => {
    if (k && span(p).start !== span(parts[k - 1]).stop) throw new Error("the windows are not consecutive");
  });
  return {
    ...rest,
    layers: parts[0].layers.map((_, k) => joinRows(parts.map((p) => p.layers[k]))),
    output: parts[0].output ? joinRows(parts.map((p) => p.output)) : parts[0].output,
    windows: parts.length, // how many responses it came in
  };
}

/**
 * The trace `body` asks for, fetched in as many responses as the size cap needs:
 * {ok, status, data} as callAPI answers (data: the whole run, or the server's error).
 * `onPart(done, total)` hears of each window fetched.
 */
export async function fetchTrace(fetchImpl, url, body, { onPart } = {}) {
  let request = body;
  let result = await callAPI(fetchImpl, url, { json: request });
  for (let tries = 0; tries < 3 && tooLarge(result); tries += 1) {
    const change = suggestedChange(result, request);
    if (!change) break;
    request = { ...request, ...change };
    result = await callAPI(fetchImpl, url, { json: request });
  }
  if (!tooLarge(result)) return result;

  // As many steps per window as the server says fit; else halves, halved again while too large.
  let steps = stepsAtMost(request);
  let size = suggestedWindow(result) || Math.max(MIN_WINDOW, Math.ceil(steps / 2));
  const parts = [];
  let start = 0;
  while (start < steps) {
    const part = await callAPI(fetchImpl, url, { json: windowRequest(request, start, Math.min(steps, start + size)) });
    if (tooLarge(part) && size > MIN_WINDOW) {
      size = Math.max(MIN_WINDOW, Math.ceil(size / 2));
      continue;
    }
    if (!part.ok) return part;
    steps = part.data.steps;
    parts.push(part.data);
    start = span(part.data).stop;
    if (onPart) onPart(start, steps);
  }
  return { ok: true, status: 200, data: joinWindows(parts) };
}
