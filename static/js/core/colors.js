// Colours: one identity hue per quantity, and fixed value scales.  Pure: no DOM.
//
// Identity hues are Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on
// white).  Value scales never rescale per frame: sigmoid gates on 0..1, tanh-range values
// on -1..1 (the heatmaps' unbounded states on a wider range fixed for the run: stateRange),
// gradients by sign with their size on a log10 axis from 1e-8 to 1e0.

export const IDENTITY = Object.freeze({
  f: "#D55E00", // vermillion
  i: "#009E73", // bluish green
  g: "#CC79A7", // reddish purple
  o: "#56B4E9", // sky blue
  c: "#0072B2", // blue
  h: "#E69F00", // orange
  x: "#6b6b6b",
  y: "#222222",
});

// GRU and RNN blocks borrow the hue of the LSTM block playing the same part; a projected
// LSTM's m = o ⊙ tanh(c) is its h before the projection, so it keeps h's.
const ALIAS = { r: "f", z: "i", n: "g", a: "g", m: "h" };

export function identity(name) {
  return IDENTITY[name] ?? IDENTITY[ALIAS[name]] ?? "#444444";
}

/** The identity hue darkened for text on white (same hue, readable contrast). */
export function identityText(name) {
  return shade(identity(name), 0.35);
}

// The gradient-flow chart draws the same quantity (a norm of dL/dh) for three cells, so each
// cell's line gets a colour of its own there: Okabe & Ito hues darkened until they reach 3:1
// against white (WCAG's minimum for graphics), far apart under protan, deutan and tritan
// vision (tests/js/colors.test.js checks both).  The LSTM's h keeps h's hue, its c path c's.
export const CELL_LINE = Object.freeze({
  rnn: "#A3487E", // reddish purple, darkened
  gru: "#007A5A", // bluish green, darkened
  lstm: "#A66E00", // h's orange, darkened
  c: "#0072B2", // c's blue
});

// Scales as [[position 0..1, "#rrggbb"], ...], the format Plotly's colorscale takes.
export const SCALES = Object.freeze({
  // Sigmoid gates, 0..1: light (closed) to dark (open), one hue-free ramp.
  sigmoid: [
    [0, "#f7f7f7"],
    [0.25, "#cfcfcf"],
    [0.5, "#9a9a9a"],
    [0.75, "#5c5c5c"],
    [1, "#1b1b1b"],
  ],
  // tanh outputs, c and h, -1..1 (clipped): blue below zero, red above.
  tanh: [
    [0, "#2166ac"],
    [0.25, "#92c5de"],
    [0.5, "#f7f7f7"],
    [0.75, "#f4a582"],
    [1, "#b2182b"],
  ],
  // Signed gradients after signedLog (-1..1): purple negative, orange positive.
  grad: [
    [0, "#542788"],
    [0.25, "#b2abd2"],
    [0.5, "#f7f7f7"],
    [0.75, "#fdb863"],
    [1, "#b35806"],
  ],
  // Gradient size on a rail (a norm, >= 0) after logUnit (0..1): pale to dark red.
  norm: [
    [0, "#dcdcdc"],
    [0.25, "#fdd49e"],
    [0.5, "#fc8d59"],
    [0.75, "#d7301f"],
    [1, "#7f0000"],
  ],
});

// The log10 window gradients are shown in: 1e-8 .. 1e0.
export const LOG_MIN = -8;
export const LOG_MAX = 0;

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** |v| on the log window, as 0..1 (0 for zero or anything at or below 1e-8). */
export function logUnit(v) {
  const a = Math.abs(v);
  if (!(a > 0)) return 0;
  return clamp((Math.log10(a) - LOG_MIN) / (LOG_MAX - LOG_MIN), 0, 1);
}

/** sign(v) * logUnit(v): the position of a gradient on the diverging grad scale (-1..1). */
export function signedLog(v) {
  if (!Number.isFinite(v)) return null;
  return Math.sign(v) * logUnit(v);
}

/**
 * The one rule for colouring a value on the page (strips, heatmaps, the cell view, training
 * checkpoints): which scale, its fixed range, and where a value sits on it.  Forward: a
 * sigmoid output on 0..1, every other value (tanh outputs, c, h, A) on -1..1, clipped;
 * backward: a gradient by sign, its size on the log10 window (signedLog), on -1..1.
 */
export function valueScale(sigmoid, mode, range = 1) {
  if (mode === "backward") return { name: "grad", colorscale: SCALES.grad, zmin: -1, zmax: 1, position: signedLog };
  if (sigmoid) return { name: "sigmoid", colorscale: SCALES.sigmoid, zmin: 0, zmax: 1, position: finiteOrNull };
  return { name: "tanh", colorscale: SCALES.tanh, zmin: -range, zmax: range, position: finiteOrNull };
}

