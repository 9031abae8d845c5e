// The equations of the current mode with the selected unit's numbers substituted in, as
// rows of tokens a view turns into HTML.  Pure: no DOM.
//
// A token is {k: "m", text, name} (math: "c_{t−1}", coloured by the identity of `name`),
// {k: "t", text} (plain operators and words) or {k: "n", value, q} (a number from the API's
// trace; `q` names the quantity, for tests and hover).  Every number is the API's own value
// (the view rounds it to 4 significant digits); nothing is recomputed here except where a
// row says so (products written out as their factors).

import { sliceByName } from "./cellgraph.js";
import { norm, sig4 } from "../core/format.js";
import { t as tr } from "../core/i18n.js";

const m = (text, name = null) => ({ k: "m", text, name });
const o = (text) => ({ k: "t", text });
const n = (value, q = null) => ({ k: "n", value, q });

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
      out.push(ch === "_" ? { text: body, sub: true } : { text: body, sup: true });
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

function lstmForward(L, run, t, u) {
  const H = run.hidden;
  const A = (gate) => sliceByName(L.a[t], run.gateOrder, gate, H)[u];
  const cPrev = t > 0 ? L.c[t - 1][u] : 0;
  const f = L.f[t][u];
  const i = L.i[t][u];
  const g = L.g[t][u];
  const oo = L.o[t][u];
  return [
    row(
      "A",
      [m("A"), o(" = "), m("W_{ih} x_t + b_{ih} + W_{hh} h_{t−1} + b_{hh}"), o("  →  "), m("A_f", "f"), o(", "), m("A_i", "i"), o(", "), m("A_g", "g"), o(", "), m("A_o", "o")],
      [m("A_f", "f"), o(" = "), n(A("f"), "A_f"), o(",  "), m("A_i", "i"), o(" = "), n(A("i"), "A_i"), o(",  "), m("A_g", "g"), o(" = "), n(A("g"), "A_g"), o(",  "), m("A_o", "o"), o(" = "), n(A("o"), "A_o")],
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
    row(
      "h",
      [m("h_t", "h"), o(" = "), m("o_t", "o"), o(" ⊙ tanh("), m("c_t", "c"), o(")")],
      [o("= "), n(oo, "o"), o(" × tanh("), n(L.c[t][u], "c"), o(") = "), n(oo, "o"), o(" × "), n(L.tanh_c[t][u], "tanh_c"), o(" = "), n(L.h[t][u], "h")],
    ),
  ];
}

/** dh_t's two sources, the same in every cell: from above (or the loss) and from t+1. */
function dhRow(G, t, u) {
  return row(
    "dh",
    [m("dh_t", "h"), o(" = "), m("dh_t^{above}", "h"), o(" + "), m("dh_t^{next}", "h")],
    [o("= "), n(G.h_from_above[t][u], "dh_above"), o(" + "), n(G.h_from_next[t][u], "dh_next"), o(" = "), n(G.h[t][u], "dh")],
  );
}

function lstmBackward(L, run, t, u) {
  const G = L.grad;
  const H = run.hidden;
  const dA = (gate) => sliceByName(G.a[t], run.gateOrder, gate, H)[u];
  const cPrev = t > 0 ? L.c[t - 1][u] : 0;
  const dcPrev = t > 0 ? G.c_from_next[t - 1][u] : G.c0[u];
  const dhPrev = t > 0 ? G.h_from_next[t - 1][u] : G.h0[u];
  const [f, i, g, oo] = ["f", "i", "g", "o"].map((q) => L[q][t][u]);
  const packed = run.gateOrder.flatMap((gate, q) => [...(q ? [o(" | ")] : []), m(`dA_${gate}`, gate)]);
  return [
    dhRow(G, t, u),
    row(
      "do",
      [m("do_t", "o"), o(" = "), m("dh_t", "h"), o(" ⊙ tanh("), m("c_t", "c"), o(")")],
      [o("= "), n(G.h[t][u], "dh"), o(" × "), n(L.tanh_c[t][u], "tanh_c"), o(" = "), n(G.o[t][u], "do")],
    ),
    row(
      "dc",
      [m("dc_t", "c"), o(" = "), m("dc_t^{next}", "c"), o(" + "), m("dh_t", "h"), o(" ⊙ "), m("o_t", "o"), o(" ⊙ (1 − tanh²("), m("c_t", "c"), o("))")],
      [o("= "), n(G.c_from_next[t][u], "dc_next"), o(" + "), n(G.h[t][u], "dh"), o(" × "), n(oo, "o"), o(" × (1 − "), n(L.tanh_c[t][u], "tanh_c"), o("²) = "), n(G.c[t][u], "dc")],
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
      [m("dc_{t−1}", "c"), o(" = "), m("dc_t", "c"), o(" ⊙ "), m("f_t", "f")],
      [o("= "), n(G.c[t][u], "dc"), o(" × "), n(f, "f"), o(" = "), n(dcPrev, "dc_prev")],
    ),
    row("dh_prev", [m("dh_{t−1}", "h"), o(" = "), m("W_{hh}^⊤ dA")], [o("= "), n(dhPrev, "dh_prev")]),
    row("dx", [m("dx_t", "x"), o(" = "), m("W_{ih}^⊤ dA")], [o("‖"), m("dx_t", "x"), o("‖ = "), n(norm(G.x[t]), "dx_norm")]),
  ];
}

function gruForward(L, t, u) {
  const hPrev = t > 0 ? L.h[t - 1][u] : 0;
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

function gruBackward(L, t, u) {
  const G = L.grad;
  const hPrev = t > 0 ? L.h[t - 1][u] : 0;
  const dhPrev = t > 0 ? G.h_from_next[t - 1][u] : G.h0[u];
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
      [m("dh_{t−1}", "h"), o(" = "), m("dh_t", "h"), o(" ⊙ "), m("z_t", "z"), o(` + (${tr("eq.throughGates")})`)],
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

function rnnBackward(L, t, u) {
  const G = L.grad;
  const dhPrev = t > 0 ? G.h_from_next[t - 1][u] : G.h0[u];
  return [
    dhRow(G, t, u),
    row(
      "dA",
      [m("dA"), o(" = "), m("dh_t", "h"), o(" ⊙ (1 − "), m("h_t", "h"), o("²)")],
      [o("= "), n(G.h[t][u], "dh"), o(" × (1 − "), n(L.h[t][u], "h"), o("²) = "), n(G.a[t][u], "dA")],
    ),
    row("dh_prev", [m("dh_{t−1}", "h"), o(" = "), m("W_{hh}^⊤ dA")], [o("= "), n(dhPrev, "dh_prev")]),
    row("dx", [m("dx_t", "x"), o(" = "), m("W_{ih}^⊤ dA")], [o("‖"), m("dx_t", "x"), o("‖ = "), n(norm(G.x[t]), "dx_norm")]),
  ];
}

/**
 * The rows for layer k, step t (0-based), unit u (0-based) in a mode:
 * [{id, sym: tokens, num: tokens}].
 */
export function equationRows(run, { k, t, u, mode }) {
  const L = run.layers[k];
  const back = mode === "backward";
  if (run.cell === "lstm") return back ? lstmBackward(L, run, t, u) : lstmForward(L, run, t, u);
  if (run.cell === "gru") return back ? gruBackward(L, t, u) : gruForward(L, t, u);
  return back ? rnnBackward(L, t, u) : rnnForward(L, t, u);
}

/** A token list as plain text (numbers to 4 significant digits). */
export function tokensText(tokens) {
  return tokens.map((tok) => (tok.k === "n" ? sig4(tok.value) : tok.k === "m" ? mathPlain(tok.text) : tok.text)).join("");
}

/** Every number of a set of rows by its quantity name (first occurrence wins). */
export function rowNumbers(rows) {
  const out = {};
  for (const r of rows) {
    for (const tok of [...r.sym, ...r.num]) if (tok.k === "n" && tok.q && !(tok.q in out)) out[tok.q] = tok.value;
  }
  return out;
}
