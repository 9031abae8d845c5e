// A chart as assistive technology should meet it (DOM glue): a box with role="img" and an
// aria-label that says what the chart shows, the Plotly plot inside it hidden from
// assistive technology (its SVG is a stream of tick labels), and a "Data table" <details>
// below with the numbers.  The table is built when it is opened (a chart of 1000 steps
// would otherwise add thousands of cells to every redraw) and rebuilt on each redraw while open.

import "./strings.js"; // the panels' strings, registered with i18n
import { el } from "./dom.js";

/**
 * `plotProps` are the plot div's attributes (className, data-testid...).  Returns the parts
 * and `update({label, tables})`, where tables is [{caption?, head: [..], rows: [[..], ..]}]
 * (or a function returning them, called only when the table is open).
 */
export function chartBox(plotProps = {}) {
  const plot = el("div", { ...plotProps, "aria-hidden": "true" });
  const figure = el("div", { className: "panel-chart-figure", role: "img", "aria-label": "" }, [plot]);
  const body = el("div", { className: "panel-table-wrap chart-data" });
  const summary = el("summary", { i18n: "chart.dataTable" });
  const details = document.createElement("details");
  details.className = "chart-table";
  details.hidden = true;
  details.append(summary, body);
  const root = el("div", { className: "panel-chart" }, [figure, details]);
  let source = null;

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

  return {
    root,
    plot,
    figure,
    details,
    /** A new picture: its description and its numbers. */
    update({ label, tables }) {
      figure.setAttribute("aria-label", label);
      source = tables;
      details.hidden = false;
      if (details.open) fill();
      else body.replaceChildren();
    },
    /** Nothing drawn (yet): no label beyond what is said, no table. */
    clear(label = "") {
      figure.setAttribute("aria-label", label);
      source = null;
      details.hidden = true;
      body.replaceChildren();
    },
  };
}
