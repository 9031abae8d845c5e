// The trace worker (a module worker): fetches a trace, parses it, joins its windows and
// computes the per-step norms off the page's thread, then hands the page the numbers as
// transferred Float64Arrays (core/transfer.js).  Messages in: {id, url, body} to fetch,
// {cancel: id} to abort one.  Messages out: {id, ok, status, data} for an error answer,
// {id, ok, status, tree, prepared} (with the buffers transferred) for a run.

import { runNorms } from "./run.js";
import { fetchTrace } from "./tracefetch.js";
import { packMatrices } from "./transfer.js";

const running = new Map(); // id -> AbortController

self.addEventListener("message", async (event) => {
  const { id, url, body, cancel } = event.data;
  if (cancel !== undefined) {
    const controller = running.get(cancel);
    if (controller) controller.abort();
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  const fetchImpl = (input, init) => fetch(input, { ...init, signal: controller.signal });
  try {
    const result = await fetchTrace(fetchImpl, url, body);
    if (!result.ok || !result.data || !Array.isArray(result.data.layers)) {
      self.postMessage({ id, ok: result.ok, status: result.status, data: result.data });
      return;
    }
    const prepared = runNorms(result.data);
    const { tree, buffers } = packMatrices(result.data);
    self.postMessage({ id, ok: true, status: result.status, tree, buffers, prepared }, buffers);
  } catch (err) {
    self.postMessage({ id, ok: false, status: 0, data: null, error: String(err) });
  } finally {
    running.delete(id);
  }
});
