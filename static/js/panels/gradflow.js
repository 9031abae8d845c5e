// The gradient-flow view: RNN, GRU and LSTM on the same sequence, gradient norms per step
// on a log axis (DOM glue; the numbers come from flowdata.js).

import { describeFailure } from "../core/api.js";
import { api } from "../core/server.js";
import { buildRequest } from "../core/config.js";
import { chartConfig } from "../core/plotconfig.js";
import { t } from "../core/i18n.js";
import "./strings.js"; // the panels' strings, registered with i18n
import { el, field, numberInput, select, wide } from "./dom.js";
import { chartBox } from "./chartbox.js";
import { dashArray, flowRows, flowSummary, flowTable, flowTraces, legendItems, thresholdShapes } from "./flowdata.js";

const TASKS = ["adding", "copy", "temporal_order", "current"];
const DEFAULT_LENGTH = { adding: 100, temporal_order: 100, copy: null };
const REDRAW_DELAY_MS = 250;

const COLUMNS = ["cell", "loss", "first", "last", "ratio", "spectral", "clip", "saturation"];

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** A legend entry's picture: the line's colour, dash and marker, or the mark alone. */
function swatch(item) {
  const box = svg("svg", { width: 40, height: 16, viewBox: "0 0 40 16", "aria-hidden": "true", focusable: "false" });
  const { color } = item;
  if (item.kind === "guide") {
    box.append(svg("line", { x1: 1, y1: 8, x2: 39, y2: 8, stroke: color, "stroke-width": 1.5, "stroke-dasharray": dashArray(item.dash) }));
    return box;
  }
  if (item.kind === "line") box.append(svg("line", { x1: 1, y1: 8, x2: 39, y2: 8, stroke: color, "stroke-width": item.width, "stroke-dasharray": dashArray(item.dash) }));
  const s = item.kind === "line" ? 4 : 6;
  const fill = item.kind === "line" ? color : "none";
  const common = { fill, stroke: item.kind === "line" ? "#ffffff" : color, "stroke-width": item.kind === "line" ? 1 : 2 };
  const shape = {
    circle: () => svg("circle", { cx: 20, cy: 8, r: s, ...common }),
    "circle-open": () => svg("circle", { cx: 20, cy: 8, r: s, ...common }),
    square: () => svg("rect", { x: 20 - s, y: 8 - s, width: 2 * s, height: 2 * s, ...common }),
    diamond: () => svg("polygon", { points: `20,${8 - s - 1} ${21 + s},8 20,${9 + s} ${19 - s},8`, ...common }),
    "triangle-up": () => svg("polygon", { points: `20,${8 - s - 1} ${21 + s},${8 + s} ${19 - s},${8 + s}`, ...common }),
    "x-open": () => svg("path", { d: `M${20 - s},${8 - s}L${20 + s},${8 + s}M${20 - s},${8 + s}L${20 + s},${8 - s}`, ...common, fill: "none" }),
  }[item.symbol];
  if (shape) box.append(shape());
  return box;
}

