// Every Plotly configuration the page uses, in one place.  Pure: no DOM.
//
// A chart offers one toolbar button, "download as PNG": Plotly's default toolbar adds some
// ten tab stops and items that send the chart to a cloud service, which a local tool must
// not offer.  The diagram has no toolbar; its box layer is static.

/** What every chart turns off: zooming by wheel or double click, tips, and every cloud link. */
const QUIET = Object.freeze({
  displaylogo: false,
  scrollZoom: false,
  doubleClick: false,
  showTips: false,
  showLink: false,
  showSendToCloud: false,
  showEditInChartStudio: false,
});

/** A chart with only the PNG button; `responsive` charts follow their container's width. */
export function exportConfig(filename, { responsive = false } = {}) {
  return {
    ...QUIET,
    displayModeBar: true,
    responsive,
    modeBarButtons: [["toImage"]],
    toImageButtonOptions: toImageOptions(filename),
  };
}

/**
 * A chart of the panels: no Plotly toolbar at all (its buttons would be focusable inside a
 * figure that is one image to assistive technology, role=img with the plot aria-hidden);
 * the page puts its own "Download PNG" button beside the chart (`toImageOptions`).
 */
export function chartConfig({ responsive = true } = {}) {
  return { ...QUIET, displayModeBar: false, responsive };
}

/** What Plotly.downloadImage is given for a chart's PNG. */
export function toImageOptions(filename) {
  return { format: "png", filename, scale: 2 };
}

/** The diagram's interactive layer (hover, clicks): no toolbar, no zoom. */
export const DIAGRAM_CONFIG = Object.freeze({
  displayModeBar: false,
  responsive: false,
  scrollZoom: false,
  doubleClick: false,
  showTips: false,
  staticPlot: false,
});

/** The diagram's boxes and labels, drawn once per window size: nothing to interact with. */
export const STATIC_CONFIG = Object.freeze({ displayModeBar: false, responsive: false, staticPlot: true });
