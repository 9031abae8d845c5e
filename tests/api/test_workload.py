"""Computations are bounded, queued and abandoned: time budget, full queues, clients that leave.

Waits are polled conditions; their timeouts only guard against a hang.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

import httpx2
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import limits
from app.api import workload
from app.api.errors import FieldError, field_error_handler, http_error_handler
from tests.live_server import live_server

GUARD_S = 120  # only against a hang


def wait_for(condition: Callable[[], bool], what: str, timeout: float = GUARD_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def stopped(reason: str) -> int:
    return workload.stats.stopped[reason]


# --- The time budget ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/api/backward", {"hidden_size": 64, "num_layers": 2, "inputs": [[0.1, 0.2]] * 50}),
        ("/api/forward", {"hidden_size": 64, "inputs": [[0.1, 0.2]] * 50}),
        ("/api/gradcheck", {"hidden_size": 8, "text": "hello"}),
        ("/api/compare", {"hidden_size": 32, "inputs": [[0.1]] * 40}),
    ],
)
def test_a_computation_over_its_time_budget_ends_with_a_clear_503(client, monkeypatch, endpoint, body):
    monkeypatch.setattr(limits, "MAX_COMPUTE_SECONDS", 0)
    before = stopped(workload.TIME_BUDGET)
    r = client.post(endpoint, json=body)
    assert r.status_code == 503, r.text[:300]
    (item,) = r.json()["detail"]
    assert item["type"] == "time_budget_exceeded" and item["loc"] == ["body", "hidden_size"]
    assert "0 s time budget" in item["msg"] and "smaller" in item["msg"]
    assert stopped(workload.TIME_BUDGET) == before + 1


def test_refusals_that_need_no_computation_keep_their_own_answer(client, monkeypatch):
    """The budget stops computations; a bad request is still the 422 naming its field."""
    monkeypatch.setattr(limits, "MAX_COMPUTE_SECONDS", 0)
    r = client.post("/api/backward", json={"hidden_size": 4, "inputs": [[0.1], [0.2, 0.3]]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "inputs", 1]


# --- Lanes and queues, with a computation that waits for the test -----------------------------


def blocking_app(release: threading.Event) -> FastAPI:
    """One endpoint whose work polls its token until the test releases it."""
    app = FastAPI()
    app.add_exception_handler(FieldError, field_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)

    @app.post("/work")
    async def work(request: Request, cost: int, block: bool = True) -> object:
        def run(token: workload.Token) -> dict[str, bool]:
            while block and not release.is_set():
                token.check()
                release.wait(0.01)
            return {"ok": True}

        return await workload.compute(request, cost, run, ("body",), "make it smaller")

    return app


def test_a_full_queue_answers_503_with_retry_after_and_light_work_still_runs(monkeypatch):
    monkeypatch.setattr(workload, "cores", lambda: 1)
    monkeypatch.setattr(limits, "HEAVY_COMPUTES_PER_CORE", 1)
    monkeypatch.setattr(limits, "MAX_HEAVY_QUEUE", 1)
    heavy = {"cost": limits.LIGHT_COMPUTE_COST + 1}
    release = threading.Event()
    results: list[int] = []
    base = (workload.stats.running, workload.stats.queued)
    with TestClient(blocking_app(release)) as client:

        def post() -> None:
            results.append(client.post("/work", params=heavy).status_code)

        first, second = threading.Thread(target=post), threading.Thread(target=post)
        try:
            first.start()
            wait_for(lambda: workload.stats.running == base[0] + 1, "the first to run")
            second.start()
            wait_for(lambda: workload.stats.queued == base[1] + 1, "the second to queue")
            r = client.post("/work", params=heavy)
            assert r.status_code == 503 and r.headers["retry-after"] == str(workload.RETRY_AFTER_SECONDS)
            assert r.json()["detail"][0]["type"] == "server_busy"
            # The heavy lane is full; a light computation has its own slots.
            assert client.post("/work", params={"cost": 1, "block": False}).status_code == 200
            assert results == []
        finally:
            release.set()
            first.join(GUARD_S)
            second.join(GUARD_S)
    assert results == [200, 200]


# --- Clients that leave -----------------------------------------------------------------------


def send_raw(url: str, path: str, body: dict) -> socket.socket:
    """A POST on a raw socket, so the test decides when the client goes away."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port))
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nContent-Type: application/json\r\n"
    sock.sendall(head.encode() + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


# Under MAX_GRADCHECK_COST but far longer than the test waits (about 1 300 perturbed numbers,
# each four forward passes over 59 steps): it ends early only if it is stopped.
LONG_GRADCHECK = {"hidden_size": 8, "text": "abcdefghij" * 6}


def test_a_gradcheck_whose_client_disconnects_stops_computing():
    with live_server() as url:
        base_running, base_stopped = workload.stats.running, stopped(workload.DISCONNECTED)
        sock = send_raw(url, "/api/gradcheck", LONG_GRADCHECK)
        try:
            wait_for(lambda: workload.stats.running == base_running + 1, "the gradcheck to start")
        finally:
            sock.close()
        wait_for(lambda: stopped(workload.DISCONNECTED) == base_stopped + 1, "the gradcheck to be stopped")
        wait_for(lambda: workload.stats.running == base_running, "its thread to be free")
        # The slot is free again: the next request is computed, not refused or queued forever.
        r = httpx2.post(f"{url}/api/gradcheck", json={"hidden_size": 2, "text": "abc"}, timeout=GUARD_S)
        assert r.status_code == 200 and r.json()["passed"]


def test_a_client_that_leaves_while_queued_never_starts(monkeypatch):
    monkeypatch.setattr(workload, "cores", lambda: 1)
    with live_server() as url:
        base = (workload.stats.running, workload.stats.queued, workload.stats.admitted)
        running = send_raw(url, "/api/gradcheck", LONG_GRADCHECK)
        try:
            wait_for(lambda: workload.stats.running == base[0] + 1, "the first gradcheck to start")
            queued = send_raw(url, "/api/gradcheck", LONG_GRADCHECK)
            wait_for(lambda: workload.stats.queued == base[1] + 1, "the second to queue")
            queued.close()
            wait_for(lambda: workload.stats.queued == base[1], "the second to leave the queue")
            assert workload.stats.admitted == base[2] + 2 and workload.stats.running == base[0] + 1
        finally:
            running.close()
        wait_for(lambda: workload.stats.running == base[0], "the first to be stopped")


# --- Many at once against a real server ---------------------------------------------------------


def test_health_is_answered_while_41_gradchecks_run_and_each_ends_in_200_or_503():
    count = 48  # more than AnyIO's 40 threads
    small = {"hidden_size": 8, "text": "hello"}
    with live_server() as url:
        base = workload.stats.admitted + workload.stats.refused_busy
        answers: list[httpx2.Response] = []

        def post() -> None:
            answers.append(httpx2.post(f"{url}/api/gradcheck", json=small, timeout=GUARD_S * 3))

        threads = [threading.Thread(target=post) for _ in range(count)]
        for t in threads:
            t.start()
        wait_for(
            lambda: workload.stats.admitted + workload.stats.refused_busy - base == count or len(answers) == count,
            "every gradcheck to reach the server",
        )
        health = httpx2.get(f"{url}/api/health", timeout=GUARD_S)
        unfinished_at_health = count - len(answers)
        for t in threads:
            t.join(GUARD_S * 3)
    assert health.status_code == 200
    assert unfinished_at_health > 0, "/api/health was answered only after every gradcheck had finished"
    assert len(answers) == count
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 1
    for r in answers:
        if r.status_code == 503:
            assert r.headers["retry-after"] and r.json()["detail"][0]["type"] == "server_busy"
