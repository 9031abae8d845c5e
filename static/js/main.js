// The page's entry point (DOM glue): loads the presets, reads the URL, runs the request
// and wires controls, player and diagram together.
//
// body[data-state]: "loading" while a request runs, "ready" once its result is drawn,
// "error" after a failed request (the previous view stays).
// For the panels below, document receives:
//   "viz:run"   detail {run, config}           after each successful Run
//   "viz:frame" detail {run, mode, step}       after each drawn frame (step 1-based)
//   "viz:lang"  detail {lang}                  after the language changed (labels applied)
// and the page listens for:
//   "viz:use-model" detail {id, text?, inputs?, loss?, layer?, units?, step?, mode?}
//                   run a saved model (keeping the sequence unless given; a request body's
//                   loss, the cell view's selection (1-based) and the step to show, if given)
//   "viz:random"    detail {}                       the default preset's random network
//   "viz:jump"      detail {step, mode?}            go to a step (1-based), in a pass if given
// With no view in the link (nothing but lang), the page opens on a trained model of the
// gallery (panels/gallery.js), the adding problem's when there is one.

import { describeFailure } from "./core/api.js";
import { api } from "./core/server.js";
import { setCells } from "./core/cells.js";
import { buildRequest, configForModel, configFromPreset, MODEL_ID } from "./core/config.js";
import { createControls } from "./controls/controls.js";
import { createDetail } from "./cell/detail.js";
import { createExplainView } from "./explain/explainview.js";
import { createDiagram } from "./diagram/diagram.js";
import { sig4 } from "./core/format.js";
import { language, t } from "./core/i18n.js";
import { applyLanguage, createLangToggle, downloadJSON } from "./core/lang.js";
import { renderLegend } from "./diagram/legend.js";
import { createPlayer } from "./diagram/player.js";
import { exportPayload, makeRun } from "./core/run.js";
import { decodeState, encodeState, langFromSearch } from "./core/urlstate.js";
import { walkStart } from "./core/walk.js";
import { yieldToPage } from "./core/tasks.js";
import { createGallery } from "./panels/gallery.js";
import { defaultEntry, lossConfig, openRequest, opensGallery } from "./panels/gallerydata.js";

const $ = (id) => document.getElementById(id);
const URL_DELAY_MS = 400;

const page = {
  presets: [],
  defaultName: null,
  config: null, // the config of the run on screen
  run: null,
  requestId: 0,
  urlTimer: null,
  firstDrawn: false,
  modelName: null, // the saved model's name, once known
  modelTitle: null, // a gallery model's title in each language (GET /api/models/{id})
};

function setState(state) {
  document.body.dataset.state = state;
}

// History: a meaningful change (a Run of another configuration, a model opened, the pass
// switched) pushes an entry, so the browser's Back returns to the view before it; stepping,
// the selection inside the cell and the language only replace the current entry.
function writeUrl({ push = false } = {}) {
  clearTimeout(page.urlTimer);
  page.urlTimer = null;
  if (!page.config) return;
  const query = encodeState({ ...page.config, lang: language() }, page.presets, page.defaultName);
  if (query === location.search) return;
  if (push) history.pushState(null, "", `${location.pathname}${query}`);
  else history.replaceState(null, "", `${location.pathname}${query}`);
}

/** Do two configs ask the server for the same run? (Mode, step and selection aside.) */
const sameRequest = (a, b) => JSON.stringify(buildRequest(a)) === JSON.stringify(buildRequest(b));

// Stepping moves often; the address bar follows a moment later (browsers throttle history calls).
function writeUrlSoon() {
  clearTimeout(page.urlTimer);
  page.urlTimer = setTimeout(writeUrl, URL_DELAY_MS);
}

function renderSummary(run) {
  const summary = $("summary");
  const loss = document.createElement("b");
  loss.textContent = t("summary.loss", { loss: sig4(run.loss) });
  const parts = [
    t(`summary.lossKind.${run.lossKind}`),
    t("summary.shape", { cell: t(`cell.${run.cell}`), layers: run.numLayers, hidden: run.hidden, T: run.steps }),
  ];
  // The architecture beyond the cell, when it is not the plain one.
  if (run.bidirectional) parts.push(t("summary.bidirectional", { merge: t(`merge.${run.mergeMode}`) }));
  if (run.projSize) parts.push(t("summary.proj", { p: run.projSize }));
  if (!run.bias) parts.push(t("summary.noBias"));
  if (run.embedding) parts.push(t("summary.embedding", { d: run.inputSize }));
  summary.replaceChildren(loss, document.createTextNode(` · ${parts.join(" · ")}`));
}

