"""The trace endpoints' contract: shapes, names, options (precision, fields, return_params)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app.nn.spec import SPECS

LSTM_FORWARD = ["x", "a", "i", "f", "g", "o", "c", "tanh_c", "h"]


def post(client, body, endpoint="/api/backward"):
    r = client.post(endpoint, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_text_input_is_one_hot_over_sorted_characters_with_next_char_targets(client):
    body = post(client, {"text": "hello", "hidden_size": 3})
    assert body["vocab"] == ["e", "h", "l", "o"] and body["tokens"] == list("hello")
    assert body["steps"] == 4 and body["input_size"] == 4
    x = np.array(body["layers"][0]["x"])
    np.testing.assert_array_equal(x.argmax(axis=1), [1, 0, 2, 2])  # h e l l
    np.testing.assert_array_equal(x.sum(axis=1), 1.0)
    assert body["loss_kind"] == "cross_entropy"
    probs = np.array(body["output"]["probs"])
    expected = -np.mean(np.log(probs[np.arange(4), [0, 2, 2, 3]]))  # e l l o
    assert body["loss"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_response_shapes_and_names(client, cell):
    steps, hidden, layers = 5, 4, 2
    req = {"cell": cell, "hidden_size": hidden, "num_layers": layers, "inputs": [[0.1, -0.2, 0.3]] * steps}
    body = post(client, req)
    spec = SPECS[cell]
    assert body["gate_order"] == list(spec.blocks)
    assert (body["cell"], body["steps"], body["input_size"], body["num_layers"]) == (cell, steps, 3, layers)
    assert body["loss_kind"] == "dh" and body["output"] is None
    for k, layer in enumerate(body["layers"]):
        width_x = 3 if k == 0 else hidden
        assert set(layer) == set(spec.forward) | {"grad", "direction"}
        assert layer["direction"] == "forward"
        for name in spec.forward:
            width = width_x if name == "x" else hidden * (spec.num_blocks if name == "a" else 1)
            assert np.array(layer[name]).shape == (steps, width), name
        grad = layer["grad"]
        for name in spec.array_names():
            assert np.array(grad[name]).shape == np.array(layer.get(name, grad["h"])).shape, name
        assert np.array(grad["weight_ih"]).shape == (spec.num_blocks * hidden, width_x)
        assert np.array(grad["weight_hh"]).shape == (spec.num_blocks * hidden, hidden)
        assert np.array(grad["h0"]).shape == (hidden,)
        assert ("c0" in grad) == (cell == "lstm")
        # dh splits exactly into the part from above and the part from t+1.
        total = np.array(grad["h_from_above"]) + np.array(grad["h_from_next"])
        np.testing.assert_allclose(grad["h"], total, rtol=1e-15, atol=0)
    # The bottom layer's "from above" is the top layer's dL/dx.
    np.testing.assert_allclose(
        body["layers"][0]["grad"]["h_from_above"], body["layers"][1]["grad"]["x"], rtol=0, atol=0
    )


def test_lstm_gate_and_slice_gradients_are_consistent(client):
    body = post(client, {"hidden_size": 3, "inputs": [[0.5, -1.0]] * 4, "seed": 5})
    layer, grad = body["layers"][0], body["layers"][0]["grad"]
    hidden = 3
    i, f, g, o = (np.array(layer[k]) for k in "ifgo")
    da = np.array(grad["a"])
    # The slice node's backward concatenates the four pre-activation gradients, in gate order.
    np.testing.assert_allclose(da[:, :hidden], np.array(grad["i"]) * i * (1 - i), rtol=1e-12)
    np.testing.assert_allclose(da[:, hidden : 2 * hidden], np.array(grad["f"]) * f * (1 - f), rtol=1e-12)
    np.testing.assert_allclose(da[:, 2 * hidden : 3 * hidden], np.array(grad["g"]) * (1 - g * g), rtol=1e-12)
    np.testing.assert_allclose(da[:, 3 * hidden :], np.array(grad["o"]) * o * (1 - o), rtol=1e-12)
    # dc_t = dc from t+1 + dh_t * o * (1 - tanh(c_t)^2), and dc_{t-1} from t = dc_t * f_t.
    tanh_c = np.array(layer["tanh_c"])
    dc = np.array(grad["c"])
    np.testing.assert_allclose(
        dc, np.array(grad["c_from_next"]) + np.array(grad["h"]) * o * (1 - tanh_c**2), rtol=1e-12
    )
    np.testing.assert_allclose(np.array(grad["c_from_next"])[:-1], dc[1:] * f[1:], rtol=1e-12)
    np.testing.assert_allclose(grad["c0"], dc[0] * f[0], rtol=1e-12)


def test_precision_rounds_every_number_to_significant_digits(client):
    req = {"hidden_size": 4, "text": "abcabd", "precision": 3}
    full = post(client, {**req, "precision": None})
    short = post(client, req)
    np.testing.assert_allclose(short["layers"][0]["grad"]["c"], full["layers"][0]["grad"]["c"], rtol=5e-3)
    assert short["loss"] == float(f"{full['loss']:.3g}")
    for number in re.findall(r"-?\d[\d.]*(?:e-?\d+)?", str(short["layers"][0]["h"])):
        mantissa = number.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        assert len(mantissa) <= 3, number


def test_fields_returns_only_the_named_arrays_and_their_gradients(client):
    body = post(client, {"hidden_size": 2, "text": "hello", "fields": ["h", "c"]})
    layer = body["layers"][0]
    assert set(layer) == {"h", "c", "grad", "direction"}
    assert {"h", "c", "h0", "c0", "weight_ih"} <= set(layer["grad"]) and "a" not in layer["grad"]
    body = post(client, {"hidden_size": 2, "text": "hello", "fields": ["h_from_next"]})
    assert set(body["layers"][0]) == {"grad", "direction"} and "h_from_next" in body["layers"][0]["grad"]


def test_return_params_gives_the_generated_weights_which_reproduce_the_trace(client):
    req = {"hidden_size": 3, "num_layers": 2, "text": "abcab", "seed": 11, "forget_bias": 1.0}
    first = post(client, {**req, "return_params": True})
    params = first["params"]
    assert set(params) >= {"weight_ih_l0", "weight_hh_l1", "head.weight", "head.bias"}
    bound = 1 / np.sqrt(3)
    b = np.array(params["bias_ih_l0"])
    assert np.all(np.abs(np.array(params["weight_hh_l0"])) <= bound)
    assert np.all(b[3:6] > 1 - bound) and np.all(np.abs(b[:3]) <= bound)  # forget block shifted by 1
    again = post(client, {**req, "forget_bias": 0.0, "weights": params})
    np.testing.assert_array_equal(again["layers"][1]["h"], first["layers"][1]["h"])


def test_same_seed_same_trace_and_different_seed_different_trace(client):
    req = {"hidden_size": 3, "text": "hello"}
    a, b, c = (post(client, {**req, "seed": s}) for s in (1, 1, 2))
    assert a == b
    assert a["layers"][0]["h"] != c["layers"][0]["h"]


def test_forward_has_no_gradients(client):
    body = post(client, {"hidden_size": 3, "text": "hello"}, endpoint="/api/forward")
    assert "grad" not in body["layers"][0]
    assert set(body["output"]) <= {"full", "y", "probs", "top_k", "target"}
    assert not any(k.startswith("grad") for k in body["output"]["target"])


def test_mse_with_unscored_steps(client):
    req = {
        "hidden_size": 2,
        "inputs": [[0.1], [0.2], [0.3]],
        "loss": {"kind": "mse", "targets": [[None], [None], [1.0]]},
    }
    body = post(client, req)
    y = np.array(body["output"]["y"])[:, 0]
    assert body["loss"] == pytest.approx((y[2] - 1.0) ** 2, rel=1e-12)
    assert body["output"]["grad_y"][0] == [0.0] and body["output"]["grad_y"][1] == [0.0]


def test_accepts_the_promised_sizes(client):
    rng = np.random.default_rng(0)
    long = {"hidden_size": 256, "inputs": rng.normal(size=(500, 2)).round(3).tolist(), "precision": 4}
    body = post(client, long)
    assert body["steps"] == 500 and len(body["layers"][0]["h"][0]) == 256
    deep = {"hidden_size": 16, "num_layers": 4, "text": "hello world"}
    assert post(client, deep)["num_layers"] == 4


def test_gradcheck_endpoint_reports_every_tensor(client):
    r = client.post("/api/gradcheck", json={"cell": "gru", "hidden_size": 3, "num_layers": 2, "text": "abcab"})
    assert r.status_code == 200, r.text
    body = r.json()
    names = {c["name"] for c in body["checks"]}
    assert {"weight_ih_l0", "weight_hh_l1", "bias_hh_l1", "head.weight", "inputs", "h0"} <= names
    assert body["passed"] and body["max_rel_error"] <= 1e-6
    assert all(c["max_rel_error"] <= body["max_rel_error"] for c in body["checks"])


def test_presets_are_complete_requests_that_run(client):
    listing = client.get("/api/presets").json()
    names = [p["name"] for p in listing["presets"]]
    assert {"hello", "sine", "adding", "copy"} <= set(names) and listing["default"] in names
    for preset in listing["presets"]:
        body = post(client, preset["request"])
        assert body["steps"] >= 2, preset["name"]


def test_health_and_limits(client):
    assert client.get("/api/health").json()["status"] == "ok"
    info = client.get("/api/limits").json()
    assert info["limits"]["max_steps"] >= 500 and info["limits"]["max_hidden"] >= 256
    assert info["cells"]["lstm"]["gate_order"] == ["i", "f", "g", "o"]
