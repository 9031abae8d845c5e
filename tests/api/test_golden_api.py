"""POST the golden requests as they are; the responses must carry PyTorch's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.golden import golden_cases, load

TOL = 1e-12


@pytest.mark.parametrize("path", golden_cases())
def test_backward_response_matches_pytorch(client, path):
    case = load(path)
    r = client.post("/api/backward", json=case["request"])
    assert r.status_code == 200, r.text
    body, expected = r.json(), case["expected"]
    assert body["loss"] == pytest.approx(expected["loss"], abs=TOL)
    assert body["num_layers"] == len(expected["layers"]) == len(body["layers"])
    for got, want in zip(body["layers"], expected["layers"], strict=True):
        for name, value in want.items():
            if name == "grad":
                for gname, gvalue in value.items():
                    np.testing.assert_allclose(got["grad"][gname], gvalue, rtol=0, atol=TOL, err_msg=gname)
            else:
                np.testing.assert_allclose(got[name], value, rtol=0, atol=TOL, err_msg=name)
    for name, value in expected.get("output", {}).items():
        np.testing.assert_allclose(body["output"][name], value, rtol=0, atol=TOL, err_msg=name)


@pytest.mark.parametrize("path", golden_cases())
def test_forward_response_has_the_same_forward_arrays_and_no_grad(client, path):
    case = load(path)
    body = client.post("/api/forward", json=case["request"]).json()
    assert body["loss"] == pytest.approx(case["expected"]["loss"], abs=TOL)
    for got, want in zip(body["layers"], case["expected"]["layers"], strict=True):
        assert "grad" not in got
        np.testing.assert_allclose(got["h"], want["h"], rtol=0, atol=TOL)
