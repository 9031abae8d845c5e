// The legend under the player (DOM glue): the colour scales of the mode on screen and the
// identity colour of each quantity.  Built with textContent only.

import { binStyle, cssGradient, identity, NORM_BINS, SCALES } from "../core/colors.js";
import { heatmapNames } from "../core/cells.js";
import { t } from "../core/i18n.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scale(title, colors, ticks) {
  const box = el("div", "legend-scale");
  box.append(el("span", "legend-title", title));
  const bar = el("div", "legend-bar");
  bar.style.background = cssGradient(colors);
  box.append(bar);
  const row = el("div", "legend-ticks");
  for (const tick of ticks) row.append(el("span", "", tick));
  box.append(row);
  return box;
}

function widths() {
  const row = el("div", "legend-widths");
  for (const bin of [0, NORM_BINS / 2, NORM_BINS - 1]) {
    const style = binStyle(bin);
    const swatch = el("span");
    swatch.style.height = `${style.width}px`;
    swatch.style.background = style.color;
    row.append(swatch);
  }
  row.append(el("span", "legend-note", t("legend.width")));
  row.lastChild.style.width = "auto";
  return row;
}

function identities(cell, projSize) {
  const names = heatmapNames(cell).filter((name) => name !== "a"); // A, the pre-activation, has no identity colour
  if (projSize && !names.includes("m")) names.splice(names.indexOf("h"), 0, "m");
  const box = el("div", "legend-scale");
  box.style.width = "auto";
  box.append(el("span", "legend-title", t("legend.identity")));
  const row = el("div", "legend-identity");
  for (const name of names) {
    const chip = el("span", "chip");
    const swatch = el("i");
    swatch.style.background = identity(name);
    chip.append(swatch, el("span", "", name === "c" || name === "h" || name === "m" ? t(`name.${name}`) : t(`gate.${name}`)));
    row.append(chip);
  }
  box.append(row);
  return box;
}

function outputNote(mode, lossKind) {
  const key = mode === "backward" ? (lossKind === "dh" ? null : "legend.output.backward") : lossKind === "dh" ? null : `legend.output.${lossKind}`;
  return key ? el("p", "legend-note", t(key)) : null;
}

export function renderLegend(
  container,
  { mode, cell, lossKind, bidirectional = false, stacked = false, projSize = 0, topK = false },
) {
  const parts = [];
  if (mode === "forward") {
    if (cell !== "rnn") parts.push(scale(t(`legend.sigmoid.${cell}`), SCALES.sigmoid, ["0", "0.5", "1"]));
    parts.push(scale(t(`legend.tanh.${cell}`), SCALES.tanh, ["−1", "0", "1"]));
  } else {
    parts.push(scale(t("legend.grad"), SCALES.grad, ["−1", "−1e−4", "±1e−8", "1e−4", "1"]));
    const rail = scale(t("legend.norm"), SCALES.norm, ["≤1e−8", "1e−4", "1"]);
    rail.append(widths());
    parts.push(rail);
  }
  const ids = identities(cell, projSize);
  const note = outputNote(mode, lossKind);
  if (note) ids.append(note);
  if (topK) ids.append(el("p", "legend-note", t("legend.topK")));
  if (bidirectional) ids.append(el("p", "legend-note", t(mode === "backward" ? "legend.directions.backward" : "legend.directions")));
  // One clock for every layer is a simplification a stack of bidirectional layers must state.
  if (bidirectional && stacked) ids.append(el("p", "legend-note", t("legend.directions.stacked")));
  parts.push(ids);
  container.replaceChildren(...parts);
}
