// The page's configuration fields, one row each: the config key, the request field it
// becomes, its URL key, the element that holds it, how a value from a link is read, and
// whether it applies to the LSTM only (lstmOnly), is sent only while another field is on
// (onlyWith), is a checkbox (input: "checkbox") or is owned by a saved model.  Pure: no DOM.
//
// config.js (preset -> config -> request), urlstate.js (config <-> URL), api.js (an error's
// `loc` -> the control to show it beside) and controls.js (config <-> form) are derived
// from this table, so adding a control is one row here plus its markup in the template.

/** The scalar fields: copied between preset, config, form, request and URL as they are. */
export const SCALAR_FIELDS = Object.freeze([
  { key: "cell", request: "cell", url: "cell", element: "cell-type", parse: "cell", model: true, fallback: "lstm" },
  // `min` and `limit` (a key of GET /api/limits `limits`) guide the number input; the API judges.
  { key: "hidden", request: "hidden_size", url: "hidden", element: "hidden-size", parse: "number", model: true, fallback: 8, min: 1, limit: "max_hidden" },
  { key: "layers", request: "num_layers", url: "layers", element: "num-layers", parse: "number", model: true, fallback: 1, min: 1, limit: "max_layers" },
  { key: "seed", request: "seed", url: "seed", element: "seed", parse: "number", model: true, fallback: 0, min: 0, limit: "max_seed" },
  // Added to the LSTM's forget-gate bias; the API refuses it for a GRU or an RNN.
  { key: "forgetBias", request: "forget_bias", url: "fb", element: "forget-bias", parse: "number", lstmOnly: true, model: true, fallback: 0, limit: "max_forget_bias", symmetric: true },
  // The architecture beyond the cell: a reverse direction per layer (and how the two merge),
  // an LSTM's projection of h (0: none; below the hidden size), and biases at all.  Sent only
  // when they differ from the API's default (`omitDefault`), so a plain model's request is plain.
  { key: "bidirectional", request: "bidirectional", url: "bi", element: "bidirectional", parse: "bool", input: "checkbox", model: true, fallback: false, omitDefault: true },
  { key: "mergeMode", request: "merge_mode", url: "merge", element: "merge-mode", parse: "merge", onlyWith: "bidirectional", model: true, fallback: "concat", omitDefault: true },
  { key: "projSize", request: "proj_size", url: "proj", element: "proj-size", parse: "number", lstmOnly: true, model: true, fallback: 0, min: 0, limit: "max_hidden", omitDefault: true },
  { key: "bias", request: "bias", url: "bias", element: "bias", parse: "bool", input: "checkbox", model: true, fallback: true, omitDefault: true },
]);

/** How a bidirectional layer's two directions become its output (the API's merge_mode). */
export const MERGE_MODES = Object.freeze(["concat", "sum", "ave", "mul"]);

/** Whether a field applies to a config (the API refuses it otherwise, so it is not sent). */
export function applies(field, config) {
  if (field.lstmOnly && config.cell !== "lstm") return false;
  if (field.onlyWith && !config[field.onlyWith]) return false;
  return true;
}

/** The loss and the sequence: in the request they are nested or shaped, so their codecs are by hand. */
export const OTHER_FIELDS = Object.freeze([
  { key: "loss", request: "loss", url: "loss", element: "loss", parse: "loss" },
  { key: "numClasses", url: "classes", parse: "integer" },
  { key: "text", request: "text", url: "text", element: "text-input", limit: "max_text_chars" },
  { key: "inputs", request: "inputs", url: "inputs", element: "inputs-input" },
  { key: "targets", url: "targets", element: "targets-input" },
]);

const ALL = [...SCALAR_FIELDS, ...OTHER_FIELDS];

/** Request field -> config key, for pointing an error at its control. */
export const CONTROL_OF_REQUEST = Object.freeze(Object.fromEntries(ALL.filter((f) => f.request).map((f) => [f.request, f.key])));

/** Config key -> the id of the element that holds it. */
export const ELEMENT_OF = Object.freeze(Object.fromEntries(ALL.filter((f) => f.element).map((f) => [f.key, f.element])));

/** The fields a saved model defines itself: left out of its requests and links, locked in the form. */
export const MODEL_OWNED = Object.freeze(SCALAR_FIELDS.filter((f) => f.model).map((f) => f.key));

/** The fields written to the URL as key=value (the sequence has its own compact codec). */
export const URL_SCALARS = Object.freeze([...SCALAR_FIELDS, ...OTHER_FIELDS.filter((f) => f.parse)]);
