// The equations panel (DOM glue): the rows of equations.js as HTML, built with textContent
// only; symbols in their identity colours, numbers (the trace's own) to 4 significant
// digits with the full value in data-value.

import { identityText } from "../core/colors.js";
import { equationRows, mathSegments } from "./equations.js";
import { sig4 } from "../core/format.js";
import { t } from "../core/i18n.js";

function mathSpan(text, name) {
  const span = document.createElement("span");
  span.className = "eq-m";
  if (name) {
    span.style.color = identityText(name);
    span.dataset.name = name;
  }
  for (const seg of mathSegments(text)) {
    if (seg.sub || seg.sup) {
      const el = document.createElement(seg.sub ? "sub" : "sup");
      el.textContent = seg.text;
      span.append(el);
    } else {
      span.append(document.createTextNode(seg.text));
    }
  }
  return span;
}

function tokens(list) {
  return list.flatMap((tok) => {
    if (tok.k === "m") return mathSpan(tok.text, tok.name);
    if (tok.k === "n") {
      const span = document.createElement("span");
      span.className = "eq-n";
      span.textContent = sig4(tok.value);
      span.dataset.value = String(tok.value);
      if (tok.q) span.dataset.q = tok.q;
      // A negative operand in parentheses, outside the number's own span (which stays a number).
      return tok.paren ? [document.createTextNode("("), span, document.createTextNode(")")] : [span];
    }
    return document.createTextNode(tok.text);
  });
}

/** The equations at layer k, direction dir, position `step` (1-based) for one unit. */
export function renderEquations(element, whereEl, run, { k, dir = "forward", step, unit, mode }) {
  const rows = equationRows(run, { k, dir, t: step - 1, u: unit, mode });
  element.replaceChildren(
    ...rows.map((row) => {
      const div = document.createElement("div");
      div.className = "eq-row";
      div.dataset.row = row.id;
      const sym = document.createElement("div");
      sym.className = "eq-sym";
      sym.append(...tokens(row.sym));
      const num = document.createElement("div");
      num.className = "eq-num";
      num.append(...tokens(row.num));
      div.append(sym, num);
      return div;
    }),
  );
  Object.assign(element.dataset, { mode, step: String(step), unit: String(unit + 1), layer: String(k + 1), direction: dir });
  whereEl.textContent = t(run.bidirectional ? "eq.whereDir" : "eq.where", {
    mode: t(mode === "backward" ? "player.backward" : "player.forward"),
    u: unit + 1,
    t: step,
    k: k + 1,
    dir: t(`dir.${dir}`),
  });
}