const NICE_STEPS = [1, 2, 5];

/**
 * The symmetric range a whole run's unbounded values (an LSTM's c, a relu RNN's h, a projected
 * h) are coloured on: 1 while they stay within -1..1, else the next of 1, 2, 5, 10, 20, 50 ...
 * above their largest size.  Fixed for the run, so colours still never rescale per frame; a
 * trained counter (c running to -8) is then a gradient of blues, not one saturated band.
 */
export function stateRange(rows) {
  let peak = 0;
  for (const row of rows || []) for (const v of row) if (Number.isFinite(v)) peak = Math.max(peak, Math.abs(v));
  if (peak <= 1) return 1;
  for (let scale = 1; ; scale *= 10) {
    for (const step of NICE_STEPS) if (step * scale >= peak) return step * scale;
  }
}

function finiteOrNull(v) {
  return Number.isFinite(v) ? v : null;
}

/** Where a value sits along a rule's scale, 0..1 (clamped), or null when it has no colour. */
export function scaleUnit(rule, v) {
  const p = rule.position(v);
  return p === null ? null : clamp((p - rule.zmin) / (rule.zmax - rule.zmin), 0, 1);
}

/** Parse "#rrggbb" to [r, g, b]. */
export function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgbToHex([r, g, b]) {
  return "#" + [r, g, b].map((v) => Math.round(clamp(v, 0, 255)).toString(16).padStart(2, "0")).join("");
}

/** WCAG 2 relative luminance of "#rrggbb". */
export function luminance(hex) {
  const [r, g, b] = hexToRgb(hex).map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two "#rrggbb" colours (1..21). */
export function contrast(a, b = "#ffffff") {
  const [lo, hi] = [luminance(a), luminance(b)].sort((x, y) => x - y);
  return (hi + 0.05) / (lo + 0.05);
}

/** Mix a colour towards black by `amount` (0..1). */
export function shade(hex, amount) {
  return rgbToHex(hexToRgb(hex).map((v) => v * (1 - amount)));
}

/** The colour at position u (0..1, clamped) of a scale, as "#rrggbb". */
export function colorAt(scale, u) {
  const p = clamp(Number.isFinite(u) ? u : 0, 0, 1);
  let k = 1;
  while (k < scale.length - 1 && scale[k][0] < p) k += 1;
  const [p0, c0] = scale[k - 1];
  const [p1, c1] = scale[k];
  const w = p1 > p0 ? (p - p0) / (p1 - p0) : 0;
  const a = hexToRgb(c0);
  const b = hexToRgb(c1);
  return rgbToHex(a.map((v, j) => v + (b[j] - v) * w));
}

/** A CSS linear-gradient for a legend bar. */
export function cssGradient(scale, direction = "to right") {
  const stops = scale.map(([p, c]) => `${c} ${Math.round(p * 100)}%`);
  return `linear-gradient(${direction}, ${stops.join(", ")})`;
}

// Rails in the backward pass: the size of the gradient picks one of NORM_BINS styles (one
// per decade of the log window), so the rail segments of a frame are drawn by a few line
// traces rather than one trace each.
export const NORM_BINS = 8;
export const RAIL_WIDTH = Object.freeze({ min: 0.8, max: 8 });

/** Which width/colour bin a gradient norm falls in (0 .. NORM_BINS - 1). */
export function normBin(norm) {
  return Math.min(NORM_BINS - 1, Math.floor(logUnit(norm) * NORM_BINS));
}

/** The style of a bin: its centre on the log window, line width (px) and colour. */
export function binStyle(bin) {
  const u = (bin + 0.5) / NORM_BINS;
  return {
    u,
    width: RAIL_WIDTH.min + (RAIL_WIDTH.max - RAIL_WIDTH.min) * u,
    color: colorAt(SCALES.norm, u),
  };
}

/** Entries in a colour table: a position on a scale is rounded to 1/(TABLE_SIZE - 1). */
export const TABLE_SIZE = 1024;

/**
 * The colours of a scale ([[position, "#rrggbb"], ...]) at TABLE_SIZE even positions, as RGB
 * bytes: what the heatmaps' pictures and the diagram's strips are painted from.
 */
export function colorTable(scale) {
  const table = new Uint8ClampedArray(TABLE_SIZE * 3);
  for (let k = 0; k < TABLE_SIZE; k += 1) table.set(hexToRgb(colorAt(scale, k / (TABLE_SIZE - 1))), k * 3);
  return table;
}
