"""The engine against traces computed by PyTorch 2.13 (float64, autograd with retain_grad)."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import stack
from tests.golden import engine_inputs, golden_files, load

TOL = 1e-12


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
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


def test_golden_fixtures_are_present():
    # A missing shared/ folder must fail loudly, not turn the test above into zero cases.
    assert len(golden_files()) >= 6
