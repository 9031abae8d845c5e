"""The page's speed in headless Chromium: first paint, first diagram, long tasks, steps, playback.

Starts the real server (`python -m app`) on a free loopback port and drives Debian's
Chromium (/usr/bin/chromium) with Playwright.  Prints medians over --runs runs and the
machine.

* first diagram: navigation start to the page's `lstmvis:first-diagram` performance mark
  (set once the default preset's diagram is drawn), in a fresh browser context each run
  (cold HTTP cache: plotly.js, 4.8 MB, is fetched and parsed every time) and again on a
  reload in the same context (warm cache).
* one step: T = 50, H = 32 (a 51-character text, one LSTM layer), 1280 x 900 px; the time
  from clicking "next" to the frame being drawn and painted in every view (Plotly.react for
  the diagram and the overview; the cell view, the equations and the step markers of the
  heatmaps and the unit chart; then a requestAnimationFrame and a task, so layout and
  paint are in), in forward and in backward mode.  Also the cell view's own share (the
  page's `lstmvis:detail-step` measure: cell view, equations, markers, without paint).
* first text painted: the `first-contentful-paint` entry, beside when plotly.js was fetched
  (its resource entry's responseEnd) and when the deferred scripts had run (DOMContentLoaded).
* longest main-thread task (a PerformanceObserver for 'longtask', which reports tasks over
  50 ms) during a Run (clicking Run on a page opened at that size, until the page is ready
  and then quiet) and during a step (clicking "next", until the frame is drawn and the
  page quiet), at T = 50 / H = 32, T = 500 / H = 256 and T = 1000 / H = 256 (texts of
  T + 1 characters, one LSTM layer).
* playback: steps per second the player makes and frames the diagram draws with the speed
  select at 30 steps/s.

    python -m benchmarks.page_timing [--runs 7 --steps 20 --sizes 50x32,500x256,1000x256]

A size may name more of the page's link after "@", e.g. 1000x128@layers=4&bi=1 (four
bidirectional layers: a diagram of eight rows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from urllib.parse import quote

from playwright.sync_api import sync_playwright

from benchmarks.common import machine
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import ServerProcess

TEXT_51 = "long short-term memory keeps a cell state c and an h"[:51]

# Every long task of the page, from its start (injected before any of the page's scripts).
LONGTASKS = """
window.__longtasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
} catch (err) { window.__longtaskError = String(err); }
"""

# Long tasks that started at or after t0 (ms since navigation start), longest first.
TASKS_SINCE = "(t0) => window.__longtasks.filter((e) => e.start >= t0).map((e) => e.duration).sort((a, b) => b - a)"

QUIET_MS = 1500  # after the page says it is done: trailing tasks (panels redrawing) count too


def text_of(chars: int) -> str:
    words = ["long", "short", "term", "memory", "keeps", "a", "cell", "state", "gate", "forgets", "reads", "writes"]
    out, k = "", 0
    while len(out) < chars:
        out += words[(k * 7) % len(words)] + (" " if k % 5 else ". ")
        k += 1
    return out[:chars]


# Click `button` (step-next or step-prev) `n` times; per click, ms until the frame is drawn and painted.
STEP_TIMES = """async ([n, button]) => {
  const diagram = document.querySelector('[data-testid=diagram]');
  const cell = document.querySelector('[data-testid=cell-detail]');
  const next = document.querySelector(`[data-testid=${button}]`);
  const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const times = [];
  performance.clearMeasures('lstmvis:detail-step');
  for (let k = 0; k < n; k += 1) {
    const before = diagram.dataset.step;
    const t0 = performance.now();
    next.click();
    while (diagram.dataset.step === before || cell.dataset.step !== diagram.dataset.step) {
      if (performance.now() - t0 > 120000) throw new Error(`${button} did not move the step from ${before}`);
      await new Promise((r) => setTimeout(r, 0));
    }
    await painted();
    times.push(performance.now() - t0);
  }
  const detail = performance.getEntriesByName('lstmvis:detail-step').map((e) => e.duration);
  return { times, detail };
}"""

# ms since navigation start: the first diagram, and where the time before it went.
FIRST_DIAGRAM = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const plotly = performance.getEntriesByType('resource').find((r) => r.name.endsWith('/vendor/plotly.min.js'));
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    first: performance.getEntriesByName('lstmvis:first-diagram')[0].startTime,
    fcp: fcp ? fcp.startTime : NaN,
    plotlyFetched: plotly ? plotly.responseEnd : NaN,
    scriptsRun: nav.domContentLoadedEventEnd,
  };
}"""


def wait_ready(page) -> None:
    page.wait_for_selector('body[data-state="ready"]', timeout=30_000)


