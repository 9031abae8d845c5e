"""The panels below the cell view in real Chromium: gradient flow, saved models, live training."""

from __future__ import annotations

import io

import httpx2
import numpy as np
import pytest

from app import model_files
from app.nn import params as P
from tests.framework_files import onnx_export
from tests.web.conftest import SCREENSHOTS, take_screenshots

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # a guard against a hang, not a timing claim


def plot_info(probe, testid: str) -> dict:
    return probe.page.evaluate(
        """id => {
            const el = document.querySelector(`[data-testid="${id}"] .js-plotly-plot, [data-testid="${id}"].js-plotly-plot`);
            return {names: el.data.filter(d => d.meta).map(d => d.name), ytype: el._fullLayout.yaxis.type,
                    lstm: el.data.filter(d => d.meta === "c").map(d => d.y)[0] || null,
                    points: el.data.length ? el.data[0].x.length : 0};
        }""",
        testid,
    )


def test_the_panels_catch_a_run_that_finished_before_they_were_built(probe):
    # The panels are built once their /api/limits answers; on a busy machine the page's first
    # Run can finish before that.  Hold the panels' request (the page's own comes first)
    # until the first run is drawn: the comparison must still start.
    held, seen = [], []

    def hold_second(route) -> None:
        seen.append(route.request.url)
        if len(seen) == 1:
            route.continue_()
        else:
            held.append(route)

    probe.page.route("**/api/limits", hold_second)
    probe.open()
    assert len(held) == 1 and probe.testid("gradflow").count() == 0
    held[0].continue_()
    probe.wait_attr("gradflow", "state", "ready")


def test_gradient_flow_draws_three_cells_on_a_log_axis_and_redraws(probe):
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    section = probe.testid("gradflow")
    assert section.get_attribute("data-cells") == "rnn gru lstm"
    info = plot_info(probe, "gradflow")
    assert info["ytype"] == "log"
    assert any(n.startswith("RNN") for n in info["names"]) and any(n.startswith("GRU") for n in info["names"])
    assert sum(n.startswith("LSTM") for n in info["names"]) == 2  # hidden path and cell path
    rows = section.locator("tbody tr")
    assert rows.count() == 3 and "no clipping" in rows.nth(0).inner_text()
    before = section.get_attribute("data-drawn")
    c_before = info["lstm"]

    probe.testid("gradflow-forget-bias").select_option("3")
    probe.page.wait_for_function(
        "n => document.querySelector('[data-testid=gradflow]').dataset.drawn !== n && document.querySelector('[data-testid=gradflow]').dataset.state === 'ready'",
        arg=before,
        timeout=TIMEOUT,
    )
    c_after = plot_info(probe, "gradflow")["lstm"]
    assert c_after[0] > 1e6 * c_before[0]  # forget bias 3 lets far more gradient reach step 1
    if take_screenshots():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        probe.page.locator("#gradflow").screenshot(path=str(SCREENSHOTS / "gradflow-panel.png"))


def test_gradient_flow_clipping_and_errors(probe):
    probe.open()
    probe.wait_attr("gradflow", "state", "ready")
    probe.testid("gradflow-clip").fill("0")  # the API wants a threshold above 0
    probe.testid("gradflow").locator("button[type=submit]").click()
    probe.wait_attr("gradflow", "state", "error")
    assert "0" in probe.testid("gradflow").locator(".panel-error").inner_text()
    probe.allow_error("status of 422")
    probe.testid("gradflow-clip").fill("0.01")
    probe.testid("gradflow-length").fill("50")
    probe.testid("gradflow").locator("button[type=submit]").click()
    probe.wait_attr("gradflow", "state", "ready")
    first_row = probe.testid("gradflow").locator("tbody tr").nth(0).inner_text()
    assert "→ 0.01000" in first_row


def model_bytes(cell: str = "gru", inputs: int = 2, hidden: int = 3) -> bytes:
    return model_files.write(P.init_params(cell, inputs, hidden, 1, 5), "npz")


def test_upload_see_the_mapping_open_export_and_delete(probe, server_url):
    probe.open()
    probe.testid("model-file").set_input_files(
        {"name": "my <b>gru</b>.npz", "mimeType": "application/octet-stream", "buffer": model_bytes()}
    )
    probe.testid("model-name").fill("<img src=x onerror=alert(1)>")
    probe.testid("model-upload").click()
    probe.page.wait_for_selector('[data-testid="model-mapping"] tbody tr', timeout=TIMEOUT)
    rows = probe.testid("model-mapping").locator("tbody tr")
    assert rows.count() == 4
    assert "weight_hh_l0" in rows.nth(1).inner_text() and "r, z, n" in rows.nth(1).inner_text()
    listed = probe.testid("model-list").locator("label:has(input:checked)").inner_text()
    assert listed.startswith("<img src=x onerror=alert(1)>")  # shown as text, never as markup
    model_id = probe.testid("model-list").locator("input:checked").input_value()

    href = probe.testid("model-download").get_attribute("href")
    assert href == f"/api/models/{model_id}/export?layout=pytorch&format=safetensors"
    exported = model_files.read("m.safetensors", httpx2.get(server_url + href).content)
    assert set(exported) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}

    probe.testid("model-open").click()
    probe.page.wait_for_function(f"() => location.search.includes('model={model_id}')", timeout=TIMEOUT)
    probe.wait_ready()
    assert "GRU" in probe.page.locator("#summary").inner_text()

    probe.testid("model-delete").click()
    probe.page.wait_for_function(
        f"() => ![...document.querySelectorAll('[data-testid=model-list] input')].some(o => o.value === '{model_id}')",
        timeout=TIMEOUT,
    )


