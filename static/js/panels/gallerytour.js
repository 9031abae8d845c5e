// A gallery model's guided path: four stops through the views (diagram, cell view, heatmaps,
// gradient flow), each a pass, a step and a sentence filled with *this* run's numbers (the
// watched unit's gate, cell state and gradient at the steps that matter), plus the figures
// the manifest verified on 1,000 fresh sequences.  Pure: no DOM.
//
// Units and steps are 1-based here, as on the page; the run's arrays are 0-based.

import { sig } from "../core/format.js";
import { keySteps, scoredSteps, watchSelection } from "./gallerydata.js";

/** The views a stop can point at, in the order a path visits them. */
export const TOUR_VIEWS = Object.freeze(["diagram", "cell", "heatmaps", "flow"]);

const fmt = (v) => sig(v, 3);
/** Correlations keep four digits: r = −0.9998 is not r = −1.00. */
const fmtR = (v) => sig(v, 4);
/** A verified fraction as a percentage (the manifest keeps fractions of 1,000 sequences). */
const pct = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–");
const mean = (a) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
const column = (rows, u) => (Array.isArray(rows) ? rows.map((r) => r[u]) : []);
/** Each step's change, from a zero initial state (the gallery's runs start from zeros). */
const changes = (s) => s.map((v, i) => v - (i ? s[i - 1] : 0));
const product = (a) => a.reduce((p, v) => p * v, 1);
const without = (a, steps) => a.filter((_, i) => !steps.includes(i + 1));
const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const l2 = (row) => Math.sqrt(row.reduce((s, v) => s + v * v, 0));

function corr(a, b) {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i += 1) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

const stop = (view, mode, step, key, params) => ({ view, mode, step, key, params });

/** Below this product of gates the direct path is said to fade rather than reach a step. */
export const KEPT_PRODUCT = 0.05;

/**
 * The gradient stop: dL/d(state) of unit u at step k and at step e (k < e), and what the
 * direct path back multiplies it by from e down to k: the forget gates (LSTM) or the update
 * gates z (GRU).  A plain RNN has no such path: the whole gradient's norm at k against e.
 */
function gradientStop(run, data, u, k, e) {
  const at = { u: u + 1, k, e, k1: k + 1 };
  if (run.cell === "rnn") {
    const g = data.grad.h;
    return stop("flow", "backward", k, "rnn", { ...at, gk: fmt(l2(g[k - 1])), ge: fmt(l2(g[e - 1])), ratio: fmt(l2(g[k - 1]) / l2(g[e - 1])) });
  }
  const state = run.cell === "lstm" ? "c" : "h";
  const gate = run.cell === "lstm" ? "f" : "z";
  const g = column(data.grad[state], u);
  const prod = product(column(data[gate], u).slice(k, e)); // steps k+1 .. e
  const key = `${run.cell}.${prod >= KEPT_PRODUCT ? "kept" : "faded"}`;
  return stop("flow", "backward", k, key, { ...at, gk: fmt(g[k - 1]), ge: fmt(g[e - 1]), prod: fmt(prod) });
}

function adding(entry, run, data, u, steps) {
  const T = run.steps;
  const x = entry.example.inputs;
  const [m1, m2] = steps;
  const v1 = x[m1 - 1][0];
  const v2 = x[m2 - 1][0];
  const target = entry.example.loss.targets[T - 1][0];
  const y = run.headY(T - 1);
  const state = run.cell === "lstm" ? "c" : "h";
  const s = column(data[state], u);
  const d = changes(s);
  const common = { u: u + 1, m1, m2, v1: fmt(v1), v2: fmt(v2), T, target: fmt(target), y: fmt(y ? y[0] : NaN), q: state };
  const metrics = entry.metrics || {};
  if (run.cell === "rnn") {
    const rest = without(d, [m1, m2]);
    return [
      stop("diagram", "forward", m1, "add.rnn.diagram", { ...common, d1: fmt(d[m1 - 1]) }),
      stop("cell", "forward", m2, "add.rnn.cell", { ...common, d1: fmt(d[m1 - 1]), d2: fmt(d[m2 - 1]), dMean: fmt(mean(rest.map(Math.abs))), dMax: fmt(maxAbs(rest)) }),
      stop("heatmaps", "forward", T, "add.rnn.heatmaps", { ...common, mse: fmt(metrics.mse), baseline: fmt(metrics.baseline_mse) }),
      gradientStop(run, data, u, 1, T),
    ];
  }
  const gate = run.cell === "lstm" ? "i" : "z";
  const gv = column(data[gate], u);
  const gRest = without(gv, [m1, m2]);
  return [
    stop("diagram", "forward", m1, `add.${run.cell}.diagram`, { ...common, g1: fmt(gv[m1 - 1]), g2: fmt(gv[m2 - 1]), gRest: fmt(mean(gRest)), n: gRest.length }),
    stop("cell", "forward", m2, "add.gated.cell", { ...common, d1: fmt(d[m1 - 1]), d2: fmt(d[m2 - 1]), dMax: fmt(maxAbs(without(d, [m1, m2]))) }),
    stop("heatmaps", "forward", T, "add.gated.heatmaps", { ...common, s2: fmt(s[m2 - 1]), sT: fmt(s[T - 1]) }),
    gradientStop(run, data, u, m1, T),
  ];
}