def first_diagram(browser, url: str) -> tuple[dict, dict]:
    """(cold, warm) timings in ms from navigation start: see FIRST_DIAGRAM."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/")
    wait_ready(page)
    cold = page.evaluate(FIRST_DIAGRAM)
    page.reload()
    wait_ready(page)
    warm = page.evaluate(FIRST_DIAGRAM)
    context.close()
    return cold, warm


def step_times(browser, url: str, steps: int) -> dict[str, dict[str, list[float]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/?text={quote(TEXT_51)}&hidden=32")
    wait_ready(page)
    assert page.get_by_test_id("current-step").text_content() == "t = 1 / 50"
    out = {"forward": page.evaluate(STEP_TIMES, [steps, "step-next"])}
    page.get_by_test_id("mode-backward").click()
    page.wait_for_function("() => document.querySelector('[data-testid=cell-detail]').dataset.step === '50'")
    page.wait_for_function("() => document.querySelector('[data-testid=heatmaps]').dataset.mode === 'backward'")
    out["backward"] = page.evaluate(STEP_TIMES, [steps, backward_button(page)])
    context.close()
    return out


def backward_button(page) -> str:
    """The button that walks the backward pass from t = T (step-next, or step-prev where the
    buttons are positional: "next" is t + 1 in both passes)."""
    page.get_by_test_id("step-next").click()
    page.wait_for_timeout(1000)
    moved = page.evaluate("() => document.querySelector('[data-testid=diagram]').dataset.step") != "50"
    return "step-next" if moved else "step-prev"


def longest(tasks: list[float]) -> float:
    """The longest long task, or 0 when none was reported (every task under 50 ms)."""
    return max(tasks, default=0.0)


def run_and_step_tasks(browser, url: str, steps_t: int, hidden: int, steps: int, extra: str = "") -> dict:
    """Long tasks (ms) of a Run and of `steps` single steps at T = steps_t, H = hidden."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LONGTASKS)
    page = context.new_page()
    page.goto(f"{url}/?text={quote(text_of(steps_t + 1))}&hidden={hidden}{'&' + extra if extra else ''}")
    page.wait_for_selector('body[data-state="ready"], body[data-state="error"]', timeout=600_000)
    if page.evaluate("() => document.body.dataset.state") != "ready":
        error = page.get_by_test_id("error").inner_text()[:200]
        context.close()
        return {"error": error}
    assert page.get_by_test_id("current-step").text_content() == f"t = 1 / {steps_t}"
    page.wait_for_timeout(QUIET_MS)
    # A Run of the same configuration: loading, then ready again.
    t0 = page.evaluate("() => performance.now()")
    page.evaluate(
        """() => { window.__states = []; new MutationObserver(() => window.__states.push(document.body.dataset.state))
             .observe(document.body, { attributes: true, attributeFilter: ['data-state'] }); }"""
    )
    page.get_by_test_id("run").click()
    page.wait_for_function(
        "() => window.__states.includes('loading') && document.body.dataset.state === 'ready'", timeout=600_000
    )
    seconds = (page.evaluate("() => performance.now()") - t0) / 1000
    page.wait_for_timeout(QUIET_MS)
    run_tasks = page.evaluate(TASKS_SINCE, t0)
    step_tasks = []
    for k in range(steps):
        t1 = page.evaluate("() => performance.now()")
        page.get_by_test_id("step-next").click()
        page.wait_for_function(
            """(s) => document.querySelector('[data-testid=diagram]').dataset.step === String(s)
                 && document.querySelector('[data-testid=cell-detail]').dataset.step === String(s)""",
            arg=k + 2,
            timeout=120_000,
        )
        page.wait_for_timeout(300)
        step_tasks.append(longest(page.evaluate(TASKS_SINCE, t1)))
    context.close()
    return {"run": run_tasks, "runSeconds": seconds, "steps": step_tasks}


# Play at the speed asked for `seconds`: the player's steps and the diagram's drawn frames per second.
PLAYBACK = """async (seconds) => {
  const diagram = document.querySelector('[data-testid=diagram]');
  const label = document.querySelector('[data-testid=current-step]');
  let drawn = 0, stepped = 0;
  const seen = new MutationObserver(() => { drawn += 1; });
  seen.observe(diagram, { attributes: true, attributeFilter: ['data-step'] });
  const moved = new MutationObserver(() => { stepped += 1; });
  moved.observe(label, { childList: true, characterData: true, subtree: true });
  const t0 = performance.now();
  document.querySelector('[data-testid=play]').click();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  document.querySelector('[data-testid=play]').click();
  seen.disconnect(); moved.disconnect();
  return { steps: stepped / elapsed, frames: drawn / elapsed };
}"""


def playback(browser, url: str, steps_t: int, hidden: int, extra: str = "", speed: int = 30) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/?text={quote(text_of(steps_t + 1))}&hidden={hidden}{'&' + extra if extra else ''}")
    page.wait_for_selector('body[data-state="ready"], body[data-state="error"]', timeout=600_000)
    if page.evaluate("() => document.body.dataset.state") != "ready":
        context.close()
        return {"steps": float("nan"), "frames": float("nan")}
    page.get_by_test_id("speed").select_option(str(speed))
    page.wait_for_timeout(QUIET_MS)
    # Stop before the walk's end, so every second counted is playing.
    seconds = min(3.0, 0.8 * (steps_t - 1) / speed)
    got = page.evaluate(PLAYBACK, seconds)
    context.close()
    return got


