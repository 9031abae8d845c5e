// The player bar (DOM glue): buttons, slider, speed, mode and the keyboard.  It owns the
// step (1-based) and the mode, and tells `onChange` whenever either moves.
//
// One rule for moving by hand, the way the diagram is drawn (t grows to the right), in both
// passes: the ◀ button and ← go to t - 1, the ▶ button and → to t + 1, the ⏮ button and Home
// to t = 1, the ⏭ button and End to t = T, like the slider.  Only Play follows the pass:
// forward plays t = 1 .. T, backward (BPTT) plays t = T .. 1, and a mode switch starts the
// pass at its first step.  The buttons' names and the keys line say so.  With two directions
// the step is the forward direction's position; the reverse one's (T+1-t) is shown beside it.

import { walkEnd, walkStart, walkStep } from "../core/walk.js";
import { registerStrings, t } from "../core/i18n.js";
import { relabel } from "../core/labels.js";

export const en = {
  "playerMove.first": "Go to t = 1 (Home)",
  "playerMove.prev": "One step left, to t − 1 (←)",
  "playerMove.next": "One step right, to t + 1 (→)",
  "playerMove.last": "Go to t = T (End)",
  "playerMove.keys":
    "Keys, in both passes: ← → one step left or right (t − 1, t + 1), Home/End t = 1 / t = T, space plays the pass (forward 1 → T, backward T → 1).",
  "player.slow": "Playing at {got} steps/s, not the {asked} asked for: each frame takes longer to draw than that allows. Every step is still shown.",
};
export const ko = {
  "playerMove.first": "t = 1로 가요 (Home)",
  "playerMove.prev": "왼쪽으로 한 단계, t − 1로 가요 (←)",
  "playerMove.next": "오른쪽으로 한 단계, t + 1로 가요 (→)",
  "playerMove.last": "t = T로 가요 (End)",
  "playerMove.keys":
    "단축키는 순전파와 역전파에서 똑같이 써요. ← →는 왼쪽·오른쪽으로 한 단계(t − 1, t + 1), Home/End는 t = 1 / t = T로 가요. 스페이스는 진행 방향대로 재생해요(순전파 1 → T, 역전파 T → 1).",
  "player.slow": "요청한 초당 {asked} 단계가 아니라 초당 {got} 단계로 재생하고 있어요. 프레임 하나를 그리는 데 그보다 오래 걸려요. 단계를 건너뛰지는 않아요.",
};
registerStrings({ en, ko });

const $ = (id) => document.getElementById(id);
const SPEEDS = [1, 2, 4, 8, 16, 30];
const DEFAULT_SPEED = 4;
// Playback is paced by the drawing: the next step is asked for only once the frame is drawn
// (never queued behind a slow one), and when the rate over the last RATE_FRAMES frames stays
// under SLOW_SHARE of the speed asked for, the page says what it reaches.
const RATE_FRAMES = 6;
const SLOW_SHARE = 0.85;

export function createPlayer({ onChange }) {
  let steps = 1;
  let step = 1;
  let mode = "forward";
  let bidirectional = false;
  let playing = false;
  let timer = null;
  let ready = false;
  let frameDone = null; // what onChange returned for the step on screen: settles once it is drawn
  let frameTimes = []; // when the last frames of this playback were drawn (ms)

  // The rate note: under the player, spoken politely, shown only while playback falls short.
  const slowNote = document.createElement("p");
  slowNote.className = "hint playback-rate";
  slowNote.setAttribute("data-testid", "playback-rate");
  slowNote.setAttribute("aria-live", "polite");
  slowNote.hidden = true;
  $("player").append(slowNote);

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
    frameDone = onChange({ step, mode, reason });
  }

  function stop() {
    playing = false;
    clearTimeout(timer);
    timer = null;
    render();
  }

  function labelSlow() {
    const got = Number(slowNote.dataset.stepsPerSecond);
    slowNote.textContent = t("player.slow", { got: got < 10 ? got.toFixed(1) : Math.round(got), asked: slowNote.dataset.asked });
  }

  /** The rate of the last frames drawn; the note says it when it falls short of the speed. */
  function noteRate() {
    frameTimes.push(performance.now());
    if (frameTimes.length > RATE_FRAMES + 1) frameTimes.shift();
    if (frameTimes.length <= RATE_FRAMES) return;
    const asked = Number(speedEl.value);
    const got = (1000 * RATE_FRAMES) / (frameTimes[frameTimes.length - 1] - frameTimes[0]);
    const slow = got < SLOW_SHARE * asked;
    slowNote.hidden = !slow;
    slowNote.dataset.stepsPerSecond = got.toFixed(1);
    slowNote.dataset.asked = String(asked);
    if (slow) labelSlow();
  }

  function tick() {
    if (!playing) return;
    if (step === walkEnd(mode, steps)) {
      stop();
      return;
    }
    const started = performance.now();
    go(walkStep(mode, step, steps, 1), "play");
    // The next step waits for this frame: a slow frame slows playback, it never piles up.
    Promise.resolve(frameDone).then(() => {
      if (!playing) return;
      noteRate();
      const spent = performance.now() - started;
      timer = setTimeout(tick, Math.max(0, 1000 / Number(speedEl.value) - spent));
    });
  }

  function togglePlay() {
    if (!ready) return;
    if (playing) {
      stop();
      return;
    }
    playing = true;
    frameTimes = [];
    slowNote.hidden = true;
    if (step === walkEnd(mode, steps)) go(walkStart(mode, steps), "play");
    render();
    timer = setTimeout(tick, 1000 / Number(speedEl.value));
  }

  // Positional in both passes (see the top of this file).
  const actions = {
    first: () => go(1, "jump"),
    prev: () => go(step - 1, "step"),
    next: () => go(step + 1, "step"),
    last: () => go(steps, "jump"),
  };
  const SHORTCUT = { first: "Home", prev: "ArrowLeft", next: "ArrowRight", last: "End" };
  for (const name of ["first", "prev", "next", "last"]) {
    const button = $(`step-${name}`);
    button.setAttribute("aria-keyshortcuts", SHORTCUT[name]);
    relabel(button, `playerMove.${name}`, "label");
    relabel(button, `playerMove.${name}`, "title");
  }
  const keysLine = document.querySelector("#player .keys");
  const KEYS_LINE = "playerMove.keys"; // (registered above)
  if (keysLine) relabel(keysLine, KEYS_LINE, "text");

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

  // Keyboard: ← → one step left / right, Home/End t = 1 / t = T, space plays/pauses.
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
      slowNote.hidden = true;
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
      if (!slowNote.hidden) labelSlow();
      render();
    },
    stop,
    get state() {
      return { step, mode, steps, playing };
    },
  };
}
