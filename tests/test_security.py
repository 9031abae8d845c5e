"""Security headers, read-only mode, the body limit, and hostile input."""

from __future__ import annotations

import os
import threading

import httpx2
import pytest
from fastapi.testclient import TestClient

from app import __main__ as entry
from app import limits, model_files
from app.main import create_app
from app.nn import params as P
from app.security import READ_ONLY_ENV
from tests.live_server import live_server


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize(
    "method,url",
    [
        ("GET", "/"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/vendor/plotly.min.js"),
        ("GET", "/api/health"),
        ("GET", "/api/nope"),
        ("POST", "/api/forward"),
        ("GET", "/api/models/" + "0" * 32),
    ],
)
def test_every_response_carries_the_security_headers(client, method, url):
    r = client.request(method, url)
    csp = r.headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]  # no inline script, no other origin
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_pages_have_no_inline_scripts(client):
    for url in ("/", "/docs"):
        html = client.get(url).text
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">", 1)[0], f"inline script in {url}: <script{tag[:80]}"


def test_read_only_mode_turns_off_writes(client, monkeypatch):
    data = model_files.write(P.init_params("rnn", 1, 2, 1, 0), "npz")
    model = client.post("/api/models", files={"file": ("m.npz", data)}).json()
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    assert client.get("/api/limits").json()["read_only"] is True
    assert client.post("/api/models", files={"file": ("m.npz", data)}).status_code == 403
    r = client.delete(f"/api/models/{model['id']}")
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    assert client.post("/api/train", json={}).status_code == 403
    assert client.delete(f"/api/train/{'0' * 32}").status_code == 403
    # Reading still works.
    assert client.get(f"/api/models/{model['id']}").status_code == 200
    assert client.post("/api/forward", json={"model_id": model["id"], "inputs": [[1.0]]}).status_code == 200


def test_read_only_flag_and_a_warning_for_wide_binds(monkeypatch, capsys):
    calls = {}
    monkeypatch.setattr(entry.uvicorn, "run", lambda *a, **k: calls.update(k))
    # Recorded as absent, so it is removed again after the test whatever main() sets.
    monkeypatch.setenv(READ_ONLY_ENV, "")
    entry.main(["--host", "0.0.0.0", "--read-only"])
    assert calls["host"] == "0.0.0.0" and "reachable from other machines" in capsys.readouterr().err
    assert os.environ[READ_ONLY_ENV] == "1"  # main() sets it for the worker processes
    monkeypatch.setenv(READ_ONLY_ENV, "")
    entry.main([])
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8000 and "reachable" not in capsys.readouterr().err


def test_an_oversized_body_is_refused_from_its_length_before_it_is_read():
    with live_server() as url:
        import socket

        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            size = limits.MAX_BODY_BYTES * 4
            sock.sendall(
                f"POST /api/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
            )
            sock.sendall(b"{")  # 1 byte of a 128 MiB body: the answer must not wait for the rest
            sock.settimeout(5)
            answer = b""
            while b"limit" not in answer and (chunk := sock.recv(4096)):
                answer += chunk
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 413") and "over the 32 MiB limit" in answer


def test_a_chunked_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(limits.MAX_BODY_BYTES // 1_000_000 + 2):
            yield b" " * 1_000_000

    r = client.post("/api/forward", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"][0]["type"] == "too_large"


HOSTILE = {
    "nested deeper than the parser recurses": (b"[" * 100_000 + b"]" * 100_000, 400),
    "not UTF-8": (b'{"text": "\xff\xfe\xfd"}', 400),
    "a 5000-digit integer": (b'{"text": "ab", "seed": 1' + b"0" * 5000 + b"}", 400),
    "huge but finite": (b'{"inputs": [[1e308], [-1e308]], "hidden_size": 2}', 200),
    "overflows to infinity": (b'{"inputs": [[1e309]], "hidden_size": 2}', 422),
}


@pytest.mark.parametrize("raw,status", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_get_clear_answers(client, raw, status):
    r = client.post("/api/backward", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text[:300]
    if status >= 400:
        assert r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "text",
    [
        "héllo 👋🏽 wörld 🌍",
        "שלום עולם مرحبا",  # right-to-left scripts
        "a\u202eb\u200dc\x00d\x07e",  # bidi override, zero-width joiner, NUL, BEL
        "<img src=x onerror=alert(1)>",
    ],
)
def test_any_unicode_text_is_data(client, text):
    r = client.post("/api/backward", json={"text": text, "hidden_size": 3, "precision": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "".join(body["tokens"]) == text and body["vocab"] == sorted(set(text))


def test_concurrent_uploads_and_deletes_of_the_same_model():
    data = model_files.write(P.init_params("lstm", 2, 4, 1, 0), "safetensors")
    with live_server() as url, httpx2.Client(base_url=url, timeout=30) as http:
        model_id = http.post("/api/models", files={"file": ("m.safetensors", data)}).json()["id"]
        statuses: list[int] = []
        lock = threading.Lock()

        def worker(k: int) -> None:
            with httpx2.Client(base_url=url, timeout=30) as c:
                for j in range(10):
                    if (k + j) % 3 == 0:
                        r = c.delete(f"/api/models/{model_id}")
                    elif (k + j) % 3 == 1:
                        r = c.post("/api/models", files={"file": ("m.safetensors", data)}, data={"name": "same"})
                    else:
                        r = c.post("/api/forward", json={"model_id": model_id, "inputs": [[0.0, 1.0]]})
                    with lock:
                        statuses.append(r.status_code)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses and all(s in (200, 201, 204, 404) for s in statuses), sorted(set(statuses))
        assert statuses.count(204) == 1  # one delete won; every other delete saw 404
        listed = http.get("/api/models").json()["models"]
        assert model_id not in {m["id"] for m in listed}
        assert statuses.count(201) == sum(1 for m in listed if m["name"] == "same")


def test_traces_are_gzipped_for_remote_clients_only():
    body = {"text": "hello world " * 8, "hidden_size": 32}
    with TestClient(create_app()) as remote:  # the test client's address is "testclient"
        r = remote.post("/api/backward", json=body, headers={"accept-encoding": "gzip"})
        assert r.headers.get("content-encoding") == "gzip"
    with live_server() as url:
        r = httpx2.post(f"{url}/api/backward", json=body, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200 and "content-encoding" not in r.headers
        js = httpx2.get(f"{url}/vendor/plotly.min.js", headers={"accept-encoding": "gzip"})
        assert js.headers["content-encoding"] == "gzip"  # precompressed once, free to send
