// The equations of the current mode with the selected unit's numbers substituted in, as
// rows of tokens a view turns into HTML.  Pure: no DOM.
//
// A token is {k: "m", text, name} (math: "c_{t−1}", coloured by the identity of `name`),
// {k: "t", text} (plain operators and words) or {k: "n", value, q} (a number from the API's
// trace; `q` names the quantity, for tests and hover).  Every number is the API's own value
// (the view rounds it to 4 significant digits); nothing is recomputed here except where a
// row says so (products written out as their factors).
//
// A reverse direction's previous step is t+1: its rows read h_{t+1} and c_{t+1} (the
// symbols through cellgraph.directed, the numbers from position t+1).  With a projection
// the LSTM's o_t ⊙ tanh(c_t) is m_t and h_t = W_hr m_t; a bias-free cell has no b terms.

import { directed, prevPosition, sliceByName } from "./cellgraph.js";
import { norm, sig4 } from "../core/format.js";
import { t as tr } from "../core/i18n.js";

const m = (text, name = null) => ({ k: "m", text, name });
const o = (text) => ({ k: "t", text });
const n = (value, q = null) => ({ k: "n", value, q });

const SUP_WORDS = new Set(["next", "above"]);

/** Split a small math string into runs: "dh_t^{next}" -> dh, t (sub), next (sup). */
export function mathSegments(text) {
  const out = [];
  let buf = "";
  let k = 0;
  const flush = () => {
    if (buf) out.push({ text: buf });
    buf = "";
  };
  while (k < text.length) {
    const ch = text[k];
    if ((ch === "_" || ch === "^") && k + 1 < text.length) {
      flush();
      let body;
      if (text[k + 1] === "{") {
        const close = text.indexOf("}", k + 2);
        const end = close < 0 ? text.length : close;
        body = text.slice(k + 2, end);
        k = end + 1;
      } else {
        body = text[k + 1];
        k += 2;
      }
      // The superscripts that are words (next, above) in the page's language.
      out.push(ch === "_" ? { text: body, sub: true } : { text: SUP_WORDS.has(body) ? tr(`eq.sup.${body}`) : body, sup: true });
    } else {
      buf += ch;
      k += 1;
    }
  }
  flush();
  return out;
}

/** A math string as plain text ("c_{t−1}" -> "c_t−1"): for hover labels and tests. */
export function mathPlain(text) {
  return mathSegments(text)
    .map((s) => (s.sub ? `_${s.text}` : s.sup ? `^${s.text}` : s.text))
    .join("");
}

const row = (id, sym, num) => ({ id, sym, num });

