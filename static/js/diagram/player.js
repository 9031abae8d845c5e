// The player bar (DOM glue): buttons, slider, speed, mode and the keyboard.  It owns the
// step (1-based) and the mode, and tells `onChange` whenever either moves.
//
// first / previous / next / last follow the walk of the current mode: forward walks
// t = 1 .. T, backward walks t = T .. 1 (so "next" in backward mode goes to t - 1).  The
// slider is positional (t grows to the right, like the diagram).  With two directions the
// step is the forward direction's position; the reverse one's (T+1-t) is shown beside it.

import { walkEnd, walkStart, walkStep } from "../core/walk.js";
import { t } from "../core/i18n.js";
import { relabel } from "../core/labels.js";

const $ = (id) => document.getElementById(id);
const SPEEDS = [1, 2, 4, 8, 16, 30];
const DEFAULT_SPEED = 4;

export function createPlayer({ onChange }) {
  let steps = 1;
  let step = 1;
  let mode = "forward";
  let bidirectional = false;
  let playing = false;
  let timer = null;
  let ready = false;

  const slider = $("step-slider");
  const speedEl = $("speed");
  for (const n of SPEEDS) {
    const option = document.createElement("option");
    option.value = String(n);
    speedEl.append(option);
  }
  function labelSpeeds() {
    for (const option of speedEl.options) {
      const n = Number(option.value);
      option.textContent = n === 1 ? t("player.speed.one") : t("player.speed.option", { n });
    }
  }
  labelSpeeds();
  speedEl.value = String(DEFAULT_SPEED);

  function render() {
    if (!ready) return; // nothing to step through until a run has been drawn
    $("current-step").textContent = t("player.step", { t: step, T: steps });
    slider.max = String(steps);
    slider.value = String(step);
    slider.setAttribute("aria-valuetext", t("player.step", { t: step, T: steps }));
    $("mode-forward").setAttribute("aria-pressed", String(mode === "forward"));
    $("mode-backward").setAttribute("aria-pressed", String(mode === "backward"));
    // A toggle button: its name stays "Play", aria-pressed tells whether it is playing;
    // the tooltip and the icon say what a click will do.
    const play = $("play");
    play.setAttribute("aria-pressed", String(playing));
    relabel(play, playing ? "player.pause" : "player.play", "title");
    const walk = `player.walk${mode === "forward" ? "Forward" : "Backward"}${bidirectional ? "Bi" : ""}`;
    $("walk").textContent = t(walk, { T: steps });
    const reverse = $("reverse-step");
    reverse.hidden = !bidirectional;
    if (bidirectional) {
      reverse.textContent = t("player.reverseStep", { t: steps - step + 1 });
      reverse.dataset.step = String(steps - step + 1);
    }
  }

  function go(next, reason) {
    const clamped = Math.max(1, Math.min(steps, next));
    if (clamped === step && reason !== "mode" && reason !== "load") return;
    step = clamped;
    render();
    onChange({ step, mode, reason });
  }

  function stop() {
    playing = false;
    clearTimeout(timer);
    timer = null;
    render();
  }

  function tick() {
    if (!playing) return;
    if (step === walkEnd(mode, steps)) {
      stop();
      return;
    }
    go(walkStep(mode, step, steps, 1), "play");
    timer = setTimeout(tick, 1000 / Number(speedEl.value));
  }

  function togglePlay() {
    if (!ready) return;
    if (playing) {
      stop();
      return;
    }
    playing = true;
    if (step === walkEnd(mode, steps)) go(walkStart(mode, steps), "play");
    render();
    timer = setTimeout(tick, 1000 / Number(speedEl.value));
  }

  const actions = {
    first: () => go(walkStart(mode, steps), "jump"),
    prev: () => go(walkStep(mode, step, steps, -1), "step"),
    next: () => go(walkStep(mode, step, steps, 1), "step"),
    last: () => go(walkEnd(mode, steps), "jump"),
  };

  function setMode(next) {
    if (next === mode || !ready) return;
    stop();
    mode = next;
    step = walkStart(mode, steps);
    go(step, "mode");
  }

  $("step-first").addEventListener("click", () => ready && actions.first());
  $("step-prev").addEventListener("click", () => ready && actions.prev());
  $("step-next").addEventListener("click", () => ready && actions.next());
  $("step-last").addEventListener("click", () => ready && actions.last());
  $("play").addEventListener("click", togglePlay);
  $("mode-forward").addEventListener("click", () => setMode("forward"));
  $("mode-backward").addEventListener("click", () => setMode("backward"));
  slider.addEventListener("input", () => ready && go(Number(slider.value), "jump"));

  // Keyboard: arrows step along the walk, space plays/pauses, Home/End go to its ends.
  // Keys typed into a field (or handled by a focused control) are left alone.
  document.addEventListener("keydown", (event) => {
    if (!ready || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    const onButton = tag === "BUTTON" || tag === "A" || tag === "SUMMARY";
    let handled = true;
    switch (event.key) {
      case "ArrowRight":
        actions.next();
        break;
      case "ArrowLeft":
        actions.prev();
        break;
      case "Home":
        actions.first();
        break;
      case "End":
        actions.last();
        break;
      case " ":
      case "Spacebar":
        if (onButton) return; // the focused button's own click
        togglePlay();
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  return {
    /** A new run: its length, where to start, and whether its layers have a reverse direction. */
    load(total, nextMode, nextStep, { bidirectional: bi = false } = {}) {
      stop();
      ready = true;
      steps = total;
      bidirectional = bi;
      mode = nextMode === "backward" ? "backward" : "forward";
      step = Math.max(1, Math.min(total, nextStep ?? walkStart(mode, total)));
      render();
    },
    jump(next) {
      if (ready) go(next, "jump");
    },
    /** A pass at a step in one move (one frame drawn), as the gallery's guided path asks. */
    show(nextMode, nextStep) {
      if (!ready) return;
      stop();
      const m = nextMode === "backward" ? "backward" : "forward";
      if (m === mode) {
        go(nextStep, "jump");
        return;
      }
      mode = m;
      go(nextStep, "mode");
    },
    /** Switch the pass (the walk restarts at its first step), as the mode buttons do. */
    setMode,
    /** Re-render the texts in the current language. */
    refresh() {
      labelSpeeds();
      render();
    },
    stop,
    get state() {
      return { step, mode, steps, playing };
    },
  };
}
