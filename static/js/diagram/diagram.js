// The unrolled diagram and the overview strip on the page (DOM glue around Plotly).
// frames.js and overview.js compute the traces; this module owns the window's position,
// the elements' sizes and the Plotly calls.
//
// Contract: the diagram element (data-testid=diagram) carries data-mode (forward|backward)
// and data-step (1-based t) of the frame it has drawn, set once that frame's Plotly.react
// has finished, never before.  Draws are serialised and coalesced: while one is in progress
// only the newest frame asked for is remembered and drawn next, so the frame that ends up on
// screen is always the last one asked for (tests/web/test_player_edges.py).

import { diagramHeight, diagramLayout, leftMargin, staticLayout } from "./figure.js";
import { createStripCanvas } from "./stripcanvas.js";
import { buildFrame, hasHead } from "./frames.js";
import { sig4 } from "../core/format.js";
import { registerStrings, t } from "../core/i18n.js";
import { diagramTable } from "./table.js";
import { DIAGRAM_CONFIG, STATIC_CONFIG } from "../core/plotconfig.js";
import { geometry, MAX_TOP_K } from "./layout.js";
import { buildOverview, overviewCaption, overviewHeight, overviewLayout, overviewMarks } from "./overview.js";
import { centerWindow, followWindow, windowSize } from "./window.js";
import { positionOf, stepForPosition } from "../core/walk.js";
import { yieldToPage } from "../core/tasks.js";

const RIGHT_ROOM = 10; // beyond the y-axis labels and the initial-state labels

export const en = {
  "diagramTable.summary": "The diagram as a table (values at this step)",
  "diagramTable.caption": "{mode} pass at t = {t}: units 1 to {n} of {H}, and the norm over all {H}.",
  "diagramTable.where": "Layer",
  "diagramTable.quantity": "Quantity",
  "diagramTable.unit": "unit {u}",
  "diagramTable.norm": "norm",
  "diagramTable.keys":
    "Keyboard: ← → move the step, ↑ ↓ choose the layer (and direction), Enter opens the chosen cell in the cell view.",
  "diagramTable.selected": "Chosen cell: {where}, t = {t}.",
};
export const ko = {
  "diagramTable.summary": "다이어그램을 표로 보기(이 시점의 값)",
  "diagramTable.caption": "{mode}, t = {t}: 유닛 {H}개 중 1~{n}번과 {H}개 전체의 노름이에요.",
  "diagramTable.where": "층",
  "diagramTable.quantity": "값",
  "diagramTable.unit": "유닛 {u}",
  "diagramTable.norm": "노름",
  "diagramTable.keys": "키보드: ← →로 시점을 옮기고, ↑ ↓로 층(과 방향)을 고르고, Enter로 고른 셀을 셀 보기에서 열어요.",
  "diagramTable.selected": "고른 셀: {where}, t = {t}예요.",
};
registerStrings({ en, ko });
const tt = (key, params) => t(`diagramTable.${key}`, params); // (registered above)

/** Plotly's SVG (tick labels, hover layers) is hidden from screen readers: the element's label and the table speak for it. */
export function hidePlotSvg(plot) {
  // (The SVGs only: the toolbar beside them keeps its buttons, which must stay reachable.)
  for (const el of plot.querySelectorAll("svg.main-svg")) el.setAttribute("aria-hidden", "true");
}

