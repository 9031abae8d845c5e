// The guided explanation panel (DOM glue): one step at a time, its text in the current
// language with phrases in their identity colours; each step tells the page which nodes
// and diagram parts to emphasise and which pass it is told in.  Above the steps, which cell
// is shown: with two directions, which one (and a button to switch), with a projection,
// what becomes of h.  A step's text may quote this run's numbers ({T}, {u}, ...); a step with
// questions shows them (answered from the live run, checked here, progress kept in
// localStorage); the gradient-check step has a button that checks this run's model; the
// glossary below the steps lists core/glossary.js.
//
// The run comes from the page's "viz:run" event and the cell the questions are about from
// the equations panel (#equations' data-layer, -direction, -step and -unit: what it shows).

import { identityText } from "../core/colors.js";
import { describeFailure } from "../core/api.js";
import { buildRequest } from "../core/config.js";
import { sig } from "../core/format.js";
import { GLOSSARY } from "../core/glossary.js";
import { richText, STEPS, stepAt } from "./explain.js";
import { t } from "../core/i18n.js";
import { relabel } from "../core/labels.js";
import { api } from "../core/server.js";
import { check, liveParams, PROGRESS_KEY, questionState, QUESTIONS, readProgress } from "./questions.js";

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
  let run = null; // the run on the page (viz:run)
  let config = null; // its configuration (for the gradient check's request)
  const questionsBox = $("explain-questions");
  const gradcheckBox = $("explain-gradcheck");
  const progressLine = $("question-progress");
  const glossaryBody = $("glossary-body");
  const ALL_QUESTIONS = STEPS.flatMap((step) => step.questions || []);
  let solved = loadProgress();

  function loadProgress() {
    try {
      return readProgress(window.localStorage.getItem(PROGRESS_KEY));
    } catch {
      return {};
    }
  }

  function saveProgress() {
    try {
      window.localStorage.setItem(PROGRESS_KEY, JSON.stringify(solved));
    } catch {
      // Storage may be off (private mode): progress then lasts as long as the page.
    }
  }

  /** Where the equations are: the cell the questions and the step texts are about. */
  function where() {
    const eq = document.getElementById("equations");
    const d = (eq && eq.dataset) || {};
    return {
      layer: Number(d.layer) || 1,
      dir: d.direction || "forward",
      step: Number(d.step) || 1,
      unit: Number(d.unit) || 1,
    };
  }

  const params = () => liveParams(run, where(), (v) => sig(v, 3));

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
      ...richText(t(`explain.${step.id}.body`, params())).map((runs) => {
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
    renderQuestions(step);
    renderGradcheck(step);
    renderProgress();
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

  /** The step's questions: prompt, answer field, Check button, verdict. */
  function renderQuestions(step) {
    const ids = step.questions || [];
    questionsBox.hidden = ids.length === 0;
    const p = params();
    const state = questionState(run, where());
    const existing = new Map([...questionsBox.querySelectorAll("[data-testid=question]")].map((el) => [el.dataset.question, el]));
    const keep = ids.every((id) => existing.has(id)) && existing.size === ids.length;
    if (!keep) {
      questionsBox.replaceChildren(...ids.map((id) => buildQuestion(id)));
    }
    for (const el of questionsBox.querySelectorAll("[data-testid=question]")) {
      const id = el.dataset.question;
      el.querySelector(".question-prompt").textContent = t(`question.${id}`, p);
      el.querySelector("label").textContent = t("question.label");
      const input = el.querySelector("input");
      input.placeholder = t("question.placeholder");
      el.querySelector("button").textContent = t("question.check");
      const verdict = el.querySelector("[data-testid=question-result]");
      if (verdict.dataset.result) verdict.textContent = t(verdict.dataset.result === "correct" ? "question.correct" : "question.wrong");
      const why = el.querySelector(".question-why");
      why.hidden = Boolean(state);
      why.textContent = state ? "" : t(run ? "question.lstmOnly" : "question.waiting");
      el.dataset.solved = String(Boolean(solved[id]));
    }
  }

  let questionSerial = 0;
  function buildQuestion(id) {
    const box = document.createElement("div");
    box.className = "question";
    box.dataset.testid = "question";
    box.setAttribute("data-testid", "question");
    box.dataset.question = id;
    const prompt = document.createElement("p");
    prompt.className = "question-prompt";
    const inputId = `question-input-${id}-${++questionSerial}`;
    const label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = inputId;
    const input = document.createElement("input");
    input.type = "text";
    input.inputMode = "decimal";
    input.id = inputId;
    input.autocomplete = "off";
    input.setAttribute("data-testid", "question-answer");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.setAttribute("data-testid", "question-check");
    const verdict = document.createElement("span");
    verdict.className = "question-result";
    verdict.setAttribute("data-testid", "question-result");
    verdict.setAttribute("role", "status");
    const why = document.createElement("p");
    why.className = "hint question-why";
    const row = document.createElement("div");
    row.className = "question-row";
    row.append(label, input, button, verdict);
    box.append(prompt, row, why);
    const submit = () => {
      const ok = check(id, questionState(run, where()), input.value);
      verdict.dataset.result = ok ? "correct" : "wrong";
      verdict.textContent = t(ok ? "question.correct" : "question.wrong");
      if (ok && !solved[id]) {
        solved = { ...solved, [id]: true };
        saveProgress();
      }
      box.dataset.solved = String(Boolean(solved[id]));
      renderProgress();
    };
    button.addEventListener("click", submit);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") submit();
    });
    input.addEventListener("input", () => {
      delete verdict.dataset.result;
      verdict.textContent = "";
    });
    return box;
  }

  function renderProgress() {
    const done = ALL_QUESTIONS.filter((id) => solved[id] && id in QUESTIONS).length;
    progressLine.textContent = t("question.progress", { k: done, n: ALL_QUESTIONS.length });
    progressLine.dataset.answered = String(done);
  }

  /** The gradient-check step's button and its last result. */
  let gradcheckResult = null; // {ok, data} | {message}
  function renderGradcheck(step) {
    gradcheckBox.hidden = !step.gradcheck;
    if (!step.gradcheck) return;
    let button = gradcheckBox.querySelector("button");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.setAttribute("data-testid", "gradcheck-run");
      button.addEventListener("click", runGradcheck);
      const out = document.createElement("div");
      out.className = "gradcheck-result";
      out.setAttribute("data-testid", "gradcheck-result");
      out.setAttribute("aria-live", "polite");
      gradcheckBox.append(button, out);
    }
    button.disabled = !config || gradcheckBox.dataset.state === "loading";
    button.textContent = t(gradcheckBox.dataset.state === "loading" ? "gradcheck.running" : "gradcheck.run");
    const out = gradcheckBox.querySelector(".gradcheck-result");
    if (!gradcheckResult) {
      out.replaceChildren();
    } else if (gradcheckResult.message) {
      out.textContent = gradcheckResult.message;
    } else {
      const d = gradcheckResult.data;
      const head = document.createElement("p");
      head.textContent = t(d.passed ? "gradcheck.passed" : "gradcheck.failed", { err: sig(d.max_rel_error, 2), tol: sig(d.tolerance, 2) });
      const list = document.createElement("ul");
      for (const c of d.checks) {
        const li = document.createElement("li");
        li.textContent = t("gradcheck.row", { name: c.name, err: sig(c.max_rel_error, 2) });
        list.append(li);
      }
      out.replaceChildren(head, list);
      out.dataset.passed = String(d.passed);
    }
  }

  async function runGradcheck() {
    if (!config) return;
    gradcheckBox.dataset.state = "loading";
    renderGradcheck(stepAt(index));
    try {
      const result = await api("/api/gradcheck", { json: buildRequest(config) });
      gradcheckResult = result.ok ? { data: result.data } : { message: describeFailure(result, "numbers")[0].message };
    } catch (err) {
      gradcheckResult = { message: t("error.general", { msg: String(err) }) };
    }
    gradcheckBox.dataset.state = "ready";
    renderGradcheck(stepAt(index));
  }

  function renderGlossary() {
    glossaryBody.replaceChildren(
      ...GLOSSARY.map((entry) => {
        const tr = document.createElement("tr");
        tr.dataset.term = entry.id;
        for (const text of [entry.en, entry.ko, entry.book || "—"]) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
  }
  renderGlossary();

  document.addEventListener("viz:run", (event) => {
    run = event.detail.run;
    config = event.detail.config;
    gradcheckResult = null;
    render();
  });
  // The player and the unit choice move the cell the questions are about: follow them.
  const equations = document.getElementById("equations");
  if (equations) {
    new MutationObserver(() => {
      const step = stepAt(index);
      if (step.questions || /\{[uTtk]\}/.test(t(`explain.${step.id}.body`))) render();
    }).observe(equations, { attributes: true, attributeFilter: ["data-step", "data-unit", "data-layer", "data-direction", "data-mode"] });
  }
  document.addEventListener("viz:lang", () => render());

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
