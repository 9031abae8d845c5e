"""The page in real headless Chromium against the real server.

Waits are on body[data-state] and on what the diagram element says it drew, never on
wall-clock sleeps.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser

HIGHLIGHT_CENTRE = """() => {
  const gd = document.querySelector('[data-testid=diagram]');
  const hl = gd.data.find((d) => d.name === 'highlight');
  return (Math.min(...hl.x) + Math.max(...hl.x)) / 2;
}"""

FILLED_STRIP_COLUMNS = """(name) => {
  const strip = document.querySelector('.diagram-strips').strips.find((d) => d.name === name);
  return strip.z[0].filter((v) => v !== null).length;
}"""


def step_text(probe) -> str:
    return probe.testid("current-step").text_content()


def test_loads_clean_and_offline(probe):
    requests: list[str] = []
    probe.page.on("request", lambda r: requests.append(r.url))
    probe.open()
    assert probe.page.evaluate("document.body.dataset.state") == "ready"
    assert probe.page.title() == "LSTM visualiser"
    assert probe.outside == []
    assert probe.unexpected_errors() == []
    assert all(urlparse(u).hostname == "127.0.0.1" for u in requests if u.startswith("http"))
    # plotly.js came from the app itself.
    assert any(u.endswith("/vendor/plotly.min.js") for u in requests)
    assert probe.page.evaluate("typeof window.Plotly") == "object"


def test_default_preset_draws(probe):
    probe.open()
    assert probe.testid("preset").input_value() == "hello"
    assert probe.testid("text-input").input_value() == "hello world"
    assert step_text(probe) == "t = 1 / 10"
    info = probe.page.evaluate(
        """() => {
      const gd = document.querySelector('[data-testid=diagram]');
      return {
        traces: gd.data.length,
        heatmaps: gd.data.filter((d) => d.type === 'heatmap').map((d) => d.name),
        strips: document.querySelector('.diagram-strips').strips.map((d) => d.name),
        shapes: document.getElementById('diagram-static').layout.shapes.length,
        inputs: gd.data.find((d) => d.name === 'inputs').text,
        svg: gd.querySelectorAll('svg.main-svg').length,
      };
    }"""
    )
    # The gate strips are painted on a canvas under the frame, not given to Plotly.
    assert info["heatmaps"] == []
    assert info["strips"] == ["strip:f", "strip:i", "strip:g", "strip:o"]
    assert info["shapes"] == 60  # 10 boxes, the c line through each, 4 gate letters each
    assert info["inputs"][:5] == ["h", "e", "l", "l", "o"]
    assert info["svg"] >= 1
    # Forward at t = 1: only the first cell's strips are filled (8 units).
    assert probe.page.evaluate(FILLED_STRIP_COLUMNS, "strip:f") == 8
    assert probe.testid("detail-area").count() == 0  # the reserved area has no test hooks yet
    assert probe.page.locator("section#detail-area").count() == 1
    assert "loss" in probe.page.locator("#summary").text_content()


def test_next_previous_last_move_step_and_highlight(probe):
    probe.open()
    assert probe.page.evaluate(HIGHLIGHT_CENTRE) == 0
    probe.testid("step-next").click()
    probe.wait_drawn_step(2)
    assert step_text(probe) == "t = 2 / 10"
    assert probe.page.evaluate(HIGHLIGHT_CENTRE) == 1
    assert probe.page.evaluate(FILLED_STRIP_COLUMNS, "strip:f") == 16
    probe.testid("step-next").click()
    probe.wait_drawn_step(3)
    probe.testid("step-prev").click()
    probe.wait_drawn_step(2)
    assert step_text(probe) == "t = 2 / 10"
    probe.testid("step-last").click()
    probe.wait_drawn_step(10)
    assert step_text(probe) == "t = 10 / 10"
    assert probe.page.evaluate(HIGHLIGHT_CENTRE) == 9
    assert probe.testid("step-slider").input_value() == "10"
    probe.testid("step-first").click()
    probe.wait_drawn_step(1)
    assert step_text(probe) == "t = 1 / 10"
    # Previous at the start stays put.
    probe.testid("step-prev").click()
    assert step_text(probe) == "t = 1 / 10"


def test_backward_mode_walks_from_T_to_1(probe):
    probe.open()
    probe.testid("mode-backward").click()
    probe.wait_drawn_step(10)
    assert probe.drawn()["mode"] == "backward"
    assert step_text(probe) == "t = 10 / 10"
    assert probe.testid("mode-backward").get_attribute("aria-pressed") == "true"
    # Gradients: only the last cell so far, then the walk goes right to left.
    assert probe.page.evaluate(FILLED_STRIP_COLUMNS, "strip:f") == 8
    probe.testid("step-prev").click()  # the buttons move by position: t - 1, leftwards
    probe.wait_drawn_step(9)
    assert step_text(probe) == "t = 9 / 10"
    assert probe.page.evaluate(FILLED_STRIP_COLUMNS, "strip:f") == 16
    rails = probe.page.evaluate(
        """() => document.querySelector('[data-testid=diagram]').data
          .filter((d) => d.name.startsWith('rail:bin') && d.x.length)
          .map((d) => d.line.width)"""
    )
    assert rails, "gradient rails are drawn"
    heads = probe.page.evaluate(
        "() => document.querySelector('[data-testid=diagram]').data.find((d) => d.name === 'arrowheads').marker.symbol"
    )
    assert set(heads) <= {"triangle-left", "triangle-down"}
    probe.testid("step-first").click()  # t = 1, the backward walk's end
    probe.wait_drawn_step(1)
    assert step_text(probe) == "t = 1 / 10"
    assert probe.page.evaluate(HIGHLIGHT_CENTRE) == 0
    # Back to forward mode: the walk starts again at t = 1.
    probe.testid("mode-forward").click()
    probe.wait_drawn_step(1)
    assert probe.drawn()["mode"] == "forward"


def test_keyboard_steps_plays_and_jumps(probe):
    probe.open()
    keyboard = probe.page.keyboard
    keyboard.press("ArrowRight")
    probe.wait_drawn_step(2)
    keyboard.press("End")
    probe.wait_drawn_step(10)
    keyboard.press("ArrowLeft")
    probe.wait_drawn_step(9)
    keyboard.press("Home")
    probe.wait_drawn_step(1)
    assert step_text(probe) == "t = 1 / 10"
    keyboard.press(" ")
    assert probe.testid("play").get_attribute("aria-pressed") == "true"
    probe.page.wait_for_function("() => document.querySelector('[data-testid=diagram]').dataset.step !== '1'")
    keyboard.press(" ")
    assert probe.testid("play").get_attribute("aria-pressed") == "false"
    # The slider has its own keys when focused.
    probe.testid("step-slider").focus()
    keyboard.press("End")
    probe.wait_drawn_step(10)


def test_play_runs_to_the_end_and_stops(probe):
    probe.open("?text=abcdef")
    probe.page.select_option("#speed", "30")
    probe.testid("play").click()
    probe.wait_drawn_step(5)
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'false'"
    )
    assert step_text(probe) == "t = 5 / 5"


def test_configuration_survives_a_reload(probe):
    probe.open()
    probe.testid("cell-type").select_option("gru")
    probe.testid("hidden-size").fill("5")
    probe.testid("num-layers").fill("2")
    probe.testid("seed").fill("7")
    probe.testid("text-input").fill("abcabcab")
    probe.testid("run").click()
    probe.wait_ready()
    assert step_text(probe) == "t = 1 / 7"
    probe.testid("mode-backward").click()
    probe.wait_drawn_step(7)
    probe.testid("step-prev").click()
    probe.wait_drawn_step(6)
    probe.page.wait_for_function("() => location.search.includes('t=6')")
    query = parse_qs(urlparse(probe.page.url).query)
    assert query["cell"] == ["gru"] and query["hidden"] == ["5"] and query["layers"] == ["2"]
    assert query["seed"] == ["7"] and query["text"] == ["abcabcab"] and query["mode"] == ["backward"]

    probe.page.reload()
    probe.wait_ready()
    assert probe.testid("cell-type").input_value() == "gru"
    assert probe.testid("hidden-size").input_value() == "5"
    assert probe.testid("num-layers").input_value() == "2"
    assert probe.testid("seed").input_value() == "7"
    assert probe.testid("text-input").input_value() == "abcabcab"
    assert step_text(probe) == "t = 6 / 7"
    assert probe.drawn()["mode"] == "backward"
    strips = probe.page.evaluate("() => document.querySelector('.diagram-strips').strips.map((d) => d.name)")
    assert strips == ["strip:r", "strip:z", "strip:n"]
    assert "GRU · 2 × 5 units" in probe.page.locator("#summary").text_content()


def test_invalid_hidden_size_shows_an_error_and_keeps_the_view(probe):
    probe.allow_error(r"status of 422")
    probe.open()
    probe.testid("step-next").click()
    probe.wait_drawn_step(2)
    before = probe.page.evaluate("() => document.querySelector('[data-testid=diagram]').data.length")

    probe.testid("hidden-size").fill("5000")
    probe.testid("run").click()
    probe.wait_state("error")
    error = probe.testid("error")
    assert error.is_visible()
    assert re.search(r"Hidden size: at most 1024 \(you gave 5000\)", error.text_content())
    assert probe.testid("hidden-size").get_attribute("aria-invalid") == "true"
    # Next to the control that caused it: right under its row, in the same column of the panel.
    box_input = probe.testid("hidden-size").bounding_box()
    box_error = error.bounding_box()
    assert 0 <= box_error["y"] - (box_input["y"] + box_input["height"]) < 40
    assert box_error["x"] <= box_input["x"] + box_input["width"]
    # The last view stays.
    assert step_text(probe) == "t = 2 / 10"
    assert probe.page.evaluate("() => document.querySelector('[data-testid=diagram]').data.length") == before
    assert probe.drawn()["step"] == "2"
    assert "hidden=5000" not in probe.page.url

    probe.testid("hidden-size").fill("4")
    probe.testid("run").click()
    probe.wait_ready()
    assert not error.is_visible()
    assert probe.testid("hidden-size").get_attribute("aria-invalid") is None


def test_numbers_editor_and_client_side_errors(probe):
    probe.open("?preset=sine")
    assert step_text(probe) == "t = 1 / 24"
    assert probe.page.locator("#inputs-input").is_visible()
    assert probe.page.locator("#targets-input").is_visible()
    assert not probe.testid("text-input").is_visible()
    probe.page.locator("#inputs-input").fill("0.1\nabc\n0.3")
    probe.testid("run").click()
    probe.wait_state("error")
    assert "line 2" in probe.testid("error").text_content()
    assert probe.testid("error").get_attribute("data-control") == "inputs"
    probe.page.locator("#inputs-input").fill("0.1\n0.2\n0.3")
    probe.page.locator("#targets-input").fill("-\n-\n0.5")
    probe.testid("run").click()
    probe.wait_ready()
    assert step_text(probe) == "t = 1 / 3"


def test_text_is_escaped_everywhere(probe):
    text = "<img src=x onerror=window.__xss=1>ab"
    probe.open()
    probe.testid("text-input").fill(text)
    probe.testid("run").click()
    probe.wait_ready()
    labels = probe.page.evaluate(
        "() => document.querySelector('[data-testid=diagram]').data.find((d) => d.name === 'inputs').text"
    )
    assert labels[0] == "&lt;"
    probe.testid("step-last").click()
    probe.wait_drawn_step(len(text) - 1)
    # Hover every output node so hover labels are built too.
    probe.page.hover("[data-testid=diagram]")
    assert probe.page.evaluate("() => window.__xss") is None
    assert probe.page.locator("img").count() == 0
    assert probe.page.locator("#preset-description").text_content()  # the page still works


def test_long_sequences_show_a_window_and_an_overview(probe):
    text = ("the cell state carries the gradient further than the hidden state " * 5)[:301]
    probe.open(f"?text={text.replace(' ', '%20')}")
    drawn = probe.drawn()
    size = int(drawn["windowSize"])
    assert 4 <= size <= 20
    assert probe.page.locator("#overview").is_visible()
    probe.testid("step-last").click()
    probe.wait_drawn_step(300)
    drawn = probe.drawn()
    assert int(drawn["windowStart"]) + int(drawn["windowSize"]) - 1 == 300
    # Clicking the middle of the overview strip jumps there.
    box = probe.page.locator("#overview .nsewdrag").first.bounding_box()
    probe.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    probe.page.wait_for_function(
        "() => Math.abs(Number(document.querySelector('[data-testid=diagram]').dataset.step) - 150) < 10"
    )
    step = int(probe.drawn()["step"])
    start = int(probe.drawn()["windowStart"])
    assert start <= step < start + size


def test_every_control_is_labelled_and_reachable_by_keyboard(probe):
    probe.open()
    unlabelled = probe.page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
          .filter((el) => el.offsetParent !== null)
          .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
          .map((el) => el.id || el.outerHTML.slice(0, 60))"""
    )
    assert unlabelled == []
    seen = set()
    for _ in range(40):
        probe.page.keyboard.press("Tab")
        seen.add(probe.page.evaluate("() => document.activeElement.dataset.testid || document.activeElement.id"))
    wanted = {
        "preset",
        "text-input",
        "cell-type",
        "hidden-size",
        "num-layers",
        "seed",
        "run",
        "step-first",
        "step-prev",
        "play",
        "step-next",
        "step-last",
        "step-slider",
        "mode-forward",
        "mode-backward",
        "speed",
        "loss",
        "forget-bias",
    }
    assert wanted <= seen, wanted - seen


