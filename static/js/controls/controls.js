// The control panel (DOM glue): config in and out of the form, and errors beside the
// control that caused them.
//
// One rule for when the view changes: choosing a preset (or opening a model) shows it at
// once; any other change of the form waits for Run, and until then a note beside Run says
// so and the summary above the diagram is marked out of date (it describes the run on
// screen, not the form).  The preset box says "Custom" once the sequence is no longer the
// preset's.  The text is a box that grows with its text, with a counter "n / max"; Enter
// runs, Shift+Enter starts a new line; beyond the maximum the Run is refused, naming the field.

import { buildRequest, lossOptions, presetOf } from "../core/config.js";
import { applies, ELEMENT_OF, OTHER_FIELDS, SCALAR_FIELDS } from "../core/fields.js";
import { hasKey, language, registerStrings, t } from "../core/i18n.js";
import { shownName } from "../panels/modelinfo.js";
import { relabel } from "../core/labels.js";
import { formatRows, parseRows } from "../core/sequence.js";

export const en = {
  "controlsMore.custom": "Custom",
  "controlsMore.customDescription": "A custom sequence, not one of the presets. Choose a preset to start from one again.",
  "controlsMore.stale": "Changed: press Run to see it.",
  "controlsMore.summaryStale": "Out of date, the controls have changed:",
  "controlsMore.count": "{n} / {max} characters",
  "controlsMore.enter": "Enter runs; Shift+Enter starts a new line.",
  "controlsMore.tooLong": "at most {max} characters; this text has {n}. Shorten it to run.",
  "controlsMore.raggedOne": "line {line} has 1 value; line 1 has {want}.",
};
export const ko = {
  "controlsMore.custom": "직접 입력",
  "controlsMore.customDescription": "예제가 아닌 직접 만든 시퀀스예요. 예제를 고르면 그 시퀀스로 다시 시작해요.",
  "controlsMore.stale": "바뀌었어요. 실행을 눌러야 보여요.",
  "controlsMore.summaryStale": "지금 컨트롤과 달라요:",
  "controlsMore.count": "{n} / {max}자",
  "controlsMore.enter": "Enter를 누르면 실행하고, Shift+Enter를 누르면 줄을 바꿔요.",
  "controlsMore.tooLong": "{max}자까지 쓸 수 있는데 이 텍스트는 {n}자예요. 줄여야 실행할 수 있어요.",
  "controlsMore.raggedOne": "{line}번째 줄에는 값이 1개인데, 1번째 줄에는 {want}개예요.",
};
registerStrings({ en, ko });
const tm = (key, params) => t(`controlsMore.${key}`, params); // (keys registered above)

/** Characters as the server counts them (code points, not UTF-16 units). */
const charCount = (text) => [...String(text)].length;

const $ = (id) => document.getElementById(id);

// Control name (a config key, as api.js names it) -> the element that holds it.
const ELEMENT = { ...ELEMENT_OF, preset: "preset", run: "run" };

/** A field's value in the form, and back (checkboxes hold booleans). */
const getValue = (f) => (f.input === "checkbox" ? $(f.element).checked : $(f.element).value);
function setValue(f, value) {
  if (f.input === "checkbox") $(f.element).checked = Boolean(value ?? f.fallback);
  else $(f.element).value = String(value ?? "");
}

