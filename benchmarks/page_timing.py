"""The page's speed in headless Chromium: first diagram, and one step of the player.

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

    python -m benchmarks.page_timing [--runs 7 --steps 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from urllib.parse import quote

from playwright.sync_api import sync_playwright

from benchmarks.common import machine
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import ServerProcess

TEXT_51 = "long short-term memory keeps a cell state c and an h"[:51]

# Click "next" `n` times in the page; per click, ms until the frame is drawn and painted.
STEP_TIMES = """async (n) => {
  const diagram = document.querySelector('[data-testid=diagram]');
  const cell = document.querySelector('[data-testid=cell-detail]');
  const next = document.querySelector('[data-testid=step-next]');
  const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const times = [];
  performance.clearMeasures('lstmvis:detail-step');
  for (let k = 0; k < n; k += 1) {
    const before = diagram.dataset.step;
    const t0 = performance.now();
    next.click();
    while (diagram.dataset.step === before || cell.dataset.step !== diagram.dataset.step) {
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
  return {
    first: performance.getEntriesByName('lstmvis:first-diagram')[0].startTime,
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
    out = {"forward": page.evaluate(STEP_TIMES, steps)}
    page.get_by_test_id("mode-backward").click()
    page.wait_for_function("() => document.querySelector('[data-testid=cell-detail]').dataset.step === '50'")
    page.wait_for_function("() => document.querySelector('[data-testid=heatmaps]').dataset.mode === 'backward'")
    out["backward"] = page.evaluate(STEP_TIMES, steps)
    context.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="fresh pages per measurement (default 7)")
    ap.add_argument("--steps", type=int, default=20, help="steps timed per page and mode (default 20)")
    args = ap.parse_args()
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
        print(
            f"    of which: plotly.js fetched by {fetched:.0f} ms, all scripts evaluated (DOMContentLoaded) by {scripts:.0f} ms"
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


def fmt(xs: list[float], digits: int = 0) -> str:
    return ", ".join(f"{x:.{digits}f}" for x in xs)


if __name__ == "__main__":
    main()
