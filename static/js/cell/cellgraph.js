// The cell view's computational graph: where each node sits, what it is called, and which
// vector it shows at (layer, step, mode).  Pure: no DOM.
//
// Coordinates are SVG user units of a fixed viewBox (the view scales it to its width).
// Labels are small math strings ("c_{t−1}", "dh_t^{next}"; a backward label towards t−1 names
// the part through one edge, dc_{t−1}^{next} = dc_t ⊙ f_t, not the total) that equations.js's
// mathSegments() splits into base text, subscripts and superscripts; captions are i18n keys.
//
// Node kinds: "io" (a state entering or leaving the cell), "value" (an operation and the
// vector it produces), "slice" (the slice node, a container), "port" (one named slice of A
// inside it).  Every vector is picked from the API's arrays BY NAME: the slice ports read
// their quarter of `a` through the response's gate_order, never by position.
//
// A node's size: "H" (the cell's units), "4H" (A), "D" (the layer's input), "P" (h, which a
// projection makes proj_size wide) or "none".  Variants: an LSTM with a projection gets the
// node m_t = o_t ⊙ tanh(c_t) and the projection h_t = W_hr m_t; a bias-free cell drops the
// b terms.  The graph is drawn for the forward direction; a reverse direction reads the same
// graph with t−1 and t+1 swapped (directed()), its previous step being t+1.

import { stripNames } from "../core/cells.js";
import { unitGroups } from "../diagram/layout.js";

export const NODE_W = 120;
export const NODE_H = 46;
export const PORT_W = 104;
export const PORT_H = 40;
export const MAX_COLS = 32; // wider vectors are shown as group means (as in the diagram)

function node(id, kind, x, y, extra = {}) {
  return { id, kind, x, y, w: NODE_W, h: NODE_H, size: "H", op: null, caption: null, ...extra };
}

/** Anchor points of a node's box: top, bottom, left, right centres. */
export function anchor(n, side) {
  if (side === "top") return [n.x, n.y - n.h / 2];
  if (side === "bottom") return [n.x, n.y + n.h / 2];
  if (side === "left") return [n.x - n.w / 2, n.y];
  return [n.x + n.w / 2, n.y];
}

// ---- the LSTM: the book's graph (c rail on top, the four gates, slice and affine below) ----

