// Geometry of the unrolled diagram, in data units.  Pure: no DOM.
//
// Window slot s (0..W-1) is centred at x = s.  The diagram has one row of cell boxes per
// (layer, direction), in the run's row order (layer 0 forward, layer 0 reverse, ...); a
// box is 1 high.  A one-direction layer k spans y = k*PITCH .. k*PITCH + 1.  A bidirectional
// layer is a block of two rows, the reverse row below the forward one, read together by the
// layer above.  Everything here depends only on (W, layers, directions, cell, shown units),
// never on the step or the window's position, so the boxes are Plotly shapes drawn once and
// only trace data changes from frame to frame.

export const CELL_W = 0.66; // box width (slot pitch is 1)
export const PITCH = 1.75; // layer pitch (box height is 1)
export const INNER_GAP = 0.3; // between the two rows of a bidirectional layer
export const MAX_STRIP_UNITS = 32; // wider layers show group means
export const MAX_TOP_K = 5; // predictions listed over each output
const GAP = 1 - CELL_W;
const HALF = CELL_W / 2;
const LABEL_W = 0.13; // room for the gate letter left of each strip
const STRIP_PAD = 0.05;
const TOPK_LINE = 0.17; // height of one listed prediction

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
 * rows, axis ranges and the static shapes.  `directions` is 1 or 2 (bidirectional);
 * `inputWidth` > 0 adds a strip of each step's input vector under the inputs (an
 * embedding's looked-up rows); `topK` lines of predictions go over the targets.
 */