export function createControls({ presets, limits, onRun, onPreset, onSeeded, summary = null }) {
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
  // No maxLength: a pasted text is never cut silently; the counter and Run say what is over.
  const textField = OTHER_FIELDS.find((f) => f.key === "text");
  const maxText = Number.isInteger(lim[textField.limit]) ? lim[textField.limit] : null;
  const textEl = $(textField.element);
  const countEl = $("text-count");

  // "Custom": shown (and selected) only while the sequence is not the preset's.
  const customOption = document.createElement("option");
  customOption.value = "custom";
  customOption.disabled = true;
  customOption.hidden = true;
  customOption.textContent = tm("custom");
  presetEl.append(customOption);

  // The note beside Run while the form differs from the run on screen.
  const staleNote = document.createElement("p");
  staleNote.className = "hint run-stale";
  staleNote.id = "run-stale";
  staleNote.setAttribute("data-testid", "run-stale");
  staleNote.setAttribute("role", "status");
  staleNote.hidden = true;
  $("run").insertAdjacentElement("afterend", staleNote);
  let applied = null; // the request of the run on screen (JSON), or null before the first

  const source = () => (form.elements.source.value === "numbers" ? "numbers" : "text");

  function describePreset(name) {
    const p = presets.find((q) => q.name === name);
    $("preset-description").textContent = p ? presetText(p, "description") : name === "custom" ? tm("customDescription") : "";
  }

  /** The preset box: the preset while the form's sequence is its own, else "Custom". */
  function showPreset() {
    const kind = source();
    const inputs = kind === "numbers" ? parseRows($(ELEMENT.inputs).value) : null;
    const now = { preset: presetName, source: kind, text: textEl.value, inputs: inputs && !inputs.error ? inputs.rows : null };
    const named = presetOf(now, presets);
    customOption.hidden = Boolean(named);
    presetEl.value = named || "custom";
    presetEl.dataset.custom = String(!named);
    describePreset(presetEl.value);
  }

  /** The counter under the text, and the box's height to fit it. */
  function showCount() {
    const n = charCount(textEl.value);
    const over = maxText !== null && n > maxText;
    countEl.textContent = `${maxText !== null ? tm("count", { n, max: maxText }) : ""} ${tm("enter")}`.trim();
    countEl.dataset.count = String(n);
    countEl.dataset.over = String(over);
    if (over) textEl.setAttribute("aria-invalid", "true");
    else if (invalid !== textEl) textEl.removeAttribute("aria-invalid");
    if (!textEl.offsetParent) return; // hidden: measured when shown
    textEl.style.height = "auto";
    textEl.style.height = `${textEl.scrollHeight + 2}px`;
  }

  /** Does the form ask for another run than the one on screen? */
  function isStale() {
    if (applied === null) return false;
    const read_ = read({ modelId: saved ? saved.id : null });
    if (read_.error) return true;
    return JSON.stringify(buildRequest(read_.config)) !== applied;
  }

  function showStale() {
    const stale = isStale();
    staleNote.hidden = !stale;
    staleNote.textContent = stale ? tm("stale") : "";
    form.dataset.stale = String(stale);
    if (!summary) return;
    summary.dataset.stale = String(stale);
    const old = summary.querySelector(".summary-stale");
    if (old) old.remove();
    if (stale) {
      const tag = document.createElement("span");
      tag.className = "summary-stale";
      tag.setAttribute("data-testid", "summary-stale");
      tag.textContent = `${tm("summaryStale")} `;
      summary.prepend(tag);
    }
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
    showPreset();
    showCount();
    showStale();
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
    if (kind === "text" && maxText !== null && charCount(config.text) > maxText) {
      const msg = tm("tooLong", { max: maxText, n: charCount(config.text) });
      return { error: { control: "text", message: t("error.field", { label: t("label.text"), msg }) } };
    }
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
    // One value is "1 value" (sequence.js names the general case).
    const msg =
      error.key === "error.ragged" && error.params && error.params.got === 1 ? tm("raggedOne", error.params) : t(error.key, error.params);
    return t("error.field", { label: t(`label.${control}`), msg });
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
    if (busy) staleNote.hidden = true; // (the form is what is running)
    else showStale();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onRun();
  });
  presetEl.addEventListener("change", () => {
    if (presetEl.value !== "custom") onPreset(presetEl.value);
  });
  // Any edit: is the sequence still the preset's, is a Run needed (the preset box runs by itself).
  form.addEventListener("input", (event) => {
    if (event.target === presetEl) return;
    if (event.target === textEl) showCount();
    showPreset();
    showStale();
  });
  form.addEventListener("change", (event) => {
    if (event.target === presetEl) return;
    showPreset();
    showStale();
  });
  textEl.addEventListener("keydown", (event) => {
    // Enter runs (as a one-line field did); Shift+Enter a new line; never while an IME composes.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    form.requestSubmit();
  });
  for (const radio of form.elements.source)
    radio.addEventListener("change", () => {
      setSource(source());
      showCount();
    });
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

  /**
   * A saved model is in use ({id, name, title}; name may be null until known, title is a
   * gallery model's in each language), or none (null).
   */
  function setSavedModel(model) {
    saved = model;
    const note = $("model-note");
    note.hidden = !saved;
    if (saved) $("model-name").textContent = t("controls.savedModel", { name: shownName(saved, language()) || saved.id });
    syncVisibility();
    showStale();
  }

  /** The config now on screen (after a successful Run): the form is compared with it. */
  function setApplied(config) {
    applied = config ? JSON.stringify(buildRequest(config)) : null;
    showPreset();
    showStale();
  }

  /** Show the sizes and architecture the API answered with (a saved model's own). */
  function showShape(shape) {
    for (const f of SCALAR_FIELDS) if (Object.hasOwn(shape, f.key)) setValue(f, shape[f.key]);
    syncVisibility();
    showStale();
  }

  /** Re-render the texts built here in the current language. */
  function relabelAll() {
    for (const option of presetEl.options) {
      const p = presets.find((q) => q.name === option.value);
      if (p) option.textContent = presetText(p, "title");
    }
    customOption.textContent = tm("custom");
    describePreset(presetEl.value);
    fillLoss(source(), lossEl.value);
    syncVisibility();
    showCount();
    if (saved) setSavedModel(saved);
    showStale();
  }

  $("use-seeded").addEventListener("click", () => onSeeded());

  return { write, read, showError, clearError, setBusy, setSavedModel, showShape, setApplied, relabel: relabelAll };
}