function lstmGraph({ proj = false } = {}) {
  const S = 301; // centre line of the slice node
  // With a projection the right-hand column moves over to make room for W_hr.
  const R = proj ? 1065 : 915; // the column of the states leaving the cell
  const hSize = proj ? "P" : "H";
  const nodes = [
    node("c_prev", "io", 72, 48, { name: "c", scale: "tanh", label: ["c_{t−1}", "dc_{t−1}^{next}"], caption: ["cell.fromPrev", "cell.toPrev"] }),
    node("mul_f", "value", 220, 48, { name: "f", op: "×", scale: "tanh", label: ["f_t ⊙ c_{t−1}", "dc_t"] }),
    node("add", "value", 420, 48, { name: "c", op: "+", scale: "tanh", label: ["c_t", "dc_t"] }),
    node("c_next", "io", R, 48, { name: "c", scale: "tanh", label: ["c_t", "dc_t^{next}"], caption: ["cell.toNext", "cell.fromNext"] }),
    node("mul_ig", "value", 420, 132, { name: "i", op: "×", scale: "tanh", label: ["i_t ⊙ g_t", "dc_t"] }),
    node("tanh_c", "value", 765, 132, { name: "c", op: "tanh", scale: "tanh", label: ["tanh(c_t)", "d tanh(c_t)"] }),
    node("h_up", "io", R, 132, { size: hSize, name: "h", scale: "tanh", label: ["h_t", "dh_t^{above}"], caption: ["cell.toAbove", "cell.fromAbove"] }),
    node("f", "value", 220, 216, { name: "f", op: "σ", scale: "sigmoid", label: ["f_t", "df_t"] }),
    node("i", "value", 350, 216, { name: "i", op: "σ", scale: "sigmoid", label: ["i_t", "di_t"] }),
    node("g", "value", 490, 216, { name: "g", op: "tanh", scale: "tanh", label: ["g_t", "dg_t"] }),
    node("o", "value", 625, 216, { name: "o", op: "σ", scale: "sigmoid", label: ["o_t", "do_t"] }),
    proj
      ? node("mul_h", "value", 765, 216, { name: "m", op: "×", scale: "tanh", label: ["m_t", "dm_t"] })
      : node("mul_h", "value", 765, 216, { name: "h", op: "×", scale: "tanh", label: ["h_t", "dh_t"] }),
    ...(proj
      ? [node("proj", "value", 915, 216, { size: "P", name: "h", op: "W_{hr}·", scale: "tanh", label: ["h_t", "dh_t"], caption: ["cell.proj", "cell.projBack"] })]
      : []),
    node("h_next", "io", R, 216, { size: hSize, name: "h", scale: "tanh", label: ["h_t", "dh_t^{next}"], caption: ["cell.toNext", "cell.fromNext"] }),
    node("slice", "slice", 425, S, { w: 550, h: 52, size: "none", name: null, label: ["slice", "slice"], caption: ["cell.slice", "cell.sliceBack"] }),
    ...[
      ["f", 220],
      ["i", 350],
      ["g", 490],
      ["o", 625],
    ].map(([gate, x]) =>
      node(`slice:${gate}`, "port", x, S + 2, { w: PORT_W, h: PORT_H, name: gate, gate, scale: "tanh", parent: "slice", label: [`A_${gate}`, `dA_${gate}`] }),
    ),
    node("affine", "value", 380, 388, { w: 300, h: 56, size: "4H", name: null, op: "W·+b", scale: "tanh", label: ["A", "dA"], caption: ["cell.affine", "cell.affineBack"] }),
    node("x", "io", 270, 462, { size: "D", name: "x", scale: "tanh", label: ["x_t", "dx_t"], caption: ["cell.xIn", "cell.xBack"] }),
    node("h_prev", "io", 490, 462, { size: hSize, name: "h", scale: "tanh", label: ["h_{t−1}", "dh_{t−1}^{next}"], caption: ["cell.fromPrev", "cell.toPrev"] }),
  ];
  const by = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const A = (id, side) => anchor(by[id], side);
  // h_t (W_hr m_t with a projection) forks: to the next step and to the layer above.
  const hOut = proj ? "proj" : "mul_h";
  const fork = proj ? 990 : 838;
  const edges = [
    { from: "c_prev", to: "mul_f", name: "c", points: [A("c_prev", "right"), A("mul_f", "left")] },
    { from: "mul_f", to: "add", name: "c", points: [A("mul_f", "right"), A("add", "left")] },
    { from: "add", to: "c_next", name: "c", points: [A("add", "right"), A("c_next", "left")] },
    { from: "add", to: "tanh_c", name: "c", points: [[765, 48], A("tanh_c", "top")], dot: true },
    { from: "tanh_c", to: "mul_h", name: "c", points: [A("tanh_c", "bottom"), A("mul_h", "top")] },
    { from: "o", to: "mul_h", name: "o", points: [A("o", "right"), A("mul_h", "left")] },
    ...(proj ? [{ from: "mul_h", to: "proj", name: "m", points: [A("mul_h", "right"), A("proj", "left")] }] : []),
    { from: hOut, to: "h_next", name: "h", points: [A(hOut, "right"), A("h_next", "left")] },
    { from: hOut, to: "h_up", name: "h", points: [[fork, 216], [fork, 132], A("h_up", "left")], dot: true },
    { from: "f", to: "mul_f", name: "f", points: [A("f", "top"), A("mul_f", "bottom")] },
    { from: "i", to: "mul_ig", name: "i", points: [A("i", "top"), [350, 174], [395, 174], [395, 155]] },
    { from: "g", to: "mul_ig", name: "g", points: [A("g", "top"), [490, 174], [445, 174], [445, 155]] },
    { from: "mul_ig", to: "add", name: "i", points: [A("mul_ig", "top"), A("add", "bottom")] },
    ...stripNames("lstm").map((gate) => ({
      from: `slice:${gate}`,
      to: gate,
      name: gate,
      points: [A(`slice:${gate}`, "top"), A(gate, "bottom")],
    })),
    { from: "affine", to: "slice", name: null, points: [A("affine", "top"), [380, S + 26]] },
    { from: "x", to: "affine", name: "x", points: [A("x", "top"), [270, 416]] },
    { from: "h_prev", to: "affine", name: "h", points: [A("h_prev", "top"), [490, 416]] },
  ];
  return {
    cell: "lstm",
    width: proj ? 1140 : 990,
    height: 506,
    nodes,
    edges,
    formula: { forward: "A = W_{ih} x_t + b_{ih} + W_{hh} h_{t−1} + b_{hh}", backward: "dA → dW, db, dx_t, dh_{t−1}^{next}", x: 540, y: 388 },
  };
}

