"""Issue 17, the panels below the cell view at 390, 768 and 1280 px in English and Korean: every
column of the gradient-flow comparison readable, the chart's axis titles clear of their tick
labels, the LSTM's two paths and the dotted guides told apart and named, no empty chart box
before training, full form rows, the export's Download beside its selects, no "—" standing for
"no parity check", and a file control that speaks the page's language."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # a guard against a hang, not a timing claim


def at(request, width: int):
    return request.getfixturevalue({390: "probe_390", 768: "probe_768", 1280: "probe"}[width])


def open_panels(probe, lang: str) -> None:
    probe.open(f"?lang={lang}")
    probe.wait_attr("gradflow", "state", "ready")
    probe.page.wait_for_selector("#panels[data-ready=true]", timeout=TIMEOUT)


COLUMNS_JS = """
() => {
  // Every value of the comparison is on screen without a sideways scroll, wide enough to read,
  // and named by its column: by a visible header above it, or by the label of its card.
  const wrap = document.querySelector('#gradflow > .panel-table-wrap').getBoundingClientRect();
  const heads = [...document.querySelectorAll('#gradflow > .panel-table-wrap thead th')];
  const headShown = heads.every(h => h.getBoundingClientRect().width > 1);
  const problems = [];
  const rows = [...document.querySelectorAll('#gradflow > .panel-table-wrap tbody tr')];
  for (const row of rows) {
    const cells = [...row.children];
    if (cells.length !== heads.length) problems.push(`row of ${cells.length} cells`);
    cells.forEach((cell, k) => {
      const r = cell.getBoundingClientRect();
      if (r.width < 30 || r.height < 8) problems.push(`${k}: ${Math.round(r.width)}x${Math.round(r.height)}`);
      if (r.left < wrap.left - 1 || r.right > wrap.right + 1) problems.push(`${k} outside ${Math.round(r.left)}..${Math.round(r.right)}`);
      if (k === 0) return;
      const label = getComputedStyle(cell, '::before').content;
      const named = headShown
        ? heads[k].getBoundingClientRect().right <= wrap.right + 1
        : label === JSON.stringify(heads[k].textContent);
      if (!named) problems.push(`${k} not named (${label})`);
    });
  }
  return {rows: rows.length, problems: problems.slice(0, 10), heads: heads.map(h => h.textContent)};
}
"""


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("width", [390, 768, 1280])
def test_every_column_of_the_comparison_is_readable_at_every_width(width, lang, request):
    probe = at(request, width)
    open_panels(probe, lang)
    found = probe.page.evaluate(COLUMNS_JS)
    assert found["rows"] == 3, found
    assert found["problems"] == [], found
    # "t = 1" and "t = T" never break inside ("t =" on one line, "T에서" on the next).
    for head in found["heads"]:
        assert " = " not in head and "t =" not in head and "= 1" not in head, head


AXIS_JS = """
() => {
  const plot = document.querySelector('[data-testid=gradflow-plot]');
  const box = (n) => n.getBoundingClientRect();
  // Clear of each other by at least 4 px, not merely not overlapping (they touched at 2 px).
  const GAP = 4;
  const hit = (a, b) => a.left - GAP < b.right && b.left < a.right + GAP && a.top - GAP < b.bottom && b.top < a.bottom + GAP;
  const out = [];
  for (const axis of ['y', 'x']) {
    const title = plot.querySelector(`.g-${axis}title text`);
    if (!title) { out.push(`no ${axis} title`); continue; }
    const ticks = [...plot.querySelectorAll(`.${axis}axislayer-above .${axis}tick text`)];
    if (!ticks.length) out.push(`no ${axis} ticks`);
    for (const tick of ticks) if (hit(box(title), box(tick))) out.push(`${axis}: title within ${GAP} px of ${tick.textContent}`);
    // Inside the plot's box, not cut at its edge.
    const p = box(plot), t = box(title);
    if (t.left < p.left - 1 || t.bottom > p.bottom + 1) out.push(`${axis} title cut`);
  }
  return out;
}
"""


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("width", [390, 768, 1280])
def test_the_gradient_charts_axis_titles_clear_their_tick_labels(width, lang, request):
    probe = at(request, width)
    open_panels(probe, lang)
    assert probe.page.evaluate(AXIS_JS) == []


def test_the_lstms_two_paths_differ_in_width_and_marker_and_the_dotted_guides_are_named(probe):
    open_panels(probe, "en")
    lines = probe.page.evaluate(
        """() => document.querySelector('[data-testid=gradflow-plot]')._fullData
                 .filter(d => d.meta).map(d => ({meta: d.meta, name: d.name, width: d.line.width, dash: d.line.dash,
                                                  size: d.marker.size}))"""
    )
    h = next(x for x in lines if x["name"].startswith("LSTM") and x["meta"] == "h")
    c = next(x for x in lines if x["meta"] == "c")
    # Where the two coincide, the wide band shows either side of the thin dash-dot line drawn over it.
    assert h["width"] >= c["width"] + 2, (h, c)
    assert h["size"] >= c["size"] + 3, (h, c)
    assert h["dash"] != c["dash"]
    # The dotted lines at 1e-8 and 1e8 have a legend entry of their own.
    guides = probe.page.evaluate(
        """() => document.querySelector('[data-testid=gradflow-plot]')._fullLayout.shapes
                 .filter(s => s.type === 'line').map(s => s.y0)"""
    )
    assert sorted(guides) == [1e-8, 1e8]
    legend = probe.testid("gradflow-legend").inner_text()
    assert "1e-8 and 1e8" in legend and "exploded" in legend, legend
    probe.open("?lang=ko")
    probe.wait_attr("gradflow", "state", "ready")
    assert "회색 점선" in probe.testid("gradflow-legend").inner_text()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("width", [390, 1280])
def test_train_live_shows_a_sentence_not_an_empty_chart_before_training(width, lang, request):
    probe = at(request, width)
    open_panels(probe, lang)
    assert not probe.testid("loss-chart").is_visible()
    assert probe.testid("loss-chart").evaluate("n => n.closest('.panel-chart').getBoundingClientRect().height") == 0
    placeholder = probe.testid("loss-placeholder")
    assert placeholder.is_visible()
    text = placeholder.inner_text()
    assert ("손실 그래프" in text) if lang == "ko" else ("loss chart" in text), text
    # Nothing below the progress bar is an empty box taller than a line of text.
    gap = probe.page.evaluate(
        """() => { const bar = document.querySelector('[data-testid=train-progress]').getBoundingClientRect();
                   const panel = document.querySelector('#train').getBoundingClientRect();
                   return panel.bottom - bar.bottom; }"""
    )
    assert gap < 100, gap


def test_the_loss_chart_replaces_the_sentence_once_there_is_a_loss(probe):
    open_panels(probe, "en")
    probe.testid("train-task").select_option("text")
    probe.testid("train-steps").fill("30")
    probe.testid("train-start").click()
    probe.page.wait_for_selector("[data-testid=loss-chart] .main-svg", timeout=TIMEOUT)
    probe.page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=loss-chart]').dataset.points) > 0", timeout=TIMEOUT
    )
    assert probe.testid("loss-chart").is_visible()
    assert not probe.testid("loss-placeholder").is_visible()
    probe.wait_attr("train", "state", "done")


FULL_ROWS_JS = """
() => {
  // Every row of a form's fields reaches from the form's left edge to its right edge (no row
  // ends in an empty column); the button row is a row of its own.
  const out = [];
  for (const form of document.querySelectorAll('#panels form.panel-controls')) {
    if (!form.getClientRects().length) continue;
    const f = form.getBoundingClientRect();
    const rows = new Map();
    for (const child of form.children) {
      if (!child.getClientRects().length || child.matches('.panel-actions, fieldset')) continue;
      const r = child.getBoundingClientRect();
      const key = [...rows.keys()].find(k => Math.abs(k - r.top) < 4) ?? r.top;
      rows.set(key, [...(rows.get(key) || []), r]);
    }
    for (const boxes of rows.values()) {
      const left = Math.min(...boxes.map(b => b.left)), right = Math.max(...boxes.map(b => b.right));
      if (left > f.left + 2 || right < f.right - 2) out.push(`${form.closest('section').id}: ${Math.round(left)}..${Math.round(right)} of ${Math.round(f.left)}..${Math.round(f.right)}`);
    }
  }
  return out;
}
"""


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_every_form_row_is_full_for_every_task(width, request):
    probe = at(request, width)
    open_panels(probe, "en")
    for train_task in ["text", "sine"]:
        probe.testid("train-task").select_option(train_task)
        for flow_task in ["adding", "copy", "current"]:
            probe.testid("gradflow-task").select_option(flow_task)
            assert probe.page.evaluate(FULL_ROWS_JS) == [], (train_task, flow_task)


@pytest.mark.parametrize("width", [768, 1280])
def test_download_sits_beside_the_export_selects_it_uses(width, request):
    probe = at(request, width)
    open_panels(probe, "en")
    probe.page.wait_for_selector("[data-testid=model-item]", timeout=TIMEOUT)
    boxes = probe.page.evaluate(
        """() => ['export-layout', 'export-format', 'model-download'].map(id => {
              const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
              return {left: r.left, right: r.right, middle: (r.top + r.bottom) / 2}; })"""
    )
    layout, fmt, download = boxes
    assert abs(download["middle"] - fmt["middle"]) <= 3, boxes
    assert layout["right"] < fmt["left"] < fmt["right"] < download["left"], boxes
    assert download["left"] - fmt["right"] < 40, boxes


@pytest.mark.parametrize("width", [390, 1280])
def test_data_table_reads_on_the_line_of_the_download_png_button(width, request):
    probe = at(request, width)
    open_panels(probe, "en")
    # "▶ Data table" reads on the line of the "Download PNG" button beside it.
    middles = probe.page.evaluate(
        """() => { const tools = document.querySelector('#gradflow .chart-tools');
                   const m = (n) => { const r = n.getBoundingClientRect(); return (r.top + r.bottom) / 2; };
                   return [m(tools.querySelector('.chart-download')), m(tools.querySelector('summary'))]; }"""
    )
    assert abs(middles[0] - middles[1]) <= 3 or (width == 390 and middles[1] - middles[0] > 20), middles


def fake_models(route) -> None:
    base = {"cell": "lstm", "num_layers": 1, "hidden_size": 8, "input_size": 3, "vocab": None, "title": None}
    models = [
        {**base, "id": "aaaaaaaaaaaa", "name": "trained here", "parity": None, "created_at": "2026-11-30T23:42:00"},
        {
            **base,
            "id": "bbbbbbbbbbbb",
            "name": "from torch",
            "parity": {"checked": True, "framework": "torch", "max_abs_diff": 3e-8, "matches": True, "probe_steps": 5},
            "created_at": "2026-11-30T23:40:00",
        },
    ]
    route.fulfill(status=200, content_type="application/json", body=json.dumps({"models": models}))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_saved_model_without_a_parity_check_has_no_dash_in_its_line(probe, lang):
    probe.page.route("**/api/models", fake_models)
    open_panels(probe, lang)
    probe.page.wait_for_selector("[data-testid=model-item]", timeout=TIMEOUT)
    lines = probe.page.locator("[data-testid=model-item]").all_inner_texts()
    assert lines[0] == "trained here · LSTM 1 × 8 · 2026-11-30 23:42", lines
    assert "—" not in lines[0]
    assert "✓" in lines[1] and lines[1].startswith("from torch · LSTM 1 × 8 · ✓"), lines


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_file_control_speaks_the_pages_language_and_a_keyboard_reaches_it(probe, lang):
    open_panels(probe, lang)
    button, name = probe.testid("model-file-button"), probe.testid("model-file-name")
    expected = {"en": ("Choose a file…", "No file chosen"), "ko": ("파일 선택…", "선택한 파일이 없어요")}[lang]
    assert (button.inner_text(), name.inner_text()) == expected
    # The native control (whose text is the browser's) shows nothing of itself.
    native = probe.testid("model-file")
    box = native.bounding_box()
    assert box is None or (box["width"] <= 1 and box["height"] <= 1), box
    # A keyboard reaches it, and its focus shows on the button.
    probe.page.locator("#models h2").evaluate("n => { n.tabIndex = -1; n.focus(); }")
    for _ in range(30):
        probe.page.keyboard.press("Tab")
        if native.evaluate("n => n === document.activeElement"):
            break
    assert native.evaluate("n => n === document.activeElement")
    assert button.evaluate("n => getComputedStyle(n).outlineStyle") != "none"
    label = native.evaluate("n => [...n.labels].map(l => l.textContent).join(' ')")
    assert expected[0] in label
    # Tests (and people) still give it files; the line then names the file.
    native.set_input_files(files=[{"name": "weights.npz", "mimeType": "application/octet-stream", "buffer": b"x"}])
    assert name.inner_text() == "weights.npz"
