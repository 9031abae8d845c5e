"""Shared helpers for the benchmark scripts: medians, interleaved timing, the machine."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.machine()}"
    )


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, inner: int = 1) -> dict[str, list[float]]:
    """Run the candidates A B A B ... so machine noise hits them alike; seconds per call."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - t0) / inner)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)