def test_controls_panel_collapses(probe):
    probe.open()
    width = probe.testid("diagram").bounding_box()["width"]
    probe.page.locator("#toggle-controls").click()
    assert probe.page.locator("#toggle-controls").get_attribute("aria-expanded") == "false"
    assert not probe.testid("run").is_visible()
    probe.page.wait_for_function(
        "w => document.querySelector('[data-testid=diagram]').getBoundingClientRect().width > w + 100", arg=width
    )
    probe.page.locator("#toggle-controls").click()
    assert probe.testid("run").is_visible()


def test_fits_1024_px(probe_1024):
    probe = probe_1024
    probe.open()
    overflow = probe.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    for name in ("preset", "run", "step-next", "step-slider", "mode-backward", "current-step", "diagram"):
        box = probe.testid(name).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1024, name


@pytest.mark.screenshots
def test_screenshots_for_a_person(probe, probe_1024):
    """Forward and backward mode at 1280 and 1024 px, written to artifacts/screenshots/."""
    written = []
    for p, width in ((probe, 1280), (probe_1024, 1024)):
        p.open("?preset=sine&layers=2")
        p.testid("step-next").click()
        p.testid("step-next").click()
        p.testid("step-next").click()
        p.wait_drawn_step(4)
        written.append(p.screenshot(f"forward-{width}.png"))
        p.testid("mode-backward").click()
        p.wait_drawn_step(24)
        for _ in range(6):
            p.page.keyboard.press("ArrowRight")
        p.wait_drawn_step(18)
        written.append(p.screenshot(f"backward-{width}.png"))
    probe.open()
    probe.testid("step-last").click()
    probe.wait_drawn_step(10)
    written.append(probe.screenshot("forward-hello-1280.png"))
    for path in written:
        assert path.stat().st_size > 10_000


