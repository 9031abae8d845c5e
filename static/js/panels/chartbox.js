// A chart as assistive technology should meet it (DOM glue): a box with role="img" and an
// aria-label that says what the chart shows, the Plotly plot inside it hidden from
// assistive technology (its SVG is a stream of tick labels), and a "Data table" <details>
// below with the numbers.  The table is built when it is opened (a chart of 1000 steps
// would otherwise add thousands of cells to every redraw) and rebuilt on each redraw while open.

import "./strings.js"; // the panels' strings, registered with i18n
import { toImageOptions } from "../core/plotconfig.js";
import { t } from "../core/i18n.js";
import { el } from "./dom.js";

/**
 * `plotProps` are the plot div's attributes (className, data-testid...).  Returns the parts
 * and `update({label, tables, filename})`, where tables is [{caption?, head: [..], rows: [[..], ..]}]
 * (or a function returning them, called only when the table is open) and filename names the
 * PNG the chart's own "Download PNG" button saves (the chart has no Plotly toolbar).
 */
export function chartBox(plotProps = {}) {
  const plot = el("div", { ...plotProps, "aria-hidden": "true" });
  // role=img only once there is a picture to describe (an empty label is no name).
  const figure = el("div", { className: "panel-chart-figure" }, [plot]);
  // A table taller or wider than its box scrolls, so keyboard users can reach it too.
  const body = el("div", { className: "panel-table-wrap chart-data", tabindex: "0", role: "region", "data-i18n-label": "chart.dataTable", "aria-label": t("chart.dataTable") });
  const summary = el("summary", { i18n: "chart.dataTable" });
  const details = document.createElement("details");
  details.className = "chart-table";
  details.append(summary, body);
  const download = el("button", { type: "button", className: "chart-download", i18n: "chart.download" });
  const tools = el("div", { className: "chart-tools", hidden: true }, [download, details]);
  const root = el("div", { className: "panel-chart" }, [figure, tools]);
  let source = null;
  let filename = "chart";

  function fill() {
    if (!details.open || !source) return;
    const tables = typeof source === "function" ? source() : source;
    body.replaceChildren(
      ...tables.map(({ caption, head, rows }) =>
        el("table", { className: "panel-table" }, [
          caption ? el("caption", { text: caption }) : null,
          el("thead", {}, [el("tr", {}, head.map((h) => el("th", { scope: "col", text: String(h) })))]),
          el(
            "tbody",
            {},
            rows.map((r) => el("tr", {}, r.map((c, j) => el(j ? "td" : "th", j ? { text: String(c) } : { scope: "row", text: String(c) })))),
          ),
        ]),
      ),
    );
  }
  details.addEventListener("toggle", fill);
  download.addEventListener("click", () => window.Plotly.downloadImage(plot, toImageOptions(filename)));

  return {
    root,
    plot,
    figure,
    details,
    download,
    /** A new picture: its description, its numbers and its PNG's name. */
    update({ label, tables, filename: name }) {
      figure.setAttribute("role", "img");
      figure.setAttribute("aria-label", label);
      source = tables;
      if (name) filename = name;
      tools.hidden = false;
      if (details.open) fill();
      else body.replaceChildren();
    },
    /** Nothing drawn (yet): a label that says so, no table, nothing to download. */
    clear(label) {
      figure.setAttribute("role", "img");
      figure.setAttribute("aria-label", label);
      source = null;
      tools.hidden = true;
      body.replaceChildren();
    },
  };
}
