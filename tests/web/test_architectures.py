"""Bidirectional layers, an LSTM's projection and a saved model's own architecture, in real
headless Chromium against the real server.

What is checked is what the page says it drew (data attributes of the diagram, the cell view,
the equations and the heatmaps; the traces' own data), never timings.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import httpx2
import numpy as np
import pytest

from tests.web.conftest import READY_TIMEOUT_MS

pytestmark = pytest.mark.browser

T = 10  # "hello world": 10 steps

ARROWHEADS = """() => {
  const heads = document.querySelector('[data-testid=diagram]').data.find((d) => d.name === 'arrowheads');
  const out = {};
  heads.customdata.forEach((meta, j) => {
    const key = meta.split(':').slice(0, 2).join(':');
    (out[key] = out[key] || []).push([heads.marker.symbol[j], heads.x[j]]);
  });
  return out;
}"""

TRACE = """(name) => {
  const d = document.querySelector('[data-testid=diagram]').data.find((q) => q.name === name);
  return { x: d.x, y: d.y, text: d.text };
}"""


def drawn(probe) -> dict:
    return probe.drawn()


def wait_positions(probe, positions: str) -> None:
    probe.page.wait_for_function(
        "p => document.querySelector('[data-testid=diagram]').dataset.positions === p",
        arg=positions,
        timeout=READY_TIMEOUT_MS,
    )


def wait_cell(probe, **want) -> None:
    probe.page.wait_for_function(
        """(want) => {
          const d = document.querySelector('[data-testid=cell-detail]').dataset;
          return Object.entries(want).every(([k, v]) => d[k] === v);
        }""",
        arg={k: str(v) for k, v in want.items()},
        timeout=READY_TIMEOUT_MS,
    )


def trace(server_url: str, body: dict) -> dict:
    response = httpx2.post(f"{server_url}/api/backward", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def test_a_bidirectional_model_from_the_controls_draws_both_directions(probe):
    probe.open("?hidden=4")
    assert not probe.testid("merge-mode").is_enabled()  # merging needs two directions
    probe.testid("bidirectional").check()
    assert probe.testid("merge-mode").is_enabled()
    probe.testid("num-layers").fill("2")
    probe.testid("run").click()
    probe.page.wait_for_function("() => location.search.includes('bi=true')", timeout=READY_TIMEOUT_MS)
    probe.wait_ready()
    info = drawn(probe)
    # One row per (layer, direction), bottom to top: each reverse row under its forward row.
    assert info["rows"] == "1:reverse 1:forward 2:reverse 2:forward"
    assert info["positions"] == f"forward:1 reverse:{T}"
    assert "bidirectional" in probe.page.locator("#summary").text_content()
    ticks = probe.page.evaluate("() => document.getElementById('diagram-static').layout.yaxis.ticktext")
    assert sum("forward →" in t for t in ticks) == 2 and sum("← reverse" in t for t in ticks) == 2
    # Forward pass at t = 1: the forward rows point right, the reverse rows left, and the
    # reverse rows' initial state enters on the right (h₁₁ = h_{T+1}).
    heads = probe.page.evaluate(ARROWHEADS)
    assert {s for s, _ in heads["h:forward"]} == {"triangle-right"}
    assert {s for s, _ in heads["h:reverse"] + heads["c:reverse"]} == {"triangle-left"}
    assert min(x for _, x in heads["h:reverse"]) > max(x for _, x in heads["h:forward"])
    edges = probe.page.evaluate(TRACE, "edges-reverse")
    assert set(edges["text"]) == {"c₁₁", "h₁₁"}
    assert min(edges["x"]) > max(probe.page.evaluate(TRACE, "edges")["x"])
    reverse_step = probe.testid("reverse-step")
    assert reverse_step.is_visible() and reverse_step.get_attribute("data-step") == str(T)

    # Stepping: the forward direction goes 1 -> 2, the reverse one T -> T-1.
    probe.testid("step-next").click()
    wait_positions(probe, f"forward:2 reverse:{T - 1}")
    assert probe.testid("current-step").text_content() == f"t = 2 / {T}"
    assert reverse_step.get_attribute("data-step") == str(T - 1)
    # Both rows are outlined at their own cells (4 rows: 4 boxes).
    outline = probe.page.evaluate(TRACE, "highlight")
    assert outline["x"].count(None) == 3
    heads = probe.page.evaluate(ARROWHEADS)
    assert len(heads["h:reverse"]) == len(heads["h:forward"])  # each has read two inputs

    # Backward: BPTT starts at t = T for the forward direction and at t = 1 for the reverse one;
    # their gradients flow against their own arrows.
    probe.testid("mode-backward").click()
    wait_positions(probe, f"forward:{T} reverse:1")
    probe.testid("step-prev").click()  # t - 1: the next step of the backward walk
    wait_positions(probe, f"forward:{T - 1} reverse:2")
    heads = probe.page.evaluate(ARROWHEADS)
    assert {s for s, _ in heads["c:forward"]} == {"triangle-left"}
    assert {s for s, _ in heads["c:reverse"]} == {"triangle-right"}
    assert "← reverse t = 1 → 10" in probe.page.locator("#walk").text_content()


def test_the_cell_view_and_the_explanation_show_the_reverse_direction(probe, server_url):
    api = trace(
        server_url, {"cell": "lstm", "hidden_size": 4, "bidirectional": True, "text": "hello world", "precision": 6}
    )
    reverse = api["layers"][0]["reverse"]
    probe.open("?hidden=4&bi=true&t=3")
    wait_cell(probe, step=3, direction="forward")
    assert probe.page.locator("#cell-direction-field").is_visible()
    probe.testid("cell-direction").select_option("reverse")
    # At walk step 3 the reverse direction is at t = T + 1 - 3 = 8.
    wait_cell(probe, step=8, direction="reverse")
    assert "← reverse" in probe.page.locator("#cell-where").text_content()
    assert "the reverse direction" in probe.page.locator("#heat-hint").text_content()
    labels = probe.page.locator("[data-testid=cell-detail] text.label").all_text_contents()
    assert any(label.replace(" ", "") == "ct+1" for label in labels), labels  # its previous state
    captions = probe.page.locator("[data-testid=cell-detail] text.caption").all_text_contents()
    assert "from step t+1" in captions and "to step t−1" in captions
    # The equations read the reverse direction's numbers, its previous cell state at t + 1.
    probe.wait_attr("equations", "direction", "reverse")
    nums = probe.page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid=equations] .eq-n[data-q]')]
             .map((el) => [el.dataset.q, Number(el.dataset.value)]).reverse())"""
    )
    t = 7
    assert nums["c"] == reverse["c"][t][0] and nums["c_prev"] == reverse["c"][t + 1][0]
    probe.wait_attr("heatmaps", "direction", "reverse")
    probe.wait_attr("explain-context", "direction", "reverse")
    assert "reverse direction ← at t = 8" in probe.testid("explain-context").inner_text()
    assert probe.drawn()["direction"] == "reverse"
    probe.page.wait_for_function("() => location.search.includes('dir=reverse')", timeout=READY_TIMEOUT_MS)
    # The explanation's switch goes back to the forward direction.
    probe.testid("explain-switch").click()
    wait_cell(probe, step=3, direction="forward")
    assert probe.testid("cell-direction").input_value() == "forward"
    # Clicking a reverse cell in the diagram selects it, at the walk step where it is computed.
    probe.page.evaluate("() => window.scrollTo(0, 0)")  # the selects above scrolled the diagram away
    probe.page.wait_for_function("() => window.scrollY === 0", timeout=READY_TIMEOUT_MS)
    point = probe.page.evaluate(
        """() => {
          const gd = document.querySelector('[data-testid=diagram]');
          const full = gd._fullLayout;
          const box = gd.getBoundingClientRect();
          return { x: box.left + full.xaxis._offset + full.xaxis.l2p(5), y: box.top + full.yaxis._offset + full.yaxis.l2p(0.5) };
        }"""
    )
    probe.page.mouse.click(point["x"], point["y"])
    wait_cell(probe, step=6, direction="reverse")  # position 6 of the window starting at 1
    assert probe.drawn()["positions"] == "forward:5 reverse:6"


