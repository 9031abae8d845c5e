// The cell view (DOM glue): the computational graph of cellgraph.js drawn as SVG, each
// node's vector as a strip of coloured bricks on a fixed scale, a tooltip with the numbers,
// the selected units outlined and the explanation's nodes emphasised.
//
// The SVG is built once per (run, layer, direction); a step only rewrites brick colours (and
// only the ones that changed), so stepping stays cheap.  Text goes in with textContent only.
// A reverse direction reads the same graph with its previous step t+1 (cellgraph.directed).

import { colorAt, IDENTITY, identity, identityText, SCALES, scaleUnit, valueScale } from "../core/colors.js";
import {
  cellValues,
  columnValue,
  directed,
  nodeCaption,
  nodeColumns,
  nodeLabel,
  prevPosition,
  quarters,
  runGraph,
} from "./cellgraph.js";
import { addCellExport } from "./cellexport.js";
import { createCellScroll } from "./cellscroll.js";
import { mathSegments } from "./equations.js";
import { sig4 } from "../core/format.js";
import { t } from "../core/i18n.js";

const NS = "http://www.w3.org/2000/svg";
const STRIP_H = 13;
const QUARTER_GAP = 4;
const OP_WIDTH = { "σ": 18, "×": 18, "+": 18, tanh: 34, "W·+b": 40, "W·": 24, "W_{hr}·": 40 };

function svg(tag, attrs = {}, parent = null) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  if (parent) parent.append(el);
  return el;
}

/** Fill a <text> with a math string: subscripts and superscripts as tspans. */
/** A math string as HTML nodes (for the tooltip): text, <sub>, <sup>. */
function mathNodes(text) {
  return mathSegments(text).map((seg) => {
    if (!seg.sub && !seg.sup) return document.createTextNode(seg.text);
    const el = document.createElement(seg.sub ? "sub" : "sup");
    el.textContent = seg.text;
    return el;
  });
}

function setMath(textEl, text) {
  textEl.replaceChildren();
  let shifted = false;
  for (const seg of mathSegments(text)) {
    const span = svg("tspan", {}, textEl);
    span.textContent = seg.text;
    if (seg.sub || seg.sup) {
      span.setAttribute("font-size", "0.72em");
      span.setAttribute("dy", seg.sub ? "0.32em" : "-0.5em");
      shifted = seg.sub ? "sub" : "sup";
    } else if (shifted) {
      span.setAttribute("dy", shifted === "sub" ? "-0.32em" : "0.5em");
      shifted = false;
    }
  }
}

// Each scale sampled at 256 levels once, so a step's few hundred bricks cost a lookup each.
const LEVELS = 255;
const LUT = Object.fromEntries(
  ["sigmoid", "tanh", "grad"].map((name) => [name, Array.from({ length: LEVELS + 1 }, (_, j) => colorAt(SCALES[name], j / LEVELS))]),
);
const level = (u) => Math.round(Math.min(1, Math.max(0, Number.isFinite(u) ? u : 0)) * LEVELS);

function brickColor(scale, mode, v) {
  const rule = valueScale(scale === "sigmoid", mode);
  const u = scaleUnit(rule, v);
  return u === null ? "#ffffff" : LUT[rule.name][level(u)];
}

