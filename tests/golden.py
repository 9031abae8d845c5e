"""Access to the PyTorch golden traces in ../shared/fixtures/torch-golden/ (read-only)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from app.nn import params as P
from app.nn.losses import NO_CLASS, Loss
from app.nn.stack import Model

# shared/ sits beside the checkout (as it does for CI's clone); LSTMVIS_GOLDEN_DIR overrides.
GOLDEN_DIR = Path(
    os.environ.get("LSTMVIS_GOLDEN_DIR", Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "torch-golden")
)


def golden_files() -> list[Path]:
    return sorted(GOLDEN_DIR.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def engine_inputs(request: dict) -> tuple[Model, np.ndarray, Loss, np.ndarray | None, np.ndarray | None]:
    """The engine's view of a request body, built without the API (an independent path)."""
    w = {k: np.array(v, dtype=np.float64) for k, v in request["weights"].items()}
    num_layers = request["num_layers"]
    model = Model(request["cell"], P.layers_from(w, num_layers), P.head_from(w))
    spec = request["loss"]
    if spec["kind"] == "dh":
        loss = Loss("dh", dh=np.array(spec["dh"], dtype=np.float64))
    elif spec["kind"] == "mse":
        targets = [[np.nan if v is None else v for v in row] for row in spec["targets"]]
        loss = Loss("mse", targets=np.array(targets, dtype=np.float64))
    else:
        loss = Loss("cross_entropy", targets=np.array([NO_CLASS if v is None else v for v in spec["targets"]]))
    h0 = np.array(request["h0"], dtype=np.float64) if "h0" in request else None
    c0 = np.array(request["c0"], dtype=np.float64) if "c0" in request else None
    return model, np.array(request["inputs"], dtype=np.float64), loss, h0, c0