// ---- the GRU (PyTorch's): h rail on top, r and z gates, the candidate n ----

function gruGraph() {
  const nodes = [
    node("h_prev", "io", 72, 48, { name: "h", scale: "tanh", label: ["h_{t−1}", "dh_{t−1}^{next}"], caption: ["cell.fromPrev", "cell.toPrev"] }),
    node("mul_z", "value", 230, 48, { name: "z", op: "×", scale: "tanh", label: ["z_t ⊙ h_{t−1}", "dh_t"] }),
    node("add", "value", 620, 48, { name: "h", op: "+", scale: "tanh", label: ["h_t", "dh_t"] }),
    node("h_next", "io", 915, 48, { name: "h", scale: "tanh", label: ["h_t", "dh_t^{next}"], caption: ["cell.toNext", "cell.fromNext"] }),
    node("h_up", "io", 915, 132, { name: "h", scale: "tanh", label: ["h_t", "dh_t^{above}"], caption: ["cell.toAbove", "cell.fromAbove"] }),
    node("mul_n", "value", 620, 132, { name: "n", op: "×", scale: "tanh", label: ["(1 − z_t) ⊙ n_t", "dh_t"] }),
    node("z", "value", 230, 226, { name: "z", op: "σ", scale: "sigmoid", label: ["z_t", "dz_t"] }),
    node("r", "value", 410, 226, { name: "r", op: "σ", scale: "sigmoid", label: ["r_t", "dr_t"] }),
    node("n", "value", 620, 226, { name: "n", op: "tanh", scale: "tanh", label: ["n_t", "dn_t"] }),
    node("affine", "op", 420, 330, { w: 420, h: 34, size: "none", name: null, op: "W·+b", label: ["W_i x_t + b_i,  W_h h_{t−1} + b_h", "dW, db"] }),
    node("x", "io", 420, 420, { size: "D", name: "x", scale: "tanh", label: ["x_t", "dx_t"], caption: ["cell.xIn", "cell.xBack"] }),
  ];
  const by = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const A = (id, side) => anchor(by[id], side);
  const edges = [
    { from: "h_prev", to: "mul_z", name: "h", points: [A("h_prev", "right"), A("mul_z", "left")] },
    { from: "mul_z", to: "add", name: "z", points: [A("mul_z", "right"), A("add", "left")] },
    { from: "add", to: "h_next", name: "h", points: [A("add", "right"), A("h_next", "left")] },
    { from: "add", to: "h_up", name: "h", points: [[780, 48], [780, 132], A("h_up", "left")], dot: true },
    { from: "z", to: "mul_z", name: "z", points: [A("z", "top"), A("mul_z", "bottom")] },
    { from: "z", to: "mul_n", name: "z", points: [[265, 203], [265, 172], [580, 172], [580, 155]], note: { text: "1 − z_t", x: 420, y: 166 } },
    { from: "n", to: "mul_n", name: "n", points: [A("n", "top"), A("mul_n", "bottom")] },
    { from: "mul_n", to: "add", name: "n", points: [A("mul_n", "top"), A("add", "bottom")] },
    { from: "r", to: "n", name: "r", points: [A("r", "right"), A("n", "left")], note: { text: "r_t ⊙ (W_{hn} h_{t−1} + b_{hn})", x: 515, y: 266 } },
    { from: "h_prev", to: "affine", name: "h", points: [A("h_prev", "bottom"), [72, 330], A("affine", "left")] },
    { from: "x", to: "affine", name: "x", points: [A("x", "top"), A("affine", "bottom")] },
    { from: "affine", to: "z", name: null, points: [[230, 313], A("z", "bottom")] },
    { from: "affine", to: "r", name: null, points: [[410, 313], A("r", "bottom")] },
    { from: "affine", to: "n", name: null, points: [[620, 313], A("n", "bottom")] },
  ];
  return { cell: "gru", width: 990, height: 470, nodes, edges, formula: null };
}

