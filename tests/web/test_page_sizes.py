"""Every size within /api/limits runs from the page (issue 17).

T = 1000 steps with H = 256 was within the limits but one /api/backward response would be
about 90 MiB, over the server's 64 MiB cap: the page got a 413 and could not ask for less.
Now the trace worker fetches such a run as windows of steps and joins them, off the page's
thread, and the page draws it like any other.
"""

from __future__ import annotations

import random
from urllib.parse import quote

import pytest

from app import limits

# Traces are long computations on a shared machine: generous guards, not timing claims.
LARGE_TIMEOUT_MS = 300_000


def text_of(chars: int) -> str:
    rng = random.Random(17)
    words = ["long", "short", "term", "memory", "keeps", "a", "cell", "state", "gate", "forgets", "reads"]
    out = ""
    while len(out) < chars:
        out += rng.choice(words) + rng.choice([" ", " ", ", ", ". "])
    return out[:chars]


def traces_seen(probe) -> list[tuple[int, int | None]]:
    """(status, window start) of every /api/backward answer the page (or its worker) had."""
    seen: list[tuple[int, int | None]] = []

    def on_response(response) -> None:
        if response.url.endswith("/api/backward"):
            body = response.request.post_data_json or {}
            seen.append((response.status, (body.get("window") or {}).get("start")))

    probe.page.context.on("response", on_response)
    return seen


@pytest.mark.parametrize(("steps", "hidden"), [(1000, 256), (700, 256), (1000, 192)])
def test_the_largest_text_runs_from_the_page(probe, steps, hidden):
    assert steps <= limits.MAX_STEPS and steps * hidden <= limits.MAX_WORK
    seen = traces_seen(probe)
    text = text_of(steps + 1)
    probe.page.goto(f"{probe.base_url}/?text={quote(text)}&hidden={hidden}")
    probe.page.wait_for_selector('body[data-state="ready"], body[data-state="error"]', timeout=LARGE_TIMEOUT_MS)
    error = probe.page.evaluate("() => document.body.dataset.state === 'error' && document.body.innerText")
    assert not error, f"the page said: {error[:2000] if error else ''}"
    assert probe.testid("current-step").text_content() == f"t = 1 / {steps}"
    probe.wait_drawn_step(1)
    # One response would be over the cap (413): the run came as windows of steps from the
    # first, each answered 200 (one window when leaving out the weights' gradients is enough).
    windows = [start for status, start in seen if status == 200 and start is not None]
    assert seen[0] == (413, None) and windows and windows[0] == 0, seen
    # The page draws what it fetched: the last step is there, in the diagram and the cell view.
    probe.page.keyboard.press("End")
    probe.page.wait_for_function(
        "s => document.querySelector('[data-testid=cell-detail]').dataset.step === String(s)",
        arg=steps,
        timeout=LARGE_TIMEOUT_MS,
    )


def test_a_trace_is_parsed_in_the_worker(probe):
    """The page's thread never reads a trace's JSON: the trace worker fetches and parses it."""
    workers: list[str] = []
    probe.page.on("worker", lambda worker: workers.append(worker.url))
    seen = traces_seen(probe)
    probe.open()
    assert any(url.endswith("/static/js/core/traceworker.js") for url in workers), workers
    assert seen and all(status == 200 for status, _ in seen)
    # A small run fits one response: no windows.
    assert all(start is None for _, start in seen)
