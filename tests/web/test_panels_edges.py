"""Issue 17, the panels below the cell view in real Chromium: the "Why LSTM" chart's lines and
toolbar, a stopped training run, saved models' names, the charts' text alternatives and
contrast, and the panels at phone, tablet and desktop widths."""

from __future__ import annotations

import pytest

from app.api.train import TrainRequest, default_name
from tests.web.conftest import SCREENSHOTS, take_screenshots

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # a guard against a hang, not a timing claim
CHARTS = ["gradflow-plot", "loss-chart", "checkpoint-heatmaps"]


def compare_at(probe, length: int) -> None:
    before = probe.testid("gradflow").get_attribute("data-drawn")
    probe.testid("gradflow-length").fill(str(length))
    probe.page.locator("#gradflow button[type=submit]").click()
    probe.page.wait_for_function(
        """d => { const s = document.querySelector('[data-testid=gradflow]');
                  return s.dataset.drawn !== d && s.dataset.state === 'ready'; }""",
        arg=before,
        timeout=TIMEOUT,
    )


def train(probe, *, steps: int = 40, task: str = "text", text: str | None = None, name: str | None = None) -> None:
    probe.testid("train-task").select_option(task)
    if text is not None:
        probe.testid("train-text").fill(text)
    if name is not None:
        probe.testid("train-name").fill(name)
    probe.testid("train-steps").fill(str(steps))
    # A mark the page overwrites: "done" must be this run's, not the last one's.
    probe.page.evaluate("() => { document.querySelector('[data-testid=train]').dataset.state = 'test-pending'; }")
    probe.testid("train-start").click()
    probe.wait_attr("train", "state", "done")


def test_why_lstm_lines_have_their_own_colours_and_stay_lines_at_T_1000(probe):
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    compare_at(probe, 1000)
    info = probe.page.evaluate(
        """() => {
            const el = document.querySelector('[data-testid=gradflow-plot]');
            const lines = el._fullData.filter(d => d.meta);
            const marks = el._fullData.filter(d => !d.meta);
            return {
              colours: lines.map(d => d.line.color), dashes: lines.map(d => d.line.dash),
              symbols: lines.map(d => d.marker.symbol), points: lines.map(d => d.x.length),
              markPoints: marks.reduce((n, d) => n + d.x.length, 0),
              drawnMarkers: el.querySelectorAll('.scatterlayer .trace .points path').length,
            };
        }"""
    )
    assert info["points"] == [1000] * 4
    for key in ("colours", "dashes", "symbols"):
        assert len(set(info[key])) == 4, (key, info[key])
    # Before: a ring on every vanished step (thousands at T = 1000), merging into grey bars.
    assert info["markPoints"] <= 8
    assert info["drawnMarkers"] <= 4 * 12 + 8, info["drawnMarkers"]
    # The page's own legend names each line with its colour.
    legend = probe.testid("gradflow-legend").locator("li")
    assert legend.count() >= 4
    strokes = probe.page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=gradflow-legend] li[data-kind=line] svg line')].map(l => l.getAttribute('stroke'))"
    )
    assert len(set(strokes)) == 4
    # The dotted guides at 1e-8 and 1e8 have an entry of their own, in their grey.
    assert probe.testid("gradflow-legend").locator("li[data-kind=guide]").count() == 1


def test_the_charts_offer_no_cloud_no_tab_stops_inside_and_a_png_button_of_their_own(probe):
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    train(probe, steps=30)
    probe.page.wait_for_selector("[data-testid=checkpoint-heatmaps] .main-svg", timeout=TIMEOUT)
    for chart in CHARTS:
        found = probe.page.evaluate(
            """id => {
                const el = document.querySelector(`[data-testid="${id}"]`);
                const figure = el.parentElement;
                const buttons = [...figure.querySelectorAll('.modebar-btn')];
                const tabbable = [...figure.querySelectorAll('a[href], button, input, select, [tabindex]')]
                  .filter(n => n.tabIndex >= 0 && !n.disabled);
                return {titles: buttons.map(b => b.getAttribute('data-title') || ''), tabbable: tabbable.length,
                        config: {link: el._context.showLink, cloud: el._context.showSendToCloud,
                                 studio: el._context.showEditInChartStudio}};
            }""",
            chart,
        )
        # Before: Plotly's toolbar, ten buttons and "Share chart" to a cloud service.
        assert found["titles"] == [], (chart, found)
        assert found["tabbable"] == 0, (chart, found)  # nothing focusable inside a role=img figure
        assert not any(found["config"].values()), (chart, found)
        # The chart's own button saves a PNG.
        button = probe.testid(chart).locator("xpath=../following-sibling::div[1]").locator(".chart-download")
        with probe.page.expect_download(timeout=TIMEOUT) as download:
            button.click()
        assert download.value.suggested_filename.endswith(".png"), download.value.suggested_filename