export function geometry({ size, layers, directions = 1, gates, hasCellState, hidden, inputWidth = 0, topK = 0 }) {
  const rows = gates.length;
  const band = bands(hasCellState, rows);
  const groups = unitGroups(hidden);
  const cols = groups.length;
  const D = directions === 2 ? 2 : 1;
  const blockH = D === 2 ? 2 + INNER_GAP : 1; // a layer's height
  const layerPitch = blockH + (PITCH - 1);
  const nRows = layers * D;
  const rowLayer = (r) => Math.floor(r / D);
  const rowDir = (r) => (D === 2 && r % 2 === 1 ? "reverse" : "forward");
  const blockBottom = (k) => k * layerPitch;
  // The forward row on top of its layer's block, the reverse row under it.
  const rowBottom = (r) => blockBottom(rowLayer(r)) + (D === 2 && rowDir(r) === "forward" ? 1 + INNER_GAP : 0);
  const top = blockBottom(layers - 1) + blockH; // top edge of the top layer's boxes
  const k = Math.min(topK, MAX_TOP_K);
  const inputStrip = inputWidth > 0 ? [-0.43, -0.31] : null;
  const y = {
    step: -0.98,
    input: -0.64,
    inputArrow: [inputStrip ? -0.27 : -0.44, 0],
    inputStrip,
    output: top + 0.58,
    outputArrow: [top, top + 0.44],
    target: top + 0.9,
    // Predictions, read top to bottom: the most likely first.
    topK: Array.from({ length: k }, (_, j) => top + 1.2 + (k - 1 - j) * TOPK_LINE),
  };
  const roomRight = D === 2 ? 0.36 : 0.08; // the reverse rows' initial state enters from the right
  const xRange = [-HALF - GAP - 0.5, size - 1 + HALF + GAP + roomRight];
  const yTop = k ? y.topK[0] + 0.2 : y.target + 0.3;
  const yRange = [-1.2, yTop];

  // Strip bricks: one heatmap per gate covers every row and slot, with null gap bricks.
  const stripX0 = (s) => s - HALF + LABEL_W;
  const unitW = (CELL_W - LABEL_W - STRIP_PAD) / cols;
  const xEdges = [];
  for (let s = 0; s < size; s += 1) {
    for (let u = 0; u <= cols; u += 1) xEdges.push(stripX0(s) + u * unitW);
  }
  // Heatmap rows must rise: the rows sorted by height, each a brick row and a gap row.
  const order = Array.from({ length: nRows }, (_, r) => r).sort((a, b) => rowBottom(a) - rowBottom(b));
  const rank = new Map(order.map((r, j) => [r, j]));
  const yEdges = band.strips.map(([lo, hi]) => {
    const edges = [];
    for (const r of order) edges.push(rowBottom(r) + lo, rowBottom(r) + hi);
    return edges;
  });
  // The input strip: the columns of the input vector (an embedding's D numbers).
  const inputGroups = inputWidth > 0 ? unitGroups(inputWidth) : [];
  const inputCols = inputGroups.length;
  const inputUnitW = inputCols ? (CELL_W - 0.1) / inputCols : 0;
  const inputXEdges = [];
  for (let s = 0; s < size && inputCols; s += 1) {
    for (let u = 0; u <= inputCols; u += 1) inputXEdges.push(s - HALF + 0.05 + u * inputUnitW);
  }

  const shapes = [];
  for (let kk = 0; kk < layers && D === 2; kk += 1) {
    // A bidirectional layer's two rows sit on one band: they read the same input.
    for (let s = 0; s < size; s += 1) {
      shapes.push({
        type: "rect",
        layer: "below",
        x0: s - HALF - 0.04,
        x1: s + HALF + 0.04,
        y0: blockBottom(kk) - 0.06,
        y1: blockBottom(kk) + blockH + 0.06,
        line: { width: 0 },
        fillcolor: "#eef2f6",
      });
    }
  }
  for (let r = 0; r < nRows; r += 1) {
    for (let s = 0; s < size; s += 1) {
      shapes.push({
        type: "rect",
        layer: "below",
        x0: s - HALF,
        x1: s + HALF,
        y0: rowBottom(r),
        y1: rowBottom(r) + 1,
        line: { color: "#a9a9a9", width: 1 },
        fillcolor: "#ffffff",
      });
      if (hasCellState) {
        // The cell state runs straight through the top of the cell: the "conveyor belt".
        const yc = rowBottom(r) + band.c;
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
    directions: D,
    rows: nRows,
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
    inputGroups,
    inputCols,
    inputXEdges,
    labelW: LABEL_W,
    rowLayer,
    rowDir,
    /** x of the gate letter in slot s. */
    labelX: (s) => s - HALF + LABEL_W / 2,
    /** y centre of strip row g in row r. */
    stripY: (r, g) => rowBottom(r) + (band.strips[g][0] + band.strips[g][1]) / 2,
    /** Heatmap column of (slot, strip column). */
    column: (s, u) => s * (cols + 1) + u,
    /** Heatmap row of diagram row r. */
    heatRow: (r) => 2 * rank.get(r),
    /** Input strip column of (slot, column). */
    inputColumn: (s, u) => s * (inputCols + 1) + u,
    /** Total heatmap columns and rows. */
    heatCols: size * (cols + 1) - 1,
    heatRows: 2 * nRows - 1,
    inputHeatCols: inputCols ? size * (inputCols + 1) - 1 : 0,
    /** y of a rail in row r. */
    railY: (r, which) => rowBottom(r) + (which === "c" ? band.c : band.h),
    /** Horizontal rail into slot s (s = size: the stub leaving the last box). */
    railX: (s) => [s - 1 + HALF, s - HALF],
    rowBottom,
    rowTop: (r) => rowBottom(r) + 1,
    rowCentre: (r) => rowBottom(r) + 0.5,
    /** A layer's block: both of its rows. */
    boxTop: (kk) => blockBottom(kk) + blockH,
    boxBottom: (kk) => blockBottom(kk),
    layerCentre: (kk) => blockBottom(kk) + blockH / 2,
    half: HALF,
  };
}

/**
 * The rail segments of a window starting at step `start` of a `steps`-long sequence.
 * Horizontal segments are named by their row and boundary b, between positions b-1 and b:
 * a forward row's state goes from b-1 into b (b = 0: its initial state), a reverse row's
 * from b into b-1 (b = T: its initial state, entering from the right).  Vertical ones by
 * their layer and step t: the input into layer 0, a layer's output up into the next, the
 * top layer's output into the head.
 */
export function segments(geom, start, steps) {
  const out = [];
  const rails = geom.hasCellState ? ["c", "h"] : ["h"];
  for (let r = 0; r < geom.rows; r += 1) {
    const dir = geom.rowDir(r);
    const first = dir === "reverse" ? Math.max(start, 1) : start;
    const last = dir === "reverse" ? Math.min(start + geom.size, steps) : Math.min(start + geom.size, steps - 1);
    for (let b = first; b <= last; b += 1) {
      const [x0, x1] = geom.railX(b - start);
      for (const which of rails) {
        const yr = geom.railY(r, which);
        out.push({ kind: which, row: r, layer: geom.rowLayer(r), dir, b, x0, x1, y0: yr, y1: yr });
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
