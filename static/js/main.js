// The page's entry point (DOM glue): loads the presets, reads the URL, runs the request
// and wires controls, player and diagram together.
//
// body[data-state]: "loading" while a request runs, "ready" once its result is drawn,
// "error" after a failed request (the previous view stays).
// For the panels of issue 4, document receives:
//   "viz:run"   detail {run, config}           after each successful Run
//   "viz:frame" detail {run, mode, step}       after each drawn frame (step 1-based)

import { describeFailure, fetchJSON } from "./api.js";
import { buildRequest, configFromPreset } from "./config.js";
import { createControls } from "./controls.js";
import { createDiagram } from "./diagram.js";
import { sig4 } from "./format.js";
import { t } from "./i18n.js";
import { applyLabels } from "./labels.js";
import { renderLegend } from "./legend.js";
import { createPlayer } from "./player.js";
import { makeRun } from "./run.js";
import { decodeState, encodeState } from "./urlstate.js";
import { walkStart } from "./walk.js";

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
};

function setState(state) {
  document.body.dataset.state = state;
}

function writeUrl() {
  clearTimeout(page.urlTimer);
  page.urlTimer = null;
  if (!page.config) return;
  const query = encodeState(page.config, page.presets);
  if (query !== location.search) history.replaceState(null, "", `${location.pathname}${query}`);
}

// Stepping moves often; the address bar follows a moment later (browsers throttle history calls).
function writeUrlSoon() {
  clearTimeout(page.urlTimer);
  page.urlTimer = setTimeout(writeUrl, URL_DELAY_MS);
}

function renderSummary(run) {
  const summary = $("summary");
  const loss = document.createElement("b");
  loss.textContent = t("summary.loss", { loss: sig4(run.loss) });
  const rest = ` · ${t(`summary.lossKind.${run.lossKind}`)} · ${t("summary.shape", {
    cell: t(`cell.${run.cell}`),
    layers: run.numLayers,
    hidden: run.hidden,
    T: run.steps,
  })}`;
  summary.replaceChildren(loss, document.createTextNode(rest));
}

async function main() {
  applyLabels(document);
  const [presets, limits] = await Promise.all([
    fetchJSON(window.fetch.bind(window), "/api/presets"),
    fetchJSON(window.fetch.bind(window), "/api/limits"),
  ]);
  const player = createPlayer({ onChange: (change) => showFrame(change) });
  if (!presets.ok || !presets.data || !presets.data.presets.length) {
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
      runFromControls();
    },
  });
  const diagram = createDiagram({
    element: $("diagram"),
    underlay: $("diagram-static"),
    overview: $("overview"),
    overviewWrap: $("overview-wrap"),
    overviewCaptionEl: $("overview-caption"),
    onJump: (step) => player.jump(step),
  });

  async function showFrame({ step, mode }) {
    if (!page.run) return;
    await diagram.show({ mode, step });
    if (page.config.mode !== mode) renderLegend($("legend"), { mode, cell: page.run.cell, lossKind: page.run.lossKind });
    page.config = { ...page.config, mode, step };
    writeUrlSoon();
    document.dispatchEvent(new CustomEvent("viz:frame", { detail: { run: page.run, mode, step } }));
  }

  async function run(config) {
    const id = ++page.requestId;
    player.stop();
    setState("loading");
    controls.setBusy(true);
    controls.clearError();
    const result = await fetchJSON(window.fetch.bind(window), "/api/backward", buildRequest(config));
    if (id !== page.requestId) return; // a newer Run superseded this one
    controls.setBusy(false);
    if (!result.ok) {
      const [first] = describeFailure(result, config.source);
      controls.showError(first.control, first.message);
      setState("error");
      return;
    }
    const runData = makeRun(result.data, config);
    const step = Math.max(1, Math.min(runData.steps, config.step ?? walkStart(config.mode, runData.steps)));
    page.run = runData;
    page.config = { ...config, step };
    player.load(runData.steps, config.mode, step);
    await diagram.setRun(runData, { mode: config.mode, step });
    renderLegend($("legend"), { mode: config.mode, cell: runData.cell, lossKind: runData.lossKind });
    renderSummary(runData);
    writeUrl();
    if (!page.firstDrawn) {
      page.firstDrawn = true;
      performance.mark("lstmvis:first-diagram");
    }
    setState("ready");
    document.dispatchEvent(new CustomEvent("viz:run", { detail: { run: runData, config: page.config } }));
  }

  function runFromControls() {
    // A new configuration starts its walk from the beginning, in the mode on screen.
    const mode = player.state.mode;
    const read = controls.read({ mode, step: null });
    if (read.error) {
      controls.showError(read.error.control, read.error.message);
      setState("error");
      return;
    }
    run(read.config);
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => diagram.resize(), 120);
  });

  const initial = decodeState(location.search, page.presets, page.defaultName);
  controls.write(initial);
  await run(initial);
}

main();
