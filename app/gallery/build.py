"""Train every gallery model from scratch, measure its mechanism, write the weight files and
the manifest (`python -m app.gallery [names...]`).

Deterministic: `train()` is seeded and runs on one BLAS thread, so the same seed gives the
same weights bit for bit (the code model's also depend on the source files it reads: the
manifest records their digest).  Weights are saved as float32 safetensors in PyTorch's
naming; every figure in the manifest is measured on the saved (float32) weights.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
from safetensors.numpy import save_file

from .. import __version__
from ..nn import train as T
from . import GALLERY_DIR, MANIFEST, MODELS_DIR, load_weights
from . import tasks as G
from .catalogue import ENTRIES, Entry
from .measures import FRESH, MEASURES, SEQUENCES

FORMAT = 1  # the manifest's layout
SELECT_BASE = FRESH  # the watched units are chosen on these fresh sequences ...
MEASURE_BASE = FRESH + 10**6  # ... and measured on these (the manifest's figures)
DIGITS = 4


def source_digest() -> str:
    """The gallery's code and the trainer's: what "the script's version" means."""
    h = hashlib.sha256()
    for path in [
        *sorted(GALLERY_DIR.glob("*.py")),
        *(GALLERY_DIR.parent / "nn" / n for n in ("train.py", "batched.py")),
    ]:
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def train_params(entry: Entry, steps: int | None = None) -> tuple[dict[str, np.ndarray], list[float], float]:
    """Train `entry` from scratch: (float64 parameters, per-step losses, seconds)."""
    settings = entry.settings if steps is None else T.Settings(**{**entry.settings.__dict__, "steps": steps})
    text = G.code_corpus()[0] if entry.task == "code" else None
    data = G.task_data(entry.task, entry.steps, entry.delay, text)
    start = time.perf_counter()
    losses, params = [], None
    for report, live in T.train(settings, data):
        losses.append(report.loss)
        params = live
    return {k: np.array(v) for k, v in params.items()}, losses, time.perf_counter() - start


def measure(entry: Entry, params: dict[str, np.ndarray], base: int, watch=None):
    fn = MEASURES[entry.task]
    if entry.task == "code":
        held = G.code_corpus()[1]
        half = len(held) // 2
        return fn(entry.cell, params, entry.steps, held[:half] if watch is None else held[half:], watch)
    if entry.task == "copy":
        return fn(entry.cell, params, entry.steps, entry.delay, base, watch)
    return fn(entry.cell, params, entry.steps, base, watch)


def _round(value: float) -> float:
    return float(f"{value:.{DIGITS}g}")


def _described(entry: Entry, watch: list[dict], metrics: dict[str, float]) -> dict[str, str]:
    """The texts with the watched units ({u0} ...) and the measured figures ({mse} ...) filled in.

    A text names a unit as the page does, counting from 1; `watch` keeps the API's 0-based index."""
    fields = {f"u{k}": w["unit"] + 1 for k, w in enumerate(watch)} | {k: f"{v:.3g}" for k, v in metrics.items()}
    return {lang: text.format(**fields) for lang, text in entry.what_to_look_for.items()}


def build(entry: Entry) -> dict:
    params, losses, seconds = train_params(entry)
    weights = {k: v.astype(np.float32) for k, v in params.items()}
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    path = MODELS_DIR / f"{entry.name}.safetensors"
    save_file(weights, str(path))
    saved = load_weights(path)  # the figures are the shipped (float32) weights'
    _, watch = measure(entry, saved, SELECT_BASE)
    metrics, _ = measure(entry, saved, MEASURE_BASE, watch)
    record = {
        "name": entry.name,
        "task": entry.task,
        "cell": entry.cell,
        "file": f"models/{path.name}",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input_size": int(saved["weight_ih_l0"].shape[1]),
        "hidden_size": entry.settings.hidden_size,
        "num_layers": entry.settings.num_layers,
        "output_size": int(saved["head.weight"].shape[0]),
        "sequence_steps": entry.steps,
        "delay": entry.delay,
        "training": {
            "settings": entry.settings.__dict__,
            "steps": len(losses),
            "final_loss": _round(float(np.mean(losses[-100:]))),
            "seconds": round(seconds, 1),
        },
        "metrics": {k: _round(v) for k, v in metrics.items()},
        "measured_on": (
            "the held-out source files' second half, in windows of the training length"
            if entry.task == "code"
            else f"{SEQUENCES} fresh sequences, seeds {MEASURE_BASE} + 0..{SEQUENCES - 1} "
            f"(units chosen on seeds {SELECT_BASE} + 0..{SEQUENCES - 1}; training draws seeds below {FRESH})"
        ),
        "watch": watch,
        "title": entry.title,
        "what_to_look_for": _described(entry, watch, {k: _round(v) for k, v in metrics.items()}),
    }
    if entry.task == "code":
        train_text, held = G.code_corpus()
        record["corpus"] = {
            "files": "app/**/*.py, printable-ASCII lines",
            "every_nth_file_held_out": G.CODE_HOLDOUT,
            "train_characters": len(train_text),
            "held_out_characters": len(held),
            "digest": G.corpus_digest(train_text),
            # The figures are this text's: any edit to app/ changes it (see the figures test).
            "held_out_digest": G.corpus_digest(held),
        }
    return record


def read_manifest() -> dict:
    if MANIFEST.exists():
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {"format": FORMAT, "models": []}


def write_manifest(manifest: dict) -> None:
    MANIFEST.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(names: list[str]) -> None:
    chosen = [e for e in ENTRIES if not names or e.name in names]
    unknown = set(names) - {e.name for e in ENTRIES}
    if unknown:
        raise SystemExit(f"unknown gallery models {sorted(unknown)}; there are {[e.name for e in ENTRIES]}")
    manifest = read_manifest()
    records = {m["name"]: m for m in manifest["models"]}
    start = time.perf_counter()
    for entry in chosen:
        print(f"training {entry.name} ...", flush=True)
        records[entry.name] = build(entry)
        print(f"  {records[entry.name]['training']['seconds']} s  {records[entry.name]['metrics']}", flush=True)
    order = [e.name for e in ENTRIES]
    manifest = {
        "format": FORMAT,
        "app_version": __version__,
        "script_version": source_digest(),
        "models": [records[n] for n in order if n in records],
    }
    if not names:
        manifest["total_seconds"] = round(time.perf_counter() - start, 1)
    write_manifest(manifest)
    print(f"wrote {MANIFEST} in {time.perf_counter() - start:.0f} s")
