"""Soak: mixed traffic against `python -m app --workers 2` on loopback, for minutes.

Traces, comparisons and gradient checks of varied sizes, uploads, exports and deletes,
two training runs at a time (some followed to the end, some cancelled, some abandoned
mid-stream), and clients that drop their connection mid-request — while a poller asks
`/api/health` ten times a second.  Reports the 5xx count, every status seen, health
latency percentiles (overall and per minute), the server's resident memory (all worker
processes) after warm-up and at the end, and the store's size on disk against its budget.

Everything goes to 127.0.0.1 on a free port with a throw-away data folder; every loop is
bounded by the duration and the script stops the server by itself.

    python -m benchmarks.soak [--seconds 600 --warmup 60 --workers 2]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2
import numpy as np

from app import limits as store_limits
from benchmarks.common import machine, rss_mb
from tests.live_server import ServerProcess


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


class Tally:
    """Statuses by operation, thread-safe; transport errors the client caused are counted apart."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.client_aborts = 0
        self.server_errors: list[str] = []

    def add(self, op: str, response: httpx2.Response) -> None:
        with self.lock:
            self.statuses[(op, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{op} {response.status_code} {response.text[:200]}")

    def abort(self) -> None:
        with self.lock:
            self.client_aborts += 1


def trace_body(rng: random.Random) -> dict:
    steps, hidden = rng.choice([10, 50, 200, 500]), rng.choice([8, 32, 64, 128])
    inputs = np.random.default_rng(rng.randrange(2**31)).normal(size=(steps, 4)).round(3).tolist()
    return {"cell": rng.choice(["lstm", "gru", "rnn"]), "hidden_size": hidden, "inputs": inputs, "precision": 4}


def model_file(rng: random.Random) -> bytes:
    h, d = rng.choice([4, 16, 64]), 3
    g = np.random.default_rng(rng.randrange(2**31))
    tensors = {
        "weight_ih_l0": g.normal(size=(4 * h, d)),
        "weight_hh_l0": g.normal(size=(4 * h, h)),
        "bias_ih_l0": g.normal(size=4 * h),
        "bias_hh_l0": g.normal(size=4 * h),
    }
    buf = io.BytesIO()
    np.savez(buf, **tensors)
    return buf.getvalue()


def tracer(url: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with httpx2.Client(base_url=url, timeout=300) as client:
        while not stop.is_set():
            kind = rng.random()
            if kind < 0.55:
                op = rng.choice(["/api/forward", "/api/backward"])
                tally.add(op, client.post(op, json=trace_body(rng)))
            elif kind < 0.75:
                preset = client.get(f"/api/presets/adding?steps={rng.choice([20, 100, 300])}").json()["request"]
                tally.add("/api/compare", client.post("/api/compare", json={**preset, "precision": 4}))
            else:
                body = {
                    "cell": "lstm",
                    "hidden_size": rng.choice([2, 4, 8]),
                    "text": "hello world"[: rng.randint(3, 11)],
                }
                tally.add("/api/gradcheck", client.post("/api/gradcheck", json=body))


def dropper(url: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    """Sends a large request and hangs up before the answer: the server must let it go."""
    rng = random.Random(seed)
    while not stop.is_set():
        body = {"hidden_size": 256, "inputs": np.zeros((500, 8)).tolist(), "precision": 4}
        path = rng.choice(["/api/backward", "/api/gradcheck", "/api/compare"])
        if path == "/api/gradcheck":
            body = {"hidden_size": 32, "inputs": np.zeros((200, 8)).tolist()}
        try:
            httpx2.post(url + path, json=body, timeout=rng.uniform(0.05, 0.5))
        except httpx2.TransportError:
            tally.abort()
        stop.wait(rng.uniform(0.5, 2.0))


def modeller(url: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    kept: list[str] = []
    with httpx2.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            r = client.post("/api/models", files={"file": ("soak.npz", model_file(rng))}, data={"name": "soak"})
            tally.add("POST /api/models", r)
            if r.status_code == 201:
                kept.append(r.json()["id"])
            if kept and rng.random() < 0.5:
                mid = kept[rng.randrange(len(kept))]
                tally.add("export", client.get(f"/api/models/{mid}/export?format={rng.choice(['npz', 'json'])}"))
                tally.add(
                    "trace a model", client.post("/api/forward", json={"model_id": mid, "inputs": [[0, 1, 2]] * 20})
                )
            if len(kept) > 5 or (kept and rng.random() < 0.3):
                tally.add("DELETE /api/models", client.delete(f"/api/models/{kept.pop(0)}"))
            tally.add("GET /api/models", client.get("/api/models"))
            stop.wait(rng.uniform(0.2, 1.0))


def trainer(url: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    """One training run at a time per thread: followed, cancelled, or abandoned mid-stream."""
    rng = random.Random(seed)
    with httpx2.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            body = {
                "task": rng.choice(["text", "sine", "adding", "copy"]),
                "cell": rng.choice(["lstm", "gru", "rnn"]),
                "hidden_size": rng.choice([8, 32]),
                "steps": rng.choice([50, 200, 2000]),
                "time_limit_s": rng.choice([3, 10]),
            }
            if body["cell"] == "lstm":
                body["forget_bias"] = 1.0
            r = client.post("/api/train", json=body)
            tally.add("POST /api/train", r)
            if r.status_code != 202:
                stop.wait(1.0)
                continue
            run_id, ending = r.json()["id"], rng.choice(["follow", "cancel", "abandon"])
            try:
                with client.stream("GET", f"/api/train/{run_id}/events") as events:
                    tally.add("events", events)
                    for n, line in enumerate(events.iter_lines()):
                        if line.startswith("event: done") or stop.is_set():
                            break
                        if ending == "cancel" and n > 20:
                            tally.add("DELETE /api/train", client.delete(f"/api/train/{run_id}"))
                            ending = "follow"
                        if ending == "abandon" and n > 10:
                            break  # closes the stream mid-run: the server cancels it later
            except httpx2.TransportError:
                tally.abort()
            tally.add("GET /api/train", client.get(f"/api/train/{run_id}"))


def health(url: str, stop: threading.Event, samples: list[tuple[float, float, int]], start: float) -> None:
    with httpx2.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                status = client.get("/api/health").status_code
            except httpx2.TransportError:
                status = 0
            samples.append((t0 - start, time.perf_counter() - t0, status))
            stop.wait(0.1)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="lstmvis-soak-"))
    server = ServerProcess(data_dir, ("--workers", str(args.workers)), log=data_dir / "server.log")
    url = server.url
    try:
        rss_start = rss_mb(server.proc.pid)

        tally, stop, samples = Tally(), threading.Event(), []
        start = time.perf_counter()
        threads = [threading.Thread(target=health, args=(url, stop, samples, start))]
        for k, fn in enumerate([tracer, tracer, dropper, modeller, trainer, trainer]):
            threads.append(threading.Thread(target=fn, args=(url, tally, stop, k)))
        for t in threads:
            t.daemon = True
            t.start()
        stop.wait(args.warmup)
        rss_warm = rss_mb(server.proc.pid)
        rss_peak = rss_warm
        rss_by_minute: dict[int, float] = {}
        while time.perf_counter() - start < args.seconds:
            stop.wait(5)
            now = rss_mb(server.proc.pid)
            rss_peak = max(rss_peak, now)
            rss_by_minute[int((time.perf_counter() - start) // 60)] = now
        stop.set()
        for t in threads:
            t.join(timeout=300)
        time.sleep(2)  # let abandoned runs and dropped requests wind down
        rss_end = rss_mb(server.proc.pid)
        healthy_after = httpx2.get(f"{url}/api/health", timeout=10).status_code
    finally:
        server.stop()  # uvicorn's supervisor stops its workers on SIGTERM

    latencies = [lat for _, lat, status in samples if status == 200]
    per_minute = {}
    for at, lat, status in samples:
        if status == 200:
            per_minute.setdefault(int(at // 60), []).append(lat)
    fivexx = sum(n for (_, status), n in tally.statuses.items() if status >= 500)
    store_budget = store_limits.STORE_BUDGET_BYTES  # the server runs with the default budget
    summary = {
        "machine": machine(),
        "seconds": args.seconds,
        "workers": args.workers,
        "requests": sum(tally.statuses.values()),
        "5xx": fivexx,
        "server_errors": tally.server_errors[:20],
        "client_aborts": tally.client_aborts,
        "statuses": {f"{op} {status}": n for (op, status), n in sorted(tally.statuses.items())},
        "health": {
            "samples": len(samples),
            "failed": sum(1 for _, _, s in samples if s != 200),
            "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p99_ms": 1000 * pct(latencies, 0.99),
            "max_ms": 1000 * max(latencies) if latencies else None,
            "p99_ms_per_minute": {m: round(1000 * pct(xs, 0.99), 1) for m, xs in sorted(per_minute.items())},
        },
        "rss_mb": {"start": rss_start, "after_warmup": rss_warm, "peak": rss_peak, "end": rss_end},
        "rss_mb_at_end_of_minute": {m: round(v, 1) for m, v in sorted(rss_by_minute.items())},
        "rss_end_vs_warmup": rss_end / rss_warm,
        "store_mb": dir_mb(data_dir),
        "store_budget_mb": store_budget / 2**20,
        "healthy_after": healthy_after,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
