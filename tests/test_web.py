"""The HTML side works offline: docs assets and plotly.js come from this server."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def test_docs_load_only_local_assets(client):
    html = client.get("/docs").text
    urls = re.findall(r'(?:src|href)=["\']([^"\']+)', html) + re.findall(r"url: ?'([^']+)'", html)
    assert urls, html
    for url in urls:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url


def test_openapi_documents_the_trace_endpoints(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/forward", "/api/backward", "/api/gradcheck", "/api/presets", "/api/health"):
        assert path in spec["paths"]
    assert "422" in spec["paths"]["/api/backward"]["post"]["responses"]


def test_plotly_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert len(r.content) > 1_000_000 and b"plotly" in r.content[:2000].lower()
    assert r.headers.get("content-encoding") == "gzip"


def test_index_page(client):
    r = client.get("/")
    assert r.status_code == 200 and "LSTM" in r.text
