"""Training under `python -m app --workers 2`: any worker answers for any run; one global limit.

Each request below is a new connection, so the kernel spreads them over both workers; with
dozens of requests per run, many land on the worker that does not train it.
"""

from __future__ import annotations

import threading
import time

import httpx2
import pytest

from app import limits
from tests.live_server import ServerProcess


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("workers"), ("--workers", "2"))
    try:
        yield server.url
    finally:
        server.stop()


def fresh(method: str, url: str, **kw) -> httpx2.Response:
    """One request on its own connection (no pooling), so it may reach either worker."""
    with httpx2.Client(timeout=60) as client:
        return client.request(method, url, **kw)


def first_event(url: str, run_id: str) -> tuple[int, str]:
    with httpx2.Client(timeout=60) as client, client.stream("GET", f"{url}/api/train/{run_id}/events") as r:
        if r.status_code != 200:
            return r.status_code, ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                return 200, line[7:]
    return r.status_code, ""


def wait_state(url: str, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (status := fresh("GET", f"{url}/api/train/{run_id}").json())["state"] != "done":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    return status


class Listener:
    """Keeps one event stream of a run open, so the run never counts as abandoned (a run whose
    last listener left is cancelled after a grace period: on a loaded machine the checks
    below can take longer than that between the streams they open and close)."""

    def __init__(self, url: str, run_id: str):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, args=(url, run_id), daemon=True)
        self.thread.start()

    def _listen(self, url: str, run_id: str) -> None:
        with httpx2.Client(timeout=60) as client, client.stream("GET", f"{url}/api/train/{run_id}/events") as r:
            for _ in r.iter_lines():
                if self.stop.is_set():
                    return

    def close(self) -> None:
        self.stop.set()


def test_status_events_and_cancel_work_from_either_worker_with_one_global_limit(url):
    body = {"task": "sine", "hidden_size": 8, "steps": 20000, "time_limit_s": 240}
    ids, listeners = [], []
    for _ in range(limits.MAX_TRAIN_RUNS):
        r = fresh("POST", f"{url}/api/train", json=body)
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
        listeners.append(Listener(url, ids[-1]))
    try:
        # The limit is global: however the requests are spread, no third run starts.
        for _ in range(8):
            r = fresh("POST", f"{url}/api/train", json=body)
            assert r.status_code == 429 and r.json()["detail"][0]["type"] == "too_many_runs", r.text
        for run_id in ids:
            statuses = [fresh("GET", f"{url}/api/train/{run_id}") for _ in range(20)]
            assert [s.status_code for s in statuses] == [200] * 20
            assert {s.json()["state"] for s in statuses} == {"running"}
            assert [first_event(url, run_id) for _ in range(10)] == [(200, "checkpoint")] * 10
    finally:
        for run_id in ids:
            assert fresh("DELETE", f"{url}/api/train/{run_id}").status_code == 202
        for listener in listeners:
            listener.close()
    for run_id in ids:
        status = wait_state(url, run_id)
        assert status["reason"] == "cancelled" and status["last"]["model_id"] is None
    # The slots are free again, whichever worker takes the next run.
    for _ in range(limits.MAX_TRAIN_RUNS):
        r = fresh("POST", f"{url}/api/train", json={"task": "sine", "steps": 2})
        assert r.status_code == 202, r.text
        assert wait_state(url, r.json()["id"])["reason"] == "completed"