def test_a_cancelled_run_keeps_its_bar_its_axis_follows_the_run_and_it_shows_no_sample(probe):
    probe.open()
    probe.testid("train-task").select_option("text")
    probe.testid("train-steps").fill("20000")
    probe.testid("train-start").click()
    probe.page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=loss-chart]').dataset.points || 0) > 2", timeout=TIMEOUT
    )
    probe.testid("train-cancel").click()
    probe.wait_attr("train", "state", "done")
    assert probe.testid("train").get_attribute("data-reason") == "cancelled"
    progress = probe.testid("train-progress")
    step = int(progress.get_attribute("data-step"))
    value = float(probe.page.evaluate("() => document.querySelector('[data-testid=train-progress]').value"))
    assert 0 < step < 20000
    assert value == pytest.approx(step / 20000)  # not 1: the bar stays where the run stopped
    assert progress.get_attribute("data-reason") == "cancelled"
    status = probe.testid("train").locator("p[role=status]").inner_text()
    assert "cancelled" in status and str(step) in status
    assert "cancelled" in (progress.get_attribute("aria-valuetext") or "")
    # The step axis follows the run, not the 20,000 planned (which the title says).
    axis = probe.page.evaluate(
        """() => { const L = document.querySelector('[data-testid=loss-chart]')._fullLayout;
                   return {range: L.xaxis.range, title: L.xaxis.title.text}; }"""
    )
    assert axis["range"][1] <= max(2 * step, 10), axis
    assert "20000" in axis["title"]
    # Nothing was saved: no sample of a model that does not exist, no "open" button.
    train_text = probe.testid("train").inner_text()
    assert "Nothing was saved" in train_text
    assert probe.testid("train").locator(".sample").inner_text() == ""
    assert not probe.testid("train-open").is_visible()


def test_checkpoint_heatmaps_count_units_from_1_and_every_colour_bar_has_a_title(probe):
    probe.open()
    train(probe, steps=30)
    probe.page.wait_for_selector("[data-testid=checkpoint-heatmaps] .main-svg", timeout=TIMEOUT)
    info = probe.page.evaluate(
        """() => { const el = document.querySelector('[data-testid=checkpoint-heatmaps]');
                   const maps = el._fullData.filter(d => d.type === 'heatmap');
                   return {first: maps.map(d => d.y[0]), last: maps.map(d => d.y[d.y.length - 1]),
                           x0: maps.map(d => d.x[0]),
                           bars: maps.filter(d => d.showscale).map(d => d.colorbar.title.text)}; }"""
    )
    assert set(info["first"]) == {1} and set(info["last"]) == {32}, info
    assert set(info["x0"]) == {1}
    assert len(info["bars"]) == 2 and all(info["bars"]), info
    # And on the page: tick labels of the unit axis include 1, never 0.
    ticks = probe.page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=checkpoint-heatmaps] .ytick text')].map(t => t.textContent)"
    )
    assert "0" not in ticks


def test_the_default_name_tells_runs_apart():
    one = default_name(TrainRequest(text="hello world", steps=40))
    two = default_name(TrainRequest(text="the quick brown fox", steps=40))
    gru = default_name(TrainRequest(cell="gru", hidden_size=8, task="sine", steps=40))
    assert len({one, two, gru}) == 3
    assert one.startswith("LSTM 1×32") and "hello world" in one and "40 steps" in one
    assert gru.startswith("GRU 1×8") and "sine" in gru
    # Line breaks and invisible characters never reach a name; a long text is cut.
    odd = default_name(TrainRequest(text="a\nb\u200bc" + "x" * 200))
    assert "\n" not in odd and "\u200b" not in odd and len(odd) <= 100 and "…" in odd


