"""Issue 17: the page reads before any script runs, and plotly.js never holds its text back.

With JavaScript off, the server's page already has its title, headings and control labels in
the language of the link.  With plotly.js held back on the network, the text has painted and
the diagram's box says it is loading; once plotly.js arrives the first diagram is drawn and
the loading note goes.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import READY_TIMEOUT_MS, _probe_in

pytestmark = pytest.mark.browser

EXPECTED = {
    "en": {
        "title": "LSTM visualiser",
        "headings": ["LSTM visualiser", "Model and sequence", "Guided explanation", "Inside the cell", "Equations"],
        "labels": {"preset": "Preset", "loss": "Loss", "cell-type": "Cell type", "hidden-size": "Hidden size"},
        "run": "Run",
    },
    "ko": {
        "title": "LSTM 시각화 도구",
        "headings": ["LSTM 시각화 도구", "모델과 시퀀스"],
        "labels": {"preset": "예제"},
        "run": "실행",
    },
}


@pytest.fixture(scope="module")
def no_js(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_page_reads_with_javascript_off(no_js, server_url, lang):
    page = no_js.new_page()
    try:
        page.goto(f"{server_url}/" + ("?lang=ko" if lang == "ko" else ""))
        assert page.evaluate("document.body.dataset.state") == "loading", "no script ran"
        want = EXPECTED[lang]
        assert page.title() == want["title"]
        assert page.evaluate("document.documentElement.lang") == lang
        headings = page.locator("h1, h2").all_inner_texts()
        for heading in want["headings"]:
            assert heading in headings, (heading, headings)
        for control, label in want["labels"].items():
            assert page.locator(f'label[for="{control}"]').inner_text() == label
        assert page.get_by_test_id("run").inner_text() == want["run"]
        assert page.get_by_test_id("step-next").get_attribute("aria-label")
        # Every labelled element on screen has its text (none is waiting for a script).
        empty = page.evaluate(
            "() => [...document.querySelectorAll('[data-i18n]')].filter((el) => !el.textContent.trim()).map((el) => el.dataset.i18n)"
        )
        assert empty == []
        if lang == "ko":
            assert page.get_by_test_id("diagram-loading").inner_text() == "다이어그램을 불러오는 중이에요…"
    finally:
        page.close()


@pytest.fixture(scope="module")
def context_cold(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def cold(context_cold, server_url):
    yield from _probe_in(context_cold, server_url)


def test_text_paints_while_plotly_is_still_loading(cold):
    """plotly.js held on the network: the page has painted its text and shows a loading state."""
    held = []
    cold.page.route("**/plotly.min.js", lambda route: held.append(route))
    cold.page.goto(f"{cold.base_url}/", wait_until="commit")
    cold.page.wait_for_selector("[data-testid=diagram-loading]", state="visible", timeout=READY_TIMEOUT_MS)
    cold.page.wait_for_function(
        "() => performance.getEntriesByName('first-contentful-paint').length > 0", timeout=READY_TIMEOUT_MS
    )
    assert held, "plotly.js was asked for"
    assert cold.page.evaluate("typeof window.Plotly") == "undefined"
    assert cold.page.locator("h1").inner_text() == "LSTM visualiser"
    assert cold.page.locator("h1").is_visible()
    assert cold.testid("diagram-loading").inner_text() == "Loading the diagram…"
    # Let it through: the first diagram is drawn and the loading note goes.
    cold.page.unroute("**/plotly.min.js")
    for route in held:
        route.continue_()
    cold.wait_ready()
    cold.page.wait_for_selector("[data-testid=diagram][data-step]", timeout=READY_TIMEOUT_MS)
    assert not cold.testid("diagram-loading").is_visible()