function lstmForward(L, run, t, u, p) {
  const H = run.hidden;
  const A = (gate) => sliceByName(L.a[t], run.gateOrder, gate, H)[u];
  const cPrev = p !== null ? L.c[p][u] : 0;
  const f = L.f[t][u];
  const i = L.i[t][u];
  const g = L.g[t][u];
  const oo = L.o[t][u];
  const tanhRow = (id, target, q, value) =>
    row(
      id,
      [m(`${target}_t`, target), o(" = "), m("o_t", "o"), o(" ⊙ tanh("), m("c_t", "c"), o(")")],
      [o("= "), n(oo, "o"), o(" × tanh("), n(L.c[t][u], "c"), o(") = "), n(oo, "o"), o(" × "), n(L.tanh_c[t][u], "tanh_c"), o(" = "), n(value, q)],
    );
  return [
    row(
      "A",
      // A's blocks in the book's slicing order (f, g, i, o), as the rows below take them.
      [m("A"), o(" = "), m("W_{ih} x_t + b_{ih} + W_{hh} h_{t−1} + b_{hh}"), o("  →  "), m("A_f", "f"), o(", "), m("A_g", "g"), o(", "), m("A_i", "i"), o(", "), m("A_o", "o")],
      [m("A_f", "f"), o(" = "), n(A("f"), "A_f"), o(",  "), m("A_g", "g"), o(" = "), n(A("g"), "A_g"), o(",  "), m("A_i", "i"), o(" = "), n(A("i"), "A_i"), o(",  "), m("A_o", "o"), o(" = "), n(A("o"), "A_o")],
    ),
    row("f", [m("f_t", "f"), o(" = σ("), m("A_f", "f"), o(")")], [o("= σ("), n(A("f"), "A_f"), o(") = "), n(f, "f")]),
    row("g", [m("g_t", "g"), o(" = tanh("), m("A_g", "g"), o(")")], [o("= tanh("), n(A("g"), "A_g"), o(") = "), n(g, "g")]),
    row("i", [m("i_t", "i"), o(" = σ("), m("A_i", "i"), o(")")], [o("= σ("), n(A("i"), "A_i"), o(") = "), n(i, "i")]),
    row(
      "c",
      [m("c_t", "c"), o(" = "), m("f_t", "f"), o(" ⊙ "), m("c_{t−1}", "c"), o(" + "), m("i_t", "i"), o(" ⊙ "), m("g_t", "g")],
      [o("= "), n(f, "f"), o(" × "), n(cPrev, "c_prev"), o(" + "), n(i, "i"), o(" × "), n(g, "g"), o(" = "), n(L.c[t][u], "c")],
    ),
    row("o", [m("o_t", "o"), o(" = σ("), m("A_o", "o"), o(")")], [o("= σ("), n(A("o"), "A_o"), o(") = "), n(oo, "o")]),
    // With a projection o_t ⊙ tanh(c_t) is m_t (the cell's units) and h_t = W_hr m_t, proj_size wide.
    ...(L.m
      ? [
          tanhRow("m", "m", "m", L.m[t][u]),
          row("h", [m("h_t", "h"), o(" = "), m("W_{hr} m_t")], [o(`${tr("eq.projected", { p: run.projSize })}: ‖`), m("h_t", "h"), o("‖ = "), n(norm(L.h[t]), "h_norm")]),
        ]
      : [tanhRow("h", "h", "h", L.h[t][u])]),
  ];
}

/** dh_t's two sources, the same in every cell: from above (or the loss) and from the next step. */
function dhRow(G, t, u) {
  return row(
    "dh",
    [m("dh_t", "h"), o(" = "), m("dh_t^{above}", "h"), o(" + "), m("dh_t^{next}", "h")],
    [o("= "), n(G.h_from_above[t][u], "dh_above"), o(" + "), n(G.h_from_next[t][u], "dh_next"), o(" = "), n(G.h[t][u], "dh")],
  );
}

/** The same with a projection: h is proj_size wide, not the cell's units, so its sizes. */
function dhNormRow(G, t) {
  return row(
    "dh",
    [m("dh_t", "h"), o(" = "), m("dh_t^{above}", "h"), o(" + "), m("dh_t^{next}", "h")],
    [o("‖·‖: "), n(norm(G.h_from_above[t]), "dh_above_norm"), o(", "), n(norm(G.h_from_next[t]), "dh_next_norm"), o(" → "), n(norm(G.h[t]), "dh_norm")],
  );
}

/** What flows back to the previous step's h: one unit, or (projected: not the cell's units) its size. */
function dhPrevRow(G, p, u, proj = false) {
  const vec = p !== null ? G.h_from_next[p] : G.h0;
  // The part of dh_{t−1} that comes from this step (h_from_next); at t−1 the part from above is added.
  const sym = [m("dh_{t−1}^{next}", "h"), o(" = "), m("W_{hh}^⊤ dA")];
  if (proj) return row("dh_prev", sym, [o("‖"), m("dh_{t−1}", "h"), o("‖ = "), n(norm(vec), "dh_prev_norm")]);
  return row("dh_prev", sym, [o("= "), n(vec[u], "dh_prev")]);
}

function dxRow(G, t) {
  return row("dx", [m("dx_t", "x"), o(" = "), m("W_{ih}^⊤ dA")], [o("‖"), m("dx_t", "x"), o("‖ = "), n(norm(G.x[t]), "dx_norm")]);
}

