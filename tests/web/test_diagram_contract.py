"""The diagram's text alternative and keyboard (issue 17): a table of the values at the current
step, per layer (h, c, the gates; their gradients in the backward pass), kept up to date per
frame; a diagram cell and a heatmap unit chosen with the keyboard; Plotly's SVG (a stream of
tick labels) hidden from screen readers behind a label that says what the chart shows.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import READY_TIMEOUT_MS

pytestmark = pytest.mark.browser

TABLE = """() => {
  const box = document.querySelector('[data-testid=diagram-table]');
  return {
    mode: box.dataset.mode, step: box.dataset.step,
    caption: box.querySelector('caption') ? box.querySelector('caption').textContent : null,
    rows: [...box.querySelectorAll('tbody tr')].map((tr) => ({
      layer: tr.dataset.layer, name: tr.dataset.name,
      label: tr.querySelectorAll('th')[1].textContent,
      values: [...tr.querySelectorAll('td[data-value]')].map((td) => Number(td.dataset.value)),
    })),
  };
}"""

EQ_VALUE = """q => {
  const el = document.querySelector(`[data-testid=equations] .eq-n[data-q="${q}"]`);
  return el ? Number(el.dataset.value) : null;
}"""


def wait_table(probe, mode: str, step: int) -> dict:
    probe.page.wait_for_function(
        "([m, s]) => { const box = document.querySelector('[data-testid=diagram-table]');"
        # (the table is filled once opened: its toggle event comes after the click)
        " return box.dataset.mode === m && box.dataset.step === String(s) && box.querySelector('caption'); }",
        arg=[mode, step],
        timeout=READY_TIMEOUT_MS,
    )
    return probe.page.evaluate(TABLE)


def test_the_table_alternative_follows_every_frame(probe):
    probe.open()
    table = probe.testid("diagram-table")
    assert table.locator("summary").inner_text()
    table.locator("summary").click()
    data = wait_table(probe, "forward", 1)
    assert "t = 1" in data["caption"]
    names = [r["name"] for r in data["rows"]]
    assert names == ["f", "i", "g", "o", "c", "h"]
    h = next(r for r in data["rows"] if r["name"] == "h")
    assert len(h["values"]) == 8
    # The same number as the equations print for unit 1 of layer 1.
    probe.wait_attr("equations", "step", "1")
    assert h["values"][0] == probe.page.evaluate(EQ_VALUE, "h")

    probe.testid("step-next").click()
    data = wait_table(probe, "forward", 2)
    probe.wait_attr("equations", "step", "2")
    h2 = next(r for r in data["rows"] if r["name"] == "h")
    assert h2["values"][0] == probe.page.evaluate(EQ_VALUE, "h")
    assert h2["values"] != h["values"]

    probe.testid("mode-backward").click()
    data = wait_table(probe, "backward", 10)
    assert all(r["label"].startswith("dL/d") for r in data["rows"])
    probe.wait_attr("equations", "mode", "backward")
    dh = next(r for r in data["rows"] if r["name"] == "h")
    assert dh["values"][0] == probe.page.evaluate(EQ_VALUE, "dh")


def test_a_diagram_cell_is_chosen_with_the_keyboard_and_opened_in_the_cell_view(probe):
    probe.open("?preset=hello&layers=2")
    diagram = probe.testid("diagram")
    diagram.focus()
    assert probe.page.evaluate("() => document.activeElement.dataset.testid") == "diagram"
    assert "Chosen cell: layer 1, t = 1" in diagram.get_attribute("aria-label")
    probe.page.keyboard.press("ArrowRight")
    probe.wait_drawn_step(2)
    probe.page.keyboard.press("ArrowUp")
    probe.wait_attr("diagram", "layer", "2")
    assert probe.testid("cell-layer").input_value() == "2"
    assert probe.drawn()["step"] == "2"
    assert "Chosen cell: layer 2, t = 2" in diagram.get_attribute("aria-label")
    probe.page.keyboard.press("ArrowUp")  # the top row: stays
    probe.page.keyboard.press("ArrowDown")
    probe.wait_attr("diagram", "layer", "1")
    probe.page.keyboard.press("ArrowUp")
    probe.wait_attr("diagram", "layer", "2")
    probe.page.keyboard.press("Enter")
    probe.page.wait_for_function("() => document.activeElement && document.activeElement.id === 'cell-detail'")
    probe.wait_attr("equations", "layer", "2")


def test_a_heatmap_unit_is_chosen_with_the_keyboard(probe):
    probe.open()
    heat = probe.testid("heatmaps")
    probe.wait_attr("heatmaps", "units", "1")
    heat.focus()
    probe.page.keyboard.press("ArrowDown")
    probe.wait_attr("equations", "unit", "2")
    probe.wait_attr("heatmaps", "units", "2")
    assert "unit 2 of 8" in heat.get_attribute("aria-label")
    probe.page.keyboard.press("ArrowUp")
    probe.wait_attr("equations", "unit", "1")
    probe.page.keyboard.press("ArrowUp")  # unit 1 is the first
    assert probe.testid("equations").get_attribute("data-unit") == "1"
    # The arrows here choose units; the step did not move.
    assert probe.drawn()["step"] == "1"


def test_plotly_svg_is_hidden_behind_labelled_charts(probe):
    probe.open("?preset=hello&text=" + "abcdefghij" * 4)  # long enough for the overview strip
    probe.wait_attr("heatmaps", "units", "1")
    probe.page.wait_for_function(
        "() => document.querySelector('[data-testid=unit-chart] svg.main-svg') !== null", timeout=READY_TIMEOUT_MS
    )
    exposed = probe.page.evaluate(
        """() => [...document.querySelectorAll('#diagram svg.main-svg, #diagram-static svg.main-svg,'
              + ' #overview svg.main-svg, #heatmaps svg.main-svg, #unit-chart svg.main-svg')]
              .filter((el) => el.closest('[aria-hidden=true]') === null).map((el) => (el.closest('[id]') || {}).id)"""
    )
    assert exposed == []
    for testid in ("diagram", "heatmaps", "unit-chart"):
        label = probe.testid(testid).get_attribute("aria-label")
        assert label and len(label) > 20, testid
    probe.testid("step-next").click()
    probe.wait_drawn_step(2)
    assert probe.page.evaluate(
        "() => [...document.querySelectorAll('#diagram svg.main-svg')].every((el) => el.getAttribute('aria-hidden') === 'true')"
    )


def test_the_cell_views_charts_have_table_alternatives(probe):
    probe.open()
    probe.wait_attr("heatmaps", "units", "1")
    heat = probe.testid("heat-table")
    heat.locator("summary").click()
    probe.page.wait_for_selector("[data-testid=heat-table] tbody tr")
    rows = heat.locator("tbody tr")
    assert rows.count() == 8  # every unit
    assert heat.get_attribute("data-step") == "1"
    # Unit 1's h is the number the equations print.
    probe.wait_attr("equations", "step", "1")
    header = heat.locator("thead th").all_text_contents()
    h_col = next(i for i, text in enumerate(header) if "hidden state" in text or text.strip().startswith("h"))
    cell = rows.nth(0).locator("th, td").nth(h_col)
    assert float(cell.get_attribute("data-value")) == probe.page.evaluate(
        "() => Number(document.querySelector('[data-testid=equations] .eq-n[data-q=h]').dataset.value)"
    )
    probe.testid("step-next").click()
    probe.wait_attr("heat-table", "step", "2")

    chart = probe.testid("chart-table-alt")
    chart.locator("summary").click()
    probe.page.wait_for_selector("[data-testid=chart-table-alt] tbody tr")
    assert chart.locator("tbody tr").count() == 10  # every step
    heat_el = probe.testid("heatmaps")
    heat_el.focus()
    probe.page.keyboard.press("ArrowDown")
    probe.wait_attr("chart-table-alt", "units", "2")
    assert "unit 2" in chart.locator("thead").inner_text()


def test_a_run_draws_the_diagrams_frame_once(probe):
    """The cell view restating the focus a frame was built with draws nothing again: a Run
    costs one frame of the diagram (each drawn frame sets data-step)."""
    probe.open()
    probe.page.evaluate(
        """() => { window.__frames = 0; window.__states = [];
             new MutationObserver((records) => { window.__frames += records.length; })
               .observe(document.querySelector('[data-testid=diagram]'), { attributes: true, attributeFilter: ['data-step'] });
             new MutationObserver(() => window.__states.push(document.body.dataset.state))
               .observe(document.body, { attributes: true, attributeFilter: ['data-state'] }); }"""
    )
    probe.testid("run").click()
    probe.page.wait_for_function(
        "() => window.__states.includes('loading') && document.body.dataset.state === 'ready'", timeout=READY_TIMEOUT_MS
    )
    probe.wait_attr("heatmaps", "units", "1")
    probe.page.wait_for_timeout(500)  # anything still queued would land by now
    assert probe.page.evaluate("() => window.__frames") == 1
    # A new frame still draws.
    probe.testid("step-next").click()
    probe.wait_drawn_step(2)
    assert probe.page.evaluate("() => window.__frames") == 2
