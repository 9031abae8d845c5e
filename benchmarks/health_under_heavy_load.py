"""/api/health latency (p50 / p99) while N heavy computations are in flight, against idle.

Starts `python -m app` as its own process on a free loopback port and, for each N, sends N
gradient checks at once (each about a second of CPU alone; the attacker's pass sent 41) and
polls /api/health one request after another until every gradient check has answered.  The
same health loop on the idle server, interleaved with the loaded rounds, is the baseline.
Prints the machine, the sizes, the median over rounds of each round's p50, p99 and slowest call, and how
the heavy requests ended (200 computed, 503 queue full).

    python -m benchmarks.health_under_heavy_load [--heavy 8 41 --rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter

import httpx2

from benchmarks.common import machine, median
from tests.live_server import ServerProcess

HEAVY = {"hidden_size": 8, "text": "hello"}  # POST /api/gradcheck
IDLE_SAMPLES = 200


def percentile(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


def health_times(client: httpx2.Client, until: threading.Event | None) -> list[float]:
    """Seconds per GET /api/health, one after another: IDLE_SAMPLES of them, or until `until` is set."""
    times = []
    while (until is None and len(times) < IDLE_SAMPLES) or (until is not None and not until.is_set()):
        t0 = time.perf_counter()
        client.get("/api/health").raise_for_status()
        times.append(time.perf_counter() - t0)
    return times


def loaded_round(url: str, client: httpx2.Client, heavy: int) -> tuple[list[float], Counter, float]:
    statuses: Counter = Counter()
    lock = threading.Lock()
    done = threading.Event()
    left = [heavy]

    def one() -> None:
        r = httpx2.post(f"{url}/api/gradcheck", json=HEAVY, timeout=600)
        with lock:
            statuses[r.status_code] += 1
            left[0] -= 1
            if left[0] == 0:
                done.set()

    threads = [threading.Thread(target=one) for _ in range(heavy)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    times = health_times(client, done)
    wall = time.perf_counter() - t0
    for t in threads:
        t.join()
    return times, statuses, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heavy", type=int, nargs="+", default=[8, 41])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    server = ServerProcess(tempfile.mkdtemp(prefix="lstmvis-bench-"))
    results: dict[str, dict[str, list]] = {}
    try:
        with httpx2.Client(base_url=server.url, timeout=600) as client:
            limits = client.get("/api/limits").json()["limits"]
            health_times(client, None)  # warm-up
            for _ in range(args.rounds):  # idle and loaded rounds interleaved
                idle = health_times(client, None)
                results.setdefault("idle", {}).setdefault("p50", []).append(percentile(idle, 50))
                results["idle"].setdefault("p99", []).append(percentile(idle, 99))
                results["idle"].setdefault("max", []).append(max(idle))
                for heavy in args.heavy:
                    times, statuses, wall = loaded_round(server.url, client, heavy)
                    row = results.setdefault(f"{heavy} gradchecks", {})
                    row.setdefault("p50", []).append(percentile(times, 50))
                    row.setdefault("p99", []).append(percentile(times, 99))
                    row.setdefault("max", []).append(max(times))
                    row.setdefault("samples", []).append(len(times))
                    row.setdefault("wall", []).append(wall)
                    row.setdefault("statuses", []).append(dict(statuses))
    finally:
        server.stop()
    print(f"machine: {machine()}")
    print(
        f"heavy request: POST /api/gradcheck {HEAVY}; server limits: "
        f"max_heavy_queue={limits.get('max_heavy_queue')}, max_compute_seconds={limits.get('max_compute_seconds')}"
    )
    print(f"medians over {args.rounds} interleaved rounds")
    base = median(results["idle"]["p50"])
    for name, row in results.items():
        line = f"{name:>16}: health p50 {median(row['p50']) * 1e3:7.2f} ms, p99 {median(row['p99']) * 1e3:7.2f} ms"
        line += f", max {median(row['max']) * 1e3:7.1f} ms"
        line += f" ({median(row['p50']) / base:5.1f}x idle p50)"
        if "wall" in row:
            line += f", {median(row['samples']):.0f} health calls over {median(row['wall']):.1f} s"
            line += f", heavy answers per round {row['statuses']}"
        print(line)


if __name__ == "__main__":
    main()
