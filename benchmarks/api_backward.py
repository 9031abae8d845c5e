"""End-to-end POST /api/backward on the real server: time and response bytes, by precision.

Starts uvicorn on a free loopback port, sends the same T x D inputs with `precision` 4 and
with full precision, A B A B, and prints medians (client-measured wall time, request
through parsed-ready bytes) with the bytes on the wire (gzip) and uncompressed.

    python -m benchmarks.api_backward [--steps 100 --inputs 32 --hidden 128 --rounds 15]
"""

from __future__ import annotations

import argparse

import httpx
import numpy as np

from benchmarks.common import interleaved, machine, median
from tests.live_server import live_server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--inputs", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    body = {"hidden_size": args.hidden, "inputs": rng.normal(size=(args.steps, args.inputs)).tolist()}
    variants = {"precision 4": {**body, "precision": 4}, "full precision": body}

    with live_server() as url, httpx.Client(base_url=url, timeout=120) as client:
        sizes = {}
        for name, req in variants.items():
            r = client.post("/api/backward", json=req)
            r.raise_for_status()
            plain = client.post("/api/backward", json=req, headers={"accept-encoding": "identity"})
            sizes[name] = (int(r.headers.get("content-length", len(r.content))), len(plain.content))
        times = interleaved(
            {
                name: (lambda req=req: client.post("/api/backward", json=req).raise_for_status())
                for name, req in variants.items()
            },
            rounds=args.rounds,
        )
    print(f"machine: {machine()}")
    print(
        f"POST /api/backward, LSTM T={args.steps} D={args.inputs} H={args.hidden}, 1 layer, {args.rounds} rounds A B A B"
    )
    for name in variants:
        gz, raw = sizes[name]
        print(
            f"{name:>15}: median {median(times[name]) * 1e3:7.1f} ms, {gz / 1e6:6.2f} MB gzip, {raw / 1e6:6.2f} MB uncompressed"
        )


if __name__ == "__main__":
    main()
