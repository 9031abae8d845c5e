// Train live: start, follow the event stream, cancel, see the loss fall and the gates change,
// then open the trained model in every view (DOM glue; state folding is in trainstate.js).

import { describeFailure } from "../core/api.js";
import { api } from "../core/server.js";
import { cellTypes, heatmapNames, isSigmoid } from "../core/cells.js";
import { valueScale } from "../core/colors.js";
import { sig } from "../core/format.js";
import { chartConfig } from "../core/plotconfig.js";
import { t } from "../core/i18n.js";
import "./strings.js"; // the panels' strings, registered with i18n
import { el, field, numberInput, select, wide } from "./dom.js";
import { chartBox } from "./chartbox.js";
import { tableNumber } from "./flowdata.js";
import { checkpointHeatmaps, fraction, heatmapGrid, initialState, lossRows, reduce, stepRange, stoppedEarly } from "./trainstate.js";

const CHART_DELAY_MS = 120;
const PLAY_MS = 600;


/**
 * `limits` is GET /api/limits `limits`: the form's bounds are the server's (the server
 * still judges every value; the bounds only guide the number inputs).
 */
export function createTraining(parent, { readOnly, limits = {} }) {
  const task = select(["text", "sine", "adding", "copy"].map((k) => [k, `train.task.${k}`]), { "data-testid": "train-task" });
  const text = el("input", { type: "text", value: "hello world", maxlength: limits.max_train_text, "data-testid": "train-text" });
  const seqLen = numberInput({ value: 20, min: 2, max: limits.max_train_seq_len, step: 1 });
  const cell = select(cellTypes().map((c) => [c, `text:${c.toUpperCase()}`]));
  const hidden = numberInput({ value: 32, min: 1, max: limits.max_train_hidden, step: 1 });
  const optimizer = select([["adam", "train.optimizer.adam"], ["sgd", "train.optimizer.sgd"]]);
  const lr = numberInput({ value: 0.02, min: 0, step: "any" });
  const steps = numberInput({ value: 300, min: 1, max: limits.max_train_steps, step: 1, "data-testid": "train-steps" });
  const batch = numberInput({ value: 16, min: 1, max: limits.max_train_batch, step: 1 });
  const clip = numberInput({ value: 1, min: 0, step: "any" });
  const timeLimit = numberInput({ value: 30, min: 1, max: limits.max_train_seconds, step: 1 });
  const seed = numberInput({ value: 0, min: 0, max: limits.max_seed, step: 1 });
  const name = el("input", { type: "text", maxlength: 100, autocomplete: "off", "data-testid": "train-name" });
  const start = el("button", { type: "submit", className: "primary", i18n: "train.start", "data-testid": "train-start" });
  const cancel = el("button", { type: "button", i18n: "train.cancel", "data-testid": "train-cancel", disabled: true });
  const textField = field("train.text", text);
  const seqLenField = field("train.seqLen", seqLen);
  // Four columns (two on a phone), every row full: two wide fields and the name's make 16.
  const form = el("form", { className: "panel-controls form-grid", novalidate: true }, [
    wide(field("train.task", task)), // its options are long ("Next character of a text")
    textField,
    seqLenField,
    field("train.cell", cell),
    field("train.hidden", hidden),
    wide(field("train.optimizer", optimizer)), // "SGD with momentum"
    field("train.lr", lr),
    field("train.steps", steps),
    field("train.batch", batch),
    field("train.clip", clip, "train.clip.hint"),
    field("train.timeLimit", timeLimit),
    field("train.seed", seed),
    wide(field("train.name", name, "train.name.hint")),
    el("div", { className: "panel-field panel-actions form-row" }, [start, cancel]),
  ]);
  const progress = el("progress", { max: 1, value: 0, "data-testid": "train-progress", "data-i18n-label": "train.progress" });
  const status = el("p", { className: "panel-summary", role: "status", "aria-live": "polite" });
  const error = el("p", { className: "panel-error", role: "alert", hidden: true });
  const lossBox = chartBox({ className: "panel-plot small", "data-testid": "loss-chart" });
  const chart = lossBox.plot;
  // No empty chart area before there is a loss to draw: a sentence instead, then the chart.
  const lossPlaceholder = el("p", { className: "hint chart-placeholder", i18n: "train.chart.placeholder", "data-testid": "loss-placeholder" });
  lossBox.root.hidden = true;
  const outcome = el("p", { className: "panel-summary" });
  const sample = el("p", { className: "panel-summary sample" });
  const openModel = el("button", { type: "button", className: "primary", i18n: "train.open", "data-testid": "train-open" });
  const openRow = el("div", { className: "panel-actions", hidden: true }, [openModel]);
  const slider = el("input", { type: "range", min: 0, max: 0, step: 1, value: 0, "data-testid": "checkpoint-slider" });
  const play = el("button", { type: "button", i18n: "train.checkpoint.play" });
  const checkpointLabel = el("span", { className: "hint checkpoint-label" });
  const follow = el("input", { type: "checkbox", "data-testid": "checkpoint-follow" });
  const followLabel = el("label", { className: "check" }, [follow, el("span", { i18n: "train.checkpoint.follow" })]);
  const heatBox = chartBox({ className: "panel-plot", "data-testid": "checkpoint-heatmaps" });
  const heatmaps = heatBox.plot;
  const checkpoints = el("div", { className: "checkpoints", hidden: true }, [
    el("h3", { i18n: "train.checkpoints" }),
    el("div", { className: "panel-controls checkpoint-controls" }, [
      field("train.checkpoint", slider),
      el("div", { className: "panel-field panel-actions" }, [play]),
      el("div", { className: "panel-field" }, [followLabel]),
      el("div", { className: "panel-field" }, [checkpointLabel]),
    ]),
    heatBox.root,
  ]);
  const section = el("section", { id: "train", className: "panel", "data-testid": "train", dataset: { state: "idle" } }, [
    el("h2", { i18n: "train.heading" }),
    el("p", { className: "panel-intro", i18n: "train.intro" }),
    readOnly ? el("p", { className: "hint", i18n: "train.readOnly" }) : form,
    error,
    progress,
    status,
    lossPlaceholder,
    lossBox.root,
    outcome,
    sample,
    openRow,
    checkpoints,
  ]);
  parent.append(section);
  if (readOnly) {
    progress.hidden = true;
    lossPlaceholder.hidden = true;
  }

  const view = { run: null, state: null, source: null, chartTimer: null, playTimer: null, cellType: "lstm", vocab: null, text: null, task: null };

  function body() {
    const out = {
      task: task.value,
      seq_len: Number(seqLen.value),
      cell: cell.value,
      hidden_size: Number(hidden.value),
      optimizer: optimizer.value,
      lr: Number(lr.value),
      steps: Number(steps.value),
      batch_size: Number(batch.value),
      clip: clip.value === "" ? null : Number(clip.value),
      time_limit_s: Number(timeLimit.value),
      seed: Number(seed.value),
    };
    if (task.value === "text") out.text = text.value;
    if (name.value.trim()) out.name = name.value.trim();
    return out;
  }

  function drawStatus() {
    const s = view.state;
    progress.value = fraction(s);
    let line = s.step ? t("train.status", { step: s.step, steps: s.steps, loss: sig(s.loss), rate: Math.round(s.stepsPerS), elapsed: s.elapsedS.toFixed(1) }) : t("train.waiting");
    if (s.clipped && !s.done) line = t("train.status.clipped", { status: line, norm: sig(s.gradNorm, 3), clip: clip.value });
    const stopped = stoppedEarly(s);
    // A run that stopped early keeps its bar where it stopped and says why.
    if (stopped) line = t("train.status.stopped", { step: s.step, steps: s.steps, reason: t(`train.reason.${stopped}`) });
    status.textContent = line;
    progress.dataset.step = String(s.step);
    if (stopped) {
      progress.dataset.reason = stopped;
      progress.setAttribute("aria-valuetext", line);
    } else {
      delete progress.dataset.reason;
      progress.removeAttribute("aria-valuetext");
    }
  }

  function drawChart() {
    view.chartTimer = null;
    const s = view.state;
    if (!s) return;
    const layout = {
      margin: { l: 60, r: 15, t: 10, b: 45 },
      height: 240,
      // The axis follows the run (a short or stopped run fills it); its title says the plan.
      xaxis: { title: { text: t("train.axis.stepOf", { steps: s.steps }) }, range: stepRange(s) },
      yaxis: { title: { text: t("train.axis.loss") }, type: "log", exponentformat: "power" },
      showlegend: false,
    };
    const trace = { type: "scatter", mode: "lines", x: s.curve.step, y: s.curve.loss.map((v) => (v > 0 ? v : null)), line: { color: "#0072B2", width: 2 }, name: t("train.lossChart"), hovertemplate: `${t("train.axis.step")} %{x}: %{y:.4g}<extra></extra>` };
    const n = s.curve.step.length;
    chart.dataset.points = String(n);
    // Shown before it is drawn, so Plotly sizes it to the panel.
    lossBox.root.hidden = !n || readOnly;
    lossPlaceholder.hidden = Boolean(n) || readOnly;
    if (!n) return lossBox.clear(t("train.chart.empty"));
    window.Plotly.react(chart, [trace], layout, chartConfig());
    lossBox.update({
      label: t("train.chart.label", { points: n, from: s.curve.step[0], first: sig(s.curve.loss[0]), to: s.curve.step[n - 1], last: sig(s.curve.loss[n - 1]) }),
      tables: () => [{ head: [t("train.data.step"), t("train.data.loss")], rows: lossRows(s).map(([step, loss]) => [step, tableNumber(loss)]) }],
      filename: "training-loss",
    });
  }

  function chartSoon() {
    if (view.chartTimer === null) view.chartTimer = setTimeout(drawChart, CHART_DELAY_MS);
  }

  function drawCheckpoint() {
    const s = view.state;
    if (!s || !s.checkpoints.length) return;
    const k = Math.min(Number(slider.value), s.checkpoints.length - 1);
    const checkpoint = s.checkpoints[k];
    checkpointLabel.textContent = t("train.checkpoint.label", { step: checkpoint.step, loss: sig(checkpoint.probe_loss) });
    const cellType = view.cellType;
    const maps = checkpointHeatmaps(checkpoint, heatmapNames(cellType));
    const n = maps.length;
    // As many heatmaps per row as fit the panel; on a phone the colour bars go underneath.
    const grid = heatmapGrid(n, heatmaps.clientWidth || heatBox.figure.clientWidth || 900);
    const scales = ["sigmoid", "tanh"];
    // The page's one colour rule (core/colors.js), forward: gates 0..1, the rest -1..1.
    const rules = maps.map((m) => valueScale(isSigmoid(cellType, m.name), "forward"));
    const traces = maps.map((m, j) => ({
      type: "heatmap",
      z: m.z,
      xaxis: j ? `x${j + 1}` : "x",
      yaxis: j ? `y${j + 1}` : "y",
      zmin: rules[j].zmin,
      zmax: rules[j].zmax,
      colorscale: rules[j].colorscale,
      // One colour bar per scale, each beside the first heatmap that uses it.
      showscale: rules.findIndex((other) => other.name === rules[j].name) === j,
      colorbar: grid.narrow
        ? {
            orientation: "h",
            len: 0.44,
            thickness: 10,
            x: 0.25 + 0.5 * scales.indexOf(rules[j].name),
            xanchor: "center",
            y: -70 / (grid.height - grid.margin.t - grid.margin.b),
            yanchor: "top",
            title: { text: t(`train.colorbar.${rules[j].name}`), side: "top" },
          }
        : {
            len: 0.8,
            thickness: 10,
            x: 1.02 + 0.1 * scales.indexOf(rules[j].name),
            title: { text: t(`train.colorbar.${rules[j].name}`), side: "right" },
          },
      hovertemplate: t("train.heatmap.hover", { name: m.name, unit: "%{y}", t: "%{x}", value: "%{z:.4g}" }) + "<extra></extra>",
      x: m.stepLabels,
      y: m.unitLabels,
    }));
    const layout = { height: grid.height, margin: grid.margin, annotations: [] };
    maps.forEach((m, j) => {
      const cell = grid.cells[j];
      layout[j ? `xaxis${j + 1}` : "xaxis"] = { domain: cell.x, anchor: j ? `y${j + 1}` : "y", title: { text: cell.last ? t("train.heatmap.step") : "" } };
      layout[j ? `yaxis${j + 1}` : "yaxis"] = {
        domain: cell.y,
        anchor: j ? `x${j + 1}` : "x",
        title: { text: cell.col ? "" : t("train.heatmap.unit") },
        autorange: "reversed",
      };
      layout.annotations.push({ text: `<b>${m.name}</b>`, x: (cell.x[0] + cell.x[1]) / 2, y: cell.y[1], yshift: 4, yanchor: "bottom", xref: "paper", yref: "paper", showarrow: false });
    });
    window.Plotly.react(heatmaps, traces, layout, chartConfig());
    heatBox.update({
      label: t("train.heatmaps.label", { step: checkpoint.step, names: maps.map((m) => m.name).join(", "), units: maps[0]?.units ?? 0, steps: maps[0]?.steps ?? 0 }),
      tables: () =>
        maps.map((m) => ({
          caption: m.name,
          head: [t("train.data.unit"), ...m.stepLabels.map((k) => `t = ${k}`)],
          rows: m.z.map((row, u) => [m.unitLabels[u], ...row.map(tableNumber)]),
        })),
      filename: `gates-step-${checkpoint.step}`,
    });
    view.heatLayout = `${grid.cols}/${grid.narrow}`;
    heatmaps.dataset.checkpoint = String(k);
    heatmaps.dataset.step = String(checkpoint.step);
    if (follow.checked && checkpoint.model_id && view.shown !== checkpoint.model_id) {
      // The diagram, cell view and heatmaps above show the model as it was at this step.
      view.shown = checkpoint.model_id;
      showModel(checkpoint.model_id);
    }
  }

  async function showModel(id) {
    const detail = { id };
    if (view.text) detail.text = view.text;
    else {
      // A sequence of the task the model learnt, from the task's preset (same channels).
      view.presetInputs ??= await api(`/api/presets/${view.task}`);
      if (view.presetInputs.ok) detail.inputs = view.presetInputs.data.request.inputs;
    }
    document.dispatchEvent(new CustomEvent("viz:use-model", { detail }));
  }

  function drawOutcome() {
    const done = view.state.done;
    if (!done) return;
    const loss = done.final_loss === null || done.final_loss === undefined ? "–" : sig(done.final_loss);
    const elapsed = (done.elapsed_s ?? view.state.elapsedS).toFixed(1);
    const parts = [t(`train.done.${done.reason}`, { steps: done.step, elapsed, loss, error: done.error ?? "" })];
    if (done.accuracy !== null && done.accuracy !== undefined) parts.push(t("train.accuracy", { accuracy: `${Math.round(done.accuracy * 100)} %` }));
    outcome.textContent = parts.join(" ");
    // A sample is what the saved model writes: a run that saved nothing shows none.
    sample.textContent = done.sample && done.model_id ? t("train.sample", { sample: done.sample }) : "";
    openRow.hidden = !done.model_id;
  }

  function onEvent(event, data) {
    view.state = reduce(view.state, { event, data });
    if (event === "progress") {
      drawStatus();
      chartSoon();
    } else if (event === "checkpoint") {
      const last = view.state.checkpoints.length - 1;
      const following = Number(slider.value) >= Number(slider.max);
      slider.max = String(last);
      checkpoints.hidden = false;
      if (following) {
        slider.value = String(last);
        drawCheckpoint();
      }
    } else if (event === "done") {
      view.source?.close();
      drawStatus();
      drawChart();
      drawOutcome();
      start.disabled = false;
      cancel.disabled = true;
      section.dataset.state = "done";
      section.dataset.reason = data.reason;
      // A saved run is in the saved models' list at once.
      if (data.model_id) document.dispatchEvent(new CustomEvent("viz:models-changed"));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    view.source?.close();
    error.hidden = true;
    const request = body();
    const result = await api("/api/train", { json: request });
    if (!result.ok) {
      const [first] = describeFailure(result, "numbers");
      error.textContent = first.message;
      error.hidden = false;
      section.dataset.state = "error";
      return;
    }
    view.run = result.data;
    view.cellType = request.cell;
    view.text = request.task === "text" ? request.text : null;
    view.task = request.task;
    view.presetInputs = null;
    view.shown = null;
    view.vocab = result.data.vocab;
    view.state = initialState(request.steps);
    outcome.textContent = "";
    sample.textContent = "";
    openRow.hidden = true;
    slider.max = "0";
    slider.value = "0";
    checkpoints.hidden = true;
    start.disabled = true;
    cancel.disabled = false;
    section.dataset.state = "running";
    drawStatus();
    drawChart();
    const source = new EventSource(result.data.events);
    view.source = source;
    for (const kind of ["progress", "checkpoint", "done"]) {
      source.addEventListener(kind, (message) => {
        if (view.source === source) onEvent(kind, JSON.parse(message.data));
      });
    }
    source.onerror = () => {
      // The stream ends after "done"; EventSource would reconnect and replay: stop it.
      if (view.state?.done) source.close();
    };
  });

  cancel.addEventListener("click", () => {
    if (view.run) api(`/api/train/${view.run.id}`, { method: "DELETE" });
  });

  slider.addEventListener("input", drawCheckpoint);
  // A narrower or wider panel may fit a different number of heatmaps per row.
  new ResizeObserver(() => {
    const s = view.state;
    if (!s?.checkpoints.length || !view.heatLayout) return;
    const n = heatmapNames(view.cellType).length;
    const grid = heatmapGrid(n, heatmaps.clientWidth);
    if (`${grid.cols}/${grid.narrow}` !== view.heatLayout) drawCheckpoint();
  }).observe(heatBox.figure);
  play.addEventListener("click", () => {
    clearInterval(view.playTimer);
    slider.value = "0";
    drawCheckpoint();
    view.playTimer = setInterval(() => {
      if (Number(slider.value) >= Number(slider.max)) return clearInterval(view.playTimer);
      slider.value = String(Number(slider.value) + 1);
      drawCheckpoint();
    }, PLAY_MS);
  });

  openModel.addEventListener("click", async () => {
    const done = view.state?.done;
    if (!done?.model_id) return;
    await showModel(done.model_id);
    document.dispatchEvent(new CustomEvent("viz:models-changed"));
  });
  follow.addEventListener("change", () => {
    view.shown = null;
    drawCheckpoint();
  });

  function syncFields() {
    textField.hidden = task.value !== "text";
    // Without the text field the sequence length takes its column too, so the row stays full.
    seqLenField.classList.toggle("wide", textField.hidden);
  }
  task.addEventListener("change", syncFields);
  syncFields();

  return {
    redraw() {
      if (!view.state) return;
      drawStatus();
      drawChart();
      drawCheckpoint();
      drawOutcome();
    },
  };
}