export function createDiagram({ element, underlay, overview, overviewWrap, overviewCaptionEl, onJump, onSelectCell, onOpenCell = () => {} }) {
  const Plotly = () => window.Plotly; // read late: plotly.js may finish loading after this module
  let revisionOfRun = 0;
  let run = null;
  let geom = null;
  let layout = null;
  let start = 0;
  let revision = 0;
  let overviewBound = false;
  let overviewKey = null; // what the overview's heatmap shows (run, mode, width)
  const marks = {
    frame: document.getElementById("overview-frame"),
    cursor: document.getElementById("overview-cursor"),
    veil: document.getElementById("overview-veil"),
  };
  let drawnWidth = 0;
  // The gate strips: painted on a canvas between the static graph and the frame.
  const stripTip = document.createElement("div");
  stripTip.className = "strip-tip";
  stripTip.hidden = true;
  stripTip.setAttribute("aria-hidden", "true");
  element.after(stripTip);
  const strips = createStripCanvas({ element, tooltip: stripTip });
  let underlayKey = null; // the geometry and width the static graph was drawn for
  // The selected cell's layer and direction, and what the explanation points at.
  let focus = { layer: 0, dir: "forward", emphasis: null };

  // The table alternative: a <details> after the diagram, its body built for the frame on
  // screen while it is open (and when it opens).
  const tableBox = document.createElement("details");
  tableBox.className = "diagram-table";
  tableBox.setAttribute("data-testid", "diagram-table");
  const tableSummary = document.createElement("summary");
  const table = document.createElement("table");
  tableBox.append(tableSummary, table);
  (element.closest(".diagram-stage") || element).insertAdjacentElement("afterend", tableBox);
  let onScreen = null; // {run, mode, step} of the frame drawn last (step 0-based)
  tableBox.addEventListener("toggle", () => renderTable());

  function renderTable() {
    tableSummary.textContent = tt("summary");
    if (!onScreen) return;
    const { run: r, mode, step } = onScreen;
    Object.assign(tableBox.dataset, { mode, step: String(step + 1) });
    if (!tableBox.open) return;
    const data = diagramTable(r, { mode, step });
    const cell = (tag, text, attrs = {}) => {
      const el = document.createElement(tag);
      el.textContent = text;
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      return el;
    };
    const caption = cell("caption", tt("caption", {
      mode: t(mode === "forward" ? "player.forward" : "player.backward"),
      t: step + 1,
      n: data.units,
      H: data.hidden,
    }));
    const head = document.createElement("tr");
    head.append(cell("th", tt("where"), { scope: "col" }), cell("th", tt("quantity"), { scope: "col" }));
    for (let u = 0; u < data.units; u += 1) head.append(cell("th", tt("unit", { u: u + 1 }), { scope: "col" }));
    head.append(cell("th", tt("norm"), { scope: "col" }));
    const body = document.createElement("tbody");
    for (const row of data.rows) {
      const tr = document.createElement("tr");
      tr.dataset.layer = String(row.layer + 1);
      tr.dataset.direction = row.dir;
      tr.dataset.name = row.name;
      const where = r.bidirectional
        ? `${t("diagram.layer", { k: row.layer + 1 })} ${t(`dir.${row.dir}`)} (t = ${row.position + 1})`
        : t("diagram.layer", { k: row.layer + 1 });
      const label = row.name === "a" ? "A" : ["c", "h", "m"].includes(row.name) ? t(`name.${row.name}`) : t(`gate.${row.name}`);
      tr.append(cell("th", where, { scope: "row" }), cell("th", mode === "backward" ? `dL/d ${label}` : label, { scope: "row" }));
      for (const v of row.values) tr.append(cell("td", sig4(v), { "data-value": String(v) }));
      tr.append(cell("td", sig4(row.norm)));
      body.append(tr);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    table.replaceChildren(caption, thead, body);
  }

  // Keyboard: the diagram takes the focus; ← → are the player's (the step), ↑ ↓ choose the
  // row (layer and direction) above or below, Enter opens the chosen cell in the cell view.
  element.tabIndex = 0;
  element.setAttribute("aria-keyshortcuts", "ArrowUp ArrowDown Enter");
  element.addEventListener("keydown", (event) => {
    if (!run || !geom || !wanted || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Enter") {
      event.preventDefault();
      onOpenCell();
      return;
    }
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    event.preventDefault();
    // The rows bottom to top; the chosen one moves one up or down.
    const order = Array.from({ length: geom.rows }, (_, r) => r).sort((a, b) => geom.rowBottom(a) - geom.rowBottom(b));
    const dir = run.bidirectional ? focus.dir : "forward";
    const at = order.findIndex((r) => geom.rowLayer(r) === focus.layer && geom.rowDir(r) === dir);
    const next = order[Math.max(0, Math.min(order.length - 1, at + (event.key === "ArrowUp" ? 1 : -1)))];
    if (next === order[at]) return;
    onSelectCell(wanted.step + 1, geom.rowLayer(next), geom.rowDir(next));
  });

  // Clicking a cell selects it: the walk's step at which its direction is at that position,
  // its layer and its direction (pixels to data units via the axes).
  element.addEventListener("click", (event) => {
    const full = element._fullLayout;
    if (!run || !geom || !full || !full.xaxis) return;
    const box = element.getBoundingClientRect();
    const x = full.xaxis.p2l(event.clientX - box.left - full.xaxis._offset);
    const y = full.yaxis.p2l(event.clientY - box.top - full.yaxis._offset);
    const slot = Math.round(x);
    if (slot < 0 || slot >= geom.size || Math.abs(x - slot) > geom.half + 0.02) return;
    for (let r = 0; r < geom.rows; r += 1) {
      if (y >= geom.rowBottom(r) - 0.05 && y <= geom.rowTop(r) + 0.05 && start + slot < run.steps) {
        const dir = geom.rowDir(r);
        onSelectCell(stepForPosition(dir, start + slot, run.steps), geom.rowLayer(r), dir);
        return;
      }
    }
  });

  /** Where the window follows: the selected direction's position at a step (0-based). */
  const followed = (step) => positionOf(run.bidirectional ? focus.dir : "forward", step, run.steps);

  function fit() {
    const width = Math.max(300, Math.floor(element.clientWidth));
    const margin = leftMargin({ directions: run.bidirectional ? 2 : 1 }) + RIGHT_ROOM;
    const size = windowSize(width - margin, run.steps);
    if (!geom || geom.size !== size) {
      geom = geometry({
        size,
        layers: run.numLayers,
        directions: run.bidirectional ? 2 : 1,
        gates: run.gates,
        hasCellState: run.hasCellState,
        hidden: run.hidden,
        inputWidth: run.embedding ? run.inputSize : 0,
        topK: run.showTopK ? Math.min(MAX_TOP_K, (run.topK(0) || []).length) : 0,
      });
    }
    layout = diagramLayout(geom, { height: diagramHeight(geom) });
    layout.width = width;
    return width;
  }

  function describe(run, mode, step) {
    const params = {
      cell: run.cell.toUpperCase(),
      T: run.steps,
      layers: run.numLayers,
      mode: t(mode === "forward" ? "player.forward" : "player.backward").toLowerCase(),
      t: step + 1,
      tr: positionOf("reverse", step, run.steps) + 1,
    };
    const where = run.bidirectional
      ? `${t("diagram.layer", { k: focus.layer + 1 })} ${t(`dir.${focus.dir}`)}`
      : t("diagram.layer", { k: focus.layer + 1 });
    const chosen = tt("selected", { where, t: positionOf(run.bidirectional ? focus.dir : "forward", step, run.steps) + 1 });
    element.setAttribute("aria-label", `${t(run.bidirectional ? "diagram.labelBi" : "diagram.label", params)} ${chosen} ${tt("keys")}`);
    overview.setAttribute("aria-label", t("diagram.overviewLabel", { T: run.steps }));
  }

  function placeMarks(box) {
    for (const [name, el] of Object.entries(marks)) {
      const b = box[name];
      el.hidden = b.width <= 0;
      el.style.left = `${b.left}px`;
      el.style.width = `${b.width}px`;
      el.style.top = `${b.top}px`;
      el.style.height = `${b.height}px`;
    }
  }

  // Draws are serialised: one Plotly.react of the diagram at a time, and while one is in
  // progress only the newest request is remembered and drawn next (an older frame never
  // lands after a newer one).  `wanted` is the latest frame asked for (step 0-based).
  let wanted = null;
  let pending = false;
  let loop = null;

  /** Ask for a frame; resolves once the newest frame asked for is on screen. */
  function request(mode, step) {
    wanted = { mode, step };
    pending = true;
    if (!loop) {
      loop = (async () => {
        let meta = null;
        try {
          while (pending) {
            pending = false;
            meta = await draw(wanted.mode, wanted.step);
          }
        } finally {
          loop = null;
        }
        return meta;
      })();
    }
    return loop;
  }

  // The run, geometry and window are read once, when the frame is built: the attributes set
  // after the awaited redraw describe that frame even if a new run arrived meanwhile.
  const draw = (mode, step) => drawFrame(run, geom, start, mode, step);

  async function drawFrame(run, geom, start, mode, step) {
    const frame = buildFrame(run, geom, { start, mode, step, layer: focus.layer, dir: focus.dir, emphasis: focus.emphasis });
    revision += 1;
    layout.datarevision = revision;
    const jobs = [];
    const key = `${revisionOfRun}:${geom.size}:${layout.width}`;
    if (key !== underlayKey) {
      // A new run or width: the static boxes, then the frame, each in a task of its own.
      underlayKey = key;
      const head = hasHead(run);
      const base = staticLayout(geom, { height: layout.height, output: head, targets: head });
      base.width = layout.width;
      await Plotly().react(underlay, [], base, STATIC_CONFIG);
      await yieldToPage();
    }
    // The strips once the frame's axes are in place (the same task: painted with the frame).
    jobs.push(Plotly().react(element, frame.data, layout, DIAGRAM_CONFIG).then(() => strips.paint(frame.strips)));
    const showOverview = geom.size < run.steps;
    overviewWrap.hidden = !showOverview;
    if (showOverview) {
      const height = overviewHeight(run.rows.length);
      const key = `${revisionOfRun}:${mode}:${layout.width}`; // read before any yield: a newer run may bump it
      if (key !== overviewKey) {
        overviewKey = key;
        await Promise.all(jobs); // the frame first; the overview strip in the next task
        await yieldToPage();
        const ovLayout = overviewLayout(run, { height });
        ovLayout.width = layout.width;
        ovLayout.datarevision = revision;
        jobs.push(Plotly().react(overview, buildOverview(run, mode).data, ovLayout, DIAGRAM_CONFIG));
        overviewCaptionEl.textContent = t(overviewCaption(run, mode));
      }
      const dir = run.bidirectional ? focus.dir : "forward";
      placeMarks(overviewMarks(run, { start, size: geom.size, mode, step, dir }, { width: layout.width, height }));
    }
    drawnWidth = layout.width;
    await Promise.all(jobs);
    if (showOverview && !overviewBound) {
      overviewBound = true;
      overview.on("plotly_click", (event) => {
        const point = event && event.points && event.points[0];
        if (point && Number.isFinite(point.x)) onJump(Math.round(point.x));
      });
    }
    describe(run, mode, step);
    // What is on screen, for the page's tests and for the panels of issue 4.
    Object.assign(element.dataset, {
      mode,
      step: String(step + 1),
      windowStart: String(start + 1),
      windowSize: String(geom.size),
      highlight: String(step - start),
      layer: String(focus.layer + 1),
      direction: run.bidirectional ? focus.dir : "forward",
      // The rows bottom to top, e.g. "1:reverse 1:forward 2:reverse 2:forward".
      rows: Array.from({ length: geom.rows }, (_, r) => r)
        .sort((a, b) => geom.rowBottom(a) - geom.rowBottom(b))
        .map((r) => `${geom.rowLayer(r) + 1}:${geom.rowDir(r)}`)
        .join(" "),
      // Where each direction is at this step (1-based positions).
      positions: run.directions.map((d) => `${d}:${positionOf(d, step, run.steps) + 1}`).join(" "),
      emphasis: (focus.emphasis || []).join(" "),
    });
    hidePlotSvg(element);
    hidePlotSvg(underlay);
    if (showOverview) hidePlotSvg(overview);
    onScreen = { run, mode, step };
    renderTable();
    return frame.meta;
  }

  return {
    /** A new run: fit the window to the width, centred on `step` (1-based) of the followed direction `dir`. */
    async setRun(nextRun, { mode, step, dir = focus.dir }) {
      run = nextRun;
      focus = { ...focus, dir };
      revisionOfRun += 1;
      geom = null;
      fit();
      start = centerWindow(followed(step - 1), run.steps, geom.size);
      return request(mode, step - 1);
    },
    /** Show another step or mode of the same run. */
    async show({ mode, step }) {
      if (!run) return null;
      const s = step - 1;
      follow(s);
      return request(mode, s);
    },
    /** Select a layer and direction and/or set what the explanation emphasises; redraws the frame on screen. */
    async setFocus(next) {
      const same = Object.entries(next).every(([k, v]) => sameFocus(focus[k], v));
      focus = { ...focus, ...next };
      // Nothing new to draw (a Run's cell view restates the focus the frame was built with).
      if (!run || !wanted || same) return loop;
      // The frame asked for last (not the one on screen: a newer one may be on its way).
      follow(wanted.step);
      return request(wanted.mode, wanted.step);
    },
    /** Redraw everything in the current language (tick labels, hover texts, captions). */
    async refresh() {
      tableSummary.textContent = tt("summary");
      if (!run || !wanted) return null;
      underlayKey = null;
      overviewKey = null;
      return request(wanted.mode, wanted.step);
    },
    /** The element changed width: refit the window and redraw the same frame. */
    async resize() {
      if (!run || !wanted) return null;
      const before = geom.size;
      const width = fit();
      if (Math.abs(width - drawnWidth) < 2 && before === geom.size) return null;
      start = followWindow(start, followed(wanted.step), run.steps, geom.size);
      return request(wanted.mode, wanted.step);
    },
  };

  /** Whether two values of a focus field (a layer, a direction, an emphasis list or null) are the same. */
  function sameFocus(a, b) {
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, k) => v === b[k]);
    return a === b;
  }

  /** Keep the followed direction's current cell in view (moving the window as little as possible). */
  function follow(step) {
    const p = followed(step);
    const inView = p >= start && p < start + geom.size;
    start = inView ? followWindow(start, p, run.steps, geom.size) : centerWindow(p, run.steps, geom.size);
  }
}
