// The gate strips' bricks (strips.js) painted on a canvas lying between the diagram's static
// graph and its frame (DOM glue).  As Plotly heatmaps they were drawn into a picture the size
// of the whole diagram, one per gate, encoded and decoded on every step: most of a step's
// drawing on a diagram of several layers.  Here each brick is one fillRect at the place the
// frame's own axes give it, so they line up with Plotly's boxes and rails; hovering a brick
// shows what strips.js says of it, in a tip framed in the quantity's hue.

import { colorTable, TABLE_SIZE } from "../core/colors.js";

/** Plotly's hover text (text, <b>…</b>, <br>, HTML entities) as DOM nodes, never as markup. */
export function hoverNodes(text) {
  const decode = (s) =>
    s.replace(/&(lt|gt|amp|quot|#39);/g, (_, name) => ({ lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'" })[name]);
  const nodes = [];
  String(text)
    .split("<br>")
    .forEach((line, k) => {
      if (k) nodes.push(document.createElement("br"));
      line.split(/(<b>.*?<\/b>)/).forEach((part) => {
        if (!part) return;
        const bold = /^<b>(.*)<\/b>$/.exec(part);
        if (bold) {
          const b = document.createElement("b");
          b.textContent = decode(bold[1]);
          nodes.push(b);
        } else nodes.push(document.createTextNode(decode(part)));
      });
    });
  return nodes;
}

/** The index k with edges[k] <= v < edges[k + 1] (edges rising), or -1. */
export function edgeIndex(edges, v) {
  let lo = 0;
  let hi = edges.length - 1;
  if (!(v >= edges[0] && v < edges[hi])) return -1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function createStripCanvas({ element, tooltip }) {
  const canvas = document.createElement("canvas");
  canvas.className = "diagram-strips";
  canvas.setAttribute("aria-hidden", "true"); // the diagram's table alternative says the same
  element.before(canvas);
  const tables = new Map(); // colour scale -> its table
  let shown = null; // {strips, xa, ya}: what is painted, for the hover

  const tableOf = (scale) => {
    if (!tables.has(scale)) tables.set(scale, colorTable(scale));
    return tables.get(scale);
  };

  /** Paint `strips` where the frame's axes (Plotly's, after it has drawn) put them. */
  function paint(strips) {
    const full = element._fullLayout;
    if (!full || !full.xaxis) return;
    const xa = full.xaxis;
    const ya = full.yaxis;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(full.width);
    const height = Math.round(full.height);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    // Edges to device pixels, rounded, so neighbouring bricks share an edge (no seams).
    const px = (x) => Math.round((xa._offset + xa.l2p(x)) * ratio);
    const py = (y) => Math.round((ya._offset + ya.l2p(y)) * ratio);
    const last = TABLE_SIZE - 1;
    for (const strip of strips) {
      const table = tableOf(strip.colorscale);
      const xs = strip.x.map(px);
      const ys = strip.y.map(py);
      const span = strip.zmax - strip.zmin;
      strip.z.forEach((row, zr) => {
        const top = Math.min(ys[zr], ys[zr + 1]);
        const h = Math.abs(ys[zr + 1] - ys[zr]);
        for (let col = 0; col < row.length; col += 1) {
          const v = row[col];
          if (v === null) continue;
          const c = Math.round(Math.min(1, Math.max(0, (v - strip.zmin) / span)) * last) * 3;
          ctx.fillStyle = `rgb(${table[c]},${table[c + 1]},${table[c + 2]})`;
          ctx.fillRect(xs[col], top, xs[col + 1] - xs[col], h);
        }
      });
    }
    shown = { strips, xa, ya };
    canvas.strips = strips; // what is painted, for the page's tests (as Plotly's gd.data is)
  }

  /** The brick under a pointer event: {strip, text} or null. */
  function brickAt(event) {
    if (!shown) return null;
    const box = element.getBoundingClientRect();
    const x = shown.xa.p2l(event.clientX - box.left - shown.xa._offset);
    const y = shown.ya.p2l(event.clientY - box.top - shown.ya._offset);
    for (const strip of shown.strips) {
      const zr = edgeIndex(strip.y, y);
      if (zr < 0) continue;
      const col = edgeIndex(strip.x, x);
      if (col < 0) continue;
      const text = strip.hover(zr, col);
      if (text) return { strip, text };
    }
    return null;
  }

  element.addEventListener("mousemove", (event) => {
    const at = brickAt(event);
    if (!at) {
      tooltip.hidden = true;
      return;
    }
    tooltip.replaceChildren(...hoverNodes(at.text));
    tooltip.style.borderColor = at.strip.border;
    tooltip.hidden = false;
    const stage = tooltip.offsetParent || element;
    const rect = stage.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const flip = x + 14 + tooltip.offsetWidth > stage.clientWidth;
    tooltip.style.left = `${flip ? x - 14 - tooltip.offsetWidth : x + 14}px`;
    tooltip.style.top = `${event.clientY - rect.top + 14}px`;
  });
  element.addEventListener("mouseleave", () => {
    tooltip.hidden = true;
  });

  return {
    paint,
    clear() {
      shown = null;
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    },
  };
}
