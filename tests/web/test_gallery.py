"""The gallery of trained models in the page (issue 16): the page opens on the adding
problem's model, says what to look for in both languages, selects the watched unit and
shows a marked step; the parentheses model opens; the random network is one click away.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from tests.web.conftest import READY_TIMEOUT_MS

pytestmark = pytest.mark.browser


def gallery(probe) -> list[dict]:
    return probe.page.evaluate("() => fetch('/api/gallery').then((r) => r.json())")


def entry(probe, task: str) -> dict:
    found = [m for m in gallery(probe) if m["task"] == task and m["cell"] == "lstm"]
    assert found, f"no {task} model in the gallery"
    return found[0]


def query(probe) -> dict:
    return parse_qs(urlparse(probe.page.url).query)


def test_opens_on_the_adding_model_with_its_mechanism_selected(probe):
    probe.open(gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    adding = entry(probe, "adding")
    watch = adding["watch"][0]
    # The saved model runs, its title and what to look for are on screen.
    assert query(probe)["model"] == [adding["model_id"]]
    assert probe.testid("model-note").is_visible()
    assert probe.testid("gallery-title").inner_text() == adding["title"]["en"]
    assert probe.testid("gallery-what").inner_text() == adding["what_to_look_for"]["en"]
    assert probe.testid(f"gallery-open-{adding['name']}").get_attribute("aria-pressed") == "true"
    # The watched unit is selected in the cell view (1-based on the page), on its layer.
    unit = watch["unit"] + 1
    assert probe.testid("cell-detail").get_attribute("data-units") == str(unit)
    assert probe.testid("cell-layer").input_value() == str(watch["layer"] + 1)
    assert str(unit) in probe.testid("gallery-watch").inner_text()
    # The diagram shows the first marked step (the marker is the second input feature).
    marked = [t + 1 for t, row in enumerate(adding["example"]["inputs"]) if row[1] == 1]
    assert len(marked) == 2
    assert probe.drawn()["step"] == str(marked[0])
    steps = probe.testid("gallery-step")
    assert [int(steps.nth(i).get_attribute("data-step")) for i in range(steps.count())] == marked
    # ... and the other marked step is one click away.
    steps.nth(1).click()
    probe.wait_drawn_step(marked[1])
    # The verified figures are listed.
    metrics = probe.testid("gallery-metrics").inner_text()
    assert "0.001071" in metrics and "0.1695" in metrics
    assert probe.unexpected_errors() == []


def test_korean(probe):
    probe.open("?lang=ko", gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    adding = entry(probe, "adding")
    assert probe.testid("gallery-title").inner_text() == adding["title"]["ko"]
    assert probe.testid("gallery-what").inner_text() == adding["what_to_look_for"]["ko"]
    assert "학습된 모델" in probe.testid("gallery").inner_text()
    # The language toggle relabels it back to English.
    probe.testid("lang").click()
    probe.page.wait_for_function("() => document.body.dataset.lang === 'en'")
    assert probe.testid("gallery-what").inner_text() == adding["what_to_look_for"]["en"]
    assert probe.unexpected_errors() == []


def test_opens_the_parentheses_model(probe):
    probe.open(gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    dyck = entry(probe, "dyck")
    probe.testid(f"gallery-open-{dyck['name']}").click()
    probe.wait_attr("gallery", "active", "dyck")
    probe.wait_ready()
    assert query(probe)["model"] == [dyck["model_id"]]
    assert probe.testid("text-input").input_value() == dyck["example"]["text"]
    assert probe.testid("gallery-title").inner_text() == dyck["title"]["en"]
    assert probe.testid("cell-detail").get_attribute("data-units") == str(dyck["watch"][0]["unit"] + 1)
    # The step shown is the deepest nesting of the example.
    depth, best, at = 0, 0, 1
    for i, ch in enumerate(dyck["example"]["text"]):
        depth += 1 if ch == "(" else -1
        if depth > best:
            best, at = depth, i + 1
    assert probe.drawn()["step"] == str(at)
    # A reload keeps the model (the URL holds it) and says what to look for again.
    probe.page.reload()
    probe.wait_ready()
    probe.wait_attr("gallery", "active", "dyck")
    assert probe.unexpected_errors() == []


def test_random_network_is_one_click_away(probe):
    probe.open(gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    probe.testid("gallery-random").click()
    probe.wait_attr("gallery", "active", "random")
    probe.wait_ready()
    assert "model" not in query(probe)
    assert probe.testid("model-note").is_hidden()
    assert probe.testid("gallery-random").get_attribute("aria-pressed") == "true"
    # The URL now names the random network, so a reload stays on it.
    probe.page.reload()
    probe.wait_ready()
    probe.wait_attr("gallery", "active", "random")
    assert probe.unexpected_errors() == []


def test_a_link_with_a_view_keeps_it(probe):
    probe.open("?preset=sine&hidden=4")
    probe.wait_attr("gallery", "active", "random")
    assert query(probe)["hidden"] == ["4"]
    assert probe.testid(f"gallery-open-{entry(probe, 'adding')['name']}").is_visible()


def js_sig(v: float, digits: int = 3) -> str:
    """The page's sig(): JavaScript's toPrecision / toExponential, with a real minus sign."""
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        text = f"{v:#.{digits}g}".rstrip(".")
    else:
        mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
        text = f"{mantissa}e{int(exponent):+d}"
    return text.replace("-", "−", 1)  # like the page: the first minus, the sign's or the exponent's


def trace(probe, item: dict) -> dict:
    body = {**item["example"], "model_id": item["model_id"]}
    return probe.page.evaluate(
        "b => fetch('/api/backward', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(b)}).then((r) => r.json())",
        body,
    )


def open_entry(probe, item: dict) -> None:
    """Open a model by its card and wait for its own path: the task alone does not tell the
    adding LSTM from the adding RNN, so wait for this card to be the pressed one."""
    probe.testid(f"gallery-open-{item['name']}").click()
    probe.page.wait_for_selector(
        f'[data-testid="gallery-open-{item["name"]}"][aria-pressed="true"]', timeout=READY_TIMEOUT_MS
    )
    probe.wait_attr("gallery", "active", item["task"])
    probe.page.wait_for_selector("[data-testid=gallery-tour-stop]")


def tour_texts(probe) -> list[str]:
    return probe.testid("gallery-tour-text").all_inner_texts()


def test_guided_path_reads_the_adding_models_numbers_and_goes_to_each_view(probe):
    """The LSTM's path: the input gate at the marks, the cell's changes, the answer, and the
    gradient reaching the first mark, each number recomputed here from the API's trace."""
    probe.open(gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    item = entry(probe, "adding")
    layer = trace(probe, item)["layers"][0]
    u = item["watch"][0]["unit"]
    marks = [t for t, row in enumerate(item["example"]["inputs"]) if row[1] == 1]
    i = np.array(layer["i"])[:, u]
    c = np.array(layer["c"])[:, u]
    rest = np.delete(i, marks)
    change = np.diff(np.concatenate([[0.0], c]))
    forget = np.prod(np.array(layer["f"])[marks[0] + 1 :, u])
    texts = tour_texts(probe)
    assert len(texts) == 4
    views = [s.get_attribute("data-view") for s in probe.testid("gallery-tour-stop").all()]
    assert views == ["diagram", "cell", "heatmaps", "flow"]
    # The claims the sentences make hold on these numbers...
    assert min(i[marks]) > 0.5 and rest.mean() < 0.1
    assert max(abs(np.delete(change, marks))) < 0.2 * min(abs(change[marks]))
    assert forget >= 0.05 and "still reaches" in texts[3]
    # ... and the sentences print them.
    for value in (i[marks[0]], i[marks[1]], rest.mean()):
        assert js_sig(value) in texts[0]
    for value in (*change[marks], max(abs(np.delete(change, marks)))):
        assert js_sig(value) in texts[1]
    assert js_sig(c[-1]) in texts[2]
    assert js_sig(np.array(layer["grad"]["c"])[marks[0], u]) in texts[3] and js_sig(forget) in texts[3]
    assert f"unit {u + 1}" in texts[0]
    # Each stop shows its pass and step, and brings its view on screen.
    go = probe.testid("gallery-tour-go")
    go.nth(3).click()
    probe.page.wait_for_selector("[data-testid=mode-backward][aria-pressed=true]")
    probe.wait_drawn_step(marks[0] + 1)
    assert go.nth(3).get_attribute("aria-current") == "step"
    assert probe.page.evaluate(
        "() => { const r = document.querySelector('#diagram-panel').getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }"
    )
    go.nth(2).click()
    probe.page.wait_for_selector("[data-testid=mode-forward][aria-pressed=true]")
    probe.wait_drawn_step(len(item["example"]["inputs"]))
    assert probe.page.evaluate(
        "() => { const r = document.querySelector('.heat-panel').getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }"
    )
    assert probe.unexpected_errors() == []


def test_guided_path_shows_the_rnn_gradient_vanishing_and_the_gru_keeping_it(probe):
    probe.open(gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    models = {m["cell"]: m for m in gallery(probe) if m["task"] == "adding"}
    rnn, gru = models["rnn"], models["gru"]
    open_entry(probe, rnn)
    g = np.linalg.norm(np.array(trace(probe, rnn)["layers"][0]["grad"]["h"]), axis=1)
    texts = tour_texts(probe)
    assert g[0] / g[-1] < 1e-6
    assert js_sig(g[0] / g[-1]) in texts[3] and "shrinks" in texts[3]
    open_entry(probe, gru)
    layer = trace(probe, gru)["layers"][0]
    u = gru["watch"][0]["unit"]
    marks = [t for t, row in enumerate(gru["example"]["inputs"]) if row[1] == 1]
    z = np.array(layer["z"])[:, u]
    texts = tour_texts(probe)
    assert max(z[marks]) < 0.5 and np.delete(z, marks).mean() > 0.9
    assert js_sig(z[marks[0]]) in texts[0] and js_sig(np.delete(z, marks).mean()) in texts[0]
    product = np.prod(z[marks[0] + 1 :])
    assert js_sig(product) in texts[3] and ("still reaches" in texts[3]) == (product >= 0.05)


def test_guided_path_of_the_parentheses_reber_and_code_models(probe):
    probe.open(gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    dyck = entry(probe, "dyck")
    open_entry(probe, dyck)
    # Opened from its card, the model's explanation and path stay in view (no scroll away).
    assert probe.page.evaluate(
        "() => { const r = document.querySelector('[data-testid=gallery-look]').getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
    )
    layer_c = np.array(trace(probe, dyck)["layers"][0]["c"])
    c = layer_c[:, dyck["watch"][0]["unit"]]
    depth = np.cumsum([1 if ch == "(" else -1 for ch in dyck["example"]["text"]])[: len(c)]
    texts = tour_texts(probe)
    assert js_sig(float(np.corrcoef(c, depth)[0, 1]), 4) in texts[2]
    assert f"reaches {depth.max()}" in texts[0]
    # The counter is visible in the heatmap: the layer's c is coloured on a range that holds it
    # (1, 2, 5, 10, 20 ... fixed for the run), not clipped at -1..1 into one saturated band.
    ranges = dict(
        (item.split(":")[0], float(item.split(":")[2]))
        for item in probe.testid("heatmaps").get_attribute("data-ranges").split()
    )
    zmax = ranges["c"]
    # ... and the heatmaps' own colour key names that range (the cell view's key is −1..1).
    assert f"c: −{zmax:g}..{zmax:g}" in probe.testid("heat-legend").inner_text()
    assert abs(c).max() > 1 and abs(layer_c).max() <= zmax < 2.5 * abs(layer_c).max()
    reber = entry(probe, "reber")
    open_entry(probe, reber)
    text = reber["example"]["text"]
    response = trace(probe, reber)
    y = response["output"]["y"][len(text) - 3]  # the prediction after reading the inner E
    vocab = response["vocab"]
    choice, other = text[1], "P" if text[1] == "T" else "T"
    assert y[vocab.index(choice)] > 0.5 > y[vocab.index(other)]
    assert js_sig(y[vocab.index(choice)]) in tour_texts(probe)[2]
    code = entry(probe, "code")
    open_entry(probe, code)
    texts = tour_texts(probe)
    assert len(texts) == 4 and all(texts)
    lead = [i for i, v in enumerate(code["example_features"]["in_indentation"]) if v == 1]
    assert f"t = {lead[0] + 1}" in texts[0]
    assert probe.unexpected_errors() == []


def test_guided_path_in_korean(probe):
    probe.open("?lang=ko", gallery=True)
    probe.wait_attr("gallery", "active", "adding")
    probe.page.wait_for_selector("[data-testid=gallery-tour-stop]")
    texts = tour_texts(probe)
    assert len(texts) == 4
    assert "입력 게이트" in texts[0] and "번 유닛" in texts[0]
    assert probe.testid("gallery-tour-go").nth(0).inner_text().startswith("1. 펼친 그림: 순전파")
    assert probe.unexpected_errors() == []