def test_a_projected_lstm_shows_m_and_w_hr(probe, server_url):
    probe.open("?hidden=4&proj=2&t=2")
    wait_cell(probe, step=2)
    svg = probe.page.locator("[data-testid=cell-detail] svg")
    assert svg.get_attribute("data-projected") == "true"
    proj = probe.page.locator("[data-testid=cell-detail] g[data-node=proj]")
    assert proj.count() == 1
    assert proj.locator("text.op-text").text_content() == "Whr·"
    assert proj.locator("text.label").text_content().replace(" ", "") == "ht"
    assert proj.locator("rect.u").count() == 2  # h is proj_size wide
    m = probe.page.locator("[data-testid=cell-detail] g[data-node=mul_h]")
    assert m.locator("text.label").text_content().replace(" ", "") == "mt"
    assert m.locator("rect.u").count() == 4
    rows = probe.page.locator("[data-testid=equations] .eq-row").evaluate_all("els => els.map((e) => e.dataset.row)")
    assert rows[-2:] == ["m", "h"]
    probe.wait_attr("heatmaps", "panels", "f i g o c m h")
    assert "projection to 2" in probe.page.locator("#summary").text_content()
    api = trace(server_url, {"cell": "lstm", "hidden_size": 4, "proj_size": 2, "text": "hello world", "precision": 6})
    value = probe.page.locator("[data-testid=equations] .eq-n[data-q=m]").get_attribute("data-value")
    assert float(value) == api["layers"][0]["m"][1][0]
    # The projection is the LSTM's: a GRU has none, and the field says so.
    probe.testid("cell-type").select_option("gru")
    assert probe.testid("proj-size").is_disabled()