export function createGradflow(parent) {
  const task = select(TASKS.map((name) => [name, `flow.task.${name}`]), { "data-testid": "gradflow-task" });
  const length = numberInput({ value: 100, min: 4, max: 1000, step: 1, "data-testid": "gradflow-length" });
  const delay = numberInput({ value: 20, min: 1, max: 990, step: 1 });
  const bias = select([["0", "text:0"], ["1", "text:1"], ["3", "text:3"]], { "data-testid": "gradflow-forget-bias" });
  const scale = numberInput({ value: 1, min: 0, max: 100, step: 0.1, "data-testid": "gradflow-scale" });
  const hold = el("input", { type: "checkbox", "data-testid": "gradflow-hold" });
  const clip = numberInput({ min: 0, step: "any", placeholder: "—", "data-testid": "gradflow-clip" });
  const run = el("button", { type: "submit", className: "primary", i18n: "flow.run" });
  const lengthField = field("flow.length", length);
  const delayField = field("flow.delay", delay);
  const biasField = field("flow.forgetBias", bias);
  const holdLabel = el("label", { className: "check" }, [hold, el("span", { i18n: "flow.holdForget" })]);
  // novalidate: the API judges ranges and its message is shown; a browser bubble would not be.
  const form = el("form", { className: "panel-controls form-grid", novalidate: true }, [
    wide(field("flow.task", task)), // "The sequence above" needs two columns
    lengthField,
    delayField,
    biasField,
    wide(field("flow.scale", scale, "flow.scale.hint")),
    field("flow.clip", clip, "flow.clip.hint"),
    el("div", { className: "panel-field" }, [holdLabel]),
    el("div", { className: "panel-field panel-actions form-row" }, [run]),
  ]);
  const layerNote = el("p", { className: "hint" });
  const chart = chartBox({ className: "panel-plot", id: "gradflow-plot", "data-testid": "gradflow-plot" });
  const plot = chart.plot;
  const legend = el("ul", { className: "chart-legend", "data-testid": "gradflow-legend" });
  chart.figure.after(legend);
  const summary = el("p", { className: "panel-summary" });
  const head = el("tr", { role: "row" }, COLUMNS.map((k) => el("th", { scope: "col", role: "columnheader", i18n: `flow.table.${k}` })));
  const tbody = el("tbody", { role: "rowgroup" });
  // Below ~700 px of panel the table becomes a card per cell, each value under its column's
  // name (panels.css .flow-table): eight columns do not fit a phone, and a sideways scroll
  // hides the columns a reader came for.  The roles keep it a table for assistive technology
  // when CSS displays its parts as blocks.
  const table = el("table", { className: "panel-table flow-table", role: "table", "data-testid": "gradflow-table" }, [el("thead", { role: "rowgroup" }, [head]), tbody]);
  const error = el("p", { className: "panel-error", role: "alert", hidden: true });
  const section = el("section", { id: "gradflow", className: "panel", "data-testid": "gradflow", dataset: { state: "idle", drawn: "0" } }, [
    el("h2", { i18n: "flow.heading" }),
    el("p", { className: "panel-intro", i18n: "flow.intro" }),
    form,
    error,
    layerNote,
    chart.root,
    summary,
    // It scrolls sideways on a phone: focusable, so a keyboard can scroll it.
    el("div", { className: "panel-table-wrap flow-table-wrap", tabindex: "0", role: "region", "data-i18n-label": "flow.table.label", "aria-label": t("flow.table.label") }, [table]),
  ]);
  parent.append(section);

  const view = { config: null, result: null, requestId: 0, timer: null };

  function syncFields() {
    const name = task.value;
    lengthField.hidden = !(name in DEFAULT_LENGTH) || name === "copy";
    delayField.hidden = name !== "copy";
    // "The sequence above" has neither a length nor a delay: the bias fills their column.
    biasField.classList.toggle("wide", lengthField.hidden && delayField.hidden);
  }

  async function requestBody() {
    const common = {
      forget_bias: Number(bias.value),
      recurrent_scale: Number(scale.value || 1),
      hold_forget: hold.checked,
      precision: 6,
    };
    if (clip.value !== "") common.clip = Number(clip.value);
    if (task.value === "current") {
      if (!view.config) return null;
      const body = buildRequest(view.config);
      delete body.cell; // compare runs all three
      delete body.model_id;
      return { ...body, ...common };
    }
    const params = new URLSearchParams();
    if (task.value === "copy") params.set("delay", delay.value);
    else params.set("steps", length.value);
    const preset = await api(`/api/presets/${task.value}?${params}`);
    if (!preset.ok) return { failure: preset };
    // The preset's own loss reads the last step (adding, temporal order) or the recall steps (copy).
    return { ...preset.data.request, ...common, hidden_size: view.config ? Number(view.config.hidden) || 8 : 8 };
  }

  async function compare() {
    try {
      await compareOnce();
    } catch (err) {
      // Never leave the view "loading": say what went wrong.
      error.textContent = t("error.general", { msg: String(err) });
      error.hidden = false;
      section.dataset.state = "error";
    }
  }

  async function compareOnce() {
    const id = ++view.requestId;
    section.dataset.state = "loading";
    const body = await requestBody();
    if (id !== view.requestId) return;
    const result = body && !body.failure ? await api("/api/compare", { json: body }) : body?.failure;
    if (id !== view.requestId) return;
    if (!result || !result.ok) {
      const [first] = result ? describeFailure(result, "numbers") : [{ message: t("error.general", { msg: "?" }) }];
      error.textContent = first.message;
      error.hidden = false;
      section.dataset.state = "error";
      return;
    }
    error.hidden = true;
    view.result = result.data;
    draw();
    section.dataset.state = "ready";
  }

  function draw() {
    const result = view.result;
    if (!result) return;
    // The top layer (where the loss enters): its row, or its forward direction's row when the
    // measures have a row per (layer, direction), in PyTorch's order.
    const directions = (result.directions || ["forward"]).length;
    const layer = (result.num_layers - 1) * directions;
    const top = result.num_layers;
    layerNote.textContent =
      directions > 1
        ? t("flow.layerDirection", { layer: top, layers: result.num_layers })
        : top > 1
          ? t("flow.layer", { layer: top, layers: result.num_layers })
          : "";
    const shapes = thresholdShapes(result, layer);
    const layout = {
      // automargin and a standoff: the axis titles keep clear of the tick labels at any width.
      margin: { l: 10, r: 20, t: 10, b: 10 },
      height: 380,
      xaxis: { title: { text: t("flow.axis.x"), standoff: 8 }, zeroline: false, automargin: true },
      yaxis: { title: { text: t("flow.axis.y"), standoff: 10 }, type: "log", exponentformat: "power", automargin: true },
      showlegend: false, // the page's own legend, under the chart
      shapes,
      hovermode: "closest",
    };
    const traces = flowTraces(result, layer);
    window.Plotly.react(plot, traces, layout, chartConfig());
    legend.replaceChildren(...legendItems(traces, shapes).map((item) => el("li", { dataset: { kind: item.kind } }, [swatch(item), el("span", { text: item.name })])));
    const lines = traces.filter((tr) => tr.meta);
    chart.update({
      label: t("flow.chart.label", { steps: lines[0]?.x.length ?? 0, lines: lines.map((tr) => tr.name).join("; ") }),
      tables: () => [flowTable(result, layer)],
      filename: "gradient-flow",
    });
    tbody.replaceChildren(
      ...flowRows(result, layer).map((r) =>
        el(
          "tr",
          { role: "row" },
          COLUMNS.map((k, j) =>
            j
              ? el("td", { role: "cell", "data-label": t(`flow.table.${k}`), text: r[k === "cell" ? "label" : k] })
              : el("th", { scope: "row", role: "rowheader", text: r.label }),
          ),
        ),
      ),
    );
    summary.textContent = flowSummary(result, layer);
    section.dataset.cells = Object.keys(result.cells).join(" ");
    section.dataset.drawn = String(Number(section.dataset.drawn) + 1);
  }

  function compareSoon() {
    clearTimeout(view.timer);
    view.timer = setTimeout(compare, REDRAW_DELAY_MS);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(view.timer);
    compare();
  });
  for (const control of [bias, hold, task]) control.addEventListener("change", () => (syncFields(), compareSoon()));
  syncFields();

  return {
    /** A new run on the page: remember its config; draw the first comparison. */
    onRun(config) {
      const first = view.config === null;
      view.config = config;
      if (first || task.value === "current") compare();
    },
    redraw: draw,
  };
}
