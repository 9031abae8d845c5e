"""Issue 17: the page on any screen.  At phone (390 x 844), tablet (768 x 1024) and desktop
(1280 x 900) widths nothing makes the page scroll sideways (the diagram and the cell view
scroll inside their own boxes), every control of the sidebar can be reached (through the
drawer on narrow screens), and no select cuts its options' labels off.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import Probe, take_screenshots

pytestmark = pytest.mark.browser


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


# ---- the cell view on a narrow screen, and small targets (issue 17) ----

CELL_BOX = """() => {
  const box = document.querySelector('[data-testid=cell-detail]');
  const svg = box.querySelector('svg.cell-svg');
  const wrap = box.closest('.cell-scroll');
  const hint = document.querySelector('[data-testid=cell-scroll-hint]');
  const b = box.getBoundingClientRect();
  const r = svg.getBoundingClientRect();
  const scale = r.width / svg.viewBox.baseVal.width;
  // Every node's box in the box's scrolled content: x from the content's left edge.
  const nodes = [...svg.querySelectorAll('g[data-node]')].map((g) => {
    const q = g.getBoundingClientRect();
    return { id: g.dataset.node, left: q.left - b.left + box.scrollLeft, right: q.right - b.left + box.scrollLeft, top: q.top - b.top, bottom: q.bottom - b.top };
  });
  const fonts = [...svg.querySelectorAll('text')].filter((el) => el.textContent.trim())
    .map((el) => parseFloat(getComputedStyle(el).fontSize) * scale);
  return {
    left: b.left, right: b.right, height: box.clientHeight, clientWidth: box.clientWidth, scrollWidth: box.scrollWidth,
    scrollLeft: box.scrollLeft, inner: window.innerWidth, nodes, smallestText: Math.min(...fonts),
    fades: { ...wrap.dataset }, hint: !hint.hidden && hint.textContent.trim().length > 0,
    tabIndex: box.getAttribute('tabindex'), role: box.getAttribute('role'), label: box.getAttribute('aria-label'),
  };
}"""


def cell_box(probe: Probe) -> dict:
    return probe.page.evaluate(CELL_BOX)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_whole_cell_view_is_legible_and_reachable(sized, lang):
    """Every node of the cell view is inside its box's (scrollable) width, the box inside the
    viewport, and the smallest text is drawn at 9 px or more.  Where the box scrolls (a phone)
    it says so: a fade on the side with more, a hint, and a tab stop with a name whose arrow
    keys scroll it; where it fits (768, 1280) it does none of that."""
    name, probe = sized
    probe.open(f"?lang={lang}")
    probe.page.wait_for_selector("[data-testid=cell-detail] svg.cell-svg g[data-node]")
    got = cell_box(probe)
    assert got["left"] >= 0 and got["right"] <= got["inner"] + 0.5, got
    assert got["smallestText"] >= 9, got["smallestText"]
    assert len(got["nodes"]) >= 15
    for node in got["nodes"]:
        assert node["left"] >= -0.5 and node["right"] <= got["scrollWidth"] + 0.5, node
        assert node["top"] >= -0.5 and node["bottom"] <= got["height"] + 0.5, node
    ids = {n["id"] for n in got["nodes"]}
    assert {"o", "tanh_c", "h_next", "h_up", "c_next"} <= ids
    overflow = got["scrollWidth"] > got["clientWidth"] + 1
    assert overflow == (name == "phone"), got  # 768 and 1280 show the whole cell at once
    if not overflow:
        assert not got["hint"] and got["fades"]["moreRight"] == "false" and got["tabIndex"] != "0"
        return
    assert got["hint"], "the hint says the cell scrolls sideways"
    assert got["fades"] == {"moreLeft": "false", "moreRight": "true", "overflow": "true"}, got
    assert got["tabIndex"] == "0" and got["role"] == "region" and got["label"], got
    # Keyboard: the box takes the focus and its arrow keys scroll it.
    probe.testid("cell-detail").focus()
    for _ in range(4):
        probe.page.keyboard.press("ArrowRight")
    probe.page.wait_for_function("() => document.querySelector('[data-testid=cell-detail]').scrollLeft > 0")
    probe.page.wait_for_function("() => document.querySelector('.cell-scroll').dataset.moreLeft === 'true'")
    assert probe.drawn()["step"] == "1", "the arrows scrolled the box, not the player"
    probe.page.keyboard.press("End")
    probe.page.wait_for_function("() => document.querySelector('.cell-scroll').dataset.moreRight === 'false'")
    # Scrolled to its end, the right part of the cell is inside the viewport.
    got = cell_box(probe)
    for node_id in ("o", "c_next", "h_next"):
        node = next(n for n in got["nodes"] if n["id"] == node_id)
        right_on_screen = node["right"] - got["scrollLeft"] + got["left"]
        assert right_on_screen <= got["inner"] + 0.5, (node, got["scrollLeft"])
    if take_screenshots():
        probe.testid("cell-detail").scroll_into_view_if_needed()
        probe.screenshot(f"cell-view-{name}-{lang}.png")


def test_cell_view_hover_and_click_at_every_width(sized):
    """Hovering a brick of a node on the cell's right-hand side tells its numbers (in a tip
    inside the viewport), and clicking one selects its unit, at phone width too."""
    _name, probe = sized
    probe.open()
    probe.page.wait_for_selector("[data-testid=cell-detail] svg.cell-svg g[data-node]")
    for node in ("o", "h_next", "c_next"):
        brick = probe.page.locator(f'[data-testid=cell-detail] g[data-node="{node}"] rect.u[data-col="1"]')
        brick.hover()
        tip = probe.testid("cell-tip")
        tip.wait_for(state="visible")
        probe.page.wait_for_function(
            "n => { const d = document.querySelector('[data-testid=cell-tip]').dataset; return d.node === n && d.unit === '2'; }",
            arg=node,
        )
        box = tip.bounding_box()
        width = probe.page.evaluate("window.innerWidth")
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (node, box)
        # The tip sits just below the pointer, not over or far from it.
        brick_box = brick.bounding_box()
        pointer_y = brick_box["y"] + brick_box["height"] / 2
        assert pointer_y < box["y"] < pointer_y + 40, (node, box, brick_box)
    probe.page.locator('[data-testid=cell-detail] g[data-node="h_next"] rect.u[data-col="2"]').click()
    probe.wait_attr("cell-detail", "units", "3")


TARGETS = """() => {
  const boxes = {};
  const put = (key, el) => { if (el) { const r = el.getBoundingClientRect(); boxes[key] = { width: r.width, height: r.height }; } };
  put('bidirectional', document.querySelector('[data-testid=bidirectional]').closest('label'));
  put('bias', document.querySelector('[data-testid=bias]').closest('label'));
  put('gradflow-hold', document.querySelector('[data-testid=gradflow-hold]').closest('label'));
  document.querySelectorAll('.explain-dot').forEach((el, k) => put(`explain-dot-${k}`, el));
  return boxes;
}"""


def test_small_targets_are_at_least_24_px(sized):
    """WCAG 2.2 2.5.8: the explanation's step dots, the architecture checkboxes and the
    gradient-flow panel's "forget gate always 1" checkbox each take a pointer over at least
    24 x 24 px, and a click anywhere on that area (here its corner, off the drawn box) acts."""
    _name, probe = sized
    probe.open()
    open_drawer(probe)
    probe.testid("gradflow").scroll_into_view_if_needed()
    probe.page.wait_for_selector("[data-testid=gradflow-hold]")
    boxes = probe.page.evaluate(TARGETS)
    assert {"bidirectional", "bias", "gradflow-hold", "explain-dot-0"} <= set(boxes), boxes
    small = {k: b for k, b in boxes.items() if b["width"] < 24 or b["height"] < 24}
    assert small == {}, small
    for testid in ("bias", "gradflow-hold"):
        box_el = probe.testid(testid)
        label = box_el.locator("xpath=ancestor::label[1]")
        label.scroll_into_view_if_needed()
        before = box_el.is_checked()
        lb = label.bounding_box()
        probe.page.mouse.click(lb["x"] + 1, lb["y"] + 1)  # the target's corner, outside the drawn box
        assert box_el.is_checked() != before, testid


def test_explanation_scrolls_the_cell_box_to_its_nodes_at_phone_width(sized):
    """A step of the explanation about the cell's right-hand side (h_t leaving the cell) has
    those nodes in the visible part of the cell's box: on a phone, where the box scrolls, it
    scrolls to them."""
    name, probe = sized
    probe.open()
    probe.page.wait_for_selector("[data-testid=cell-detail] svg.cell-svg g[data-node]")
    right = {"h_next", "h_up", "mul_h", "proj"}
    dots = probe.page.locator(".explain-dot")
    for k in range(dots.count()):
        dots.nth(k).click()
        emphasis = set((probe.testid("cell-detail").get_attribute("data-emphasis") or "").split())
        if emphasis and emphasis <= right:
            break
    else:
        raise AssertionError("no step of the explanation is about h_t alone")
    if name == "phone":
        probe.page.wait_for_function("() => document.querySelector('[data-testid=cell-detail]').scrollLeft > 0")
    got = cell_box(probe)
    assert emphasis & {n["id"] for n in got["nodes"]}
    for node in got["nodes"]:
        if node["id"] in emphasis:
            shown = (node["left"] - got["scrollLeft"], node["right"] - got["scrollLeft"])
            assert shown[0] >= -0.5 and shown[1] <= got["clientWidth"] + 0.5, (node, got["scrollLeft"])