def test_the_textbook_views_stay_one_direction(probe):
    for cell, nodes in (("lstm", 20), ("gru", 9), ("rnn", 6)):
        probe.open(f"?cell={cell}&t=2")
        wait_cell(probe, cell=cell, step=2, direction="forward")
        info = drawn(probe)
        assert info["rows"] == "1:forward" and info["positions"] == "forward:2"
        assert not probe.testid("reverse-step").is_visible()
        assert not probe.page.locator("#cell-direction-field").is_visible()
        assert not probe.testid("explain-context").is_visible()
        assert probe.page.locator("[data-testid=cell-detail] g.node").count() >= nodes
        assert probe.page.evaluate(TRACE, "edges-reverse")["text"] == []
        heads = probe.page.evaluate(ARROWHEADS)
        assert {s for s, _ in heads["h:forward"]} == {"triangle-right"}


def test_korean_names_the_directions(probe):
    probe.open("?hidden=4&bi=true&lang=ko")
    ticks = probe.page.evaluate("() => document.getElementById('diagram-static').layout.yaxis.ticktext")
    assert any("정방향 →" in t for t in ticks) and any("← 역방향" in t for t in ticks)
    assert probe.testid("reverse-step").text_content() == f"← 역방향: t = {T}"
    assert "양방향" in probe.page.locator("#summary").text_content()
    assert "정방향(→)" in probe.testid("explain-context").inner_text()
    assert probe.testid("explain-switch").text_content() == "역방향(←) 보기"
    options = probe.testid("cell-direction").locator("option").all_text_contents()
    assert options == ["정방향 →", "← 역방향"]


