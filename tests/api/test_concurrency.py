"""Numerical work runs off the event loop: small requests are served while a large one computes."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np

from tests.live_server import live_server


def test_health_answers_while_a_large_backward_pass_runs():
    rng = np.random.default_rng(0)
    big = {"hidden_size": 256, "inputs": rng.normal(size=(500, 8)).round(4).tolist(), "precision": 4}
    with live_server() as url:
        done: dict[str, float] = {}

        def run_big() -> None:
            start = time.perf_counter()
            r = httpx.post(f"{url}/api/backward", json=big, timeout=120)
            done["status"] = r.status_code
            done["seconds"] = time.perf_counter() - start

        worker = threading.Thread(target=run_big)
        worker.start()
        time.sleep(0.3)  # let the big request reach the engine
        latencies = []
        with httpx.Client(base_url=url, timeout=30) as client:
            while worker.is_alive() and len(latencies) < 20:
                t0 = time.perf_counter()
                assert client.get("/api/health").status_code == 200
                latencies.append(time.perf_counter() - t0)
        worker.join()
    assert done["status"] == 200
    assert latencies, "the large request finished before any small one was sent"
    # The small requests were answered while the big one was still running, and quickly.
    assert max(latencies) < max(1.0, 0.5 * done["seconds"]), (latencies, done)