const ORDER_CLASSES = ["XX", "XY", "YX", "YY"]; // nn/tasks.py: class 2a + b, channels X, Y, c, d

function temporalOrder(entry, run, data, units, steps) {
  const T = run.steps;
  const x = entry.example.inputs;
  const [p1, p2] = steps;
  const sym = (p) => (x[p - 1][0] === 1 ? "X" : "Y");
  const [ua, ub = ua] = units;
  const ca = column(data.c, ua);
  const cb = column(data.c, ub);
  const ia = column(data.i, ua);
  const guess = run.guess(T - 1);
  const target = entry.example.loss.targets[T - 1];
  const m = entry.metrics || {};
  const common = { p1, p2, s1: sym(p1), s2: sym(p2), ua: ua + 1, ub: ub + 1, T };
  return [
    stop("diagram", "forward", p1, "order.diagram", { ...common, i1: fmt(ia[p1 - 1]), iRest: fmt(mean(without(ia, [p1, p2]))) }),
    stop("cell", "forward", p2 - 1, "order.cell", { ...common, pre: p2 - 1, c1: fmt(ca[p1 - 1]), cPre: fmt(ca[p2 - 2]), acc: pct(m.first_unit_accuracy_before_second) }),
    stop("heatmaps", "forward", p2, "order.heatmaps", {
      ...common,
      d2: fmt(cb[p2 - 1] - cb[p2 - 2]),
      acc: pct(m.second_unit_accuracy),
      answer: guess ? ORDER_CLASSES[guess.k] : "–",
      p: fmt(guess ? guess.p : NaN),
      target: ORDER_CLASSES[target] || "–",
    }),
    gradientStop(run, data, ua, p1, T),
  ];
}

function copyTask(entry, run, data, units) {
  const x = entry.example.inputs;
  const width = x[0].length; // the symbols' channels, then blank, then go
  const go = x.findIndex((row) => row[width - 1] === 1) + 1;
  const symbolSteps = x.flatMap((row, i) => (row.slice(0, width - 2).some((v) => v === 1) ? [i + 1] : []));
  const L = symbolSteps.length;
  const [ua, ub = ua] = units;
  const ca = column(data.c, ua);
  const cb = column(data.c, ub);
  const wait = [L + 1, go];
  const waiting = cb.slice(L, go);
  const recall = scoredSteps(entry.example);
  const targets = recall.map((t) => entry.example.loss.targets[t - 1]);
  const answers = recall.map((t) => {
    const g = run.guess(t - 1);
    return g ? g.k : "–";
  });
  const m = entry.metrics || {};
  const common = { L, delay: go - L, go, ua: ua + 1, ub: ub + 1, w1: wait[0], w2: wait[1] };
  return [
    stop("diagram", "forward", 1, "copy.diagram", { ...common, symbols: symbolSteps.map((t) => x[t - 1].indexOf(1)).join(" ") }),
    stop("cell", "forward", go - 1, "copy.cell", {
      ...common,
      slope: fmt((ca[go - 1] - ca[L - 1]) / (go - L)),
      a0: fmt(ca[L - 1]),
      a1: fmt(ca[go - 1]),
      bMin: fmt(Math.min(...waiting)),
      bMax: fmt(Math.max(...waiting)),
      readout: pct(m.readout_accuracy_worst_waiting_step),
    }),
    stop("heatmaps", "forward", recall[0] || go, "copy.heatmaps", { ...common, answers: answers.join(" "), targets: targets.join(" "), r1: recall[0], r2: recall[recall.length - 1] }),
    gradientStop(run, data, ua, 1, recall[0] || run.steps),
  ];
}

function dyck(entry, run, data, u, steps) {
  const text = entry.example.text;
  const T = run.steps;
  const depth = [];
  [...text].slice(0, T).forEach((ch, i) => depth.push((i ? depth[i - 1] : 0) + (ch === "(" ? 1 : ch === ")" ? -1 : 0)));
  const s = column(data.c, u);
  const d = changes(s);
  const opens = d.filter((_, i) => text[i] === "(");
  const closes = d.filter((_, i) => text[i] === ")");
  const [deep] = steps;
  const m = entry.metrics || {};
  return [
    stop("diagram", "forward", deep, "dyck.diagram", { u: u + 1, t: deep, depth: depth[deep - 1], c: fmt(s[deep - 1]) }),
    stop("cell", "forward", deep, "dyck.cell", { u: u + 1, open: fmt(mean(opens)), close: fmt(mean(closes)) }),
    stop("heatmaps", "forward", T, "dyck.heatmaps", { u: u + 1, T, r: fmtR(corr(s, depth)), rAll: fmtR(m.depth_unit_r) }),
    gradientStop(run, data, u, deep, T),
  ];
}

