"""The player and the diagram's contract (issue 17): the diagram element says which frame it
has drawn (`data-mode`, `data-step`) and that always ends up equal to what the player says,
after steps, mode switches, playback and the guided explanation's steps (the explanation
used to leave the diagram on the forward frame while everything else said "Backward");
keys and buttons move the highlight the way they point, in both passes.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.conftest import READY_TIMEOUT_MS

pytestmark = pytest.mark.browser

# What the player says (its pressed mode button, its slider, its step text) and what the
# diagram says it has drawn.
STATE = """() => {
  const q = (id) => document.querySelector(`[data-testid=${id}]`);
  const d = q('diagram').dataset;
  return {
    player: {
      mode: q('mode-backward').getAttribute('aria-pressed') === 'true' ? 'backward' : 'forward',
      step: q('step-slider').value,
      text: q('current-step').textContent,
      total: q('step-slider').max,
    },
    diagram: { mode: d.mode, step: d.step },
  };
}"""

AGREE = """() => {
  const q = (id) => document.querySelector(`[data-testid=${id}]`);
  const d = q('diagram').dataset;
  const mode = q('mode-backward').getAttribute('aria-pressed') === 'true' ? 'backward' : 'forward';
  return d.mode === mode && d.step === q('step-slider').value;
}"""


def agreed(probe, what: str) -> dict:
    """Wait until the diagram shows the player's frame; fail, saying both, when it never does."""
    try:
        probe.page.wait_for_function(AGREE, timeout=20_000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{what}: the diagram never drew the player's frame: {probe.page.evaluate(STATE)}"
        ) from None
    state = probe.page.evaluate(STATE)
    p = state["player"]
    assert p["text"] == f"t = {p['step']} / {p['total']}", state
    return state


def test_the_diagram_says_which_frame_it_drew_and_it_is_the_players(probe):
    probe.open()
    assert agreed(probe, "open")["diagram"] == {"mode": "forward", "step": "1"}
    probe.testid("step-next").click()
    assert agreed(probe, "next")["diagram"] == {"mode": "forward", "step": "2"}
    probe.testid("mode-backward").click()
    assert agreed(probe, "backward")["diagram"] == {"mode": "backward", "step": "10"}
    probe.testid("step-prev").click()
    assert agreed(probe, "prev in backward")["diagram"] == {"mode": "backward", "step": "9"}
    probe.testid("mode-forward").click()
    assert agreed(probe, "forward")["diagram"] == {"mode": "forward", "step": "1"}
    # Many requests at once (the slider dragged): the last one is what ends up drawn.
    probe.page.evaluate(
        """() => {
      const s = document.querySelector('[data-testid=step-slider]');
      for (const v of [3, 7, 2, 9, 5]) { s.value = String(v); s.dispatchEvent(new Event('input')); }
    }"""
    )
    assert agreed(probe, "slider burst")["diagram"] == {"mode": "forward", "step": "5"}
    # Playback to its end.
    probe.page.select_option("#speed", "30")
    probe.testid("play").click()
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'false'",
        timeout=READY_TIMEOUT_MS,
    )
    assert agreed(probe, "play")["diagram"] == {"mode": "forward", "step": "10"}


def test_the_data_attributes_are_set_only_once_the_frame_is_drawn(probe):
    """Each change of data-step is seen when Plotly's figure already holds that frame: the
    highlight box sits at the step's slot."""
    probe.open()
    probe.page.evaluate(
        """() => {
      const gd = document.querySelector('[data-testid=diagram]');
      window.__seen = [];
      new MutationObserver(() => {
        const hl = gd.data.find((d) => d.name === 'highlight');
        const xs = hl.x.filter((x) => x !== null);
        window.__seen.push({ step: gd.dataset.step, start: gd.dataset.windowStart,
                             centre: (Math.min(...xs) + Math.max(...xs)) / 2 });
      }).observe(gd, { attributes: true, attributeFilter: ['data-step'] });
    }"""
    )
    for _ in range(3):
        probe.testid("step-next").click()
    agreed(probe, "three steps")
    probe.testid("mode-backward").click()
    agreed(probe, "backward")
    seen = probe.page.evaluate("() => window.__seen")
    assert seen, "no frame was recorded"
    for s in seen:
        assert int(s["step"]) - int(s["start"]) == s["centre"], seen