function lstmBackward(L, run, t, u, p) {
  const G = L.grad;
  const H = run.hidden;
  const dA = (gate) => sliceByName(G.a[t], run.gateOrder, gate, H)[u];
  const cPrev = p !== null ? L.c[p][u] : 0;
  const dcPrev = p !== null ? G.c_from_next[p][u] : G.c0[u];
  const [f, i, g, oo] = ["f", "i", "g", "o"].map((q) => L[q][t][u]);
  const packed = run.gateOrder.flatMap((gate, q) => [...(q ? [o(" | ")] : []), m(`dA_${gate}`, gate)]);
  // With a projection the gradient reaches the cell's units as dm_t = W_hrᵀ dh_t.
  const proj = Boolean(G.m);
  const dOut = proj ? G.m[t][u] : G.h[t][u];
  const outSym = () => (proj ? m("dm_t", "m") : m("dh_t", "h"));
  const outQ = proj ? "dm" : "dh";
  return [
    ...(proj ? [dhNormRow(G, t), row("dm", [m("dm_t", "m"), o(" = "), m("W_{hr}^⊤ dh_t")], [o("= "), n(G.m[t][u], "dm")])] : [dhRow(G, t, u)]),
    row(
      "do",
      [m("do_t", "o"), o(" = "), outSym(), o(" ⊙ tanh("), m("c_t", "c"), o(")")],
      [o("= "), n(dOut, outQ), o(" × "), n(L.tanh_c[t][u], "tanh_c"), o(" = "), n(G.o[t][u], "do")],
    ),
    row(
      "dc",
      [m("dc_t", "c"), o(" = "), m("dc_t^{next}", "c"), o(" + "), outSym(), o(" ⊙ "), m("o_t", "o"), o(" ⊙ (1 − tanh²("), m("c_t", "c"), o("))")],
      [o("= "), n(G.c_from_next[t][u], "dc_next"), o(" + "), n(dOut, outQ), o(" × "), n(oo, "o"), o(" × (1 − "), n(L.tanh_c[t][u], "tanh_c"), o("²) = "), n(G.c[t][u], "dc")],
    ),
    row(
      "dg",
      [m("dg_t", "g"), o(" = "), m("dc_t", "c"), o(" ⊙ "), m("i_t", "i"), o(",   "), m("dA_g", "g"), o(" = "), m("dg_t", "g"), o(" ⊙ (1 − "), m("g_t", "g"), o("²)")],
      [o("= "), n(G.c[t][u], "dc"), o(" × "), n(i, "i"), o(" = "), n(G.g[t][u], "dg"), o(",   "), m("dA_g", "g"), o(" = "), n(dA("g"), "dA_g")],
    ),
    row(
      "di",
      [m("di_t", "i"), o(" = "), m("dc_t", "c"), o(" ⊙ "), m("g_t", "g"), o(",   "), m("dA_i", "i"), o(" = "), m("di_t", "i"), o(" ⊙ "), m("i_t", "i"), o("(1 − "), m("i_t", "i"), o(")")],
      [o("= "), n(G.c[t][u], "dc"), o(" × "), n(g, "g"), o(" = "), n(G.i[t][u], "di"), o(",   "), m("dA_i", "i"), o(" = "), n(dA("i"), "dA_i")],
    ),
    row(
      "df",
      [m("df_t", "f"), o(" = "), m("dc_t", "c"), o(" ⊙ "), m("c_{t−1}", "c"), o(",   "), m("dA_f", "f"), o(" = "), m("df_t", "f"), o(" ⊙ "), m("f_t", "f"), o("(1 − "), m("f_t", "f"), o(")")],
      [o("= "), n(G.c[t][u], "dc"), o(" × "), n(cPrev, "c_prev"), o(" = "), n(G.f[t][u], "df"), o(",   "), m("dA_f", "f"), o(" = "), n(dA("f"), "dA_f")],
    ),
    row(
      "dAo",
      [m("dA_o", "o"), o(" = "), m("do_t", "o"), o(" ⊙ "), m("o_t", "o"), o("(1 − "), m("o_t", "o"), o(")")],
      [o("= "), n(G.o[t][u], "do"), o(" × "), n(oo, "o"), o(" × (1 − "), n(oo, "o"), o(") = "), n(dA("o"), "dA_o")],
    ),
    row("dA", [m("dA"), o(" = [ "), ...packed, o(" ]")], [o(`(${tr("eq.joined")})`)]),
    row(
      "dc_prev",
      // The part through the direct edge (c_from_next); the total dc_{t−1} adds the part through h_{t−1}.
      [m("dc_{t−1}^{next}", "c"), o(" = "), m("dc_t", "c"), o(" ⊙ "), m("f_t", "f")],
      [o("= "), n(G.c[t][u], "dc"), o(" × "), n(f, "f"), o(" = "), n(dcPrev, "dc_prev")],
    ),
    dhPrevRow(G, p, u, proj),
    dxRow(G, t),
  ];
}

