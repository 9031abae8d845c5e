// Fills the template's labels from i18n.js (DOM glue).
//   data-i18n="key"        -> textContent
//   data-i18n-label="key"  -> aria-label
//   data-i18n-title="key"  -> title (the tooltip)

import { t } from "./i18n.js";

export function applyLabels(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.setAttribute("title", t(el.dataset.i18nTitle));
  if (root === document) document.title = t("page.title");
}

/** Point an element at another i18n key and refresh it. */
export function relabel(el, key, attr = "label") {
  if (attr === "label") {
    el.dataset.i18nLabel = key;
    el.setAttribute("aria-label", t(key));
  } else if (attr === "title") {
    el.dataset.i18nTitle = key;
    el.setAttribute("title", t(key));
  } else {
    el.dataset.i18n = key;
    el.textContent = t(key);
  }
}
