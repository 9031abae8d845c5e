"""Training over HTTP on a real server: the event stream, cancellation, caps, the saved model."""

from __future__ import annotations

import json
import time

import httpx2
import numpy as np
import pytest

from app import limits
from tests.live_server import live_server


@pytest.fixture(scope="module")
def url():
    with live_server() as base:
        yield base


def start(url: str, **body) -> str:
    r = httpx2.post(f"{url}/api/train", json=body, timeout=30)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def events(url: str, run_id: str, timeout: float = 60, stop_after: int | None = None) -> list[dict]:
    """Parse the SSE stream strictly: every event has an id, a name and JSON data."""
    out: list[dict] = []
    current: dict = {}
    with httpx2.stream("GET", f"{url}/api/train/{run_id}/events", timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line == "":
                if current:
                    assert set(current) == {"id", "event", "data"}, current
                    current["data"] = json.loads(current["data"])
                    out.append(current)
                    current = {}
                    if stop_after and len(out) >= stop_after:
                        break
                continue
            if line.startswith(":"):
                continue  # a comment (keep-alive)
            field, _, value = line.partition(": ")
            assert field in ("id", "event", "data"), line
            current[field] = value
    return out


def wait_done(url: str, run_id: str, timeout: float = 120) -> dict:
    """Poll the run's state until it is done; the generous timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while (status := httpx2.get(f"{url}/api/train/{run_id}").json())["state"] != "done":
        assert time.monotonic() < deadline, f"run {run_id} did not stop within {timeout} s: {status}"
        time.sleep(0.02)
    return status


def test_a_run_streams_progress_and_checkpoints_and_ends_with_done(url):
    run_id = start(url, task="text", text="hello world", steps=150, checkpoints=5, seed=1)
    evs = events(url, run_id)
    assert [int(e["id"]) for e in evs] == list(range(len(evs)))
    kinds = [e["event"] for e in evs]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert kinds.count("checkpoint") == 6  # before training and at 5 points
    progress = [e["data"] for e in evs if e["event"] == "progress"]
    for e in evs:  # every event, checkpoints and the final one too, carries the progress fields
        assert {"step", "loss", "grad_norm", "elapsed_s", "steps_per_s"} <= set(e["data"]), e["event"]
    steps = [p["step"] for p in progress]
    assert steps == sorted(steps) and steps[-1] == 150
    assert progress[-1]["loss"] < progress[0]["loss"] / 10  # the loss falls
    checkpoint = next(e["data"] for e in evs if e["event"] == "checkpoint")
    assert len(checkpoint["layers"][0]["f"]) == 10 and checkpoint["step"] == 0
    # Each checkpoint is a saved model, hidden from the plain list, that traces like the snapshot.
    all_models = httpx2.get(f"{url}/api/models", params={"checkpoints": "true"}).json()["models"]
    assert checkpoint["model_id"] in {m["id"] for m in all_models}
    assert checkpoint["model_id"] not in {m["id"] for m in httpx2.get(f"{url}/api/models").json()["models"]}
    r = httpx2.post(
        f"{url}/api/forward", json={"model_id": checkpoint["model_id"], "text": "hello world", "fields": ["f"]}
    )
    np.testing.assert_allclose(r.json()["layers"][0]["f"], checkpoint["layers"][0]["f"], atol=5e-4)
    done = evs[-1]["data"]
    assert done["done"] is True and done["reason"] == "completed" and done["final_loss"] < 0.05
    assert done["accuracy"] == 1.0 and done["sample"] == "hello world"
    models = httpx2.get(f"{url}/api/models").json()["models"]
    saved = next(m for m in models if m["id"] == done["model_id"])
    assert saved["vocab"] == sorted(set("hello world"))
    # The trained model opens in every view: trace it by id.
    r = httpx2.post(f"{url}/api/backward", json={"model_id": done["model_id"], "text": "hello world"})
    assert r.status_code == 200 and r.json()["loss"] == pytest.approx(done["probe_loss"], rel=1e-9)


def test_same_seed_same_run(url):
    finals = []
    for _ in range(2):
        evs = events(url, start(url, task="adding", seq_len=8, hidden_size=6, steps=20, seed=5))
        finals.append([e["data"]["loss"] for e in evs if e["event"] == "progress"])
    assert finals[0] == finals[1]


def test_cancel_stops_the_run_and_saves_nothing(url):
    # How quickly it stops is a timing figure (benchmarks/train_throughput.py); here: that it does.
    run_id = start(url, task="sine", hidden_size=64, steps=20000, time_limit_s=300)
    events(url, run_id, stop_after=3)
    assert httpx2.delete(f"{url}/api/train/{run_id}").status_code == 202
    status = wait_done(url, run_id)
    assert status["reason"] == "cancelled" and status["last"]["model_id"] is None
    assert status["last"]["step"] < 20000


def test_time_limit_is_enforced_and_the_model_kept(url):
    evs = events(url, start(url, task="sine", steps=20000, time_limit_s=0.5))
    done = evs[-1]["data"]
    assert done["reason"] == "time_limit" and done["step"] < 20000 and done["model_id"]


def test_a_run_nobody_listens_to_any_more_is_cleaned_up(url, monkeypatch):
    monkeypatch.setattr(limits, "TRAIN_ORPHAN_GRACE_S", 0.3)
    run_id = start(url, task="sine", steps=20000, time_limit_s=60)
    events(url, run_id, stop_after=2)  # then the client goes away
    assert wait_done(url, run_id)["reason"] == "client_disconnected"


def test_too_many_runs_at_once(url):
    ids = [start(url, task="sine", steps=20000, time_limit_s=30) for _ in range(limits.MAX_TRAIN_RUNS)]
    try:
        r = httpx2.post(f"{url}/api/train", json={"task": "sine"})
        assert r.status_code == 429 and "at most" in r.json()["detail"][0]["msg"]
    finally:
        for run_id in ids:
            httpx2.delete(f"{url}/api/train/{run_id}")
        for run_id in ids:
            wait_done(url, run_id)


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"steps": 10**6}, "steps"),
        ({"hidden_size": 1000}, "hidden_size"),
        ({"time_limit_s": 10**5}, "time_limit_s"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1}, "lr"),
        ({"task": "poetry"}, "task"),
        ({"task": "sine", "text": "abc"}, "text"),
        ({"task": "copy", "seq_len": 4, "delay": 5}, "seq_len"),
        ({"cell": "gru", "forget_bias": 2.0}, "forget_bias"),
        ({"text": "x" * 6000}, "text"),
    ],
)
def test_budgets_and_caps_are_clear_errors(url, body, loc):
    r = httpx2.post(f"{url}/api/train", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:2] == ["body", loc]


def test_unknown_runs(url):
    assert httpx2.get(f"{url}/api/train/{'0' * 32}").status_code == 404
    assert httpx2.get(f"{url}/api/train/{'0' * 32}/events").status_code == 404
    assert httpx2.delete(f"{url}/api/train/{'0' * 32}").status_code == 404
    assert httpx2.get(f"{url}/api/train/nope").status_code == 422


def test_cancel_lands_mid_way_through_a_large_batch(url):
    # One step of this run takes seconds; a cancel sent inside the first step ends the run
    # there (the loop checks between the sequences of a batch), before any step completes.
    run_id = start(url, task="copy", seq_len=200, delay=50, hidden_size=128, num_layers=4, batch_size=64, steps=50)
    time.sleep(0.3)
    httpx2.delete(f"{url}/api/train/{run_id}")
    status = wait_done(url, run_id)
    assert status["reason"] == "cancelled"
    assert status["last"]["step"] <= 1
