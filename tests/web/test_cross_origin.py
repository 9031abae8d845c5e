"""Real Chromium: a page from another origin cannot upload to the local server; the app's own page can."""

from __future__ import annotations

import httpx2
import pytest

from app import model_files
from app.nn import params as P

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000  # a guard against a hang, not a timing claim
WEIGHTS = model_files.write(P.init_params("gru", 1, 2, 1, 0), "npz")


def count(server_url: str) -> int:
    return len(httpx2.get(f"{server_url}/api/models", timeout=30).json()["models"])


def test_a_form_on_another_origin_cannot_upload(browser, server_url):
    # The attacker's page: a multipart form posting to the local server (no CORS preflight).
    evil = "http://evil.example/"
    html = f"""<!doctype html><form method="post" enctype="multipart/form-data"
      action="{server_url}/api/models"><input type="file" name="file"></form>"""
    page = browser.new_page()
    try:
        page.route(evil, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        page.goto(evil)
        page.set_input_files(
            "input[name=file]", files=[{"name": "m.npz", "mimeType": "application/octet-stream", "buffer": WEIGHTS}]
        )
        before = count(server_url)
        with page.expect_response(f"{server_url}/api/models", timeout=TIMEOUT_MS) as answer:
            page.evaluate("document.forms[0].submit()")
        assert answer.value.status == 403
        assert answer.value.request.headers.get("origin") == "http://evil.example"
        assert count(server_url) == before
    finally:
        page.close()


def test_the_apps_own_page_can_upload(browser, server_url):
    page = browser.new_page()
    try:
        page.goto(f"{server_url}/api/health")
        status = page.evaluate(
            """async (bytes) => {
              const form = new FormData();
              form.append('file', new Blob([new Uint8Array(bytes)]), 'm.npz');
              return (await fetch('/api/models', {method: 'POST', body: form})).status;
            }""",
            list(WEIGHTS),
        )
        assert status == 201
    finally:
        page.close()
