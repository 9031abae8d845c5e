// Small DOM builders for the panels (DOM glue).  Labels carry data-i18n keys, so
// applyLabels() re-translates them when the language changes.

import { t } from "../core/i18n.js";
import "./strings.js"; // the panels' strings, registered with i18n

let counter = 0;

/** An element: props may hold className, text, i18n (a key), dataset, and any attribute. */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "i18n") {
      node.dataset.i18n = value;
      node.textContent = t(value);
    } else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** A labelled control (label above, optional hint below), with ids wired for a11y. */
export function field(labelKey, control, hintKey = null) {
  if (!control.id) control.id = `panel-field-${++counter}`;
  const label = el("label", { for: control.id, i18n: labelKey });
  const parts = [label, control];
  if (hintKey) {
    const hint = el("p", { className: "hint", id: `${control.id}-hint`, i18n: hintKey });
    control.setAttribute("aria-describedby", hint.id);
    parts.push(hint);
  }
  return el("div", { className: "panel-field" }, parts);
}

/** A field that takes two columns of its form (a long hint, a file input): panels.css .wide. */
export function wide(node) {
  node.classList.add("wide");
  return node;
}

/** A <select> whose options are [value, i18n key] pairs (or plain text with a "text:" prefix). */
export function select(options, props = {}) {
  const node = el("select", props);
  for (const [value, key] of options) {
    node.append(key.startsWith("text:") ? el("option", { value, text: key.slice(5) }) : el("option", { value, i18n: key }));
  }
  return node;
}

export function numberInput(props = {}) {
  return el("input", { type: "number", inputmode: "decimal", ...props });
}

/** Replace a table body with rows of text cells (textContent only: user data stays text). */
export function fillTable(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, cells.map((c) => el("td", { text: c })))));
}
