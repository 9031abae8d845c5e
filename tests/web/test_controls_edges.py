"""The controls' rough edges (issue 17): the preset box says "Custom" once the sequence is no
longer the preset's (and the link drops the preset); one rule for when a change shows (a
preset at once, anything else on Run, with a note beside Run and the summary marked out of
date until then); error texts that name their field once, in good grammar; the text box that
grows, counts and refuses beyond its limit instead of cutting.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx2
import pytest

from tests.web.conftest import READY_TIMEOUT_MS

pytestmark = pytest.mark.browser


def params(probe) -> dict:
    return parse_qs(urlparse(probe.page.url).query)


def wait_url(probe, js_condition: str) -> None:
    probe.page.wait_for_function(f"() => {{ const q = new URLSearchParams(location.search); return {js_condition}; }}")


def error_text(probe) -> str:
    probe.page.wait_for_selector("[data-testid=error]:not([hidden])", timeout=READY_TIMEOUT_MS)
    return probe.testid("error").inner_text()


def test_typed_text_makes_the_preset_custom_and_the_link_drops_it(probe):
    probe.open()
    preset = probe.testid("preset")
    assert preset.input_value() == "hello"
    probe.testid("text-input").fill("안녕하세요 여러분")
    assert preset.input_value() == "custom"
    assert preset.locator("option:checked").inner_text() == "Custom"
    assert "A custom sequence" in probe.page.locator("#preset-description").inner_text()
    probe.testid("run").click()
    wait_url(probe, "q.get('text') === '안녕하세요 여러분'")
    probe.wait_ready()
    assert "preset" not in params(probe)
    # A reload keeps the text and still says Custom.
    probe.page.reload()
    probe.wait_ready()
    assert probe.testid("text-input").input_value() == "안녕하세요 여러분"
    assert preset.input_value() == "custom"
    # Back to the preset's own text: its name again, in the box and the link.
    probe.testid("text-input").fill("hello world")
    assert preset.input_value() == "hello"
    probe.testid("run").click()
    wait_url(probe, "q.get('preset') === 'hello' && !q.has('text')")


def test_a_models_numeric_probe_is_not_the_text_preset(probe):
    probe.open(gallery=True)  # the adding problem's LSTM, on its own numeric example
    assert "model" in params(probe)
    assert "preset" not in params(probe)
    assert probe.testid("preset").input_value() == "custom"
    assert "hello world" not in probe.page.locator("#preset-description").inner_text()


def test_a_change_waits_for_run_and_says_so(probe):
    probe.open()
    note = probe.testid("run-stale")
    summary = probe.page.locator("#summary")
    assert not note.is_visible()
    before = summary.inner_text()
    assert "LSTM" in before
    probe.testid("cell-type").select_option("gru")
    assert note.is_visible() and "press Run" in note.inner_text()
    assert summary.get_attribute("data-stale") == "true"
    assert summary.inner_text().startswith("Out of date")
    assert "LSTM" in summary.inner_text()  # still the run on screen, marked as such
    # Changing it back: nothing to run.
    probe.testid("cell-type").select_option("lstm")
    assert not note.is_visible()
    assert summary.get_attribute("data-stale") == "false"
    # Text and sizes too.
    probe.testid("hidden-size").fill("5")
    assert note.is_visible()
    probe.testid("run").click()
    wait_url(probe, "q.get('hidden') === '5'")
    probe.wait_ready()
    assert not note.is_visible()
    assert summary.get_attribute("data-stale") == "false"
    assert "× 5 units" in summary.inner_text()
    probe.testid("text-input").fill("hello there")
    assert note.is_visible()
    # A preset runs at once: no note once it is drawn.
    probe.testid("preset").select_option("hello")
    wait_url(probe, "!q.has('hidden')")
    probe.wait_ready()
    assert not note.is_visible()
    assert summary.get_attribute("data-stale") == "false"


def test_error_texts_name_the_field_once_and_blame_the_right_one(probe):
    probe.allow_error("422")
    probe.open()
    probe.testid("text-input").fill("a")
    probe.testid("run").click()
    text = error_text(probe)
    assert text.startswith("Text: At least 2 tokens"), text
    assert "Text: Text" not in text
    assert probe.testid("error").get_attribute("data-control") == "text"

    probe.testid("text-input").fill("aaaa")
    probe.testid("run").click()
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=error]').textContent.includes('different characters')",
        timeout=READY_TIMEOUT_MS,
    )
    assert probe.testid("error").get_attribute("data-control") == "text"

    probe.testid("text-input").fill("hello world")
    probe.testid("hidden-size").fill("5000")
    probe.testid("run").click()
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=error]').dataset.control === 'hidden'", timeout=READY_TIMEOUT_MS
    )
    assert error_text(probe).startswith("Hidden size: at most")

    probe.testid("hidden-size").fill("8")
    probe.page.locator("#source-numbers").check()
    probe.testid("inputs-input").fill("1 2\n3")
    probe.testid("run").click()
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=error]').dataset.control === 'inputs'", timeout=READY_TIMEOUT_MS
    )
    assert error_text(probe) == "Inputs: line 2 has 1 value; line 1 has 2."


def test_the_text_box_grows_counts_and_refuses_beyond_its_limit(probe, server_url):
    probe.open()
    limit = httpx2.get(f"{server_url}/api/limits", timeout=10).json()["limits"]["max_text_chars"]
    box = probe.testid("text-input")
    assert box.evaluate("el => el.tagName") == "TEXTAREA"
    count = probe.testid("text-count")
    assert count.inner_text().startswith(f"11 / {limit} characters")
    height = box.evaluate("el => el.getBoundingClientRect().height")
    paragraph = ("The quick brown fox jumps over the lazy dog. " * 9)[:400]
    box.fill(paragraph)
    assert count.get_attribute("data-count") == "400"
    assert box.evaluate("el => el.getBoundingClientRect().height") > 2 * height, "the box grows with its text"
    # Enter runs; Shift+Enter starts a new line.
    box.fill("abc")
    box.press("End")
    box.press("Shift+Enter")
    box.type("d")
    assert box.input_value() == "abc\nd"
    box.press("Enter")
    wait_url(probe, "q.get('text') === 'abc\\nd'")
    probe.wait_ready()
    # Beyond the limit: nothing is cut, the counter says so, Run names the field.
    long = "ab" * (limit // 2 + 1)
    box.fill(long)
    assert box.input_value() == long
    assert count.get_attribute("data-over") == "true"
    assert count.inner_text().startswith(f"{len(long)} / {limit}")
    probe.testid("run").click()
    text = error_text(probe)
    assert text.startswith(f"Text: at most {limit} characters; this text has {len(long)}"), text
    assert probe.testid("error").get_attribute("data-control") == "text"
