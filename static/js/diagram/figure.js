// The Plotly layouts of the diagram: the static graph (boxes, gate letters, row names) and
// the transparent graph over it that holds each frame's traces.  Pure: no DOM.

import { identityText } from "../core/colors.js";
import { t as tr } from "../core/i18n.js";

export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', 'Nanum Gothic', sans-serif";

const STATIC_SHAPES = new WeakMap();

/**
 * The geometry's boxes plus the gate letters, as shapes (drawn once: they are the same in
 * every frame, so Plotly.react leaves them alone).  One array per geometry.
 */
export function staticShapes(geom) {
  if (!STATIC_SHAPES.has(geom)) {
    const letters = [];
    const w = geom.labelW / 2;
    for (let s = 0; s < geom.size; s += 1) {
      for (let r = 0; r < geom.rows; r += 1) {
        geom.gates.forEach((gate, g) => {
          const x = geom.labelX(s);
          const y = geom.stripY(r, g);
          letters.push({
            type: "rect",
            layer: "below",
            x0: x - w,
            x1: x + w,
            y0: y - 0.05,
            y1: y + 0.05,
            line: { width: 0 },
            fillcolor: "rgba(0,0,0,0)",
            label: { text: gate, font: { size: 10, color: identityText(gate), family: FONT }, textposition: "middle center" },
          });
        });
      }
    }
    STATIC_SHAPES.set(geom, [...geom.shapes, ...letters]);
  }
  return STATIC_SHAPES.get(geom);
}

/** Room on the left for the row names (two lines for a bidirectional layer's rows). */
export function leftMargin(geom) {
  return geom.directions === 2 ? 76 : 64;
}

function baseLayout(geom, height) {
  return {
    height,
    margin: { l: leftMargin(geom), r: 10, t: 6, b: 6 },
    font: { family: FONT, size: 12, color: "#222222" },
    showlegend: false,
    dragmode: false,
    xaxis: { range: geom.xRange, visible: false, fixedrange: true },
  };
}

/**
 * The layout of the static graph under the diagram: the boxes, the gate letters and the
 * row names, which are the same in every frame of a geometry (drawn once; shapes redrawn
 * on every step would cost about as much as all the traces together).
 */
export function staticLayout(geom, { height, output = true, targets = true }) {
  // A bidirectional layer names each of its rows and the way its arrows run.
  const rowTicks =
    geom.directions === 2
      ? Array.from({ length: geom.rows }, (_, r) => [
          geom.rowCentre(r),
          `${tr("diagram.layer", { k: geom.rowLayer(r) + 1 })}<br>${tr(`dir.${geom.rowDir(r)}`)}`,
        ])
      : Array.from({ length: geom.layers }, (_, k) => [geom.layerCentre(k), tr("diagram.layer", { k: k + 1 })]);
  const ticks = [
    ...rowTicks,
    [geom.y.input, tr("diagram.input")],
    [geom.y.step, "t"],
    // The output row and the target row over it, when the run has them (a dh run has neither).
    ...(output ? [[geom.y.output, tr("diagram.output")]] : []),
    ...(targets ? [[geom.y.target, tr("diagram.target")]] : []),
    ...(geom.y.topK.length ? [[(geom.y.topK[0] + geom.y.topK[geom.y.topK.length - 1]) / 2, tr("diagram.topKShort")]] : []),
  ];
  return {
    ...baseLayout(geom, height),
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    hovermode: false,
    yaxis: {
      range: geom.yRange,
      fixedrange: true,
      showgrid: false,
      zeroline: false,
      showline: false,
      ticks: "",
      tickvals: ticks.map((p) => p[0]),
      ticktext: ticks.map((p) => p[1]),
      tickfont: { size: 11, color: "#6b6b6b" },
    },
    shapes: staticShapes(geom),
  };
}

/** The layout of the diagram's graph: transparent, over the static one, same axes. */
export function diagramLayout(geom, { height, revision = 0 }) {
  return {
    ...baseLayout(geom, height),
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    hovermode: "closest",
    hoverdistance: 12,
    hoverlabel: { bgcolor: "#ffffff", bordercolor: "#888888", font: { family: FONT, size: 12, color: "#222222" }, align: "left" },
    yaxis: { range: geom.yRange, fixedrange: true, visible: false },
    datarevision: revision,
    uirevision: "diagram",
  };
}

/** Pixel height for a geometry: taller cells when there are fewer rows. */
export function diagramHeight(geom) {
  const perUnit = [0, 118, 100, 84, 74, 70, 66][Math.min(geom.rows, 6)];
  return Math.round(12 + perUnit * (geom.yRange[1] - geom.yRange[0]));
}
