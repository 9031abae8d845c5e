"""The PyTorch golden traces: the project's own, and the team's shared set when it is beside the checkout.

The project's traces live in tests/fixtures/torch-golden/, made by
`python -m tests.fixtures.make_torch_golden` (torch, unrolled by hand with retain_grad).
The shared set in ../shared/fixtures/torch-golden/ (LSTMVIS_GOLDEN_DIR overrides) is an
extra, independent reference: its cases run when it is there and are reported as skipped,
with the reason, when it is not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from app.nn import params as P
from app.nn.losses import NO_CLASS, Loss
from app.nn.stack import Model

REPO_GOLDEN_DIR = Path(__file__).resolve().parent / "fixtures" / "torch-golden"
SHARED_GOLDEN_DIR = Path(
    os.environ.get("LSTMVIS_GOLDEN_DIR", Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "torch-golden")
)


def repo_golden_files() -> list[Path]:
    return sorted(REPO_GOLDEN_DIR.glob("*.json"))


def golden_cases() -> list:
    """pytest params: every repo trace, then every shared one (or one skipped param saying why)."""
    cases = [pytest.param(p, id=f"repo-{p.stem}") for p in repo_golden_files()]
    shared = sorted(SHARED_GOLDEN_DIR.glob("*.json"))
    if shared:
        cases += [pytest.param(p, id=f"shared-{p.stem}") for p in shared]
    else:
        reason = f"the shared golden traces are not beside this checkout ({SHARED_GOLDEN_DIR} has none)"
        cases.append(pytest.param(None, id="shared", marks=pytest.mark.skip(reason=reason)))
    return cases


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
