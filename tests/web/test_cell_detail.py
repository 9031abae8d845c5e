"""The cell view, equations, heatmaps, unit chart, explanation and language toggle in real
headless Chromium against the real server (issue 4).

Waits are on the elements' data attributes (what each view says it drew), never on sleeps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest

from tests.web.conftest import READY_TIMEOUT_MS, SCREENSHOTS

pytestmark = pytest.mark.browser

# The default preset's request, as the page sends it (config.js buildRequest, precision 6).
HELLO = {
    "cell": "lstm",
    "hidden_size": 8,
    "num_layers": 1,
    "seed": 0,
    "precision": 6,
    "loss": {"kind": "cross_entropy"},
    "forget_bias": 0,
    "text": "hello world",
}
H = 8

# Pixel centre (page coordinates) of a data point in a Plotly graph's subplot.
PLOT_POINT = """([selector, x, y, axis]) => {
  const gd = document.querySelector(selector);
  const full = gd._fullLayout;
  const xa = full['xaxis' + axis];
  const ya = full['yaxis' + axis];
  const box = gd.getBoundingClientRect();
  return { x: box.left + xa._offset + xa.l2p(x), y: box.top + ya._offset + ya.l2p(y) };
}"""


def trace(server_url: str, body: dict) -> dict:
    response = httpx2.post(f"{server_url}/api/backward", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def cell_data(probe) -> dict:
    return probe.page.evaluate("() => ({...document.querySelector('[data-testid=cell-detail]').dataset})")


def wait_cell(probe, **want) -> None:
    probe.page.wait_for_function(
        """(want) => {
          const d = document.querySelector('[data-testid=cell-detail]').dataset;
          return Object.entries(want).every(([k, v]) => d[k] === v);
        }""",
        arg={k: str(v) for k, v in want.items()},
        timeout=READY_TIMEOUT_MS,
    )


def hover_brick(probe, node: str, unit: int) -> dict:
    """Hover unit `unit` (1-based) of a node's strip; the tooltip's text and data."""
    brick = probe.page.locator(f'[data-testid=cell-detail] g[data-node="{node}"] rect.u[data-col="{unit - 1}"]')
    brick.hover()
    tip = probe.testid("cell-tip")
    tip.wait_for(state="visible")
    probe.page.wait_for_function(
        "([n, u]) => { const d = document.querySelector('[data-testid=cell-tip]').dataset; return d.node === n && d.unit === u; }",
        arg=[node, str(unit)],
    )
    return {"text": tip.text_content(), **tip.evaluate("el => ({...el.dataset})")}


def eq_numbers(probe) -> dict[str, float]:
    return probe.page.evaluate(
        """() => {
          const out = {};
          for (const el of document.querySelectorAll('[data-testid=equations] .eq-n[data-q]')) {
            if (!(el.dataset.q in out)) out[el.dataset.q] = Number(el.dataset.value);
          }
          return out;
        }"""
    )


def test_cell_view_follows_the_step_and_the_mode(probe):
    probe.open()
    wait_cell(probe, step=1, mode="forward", layer=1, cell="lstm")
    assert probe.page.locator("[data-testid=cell-detail] svg g.node").count() >= 20
    assert probe.testid("slice-node").count() == 1
    probe.testid("step-next").click()
    wait_cell(probe, step=2, mode="forward")
    assert probe.testid("equations").get_attribute("data-step") == "2"
    assert probe.testid("heatmaps").get_attribute("data-step") == "2"
    assert probe.testid("unit-chart").get_attribute("data-step") == "2"
    probe.testid("mode-backward").click()
    wait_cell(probe, step=10, mode="backward")
    assert "backward" in probe.page.locator("[data-testid=cell-detail] svg").get_attribute("class")
    probe.wait_attr("heatmaps", "mode", "backward")
    probe.wait_attr("unit-chart", "mode", "backward")
    names = probe.page.evaluate(
        "() => document.querySelector('[data-testid=heatmaps]').layout.images.map((d) => d.name)"
    )
    assert names == ["heat:f", "heat:i", "heat:g", "heat:o", "heat:c", "heat:h"]
    # The heatmaps' colour key follows the pass: one signed-log scale for every gradient.
    probe.page.wait_for_selector("[data-testid=heat-legend][data-scales='grad:-1:1']")
    assert "dL/df, dL/di, dL/dg, dL/do, dL/dc, dL/dh" in probe.testid("heat-legend").inner_text()
    # Backward labels: gradients at every node.
    labels = probe.page.locator("[data-testid=cell-detail] text.label").all_text_contents()
    for want in ("dht", "dct", "dft", "dit", "dgt", "dot", "dA", "dxt", "dht−1", "dct−1"):
        assert any(label.replace(" ", "").startswith(want) for label in labels), want
    probe.page.keyboard.press("ArrowLeft")  # leftwards, t - 1, in both passes
    wait_cell(probe, step=9, mode="backward")
    assert probe.testid("equations").get_attribute("data-step") == "9"


def test_numbers_shown_equal_the_api_trace(probe, server_url):
    api = trace(server_url, HELLO)
    layer = api["layers"][0]
    order = api["gate_order"]
    probe.open("?t=3")
    wait_cell(probe, step=3, mode="forward")
    t = 2
    tip = hover_brick(probe, "add", 2)
    assert float(tip["value"]) == layer["c"][t][1]
    assert "t = 3" in tip["text"]
    tip = hover_brick(probe, "f", 5)
    assert float(tip["value"]) == layer["f"][t][4]
    # The slice node's f port is A's forget block, found by name in the API's gate order.
    tip = hover_brick(probe, "slice:f", 2)
    assert float(tip["value"]) == layer["a"][t][order.index("f") * H + 1]
    tip = hover_brick(probe, "c_prev", 3)
    assert float(tip["value"]) == layer["c"][t - 1][2]
    # Hover names the slice node.
    probe.testid("slice-node").locator("text.slice-name").hover()
    probe.page.wait_for_function("() => document.querySelector('[data-testid=cell-tip]').dataset.node === 'slice'")
    assert "slice" in probe.testid("cell-tip").text_content().lower()

    probe.page.select_option("[data-testid=eq-unit]", value="4")
    probe.wait_attr("equations", "unit", "4")
    nums = eq_numbers(probe)
    for q, name in (("f", "f"), ("i", "i"), ("g", "g"), ("o", "o"), ("c", "c"), ("h", "h")):
        assert nums[q] == layer[name][t][3], q
    assert nums["c_prev"] == layer["c"][t - 1][3]
    assert nums["A_o"] == layer["a"][t][order.index("o") * H + 3]

    probe.testid("mode-backward").click()
    wait_cell(probe, step=10, mode="backward")
    probe.testid("step-slider").fill("3")
    wait_cell(probe, step=3, mode="backward")
    grad = layer["grad"]
    nums = eq_numbers(probe)
    assert nums["dh"] == grad["h"][t][3]
    assert nums["dh_above"] == grad["h_from_above"][t][3]
    assert nums["dh_next"] == grad["h_from_next"][t][3]
    assert nums["dc"] == grad["c"][t][3]
    assert nums["df"] == grad["f"][t][3]
    assert nums["dA_f"] == grad["a"][t][order.index("f") * H + 3]
    assert nums["dc_prev"] == grad["c_from_next"][t - 1][3]
    assert nums["dh_prev"] == grad["h_from_next"][t - 1][3]
    tip = hover_brick(probe, "h_up", 4)
    assert float(tip["value"]) == grad["h_from_above"][t][3]
    tip = hover_brick(probe, "affine", 2)  # A's first quarter: the API's first block, i
    assert float(tip["value"]) == grad["a"][t][1]
    assert tip["text"].startswith("dA" + order[0])  # a real subscript: dAᵢ


# The colour a heatmap panel's picture has at brick (t, u) (1-based), and the colour the
# page's own value rule (core/colors.js, imported from the page's scripts) gives `value`.
BRICK_COLOUR = r"""async ([name, t, u, steps, units, value, sigmoid, mode, range]) => {
  const gd = document.querySelector('[data-testid=heatmaps]');
  const image = gd.layout.images.find((d) => d.name === 'heat:' + name);
  const img = new Image();
  img.src = image.source;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const x = Math.floor(((t - 0.5) / steps) * img.width);
  const y = Math.floor(((u - 0.5) / units) * img.height);
  const got = Array.from(ctx.getImageData(x, y, 1, 1).data);
  const base = document.querySelector('script[type=module][src*="/static/js/main.js"]').src.replace(/main\.js$/, '');
  const colors = await import(base + 'core/colors.js');
  const rule = colors.valueScale(sigmoid, mode, range);
  const want = [...colors.hexToRgb(colors.colorAt(rule.colorscale, colors.scaleUnit(rule, value))), 255];
  return { got, want };
}"""


def test_heatmap_bricks_are_coloured_from_the_trace_and_tell_their_value(probe, server_url):
    """The pictures the page paints itself: each brick's colour is the value rule's colour for
    the trace's value at that step and unit, and hovering it tells that value."""
    api = trace(server_url, HELLO)["layers"][0]
    probe.open()
    probe.wait_attr("heatmaps", "units", "1")
    steps = len(api["f"])
    for name, sigmoid in (("f", True), ("g", False), ("c", False)):
        for t, u in ((1, 1), (4, 6), (steps, H)):
            value = api[name][t - 1][u - 1]
            got = probe.page.evaluate(BRICK_COLOUR, [name, t, u, steps, H, value, sigmoid, "forward", 1])
            assert all(abs(a - b) <= 2 for a, b in zip(got["got"], got["want"], strict=True)), (name, t, u, got)
    probe.testid("heatmaps").scroll_into_view_if_needed()
    point = probe.page.evaluate(PLOT_POINT, ["[data-testid=heatmaps]", 4, 6, "3"])  # panel 3: g
    probe.page.mouse.move(point["x"], point["y"])
    tip = probe.page.locator(".heat-tip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert "t = 4" in text and "unit 6" in text
    shown = text.split("=")[-1].strip().replace("\u2212", "-")
    assert float(shown) == pytest.approx(api["g"][3][5], rel=1e-3)
    probe.page.mouse.move(1, 1)
    tip.wait_for(state="hidden")
    # The colour key beside them: the gates on 0..1, the rest on -1..1 (this untrained c stays within 1).
    legend = probe.testid("heat-legend")
    assert legend.get_attribute("data-scales") == "sigmoid:0:1 tanh:-1:1"
    assert "f, i, o: 0..1" in legend.inner_text() and "g, c, h: −1..1" in legend.inner_text()


def test_clicking_a_heatmap_unit_highlights_it_everywhere(probe):
    probe.open()
    probe.wait_attr("heatmaps", "units", "1")
    probe.testid("heatmaps").scroll_into_view_if_needed()
    point = probe.page.evaluate(PLOT_POINT, ["[data-testid=heatmaps]", 4, 5, ""])
    probe.page.mouse.click(point["x"], point["y"])
    probe.wait_attr("heatmaps", "units", "5")
    probe.wait_attr("cell-detail", "units", "5")
    probe.wait_attr("unit-chart", "units", "5")
    assert probe.testid("equations").get_attribute("data-unit") == "5"
    assert probe.testid("eq-unit").input_value() == "5"
    shapes = probe.page.evaluate(
        "() => document.querySelector('[data-testid=heatmaps]').layout.shapes.map((s) => s.y0)"
    )
    assert shapes == [4.5] * 6
    # Every strip over the hidden units outlines unit 5.
    outlined = probe.page.locator("[data-testid=cell-detail] g[data-node=add] rect.sel")
    assert outlined.count() == 1
    legend = probe.page.evaluate("() => document.querySelector('[data-testid=unit-chart]').data.map((d) => d.name)")
    assert all("5" in name for name in legend)
    # Shift-click adds a unit.
    point = probe.page.evaluate(PLOT_POINT, ["[data-testid=heatmaps]", 2, 2, "2"])
    probe.page.keyboard.down("Shift")
    probe.page.mouse.click(point["x"], point["y"])
    probe.page.keyboard.up("Shift")
    probe.wait_attr("heatmaps", "units", "5,2")
    assert probe.page.locator("[data-testid=cell-detail] g[data-node=add] rect.sel").count() == 2


def test_clicking_a_cell_in_the_diagram_selects_it(probe):
    probe.open("?layers=2")
    wait_cell(probe, step=1, layer=1)
    point = probe.page.evaluate(
        """() => {
          const gd = document.querySelector('[data-testid=diagram]');
          const full = gd._fullLayout;
          const box = gd.getBoundingClientRect();
          return { x: box.left + full.xaxis._offset + full.xaxis.l2p(3),
                   y: box.top + full.yaxis._offset + full.yaxis.l2p(1.75 + 0.5) };
        }"""
    )
    probe.page.mouse.click(point["x"], point["y"])
    wait_cell(probe, step=4, layer=2)
    assert probe.drawn()["layer"] == "2"
    assert probe.testid("cell-layer").input_value() == "2"
    probe.wait_attr("heatmaps", "layer", "2")
    # Stepping moves the selection along.
    probe.testid("step-next").click()
    wait_cell(probe, step=5, layer=2)


def test_the_selection_inside_the_cell_survives_a_reload(probe):
    probe.open("?layers=2")
    wait_cell(probe, step=1, layer=1)
    probe.testid("cell-layer").select_option("2")
    probe.wait_attr("heatmaps", "layer", "2")
    probe.page.select_option("[data-testid=eq-unit]", value="3")
    probe.wait_attr("heatmaps", "units", "3")
    probe.page.wait_for_function("() => location.search.includes('layer=2') && location.search.includes('units=3')")
    probe.page.reload()
    probe.wait_ready()
    probe.wait_attr("heatmaps", "layer", "2")
    probe.wait_attr("heatmaps", "units", "3")
    assert probe.testid("cell-layer").input_value() == "2"
    assert probe.testid("eq-unit").input_value() == "3"


def test_language_toggle_switches_every_label_and_survives_a_reload(probe):
    probe.open()
    assert probe.testid("lang").text_content() == "한국어"
    probe.testid("lang").click()
    probe.page.wait_for_selector('body[data-lang="ko"]')
    assert probe.page.evaluate("document.documentElement.lang") == "ko"
    check = """async () => {
      const { ko, en } = await import('/static/js/core/i18n.js');
      const wrong = [];
      for (const el of document.querySelectorAll('[data-i18n]')) {
        if (el.offsetParent === null && el.tagName !== 'OPTION') continue;
        const key = el.dataset.i18n;
        if (el.textContent !== ko[key]) wrong.push([key, el.textContent]);
      }
      const english = [...document.querySelectorAll('#detail-area, .player, .controls, .legend, .page-head')]
        .map((el) => el.innerText).join('\\n');
      return { wrong, hasEnglishTitle: english.includes(en['explain.why.title']) };
    }"""
    result = probe.page.evaluate(check)
    assert result["wrong"] == []
    assert not result["hasEnglishTitle"]
    assert probe.testid("run").text_content() == "실행"
    assert probe.testid("mode-forward").text_content() == "순전파"
    assert probe.testid("lang").text_content() == "English"
    assert re.search(r"[가-힣]", probe.testid("explain").inner_text())
    assert re.search(r"[가-힣]", probe.page.locator("[data-testid=cell-detail] svg").text_content())
    assert "망각 게이트" in probe.testid("heatmaps").inner_text()
    assert "손실" in probe.page.locator("#summary").text_content()
    assert probe.page.locator("#preset option[value=hello]").text_content().startswith("텍스트")
    probe.page.wait_for_function("() => location.search.includes('lang=ko')")
    assert parse_qs(urlparse(probe.page.url).query)["lang"] == ["ko"]

    probe.page.reload()
    probe.wait_ready()
    assert probe.page.evaluate("document.documentElement.lang") == "ko"
    assert probe.testid("run").text_content() == "실행"
    assert re.search(r"[가-힣]", probe.testid("explain").inner_text())

    probe.testid("lang").click()
    probe.page.wait_for_selector('body[data-lang="en"]')
    assert probe.testid("run").text_content() == "Run"
    assert probe.page.evaluate("document.documentElement.lang") == "en"
    assert "forget gate" in probe.testid("heatmaps").inner_text()
    probe.page.wait_for_function("() => !location.search.includes('lang=')")


def test_the_guided_explanation_walks_all_its_steps(probe):
    probe.open()
    steps = probe.page.locator("#explain-dots button").count()
    assert steps == 20
    seen = []
    for k in range(1, steps + 1):
        probe.wait_attr("explain", "step", str(k))
        step_id = probe.testid("explain").get_attribute("data-step-id")
        seen.append(step_id)
        emphasis = cell_data(probe)["emphasis"].split()
        assert emphasis, step_id
        assert probe.page.locator("[data-testid=cell-detail] g.node.emph").count() == len(emphasis)
        assert probe.drawn()["emphasis"], step_id
        if step_id == "slice":
            assert "slice" in emphasis
        if k > 7:  # after the forward part's questions, every step is told backward
            wait_cell(probe, mode="backward")
        else:
            assert cell_data(probe)["mode"] == "forward"
        if k < steps:
            probe.testid("explain-next").click()
    assert seen[0] == "why" and seen[6] == "checkForward" and seen[12] == "checkBackward"
    assert seen[-1] == "checkFurther"
    assert probe.testid("explain-next").is_disabled()
    # The comparison step is about the gradient-flow view: it is outlined.
    probe.page.locator("#explain-dots button[data-step='11']").click()
    probe.wait_attr("explain", "step-id", "compare")
    assert "rnn, gru and lstm" in probe.testid("explain").inner_text().lower()
    assert "explain-view" in probe.testid("gradflow").get_attribute("class")
    probe.testid("explain-prev").click()
    probe.wait_attr("explain", "step-id", "vanishing")
    assert "explain-view" not in probe.testid("gradflow").get_attribute("class")
    # Hiding the explanation lifts the emphasis.
    probe.page.locator("#explain-toggle").click()
    probe.wait_attr("cell-detail", "emphasis", "")


def test_export_json_writes_the_trace(probe):
    probe.open("?t=2")
    with probe.page.expect_download() as info:
        probe.testid("export-json").click()
    download = info.value
    assert download.suggested_filename.endswith(".json")
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["format"] == "lstmvis-trace"
    assert data["request"]["text"] == "hello world"
    assert data["view"]["step"] == 2
    assert data["response"]["gate_order"] == ["i", "f", "g", "o"]
    assert len(data["response"]["layers"][0]["grad"]["c"]) == 10
    # Every chart has Plotly's own PNG button.
    for name in ("heatmaps", "unit-chart"):
        assert probe.testid(name).locator(".modebar-btn[data-title]").count() >= 1


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_gru_and_rnn_get_their_own_graphs(probe, cell):
    probe.open(f"?cell={cell}")
    wait_cell(probe, cell=cell, mode="forward")
    assert probe.testid("slice-node").count() == 0
    nodes = probe.page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=cell-detail] g.node')].map((g) => g.dataset.node)"
    )
    if cell == "gru":
        assert {"r", "z", "n", "add", "h_prev", "h_next", "h_up", "x"} <= set(nodes)
    else:
        assert {"affine", "tanh_h", "h_prev", "h_next", "h_up", "x"} <= set(nodes)
    probe.testid("mode-backward").click()
    wait_cell(probe, cell=cell, mode="backward", step=10)
    assert probe.testid("equations").locator(".eq-row").count() >= 4
    assert probe.testid("explain").locator("#explain-note").is_visible()


