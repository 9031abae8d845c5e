// The page's calls to its server (DOM glue: window.fetch), all through core/api.js's callAPI,
// so every answer has one shape and every failure the same handling.

import { callAPI } from "./api.js";

/** callAPI with the browser's fetch: api(url), api(url, {json}), api(url, {form}), api(url, {method: "DELETE"}). */
export function api(url, options = {}) {
  return callAPI(window.fetch.bind(window), url, options);
}
