// What an upload read, in words: the framework and format, the model, the settings read from
// the file, given in the form or assumed, the vocabulary and the parity check (pure: no DOM).
// The settings come from the server as it found them (a Keras config, an ONNX node's
// attributes), so they are rendered generically: scalars as they are, lists joined, and a
// list of per-layer objects one line each.

import { t } from "../core/i18n.js";
import "./strings.js";

const FRAMEWORKS = { pytorch: "PyTorch", keras: "Keras", onnx: "ONNX", onnxruntime: "onnxruntime", lstmvis: "lstmvis" };

/** A setting's value as text: "tanh", "4", "a, b", "units 4, activation tanh". */
export function valueText(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) {
    if (!value.length) return "—";
    // A shape ([null, 8]: Keras' batch axis is None) reads as one; names read as a list.
    if (value.some((v) => v === null || typeof v === "number")) return `(${value.map((v) => (v === null ? "None" : String(v))).join(", ")})`;
    return value.every((v) => typeof v !== "object") ? value.join(", ") : value.map(valueText).join("; ");
  }
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k} ${valueText(v)}`).join(", ");
  return String(value);
}

/** One line per setting; a list of objects (the layers) gives one line per object. */
export function settingLines(settings) {
  const lines = [];
  for (const [key, value] of Object.entries(settings || {})) {
    if (Array.isArray(value) && value.length && value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
      value.forEach((item) => lines.push(valueText(item)));
    } else lines.push(`${key}: ${valueText(value)}`);
  }
  return lines;
}

const diffText = (diff) => (diff === 0 ? "0" : Number(diff).toExponential(0));
// A check that ran but disagrees (or overflowed: no difference recorded) is never a match.
const agrees = (parity) => parity.matches !== false && typeof parity.max_abs_diff === "number";

/** "matches PyTorch to 3e-16 on a 20-step probe", a disagreement, or why it was not checked. */
export function parityText(parity) {
  if (!parity) return t("models.parity.none");
  if (!parity.checked) return t("models.parity.unchecked", { reason: parity.reason || "" });
  const framework = FRAMEWORKS[parity.framework] || parity.framework;
  if (!agrees(parity)) {
    const diff = typeof parity.max_abs_diff === "number" ? diffText(parity.max_abs_diff) : "inf/NaN";
    return t("models.parity.mismatch", { framework, diff, steps: parity.probe_steps });
  }
  return t("models.parity.checked", {
    framework,
    diff: diffText(parity.max_abs_diff),
    steps: parity.probe_steps,
    what: t(`models.parity.compared.${parity.compared || "y"}`),
  });
}

/** A short parity mark for a model's row in the list. */
export function parityMark(parity) {
  if (!parity) return "";
  if (!parity.checked) return t("models.parity.mark.unchecked");
  const framework = FRAMEWORKS[parity.framework] || parity.framework;
  if (!agrees(parity)) return t("models.parity.mark.mismatch", { framework });
  return t("models.parity.mark.checked", { framework, diff: diffText(parity.max_abs_diff) });
}

/** The input a model takes, in words. */
export function inputText(detail) {
  const config = detail.config || {};
  if (config.input_kind === "tokens") return t("models.input.tokens", { vocab: detail.vocab_size, width: detail.input_size });
  if (config.input_kind === "onehot") return t("models.input.onehot", { vocab: detail.input_size });
  return t("models.input.numbers", { width: detail.input_size });
}

/** Rows [label, text, kind] describing what was read; kind "assumed" asks to be looked at. */
export function describeUpload(detail) {
  const source = detail.source || {};
  const config = detail.config || {};
  const rows = [];
  const framework = FRAMEWORKS[source.framework] || t("models.info.unknown");
  const format = source.format ? ` · ${source.format}` : "";
  rows.push([t("models.info.from"), `${framework}${format}${source.filename ? ` · ${source.filename}` : ""}`, "read"]);
  const layers = t("models.info.model", {
    cell: detail.cell.toUpperCase(),
    layers: detail.num_layers,
    hidden: detail.hidden_size,
  });
  rows.push([t("models.info.layers"), layers, "read"]);
  rows.push([t("models.info.input"), inputText(detail), "read"]);
  if (detail.output_size != null) {
    const kind = t(`models.output.${config.output_kind || "values"}`, { n: detail.output_size });
    const steps = config.output_steps === "last" ? ` ${t("models.output.last")}` : "";
    rows.push([t("models.info.output"), `${kind}${steps}`, "read"]);
  }
  if (detail.cell === "rnn") rows.push([t("models.info.nonlinearity"), config.nonlinearity, "read"]);
  const vocab = detail.vocab ? t("models.info.vocab.some", { n: detail.vocab.length }) : t("models.info.vocab.none");
  rows.push([t("models.info.vocab"), vocab, detail.vocab || config.input_kind === "numbers" ? "read" : "assumed"]);
  for (const line of settingLines(source.read)) rows.push([t("models.info.read"), line, "read"]);
  for (const line of settingLines(source.given)) rows.push([t("models.info.given"), line, "given"]);
  for (const line of settingLines(source.assumed)) rows.push([t("models.info.assumed"), line, "assumed"]);
  const parityKind = detail.parity && detail.parity.checked && agrees(detail.parity) ? "read" : "assumed";
  rows.push([t("models.info.parity"), parityText(detail.parity), parityKind]);
  return rows;
}

/** Whether the views can open the model, and if not, the key saying why. */
export function openable(model) {
  const config = model.config || {};
  if (config.input_kind === "tokens" && !model.vocab) return { ok: false, why: "models.open.needsVocab" };
  return { ok: true, why: null };
}

// The upload form field a refusal names -> what to do, in the page's language.
const REMEDY = {
  nonlinearity: "models.refused.nonlinearity",
  vocab: "models.refused.vocab",
  output: "models.refused.output",
  labels: "models.refused.labels",
  name: "models.refused.name",
  file: "models.refused.file",
};

/** What to do about a refused upload, from the field its first error names (or null). */
export function remedyKey(result) {
  const detail = result && result.data && result.data.detail;
  const loc = Array.isArray(detail) && detail.length ? detail[0].loc || [] : [];
  const field = loc[0] === "body" ? loc[1] : loc[0];
  if (result && result.status === 413) return "models.refused.tooBig";
  return REMEDY[field] || null;
}

/** The name a saved model is shown under in `lang`: a gallery model's title in that language
 * (GET /api/models gives its `title`; the store keeps the English one as its name), any other
 * model's name as it was given. */
export function shownName(model, lang) {
  const title = model && model.title;
  if (!title || typeof title !== "object") return model ? model.name : "";
  return title[lang] || title.en || model.name;
}
