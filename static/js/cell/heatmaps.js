// The heatmaps of one layer and direction (DOM glue around Plotly): redrawn when the run,
// the layer, the direction, the mode, the language or the selected units change; the current
// step is a marker per panel, a plain element positioned over the plot, so stepping costs no
// Plotly call.
//
// Each panel's bricks are a picture the page paints itself (heatimage.js), one panel per task
// with the page free in between, and Plotly draws the axes, titles and outlines around them.
// Pictures are kept per (layer, direction, mode) of the run, so choosing a unit or coming
// back to a layer repaints nothing.  Hovering a brick tells its value, clicking it chooses
// its unit (shift, ctrl or ⌘ adds it), with the panels' geometry from charts.js.

import { keyedChart } from "./chartview.js";
import { exportConfig } from "../core/plotconfig.js";
import { heatPixels } from "./heatimage.js";
import { heatmapFigure, heatmapPanels, panelBox } from "./charts.js";
import { sig } from "../core/format.js";
import { t as tr } from "../core/i18n.js";
import { yieldToPage } from "../core/tasks.js";

/** A picture (heatimage.js) as a data: URL, the form Plotly places without reloading it. */
async function pictureURL({ width, height, pixels }) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(pixels, width, height), 0, 0);
  // toBlob encodes off the page's thread; the reader hands back the URL.
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

export function createHeatmaps({ element, stage, onSelectUnit }) {
  const Plotly = () => window.Plotly;
  let cursors = [];
  let bound = false;
  let width = 0;
  let serial = 0;
  // What is on screen: {run, panels} (for hover and clicks).
  let shown = null;
  // Pictures of the current run: "k:dir:mode" -> {name: URL}.
  let picturesOf = null;
  let pictures = new Map();
  const tip = document.createElement("div");
  tip.className = "heat-tip";
  tip.hidden = true;
  tip.setAttribute("aria-hidden", "true"); // the table alternative says the same
  stage.append(tip);

  function placeCursors(run, state) {
    const names = run.heatmaps;
    while (cursors.length < names.length) {
      const el = document.createElement("div");
      el.className = "heat-cursor";
      el.setAttribute("aria-hidden", "true");
      stage.append(el);
      cursors.push(el);
    }
    cursors.forEach((el, j) => {
      el.hidden = j >= names.length;
      if (el.hidden) return;
      const box = panelBox(names, j, width);
      const colW = box.width / run.steps;
      el.style.left = `${box.left + (state.step - 1) * colW}px`;
      el.style.width = `${Math.max(2, colW)}px`;
      el.style.top = `${box.top}px`;
      el.style.height = `${box.height}px`;
    });
    element.dataset.step = String(state.step);
  }

  /** The pictures of a layer, direction and mode: painted once per run, a panel per task. */
  async function picturesFor(run, panels, state, isCurrent) {
    if (picturesOf !== run) {
      picturesOf = run;
      pictures = new Map();
    }
    const key = `${state.k}:${state.dir}:${state.mode}`;
    const have = pictures.get(key) || {};
    for (const panel of panels) {
      if (!panel.rows || have[panel.name]) continue;
      await yieldToPage();
      if (!isCurrent()) return null;
      have[panel.name] = await pictureURL(heatPixels(panel.rows, panel.rule));
    }
    pictures.set(key, have);
    return have;
  }

  /** The brick under a point of the figure (px from its top left): {panel, t, u} (1-based) or null. */
  function brickAt(x, y) {
    if (!shown) return null;
    const { run, panels } = shown;
    for (let j = 0; j < panels.length; j += 1) {
      const box = panelBox(run.heatmaps, j, width);
      if (x < box.left || x >= box.left + box.width || y < box.top || y >= box.top + box.height) continue;
      const panel = panels[j];
      const t = Math.min(run.steps, Math.floor(((x - box.left) / box.width) * run.steps) + 1);
      const u = Math.min(panel.units, Math.floor(((y - box.top) / box.height) * panel.units) + 1);
      return { panel, t, u };
    }
    return null;
  }

  function pointOf(event) {
    const rect = element.getBoundingClientRect();
    return brickAt(event.clientX - rect.left, event.clientY - rect.top);
  }

  function showTip(event) {
    const at = pointOf(event);
    if (!at || !at.panel.rows) {
      tip.hidden = true;
      return;
    }
    const { panel, t, u } = at;
    const value = panel.rows[t - 1][u - 1];
    const head = document.createElement("b");
    head.textContent = panel.symbol;
    tip.replaceChildren(head, document.createElement("br"), `t = ${t} · ${tr("hover.unit", { u })}`);
    tip.append(document.createElement("br"), `${panel.symbol} = ${sig(value, 4)}`);
    tip.hidden = false;
    const rect = stage.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const flip = x + 12 + tip.offsetWidth > stage.clientWidth;
    tip.style.left = `${flip ? x - 12 - tip.offsetWidth : x + 12}px`;
    tip.style.top = `${event.clientY - rect.top + 12}px`;
  }

  function bind() {
    bound = true;
    element.addEventListener("mousemove", showTip);
    element.addEventListener("mouseleave", () => {
      tip.hidden = true;
    });
    element.addEventListener("click", (event) => {
      const at = pointOf(event);
      if (!at || !at.panel.cellUnits) return;
      onSelectUnit(at.u - 1, { add: Boolean(event.shiftKey || event.ctrlKey || event.metaKey) });
    });
  }

  async function draw(run, state) {
    serial += 1;
    const mine = serial;
    const isCurrent = () => mine === serial;
    width = Math.max(320, Math.floor(element.clientWidth));
    const panels = heatmapPanels(run, state);
    const images = await picturesFor(run, panels, state, isCurrent);
    if (!images || !isCurrent()) return;
    const fig = heatmapFigure(run, { k: state.k, dir: state.dir, mode: state.mode, units: state.units, width, images });
    const dirName = run.bidirectional ? `-${state.dir}` : "";
    await Plotly().react(element, fig.data, fig.layout, exportConfig(`heatmaps-layer${state.k + 1}${dirName}-${state.mode}`));
    if (!isCurrent()) return;
    shown = { run, panels: fig.panels };
    if (!bound) bind();
    tip.hidden = true;
    Object.assign(element.dataset, {
      mode: state.mode,
      layer: String(state.k + 1),
      direction: state.dir,
      panels: fig.panels.map((p) => p.name).join(" "),
      // Each panel's colour range, lowest and highest value (a check reads the scale drawn).
      ranges: fig.panels.map((p) => `${p.name}:${p.rule.zmin}:${p.rule.zmax}`).join(" "),
      units: state.units.map((u) => u + 1).join(","),
    });
    placeCursors(run, state);
  }

  return keyedChart(element, { draw, place: placeCursors });
}
