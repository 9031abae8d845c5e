"""Issue 17, the saved-models list: every name reads whole at phone, tablet and desktop widths
(a <select size=5> cut long names off on one line), a keyboard chooses and opens a model, and
a gallery model is listed under its title in the page's language."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx2
import numpy as np
import pytest

from tests.web.conftest import READY_TIMEOUT_MS, Probe

pytestmark = pytest.mark.browser

# 100 characters (the most a name may have), with a 40-letter word no space can break.
LONG_NAME = "A model saved under a long name, which a phone must wrap: " + "Z" * 40 + "!"


def lstm_npz() -> bytes:
    """A tiny PyTorch-named LSTM (3 inputs, 2 units) that reads numbers."""
    hidden, inputs = 2, 3
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(
        buf,
        weight_ih_l0=rng.normal(size=(4 * hidden, inputs)).astype("f4"),
        weight_hh_l0=rng.normal(size=(4 * hidden, hidden)).astype("f4"),
        bias_ih_l0=np.zeros(4 * hidden, "f4"),
        bias_hh_l0=np.zeros(4 * hidden, "f4"),
    )
    return buf.getvalue()


@pytest.fixture
def uploaded(server_url) -> Iterator[str]:
    """A saved model named LONG_NAME (deleted afterwards): its id."""
    answer = httpx2.post(
        f"{server_url}/api/models", files={"file": ("long.npz", lstm_npz())}, data={"name": LONG_NAME}, timeout=60
    )
    assert answer.status_code == 201, answer.text
    model_id = answer.json()["id"]
    yield model_id
    httpx2.delete(f"{server_url}/api/models/{model_id}", timeout=60)


def wait_listed(probe: Probe, model_id: str) -> None:
    probe.page.wait_for_function(
        "id => [...document.querySelectorAll('[data-testid=model-list] input')].some(r => r.value === id)",
        arg=model_id,
        timeout=READY_TIMEOUT_MS,
    )


# Every item of the list: its text fits its box (no part scrolled or clipped away) and the box
# is inside the window; and the page does not scroll sideways.
CUT = """() => {
  const cut = [];
  for (const item of document.querySelectorAll('[data-testid=model-item]')) {
    const text = item.querySelector('.model-item-text');
    const r = item.getBoundingClientRect();
    for (const box of [item, text]) {
      if (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight + 1)
        cut.push(`${box.className}: ${box.scrollWidth}x${box.scrollHeight} in ${box.clientWidth}x${box.clientHeight}: ${item.textContent.slice(0, 40)}`);
    }
    if (r.left < 0 || r.right > innerWidth) cut.push(`outside the window: ${Math.round(r.left)}..${Math.round(r.right)}`);
    if (getComputedStyle(item).display === 'none' || !item.getClientRects().length) cut.push('not shown');
  }
  return {cut, items: document.querySelectorAll('[data-testid=model-item]').length,
          page: document.documentElement.scrollWidth, view: innerWidth};
}"""


def test_every_saved_name_reads_whole_and_a_keyboard_chooses_and_opens_one(sized, uploaded):
    _size, probe = sized
    probe.open()
    wait_listed(probe, uploaded)
    probe.testid("model-list").scroll_into_view_if_needed()
    found = probe.page.evaluate(CUT)
    assert found["items"] >= 2 and found["cut"] == [], found
    assert found["page"] <= found["view"], found
    item = probe.testid("model-item").filter(has=probe.page.locator(f"input[value='{uploaded}']"))
    assert LONG_NAME in item.inner_text()
    # The long name takes more than one line, in the item's own box.
    height = item.evaluate("el => el.querySelector('.model-item-text').getBoundingClientRect().height")
    line = item.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    if _size == "phone":
        assert height > 1.5 * line, (height, line)

    # The keyboard: Tab from the upload button into the list (nothing is chosen yet, so the
    # first radio takes the focus), arrows until the long-named model is chosen, Tab to
    # "Open in the views", Enter.
    assert probe.page.locator("[data-testid=model-list] input:checked").count() == 0
    probe.testid("model-upload").focus()
    probe.page.keyboard.press("Tab")
    focused = probe.page.evaluate("() => document.activeElement.closest('[data-testid=model-list]') !== null")
    assert focused, "Tab from Upload reaches the list"
    probe.page.keyboard.press("Space")
    checked = probe.page.locator("[data-testid=model-list] input:checked")
    for _ in range(found["items"]):
        if checked.input_value() == uploaded:
            break
        probe.page.keyboard.press("ArrowDown")
    assert checked.input_value() == uploaded
    assert probe.page.evaluate("() => document.activeElement.value") == uploaded
    probe.page.keyboard.press("Tab")
    assert probe.page.evaluate("() => document.activeElement.dataset.testid") == "model-open"
    probe.page.keyboard.press("Enter")
    probe.page.wait_for_function(
        "id => new URLSearchParams(location.search).get('model') === id", arg=uploaded, timeout=READY_TIMEOUT_MS
    )
    probe.wait_ready()
    assert LONG_NAME in probe.testid("model-note").inner_text()


def test_a_gallery_model_is_listed_under_its_title_in_the_pages_language(probe, server_url, uploaded):
    gallery = httpx2.get(f"{server_url}/api/gallery", timeout=60).json()
    assert gallery, "the gallery has models"
    probe.open("?lang=ko")
    wait_listed(probe, uploaded)
    for entry in gallery:
        wait_listed(probe, entry["model_id"])

    def listed() -> dict[str, str]:
        return probe.page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('[data-testid=model-item]')]
                 .map(item => [item.querySelector('input').value, item.textContent]))"""
        )

    items = listed()
    for entry in gallery:
        text = items[entry["model_id"]]
        assert text.startswith(entry["title"]["ko"] + " · "), text
        assert entry["title"]["en"] not in text
    # A name someone typed stays as it was typed.
    assert items[uploaded].startswith(LONG_NAME)

    # Choose a gallery model, then switch to English: the same model stays chosen, now under
    # its English title.
    chosen = gallery[0]["model_id"]
    probe.page.locator(f"[data-testid=model-list] input[value='{chosen}']").check()
    # Opened, the note beside the controls names it in the page's language too.
    probe.testid("model-open").click()
    probe.page.wait_for_function(f"() => location.search.includes('model={chosen}')", timeout=READY_TIMEOUT_MS)
    note = probe.page.locator("#model-name")
    probe.page.wait_for_function(
        "t => document.querySelector('#model-name').textContent.includes(t)", arg=gallery[0]["title"]["ko"]
    )
    assert gallery[0]["title"]["en"] not in note.inner_text()
    probe.testid("lang").click()
    probe.page.wait_for_function(
        "t => document.querySelector('#model-name').textContent.includes(t)", arg=gallery[0]["title"]["en"]
    )
    probe.page.wait_for_function(
        "t => [...document.querySelectorAll('[data-testid=model-item]')].some(i => i.textContent.startsWith(t))",
        arg=gallery[0]["title"]["en"],
        timeout=READY_TIMEOUT_MS,
    )
    items = listed()
    for entry in gallery:
        assert items[entry["model_id"]].startswith(entry["title"]["en"] + " · "), items[entry["model_id"]]
    assert items[uploaded].startswith(LONG_NAME)
    assert probe.page.locator("[data-testid=model-list] input:checked").input_value() == chosen
    assert probe.testid("model-list").locator("legend").inner_text() == "Saved models"
