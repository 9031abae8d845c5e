"""Real model sizes, forward and backward over 200 tokens: time, peak memory, response bytes.

Two models, made with torch and saved as .safetensors (float32, as trained models ship):
  character model  nn.Embedding(100, 128) -> nn.LSTM(128, 512, num_layers=2) -> nn.Linear(512, 100)
  word model       nn.Embedding(30000, 256) -> nn.LSTM(256, 256) -> nn.Linear(256, 30000)

1. The engine in-process (stack.run, forward + BPTT with every intermediate recorded, in
   float64) against the baseline in the same run: torch.nn.LSTM autograd in float64 on the
   same weights, the sequence and the same loss (next-token cross-entropy), interleaved.
2. Through HTTP: `python -m app` in its own process; the model uploaded, then POST
   /api/backward with its 200 token ids, as a client would send them: the defaults first (the
   character model's full response is over the limit and refused, with the change that fits),
   then with what the refusal suggested. Per request: the server's peak resident memory above
   its resident size before (VmHWM reset before each request), the response's bytes as sent
   (identity) and gzipped, and the wall time.

    python -m benchmarks.real_sizes [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

import httpx2
import numpy as np
import torch
from safetensors.torch import save_file

from app.nn import stack
from app.nn.losses import Loss
from benchmarks.common import interleaved, machine, median
from tests.api.test_upload_memory import memory, reset_peak, upload
from tests.live_server import ServerProcess

MIB = 2**20
STEPS = 200


class TextModel(torch.nn.Module):
    def __init__(self, vocab: int, dim: int, hidden: int, layers: int, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = torch.nn.Embedding(vocab, dim)
        self.lstm = torch.nn.LSTM(dim, hidden, layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(ids))
        return self.head(out)


MODELS = {
    "character model (V 100, D 128, H 512 x 2 layers)": dict(vocab=100, dim=128, hidden=512, layers=2),
    "word model (V 30,000, D 256, H 256)": dict(vocab=30_000, dim=256, hidden=256, layers=1),
}


def engine_params(model: TextModel) -> dict[str, np.ndarray]:
    """The float32 weights as the server holds them: float64 numpy, PyTorch-named."""
    sd = model.state_dict()
    out = {k.removeprefix("lstm."): v.double().numpy() for k, v in sd.items() if k.startswith("lstm.")}
    out["embedding.weight"] = sd["embedding.weight"].double().numpy()
    out["head.weight"] = sd["head.weight"].double().numpy()
    out["head.bias"] = sd["head.bias"].double().numpy()
    return out


def timings(model: TextModel, layers: int, ids: np.ndarray, rounds: int) -> dict[str, float]:
    params = engine_params(model)
    ours = stack.Model.of("lstm", params, layers, softmax_head=True)
    targets = np.append(ids[1:], -1)
    loss = Loss("cross_entropy", targets=targets, num_classes=params["head.weight"].shape[0])
    ref = model.double()
    tokens = torch.tensor(ids)[None]
    torch_targets = torch.tensor(targets)

    def engine() -> None:
        stack.run(ours, ids, loss)

    def torch_autograd() -> None:
        ref.zero_grad()
        y = ref(tokens)[0]
        torch.nn.functional.cross_entropy(y, torch_targets, ignore_index=-1).backward()

    times = interleaved({"engine": engine, "torch": torch_autograd}, rounds)
    model.float()
    return {name: median(t) for name, t in times.items()}


def request(server: ServerProcess, body: dict) -> dict[str, float]:
    pid = server.proc.pid
    reset_peak(pid)
    before = memory(pid)["VmRSS"]
    t0 = time.perf_counter()
    r = httpx2.post(f"{server.url}/api/backward", json=body, headers={"Accept-Encoding": "identity"}, timeout=600)
    seconds = time.perf_counter() - t0
    peak = memory(pid)["VmHWM"]
    return {
        "status": r.status_code,
        "seconds": seconds,
        "growth": (peak - before) / MIB,
        "bytes": len(r.content) / MIB,
        "gzip": len(gzip.compress(r.content, 6)) / MIB,
        "message": r.json()["detail"][0]["msg"] if r.status_code != 200 else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lstmvis-bench-sizes-"))
    server = ServerProcess(str(folder / "data"), log=folder / "server.log")
    rng = np.random.default_rng(0)
    print(f"machine: {machine()}")
    print(f"sequence: {STEPS} token ids; medians over {args.rounds} interleaved rounds")
    try:
        for name, size in MODELS.items():
            model = TextModel(**size, seed=0)
            ids = rng.integers(0, size["vocab"], STEPS)
            t = timings(model, size["layers"], ids, args.rounds)
            print(f"\n{name}")
            print(
                f"  engine forward + BPTT {t['engine'] * 1e3:.0f} ms; torch autograd {t['torch'] * 1e3:.0f} ms "
                f"(engine / torch = {t['engine'] / t['torch']:.2f}; the engine also records every intermediate)"
            )
            path = folder / "model.safetensors"
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
            r = upload(server.url, path)
            r.raise_for_status()
            model_id = r.json()["id"]
            body = {"model_id": model_id, "tokens": ids.tolist()}
            variants = {"defaults": body}
            first = request(server, body)
            if first["status"] == 413:
                variants["as suggested"] = {**body, "fields": ["h", "c"], "precision": 4}
            rows = {key: [] for key in variants}
            rows["defaults"].append(first)
            for k in range(args.rounds):
                for key, req in variants.items():
                    if key != "defaults" or k:
                        rows[key].append(request(server, req))
            for key, results in rows.items():
                m = {k: median([r[k] for r in results]) for k in ("seconds", "growth", "bytes", "gzip")}
                status = results[0]["status"]
                line = (
                    f"  /api/backward {key}: {status}; {m['seconds']:.2f} s; server peak +{m['growth']:.0f} MiB; "
                    f"response {m['bytes']:.2f} MiB ({m['gzip']:.2f} MiB gzipped)"
                )
                print(line + (f"\n    refusal: {results[0]['message']}" if status != 200 else ""))
            httpx2.delete(f"{server.url}/api/models/{model_id}", timeout=60).raise_for_status()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
