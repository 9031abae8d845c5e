"""Property tests over random shapes: what must hold for any valid request."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn.spec import SPECS

requests = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(["lstm", "gru", "rnn"]),
        "hidden_size": st.integers(1, 6),
        "num_layers": st.integers(1, 3),
        "seed": st.integers(0, 2**32 - 1),
        "steps": st.integers(1, 7),
        "width": st.integers(1, 4),
        "data_seed": st.integers(0, 1000),
    }
)

PROFILE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def body_of(r: dict, dh_scale: float = 1.0) -> dict:
    rng = np.random.default_rng(r["data_seed"])
    x = rng.normal(size=(r["steps"], r["width"])) * 2
    dh = rng.normal(size=(r["steps"], r["hidden_size"]))
    req = {k: r[k] for k in ("cell", "hidden_size", "num_layers", "seed")}
    return req | {"inputs": x.tolist(), "loss": {"kind": "dh", "dh": (dh * dh_scale).tolist()}}


@PROFILE
@given(requests)
def test_ranges_shapes_and_the_split_of_dh(client, r):
    req = body_of(r)
    res = client.post("/api/backward", json=req)
    assert res.status_code == 200, res.text
    body = res.json()
    spec = SPECS[r["cell"]]
    assert len(body["layers"]) == r["num_layers"]
    for layer in body["layers"]:
        for name in spec.sigmoid_blocks:
            v = np.array(layer[name])
            assert v.shape == (r["steps"], r["hidden_size"]) and np.all((v >= 0) & (v <= 1))
        assert np.all(np.abs(np.array(layer["h"])) <= 1)
        g = layer["grad"]
        np.testing.assert_allclose(g["h"], np.add(g["h_from_above"], g["h_from_next"]), rtol=1e-14, atol=0)
        assert np.all(np.array(g["h_from_next"])[-1] == 0)  # nothing arrives from after the last step


@PROFILE
@given(requests, st.sampled_from([-3.0, 0.5, 2.0]))
def test_backward_is_linear_in_the_upstream_gradient(client, r, scale):
    base = body_of(r)
    scaled = body_of(r, scale)
    a = client.post("/api/backward", json=base).json()
    b = client.post("/api/backward", json=scaled).json()
    assert abs(b["loss"] - a["loss"] * scale) <= 1e-12 * (1 + abs(a["loss"] * scale))
    for la, lb in zip(a["layers"], b["layers"], strict=True):
        np.testing.assert_array_equal(la["h"], lb["h"])  # the forward pass does not see the loss
        for name in ("h", "x", "weight_hh", "bias_ih", "h0"):
            np.testing.assert_allclose(lb["grad"][name], np.multiply(la["grad"][name], scale), rtol=1e-12, atol=1e-15)