def test_a_saved_model_runs_through_the_event_and_back(probe, server_url):
    vocab = 8  # the distinct characters of "hello world"
    hidden = 4
    weights = {
        "weight_ih_l0": [[0.01 * (r - c) for c in range(vocab)] for r in range(4 * hidden)],
        "weight_hh_l0": [[0.02 * ((r + c) % 3 - 1) for c in range(hidden)] for r in range(4 * hidden)],
        "bias_ih_l0": [0.0] * (4 * hidden),
        "bias_hh_l0": [0.1] * (4 * hidden),
    }
    upload = httpx2.post(
        f"{server_url}/api/models",
        files={"file": ("tiny.json", json.dumps(weights), "application/json")},
        data={"name": "tiny <test> model"},
        timeout=30,
    )
    assert upload.status_code in (200, 201), upload.text
    model_id = upload.json()["id"]
    try:
        probe.open()
        probe.page.evaluate(
            "(id) => document.dispatchEvent(new CustomEvent('viz:use-model', {detail: {id}}))", model_id
        )
        probe.page.wait_for_function("(id) => location.search.includes('model=' + id)", arg=model_id)
        probe.wait_ready()
        assert "1 × 4 units" in probe.page.locator("#summary").text_content()
        note = probe.testid("model-note")
        note.wait_for(state="visible")
        probe.page.wait_for_function(
            "() => document.getElementById('model-name').textContent.includes('tiny <test> model')"
        )
        assert probe.testid("hidden-size").is_disabled()
        assert probe.testid("cell-type").is_disabled()
        assert probe.testid("hidden-size").input_value() == "4"
        wait_cell(probe, step=1)
        assert probe.page.locator("[data-testid=cell-detail] g[data-node=add] rect.u").count() == hidden
        assert probe.page.locator("img").count() == 0

        probe.testid("use-seeded").click()
        probe.page.wait_for_function("() => !location.search.includes('model=')")
        probe.wait_ready()
        assert not note.is_visible()
        assert not probe.testid("hidden-size").is_disabled()
    finally:
        httpx2.delete(f"{server_url}/api/models/{model_id}", timeout=30)


