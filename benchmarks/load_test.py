"""Load on loopback: /api/backward with the default preset at concurrency 32, then a
large request (T = 500, H = 256) in flight while small ones keep coming.

Starts `python -m app` as its own process on a free 127.0.0.1 port with a throw-away data
folder, drives it with wrk (Debian's `wrk` package: `apt-get install wrk`), and stops
everything by itself.  Reports throughput, latency percentiles, errors, and the server's
resident memory before, after warm-up and after the run.

    python -m benchmarks.load_test [--seconds 30 --connections 32 --workers 1]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import numpy as np

from benchmarks.common import machine, rss_mb
from tests.live_server import ServerProcess


def run_wrk(url: str, body: dict, seconds: int, connections: int) -> dict:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    payload = json.dumps(body).replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = "{payload}"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            f"{url}/api/backward",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * unit[m.group(2)]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p90_ms": latency("90"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(int(g) for g in socket_errors.groups()) if socket_errors else 0,
        "raw": out,
    }


def stall(url: str, small: dict, seconds: float = 60) -> dict:
    """Small requests' latency while one T=500, H=256 backward pass is in flight."""
    rng = np.random.default_rng(0)
    big = {"hidden_size": 256, "inputs": rng.normal(size=(500, 8)).round(4).tolist(), "precision": 4}
    state: dict = {}

    def run_big() -> None:
        t0 = time.perf_counter()
        state["status"] = httpx2.post(f"{url}/api/backward", json=big, timeout=seconds).status_code
        state["seconds"] = time.perf_counter() - t0

    with httpx2.Client(base_url=url, timeout=seconds) as client:
        alone = []
        for _ in range(10):
            t0 = time.perf_counter()
            client.post("/api/backward", json=small).raise_for_status()
            alone.append(time.perf_counter() - t0)
        worker = threading.Thread(target=run_big)
        worker.start()
        during = []
        while worker.is_alive():
            t0 = time.perf_counter()
            client.post("/api/backward", json=small).raise_for_status()
            during.append(time.perf_counter() - t0)
        worker.join()
    return {
        "big_status": state["status"],
        "big_s": state["seconds"],
        "small_alone_median_ms": statistics.median(alone) * 1e3,
        "small_during_median_ms": statistics.median(during) * 1e3 if during else None,
        "small_during_max_ms": max(during) * 1e3 if during else None,
        "small_during_count": len(during),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    data_dir = tempfile.mkdtemp(prefix="lstmvis-load-")
    server = ServerProcess(data_dir, ("--workers", str(args.workers)))
    try:
        presets = httpx2.get(f"{server.url}/api/presets").json()
        body = next(p["request"] for p in presets["presets"] if p["name"] == presets["default"])
        body = {k: v for k, v in body.items() if v is not None}
        rss_start = rss_mb(server.proc.pid)
        run_wrk(server.url, body, 5, args.connections)  # warm-up
        rss_warm = rss_mb(server.proc.pid)
        result = run_wrk(server.url, body, args.seconds, args.connections)
        rss_end = rss_mb(server.proc.pid)
        healthy = httpx2.get(f"{server.url}/api/health").status_code == 200
        stalled = stall(server.url, body)
    finally:
        server.stop()
    print(
        f"machine: {machine()}; server: python -m app --workers {args.workers}; load generator: wrk -t2 on the same machine"
    )
    print(
        f"POST /api/backward, default preset ({presets['default']}: LSTM H={body['hidden_size']}, T={len(body.get('text', '')) - 1}), "
        f"{args.connections} connections, {args.seconds} s:"
    )
    print(
        f"  {result['requests']} requests, {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, non-2xx {result['non_2xx']}, socket errors {result['socket_errors']}"
    )
    print(
        f"  server memory (RSS): {rss_start:.0f} MB at start, {rss_warm:.0f} MB after warm-up, {rss_end:.0f} MB after the run; healthy after: {healthy}"
    )
    print(
        f"large request T=500 H=256 (precision 4) took {stalled['big_s']:.2f} s (status {stalled['big_status']}); "
        f"small requests meanwhile: {stalled['small_during_count']}, median {stalled['small_during_median_ms']:.0f} ms, "
        f"max {stalled['small_during_max_ms']:.0f} ms (alone: median {stalled['small_alone_median_ms']:.1f} ms)"
    )


if __name__ == "__main__":
    main()