function reber(entry, run, data, u) {
  const text = entry.example.text;
  const T = run.steps;
  const choice = text[1];
  const innerEnd = text.length - 2; // ... inner E, then the choice again, then E
  const s = column(data.c, u);
  const m = entry.metrics || {};
  const y = run.headY(innerEnd - 1) || []; // what the model predicts after reading the inner E
  const vocab = run.vocab || [];
  const other = choice === "T" ? "P" : "T";
  const common = { u: u + 1, choice, other, innerEnd };
  return [
    stop("diagram", "forward", 2, "reber.diagram", common),
    stop("cell", "forward", innerEnd, "reber.cell", { ...common, c: fmt(s[innerEnd - 1]), acc: pct(m.choice_unit_accuracy_at_inner_end) }),
    stop("heatmaps", "forward", innerEnd, "reber.heatmaps", {
      ...common,
      yChoice: fmt(y[vocab.indexOf(choice)]),
      yOther: fmt(y[vocab.indexOf(other)]),
      acc: pct(m.strings_all_predictions_valid),
    }),
    gradientStop(run, data, u, 2, innerEnd),
  ];
}

function code(entry, run, data, watch) {
  const T = run.steps;
  const features = entry.example_features || {};
  const unitFor = (tracks) => (watch.find((w) => w.tracks === tracks) || watch[0]).unit;
  const text = entry.example.text;
  const where = (name, test) => (features[name] || []).slice(0, T).flatMap((v, i) => (test(v, i) ? [i] : []));
  // The measures compare the indentation unit on spaces only: leading ones against the rest.
  const lead = where("in_indentation", (v) => v === 1);
  const inner = where("in_indentation", (v, i) => v === 0 && text[i] === " ");
  const inString = where("in_string", (v) => v === 1);
  const outString = where("in_string", (v) => v === 0);
  const columns = (features.column || []).slice(0, T);
  if (!lead.length || !inner.length || !inString.length || columns.length !== T) return [];
  const uIndent = unitFor("in_indentation");
  const uString = unitFor("in_string");
  const uColumn = unitFor("column");
  const at = (u, idx) => mean(idx.map((i) => data.c[i][u]));
  const firstLead = lead[0] + 1;
  const firstString = inString[0] + 1;
  const m = entry.metrics || {};
  return [
    stop("diagram", "forward", firstLead, "code.diagram", {
      u: uIndent + 1,
      t: firstLead,
      c: fmt(data.c[firstLead - 1][uIndent]),
      lead: fmt(at(uIndent, lead)),
      inner: fmt(at(uIndent, inner)),
      acc: pct(m.in_indentation_unit_accuracy),
    }),
    stop("cell", "forward", firstString, "code.cell", { u: uString + 1, t: firstString, inside: fmt(at(uString, inString)), outside: fmt(at(uString, outString)) }),
    stop("heatmaps", "forward", T, "code.heatmaps", { u: uColumn + 1, r: fmtR(corr(column(data.c, uColumn), columns)), rAll: fmtR(m.column_unit_r) }),
    gradientStop(run, data, uIndent, firstLead, T),
  ];
}

/**
 * The stops of an entry's guided path on its run: [{view, mode, step, key, params}], the
 * sentence being `tour.${key}` filled with params; [] when the run's config is not the
 * entry's example (another sequence typed in) or the run has no forward layer to read.
 */
export function tourStops(entry, run, config) {
  if (!entry || !run || !config || !entry.example) return [];
  const example = entry.example;
  const sameSequence =
    typeof example.text === "string"
      ? config.source === "text" && config.text === example.text
      : config.source === "numbers" && JSON.stringify(config.inputs) === JSON.stringify(example.inputs);
  if (!sameSequence || config.modelId !== entry.model_id) return [];
  const { layer, units } = watchSelection(entry);
  const data = run.data(layer - 1, "forward");
  if (!data || !data.grad || !units.length) return [];
  const u0 = units.map((u) => u - 1);
  const steps = keySteps(entry);
  switch (entry.task) {
    case "adding":
      return steps.length >= 2 ? adding(entry, run, data, u0[0], steps) : [];
    case "temporal_order":
      return steps.length >= 2 ? temporalOrder(entry, run, data, u0, steps) : [];
    case "copy":
      return copyTask(entry, run, data, u0);
    case "dyck":
      return steps.length ? dyck(entry, run, data, u0[0], steps) : [];
    case "reber":
      return example.text.length >= 5 ? reber(entry, run, data, u0[0]) : [];
    case "code":
      return code(entry, run, data, entry.watch.filter((w) => Number.isInteger(w.unit)));
    default:
      return [];
  }
}