/** The legend's inputs for a run in a mode. */
const legendOf = (run, mode) => ({
  mode,
  cell: run.cell,
  lossKind: run.lossKind,
  bidirectional: run.bidirectional,
  stacked: run.numLayers > 1,
  projSize: run.projSize,
  topK: run.showTopK,
});

async function main() {
  applyLanguage(langFromSearch(location.search));
  // The gallery is asked at once, but only waited for when the page opens on it.
  const galleryAnswer = api("/api/gallery");
  const [presets, limits] = await Promise.all([
    api("/api/presets"),
    api("/api/limits"),
  ]);
  const player = createPlayer({ onChange: (change) => showFrame(change) });
  if (limits.ok) setCells(limits.data.cells);
  if (!presets.ok || !presets.data || !presets.data.presets.length || !limits.ok) {
    const error = $("error");
    error.textContent = t("error.noPresets");
    error.hidden = false;
    setState("error");
    return;
  }
  page.presets = presets.data.presets;
  page.defaultName = presets.data.default;

  const controls = createControls({
    presets: page.presets,
    limits: limits.ok ? limits.data : null,
    onRun: () => runFromControls(),
    onPreset: (name) => {
      const preset = page.presets.find((p) => p.name === name);
      if (!preset) return;
      controls.write(configFromPreset(preset));
      runFromControls({ seeded: true });
    },
    onSeeded: () => runFromControls({ seeded: true }),
    summary: $("summary"),
  });
  const diagram = createDiagram({
    element: $("diagram"),
    underlay: $("diagram-static"),
    overview: $("overview"),
    overviewWrap: $("overview-wrap"),
    overviewCaptionEl: $("overview-caption"),
    onJump: (step) => player.jump(step),
    onSelectCell: (step, layer, dir) => {
      detail.selectLayer(layer, dir);
      player.jump(step);
    },
    onOpenCell: () => detail.focusCell(),
  });
  const detail = createDetail({
    createExplain: createExplainView,
    setMode: (mode) => player.setMode(mode),
    setFocus: (focus) => diagram.setFocus(focus),
    // The selection inside the cell is part of the view, so of the URL (1-based there).
    onSelect: ({ layer, dir, units }) => {
      if (!page.config) return;
      page.config = { ...page.config, layer: layer + 1, direction: dir, units: units.map((u) => u + 1) };
      writeUrlSoon();
    },
  });
  detail.start();

  createLangToggle({ button: $("lang-toggle"), onChange: (lang) => switchLanguage(lang) });
  $("export-json").addEventListener("click", () => {
    if (!page.run) return;
    const payload = exportPayload(page.run, {
      request: buildRequest(page.config),
      config: page.config,
      view: { layer: detail.layer + 1, direction: detail.direction, units: detail.units.map((u) => u + 1), lang: language() },
    });
    const bi = page.run.bidirectional ? "-bi" : "";
    downloadJSON(`lstmvis-${page.run.cell}${bi}-T${page.run.steps}-${page.config.mode}-t${page.config.step}.json`, payload);
  });

  async function switchLanguage(lang) {
    applyLanguage(lang);
    controls.relabel();
    player.refresh();
    if (page.run) {
      renderLegend($("legend"), legendOf(page.run, page.config.mode));
      renderSummary(page.run);
    }
    writeUrl();
    document.dispatchEvent(new CustomEvent("viz:lang", { detail: { lang: language() } }));
    await Promise.all([diagram.refresh(), detail.relabel()]);
    document.body.dataset.lang = language();
  }

  // Another panel asks to run a saved model (its id, optionally a sequence of its own).
  // The asker is usually far below (a panel's button): once the model is drawn, bring the
  // diagram into view and move the focus there, so something visible answers the click.
  // The gallery's cards sit right above the diagram with the model's own explanation, which
  // scrolling would hide: a model opened from the gallery stays where it is.
  document.addEventListener("viz:use-model", async (event) => {
    const ask = (event && event.detail) || {};
    const shown = await useModel(ask);
    if (!shown || ask.gallery) return;
    const panel = $("diagram-panel");
    panel.scrollIntoView({ block: "start" });
    panel.focus({ preventScroll: true });
  });

  /** Open a saved model; true once it is drawn. */
  async function useModel(ask) {
    if (typeof ask.id !== "string" || !MODEL_ID.test(ask.id)) return false;
    const info = await api(`/api/models/${ask.id}`);
    const model = info.ok ? info.data : null;
    page.modelName = model ? model.name : null;
    page.modelTitle = model ? model.title : null;
    const base = page.config || decodeState("", page.presets, page.defaultName);
    const mode = ask.mode === "forward" || ask.mode === "backward" ? ask.mode : player.state.mode;
    const config = { ...configForModel({ ...base, mode }, ask, model, page.presets), ...lossConfig(ask.loss) };
    // The view the asker names: the cell view's layer and units (1-based), the step to show.
    if (Number.isInteger(ask.layer)) config.layer = ask.layer;
    if (Array.isArray(ask.units) && ask.units.length) {
      config.units = ask.units;
      config.direction = "forward";
    }
    if (Number.isInteger(ask.step)) config.step = ask.step;
    controls.write(config);
    controls.setSavedModel({ id: ask.id, name: page.modelName, title: page.modelTitle });
    return run(config);
  }

  // The gallery's "random network": the default preset's seeded, untrained network.
  document.addEventListener("viz:random", () => {
    const preset = page.presets.find((p) => p.name === page.defaultName) || page.presets[0];
    page.modelName = null;
    page.modelTitle = null;
    controls.setSavedModel(null);
    controls.write(configFromPreset(preset));
    runFromControls({ seeded: true });
  });
  document.addEventListener("viz:jump", (event) => {
    const { step, mode } = (event && event.detail) || {};
    if (!page.run || !Number.isInteger(step)) return;
    const at = Math.max(1, Math.min(page.run.steps, step));
    if (mode === "forward" || mode === "backward") player.show(mode, at);
    else player.jump(at);
  });

  async function showFrame({ step, mode }) {
    if (!page.run) return;
    await diagram.show({ mode, step });
    const t0 = performance.now();
    const charts = detail.show({ mode, step });
    performance.measure("lstmvis:detail-step", { start: t0 }); // the cell view's share (benchmarks/page_timing.py)
    const switched = page.config.mode !== mode;
    if (switched) renderLegend($("legend"), legendOf(page.run, mode));
    page.config = { ...page.config, mode, step };
    if (switched) writeUrl({ push: true });
    else writeUrlSoon();
    document.dispatchEvent(new CustomEvent("viz:frame", { detail: { run: page.run, mode, step } }));
    await charts;
  }

  /**
   * Run a config; `push`: a new history entry for it (not for the first view, nor for Back).
   * True once it is drawn (undefined when it failed or a newer Run superseded it).
   */
  async function run(config, { push = true } = {}) {
    const id = ++page.requestId;
    const pushing = push && Boolean(page.run);
    player.stop();
    setState("loading");
    controls.setBusy(true);
    controls.clearError();
    const result = await api("/api/backward", { json: buildRequest(config) });
    if (id !== page.requestId) return; // a newer Run superseded this one
    controls.setBusy(false);
    if (!result.ok) {
      const [first] = describeFailure(result, config.source);
      controls.showError(first.control, first.message);
      setState("error");
      return;
    }
    const runData = makeRun(result.data, config, result.prepared);
    if (config.modelId) {
      // The saved model's own cell, sizes and architecture, as the API answered them.
      controls.showShape({
        cell: runData.cell,
        hidden: runData.hidden,
        layers: runData.numLayers,
        bidirectional: runData.bidirectional,
        mergeMode: runData.mergeMode,
        projSize: runData.projSize,
        bias: runData.bias,
      });
      controls.setSavedModel({ id: config.modelId, name: page.modelName, title: page.modelTitle });
      if (!page.modelName) nameModel(config.modelId);
    } else {
      controls.setSavedModel(null);
    }
    const step = Math.max(1, Math.min(runData.steps, config.step ?? walkStart(config.mode, runData.steps)));
    page.run = runData;
    page.config = { ...config, step };
    player.load(runData.steps, config.mode, step, { bidirectional: runData.bidirectional });
    // The direction the cell view shows (from the link, else the one shown before); the diagram follows it.
    const dir = runData.bidirectional && (config.direction || detail.direction) === "reverse" ? "reverse" : "forward";
    await diagram.setRun(runData, { mode: config.mode, step, dir });
    renderLegend($("legend"), legendOf(runData, config.mode));
    renderSummary(runData);
    controls.setApplied(config); // the form is compared with this run from now on
    writeUrl({ push: pushing });
    if (!page.firstDrawn) {
      page.firstDrawn = true;
      performance.mark("lstmvis:first-diagram");
    }
    await yieldToPage(); // the diagram's last drawing and the cell view's building in tasks of their own
    if (id !== page.requestId) return false;
    await detail.setRun(runData, {
      mode: config.mode,
      step,
      layer: Number.isInteger(config.layer) ? config.layer - 1 : null,
      dir,
      units: Array.isArray(config.units) ? config.units.map((u) => u - 1) : null,
    });
    if (id !== page.requestId) return false;
    page.config = { ...page.config, layer: detail.layer + 1, direction: detail.direction, units: detail.units.map((u) => u + 1) };
    writeUrl();
    setState("ready");
    document.dispatchEvent(new CustomEvent("viz:run", { detail: { run: runData, config: page.config } }));
    return true;
  }

  // Back / Forward: the view that entry's link describes (the language stays as chosen).
  window.addEventListener("popstate", () => restore());

  async function restore() {
    if (!page.presets.length) return;
    const wanted = decodeState(location.search, page.presets, page.defaultName);
    if (page.run && page.config && sameRequest(wanted, page.config)) {
      // The same run: show that entry's pass and step (and its cell) without asking the server.
      const mode = wanted.mode;
      const step = Math.max(1, Math.min(page.run.steps, wanted.step ?? walkStart(mode, page.run.steps)));
      if (mode !== page.config.mode) renderLegend($("legend"), legendOf(page.run, mode));
      page.config = { ...page.config, mode }; // (not a new switch: no new entry)
      if (Number.isInteger(wanted.layer) || wanted.direction !== detail.direction) {
        detail.selectLayer(Number.isInteger(wanted.layer) ? wanted.layer - 1 : detail.layer, wanted.direction);
      }
      player.show(mode, step);
      return;
    }
    page.modelName = null;
    page.modelTitle = null;
    controls.setSavedModel(wanted.modelId ? { id: wanted.modelId, name: null } : null);
    controls.write(wanted);
    await run({ ...wanted, lang: language() }, { push: false });
  }

  /** The saved model's name for the note in the controls (its id until this answers). */
  async function nameModel(id) {
    const info = await api(`/api/models/${id}`);
    if (info.ok && info.data && page.config && page.config.modelId === id) {
      page.modelName = info.data.name;
      page.modelTitle = info.data.title;
      controls.setSavedModel({ id, name: page.modelName, title: page.modelTitle });
    }
  }

  function runFromControls({ seeded = false } = {}) {
    // A new configuration starts its walk from the beginning, in the mode on screen.
    const mode = player.state.mode;
    const modelId = seeded || !page.config ? null : page.config.modelId || null;
    if (seeded) {
      page.modelName = null;
      page.modelTitle = null;
      controls.setSavedModel(null);
    }
    const read = controls.read({ mode, step: null, modelId });
    if (read.error) {
      controls.showError(read.error.control, read.error.message);
      setState("error");
      return;
    }
    run(read.config);
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    // (the detail views refit themselves)
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => diagram.resize(), 120);
  });

  const gallery = createGallery($("gallery"));
  const galleryModels = galleryAnswer.then((a) => (a.ok && Array.isArray(a.data) ? a.data : null));
  galleryModels.then((models) => gallery.setModels(models));
  // No view in the link: a trained model of the gallery (else the random network below).
  const opening = opensGallery(location.search) ? defaultEntry(await galleryModels) : null;
  if (opening) return useModel(openRequest(opening));
  const initial = decodeState(location.search, page.presets, page.defaultName);
  controls.write(initial);
  await run(initial);
}

main();