def onnx_char_model(vocab: str) -> bytes:
    """A character model as people export it: nn.Embedding -> nn.LSTM -> nn.Linear, torch.onnx.export."""
    torch = pytest.importorskip("torch")

    class CharModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(4)
            self.embed = torch.nn.Embedding(len(vocab), 5)
            self.lstm = torch.nn.LSTM(5, 6)
            self.fc = torch.nn.Linear(6, len(vocab))

        def forward(self, ids):
            return self.fc(self.lstm(self.embed(ids))[0])

    return onnx_export(CharModel(), torch.zeros(7, 1, dtype=torch.long), dynamo=False, dynamic=True)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_an_onnx_upload_shows_what_was_read_and_its_parity_then_opens_with_text(probe, lang):
    vocab = "hel o"
    probe.open(f"?lang={lang}")
    probe.testid("model-file").set_input_files(
        {"name": "char.onnx", "mimeType": "application/octet-stream", "buffer": onnx_char_model(vocab)}
    )
    probe.testid("model-vocab").fill(vocab)
    probe.testid("model-upload").click()
    probe.page.wait_for_selector('[data-testid="model-info"] tr', timeout=TIMEOUT)
    info = probe.testid("model-info").inner_text()
    assert "ONNX" in info and "char.onnx" in info
    assert ("5 tokens" if lang == "en" else "토큰 5개") in info
    parity = "matches onnxruntime to" if lang == "en" else "onnxruntime 계산과의 차이가"
    assert parity in info, info
    assert "✓ onnxruntime" in probe.testid("model-list").locator("label:has(input:checked)").inner_text()
    if take_screenshots():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        probe.page.locator("#models").screenshot(path=str(SCREENSHOTS / f"models-onnx-upload-{lang}.png"))
    model_id = probe.testid("model-list").locator("input:checked").input_value()
    probe.testid("model-open").click()
    probe.page.wait_for_function(f"() => location.search.includes('model={model_id}')", timeout=TIMEOUT)
    probe.wait_ready()
    assert "LSTM" in probe.page.locator("#summary").inner_text()


def test_an_upload_that_needs_a_setting_says_which_field_in_korean(probe):
    probe.open("?lang=ko")
    probe.testid("model-file").set_input_files(
        {"name": "rnn.npz", "mimeType": "application/octet-stream", "buffer": model_bytes("rnn")}
    )
    probe.testid("model-upload").click()
    error = probe.testid("models").locator(".panel-error")
    error.wait_for(state="visible", timeout=TIMEOUT)
    assert "‘RNN 활성화 함수’에서" in error.inner_text()
    probe.allow_error("status of 422")
    probe.testid("model-nonlinearity").select_option("relu")
    probe.testid("model-upload").click()
    probe.page.wait_for_selector('[data-testid="model-info"] tr', timeout=TIMEOUT)
    assert "relu" in probe.testid("model-info").inner_text()
    assert error.is_hidden()


def test_refused_upload_says_why(probe):
    probe.open()
    buf = io.BytesIO()
    np.savez(buf, w=np.array([{"a": 1}], dtype=object))
    probe.testid("model-file").set_input_files(
        {"name": "bad.npz", "mimeType": "application/octet-stream", "buffer": buf.getvalue()}
    )
    probe.testid("model-upload").click()
    error = probe.testid("models").locator(".panel-error")
    error.wait_for(state="visible", timeout=TIMEOUT)
    assert "pickle" in error.inner_text()
    probe.allow_error("status of 422")


def test_train_watch_it_learn_open_the_model_and_scrub_checkpoints(probe):
    probe.open()
    probe.testid("train-steps").fill("200")
    probe.testid("train-start").click()
    probe.wait_attr("train", "state", "running")
    # The progress bar and the loss curve move while it runs.
    probe.page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=train-progress]').value) > 0", timeout=TIMEOUT
    )
    probe.page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=loss-chart]').dataset.points || 0) > 1", timeout=TIMEOUT
    )
    probe.wait_attr("train", "state", "done", timeout=60_000)
    assert probe.testid("train").get_attribute("data-reason") == "completed"
    assert probe.page.evaluate("() => document.querySelector('[data-testid=train-progress]').value") == 1
    assert "hello world" in probe.testid("train").inner_text()

    slider = probe.testid("checkpoint-slider")
    assert slider.get_attribute("max") == "10"
    slider.fill("0")
    probe.wait_attr("checkpoint-heatmaps", "step", "0")
    slider.fill("5")
    probe.wait_attr("checkpoint-heatmaps", "step", "100")
    if take_screenshots():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        probe.page.locator("#train").screenshot(path=str(SCREENSHOTS / "train-panel.png"))

    probe.testid("train-open").click()
    probe.page.wait_for_function("() => location.search.includes('model=')", timeout=TIMEOUT)
    probe.wait_ready()
    assert "32" in probe.page.locator("#summary").inner_text()


def test_train_can_be_cancelled(probe):
    probe.open()
    probe.testid("train-task").select_option("sine")
    probe.testid("train-steps").fill("20000")
    probe.testid("train-start").click()
    probe.page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=train-progress]').value) > 0", timeout=TIMEOUT
    )
    probe.testid("train-cancel").click()
    probe.wait_attr("train", "state", "done")
    assert probe.testid("train").get_attribute("data-reason") == "cancelled"