def test_a_saved_models_architecture_is_its_own(probe, server_url):
    hidden, vocab = 3, 8  # the distinct characters of "hello world"
    weights = {}
    for suffix in ("", "_reverse"):
        weights[f"weight_ih_l0{suffix}"] = [
            [0.01 * ((r * 7 + c) % 5 - 2) for c in range(vocab)] for r in range(4 * hidden)
        ]
        weights[f"weight_hh_l0{suffix}"] = [
            [0.02 * ((r + c) % 3 - 1) for c in range(hidden)] for r in range(4 * hidden)
        ]
        weights[f"bias_ih_l0{suffix}"] = [0.0] * (4 * hidden)
        weights[f"bias_hh_l0{suffix}"] = [0.1] * (4 * hidden)
    upload = httpx2.post(
        f"{server_url}/api/models",
        files={"file": ("bi.json", json.dumps(weights), "application/json")},
        data={"name": "two directions", "vocab": json.dumps(sorted(set("hello world")))},
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
        # The model's own architecture is shown, locked, and left out of the link.
        assert probe.testid("bidirectional").is_checked() and probe.testid("bidirectional").is_disabled()
        assert probe.testid("bias").is_checked() and probe.testid("bias").is_disabled()
        assert probe.testid("proj-size").is_disabled()
        assert drawn(probe)["rows"] == "1:reverse 1:forward"
        query = parse_qs(urlparse(probe.page.url).query)
        assert "bi" not in query and "proj" not in query
    finally:
        httpx2.delete(f"{server_url}/api/models/{model_id}", timeout=30)


def embedding_model_bytes(words: list[str], dim: int = 4, hidden: int = 3) -> bytes:
    """A bidirectional word model in PyTorch's naming: embedding -> LSTM (both directions) -> head."""
    from safetensors.numpy import save

    rng = np.random.default_rng(0)
    vocab = len(words)
    tensors = {"embedding.weight": rng.normal(size=(vocab, dim))}
    for suffix in ("", "_reverse"):
        tensors[f"weight_ih_l0{suffix}"] = rng.normal(scale=0.5, size=(4 * hidden, dim))
        tensors[f"weight_hh_l0{suffix}"] = rng.normal(scale=0.5, size=(4 * hidden, hidden))
        tensors[f"bias_ih_l0{suffix}"] = rng.normal(scale=0.1, size=4 * hidden)
        tensors[f"bias_hh_l0{suffix}"] = rng.normal(scale=0.1, size=4 * hidden)
    tensors["head.weight"] = rng.normal(size=(vocab, 2 * hidden))
    tensors["head.bias"] = np.zeros(vocab)
    return save({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()})


def test_an_embedding_model_from_the_models_panel_shows_its_words(probe, server_url):
    words = ["a", "cat", "dog", "mat", "on", "sat", "the"]
    probe.open()
    probe.testid("model-file").set_input_files(
        {"name": "words.safetensors", "mimeType": "application/octet-stream", "buffer": embedding_model_bytes(words)}
    )
    probe.testid("model-name").fill("bidirectional words")
    probe.testid("model-vocab").fill(json.dumps(words))
    probe.testid("model-upload").click()
    probe.page.wait_for_selector('[data-testid="model-mapping"] tbody tr', timeout=READY_TIMEOUT_MS)
    model_id = probe.testid("model-list").locator("input:checked").input_value()
    try:
        probe.testid("model-open").click()
        probe.page.wait_for_function(f"() => location.search.includes('model={model_id}')", timeout=READY_TIMEOUT_MS)
        probe.wait_ready()
        # The input row shows the words; under them, each word's embedding row (layer 0's x).
        inputs = probe.page.evaluate(TRACE, "inputs")["text"]
        assert inputs and set(inputs) <= set(words)
        strip = probe.page.evaluate(
            "() => document.querySelector('.diagram-strips').strips.find((d) => d.name === 'strip:x').z[0]"
        )
        assert sum(v is not None for v in strip) == 4 * len(inputs)  # 4 numbers per word, all known
        assert "embedding size 4" in probe.page.locator("#summary").text_content()
        assert drawn(probe)["rows"] == "1:reverse 1:forward"
        # Each step's most likely words over the outputs, once both directions have met there.
        probe.testid("step-last").click()
        probe.page.wait_for_function(
            "() => document.querySelector('[data-testid=diagram]').data.find((d) => d.name === 'topk').text.length > 0",
            timeout=READY_TIMEOUT_MS,
        )
        listed = probe.page.evaluate(TRACE, "topk")["text"]
        assert all(line.split(" ")[0] in words for line in listed)
        assert probe.page.locator("[data-testid=cell-detail] g[data-node=x] text.caption").text_content() == (
            "the token's embedding row"
        )
    finally:
        httpx2.delete(f"{server_url}/api/models/{model_id}", timeout=30)
