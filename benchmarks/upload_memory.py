"""Server memory and time of uploading a 200 MB PyTorch training checkpoint (POST /api/models).

The file: nn.Embedding(65536, 256) -> nn.LSTM(256, 256) -> nn.Linear(256, 256) in float32,
saved by torch.save with its epoch and Adam's state (two moments per parameter), as
tests/api/test_upload_memory.py makes it. The baseline, interleaved with it: the same model's
weights alone (torch.save(model.state_dict())), a third of the size.

Starts `python -m app` as its own process on a free loopback port with a throw-away data
folder, uploads a small file of the same kind first (the parity check imports torch, about
300 MB once), then per round and per file: resets the server's peak resident size (VmHWM,
/proc/PID/clear_refs), uploads the file streamed from disk, reads VmRSS and VmHWM, traces
the model once (/api/forward with token ids, loading it from the store) and deletes it.
Prints the machine, the sizes, and the medians over rounds of the resident size before the
upload, its peak and after, the growth (peak - before) against the file's size, and the times.

    python -m benchmarks.upload_memory [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx2
import torch

from benchmarks.common import machine, median
from tests.api.test_upload_memory import TOKENS, make_checkpoint, measured_upload, memory, warm_up
from tests.live_server import ServerProcess

MIB = 2**20


def stored_bytes(data_dir: Path) -> int:
    """Bytes of the BLOBs in the model store (read-only, beside the server)."""
    with sqlite3.connect(f"file:{data_dir / 'models.sqlite3'}?mode=ro", uri=True) as db:
        return db.execute("SELECT COALESCE(SUM(LENGTH(params)), 0) FROM models").fetchone()[0]


def one_upload(server: ServerProcess, path: Path, data_dir: Path) -> dict[str, float]:
    r, before, after, seconds, exact = measured_upload(server, path)
    r.raise_for_status()
    model_id = r.json()["id"]
    blob = stored_bytes(data_dir)
    t0 = time.perf_counter()
    httpx2.post(
        f"{server.url}/api/forward", json={"model_id": model_id, "tokens": TOKENS}, timeout=300
    ).raise_for_status()
    forward = time.perf_counter() - t0
    httpx2.delete(f"{server.url}/api/models/{model_id}", timeout=60).raise_for_status()
    return {
        "before": before["VmRSS"] / MIB,
        "peak": after["VmHWM"] / MIB,
        "after": after["VmRSS"] / MIB,
        "growth": (after["VmHWM"] - before["VmRSS"]) / MIB,
        "upload_s": seconds,
        "forward_s": forward,
        "blob": blob / MIB,
        "exact_peak": float(exact),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lstmvis-bench-upload-"))
    files = {"training checkpoint": folder / "checkpoint.pt", "weights only": folder / "weights.pt"}
    model = make_checkpoint(files["training checkpoint"])
    torch.save(model.state_dict(), files["weights only"])
    data_dir = folder / "data"
    server = ServerProcess(str(data_dir), log=folder / "server.log")
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in files}
    try:
        warm_up(server.url, folder)
        warm = memory(server.proc.pid)
        for _ in range(args.rounds):
            for name, path in files.items():
                rows[name].append(one_upload(server, path, data_dir))
    finally:
        server.stop()
    sizes = {name: path.stat().st_size / MIB for name, path in files.items()}
    shutil.rmtree(folder)  # 270 MB of files and the store
    print(f"machine: {machine()}")
    print(
        "model: nn.Embedding(65536, 256) -> nn.LSTM(256, 256) -> nn.Linear(256, 256), float32; "
        f"server RSS after the warm-up upload {warm['VmRSS'] / MIB:.1f} MiB"
    )
    exact = all(r["exact_peak"] for row in rows.values() for r in row)
    print(f"medians over {args.rounds} interleaved rounds (peak reset before each upload: {exact})")
    for name, size in sizes.items():
        m = {k: median([r[k] for r in rows[name]]) for k in rows[name][0]}
        print(
            f"{name:>20}: file {size:6.1f} MiB; server RSS before {m['before']:6.1f}, peak {m['peak']:6.1f}, "
            f"after {m['after']:6.1f} MiB; growth {m['growth']:6.1f} MiB = {m['growth'] / size:.2f} x the file; "
            f"upload {m['upload_s']:.2f} s; stored {m['blob']:.1f} MiB; first trace {m['forward_s']:.2f} s"
        )
    print(
        "the growth follows the weights read, not the file: their float32 pages (mapped from the spooled "
        "file) and their float64 arrays; the optimizer's storages are never read"
    )


if __name__ == "__main__":
    main()
