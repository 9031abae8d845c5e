"""Training throughput (optimiser steps per second) and the learning figures in the README.

Throughput: H = 32, T = 20, batch 16 on the sine task, against the baseline of running the
engine's forward+backward over the same 16 sequences with no optimiser (same process,
A B A B).  Learning: the LSTM memorising "hello world" and fitting a sine wave, with the
settings printed, timed from the first step.

    python -m benchmarks.train_throughput
"""

from __future__ import annotations

import time

import numpy as np

from app.nn import stack
from app.nn import train as T
from benchmarks.common import interleaved, machine, median

STEPS = 50


def main() -> None:
    data = T.make_task("sine", 20)
    settings = T.Settings(hidden_size=32, steps=STEPS, batch_size=16, seed=0)
    batch = data.sample(np.random.default_rng(0), 16)
    params = T.init_model(settings, data)
    model = stack.Model.of("lstm", params, 1)

    def training() -> None:
        for _ in T.train(settings, data):
            pass

    def engine_only() -> None:
        for _ in range(STEPS):
            for x, loss in zip(batch.x, batch.losses, strict=True):
                stack.run(model, x, loss)

    times = interleaved({"train": training, "engine": engine_only}, rounds=5)
    train_s, engine_s = median(times["train"]), median(times["engine"])
    print(f"machine: {machine()}")
    print(f"training throughput, LSTM H=32 T=20 batch 16 (sine task), {STEPS} steps x 5 rounds A B A B")
    print(f"  training: {STEPS / train_s:.0f} steps/s ({STEPS * 16 / train_s:.0f} sequences/s)")
    print(f"  engine forward+backward alone on the same sequences: {STEPS / engine_s:.0f} batches/s")
    print(f"  ratio training / engine time: {train_s / engine_s:.2f}")

    for task, kwargs, s in (
        ("text", {"text": "hello world"}, T.Settings(hidden_size=32, steps=300, batch_size=16, lr=0.02, seed=0)),
        ("sine", {}, T.Settings(hidden_size=32, steps=400, batch_size=16, lr=0.01, seed=0)),
    ):
        data = T.make_task(task, 20, **kwargs)
        params = T.init_model(s, data)
        t0 = time.perf_counter()
        for _ in T.train(s, data, params):
            pass
        elapsed = time.perf_counter() - t0
        trace = T.probe("lstm", params, 1, data)
        acc = T.accuracy(trace, data)
        what = f"next-character accuracy {acc:.0%}" if acc is not None else f"next-value MSE {trace.loss:.2e}"
        print(
            f"{task}: LSTM H={s.hidden_size}, Adam lr {s.lr}, batch {s.batch_size}, {s.steps} steps, clip {s.clip}, "
            f"forget bias {s.forget_bias}, seed {s.seed}: {what} after {elapsed:.1f} s"
        )


if __name__ == "__main__":
    main()
