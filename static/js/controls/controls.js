// The control panel (DOM glue): config in and out of the form, and errors beside the
// control that caused them.

import { lossOptions } from "../core/config.js";
import { applies, ELEMENT_OF, OTHER_FIELDS, SCALAR_FIELDS } from "../core/fields.js";
import { hasKey, t } from "../core/i18n.js";
import { relabel } from "../core/labels.js";
import { formatRows, parseRows } from "../core/sequence.js";

const $ = (id) => document.getElementById(id);

// Control name (a config key, as api.js names it) -> the element that holds it.
const ELEMENT = { ...ELEMENT_OF, preset: "preset", run: "run" };

/** A field's value in the form, and back (checkboxes hold booleans). */
const getValue = (f) => (f.input === "checkbox" ? $(f.element).checked : $(f.element).value);
function setValue(f, value) {
  if (f.input === "checkbox") $(f.element).checked = Boolean(value ?? f.fallback);
  else $(f.element).value = String(value ?? "");
}

export function createControls({ presets, limits, onRun, onPreset, onSeeded }) {
  const form = $("controls-form");
  const errorEl = $("error");
  const presetEl = $("preset");
  const lossEl = $("loss");
  let numClasses = null;
  let presetName = null;
  let invalid = null;

  // Preset titles and descriptions come from the API in English; i18n.js has them by name.
  const presetText = (p, what) => (hasKey(`preset.${p.name}.${what}`) ? t(`preset.${p.name}.${what}`) : p[what]);
  for (const p of presets) {
    const option = document.createElement("option");
    option.value = p.name;
    option.textContent = presetText(p, "title");
    presetEl.append(option);
  }
  const lim = (limits && limits.limits) || {};
  for (const f of SCALAR_FIELDS) {
    const input = $(f.element);
    if (f.min !== undefined) input.min = f.min;
    if (f.limit && lim[f.limit] !== undefined) {
      input.max = lim[f.limit];
      if (f.symmetric) input.min = -lim[f.limit];
    }
  }
  const textField = OTHER_FIELDS.find((f) => f.key === "text");
  if (lim[textField.limit]) $(textField.element).maxLength = lim[textField.limit];

  const source = () => (form.elements.source.value === "numbers" ? "numbers" : "text");

  function describePreset(name) {
    const p = presets.find((q) => q.name === name);
    $("preset-description").textContent = p ? presetText(p, "description") : "";
  }

  function fillLoss(kind, wanted) {
    const options = lossOptions(kind);
    lossEl.replaceChildren(
      ...options.map((value) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = t(kind === "text" && value === "cross_entropy" ? "loss.cross_entropy.text" : `loss.${value}`);
        return option;
      }),
    );
    lossEl.value = options.includes(wanted) ? wanted : options[0];
  }

  let saved = null; // {id, name} while a saved model is in use

  function syncVisibility() {
    const kind = source();
    $("text-field").hidden = kind !== "text";
    $("inputs-field").hidden = kind !== "numbers";
    $("targets-field").hidden = kind !== "numbers" || lossEl.value === "dh";
    // What the form says now: a field that does not apply (LSTM-only, merge without two directions) is off.
    const now = Object.fromEntries(SCALAR_FIELDS.map((f) => [f.key, getValue(f)]));
    for (const f of SCALAR_FIELDS) $(f.element).disabled = (f.model && Boolean(saved)) || !applies(f, now);
  }

  function setSource(kind) {
    form.elements.source.value = kind;
    if (kind === "numbers" && $(ELEMENT.inputs).value.trim() === "") {
      // Start the editor from the first numeric preset rather than from nothing.
      const example = presets.find((p) => Array.isArray(p.request.inputs));
      if (example) {
        $(ELEMENT.inputs).value = formatRows(example.request.inputs);
        const loss = example.request.loss;
        if (loss && loss.targets) $(ELEMENT.targets).value = formatRows(loss.targets);
        fillLoss(kind, loss ? loss.kind : "dh");
        numClasses = loss && Number.isInteger(loss.num_classes) ? loss.num_classes : null;
        syncVisibility();
        return;
      }
    }
    fillLoss(kind, lossEl.value);
    syncVisibility();
  }

  /** Put a config into the form. */
  function write(config) {
    presetName = config.preset;
    presetEl.value = config.preset;
    describePreset(config.preset);
    form.elements.source.value = config.source;
    $(ELEMENT.text).value = config.text ?? "";
    $(ELEMENT.inputs).value = config.inputs ? formatRows(config.inputs) : "";
    $(ELEMENT.targets).value = config.targets ? formatRows(config.targets) : "";
    numClasses = config.numClasses ?? null;
    for (const f of SCALAR_FIELDS) setValue(f, config[f.key]);
    fillLoss(config.source, config.loss);
    syncVisibility();
  }

  /**
   * The form as a config (on top of `base`, which carries mode and step), or
   * {error: {control, message}} when the numbers editor does not parse.
   */
  function read(base) {
    const kind = source();
    const loss = lossEl.value;
    const config = {
      ...base,
      preset: presetName,
      source: kind,
      text: $(ELEMENT.text).value,
      inputs: null,
      targets: null,
      numClasses,
      ...Object.fromEntries(SCALAR_FIELDS.map((f) => [f.key, getValue(f)])),
      loss,
    };
    if (kind === "numbers") {
      const inputs = parseRows($(ELEMENT.inputs).value);
      if (inputs.error) return { error: { control: "inputs", message: fieldMessage("inputs", inputs.error) } };
      config.inputs = inputs.rows;
      if (loss !== "dh") {
        const targets = parseRows($(ELEMENT.targets).value, { integers: loss === "cross_entropy", nulls: true });
        if (targets.error) return { error: { control: "targets", message: fieldMessage("targets", targets.error) } };
        config.targets = targets.rows;
      }
    }
    return { config };
  }

  function fieldMessage(control, error) {
    return t("error.field", { label: t(`label.${control}`), msg: t(error.key, error.params) });
  }

  function clearError() {
    errorEl.hidden = true;
    errorEl.textContent = "";
    if (invalid) {
      invalid.removeAttribute("aria-invalid");
      const ids = (invalid.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== "error");
      if (ids.length) invalid.setAttribute("aria-describedby", ids.join(" "));
      else invalid.removeAttribute("aria-describedby");
      invalid = null;
    }
  }

  /** Show one message right under the control it is about; the control gets aria-invalid. */
  function showError(control, message) {
    clearError();
    const name = ELEMENT[control] ? control : "run";
    const el = $(ELEMENT[name]);
    const field = form.querySelector(`[data-field="${name}"]`) || $("run").parentElement;
    const pair = field.parentElement.classList.contains("pair") ? field.parentElement : null;
    if (pair) pair.insertAdjacentElement("afterend", errorEl);
    else field.append(errorEl);
    errorEl.textContent = message;
    errorEl.hidden = false;
    errorEl.dataset.control = name;
    if (el && name !== "run") {
      el.setAttribute("aria-invalid", "true");
      const ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      el.setAttribute("aria-describedby", [...ids, "error"].join(" "));
      invalid = el;
    }
  }

  function setBusy(busy) {
    const run = $("run");
    run.disabled = busy;
    relabel(run, busy ? "controls.running" : "controls.run", "text");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onRun();
  });
  presetEl.addEventListener("change", () => onPreset(presetEl.value));
  for (const radio of form.elements.source) radio.addEventListener("change", () => setSource(source()));
  lossEl.addEventListener("change", syncVisibility);
  $(ELEMENT.cell).addEventListener("change", syncVisibility);
  $(ELEMENT.bidirectional).addEventListener("change", syncVisibility);

  // Collapsible panel.
  const toggle = $("toggle-controls");
  toggle.addEventListener("click", () => {
    const collapsed = $("app").classList.toggle("collapsed");
    toggle.setAttribute("aria-expanded", String(!collapsed));
    relabel(toggle, collapsed ? "controls.show" : "controls.hide");
    relabel(toggle, collapsed ? "controls.show" : "controls.hide", "title");
    window.dispatchEvent(new Event("resize"));
  });

  /** A saved model is in use ({id, name}; name may be null until known), or none (null). */
  function setSavedModel(model) {
    saved = model;
    const note = $("model-note");
    note.hidden = !saved;
    if (saved) $("model-name").textContent = t("controls.savedModel", { name: saved.name || saved.id });
    syncVisibility();
  }

  /** Show the sizes and architecture the API answered with (a saved model's own). */
  function showShape(shape) {
    for (const f of SCALAR_FIELDS) if (Object.hasOwn(shape, f.key)) setValue(f, shape[f.key]);
    syncVisibility();
  }

  /** Re-render the texts built here in the current language. */
  function relabelAll() {
    for (const option of presetEl.options) {
      const p = presets.find((q) => q.name === option.value);
      if (p) option.textContent = presetText(p, "title");
    }
    describePreset(presetEl.value);
    fillLoss(source(), lossEl.value);
    syncVisibility();
    if (saved) setSavedModel(saved);
  }

  $("use-seeded").addEventListener("click", () => onSeeded());

  return { write, read, showError, clearError, setBusy, setSavedModel, showShape, relabel: relabelAll };
}