export function createCellDetail({ element, tooltip, onSelectUnit }) {
  addCellExport(element); // PNG and SVG downloads, as the charts have
  // Scaled to the box while its text stays legible, then scrolled sideways, with fades and a hint.
  const scroller = createCellScroll(element);
  /** Does a node's strip run over the cell's hidden units (so a selected unit is outlined there)? */
  const unitStrip = (n) => n.size !== "D" && !(n.size === "P" && run.projSize > 0);

  let run = null;
  let k = 0;
  let dir = "forward";
  let graph = null;
  let root = null;
  let nodes = new Map(); // id -> {spec, box, label, caption, bricks, colors, cols, colX, colW, sels, group}
  let edges = [];
  let mode = "forward";
  let step = 0; // 0-based
  let values = null;
  let units = [0];
  let emphasis = null;
  let builtFor = null;
  let revealed = null; // the emphasis the box last scrolled to

  function stripGeometry(n, cols) {
    const x0 = n.x - n.w / 2 + 7;
    const width = n.w - 14;
    if (n.size === "4H") {
      const per = cols.length / 4;
      const qw = (width - 3 * QUARTER_GAP) / 4;
      const cw = qw / per;
      const colX = cols.map((_, j) => x0 + Math.floor(j / per) * (qw + QUARTER_GAP) + (j % per) * cw);
      return { colX, colW: cw, qw, x0 };
    }
    const cw = width / cols.length;
    return { colX: cols.map((_, j) => x0 + j * cw), colW: cw, x0 };
  }

  function buildNode(layerG, n) {
    const g = svg("g", { class: `node kind-${n.kind}`, "data-node": n.id }, layerG);
    const entry = { spec: n, group: g, bricks: [], colors: [], sels: [] };
    if (n.kind === "slice") {
      g.setAttribute("data-testid", "slice-node");
      entry.box = svg("rect", { class: "box", x: n.x - n.w / 2, y: n.y - n.h / 2, width: n.w, height: n.h, rx: 8 }, g);
      entry.caption = svg("text", { class: "slice-name", x: n.x - n.w / 2 - 8, y: n.y - 2, "text-anchor": "end" }, g);
      entry.role = svg("text", { class: "caption", x: n.x - n.w / 2 - 8, y: n.y + 15, "text-anchor": "end" }, g);
      entry.title = svg("title", {}, g);
      nodes.set(n.id, entry);
      return;
    }
    const colour = n.name ? identity(n.name) : "#7a7a7a";
    entry.box = svg(
      "rect",
      { class: "box", x: n.x - n.w / 2, y: n.y - n.h / 2, width: n.w, height: n.h, rx: n.kind === "port" ? 4 : 6, stroke: colour },
      g,
    );
    let labelX = n.x - n.w / 2 + 7;
    const top = n.y - n.h / 2;
    if (n.op) {
      const ow = OP_WIDTH[n.op] || 20;
      svg("rect", { class: "op", x: labelX - 1, y: top + 5, width: ow, height: 15, rx: 7.5, stroke: colour }, g);
      const opText = svg("text", { class: "op-text", x: labelX - 1 + ow / 2, y: top + 16.5, "text-anchor": "middle" }, g);
      setMath(opText, n.op);
      labelX += ow + 5;
    }
    entry.label = svg("text", { class: "label", x: labelX, y: top + 17, fill: n.name ? identityText(n.name) : "#333333" }, g);
    if (n.kind === "io" || n.caption) {
      entry.caption = svg("text", { class: "caption", x: n.x, y: n.y + n.h / 2 + 14, "text-anchor": "middle" }, g);
    }
    if (n.size !== "none") {
      const cols = nodeColumns(n, run, k, dir);
      const geo = stripGeometry(n, cols);
      Object.assign(entry, { cols, ...geo });
      const y = n.y + n.h / 2 - STRIP_H - 6;
      entry.stripY = y;
      const strip = svg("g", { class: "strip" }, g);
      cols.forEach((_, j) => {
        const r = svg("rect", { class: "u", x: geo.colX[j], y, width: geo.colW + 0.3, height: STRIP_H, fill: "#ffffff", "data-col": j }, strip);
        entry.bricks.push(r);
        entry.colors.push("#ffffff");
      });
      if (n.size === "4H") {
        // Name every quarter of A (the API's packing order), in its gate's colour.
        const per = cols.length / 4;
        quarters(run).forEach((q, qi) => {
          const qx = geo.colX[qi * per];
          svg("rect", { class: "quarter", x: qx - 0.5, y: y - 0.5, width: geo.qw + 1, height: STRIP_H + 1, stroke: identity(q.gate) }, g);
          const letter = svg("text", { class: "quarter-name", x: qx + geo.qw / 2, y: y - 3, "text-anchor": "middle", fill: identityText(q.gate) }, g);
          letter.textContent = q.gate;
        });
      } else {
        svg("rect", { class: "strip-frame", x: geo.x0 - 0.5, y: y - 0.5, width: n.w - 13, height: STRIP_H + 1 }, g);
      }
      entry.selLayer = svg("g", { class: "sels" }, g);
    }
    nodes.set(n.id, entry);
  }

  function build() {
    graph = runGraph(run);
    nodes = new Map();
    edges = [];
    root = svg("svg", {
      viewBox: `0 0 ${graph.width} ${graph.height}`,
      class: "cell-svg",
      role: "img",
      "data-cell": run.cell,
      "data-projected": String(run.projSize > 0),
    });
    const defs = svg("defs", {}, root);
    // One arrowhead per identity colour (GRU and RNN blocks share the LSTM's hues), and a grey one.
    for (const name of [...Object.keys(IDENTITY), "r", "z", "n", "m", "none"]) {
      const marker = svg(
        "marker",
        { id: `arrow-${name}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" },
        defs,
      );
      svg("path", { d: "M0,1 L10,5 L0,9 z", fill: name === "none" ? "#7a7a7a" : identity(name) }, marker);
    }
    const edgeG = svg("g", { class: "edges" }, root);
    for (const e of graph.edges) {
      const line = svg(
        "polyline",
        {
          class: "edge",
          points: e.points.map((p) => p.join(",")).join(" "),
          stroke: e.name ? identity(e.name) : "#7a7a7a",
          "data-from": e.from,
          "data-to": e.to,
        },
        edgeG,
      );
      if (e.dot) svg("circle", { class: "fork", cx: e.points[0][0], cy: e.points[0][1], r: 3.5, fill: e.name ? identity(e.name) : "#7a7a7a" }, edgeG);
      if (e.note) {
        const note = svg("text", { class: "edge-note", x: e.note.x, y: e.note.y, "text-anchor": "middle", fill: identityText(e.name) }, edgeG);
        setMath(note, e.note.text);
      }
      edges.push({ spec: e, line, marker: `url(#arrow-${e.name || "none"})` });
    }
    const nodeG = svg("g", { class: "nodes" }, root);
    // The slice container first, so its ports draw on top of it.
    for (const n of graph.nodes.filter((q) => q.kind === "slice")) buildNode(nodeG, n);
    for (const n of graph.nodes.filter((q) => q.kind !== "slice")) buildNode(nodeG, n);
    if (graph.formula) {
      const f = svg("text", { class: "formula", x: graph.formula.x, y: graph.formula.y }, root);
      const sub = svg("text", { class: "caption formula-note", x: graph.formula.x, y: graph.formula.y + 17 }, root);
      nodes.set("#formula", { spec: { id: "#formula" }, label: f, caption: sub, bricks: [] });
    }
    element.replaceChildren(root);
    builtFor = { run, k, dir };
    labels();
    placeSelection();
    scroller.fit(root);
    revealed = null;
    applyEmphasis();
  }

  function labels() {
    const top = k === run.numLayers - 1;
    const order = run.gateOrder.join(", ");
    for (const [id, entry] of nodes) {
      const n = entry.spec;
      if (id === "#formula") {
        setMath(entry.label, directed(mode === "backward" ? graph.formula.backward : graph.formula.forward, dir));
        const affine = graph.nodes.find((q) => q.id === "affine");
        const key = nodeCaption(affine, mode, { dir });
        entry.caption.textContent = key ? t(key) : "";
        continue;
      }
      if (n.kind === "slice") {
        entry.caption.textContent = t(nodeCaption(n, mode));
        entry.role.textContent = t(mode === "backward" ? "cell.sliceJoin" : "cell.sliceSplit");
        entry.title.textContent = t(mode === "backward" ? "cell.sliceHoverBack" : "cell.sliceHover", { order });
        continue;
      }
      setMath(entry.label, nodeLabel(n, mode, dir));
      if (entry.caption) {
        let key = nodeCaption(n, mode, { top, dir });
        if (key && n.id === "x" && k > 0) key = `${key}Below`;
        else if (key === "cell.xIn" && run.embedding) key = "cell.xInEmbedding"; // the token's row of the embedding
        if (n.id === "affine" && graph.formula) key = null; // said by the formula beside it
        entry.caption.textContent = key ? t(key) : "";
      }
    }
    root.classList.toggle("backward", mode === "backward");
    // Backward, every arrow points the other way: the gradient flows against the forward edges.
    for (const e of edges) {
      e.line.setAttribute(mode === "backward" ? "marker-start" : "marker-end", e.marker);
      e.line.removeAttribute(mode === "backward" ? "marker-end" : "marker-start");
    }
    const params = {
      cell: run.cell.toUpperCase(),
      t: step + 1,
      k: k + 1,
      mode: t(mode === "backward" ? "player.backward" : "player.forward"),
      dir: t(`dir.${dir}`),
    };
    root.setAttribute("aria-label", t(run.bidirectional ? "cell.labelDir" : "cell.label", params));
  }

  function paint() {
    values = cellValues(run, k, step, mode, dir);
    for (const [id, entry] of nodes) {
      if (!entry.bricks.length) continue;
      const vec = values[id];
      if (!vec) continue;
      const scale = entry.spec.scale;
      for (let j = 0; j < entry.bricks.length; j += 1) {
        const c = brickColor(scale, mode, columnValue(vec, entry.cols[j]));
        if (c !== entry.colors[j]) {
          entry.colors[j] = c;
          entry.bricks[j].setAttribute("fill", c);
        }
      }
    }
    Object.assign(element.dataset, { step: String(step + 1), mode, layer: String(k + 1), direction: dir, cell: run.cell });
  }

  /** The strip columns of a node that hold unit u (one per quarter for A). */
  function columnsOf(entry, u) {
    const out = [];
    const H = run.hidden;
    const targets = entry.spec.size === "4H" ? [0, 1, 2, 3].map((q) => q * H + u) : [u];
    entry.cols.forEach(([a, b], j) => {
      if (targets.some((v) => v >= a && v < b)) out.push(j);
    });
    return out;
  }

  function placeSelection() {
    for (const entry of nodes.values()) {
      if (!entry.selLayer) continue;
      entry.selLayer.replaceChildren();
      if (!unitStrip(entry.spec)) continue; // the input's entries (and a projected h's) are not the cell's units
      for (const u of units) {
        for (const j of columnsOf(entry, u)) {
          svg("rect", { class: "sel", x: entry.colX[j] - 1, y: entry.stripY - 1.5, width: entry.colW + 2, height: STRIP_H + 3 }, entry.selLayer);
        }
      }
    }
    element.dataset.units = units.map((u) => u + 1).join(",");
  }

  function applyEmphasis() {
    if (!root) return;
    const on = Array.isArray(emphasis) && emphasis.length > 0;
    root.classList.toggle("emph-on", on);
    const set = new Set(on ? emphasis : []);
    for (const [id, entry] of nodes) {
      if (entry.group) entry.group.classList.toggle("emph", set.has(id));
    }
    for (const e of edges) {
      const hit = set.has(e.spec.from) && set.has(e.spec.to);
      e.line.classList.toggle("emph", hit);
    }
    element.dataset.emphasis = on ? [...set].filter((id) => nodes.has(id)).join(" ") : "";
    // A box that scrolls (a phone) brings the emphasised nodes into sight.
    // Only when the emphasis (or the drawing) changes: a box the reader scrolled stays put.
    const key = element.dataset.emphasis;
    if (on && key !== revealed) scroller.reveal([...set].map((id) => nodes.get(id)?.group).filter(Boolean));
    revealed = key;
  }

  // ---- hover and click ----
  function brickAt(target) {
    const brick = target.closest && target.closest("rect.u");
    if (!brick) return null;
    const g = brick.closest("g.node");
    const entry = nodes.get(g.dataset.node);
    return { entry, j: Number(brick.dataset.col), brick };
  }

  function unitOf(entry, j) {
    const [a] = entry.cols[j];
    return entry.spec.size === "4H" ? a % run.hidden : a;
  }

  function showTip(event) {
    const hit = brickAt(event.target);
    const sliceHit = !hit && event.target.closest && event.target.closest("[data-testid=slice-node]");
    if (!hit && !sliceHit) {
      tooltip.hidden = true;
      return;
    }
    const lines = [];
    if (sliceHit) {
      lines.push(t(mode === "backward" ? "cell.sliceHoverBack" : "cell.sliceHover", { order: run.gateOrder.join(", ") }));
      tooltip.dataset.node = "slice";
      delete tooltip.dataset.value;
    } else {
      const { entry, j } = hit;
      const n = entry.spec;
      const [a, b] = entry.cols[j];
      const vec = values[n.id];
      const v = columnValue(vec, [a, b]);
      let name = nodeLabel(n, mode, dir);
      let unitText;
      if (n.size === "4H") {
        const q = quarters(run).find((qq) => a >= qq.start && a < qq.end);
        name = `${mode === "backward" ? "dA" : "A"}_{${q.gate}}`;
        const u0 = a - q.start;
        unitText = b - a === 1 ? t("hover.unit", { u: u0 + 1 }) : t("hover.units", { u0: u0 + 1, u1: b - q.start });
      } else {
        unitText = b - a === 1 ? t("hover.unit", { u: a + 1 }) : t("hover.units", { u0: a + 1, u1: b });
      }
      // The name as math (real subscripts and superscripts, as in the graph and the equations).
      lines.push({ math: name });
      const where = run.bidirectional ? t("hover.whereDir", { t: step + 1, k: k + 1, dir: t(`dir.${dir}`) }) : t("hover.where", { t: step + 1, k: k + 1 });
      lines.push(`${where} · ${unitText}`);
      lines.push(b - a === 1 ? { math: name, after: ` = ${sig4(v)}` } : t("hover.mean", { value: sig4(v), min: sig4(Math.min(...vec.slice(a, b))), max: sig4(Math.max(...vec.slice(a, b))) }));
      const atStart = prevPosition(dir, step, run.steps) === null;
      if (atStart && mode === "forward" && (n.id === "c_prev" || n.id === "h_prev")) lines.push(t("cell.zero"));
      tooltip.dataset.node = n.id;
      tooltip.dataset.unit = String(unitOf(entry, j) + 1);
      tooltip.dataset.value = b - a === 1 ? String(v) : "";
      tooltip.style.borderColor = n.name ? identity(n.name) : "#888888";
    }
    tooltip.replaceChildren(
      ...lines.map((line, i) => {
        const div = document.createElement(i === 0 ? "strong" : "div");
        if (typeof line === "string") div.textContent = line;
        else div.append(...mathNodes(line.math), ...(line.after ? [document.createTextNode(line.after)] : []));
        return div;
      }),
    );
    tooltip.hidden = false;
    // The tip is placed in its positioned ancestor (the stage, which holds the export buttons
    // above the cell and does not scroll), within the visible part of the cell's box.
    const frame = (tooltip.offsetParent || element).getBoundingClientRect();
    const box = element.getBoundingClientRect();
    const x = event.clientX - frame.left;
    const y = event.clientY - frame.top;
    const w = tooltip.offsetWidth;
    const lo = box.left - frame.left;
    const hi = box.right - frame.left - w;
    tooltip.style.left = `${Math.max(lo, Math.min(hi, x + 14))}px`;
    tooltip.style.top = `${y + 16}px`;
  }

  element.addEventListener("pointermove", showTip);
  element.addEventListener("pointerleave", () => {
    tooltip.hidden = true;
  });
  element.addEventListener("click", (event) => {
    const hit = brickAt(event.target);
    if (!hit || !unitStrip(hit.entry.spec)) return;
    onSelectUnit(unitOf(hit.entry, hit.j), { add: event.shiftKey || event.ctrlKey || event.metaKey });
  });

  return {
    /** A run (or another layer of it): rebuild the graph, then draw (mode, step: the direction's position, 1-based). */
    setRun(nextRun, { layer, dir: d = "forward", mode: m, step: s }) {
      run = nextRun;
      k = layer;
      dir = d;
      mode = m;
      step = s - 1;
      units = units.filter((u) => u < run.hidden);
      if (!units.length) units = [0];
      build();
      paint();
    },
    /** Another step or mode of the same run and layer. */
    show({ mode: m, step: s }) {
      if (!run) return;
      const relabel = m !== mode;
      mode = m;
      step = s - 1;
      if (relabel) labels();
      paint();
    },
    /** Another layer or direction, at the direction's own position (1-based). */
    setLayer(layer, d = dir, s = step + 1) {
      if (!run) return;
      const same = layer === k && d === dir;
      k = layer;
      dir = d;
      step = s - 1;
      if (!same) build();
      else labels();
      paint();
    },
    setUnits(next) {
      units = next.slice();
      if (root) placeSelection();
    },
    setEmphasis(ids) {
      emphasis = ids;
      applyEmphasis();
    },
    relabel() {
      if (root) labels();
    },
    get state() {
      return { layer: k, step: step + 1, mode, built: builtFor };
    },
  };
}