def test_the_explanation_never_leaves_the_diagram_on_another_pass(probe):
    probe.open()
    page = probe.page
    page.locator("#explain-dots button[data-step='0']").click()
    probe.wait_attr("explain", "step", "1")
    total = page.locator("#explain-dots button").count()
    modes = []
    for k in range(1, total + 1):
        probe.wait_attr("explain", "step", str(k))
        state = agreed(probe, f"explanation step {k}")
        modes.append(state["diagram"]["mode"])
        # The cell view and its equations say the same pass.
        page.wait_for_function(
            "m => document.querySelector('[data-testid=equations]').dataset.mode === m",
            arg=state["player"]["mode"],
            timeout=READY_TIMEOUT_MS,
        )
        if k < total:
            probe.testid("explain-next").click()
    assert "forward" in modes and "backward" in modes
    # Going back from the first backward step to the last forward one, and forth again.
    first_backward = modes.index("backward") + 1
    page.locator(f"#explain-dots button[data-step='{first_backward - 1}']").click()
    assert agreed(probe, "jump to the first backward step")["diagram"]["mode"] == "backward"
    probe.testid("explain-prev").click()
    assert agreed(probe, "back to forward")["diagram"]["mode"] == "forward"
    probe.testid("explain-next").click()
    assert agreed(probe, "forth to backward")["diagram"]["mode"] == "backward"


HIGHLIGHT_SLOT = """() => {
  const gd = document.querySelector('[data-testid=diagram]');
  const xs = gd.data.find((d) => d.name === 'highlight').x.filter((x) => x !== null);
  return (Math.min(...xs) + Math.max(...xs)) / 2;
}"""


@pytest.mark.parametrize("mode", ["forward", "backward"])
def test_keys_and_buttons_move_the_way_they_point_in_both_passes(probe, mode):
    probe.open("?text=abcdefg&mode=" + mode + "&t=3")  # 7 characters: T = 6 next-character steps
    assert agreed(probe, "open")["diagram"] == {"mode": mode, "step": "3"}
    keyboard = probe.page.keyboard
    slot = probe.page.evaluate(HIGHLIGHT_SLOT)
    keyboard.press("ArrowRight")
    assert agreed(probe, "→")["diagram"]["step"] == "4"
    assert probe.page.evaluate(HIGHLIGHT_SLOT) == slot + 1, "→ moves the highlight rightwards"
    keyboard.press("ArrowLeft")
    keyboard.press("ArrowLeft")
    assert agreed(probe, "← ←")["diagram"]["step"] == "2"
    assert probe.page.evaluate(HIGHLIGHT_SLOT) == slot - 1, "← moves the highlight leftwards"
    keyboard.press("End")
    assert agreed(probe, "End")["diagram"]["step"] == "6"
    keyboard.press("Home")
    assert agreed(probe, "Home")["diagram"]["step"] == "1"
    # The buttons follow the same rule, and their names say so.
    probe.testid("step-last").click()
    assert agreed(probe, "last")["diagram"]["step"] == "6"
    probe.testid("step-prev").click()
    assert agreed(probe, "prev")["diagram"]["step"] == "5"
    probe.testid("step-next").click()
    assert agreed(probe, "next")["diagram"]["step"] == "6"
    probe.testid("step-first").click()
    assert agreed(probe, "first")["diagram"]["step"] == "1"
    titles = {n: probe.testid(f"step-{n}").get_attribute("title") for n in ("first", "prev", "next", "last")}
    assert "t = 1" in titles["first"] and "Home" in titles["first"]
    assert "t = T" in titles["last"] and "End" in titles["last"]
    assert "t − 1" in titles["prev"] and "t + 1" in titles["next"]
    assert probe.testid("step-first").get_attribute("aria-label") == titles["first"]
    keys = probe.page.locator("#player .keys").text_content()
    assert "both passes" in keys and "Home/End t = 1 / t = T" in keys
    # The slider's own Home/End agree.
    probe.testid("step-slider").focus()
    keyboard.press("End")
    assert agreed(probe, "slider End")["diagram"]["step"] == "6"
    # Play follows the pass: backward plays T -> 1, forward 1 -> T.
    probe.page.select_option("#speed", "30")
    probe.testid("mode-" + ("forward" if mode == "backward" else "backward")).click()
    probe.testid("mode-" + mode).click()
    start = "1" if mode == "forward" else "6"
    end = "6" if mode == "forward" else "1"
    assert agreed(probe, "mode switch")["diagram"]["step"] == start
    probe.testid("play").click()
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'false'",
        timeout=READY_TIMEOUT_MS,
    )
    assert agreed(probe, "played")["diagram"]["step"] == end


def query(probe) -> dict:
    return parse_qs(urlparse(probe.page.url).query)