def test_saved_models_are_named_from_their_run_or_as_the_user_says(probe):
    probe.open()
    train(probe, steps=20, text="first text here")
    train(probe, steps=20, text="second words", name="my own name")
    # The list refreshes itself once a run has saved a model.
    probe.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=model-list] label')].some(o => o.textContent.startsWith('my own name'))",
        timeout=TIMEOUT,
    )
    options = probe.page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=model-list] label')].map(o => o.textContent)"
    )
    assert any("first text here" in o and o.startswith("LSTM 1×32") for o in options), options
    assert any(o.startswith("my own name") for o in options), options
    assert not any("trained on text" in o for o in options)


def test_each_chart_is_one_labelled_image_with_its_numbers_in_a_data_table(probe):
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    compare_at(probe, 25)
    train(probe, steps=30)
    probe.page.wait_for_selector("[data-testid=checkpoint-heatmaps] .main-svg", timeout=TIMEOUT)
    for chart in CHARTS:
        plot = probe.testid(chart)
        assert plot.get_attribute("aria-hidden") == "true", chart
        figure = plot.locator("xpath=..")
        assert figure.get_attribute("role") == "img", chart
        assert len(figure.get_attribute("aria-label") or "") > 30, chart
        details = figure.locator("xpath=following-sibling::div[1]/details")
        details.locator("summary").click()
        table = details.locator("table").first
        table.wait_for(timeout=TIMEOUT)
        assert table.locator("tbody tr").count() > 0, chart
    gradflow = probe.testid("gradflow").locator("details table tbody tr")
    assert gradflow.count() == 25  # a row per step
    assert "25" in probe.testid("gradflow-plot").locator("xpath=..").get_attribute("aria-label")
    # The accessibility tree holds each chart as one image, not a stream of tick labels.
    for chart in CHARTS:
        snapshot = probe.testid(chart).locator("xpath=..").aria_snapshot().strip()
        assert snapshot.startswith(("- img ", "- 'img ")) and "\n" not in snapshot, (chart, snapshot[:300])


CONTRAST_JS = """
() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [r, g, b, a]; };
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, k) => s + v * [0.2126, 0.7152, 0.0722][k], 0);
  const blend = (top, under) => top.slice(0, 3).map((v, k) => v * top[3] + under[k] * (1 - top[3]));
  const background = el => { const layers = [];
    for (let n = el; n; n = n.parentElement) { const c = parse(getComputedStyle(n).backgroundColor); if (c && c[3] > 0) layers.push(c); }
    let colour = [255, 255, 255]; for (const c of layers.reverse()) colour = blend(c, colour); return colour; };
  const opacity = el => { let o = 1; for (let n = el; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity); return o; };
  const low = [];
  for (const el of document.querySelectorAll('#panels *')) {
    if (el.closest('svg, .gallery, [hidden]') || !el.getClientRects().length) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const bg = background(el); const fg = blend([...parse(getComputedStyle(el).color).slice(0, 3), parse(getComputedStyle(el).color)[3] * opacity(el)], bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x); const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${el.textContent.trim().slice(0, 30)}"`);
  }
  return low;
}
"""


def test_every_text_in_the_panels_has_contrast_4_5(probe):
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    train(probe, steps=20)  # the disabled Cancel and every state of the train panel are on screen
    assert probe.page.evaluate(CONTRAST_JS) == []


OVERFLOW_JS = """
() => {
  const panels = document.getElementById('panels').getBoundingClientRect();
  const scrolls = n => { const s = getComputedStyle(n).overflowX; return s === 'auto' || s === 'scroll' || s === 'hidden'; };
  const out = [];
  for (const el of document.querySelectorAll('#panels *')) {
    if (el.closest('.gallery') || !el.getClientRects().length) continue;
    // Inside a box of its own that scrolls (a table's wrapper) and that box fits: fine.
    let boxed = false;
    for (let n = el.parentElement; n && n.id !== 'panels'; n = n.parentElement) {
      if (scrolls(n)) { const r = n.getBoundingClientRect(); boxed = r.right <= panels.right + 1 && r.left >= panels.left - 1; break; }
    }
    const r = el.getBoundingClientRect();
    if (!boxed && (r.right > panels.right + 1 || r.left < panels.left - 1)) out.push(`${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return {out: out.slice(0, 10), page: document.documentElement.scrollWidth, view: innerWidth,
          panelsRight: panels.right};
}
"""

