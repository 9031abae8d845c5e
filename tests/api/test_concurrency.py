"""Numerical work runs off the event loop: small requests are served while a large one computes."""

from __future__ import annotations

import threading
import time

import httpx2
import numpy as np

from tests.live_server import live_server


def test_health_answers_while_a_large_backward_pass_runs():
    rng = np.random.default_rng(0)
    big = {"hidden_size": 256, "inputs": rng.normal(size=(500, 8)).round(4).tolist(), "precision": 4}
    with live_server() as url:
        done: dict[str, int] = {}

        def run_big() -> None:
            r = httpx2.post(f"{url}/api/backward", json=big, timeout=300)
            done["status"] = r.status_code

        worker = threading.Thread(target=run_big)
        worker.start()
        time.sleep(0.3)  # let the big request reach the engine
        answered_while_running = 0
        with httpx2.Client(base_url=url, timeout=60) as client:
            while worker.is_alive() and answered_while_running < 5:
                assert client.get("/api/health").status_code == 200
                # Counted only if the large request was still being computed when it came back.
                answered_while_running += "status" not in done
        worker.join()
    assert done["status"] == 200
    # Small requests were answered while the big one was still running (the event loop was
    # not blocked); how long they waited is a timing figure: benchmarks/load_test.py.
    assert answered_while_running >= 1, "no small request was answered while the large one ran"
