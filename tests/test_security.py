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
from app.security import BODY_LIMITS, READ_ONLY_ENV, SecurityMiddleware
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
    data = model_files.write(P.init_params("gru", 1, 2, 1, 0), "npz")
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
                f"POST /api/forward HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
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


def test_an_upload_over_its_own_limit_is_refused_from_its_length_before_it_is_read():
    # POST /api/models takes bodies up to MAX_UPLOAD_BYTES (a training checkpoint), and no more.
    assert BODY_LIMITS == {("POST", "/api/models"): limits.MAX_UPLOAD_BYTES}
    assert limits.MAX_UPLOAD_BYTES > limits.MAX_BODY_BYTES
    with live_server() as url:
        import socket

        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            size = limits.MAX_UPLOAD_BYTES + 1
            sock.sendall(
                f"POST /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {size}\r\n\r\n".encode()
            )
            sock.sendall(b"--x")  # 3 bytes of a 512 MiB body: the answer must not wait for the rest
            sock.settimeout(5)
            answer = b""
            while b"limit" not in answer and (chunk := sock.recv(4096)):
                answer += chunk
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 413") and f"over the {limits.MAX_UPLOAD_BYTES // 2**20} MiB limit" in answer


def _echo_length_app():
    """An ASGI app that reads the whole body and answers its length, behind the middleware."""

    async def app(scope, receive, send):
        size, more = 0, True
        while more:
            message = await receive()
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})

    return SecurityMiddleware(app, max_body=100, route_limits={("POST", "/upload"): 1000})


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_larger_body_limit_is_the_upload_routes_alone(monkeypatch, chunked):
    monkeypatch.setenv(READ_ONLY_ENV, "")
    client = TestClient(_echo_length_app(), base_url="http://127.0.0.1")

    def post(path: str, size: int, method: str = "POST"):
        body = b"x" * size
        content = iter([body[k : k + 64] for k in range(0, size, 64)]) if chunked else body
        return client.request(method, path, content=content)

    assert post("/upload", 900).text == "900"
    assert post("/upload", 1001).status_code == 413
    for method, path in [("POST", "/other"), ("PUT", "/upload"), ("POST", "/upload/"), ("POST", "/upload/x")]:
        r = post(path, 101, method)
        assert r.status_code == 413 and "over the 0 MiB limit" in r.text, (method, path)
        assert post(path, 100, method).text == "100"
    # A read-only server refuses uploads anyway: their bodies get the ordinary limit.
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    assert post("/upload", 101).status_code == 413


HOSTILE = {
    "more lists than any request needs": (b"[" * 100_000 + b"]" * 100_000, 413),
    "nested deeper than the parser recurses": (b"[" * 20_000 + b"]" * 20_000, 400),
    "not UTF-8": (b'{"text": "\xff\xfe\xfd"}', 400),
    "a 5000-digit integer": (b'{"text": "ab", "seed": 1' + b"0" * 5000 + b"}", 422),
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


# --- Host names and origins: DNS rebinding and cross-site writes --------------------------

UPLOAD = model_files.write(P.init_params("gru", 1, 2, 1, 0), "npz")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_foreign_host_name_is_refused(client, method):
    # DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1.
    r = client.request(method, "/api/models", headers={"host": "evil.example"})
    assert r.status_code == 421
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["header", "host"] and "evil.example" in detail["msg"] and "--allow-host" in detail["msg"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8765@evil.com", "[::1]evil.com", "localhost..", "127.0.0.1:abc", "localhost:80:80", "a b"]
)
def test_a_host_header_that_is_not_a_plain_name_and_port_is_refused(client, host):
    # Found by an attacker's pass: these were served as if they named 127.0.0.1 or localhost.
    assert client.get("/api/health", headers={"host": host}).status_code == 421


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000", "testserver"])
def test_loopback_names_are_served_on_any_port(client, host):
    assert client.get("/api/health", headers={"host": host}).status_code == 200


def test_allow_host_extends_the_list(client, monkeypatch):
    from app.security import ALLOWED_HOSTS_ENV

    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "viz.example.org,other.example")
    assert client.get("/api/health", headers={"host": "viz.example.org:443"}).status_code == 200
    assert client.get("/api/health", headers={"host": "evil.example"}).status_code == 421