// ---- the plain RNN: one affine node and one tanh ----

function rnnGraph() {
  const nodes = [
    node("h_prev", "io", 72, 60, { name: "h", scale: "tanh", label: ["h_{t−1}", "dh_{t−1}^{next}"], caption: ["cell.fromPrev", "cell.toPrev"] }),
    node("tanh_h", "value", 460, 140, { name: "h", op: "tanh", scale: "tanh", label: ["h_t = tanh(A)", "dh_t"] }),
    node("h_next", "io", 915, 140, { name: "h", scale: "tanh", label: ["h_t", "dh_t^{next}"], caption: ["cell.toNext", "cell.fromNext"] }),
    node("h_up", "io", 915, 48, { name: "h", scale: "tanh", label: ["h_t", "dh_t^{above}"], caption: ["cell.toAbove", "cell.fromAbove"] }),
    node("affine", "value", 460, 250, { name: null, op: "W·+b", scale: "tanh", label: ["A", "dA"], caption: ["cell.affineRnn", "cell.affineBack"] }),
    node("x", "io", 460, 350, { size: "D", name: "x", scale: "tanh", label: ["x_t", "dx_t"], caption: ["cell.xIn", "cell.xBack"] }),
  ];
  const by = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const A = (id, side) => anchor(by[id], side);
  const edges = [
    { from: "h_prev", to: "affine", name: "h", points: [A("h_prev", "bottom"), [72, 250], A("affine", "left")] },
    { from: "x", to: "affine", name: "x", points: [A("x", "top"), A("affine", "bottom")] },
    { from: "affine", to: "tanh_h", name: null, points: [A("affine", "top"), A("tanh_h", "bottom")] },
    { from: "tanh_h", to: "h_next", name: "h", points: [A("tanh_h", "right"), A("h_next", "left")] },
    { from: "tanh_h", to: "h_up", name: "h", points: [[760, 140], [760, 48], A("h_up", "left")], dot: true },
  ];
  return {
    cell: "rnn",
    width: 990,
    height: 400,
    nodes,
    edges,
    formula: { forward: "A = W_{ih} x_t + b_{ih} + W_{hh} h_{t−1} + b_{hh}", backward: "dA = dh_t ⊙ (1 − h_t²)", x: 530, y: 254 },
  };
}

const BUILDERS = { lstm: lstmGraph, gru: gruGraph, rnn: rnnGraph };
const CACHE = new Map();

// Bias terms in the labels and formulas ("+ b_{ih}", "+ b_i", the affine node's "W·+b").
const BIAS_TERM = /\s*\+\s*b(_\{\w+\}|_\w)?(?=[\s,)]|$)/g;

/** A graph without its bias terms (a bias-free cell). */
function withoutBias(graph) {
  const strip = (text) => text.replace(BIAS_TERM, "").replace("W·+b", "W·");
  const nodes = graph.nodes.map((n) => ({ ...n, op: n.op ? strip(n.op) : n.op, label: n.label.map(strip) }));
  const edges = graph.edges.map((e) => (e.note ? { ...e, note: { ...e.note, text: strip(e.note.text) } } : e));
  const formula = graph.formula ? { ...graph.formula, forward: strip(graph.formula.forward), backward: graph.formula.backward.replace(", db", "") } : null;
  return { ...graph, nodes, edges, formula };
}

