"""End-to-end POST /api/backward on the real server, by size and precision, against the
engine alone on the same request in the same run.

Starts `python -m app` as its own process on a free loopback port; for each size sends the
same inputs with `precision` 4 and with full precision (A B A B) and prints the median
client-measured time (request sent to the whole body read), the response bytes (sent
uncompressed over loopback) and their gzip size as a client on another machine receives
them, and the ratio to the engine's own forward+backward for that size (measured in this
process): what the HTTP, validation and JSON layers add.

    python -m benchmarks.api_backward [--rounds 9]
"""

from __future__ import annotations

import argparse
import gzip
import tempfile

import httpx2
import numpy as np

from app.api.problem import build
from app.api.schemas import TraceRequest
from app.nn import stack
from benchmarks.common import interleaved, machine, median
from tests.live_server import ServerProcess

SIZES = [(20, 4, 16), (100, 32, 128), (500, 8, 256)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    server = ServerProcess(tempfile.mkdtemp(prefix="lstmvis-bench-"))
    lines = []
    try:
        with httpx2.Client(base_url=server.url, timeout=300) as client:
            for steps, inputs, hidden in SIZES:
                rng = np.random.default_rng(0)
                body = {"hidden_size": hidden, "inputs": rng.normal(size=(steps, inputs)).round(6).tolist()}
                variants = {"precision 4": {**body, "precision": 4}, "full": body}
                sizes, ok = {}, {}
                for name, req in variants.items():
                    r = client.post("/api/backward", json=req)
                    ok[name] = r.status_code == 200
                    if ok[name]:
                        # Remote clients get gzip level 1 (app/security.py); loopback ones the plain body.
                        sizes[name] = (len(gzip.compress(r.content, compresslevel=1)), len(r.content))
                    else:
                        sizes[name] = (r.status_code, r.json()["detail"][0]["msg"][:90])
                runnable = {n: req for n, req in variants.items() if ok[n]}
                times = interleaved(
                    {
                        n: (lambda req=req: client.post("/api/backward", json=req).raise_for_status())
                        for n, req in runnable.items()
                    },
                    rounds=args.rounds,
                )
                prob = build(TraceRequest.model_validate(body))
                engine = median(
                    interleaved({"engine": lambda p=prob: stack.run(p.model, p.x, p.loss)}, rounds=args.rounds)[
                        "engine"
                    ]
                )
                for name in variants:
                    if not ok[name]:
                        status, msg = sizes[name]
                        lines.append(f"T={steps} D={inputs} H={hidden}, {name:>11}: refused with {status}: {msg}")
                        continue
                    gz, raw = sizes[name]
                    t = median(times[name])
                    lines.append(
                        f"T={steps} D={inputs} H={hidden}, {name:>11}: median {t * 1e3:8.1f} ms, {raw / 1e6:6.2f} MB "
                        f"({gz / 1e6:5.2f} MB gzip to remote clients); engine alone {engine * 1e3:6.1f} ms (API/engine {t / engine:5.1f}x)"
                    )
    finally:
        server.stop()
    print(f"machine: {machine()}; POST /api/backward, LSTM, 1 layer, {args.rounds} rounds A B A B per size")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
