// Talking to the server, and its errors in plain words.  No DOM: the fetch is passed in
// (the page gives window.fetch, the tests a fake).

import { CONTROL_OF_REQUEST } from "./fields.js";
import { t } from "./i18n.js";

/**
 * The page's one way to call the server.  Never throws: {ok, status, data}, data being the
 * parsed JSON answer or null (status 0: the server was not reached).  `json` is sent as a
 * JSON body, `form` (a FormData) as multipart; either makes the default method POST.
 */
export async function callAPI(fetchImpl, url, { method, json, form } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method: method || (json !== undefined || form !== undefined ? "POST" : "GET"), headers };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetchImpl(url, init);
  } catch {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

/** The control an error's `loc` points at ("run" when none fits: shown by the Run button). */
export function controlFor(loc, source) {
  const path = Array.isArray(loc) ? loc.filter((p) => p !== "body") : [];
  const field = path[0];
  if (field === "loss") {
    const rest = path.slice(1).map(String);
    if (source !== "text" && (rest.includes("targets") || rest.includes("num_classes"))) return "targets";
    return "loss";
  }
  if (Object.hasOwn(CONTROL_OF_REQUEST, field)) return CONTROL_OF_REQUEST[field];
  return "run";
}

function shown(input) {
  const text = typeof input === "string" ? `“${input}”` : JSON.stringify(input);
  return text.length > 40 ? text.slice(0, 39) + "…" : text;
}

/** The bound of a range error: from `ctx` when the server sends it, else from the message's last number. */
function limitOf(item, key) {
  if (item.ctx && item.ctx[key] !== undefined) return item.ctx[key];
  const match = /(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i.exec(String(item.msg || ""));
  return match ? match[1] : null;
}

const RANGE = { less_than_equal: ["error.le", "le"], greater_than_equal: ["error.ge", "ge"], less_than: ["error.lt", "lt"], greater_than: ["error.gt", "gt"] };

/** One API error item in plain words (without the control's name). */
export function plainMessage(item) {
  const given = item.input === undefined ? "" : t("error.given", { input: shown(item.input) });
  const fallback = () => {
    const msg = String(item.msg || "").replace(/^Value error, /, "");
    return msg ? msg.charAt(0).toUpperCase() + msg.slice(1) : t("error.general", { msg: item.type || "?" });
  };
  if (item.type in RANGE) {
    const [key, bound] = RANGE[item.type];
    const limit = limitOf(item, bound);
    return limit === null ? fallback() : t(key, { limit, given });
  }
  switch (item.type) {
    case "int_type":
    case "int_parsing":
    case "int_from_float":
      return t("error.int", { given });
    case "float_type":
    case "float_parsing":
      return t("error.number", { given });
    case "finite_number":
      return t("error.finite");
    case "string_too_long": {
      const limit = limitOf(item, "max_length");
      return limit === null ? fallback() : t("error.tooLong", { limit });
    }
    case "missing":
      return t("error.missing");
    default:
      return fallback();
  }
}

/**
 * A failed response as [{control, message}], first error first.  `source` is the config's
 * sequence kind (targets belong to the numbers editor only).
 */
export function describeFailure(result, source) {
  if (result.status === 0) return [{ control: "run", message: t("error.network") }];
  const detail = result.data && result.data.detail;
  if (Array.isArray(detail) && detail.length) {
    return detail.map((item) => {
      const control = controlFor(item.loc, source);
      const plain = plainMessage(item);
      const text = result.status === 413 ? t("error.tooBig", { msg: plain }) : plain;
      // Errors about no particular control sit under the Run button, without a label.
      const message = control === "run" ? text : t("error.field", { label: t(`label.${control}`), msg: text });
      return { control, message };
    });
  }
  if (typeof detail === "string") return [{ control: "run", message: t("error.general", { msg: detail }) }];
  return [{ control: "run", message: t("error.server", { status: result.status }) }];
}