def test_host_and_allow_host_options_reach_the_workers(monkeypatch):
    from app.security import ALLOWED_HOSTS_ENV

    monkeypatch.setattr(entry.uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "")
    entry.main(["--host", "10.0.0.5", "--allow-host", "viz.example.org", "--allow-host", "b.example"])
    assert set(os.environ[ALLOWED_HOSTS_ENV].split(",")) == {"10.0.0.5", "viz.example.org", "b.example"}


CROSS_SITE = {
    "a cross-site form": {"sec-fetch-site": "cross-site", "origin": "http://evil.example"},
    "a sibling site": {"sec-fetch-site": "same-site", "origin": "http://a.localhost:8000"},
    "an old browser, another origin": {"origin": "http://evil.example"},
    "a sandboxed frame": {"origin": "null"},
    "another port on this machine": {"origin": "http://127.0.0.1:9999"},
    # Malformed origins answered 500 (found by an attacker's pass): now refused like any other.
    "a port beyond 65535": {"origin": "http://127.0.0.1:99999"},
    "a port that is not a number": {"origin": "http://127.0.0.1:abc"},
    "an unclosed IPv6 bracket": {"origin": "http://[::1"},
    "a signed port": {"origin": "http://127.0.0.1:+8000"},
    "another scheme": {"origin": "https://127.0.0.1:8000"},
    "an origin with a path": {"origin": "http://127.0.0.1:8000/x"},
}


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_cross_site_upload_is_refused(client, headers):
    before = len(client.get("/api/models").json()["models"])
    r = client.post("/api/models", files={"file": ("m.npz", UPLOAD)}, headers={"host": "127.0.0.1:8000", **headers})
    assert r.status_code == 403 and r.json()["detail"][0]["type"] == "cross_site"
    assert len(client.get("/api/models").json()["models"]) == before  # nothing was saved


@pytest.mark.parametrize(
    "headers",
    [
        [("origin", "http://evil.example"), ("origin", "http://127.0.0.1:8000")],
        [("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-origin")],
    ],
    ids=["two origins", "two sec-fetch-site"],
)
def test_a_repeated_origin_or_fetch_site_header_is_refused(client, headers):
    # With two, the last one used to win: a cross-site value followed by a same-origin one passed.
    r = client.post("/api/models", files={"file": ("m.npz", UPLOAD)}, headers=[("host", "127.0.0.1:8000"), *headers])
    assert r.status_code == 403 and "more than once" in r.json()["detail"][0]["msg"]


def test_cross_site_computations_are_refused_too(client):
    # POST /api/forward changes nothing, but a foreign page could still burn the CPU with it.
    headers = {"sec-fetch-site": "cross-site"}
    assert client.post("/api/forward", json={"text": "ab"}, headers=headers).status_code == 403
    assert client.delete(f"/api/models/{'0' * 32}", headers=headers).status_code == 403
    assert client.get("/api/health", headers=headers).status_code == 200  # reads are not refused


SAME_ORIGIN = {
    "a page of this server": {"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8000"},
    "typed by the user": {"sec-fetch-site": "none"},
    "curl or a script": {},
    "localhost": {"origin": "http://localhost:8000"},
}


@pytest.mark.parametrize("headers", SAME_ORIGIN.values(), ids=SAME_ORIGIN.keys())
def test_same_origin_and_scripted_writes_work(client, headers):
    r = client.post("/api/models", files={"file": ("m.npz", UPLOAD)}, headers={"host": "127.0.0.1:8000", **headers})
    assert r.status_code == 201, r.text


# --- Methods: HEAD like GET, 405 names the allowed methods ------------------------------


