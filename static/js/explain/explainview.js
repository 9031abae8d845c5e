// The guided explanation panel (DOM glue): one step at a time, its text in the current
// language with phrases in their identity colours; each step tells the page which nodes
// and diagram parts to emphasise and which pass it is told in.  Above the steps, which cell
// is shown: with two directions, which one (and a button to switch), with a projection,
// what becomes of h.

import { identityText } from "../core/colors.js";
import { richText, STEPS, stepAt } from "./explain.js";
import { t } from "../core/i18n.js";
import { relabel } from "../core/labels.js";

const $ = (id) => document.getElementById(id);

export function createExplainView({ onStep, onDirection = () => {} }) {
  const panel = $("explain");
  const body = $("explain-body");
  const title = $("explain-title");
  const text = $("explain-text");
  const progress = $("explain-progress");
  const prev = $("explain-prev");
  const next = $("explain-next");
  const dots = $("explain-dots");
  const toggle = $("explain-toggle");
  const note = $("explain-note");
  const contextBox = $("explain-context");
  const contextText = $("explain-context-text");
  const switchButton = $("explain-switch");
  let index = 0;
  let open = true;
  let cell = "lstm";
  let context = null; // {bidirectional, dir, layer, t, projSize}

  dots.replaceChildren(
    ...STEPS.map((_, k) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "explain-dot";
      b.dataset.step = String(k);
      b.addEventListener("click", () => go(k));
      li.append(b);
      return li;
    }),
  );

  function render() {
    const step = stepAt(index);
    title.textContent = t(`explain.${step.id}.title`);
    text.replaceChildren(
      ...richText(t(`explain.${step.id}.body`)).map((runs) => {
        const p = document.createElement("p");
        for (const r of runs) {
          if (r.name || r.strong) {
            const span = document.createElement(r.strong ? "strong" : "span");
            span.textContent = r.text;
            if (r.name) {
              span.className = "ident";
              span.style.color = identityText(r.name);
              span.dataset.name = r.name;
            }
            p.append(span);
          } else {
            p.append(document.createTextNode(r.text));
          }
        }
        return p;
      }),
    );
    progress.textContent = t("explain.progress", { k: index + 1, n: STEPS.length });
    prev.disabled = index === 0;
    next.disabled = index === STEPS.length - 1;
    for (const b of dots.querySelectorAll("button")) {
      const k = Number(b.dataset.step);
      b.setAttribute("aria-current", k === index ? "step" : "false");
      b.setAttribute("aria-label", t("explain.goto", { k: k + 1 }));
    }
    note.hidden = cell === "lstm";
    renderContext();
    Object.assign(panel.dataset, { step: String(index + 1), stepId: step.id, open: String(open) });
  }

  /** Which direction is shown (and how to read the steps for it), and what a projection changes. */
  function renderContext() {
    const bi = Boolean(context && context.bidirectional);
    const proj = Boolean(context && context.projSize > 0 && cell === "lstm");
    contextBox.hidden = !(bi || proj);
    if (contextBox.hidden) return;
    const params = { k: context.layer + 1, t: context.t, p: context.projSize };
    const lines = [];
    if (bi) lines.push(t(`explain.context.${context.dir}`, params));
    if (proj) lines.push(t("explain.context.proj", params));
    contextText.replaceChildren(
      ...lines.map((line) => {
        const para = document.createElement("p");
        para.textContent = line;
        return para;
      }),
    );
    switchButton.hidden = !bi;
    if (bi) switchButton.textContent = t(context.dir === "reverse" ? "explain.showForward" : "explain.showReverse");
    contextBox.dataset.direction = bi ? context.dir : "";
  }

  switchButton.addEventListener("click", () => {
    if (context && context.bidirectional) onDirection(context.dir === "reverse" ? "forward" : "reverse");
  });

  function showView(step) {
    for (const el of document.querySelectorAll(".explain-view")) el.classList.remove("explain-view");
    const view = open && step && step.view ? document.getElementById(step.view) : null;
    if (!view) return;
    view.classList.add("explain-view");
    view.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function go(k) {
    index = Math.max(0, Math.min(STEPS.length - 1, k));
    render();
    onStep(open ? stepAt(index) : null);
    showView(stepAt(index));
  }

  prev.addEventListener("click", () => go(index - 1));
  next.addEventListener("click", () => go(index + 1));
  toggle.addEventListener("click", () => {
    open = !open;
    body.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    relabel(toggle, open ? "explain.hide" : "explain.show", "text");
    render();
    onStep(open ? stepAt(index) : null);
    showView(open ? stepAt(index) : null);
  });

  return {
    /** The current step (or null while the panel is closed). */
    get current() {
      return open ? stepAt(index) : null;
    },
    setCell(next) {
      cell = next;
      render();
    },
    /** What the cell view shows: {bidirectional, dir, layer (0-based), t (1-based), projSize}. */
    setContext(next) {
      const same = context && Object.entries(next).every(([key, value]) => context[key] === value);
      context = { ...next };
      if (!same) renderContext();
    },
    refresh: render,
    start() {
      render();
    },
  };
}