def test_back_returns_to_the_view_before_each_meaningful_change(probe):
    probe.open()
    start_url = probe.page.url
    # Stepping replaces the entry: it is not a change Back should undo one by one.
    probe.testid("step-next").click()
    probe.testid("step-next").click()
    assert agreed(probe, "two steps")["diagram"]["step"] == "3"
    probe.page.wait_for_function("() => new URLSearchParams(location.search).get('t') === '3'")
    # A Run of another configuration pushes an entry.
    probe.testid("hidden-size").fill("5")
    probe.testid("run").click()
    probe.page.wait_for_function("() => new URLSearchParams(location.search).get('hidden') === '5'")
    probe.wait_ready()
    # Switching the pass pushes an entry.
    probe.testid("mode-backward").click()
    assert agreed(probe, "backward")["diagram"]["mode"] == "backward"
    probe.page.wait_for_function("() => new URLSearchParams(location.search).get('mode') === 'backward'")

    probe.page.go_back()
    assert agreed(probe, "back: the forward pass")["diagram"]["mode"] == "forward"
    assert query(probe)["hidden"] == ["5"]
    assert probe.drawn()["mode"] == "forward"

    probe.page.go_back()
    probe.page.wait_for_function("() => !new URLSearchParams(location.search).has('hidden')")
    probe.wait_ready()
    state = agreed(probe, "back: the first configuration")
    assert state["diagram"] == {"mode": "forward", "step": "3"}
    assert probe.testid("hidden-size").input_value() == "8"
    assert "8 units" in probe.page.locator("#summary").inner_text() or "hidden 8" in probe.page.locator(
        "#summary"
    ).inner_text().replace("=", " ")
    assert probe.page.url.startswith(probe.base_url)
    assert urlparse(probe.page.url).path == urlparse(start_url).path

    # And forward again: the run with 5 units, in the backward pass.
    probe.page.go_forward()
    probe.page.wait_for_function("() => new URLSearchParams(location.search).get('hidden') === '5'")
    probe.wait_ready()
    probe.page.go_forward()
    assert agreed(probe, "forward: backward pass")["diagram"]["mode"] == "backward"
    assert probe.testid("hidden-size").input_value() == "5"


def test_opening_a_model_from_a_panel_shows_the_diagram_and_focuses_it(probe):
    probe.open()
    options = probe.testid("model-list").locator("input[type=radio]")
    probe.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=model-list] input').length > 0", timeout=READY_TIMEOUT_MS
    )
    options.first.check()
    model_id = probe.testid("model-list").locator("input:checked").input_value()
    probe.testid("model-open").scroll_into_view_if_needed()
    below = probe.page.evaluate("() => window.scrollY")
    assert below > 0, "the models panel is below the fold"
    probe.testid("model-open").click()
    probe.page.wait_for_function(f"() => location.search.includes('model={model_id}')", timeout=READY_TIMEOUT_MS)
    probe.wait_ready()
    probe.page.wait_for_function("() => document.activeElement && document.activeElement.id === 'diagram-panel'")
    box = probe.page.evaluate(
        "() => { const r = document.getElementById('diagram-panel').getBoundingClientRect();"
        " return { top: r.top, bottom: r.bottom, h: innerHeight }; }"
    )
    # scrollIntoView leaves it at the top, give or take a sub-pixel of layout rounding.
    assert -1 <= box["top"] < box["h"], f"the diagram panel is in view: {box}"


def test_playback_waits_for_each_frame_and_says_when_it_falls_short_of_the_speed(probe):
    """With drawing slowed (Chromium's CPU throttled) and 30 steps/s asked for, every step is
    drawn once, in order, none queued behind a slow frame, and the player says the rate it
    reaches instead of pretending."""
    probe.open()
    probe.page.evaluate(
        "() => { window.__frames = []; document.addEventListener('viz:frame', (e) => window.__frames.push(e.detail.step)); }"
    )
    cdp = probe.page.context.new_cdp_session(probe.page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 8})
    try:
        probe.page.select_option("#speed", "30")
        note = probe.testid("playback-rate")
        assert note.is_hidden()
        probe.testid("play").click()
        probe.page.wait_for_function(
            "() => document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'false'",
            timeout=4 * READY_TIMEOUT_MS,
        )
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    assert probe.page.evaluate("() => window.__frames") == list(range(2, 11))
    assert note.is_visible()
    assert float(note.get_attribute("data-steps-per-second")) < 0.85 * 30
    assert "not the 30 asked for" in note.inner_text()
    assert probe.unexpected_errors() == []
