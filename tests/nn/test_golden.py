"""The engine against traces computed by PyTorch 2.13 (float64, autograd with retain_grad)."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import stack
from tests.golden import REPO_GOLDEN_DIR, engine_inputs, golden_cases, load, repo_golden_files

TOL = 1e-12


@pytest.mark.parametrize("path", golden_cases())
def test_engine_matches_pytorch_golden(path):
    case = load(path)
    model, x, loss, h0, c0 = engine_inputs(case["request"])
    trace = stack.run(model, x, loss, h0, c0)
    expected = case["expected"]
    assert trace.loss == pytest.approx(expected["loss"], abs=TOL)
    assert len(expected["layers"]) == model.num_layers
    compared = 0
    for k, layer in enumerate(expected["layers"]):
        for name, value in layer.items():
            if name == "grad":
                for gname, gvalue in value.items():
                    np.testing.assert_allclose(trace.grads[k][gname], gvalue, rtol=0, atol=TOL, err_msg=f"grad.{gname}")
                    compared += 1
            else:
                np.testing.assert_allclose(trace.layers[k][name], value, rtol=0, atol=TOL, err_msg=name)
                compared += 1
    for name, value in expected.get("output", {}).items():
        np.testing.assert_allclose(trace.output[name], value, rtol=0, atol=TOL, err_msg=f"output.{name}")
        compared += 1
    assert compared >= 10


def test_the_repository_carries_its_golden_traces():
    # Missing files must fail loudly, not turn the test above into zero cases.
    names = {p.stem for p in repo_golden_files()}
    assert len(names) >= 10
    assert {n.split("-")[0] for n in names} == {"lstm", "gru", "rnn"}


@pytest.mark.torch
def test_the_script_remakes_the_committed_traces(tmp_path):
    # The committed files are what the script in the repo makes, so a reader can rebuild them.
    pytest.importorskip("torch")
    from tests.fixtures import make_torch_golden

    make_torch_golden.main(["--out", str(tmp_path)])
    made = sorted(p.name for p in tmp_path.glob("*.json"))
    assert made == sorted(p.name for p in repo_golden_files())
    for name in made:
        fresh, committed = load(tmp_path / name), load(REPO_GOLDEN_DIR / name)
        assert fresh["request"] == committed["request"], name
        _assert_same_numbers(fresh["expected"], committed["expected"], name)


def _assert_same_numbers(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same_numbers(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and a and isinstance(a[0], dict):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_numbers(x, y, f"{where}[{k}]")
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=where)