@pytest.mark.parametrize("url", ["/api/health", "/api/limits", "/", "/api/presets"])
def test_head_is_answered_like_get_without_a_body(client, url):
    r = client.head(url)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == client.get(url).headers["content-type"]


@pytest.mark.parametrize(
    "method,url,allowed",
    [
        ("PUT", "/api/health", {"GET", "HEAD"}),
        ("DELETE", "/api/forward", {"POST"}),
        ("PATCH", f"/api/models/{'0' * 32}", {"GET", "HEAD", "DELETE"}),
        ("PUT", "/api/models", {"GET", "HEAD", "POST"}),
    ],
)
def test_405_lists_the_methods_of_the_path(client, method, url, allowed):
    r = client.request(method, url)
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == allowed


def test_the_server_closes_idle_connections_and_caps_header_size(monkeypatch):
    calls = {}
    monkeypatch.setattr(entry.uvicorn, "run", lambda *a, **k: calls.update(k))
    entry.main([])
    assert calls["timeout_keep_alive"] == limits.KEEP_ALIVE_SECONDS
    assert calls["h11_max_incomplete_event_size"] == limits.MAX_HEADER_BYTES


# --- JSON bodies are parsed off the event loop, within a budget ---------------------------


def test_a_body_of_empty_lists_is_refused_before_it_is_parsed(client):
    raw = b'{"inputs": [' + b"[]," * 1_000_000 + b"[]]}"
    r = client.post("/api/forward", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 413
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["body"] and "lists" in detail["msg"]


def test_the_largest_accepted_request_fits_the_budget():
    # Four LSTM layers of the largest size sent inline with every tensor given: the budget must
    # admit it (larger models are uploaded, and named by model_id).
    from app.api.routing import json_budget_error

    h = d = limits.JSON_WEIGHTS_SIZE
    rows = [b"[" + b"0," * (d - 1) + b"0]"] * (4 * h)
    weights = b",".join([b'"w%d": [' % k + b",".join(rows) + b"]" for k in range(2 * limits.MAX_LAYERS)])
    raw = b'{"inputs": [' + b",".join([b"[" + b"0," * (d - 1) + b"0]"] * 500) + b'], "weights": {' + weights + b"}}"
    assert json_budget_error(raw) is None


def test_health_answers_while_a_big_body_is_parsed(monkeypatch):
    # The body's parse is held until /api/health has answered: if parsing ran on the event
    # loop, health could not answer and the parse would wait out its guard timeout.
    from app.api import routing

    started, health_answered = threading.Event(), threading.Event()
    real = routing.read_json

    def gated(raw: bytes):
        started.set()
        health_answered.wait(timeout=60)
        return real(raw)

    monkeypatch.setattr(routing, "read_json", gated)
    raw = b'{"inputs": [' + b"[]," * 10_000_000 + b"[]]}"  # 30 MB of empty lists
    with live_server() as url:
        result: dict[str, int] = {}

        def big() -> None:
            r = httpx2.post(
                f"{url}/api/forward", content=raw, headers={"content-type": "application/json"}, timeout=120
            )
            result["status"] = r.status_code

        thread = threading.Thread(target=big)
        thread.start()
        assert started.wait(timeout=60), "the big body never reached the parser"
        assert httpx2.get(f"{url}/api/health", timeout=30).status_code == 200
        health_answered.set()
        thread.join(timeout=120)
        assert result["status"] == 413


def test_a_body_of_millions_of_keys_is_refused_before_it_is_parsed(client):
    # Found by an attacker's pass: 2.9 million short keys passed the value count and cost a
    # gigabyte to parse before the schema said no.
    keys = 2_000_000
    body = b'{"weights": {' + b",".join(b'"%x":0' % k for k in range(keys)) + b"}}"
    r = client.post("/api/forward", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "object keys" in r.json()["detail"][0]["msg"]


def test_a_long_text_full_of_colons_is_still_a_request(client):
    r = client.post("/api/forward", json={"text": ":" * 1001, "hidden_size": 2})
    assert r.status_code != 413, r.text