ROWS_JS = """
() => {
  // Fields of one form that share a visual row have their labels on one line and their controls on the next.
  const ragged = [];
  for (const form of document.querySelectorAll('#panels .panel-controls')) {
    if (!form.getClientRects().length) continue;
    const rows = new Map();
    for (const f of form.querySelectorAll(':scope > .panel-field')) {
      if (!f.getClientRects().length) continue;
      const control = f.querySelector(':scope > input, :scope > select, :scope > .file-picker');
      if (!control) continue;
      const top = Math.round(f.getBoundingClientRect().top);
      const key = [...rows.keys()].find(k => Math.abs(k - top) < 4) ?? top;
      rows.set(key, [...(rows.get(key) || []), control.getBoundingClientRect()]);
    }
    for (const boxes of rows.values()) {
      const tops = boxes.map(b => Math.round(b.top));
      if (Math.max(...tops) - Math.min(...tops) > 1) ragged.push(`${form.closest('section').id}: ${tops.join(',')}`);
    }
  }
  return ragged;
}
"""


SELECTS_JS = """
() => {
  // A drop-down shows its chosen option whole, whichever option is chosen (listboxes aside).
  const ctx = document.createElement('canvas').getContext('2d');
  const cut = [];
  for (const sel of document.querySelectorAll('#panels select:not([size])')) {
    if (sel.closest('.gallery') || !sel.getClientRects().length) continue;
    const cs = getComputedStyle(sel);
    ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 18;  // the arrow
    for (const option of sel.options) {
      const w = ctx.measureText(option.text).width;
      if (w > room) cut.push(`${option.text}: ${Math.round(w)} > ${Math.round(room)} px`);
    }
  }
  return cut;
}
"""


@pytest.mark.parametrize("width", [390, 1280])
def test_drop_downs_show_their_options_whole_in_korean(width, request):
    probe = request.getfixturevalue({390: "probe_390", 1280: "probe"}[width])
    probe.open("?lang=ko")
    probe.page.wait_for_selector("#panels[data-ready=true]", timeout=TIMEOUT)
    assert probe.page.evaluate(SELECTS_JS) == []


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_the_panels_fit_and_line_up_at_phone_tablet_and_desktop_widths(width, request):
    probe = request.getfixturevalue({390: "probe_390", 768: "probe_768", 1280: "probe"}[width])
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    train(probe, steps=30)
    probe.page.wait_for_selector("[data-testid=checkpoint-heatmaps] .main-svg", timeout=TIMEOUT)
    probe.page.evaluate("() => document.querySelectorAll('#panels details').forEach(d => { d.open = true; })")
    found = probe.page.evaluate(OVERFLOW_JS)
    assert found["out"] == [], found
    assert found["page"] <= found["view"], found
    assert probe.page.evaluate(ROWS_JS) == []
    assert probe.page.evaluate(SELECTS_JS) == []
    # A box that scrolls can be reached and scrolled by keyboard (it is focusable and named).
    unreachable = probe.page.evaluate(
        """() => [...document.querySelectorAll('#panels *')].filter(n => {
              const s = getComputedStyle(n);
              const scrolls = /auto|scroll/.test(s.overflowX + s.overflowY)
                && (n.scrollWidth > n.clientWidth + 1 || n.scrollHeight > n.clientHeight + 1);
              // A list box is a control of its own (focusable, named by its <label>).
              return scrolls && !n.closest('.gallery') && !n.matches('select, textarea')
                && !(n.tabIndex >= 0 && n.getAttribute('aria-label'));
           }).map(n => `${n.tagName}.${n.className}`)"""
    )
    assert unreachable == []
    # The heatmaps at this width: none narrower than 80 px.
    widths = probe.page.evaluate(
        """() => { const L = document.querySelector('[data-testid=checkpoint-heatmaps]')._fullLayout;
                   return Object.keys(L).filter(k => /^xaxis\\d*$/.test(k)).map(k => L[k]._length); }"""
    )
    assert min(widths) >= 80, widths
    if take_screenshots():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for section in ("gradflow", "train", "models"):
            probe.page.locator(f"#{section}").screenshot(path=str(SCREENSHOTS / f"panels-{section}-{width}.png"))
