"""Issue 17: the page on any screen.  At phone (390 x 844), tablet (768 x 1024) and desktop
(1280 x 900) widths nothing makes the page scroll sideways (the diagram and the cell view
scroll inside their own boxes), every control of the sidebar can be reached (through the
drawer on narrow screens), and no select cuts its options' labels off.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.conftest import Probe, _probe_in

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1280, 900)}


@pytest.fixture(scope="module", params=list(SIZES))
def sized_context(request, browser):
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    yield request.param, context
    context.close()


@pytest.fixture
def sized(sized_context, server_url) -> Iterator[tuple[str, Probe]]:
    name, context = sized_context
    for p in _probe_in(context, server_url):
        yield name, p


OVERFLOW = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  // What sticks out, to say why when it fails.
  wide: [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && el.getClientRects().length)
    .filter((el) => !el.closest('.diagram-panel, .cell-stage') || el.matches('.diagram-panel, .cell-stage'))
    .slice(0, 8)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${[...el.classList].join('.')} ${Math.round(el.getBoundingClientRect().right)}`),
})"""


def assert_no_sideways_scroll(probe: Probe) -> None:
    got = probe.page.evaluate(OVERFLOW)
    assert got["scrollWidth"] <= got["innerWidth"], got


def open_drawer(probe: Probe) -> None:
    """On narrow screens the controls are in a drawer: open it (and check it says so)."""
    button = probe.testid("controls-drawer")
    if not button.is_visible():
        return
    assert button.get_attribute("aria-expanded") == "false"
    assert not probe.testid("run").is_visible(), "the drawer starts closed"
    button.click()
    assert button.get_attribute("aria-expanded") == "true"


@pytest.mark.parametrize("gallery", [True, False], ids=["gallery", "random"])
def test_nothing_scrolls_the_page_sideways(sized, gallery):
    _name, probe = sized
    probe.open(gallery=gallery)
    probe.page.wait_for_selector("[data-testid=diagram] .main-svg")
    assert_no_sideways_scroll(probe)
    open_drawer(probe)
    assert_no_sideways_scroll(probe)


CONTROLS = """() => [...document.querySelectorAll('#controls input, #controls select, #controls textarea, #controls button')]
  .filter((el) => !el.closest('[hidden]') && el.offsetParent !== null || el.type === 'radio')
  .filter((el) => !el.closest('[hidden]'))
  .map((el) => el.id || el.name + ':' + el.value)"""


def test_every_control_in_the_sidebar_is_reachable(sized):
    name, probe = sized
    probe.open()
    open_drawer(probe)
    ids = probe.page.evaluate(CONTROLS)
    assert len(ids) >= 12, ids
    for key in ids:
        if ":" in key:
            name_, value = key.split(":", 1)
            el = probe.page.locator(f'#controls input[name="{name_}"][value="{value}"]')
            # A segmented radio is drawn by its label's text.
            el = el.locator("xpath=..")
        else:
            el = probe.page.locator(f"#{key}")
        el.scroll_into_view_if_needed()
        assert el.is_visible(), key
        box = el.bounding_box()
        width = probe.page.evaluate("window.innerWidth")
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (key, box, width)
    if name != "desktop":
        assert_no_sideways_scroll(probe)


def test_drawer_opens_closes_and_escape_closes(sized):
    name, probe = sized
    probe.open()
    button = probe.testid("controls-drawer")
    if name == "desktop":
        assert not button.is_visible()
        assert probe.testid("run").is_visible()
        return
    open_drawer(probe)
    probe.testid("seed").focus()
    probe.page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false"
    assert not probe.testid("seed").is_visible()
    assert probe.page.evaluate("document.activeElement.id") == "controls-drawer"
    button.click()
    assert probe.testid("seed").is_visible()
    button.click()
    assert not probe.testid("seed").is_visible()


CUT_SELECTS = """() => {
  const probe = document.createElement('span');
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre';
  document.body.append(probe);
  const cut = [];
  for (const select of document.querySelectorAll('#controls select, .player select, .panel-head select')) {
    if (!select.offsetParent) continue;
    const style = getComputedStyle(select);
    probe.style.font = style.font;
    // Room for text: the box less its padding, borders and the drop-down arrow.
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
    for (const option of select.options) {
      probe.textContent = option.textContent;
      if (probe.getBoundingClientRect().width > room) cut.push(`${select.id}: ${option.textContent} (${Math.round(probe.getBoundingClientRect().width)} > ${Math.round(room)})`);
    }
  }
  probe.remove();
  return cut;
}"""


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_no_select_cuts_its_labels_off(sized, lang):
    _name, probe = sized
    probe.open(f"?lang={lang}")
    open_drawer(probe)
    assert probe.page.evaluate(CUT_SELECTS) == []
