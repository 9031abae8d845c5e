"""POST /api/compare: the gradient-flow measures, checked against /api/backward and numpy."""

from __future__ import annotations

import numpy as np
import pytest

from app.store import get_store


def compare(client, body):
    r = client.post("/api/compare", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def backward_with(client, body, cell, params, steps, hidden):
    """The same cell through /api/backward, with the exact parameters compare used."""
    req = {k: v for k, v in body.items() if k not in ("recurrent_scale", "hold_forget", "clip", "overrides")}
    if "loss" not in req:
        req["loss"] = {"kind": "dh", "dh": [[0.0] * hidden] * (steps - 1) + [[1.0] * hidden]}
    req |= {"cell": cell, "weights": params, "forget_bias": 0.0}
    r = client.post("/api/backward", json=req)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def adding_100(client):
    return client.get("/api/presets/adding", params={"steps": 100}).json()["request"]


def test_norms_match_the_per_step_gradients_of_backward(client):
    rng = np.random.default_rng(3)
    body = {
        "hidden_size": 5,
        "num_layers": 2,
        "inputs": rng.normal(size=(12, 3)).tolist(),
        "forget_bias": 1.0,
        "recurrent_scale": 1.5,
        "return_params": True,
    }
    res = compare(client, body)
    assert set(res["cells"]) == {"rnn", "gru", "lstm"}
    for cell, entry in res["cells"].items():
        ref = backward_with(client, body, cell, entry["params"], 12, 5)
        assert entry["loss"] == pytest.approx(ref["loss"], rel=1e-12)
        for k, layer in enumerate(ref["layers"]):
            np.testing.assert_allclose(entry["grad_norm_h"][k], np.linalg.norm(layer["grad"]["h"], axis=1), rtol=1e-12)
            if cell == "lstm":
                np.testing.assert_allclose(
                    entry["grad_norm_c"][k], np.linalg.norm(layer["grad"]["c"], axis=1), rtol=1e-12
                )
                f = np.array(layer["f"])
                for t in range(12):
                    expected_units = np.prod(f[t + 1 :], axis=0)
                    np.testing.assert_allclose(entry["forget_product_units"][k][t], expected_units, rtol=1e-12)
                    assert entry["forget_product"][k][t] == pytest.approx(expected_units.mean(), rel=1e-12)
                assert entry["forget_product"][k][-1] == 1.0
        np.testing.assert_allclose(
            entry["grad_norm_x"], np.linalg.norm(ref["layers"][0]["grad"]["x"], axis=1), rtol=1e-12
        )
        assert len(entry["saturation"]) == 12 and all(0 <= s <= 1 for s in entry["saturation"])


def test_rnn_spectral_radius_and_largest_singular_value_against_numpy(client):
    body = {"hidden_size": 6, "num_layers": 2, "text": "abracadabra", "recurrent_scale": 2.5, "return_params": True}
    rnn = compare(client, body)["cells"]["rnn"]
    for k in range(2):
        w_hh = np.array(rnn["params"][f"weight_hh_l{k}"])
        assert rnn["spectral_radius"][k] == pytest.approx(np.max(np.abs(np.linalg.eigvals(w_hh))), rel=1e-12)
        assert rnn["max_singular_value"][k] == pytest.approx(np.linalg.svd(w_hh, compute_uv=False)[0], rel=1e-12)


@pytest.mark.parametrize("threshold", [1e-3, 0.5, 10.0, 1e5])
def test_clipping_never_increases_a_norm(client, threshold):
    body = {"hidden_size": 4, "text": "hello world", "clip": threshold}
    for entry in compare(client, body)["cells"].values():
        g = entry["grad_norm_params"]
        assert g["after"] <= g["before"] * (1 + 1e-15)
        assert g["after"] == pytest.approx(min(g["before"], threshold), rel=1e-12)
        assert g["threshold"] == threshold


def test_rnn_gradient_vanishes_over_the_adding_problem(client, adding_100):
    rnn = compare(client, adding_100)["cells"]["rnn"]
    h = np.array(rnn["grad_norm_h"][0])
    assert h[-1] > 0 and h[0] < 1e-6 * h[-1], (h[0], h[-1])


def test_forget_bias_lets_more_gradient_reach_step_1(client, adding_100):
    first = {}
    for bias in (0.0, 1.0, 3.0):
        lstm = compare(client, adding_100 | {"forget_bias": bias})["cells"]["lstm"]
        first[bias] = (lstm["grad_norm_h"][0][0], lstm["grad_norm_c"][0][0])
    assert first[0.0][0] < first[1.0][0] < first[3.0][0]
    assert first[3.0][1] > 1e3 * first[0.0][1]


def test_forget_gate_held_at_1_keeps_the_cell_path_open(client, adding_100):
    lstm = compare(client, adding_100 | {"hold_forget": True})["cells"]["lstm"]
    np.testing.assert_array_equal(lstm["forget_product"][0], 1.0)
    # dc_{t-1} = dc_t + (what arrives through h): the cell-path gradient never shrinks to 0.
    assert lstm["grad_norm_c"][0][0] > 1e-3 * lstm["grad_norm_c"][0][-1]


def test_last_step_is_the_default_loss(client):
    res = compare(client, {"hidden_size": 3, "inputs": [[0.1], [0.2], [0.3], [0.4]]})
    assert res["loss_kind"] == "dh"
    for entry in res["cells"].values():
        assert entry["grad_norm_h"][0][-1] == pytest.approx(np.sqrt(3))  # dh_T = ones, nothing after T
    text = compare(client, {"hidden_size": 3, "text": "hello"})
    assert text["loss_kind"] == "cross_entropy"


def test_overrides_and_their_errors(client):
    body = {"hidden_size": 3, "text": "hello", "overrides": {"rnn": {"recurrent_scale": 0.0}}}
    rnn = compare(client, body)["cells"]["rnn"]
    assert rnn["spectral_radius"] == [0.0]
    r = client.post("/api/compare", json={"hidden_size": 3, "text": "hello", "overrides": {"gru": {"c0": [[0, 0, 0]]}}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "overrides", "gru"]
    r = client.post(
        "/api/compare", json={"hidden_size": 3, "text": "hello", "overrides": {"lstm": {"weights": {"x": [1.0]}}}}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:4] == ["body", "overrides", "lstm", "weights"]
    r = client.post("/api/compare", json={"hidden_size": 3, "text": "hello", "weights": {}})
    assert r.status_code == 422 and "overrides" in r.json()["detail"][0]["msg"]


def test_recurrent_scale_turns_vanishing_into_exploding(client):
    body = {"hidden_size": 32, "inputs": [[0.0]] * 60}
    calm = compare(client, body)["cells"]["rnn"]
    wild = compare(client, body | {"recurrent_scale": 4.0})["cells"]["rnn"]
    assert calm["spectral_radius"][0] < 1 < wild["spectral_radius"][0]
    assert wild["spectral_radius"][0] == pytest.approx(4 * calm["spectral_radius"][0], rel=1e-12)
    h_calm, h_wild = calm["grad_norm_h"][0], wild["grad_norm_h"][0]
    assert h_calm[0] < 1e-6 * h_calm[-1]  # vanishes going back 60 steps
    assert h_wild[0] > 1e3 * h_wild[-1]  # explodes


def test_long_sequences_are_accepted(client):
    body = client.get("/api/presets/adding", params={"steps": 500}).json()["request"]
    res = compare(client, body | {"precision": 4})
    assert res["steps"] == 500 and len(res["cells"]["lstm"]["forget_product"][0]) == 500


def test_a_saved_model_stands_in_for_its_own_cell(client):
    from app import model_files
    from app.nn import params as P

    weights = P.init_params("gru", 2, 5, 2, seed=3)
    model = client.post("/api/models", files={"file": ("g.npz", model_files.write(weights, "npz"))}).json()
    inputs = [[0.1, -0.2]] * 6
    res = compare(client, {"model_id": model["id"], "inputs": inputs, "return_params": True})
    assert res["hidden_size"] == 5 and res["num_layers"] == 2
    np.testing.assert_array_equal(res["cells"]["gru"]["params"]["weight_hh_l1"], weights["weight_hh_l1"])
    assert np.array(res["cells"]["lstm"]["params"]["weight_hh_l0"]).shape == (20, 5)  # seeded, same size
    r = client.post("/api/compare", json={"model_id": "f" * 32, "inputs": inputs})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["body", "model_id"]


def test_a_response_over_the_size_limit_is_refused_before_computing(client):
    """Return_params at the largest sizes is about 4.2 million numbers, 90 MB at full precision."""
    from app import limits
    from app.api import workload

    body = {"hidden_size": 256, "num_layers": 4, "inputs": [[0.5] * 256] * 2, "return_params": True}
    started = workload.stats.admitted
    r = client.post("/api/compare", json=body)
    assert r.status_code == 413, r.text[:300]
    (item,) = r.json()["detail"]
    assert item["loc"] == ["body", "precision"] and item["type"] == "response_too_large"
    assert f"{limits.MAX_RESPONSE_BYTES // 2**20} MiB" in item["msg"] and "return_params" in item["msg"]
    assert workload.stats.admitted == started + 1  # refused inside the computation's slot, before the runs
    # With precision set the same numbers are 12 bytes each: under the limit, refused no more.
    from app.api.compare import CompareRequest, estimate_numbers, problems_for

    numbers = estimate_numbers(
        problems_for(CompareRequest.model_validate(body), get_store()), CompareRequest.model_validate(body)
    )
    assert numbers * limits.bytes_per_number(4) <= limits.MAX_RESPONSE_BYTES < numbers * limits.bytes_per_number(None)


@pytest.mark.parametrize(
    "body",
    [
        {"hidden_size": 5, "num_layers": 2, "inputs": [[0.1, 0.2]] * 30, "return_params": True},
        {"hidden_size": 16, "text": "hello world, hello", "precision": 3, "clip": 0.5},
        {"hidden_size": 3, "num_layers": 3, "inputs": [[0.1]] * 200},
    ],
)
def test_the_size_estimate_counts_every_number_of_the_response(client, body):
    import re

    from app.api.compare import CompareRequest, estimate_numbers, problems_for

    req = CompareRequest.model_validate(body)
    text = client.post("/api/compare", json=body).text
    numbers_sent = len(re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.sub(r'"[^"]*"', "", text)))
    # Exact: every number outside a string, the sizes (steps, hidden_size, num_layers) included.
    assert estimate_numbers(problems_for(req, get_store()), req) == numbers_sent


def test_a_scaled_cell_gets_new_arrays_and_the_problem_it_came_from_is_untouched():
    from app.api.compare import CompareRequest, _scaled, problems_for

    req = CompareRequest.model_validate({"hidden_size": 3, "inputs": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]]})
    prob = problems_for(req, get_store())["rnn"]
    before = {name: value.copy() for name, value in prob.params.items()}
    scaled = _scaled(prob, 2.0, hold_forget=False)
    for name, value in prob.params.items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)  # nothing mutated in place
    np.testing.assert_array_equal(scaled.params["weight_hh_l0"], 2.0 * before["weight_hh_l0"])
    assert scaled.model.layers[0].weight_hh is scaled.params["weight_hh_l0"]
    np.testing.assert_array_equal(scaled.params["weight_ih_l0"], before["weight_ih_l0"])


@pytest.mark.parametrize(("field", "value"), [("window", {"start": 0, "stop": 2}), ("param_grads", False)])
def test_trace_only_options_are_refused_by_name_not_ignored(client, field, value):
    """`window` and `param_grads` shape a trace's response; a comparison has neither to shape."""
    body = {"inputs": [[0.5], [-0.2], [0.1]], "hidden_size": 2, "seed": 0, field: value}
    r = client.post("/api/compare", json=body)
    assert r.status_code == 422
    assert field in r.text
    assert client.post("/api/compare", json={k: v for k, v in body.items() if k != field}).status_code == 200