# The first filled brick of strip:f: its pixel on the strips' canvas, the colour the page's
# value rule gives its value (core/colors.js, imported from the page's own scripts), and where
# it is on the page.
STRIP_BRICK = r"""async () => {
  const canvas = document.querySelector('.diagram-strips');
  const strip = canvas.strips.find((d) => d.name === 'strip:f');
  const gd = document.querySelector('[data-testid=diagram]');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const zr = strip.z.findIndex((r) => r.some((v) => v !== null));
  const col = strip.z[zr].findIndex((v) => v !== null);
  const cx = xa._offset + xa.l2p((strip.x[col] + strip.x[col + 1]) / 2);
  const cy = ya._offset + ya.l2p((strip.y[zr] + strip.y[zr + 1]) / 2);
  const ratio = window.devicePixelRatio || 1;
  const got = Array.from(canvas.getContext('2d').getImageData(Math.round(cx * ratio), Math.round(cy * ratio), 1, 1).data);
  const base = document.querySelector('script[type=module][src*="/static/js/main.js"]').src.replace(/main\.js$/, '');
  const colors = await import(base + 'core/colors.js');
  const at = (strip.z[zr][col] - strip.zmin) / (strip.zmax - strip.zmin);
  const want = [...colors.hexToRgb(colors.colorAt(strip.colorscale, at)), 255];
  const box = gd.getBoundingClientRect();
  return { got, want, value: strip.z[zr][col], x: box.left + cx, y: box.top + cy };
}"""


def test_gate_strips_are_painted_under_the_frame_and_tell_their_value(probe):
    """The strips are a canvas under the frame's traces: each brick has the colour of its
    value on the gate's scale, and hovering it tells the gate, step, layer, unit and value."""
    probe.open()
    brick = probe.page.evaluate(STRIP_BRICK)
    assert all(abs(a - b) <= 2 for a, b in zip(brick["got"], brick["want"], strict=True)), brick
    probe.page.mouse.move(brick["x"], brick["y"])
    tip = probe.page.locator(".strip-tip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert text.startswith("forget gate f") and "t = 1 · layer 1 · unit 1" in text, text
    assert float(text.split("=")[-1].strip().replace("\u2212", "-")) == pytest.approx(brick["value"], rel=1e-3)
    probe.page.mouse.move(1, 1)
    tip.wait_for(state="hidden")
