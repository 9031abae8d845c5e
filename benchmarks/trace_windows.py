"""A run too large for one response, fetched as windows the way the page does, with and
without the trace cache (app/api/tracecache.py), in the same run.

T = 1000, H = 256 (and H = 1024): a 1001-character text, one LSTM layer, POST /api/backward at the page's
precision (6).  As static/js/core/tracefetch.js does: the whole request first (413, naming
the window length that fits), then consecutive `window`s of that length with
`param_grads: false`.  Timed from the first request sent to the last window's body read
(the client reads the bytes; parsing them is the page's, the same either way).  The server
is the real app under uvicorn in a thread of this process (tests/live_server.py), so the
cache can be switched: "uncached" keeps nothing (every window runs the whole sequence),
"cached" is the default cache, emptied before each fetch (the first window computes).

    python -m benchmarks.trace_windows [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from types import SimpleNamespace

import httpx2

from app.api import tracecache, traces
from app.nn import stack
from benchmarks.common import interleaved, machine, median
from tests.live_server import live_server

STEPS = 1000
TEXT = ("the quick brown fox jumps over the lazy dog. " * 23)[: STEPS + 1]
# The size the issue names, and the largest hidden size one layer takes over 1000 steps.
HIDDEN_SIZES = (256, 1024)


def fetch_as_windows(client: httpx2.Client, body: dict) -> tuple[int, int]:
    """(windows, bytes received) for one whole run fetched as the page fetches it."""
    r = client.post("/api/backward", json=body)
    assert r.status_code == 413, r.text[:200]
    size = int(re.search(r"`window`s of up to (\d+) steps", r.text).group(1))
    start, windows, received = 0, 0, 0
    while start < STEPS:
        stop = min(STEPS, start + size)
        part = client.post(
            "/api/backward", json={**body, "param_grads": False, "window": {"start": start, "stop": stop}}
        )
        assert part.status_code == 200, part.text[:200]
        windows, received, start = windows + 1, received + len(part.content), stop
    return windows, received


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("LSTMVIS_DATA_DIR", tempfile.mkdtemp(prefix="lstmvis-bench-"))  # the app's store
    caches = {"uncached": tracecache.TraceCache(max_bytes=0), "cached": tracecache.TraceCache()}
    seen: dict[str, tuple[int, int]] = {}
    runs = {"n": 0}
    engine_runs: dict[str, int] = {}

    def counting(*a, **kw):
        runs["n"] += 1
        return stack.run(*a, **kw)

    traces.stack = SimpleNamespace(run=counting)  # the trace endpoints' engine, counted

    lines = []
    with live_server() as url, httpx2.Client(base_url=url, timeout=600) as client:
        for hidden in HIDDEN_SIZES:
            body = {"cell": "lstm", "hidden_size": hidden, "text": TEXT, "precision": 6}

            def variant(name: str, body=body):
                def run() -> None:
                    caches[name].clear()
                    tracecache.cache = caches[name]
                    before = runs["n"]
                    seen[name] = fetch_as_windows(client, body)
                    engine_runs[name] = runs["n"] - before

                return run

            times = interleaved({name: variant(name) for name in caches}, rounds=args.rounds)
            for name in caches:
                windows, received = seen[name]
                lines.append(
                    f"T = {STEPS}, H = {hidden:4}, {name:>8}: median {median(times[name]):6.2f} s for {windows} "
                    f"windows ({received / 1e6:.0f} MB), {engine_runs[name]} engine runs"
                )
            ratio = median(times["uncached"]) / median(times["cached"])
            lines.append(f"T = {STEPS}, H = {hidden:4}: uncached / cached {ratio:.2f}x")
    print(f"machine: {machine()}")
    print(
        f"POST /api/backward, 1-layer LSTM, {len(set(TEXT))} distinct characters, precision 6, fetched as windows "
        f"like the page; {args.rounds} rounds A B A B per size"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
