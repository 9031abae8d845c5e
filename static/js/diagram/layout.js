// Geometry of the unrolled diagram, in data units.  Pure: no DOM.
//
// Window slot s (0..W-1) is centred at x = s; layer k's cell box spans y = k*PITCH ..
// k*PITCH + 1.  Everything here depends only on (W, layers, cell, shown units), never on
// the step or the window's position, so the boxes are Plotly shapes drawn once and only
// trace data changes from frame to frame.

export const CELL_W = 0.66; // box width (slot pitch is 1)
export const PITCH = 1.75; // layer pitch (box height is 1)
export const MAX_STRIP_UNITS = 32; // wider layers show group means
const GAP = 1 - CELL_W;
const HALF = CELL_W / 2;
const LABEL_W = 0.13; // room for the gate letter left of each strip
const STRIP_PAD = 0.05;

/** Fractions of the box height: rails and the band the gate strips share. */
function bands(hasCellState, rows) {
  const c = hasCellState ? 0.86 : null;
  const h = 0.14;
  const [lo, hi] = hasCellState ? [0.27, 0.77] : [0.3, 0.84];
  const gap = 0.035;
  const rowH = Math.min(0.26, (hi - lo - gap * (rows - 1)) / rows);
  const used = rowH * rows + gap * (rows - 1);
  const top = (lo + hi) / 2 + used / 2;
  // Row 0 is the top strip: the display order reads top to bottom.
  const strips = Array.from({ length: rows }, (_, r) => {
    const y1 = top - r * (rowH + gap);
    return [y1 - rowH, y1];
  });
  return { c, h, strips };
}

/** How many strip columns a layer of `hidden` units gets, and which units each covers. */
export function unitGroups(hidden, max = MAX_STRIP_UNITS) {
  const cols = Math.min(hidden, max);
  return Array.from({ length: cols }, (_, u) => [Math.floor((u * hidden) / cols), Math.floor(((u + 1) * hidden) / cols)]);
}

/**
 * Everything positional for a window of `size` cells: boxes, rails, strip bricks, label
 * rows, axis ranges and the static shapes.
 */
export function geometry({ size, layers, gates, hasCellState, hidden }) {
  const rows = gates.length;
  const band = bands(hasCellState, rows);
  const groups = unitGroups(hidden);
  const cols = groups.length;
  const top = (layers - 1) * PITCH + 1; // top edge of the top layer's boxes
  const y = {
    step: -0.98,
    input: -0.64,
    inputArrow: [-0.44, 0],
    output: top + 0.58,
    outputArrow: [top, top + 0.44],
    target: top + 0.9,
  };
  const xRange = [-HALF - GAP - 0.5, size - 1 + HALF + GAP + 0.08];
  const yRange = [-1.2, y.target + 0.3];

  // Strip bricks: one heatmap per gate covers every layer and slot, with null gap bricks.
  const stripX0 = (s) => s - HALF + LABEL_W;
  const unitW = (CELL_W - LABEL_W - STRIP_PAD) / cols;
  const xEdges = [];
  for (let s = 0; s < size; s += 1) {
    for (let u = 0; u <= cols; u += 1) xEdges.push(stripX0(s) + u * unitW);
  }
  const yEdges = band.strips.map(([lo, hi]) => {
    const edges = [];
    for (let k = 0; k < layers; k += 1) edges.push(k * PITCH + lo, k * PITCH + hi);
    return edges;
  });

  const shapes = [];
  for (let k = 0; k < layers; k += 1) {
    for (let s = 0; s < size; s += 1) {
      shapes.push({
        type: "rect",
        layer: "below",
        x0: s - HALF,
        x1: s + HALF,
        y0: k * PITCH,
        y1: k * PITCH + 1,
        line: { color: "#a9a9a9", width: 1 },
        fillcolor: "#ffffff",
      });
      if (hasCellState) {
        // The cell state runs straight through the top of the cell: the "conveyor belt".
        const yc = k * PITCH + band.c;
        shapes.push({
          type: "line",
          layer: "below",
          x0: s - HALF,
          x1: s + HALF,
          y0: yc,
          y1: yc,
          line: { color: "#d4d4d4", width: 1, dash: "dot" },
        });
      }
    }
  }

  return {
    size,
    layers,
    gates,
    hasCellState,
    hidden,
    groups,
    cols,
    band,
    y,
    xRange,
    yRange,
    xEdges,
    yEdges,
    shapes,
    labelW: LABEL_W,
    /** x of the gate letter in slot s. */
    labelX: (s) => s - HALF + LABEL_W / 2,
    /** y centre of strip row r in layer k. */
    stripY: (k, r) => k * PITCH + (band.strips[r][0] + band.strips[r][1]) / 2,
    /** Heatmap column of (slot, strip column). */
    column: (s, u) => s * (cols + 1) + u,
    /** Total heatmap columns and rows. */
    heatCols: size * (cols + 1) - 1,
    heatRows: 2 * layers - 1,
    /** y of a rail in layer k. */
    railY: (k, which) => k * PITCH + (which === "c" ? band.c : band.h),
    /** Horizontal rail into slot s (s = size: the stub leaving the last box). */
    railX: (s) => [s - 1 + HALF, s - HALF],
    boxTop: (k) => k * PITCH + 1,
    boxBottom: (k) => k * PITCH,
    layerCentre: (k) => k * PITCH + 0.5,
    half: HALF,
  };
}

/**
 * The rail segments of a window starting at step `start` of a `steps`-long sequence.
 * Horizontal segments are named by their boundary b: the state of step b-1 (b = 0: the
 * initial state) going into step b.  Vertical ones by their step t.
 */
export function segments(geom, start, steps) {
  const out = [];
  const last = Math.min(start + geom.size, steps - 1);
  const rails = geom.hasCellState ? ["c", "h"] : ["h"];
  for (let k = 0; k < geom.layers; k += 1) {
    for (let b = start; b <= last; b += 1) {
      const [x0, x1] = geom.railX(b - start);
      for (const which of rails) {
        const yr = geom.railY(k, which);
        out.push({ kind: which, layer: k, b, x0, x1, y0: yr, y1: yr });
      }
    }
  }
  const end = Math.min(start + geom.size, steps);
  for (let t = start; t < end; t += 1) {
    const s = t - start;
    out.push({ kind: "in", layer: 0, t, x0: s, x1: s, y0: geom.y.inputArrow[0], y1: geom.y.inputArrow[1] });
    for (let k = 0; k + 1 < geom.layers; k += 1) {
      out.push({ kind: "up", layer: k, t, x0: s, x1: s, y0: geom.boxTop(k), y1: geom.boxBottom(k + 1) });
    }
    const [o0, o1] = geom.y.outputArrow;
    out.push({ kind: "out", layer: geom.layers - 1, t, x0: s, x1: s, y0: o0, y1: o1 });
  }
  return out;
}