/**
 * The graph of a cell type (one object per variant; treat it as read-only).  `proj`: an
 * LSTM with a projection; `bias: false`: a cell without biases.
 */
export function cellGraph(cell, { proj = false, bias = true } = {}) {
  const key = `${cell}:${proj && cell === "lstm" ? 1 : 0}:${bias ? 1 : 0}`;
  if (!CACHE.has(key)) {
    const graph = (BUILDERS[cell] || rnnGraph)({ proj: proj && cell === "lstm" });
    CACHE.set(key, bias ? graph : withoutBias(graph));
  }
  return CACHE.get(key);
}

/** The graph a run's cells are drawn with. */
export function runGraph(run) {
  return cellGraph(run.cell, { proj: run.projSize > 0, bias: run.bias });
}

/**
 * A label read in a direction: a reverse direction's previous step is t+1 and its next t−1,
 * so the two swap ("c_{t−1}" reads "c_{t+1}").
 */
export function directed(text, dir) {
  if (dir !== "reverse") return text;
  return text.replace(/t−1/g, "\u0000").replace(/t\+1/g, "t−1").replace(/\u0000/g, "t+1");
}

// Captions that name the previous or the next step: a reverse direction has its own.
const STEP_CAPTIONS = new Set(["cell.fromPrev", "cell.toPrev", "cell.toNext", "cell.fromNext", "cell.affineBack"]);

/** The nodes that show a vector (everything but the slice container and bare op nodes). */
export function stripNodes(graph) {
  return graph.nodes.filter((n) => n.size !== "none");
}

/** Label and caption key of a node in a mode (and direction). */
export function nodeLabel(n, mode, dir = "forward") {
  return directed(n.label[mode === "backward" ? 1 : 0], dir);
}

export function nodeCaption(n, mode, { top = false, dir = "forward" } = {}) {
  if (!n.caption) return null;
  const key = n.caption[mode === "backward" ? 1 : 0];
  // The top layer's h goes to the output head (or the loss), not to a layer above.
  if (top && (key === "cell.toAbove" || key === "cell.fromAbove")) return `${key}Top`;
  if (dir === "reverse" && STEP_CAPTIONS.has(key)) return `${key}.reverse`;
  return key;
}

/** How many entries a node's vector has in a run (H, 4H, the layer's input width or h's). */
export function nodeLength(n, run, k, dir = "forward") {
  if (n.size === "4H") return 4 * run.hidden;
  if (n.size === "D") return run.data(k, dir).x[0].length;
  if (n.size === "P") return run.stateSize;
  return run.hidden;
}

/**
 * The columns a node's strip has, each [first, end) over the vector.  A 4H vector gets one
 * block of columns per gate quarter (so each quarter can be named), grouped within it.
 */
export function nodeColumns(n, run, k, dir = "forward") {
  if (n.size === "4H") {
    const H = run.hidden;
    const cols = [];
    for (let q = 0; q < 4; q += 1) {
      for (const [a, b] of unitGroups(H, MAX_COLS / 2)) cols.push([q * H + a, q * H + b]);
    }
    return cols;
  }
  return unitGroups(nodeLength(n, run, k, dir), MAX_COLS);
}

/** The quarters of A by name, in the API's packing order: [{gate, start, end}]. */
export function quarters(run) {
  const H = run.hidden;
  return run.gateOrder.map((gate, q) => ({ gate, start: q * H, end: (q + 1) * H }));
}

const zeros = (n) => new Array(n).fill(0);
const mul = (a, b) => a.map((v, j) => v * b[j]);

/** One gate's slice of a stacked 4H row, found by its name in gate_order. */
export function sliceByName(row, gateOrder, gate, H) {
  const q = gateOrder.indexOf(gate);
  if (q < 0) throw new Error(`gate ${gate} is not in the gate order ${gateOrder.join(",")}`);
  return row.slice(q * H, (q + 1) * H);
}

/** The position a direction read just before t (t−1, or t+1 for a reverse direction), or null at its start. */
export function prevPosition(dir, t, steps) {
  const p = dir === "reverse" ? t + 1 : t - 1;
  return p >= 0 && p < steps ? p : null;
}

