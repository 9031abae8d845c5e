"""The gallery of trained models in the page (issue 16): the page opens on the adding
problem's model, says what to look for in both languages, selects the watched unit and
shows a marked step; the parentheses model opens; the random network is one click away.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

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