@pytest.mark.screenshots
def test_screenshots_of_the_cell_view(probe, probe_1024):
    """The cell view in both modes and both languages, at 1280 and 1024 px."""
    written = []
    for p, width in ((probe, 1280), (probe_1024, 1024)):
        for lang in ("en", "ko"):
            query = "?t=4" + ("&lang=ko" if lang == "ko" else "")
            p.open(query)
            wait_cell(p, step=4, mode="forward")
            written.append(SCREENSHOTS / f"cell-forward-{lang}-{width}.png")
            p.page.locator(".cell-panel").screenshot(path=str(written[-1]))
            p.testid("mode-backward").click()
            wait_cell(p, step=10, mode="backward")
            p.testid("step-slider").fill("6")
            wait_cell(p, step=6, mode="backward")
            written.append(SCREENSHOTS / f"cell-backward-{lang}-{width}.png")
            p.page.locator(".cell-panel").screenshot(path=str(written[-1]))
            if width == 1280:
                written.append(p.screenshot(f"detail-backward-{lang}-1280.png"))
    overflow = probe_1024.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    for path in written:
        assert path.stat().st_size > 10_000


def test_the_cell_view_downloads_as_png_and_svg(probe):
    probe.open()
    probe.page.wait_for_selector("[data-testid=cell-detail] svg.cell-svg")
    with probe.page.expect_download() as info:
        probe.testid("cell-export-svg").click()
    svg = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename == "cell-view.svg"
    assert svg.startswith("<svg") and "cell-svg" in svg and "<style" in svg and "data-node" in svg
    with probe.page.expect_download() as info:
        probe.testid("cell-export-png").click()
    assert info.value.suggested_filename == "cell-view.png"
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