/**
 * Every node's vector at layer k, direction dir, position t (0-based) in a mode:
 * {nodeId: number[]}.  Forward: the values.  Backward: dL/d(the node's output), with the
 * h_t branches showing the two parts of dh_t (from above, from the direction's next step)
 * and c_prev, h_prev what flows back to its previous step (t−1, or t+1 in reverse).
 */
export function cellValues(run, k, t, mode, dir = "forward") {
  const L = run.data(k, dir);
  const G = L.grad || {};
  const H = run.hidden;
  const P = run.stateSize;
  const p = prevPosition(dir, t, run.steps);
  const prev = (rows, n = H) => (p !== null ? rows[p] : zeros(n));
  const out = {};
  if (mode === "forward") {
    out.x = L.x[t];
    out.h_prev = prev(L.h, P);
    out.h_next = L.h[t];
    out.h_up = L.h[t];
    if (run.cell === "lstm") {
      const cPrev = prev(L.c);
      Object.assign(out, {
        c_prev: cPrev,
        mul_f: mul(L.f[t], cPrev),
        add: L.c[t],
        c_next: L.c[t],
        mul_ig: mul(L.i[t], L.g[t]),
        tanh_c: L.tanh_c[t],
        f: L.f[t],
        i: L.i[t],
        g: L.g[t],
        o: L.o[t],
        mul_h: L.m ? L.m[t] : L.h[t],
        affine: L.a[t],
      });
      if (L.m) out.proj = L.h[t];
      for (const gate of stripNames("lstm")) out[`slice:${gate}`] = sliceByName(L.a[t], run.gateOrder, gate, H);
    } else if (run.cell === "gru") {
      Object.assign(out, {
        mul_z: mul(L.z[t], prev(L.h)),
        mul_n: L.z[t].map((z, j) => (1 - z) * L.n[t][j]),
        add: L.h[t],
        r: L.r[t],
        z: L.z[t],
        n: L.n[t],
      });
    } else {
      Object.assign(out, { tanh_h: L.h[t], affine: L.a[t] });
    }
    return out;
  }
  // Backward: what arrives at each node's output.
  const back = (rows, initial, n = H) => (p !== null ? rows[p] : initial || zeros(n));
  out.x = G.x[t];
  out.h_prev = back(G.h_from_next, G.h0, P);
  out.h_next = G.h_from_next[t];
  out.h_up = G.h_from_above[t];
  if (run.cell === "lstm") {
    Object.assign(out, {
      c_prev: back(G.c_from_next, G.c0),
      mul_f: G.c[t],
      add: G.c[t],
      c_next: G.c_from_next[t],
      mul_ig: G.c[t],
      tanh_c: G.tanh_c[t],
      f: G.f[t],
      i: G.i[t],
      g: G.g[t],
      o: G.o[t],
      mul_h: G.m ? G.m[t] : G.h[t],
      affine: G.a[t],
    });
    if (G.m) out.proj = G.h[t];
    for (const gate of stripNames("lstm")) out[`slice:${gate}`] = sliceByName(G.a[t], run.gateOrder, gate, H);
  } else if (run.cell === "gru") {
    Object.assign(out, { mul_z: G.h[t], mul_n: G.h[t], add: G.h[t], r: G.r[t], z: G.z[t], n: G.n[t] });
  } else {
    Object.assign(out, { tanh_h: G.h[t], affine: G.a[t] });
  }
  return out;
}

/** The value of a strip column: the entry itself, or the mean of its group. */
export function columnValue(vec, [a, b]) {
  if (b - a === 1) return vec[a];
  let s = 0;
  for (let j = a; j < b; j += 1) s += vec[j];
  return s / (b - a);
}

/** Bounding boxes overlap (for the layout's own test). */
export function overlaps(p, q, pad = 0) {
  return (
    Math.abs(p.x - q.x) * 2 < p.w + q.w + 2 * pad && Math.abs(p.y - q.y) * 2 < p.h + q.h + 2 * pad
  );
}