function gruForward(L, t, u, p) {
  const hPrev = p !== null ? L.h[p][u] : 0;
  const [r, z, nn] = ["r", "z", "n"].map((q) => L[q][t][u]);
  return [
    row("r", [m("r_t", "r"), o(" = σ("), m("W_{ir} x_t + b_{ir} + W_{hr} h_{t−1} + b_{hr}"), o(")")], [o("= "), n(r, "r")]),
    row("z", [m("z_t", "z"), o(" = σ("), m("W_{iz} x_t + b_{iz} + W_{hz} h_{t−1} + b_{hz}"), o(")")], [o("= "), n(z, "z")]),
    row(
      "n",
      [m("n_t", "n"), o(" = tanh("), m("W_{in} x_t + b_{in} + "), m("r_t", "r"), o(" ⊙ ("), m("W_{hn} h_{t−1} + b_{hn}"), o("))")],
      [o("= "), n(nn, "n")],
    ),
    row(
      "h",
      [m("h_t", "h"), o(" = (1 − "), m("z_t", "z"), o(") ⊙ "), m("n_t", "n"), o(" + "), m("z_t", "z"), o(" ⊙ "), m("h_{t−1}", "h")],
      [o("= (1 − "), n(z, "z"), o(") × "), n(nn, "n"), o(" + "), n(z, "z"), o(" × "), n(hPrev, "h_prev"), o(" = "), n(L.h[t][u], "h")],
    ),
  ];
}

function gruBackward(L, t, u, p) {
  const G = L.grad;
  const hPrev = p !== null ? L.h[p][u] : 0;
  const dhPrev = p !== null ? G.h_from_next[p][u] : G.h0[u];
  const z = L.z[t][u];
  return [
    dhRow(G, t, u),
    row(
      "dn",
      [m("dn_t", "n"), o(" = "), m("dh_t", "h"), o(" ⊙ (1 − "), m("z_t", "z"), o(")")],
      [o("= "), n(G.h[t][u], "dh"), o(" × (1 − "), n(z, "z"), o(") = "), n(G.n[t][u], "dn")],
    ),
    row(
      "dz",
      [m("dz_t", "z"), o(" = "), m("dh_t", "h"), o(" ⊙ ("), m("h_{t−1}", "h"), o(" − "), m("n_t", "n"), o(")")],
      [o("= "), n(G.h[t][u], "dh"), o(" × ("), n(hPrev, "h_prev"), o(" − "), n(L.n[t][u], "n"), o(") = "), n(G.z[t][u], "dz")],
    ),
    row("dr", [m("dr_t", "r"), o(` = (${tr("eq.throughN")})`)], [o("= "), n(G.r[t][u], "dr")]),
    row(
      "dh_prev",
      [m("dh_{t−1}^{next}", "h"), o(" = "), m("dh_t", "h"), o(" ⊙ "), m("z_t", "z"), o(` + (${tr("eq.throughGates")})`)],
      [o("= "), n(dhPrev, "dh_prev")],
    ),
    row("dx", [m("dx_t", "x"), o(" = "), m("W_i^⊤ (dA_r, dA_z, dA_n)")], [o("‖"), m("dx_t", "x"), o("‖ = "), n(norm(G.x[t]), "dx_norm")]),
  ];
}

