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


# ---- issue 17: the page reads before any script runs, in its language; cached assets; HEAD


def labels_of(html: str) -> dict[str, str]:
    """Each data-i18n element's text, by key (the elements the template leaves empty)."""
    return {key: text for key, text in re.findall(r'data-i18n="([^"]+)"[^>]*>([^<]*)<', html)}


@pytest.mark.parametrize(
    ("query", "lang", "title", "run"),
    [
        ("", "en", "LSTM visualiser", "Run"),
        ("?lang=ko", "ko", "LSTM 시각화 도구", "실행"),
        ("?lang=xx", "en", "LSTM visualiser", "Run"),
    ],
)
def test_the_page_is_rendered_in_its_language(client, query, lang, title, run):
    r = client.get(f"/{query}")
    assert r.status_code == 200 and r.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in r.text
    assert f"<title>{title}</title>" in r.text
    labels = labels_of(r.text)
    assert labels["page.title"] == title and labels["controls.run"] == run
    # Every element that names a key has its text, aria-label or title filled.
    assert "" not in labels.values(), [k for k, v in labels.items() if not v]
    for attr, name in (("label", "aria-label"), ("title", "title")):
        for tag in re.findall(rf"<[^>]*data-i18n-{attr}=[^>]*>", r.text):
            assert re.search(rf'\s{name}="[^"]+"', tag), tag


def test_the_server_and_the_page_read_one_string_table():
    """app/web.py reads static/js/core/strings.<lang>.js, the modules i18n.js imports."""
    from app import web

    source = (web.STRINGS_DIR / "i18n.js").read_text()
    for lang in web.LANGUAGES:
        assert f'from "./strings.{lang}.js"' in source
        assert len(web.strings(lang)) > 300
    assert web.strings("ko").keys() == web.strings("en").keys()
    assert web.translate("player.forward", "ko") == "순전파"
    assert web.translate("no.such.key", "ko") == "no.such.key"


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/[^"]+)"', html)


def test_assets_are_versioned_and_cached_for_a_year(client):
    from app import web

    urls = asset_urls(client.get("/").text)
    assert len(urls) >= 5
    for url in urls:
        assert url.startswith(f"/v/{web.ASSET_VERSION}/"), url
        r = client.get(url)
        assert r.status_code == 200, url
        assert "max-age=31536000" in r.headers["cache-control"] and "immutable" in r.headers["cache-control"], url
        plain = url.removeprefix(f"/v/{web.ASSET_VERSION}")
        assert client.get(plain).content == r.content, plain
    # The panels' stylesheet (panels.html) is versioned too.
    assert f"/v/{web.ASSET_VERSION}/static/css/panels.css" in urls


def test_a_plain_static_url_leads_to_the_current_version(client):
    """One URL per module: a plain /static/ URL redirects to the versioned one (never cached)."""
    from app import web

    r = client.get("/static/js/core/i18n.js?x=1", follow_redirects=False)
    assert r.status_code == 307 and r.headers["cache-control"] == "no-cache"
    assert r.headers["location"] == f"/v/{web.ASSET_VERSION}/static/js/core/i18n.js?x=1"
    assert client.get("/static/js/core/i18n.js").content == (web.STATIC_DIR / "js/core/i18n.js").read_bytes()
    assert client.get("/static/no-such-file.js", follow_redirects=False).status_code == 404
    assert client.get("/static/../app/web.py", follow_redirects=False).status_code == 404
    assert client.get(f"/v/{web.ASSET_VERSION}/static/no-such-file.js").status_code == 404


def test_the_version_follows_the_files(tmp_path, monkeypatch):
    import shutil

    from app import web

    shutil.copytree(web.STATIC_DIR / "css", tmp_path / "css")
    monkeypatch.setattr(web, "STATIC_DIR", tmp_path)
    before = web._asset_version()
    assert web._asset_version() == before
    (tmp_path / "css" / "app.css").write_text("body {}\n")
    assert web._asset_version() != before


HEAD_PATHS = ["/", "/?lang=ko", "/static/css/app.css", "/vendor/plotly.min.js", "/docs"]


def test_head_is_answered_like_get(client):
    from app import web

    for path in [*HEAD_PATHS, *asset_urls(client.get("/").text)]:
        head, get = client.head(path), client.get(path)
        assert head.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
    assert client.head(f"/v/{web.ASSET_VERSION}/static/js/main.js").headers["cache-control"].endswith("immutable")


def test_head_on_the_real_server():
    import httpx2

    from tests.live_server import live_server

    with live_server() as url:
        for path in HEAD_PATHS:
            r = httpx2.head(f"{url}{path}", timeout=30, follow_redirects=True)
            assert r.status_code == 200, path
