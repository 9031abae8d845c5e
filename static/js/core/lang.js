// The language toggle (DOM glue): which language the page speaks, and the `<html lang>`
// and labels that follow it.  What else depends on the language is redrawn by main.js.

import { language, LANGUAGES, setLanguage } from "./i18n.js";
import { applyLabels } from "./labels.js";

/** Switch to `lang`: dictionary, <html lang>, every data-i18n label.  Returns the language set. */
export function applyLanguage(lang) {
  const set = setLanguage(lang);
  document.documentElement.lang = set;
  applyLabels(document);
  return set;
}

/** The toggle button cycles through the languages; `onChange(lang)` does the rest. */
export function createLangToggle({ button, onChange }) {
  button.addEventListener("click", () => {
    const k = LANGUAGES.indexOf(language());
    onChange(LANGUAGES[(k + 1) % LANGUAGES.length]);
  });
}

/** Save a JSON value as a file (a Blob URL and a temporary link; no inline script). */
export function downloadJSON(filename, value) {
  const blob = new Blob([JSON.stringify(value, null, 1)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
