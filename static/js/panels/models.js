// Saved models: upload with the tensor-mapping table, pick, open, delete, export (DOM glue).

import { describeFailure } from "../core/api.js";
import { openingText, probeInputs } from "../core/config.js";
import { api } from "../core/server.js";
import { language, t } from "../core/i18n.js";
import "./strings.js"; // the panels' strings, registered with i18n
import { el, field, fillTable, select, wide } from "./dom.js";
import { describeUpload, openable, parityMark, remedyKey, shownName } from "./modelinfo.js";

const LAYOUTS = ["pytorch", "keras", "onnx", "book"];
const FORMATS = ["safetensors", "npz", "json"];
const OUTPUTS = ["logits", "values"];
// Every kind the server reads (it tells them apart by content; this only filters the picker).
const ACCEPT = ".pt,.pth,.bin,.ckpt,.keras,.h5,.hdf5,.onnx,.npz,.safetensors,.json";


export function createModels(parent, { readOnly }) {
  // The native file input says "Choose File / No file chosen" in the browser's language, not
  // the page's: it is visually hidden (still focusable, and what tests set files on), and a
  // label styled as a button and a line with the chosen file's name speak the page's language.
  const file = el("input", { type: "file", accept: ACCEPT, className: "file-input", "data-testid": "model-file" });
  const fileName = el("span", { className: "file-name", i18n: "models.file.none", "data-testid": "model-file-name" });
  const fileButton = el("label", { className: "button file-button", i18n: "models.file.choose", "data-testid": "model-file-button" });
  const layout = select([["", "models.layout.auto"], ...LAYOUTS.map((l) => [l, `models.layout.${l}`])]);
  const name = el("input", { type: "text", maxlength: 100, autocomplete: "off", "data-testid": "model-name" });
  const nonlinearity = select([["", "models.nonlinearity.auto"], ["tanh", "text:tanh"], ["relu", "text:relu"]], {
    "data-testid": "model-nonlinearity",
  });
  const vocab = el("input", { type: "text", autocomplete: "off", spellcheck: "false", "data-testid": "model-vocab" });
  const output = select([["", "models.output.auto"], ...OUTPUTS.map((o) => [o, `models.output.${o}`])], {
    "data-testid": "model-output",
  });
  const fileField = wide(field("models.file", file));
  fileButton.htmlFor = file.id;
  fileName.id = `${file.id}-name`;
  file.setAttribute("aria-describedby", fileName.id);
  // The input moves into the picker's row (field() put it there for its label's sake).
  fileField.append(el("div", { className: "file-picker" }, [file, fileButton, fileName]));
  function showFileName() {
    const chosen = file.files?.[0];
    if (chosen) {
      delete fileName.dataset.i18n; // a file's name is not translated
      fileName.textContent = chosen.name;
    } else {
      fileName.dataset.i18n = "models.file.none";
      fileName.textContent = t("models.file.none");
    }
  }
  file.addEventListener("change", showFileName);
  const upload = el("button", { type: "submit", className: "primary", i18n: "models.upload", "data-testid": "model-upload" });
  const form = el("form", { className: "panel-controls form-grid", novalidate: true }, [
    fileField,
    field("models.layout", layout),
    field("models.name", name),
    el("fieldset", { className: "panel-fieldset" }, [
      el("legend", { i18n: "models.settings" }),
      el("p", { className: "hint", i18n: "models.settings.hint" }),
      field("models.nonlinearity", nonlinearity),
      field("models.vocab", vocab, "models.vocab.hint"),
      wide(field("models.output", output)), // "logits (a softmax gives probabilities)"
    ]),
    el("div", { className: "panel-field panel-actions form-row" }, [upload]),
  ]);
  const infoBody = el("tbody");
  // Table boxes scroll sideways on a phone: focusable regions, so a keyboard can scroll them.
  const info = el("div", { className: "panel-table-wrap", hidden: true, tabindex: "0", role: "region", "data-i18n-label": "models.info", "aria-label": t("models.info") }, [
    el("h3", { i18n: "models.info" }),
    el("table", { className: "panel-table model-info", "data-testid": "model-info" }, [infoBody]),
  ]);
  const openHint = el("p", { className: "hint", hidden: true, "data-testid": "model-open-hint" });
  const status = el("p", { className: "panel-summary", role: "status" });
  const error = el("p", { className: "panel-error", role: "alert", hidden: true });
  const head = el(
    "tr",
    {},
    ["source", "shape", "target", "blocks", "note"].map((k) => el("th", { scope: "col", i18n: `models.mapping.${k}` })),
  );
  const tbody = el("tbody");
  const mapping = el("div", { className: "panel-table-wrap", hidden: true, tabindex: "0", role: "region", "data-i18n-label": "models.mapping", "aria-label": t("models.mapping") }, [
    el("h3", { i18n: "models.mapping" }),
    el("table", { className: "panel-table", "data-testid": "model-mapping" }, [el("thead", {}, [head]), tbody]),
  ]);
  // The saved models: a group of radio buttons whose labels wrap, so every name reads whole
  // at any width (a <select size> clips its options on one line, and a phone shows it as a
  // one-line box).  Arrow keys choose, as in any radio group; Tab goes on to "Open".
  const list = el("fieldset", { className: "model-list", "data-testid": "model-list" }, [el("legend", { i18n: "models.saved" })]);
  const listItems = el("div", { className: "model-list-items" });
  list.append(listItems);
  const empty = el("p", { className: "hint", i18n: "models.none" });
  const open = el("button", { type: "button", i18n: "models.open", "data-testid": "model-open" });
  const remove = el("button", { type: "button", i18n: "models.delete", "data-testid": "model-delete" });
  const exportLayout = select(LAYOUTS.map((l) => [l, `models.layout.${l}`]), { "data-testid": "export-layout" });
  const exportFormat = select(FORMATS.map((f) => [f, `text:.${f}`]), { "data-testid": "export-format" });
  const download = el("a", { className: "button", i18n: "models.download", "data-testid": "model-download", download: "" });
  // Open and Delete, then the export: its two selects and the Download that uses them stay
  // together on one line (wrapping as a group), their bottoms aligned.
  const actions = el("div", { className: "model-actions" }, [
    el("div", { className: "panel-actions" }, [open, remove]),
    el("div", { className: "model-export", "data-testid": "model-export" }, [field("models.layout", exportLayout), field("models.format", exportFormat), download]),
  ]);
  const section = el("section", { id: "models", className: "panel", "data-testid": "models", dataset: { state: "idle" } }, [
    el("h2", { i18n: "models.heading" }),
    el("p", { className: "panel-intro", i18n: "models.intro" }),
    readOnly ? el("p", { className: "hint", i18n: "models.readOnly" }) : null,
    readOnly ? null : form,
    error,
    status,
    info,
    mapping,
    list,
    empty,
    actions,
    openHint,
  ]);
  parent.append(section);

  const view = { models: [], config: null, detail: null, statusKey: null };

  function showError(result) {
    const [first] = describeFailure(result, "numbers");
    // The server's reason names the file's problem; the remedy says, in the page's language,
    // which field of this form to fill in.
    const remedy = remedyKey(result);
    error.textContent = remedy ? `${first.message} ${t(remedy)}` : first.message;
    error.hidden = false;
    section.dataset.state = "error";
  }

  const radios = () => [...listItems.querySelectorAll("input[type=radio]")];
  const chosenId = () => radios().find((r) => r.checked)?.value ?? "";

  function chosen() {
    const id = chosenId();
    return view.models.find((m) => m.id === id) || null;
  }

  function choose(id) {
    for (const radio of radios()) radio.checked = radio.value === id;
  }

  function syncActions() {
    const model = chosen();
    // The book's layout has no GRU.
    for (const option of exportLayout.options) option.disabled = option.value === "book" && model?.cell === "gru";
    if (exportLayout.selectedOptions[0]?.disabled) exportLayout.value = "pytorch";
    const canOpen = model ? openable(model) : { ok: false, why: null };
    open.disabled = !canOpen.ok;
    openHint.hidden = !canOpen.why;
    if (canOpen.why) openHint.textContent = t(canOpen.why);
    remove.disabled = !model || readOnly;
    download.toggleAttribute("aria-disabled", !model);
    if (model) {
      const query = new URLSearchParams({ layout: exportLayout.value, format: exportFormat.value });
      download.href = `/api/models/${model.id}/export?${query}`;
    } else download.removeAttribute("href");
  }

  // A gallery model reads under its title in the page's language.
  const nameOf = (m) => shownName(m, language());

  function entryText(m) {
    // A model with no parity check (trained here, or nothing to compare with) says nothing of it.
    const parity = parityMark(m.parity);
    return t(parity ? "models.entry" : "models.entry.unchecked", {
      name: nameOf(m),
      cell: m.cell.toUpperCase(),
      layers: m.num_layers,
      hidden: m.hidden_size,
      parity,
      date: m.created_at.replace("T", " ").slice(0, 16),
    });
  }

  function item(m) {
    const radio = el("input", { type: "radio", name: "saved-model", value: m.id });
    radio.addEventListener("change", syncActions);
    return el("label", { className: "model-item", "data-testid": "model-item" }, [radio, el("span", { className: "model-item-text" })]);
  }

  /** The list from view.models, in the page's language, keeping the choice and the focus. */
  function renderList(keep = chosenId()) {
    const focused = radios().find((r) => r === document.activeElement)?.value;
    const items = new Map(radios().map((r) => [r.value, r.closest("label")]));
    listItems.replaceChildren(
      ...view.models.map((m) => {
        const label = items.get(m.id) || item(m);
        label.querySelector(".model-item-text").textContent = entryText(m);
        return label;
      }),
    );
    choose(keep);
    if (focused) radios().find((r) => r.value === focused)?.focus();
    empty.hidden = view.models.length > 0;
    list.hidden = view.models.length === 0;
    syncActions();
  }

  async function refresh(selectId = null) {
    const result = await api("/api/models");
    if (!result.ok) return showError(result);
    view.models = result.data.models;
    renderList(selectId ?? chosenId());
  }

  function showMapping(detail) {
    view.detail = detail;
    const layoutLabel = t(`models.layout.${detail.layout}`);
    status.textContent = t("models.uploaded", {
      name: detail.name,
      cell: detail.cell.toUpperCase(),
      layers: detail.num_layers,
      hidden: detail.hidden_size,
      inputs: detail.input_size,
      layout: layoutLabel,
    });
    fillTable(
      tbody,
      detail.mapping.map((m) => [m.source, m.shape.join(" × "), m.target, m.source_blocks.join(", ") || "—", m.note || ""]),
    );
    mapping.hidden = false;
    infoBody.replaceChildren(
      ...describeUpload(detail).map(([label, text, kind]) =>
        el("tr", { dataset: { kind } }, [el("th", { scope: "row", text: label }), el("td", { text })]),
      ),
    );
    info.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) {
      error.textContent = t("models.noFile");
      error.hidden = false;
      return;
    }
    const data = new FormData();
    data.append("file", file.files[0]);
    if (layout.value) data.append("layout", layout.value);
    if (name.value.trim()) data.append("name", name.value.trim());
    if (nonlinearity.value) data.append("nonlinearity", nonlinearity.value);
    if (vocab.value !== "") data.append("vocab", vocab.value);
    if (output.value) data.append("output", output.value);
    section.dataset.state = "loading";
    const result = await api("/api/models", { form: data });
    if (!result.ok) return showError(result);
    error.hidden = true;
    showMapping(result.data);
    await refresh(result.data.id);
    section.dataset.state = "ready";
  });

  open.addEventListener("click", () => {
    const model = chosen();
    if (!model) return;
    const detail = { id: model.id };
    const config = view.config;
    if (!openable(model).ok) return;
    if (model.vocab) {
      // A text model reads tokens of its own vocabulary: the page's text if it can, else its tokens.
      detail.text = openingText(model.vocab, config && config.source === "text" ? config.text : "");
    } else {
      const rows = config && config.source === "numbers" ? config.inputs : null;
      const fits = Array.isArray(rows) && rows.length && rows.every((r) => Array.isArray(r) && r.length === model.input_size);
      detail.inputs = fits ? rows : probeInputs(model.input_size);
    }
    document.dispatchEvent(new CustomEvent("viz:use-model", { detail }));
  });

  remove.addEventListener("click", async () => {
    const model = chosen();
    if (!model) return;
    const result = await api(`/api/models/${model.id}`, { method: "DELETE" });
    if (!result.ok) return showError(result);
    error.hidden = true;
    status.textContent = t("models.deleted", { name: nameOf(model) });
    await refresh();
  });

  for (const control of [exportLayout, exportFormat]) control.addEventListener("change", syncActions);
  refresh();

  return {
    onRun(config) {
      view.config = config;
    },
    refresh,
    redraw() {
      renderList();
      if (view.detail) showMapping(view.detail);
    },
  };
}