def progress(what: str) -> None:
    print(f"... {what}", file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[tuple[int, int, str]]:
    """ "50x32,1000x128@layers=4&bi=1" -> [(50, 32, ""), (1000, 128, "layers=4&bi=1")]."""
    out = []
    for item in text.split(","):
        size, _, extra = item.partition("@")
        steps_t, hidden = size.split("x")
        out.append((int(steps_t), int(hidden), extra))
    return out


def size_name(size: tuple[int, int, str]) -> str:
    """ "1000 x 128" and its extra link parameters, for the printed tables."""
    return f"{size[0]} x {size[1]}" + (f" ({size[2]})" if size[2] else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="fresh pages per measurement (default 7)")
    ap.add_argument("--steps", type=int, default=20, help="steps timed per page and mode (default 20)")
    ap.add_argument("--sizes", default="50x32,500x256,1000x256", help="T x H for the long-task measures")
    ap.add_argument("--long-steps", type=int, default=5, help="steps per size for the long-task measure (default 5)")
    ap.add_argument("--play-sizes", type=int, default=2, help="playback at the first N sizes (default 2)")
    args = ap.parse_args()
    sizes = parse_sizes(args.sizes)
    server = ServerProcess(tempfile.mkdtemp(prefix="lstmvis-page-"))
    url = server.url
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            first_diagram(browser, url)  # warm-up: server imports, OS file cache
            cold: list[dict] = []
            warm: list[dict] = []
            step: dict[str, list[float]] = {"forward": [], "backward": []}
            detail: dict[str, list[float]] = {"forward": [], "backward": []}
            per_run: dict[str, list[float]] = {"forward": [], "backward": []}
            for _ in range(args.runs):
                c, w = first_diagram(browser, url)
                cold.append(c)
                warm.append(w)
                for mode, got in step_times(browser, url, args.steps).items():
                    step[mode] += got["times"]
                    detail[mode] += got["detail"]
                    per_run[mode].append(statistics.median(got["times"]))
            tasks = {}
            for size in sizes:
                progress(f"long tasks at T x H = {size_name(size)}")
                steps_t, hidden, extra = size
                tasks[size] = run_and_step_tasks(browser, url, steps_t, hidden, args.long_steps, extra)
            plays = {}
            for size in sizes[: args.play_sizes]:
                progress(f"playback at T x H = {size_name(size)}")
                plays[size] = playback(browser, url, *size)
            version = browser.version
            browser.close()
    finally:
        server.stop()

    print(f"machine: {machine()}, Chromium {version} headless")
    print(f"runs: {args.runs}; steps timed per run and mode: {args.steps}")
    for label, runs in (("cold", cold), ("warm", warm)):
        first = [r["first"] for r in runs]
        print(
            f"first diagram, default preset, {label} cache: median {statistics.median(first):.0f} ms  (runs: {fmt(first)})"
        )
        fetched = statistics.median(r["plotlyFetched"] for r in runs)
        scripts = statistics.median(r["scriptsRun"] for r in runs)
        fcp = statistics.median(r["fcp"] for r in runs)
        print(
            f"    first text painted (first-contentful-paint) at {fcp:.0f} ms; plotly.js fetched by {fetched:.0f} ms, "
            f"all scripts evaluated (DOMContentLoaded) by {scripts:.0f} ms"
        )
    for mode in ("forward", "backward"):
        times = sorted(step[mode])
        p90 = times[int(0.9 * (len(times) - 1))]
        print(
            f"one step, T = 50, H = 32, {mode}: median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms "
            f"(per-run medians: {fmt(per_run[mode], 1)})"
        )
        share = sorted(detail[mode])
        print(
            f"    of which the cell view, equations and chart markers ({mode}): median "
            f"{statistics.median(share):.1f} ms, p90 {share[int(0.9 * (len(share) - 1))]:.1f} ms"
        )

    print()
    print("longest main-thread task (PerformanceObserver 'longtask' reports tasks over 50 ms; 0 = none reported)")
    print(
        f"{'T x H':>10} | {'Run: longest':>12} | {'Run: tasks > 50 ms':>18} | {'Run (s)':>7} | step: longest (each step)"
    )
    for key, got in tasks.items():
        size = size_name(key)
        if "error" in got:
            print(f"{size:>10} | the page said: {got['error']}")
            continue
        each = ", ".join(f"{v:.0f}" for v in got["steps"])
        print(
            f"{size:>10} | {longest(got['run']):>9.0f} ms | {len(got['run']):>18} | {got['runSeconds']:>7.1f} | "
            f"{max(got['steps'], default=0):.0f} ms ({each})"
        )
    print()
    print("playback with the speed select at 30 steps/s")
    for key, got in plays.items():
        print(f"{size_name(key):>10}: {got['steps']:.1f} steps/s, {got['frames']:.1f} frames drawn/s")


def fmt(xs: list[float], digits: int = 0) -> str:
    return ", ".join(f"{x:.{digits}f}" for x in xs)


if __name__ == "__main__":
    main()