function rnnForward(L, t, u) {
  return [
    row("A", [m("A"), o(" = "), m("W_{ih} x_t + b_{ih} + W_{hh} h_{t−1} + b_{hh}")], [o("= "), n(L.a[t][u], "A")]),
    row("h", [m("h_t", "h"), o(" = tanh("), m("A"), o(")")], [o("= tanh("), n(L.a[t][u], "A"), o(") = "), n(L.h[t][u], "h")]),
  ];
}

function rnnBackward(L, t, u, p) {
  const G = L.grad;
  return [
    dhRow(G, t, u),
    row(
      "dA",
      [m("dA"), o(" = "), m("dh_t", "h"), o(" ⊙ (1 − "), m("h_t", "h"), o("²)")],
      [o("= "), n(G.h[t][u], "dh"), o(" × (1 − "), n(L.h[t][u], "h"), o("²) = "), n(G.a[t][u], "dA")],
    ),
    dhPrevRow(G, p, u),
    dxRow(G, t),
  ];
}

// Bias terms in the symbols, left out for a bias-free cell.
const BIAS_TERM = /\s*\+\s*b(_\{\w+\}|_\w)?(?=[\s,)]|$)/g;

/** The symbols as a direction and a cell read them: t±1 swapped in reverse, no b without biases. */
function adapt(rows, dir, bias) {
  const text = (s) => {
    const d = directed(s, dir);
    return bias ? d : d.replace(BIAS_TERM, "");
  };
  const fix = (tokens) => tokens.map((tok) => (tok.k === "m" ? { ...tok, text: text(tok.text) } : tok));
  return rows.map((r) => ({ ...r, sym: fix(r.sym), num: fix(r.num) }));
}

/**
 * The rows for layer k, direction dir, position t (0-based), unit u (0-based) in a mode:
 * [{id, sym: tokens, num: tokens}].
 */
export function equationRows(run, { k, dir = "forward", t, u, mode }) {
  const L = run.data(k, dir);
  const p = prevPosition(dir, t, run.steps);
  const back = mode === "backward";
  let rows;
  if (run.cell === "lstm") rows = back ? lstmBackward(L, run, t, u, p) : lstmForward(L, run, t, u, p);
  else if (run.cell === "gru") rows = back ? gruBackward(L, t, u, p) : gruForward(L, t, u, p);
  else rows = back ? rnnBackward(L, t, u, p) : rnnForward(L, t, u);
  return adapt(rows, dir, run.bias).map((r) => ({ ...r, num: parenthesizeNegatives(r.num) }));
}

const OPERATOR_BEFORE = /[−+×⊙]\s*$/;
const SQUARED_AFTER = /^²/;

/**
 * Negative numbers after an operator, or squared, in parentheses: "0 − (−0.1483)", not
 * "0 − −0.1483"; "(1 − (−0.5)²)", not "(1 − −0.5²)".  Marks such a number token `paren`.
 */
export function parenthesizeNegatives(tokens) {
  return tokens.map((tok, i) => {
    if (tok.k !== "n" || !/^[−-]/.test(sig4(tok.value))) return tok;
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    const operand = (before && before.k !== "n" && OPERATOR_BEFORE.test(before.text)) || (after && after.k !== "n" && SQUARED_AFTER.test(after.text));
    return operand ? { ...tok, paren: true } : tok;
  });
}

/** A number token as printed (4 significant digits; in parentheses when marked so). */
export const numberText = (tok) => (tok.paren ? `(${sig4(tok.value)})` : sig4(tok.value));

/** A token list as plain text (numbers to 4 significant digits). */
export function tokensText(tokens) {
  return tokens.map((tok) => (tok.k === "n" ? numberText(tok) : tok.k === "m" ? mathPlain(tok.text) : tok.text)).join("");
}

/** Every number of a set of rows by its quantity name (first occurrence wins). */
export function rowNumbers(rows) {
  const out = {};
  for (const r of rows) {
    for (const tok of [...r.sym, ...r.num]) if (tok.k === "n" && tok.q && !(tok.q in out)) out[tok.q] = tok.value;
  }
  return out;
}
