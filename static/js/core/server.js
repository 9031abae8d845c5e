// The page's calls to its server (DOM glue: window.fetch), all through core/api.js's callAPI,
// so every answer has one shape and every failure the same handling.
//
// Traces (/api/backward, /api/forward) go through the trace worker (core/traceworker.js):
// fetched in windows when one response would be over the size cap, parsed and measured off
// this thread, and rebuilt here in slices, so no task of the page's thread is long.  Their
// answer also carries `prepared` (core/run.js's runNorms) for makeRun.

import { callAPI } from "./api.js";
import { fetchTrace } from "./tracefetch.js";
import { unpackMatrices } from "./transfer.js";
import { yieldToPage } from "./tasks.js";

const TRACES = new Set(["/api/backward", "/api/forward"]);

let worker = null;
let workerFailed = false;
let nextId = 0;
let latest = null; // the id of the newest trace asked for: an older one still running is aborted
const waiting = new Map(); // id -> resolve


function traceWorker() {
  if (worker || workerFailed) return worker;
  try {
    worker = new Worker(new URL("./traceworker.js", import.meta.url), { type: "module" });
    worker.addEventListener("message", (event) => {
      const resolve = waiting.get(event.data.id);
      if (resolve) {
        waiting.delete(event.data.id);
        resolve(event.data);
      }
    });
    worker.addEventListener("error", () => {
      // The worker could not start (or died): answer what waits, and work on this thread from now on.
      workerFailed = true;
      worker = null;
      for (const resolve of waiting.values()) resolve({ ok: false, status: 0, data: null, failedWorker: true });
      waiting.clear();
    });
  } catch {
    workerFailed = true;
    worker = null;
  }
  return worker;
}

async function traceOnThisThread(url, json) {
  return fetchTrace(window.fetch.bind(window), url, json);
}

async function trace(url, json) {
  const w = traceWorker();
  if (!w) return traceOnThisThread(url, json);
  const id = ++nextId;
  if (latest !== null) w.postMessage({ cancel: latest });
  latest = id;
  const answer = await new Promise((resolve) => {
    waiting.set(id, resolve);
    w.postMessage({ id, url, body: json });
  });
  if (answer.failedWorker) return traceOnThisThread(url, json);
  if (!answer.tree) return { ok: answer.ok, status: answer.status, data: answer.data };
  const rebuild = unpackMatrices(answer.tree, answer.buffers, 250_000);
  let step = rebuild.next();
  while (!step.done) {
    await yieldToPage();
    step = rebuild.next();
  }
  return { ok: true, status: answer.status, data: step.value, prepared: answer.prepared };
}

/** callAPI with the browser's fetch: api(url), api(url, {json}), api(url, {form}), api(url, {method: "DELETE"}). */
export function api(url, options = {}) {
  if (TRACES.has(url) && options.json !== undefined && !options.method && !options.form) return trace(url, options.json);
  return callAPI(window.fetch.bind(window), url, options);
}
