"""`window` and `param_grads`: a run too large for one response, fetched as windows of steps.

The page asks for consecutive windows (and no weight gradients, which it does not draw) when
one response would exceed the size cap; the windows put together must be the whole run.
"""

from __future__ import annotations

import pytest

from app import limits
from app.api import trace_json

TEXT = "long short-term memory keeps a cell"  # 34 steps


def post(client, body, endpoint="/api/backward"):
    r = client.post(endpoint, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def rows_of(tree, start, stop, steps, path=()):
    """`tree` with every per-step list (length `steps`) cut to rows start..stop-1."""
    if isinstance(tree, dict):
        return {k: rows_of(v, start, stop, steps, (*path, k)) for k, v in tree.items()}
    if isinstance(tree, list) and len(tree) == steps and path[-1] not in ("tokens", "vocab"):
        return tree[start:stop]
    if isinstance(tree, list) and path and path[-1] == "layers":
        return [rows_of(v, start, stop, steps, (*path, k)) for k, v in enumerate(tree)]
    return tree


WEIGHT_GRADS = {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"}


def without_weight_grads(tree):
    if isinstance(tree, dict):
        return {
            k: without_weight_grads(v)
            for k, v in tree.items()
            if k not in WEIGHT_GRADS and not k.startswith("grad_head.")
        }
    if isinstance(tree, list):
        return [without_weight_grads(v) for v in tree]
    return tree


@pytest.mark.parametrize(
    "arch",
    [
        {"cell": "lstm"},
        {"cell": "lstm", "bidirectional": True, "num_layers": 2, "proj_size": 2},
        {"cell": "gru", "num_layers": 2},
        {"cell": "rnn", "bidirectional": True, "merge_mode": "sum"},
    ],
)
def test_consecutive_windows_are_the_whole_run(client, arch):
    base = {"hidden_size": 3, "text": TEXT, "precision": 6, **arch}
    whole = post(client, base)
    steps = whole["steps"]
    got = []
    for start, stop in ((0, 10), (10, 33), (33, steps)):
        part = post(client, {**base, "window": {"start": start, "stop": stop}, "param_grads": False})
        assert part["window"] == {"start": start, "stop": stop} and part["steps"] == steps
        assert part["tokens"] == whole["tokens"] and part["loss"] == whole["loss"]
        assert without_weight_grads(part) == without_weight_grads(rows_of(whole, start, stop, steps)) | {
            "window": part["window"]
        }
        got.append(part)
    # Together the windows hold every step once.
    assert sum(len(part["layers"][0]["grad"]["x"]) for part in got) == steps


def test_a_window_past_the_end_stops_at_the_end(client):
    base = {"hidden_size": 3, "text": TEXT, "precision": 6, "param_grads": False}
    part = post(client, {**base, "window": {"start": 30, "stop": 1000}})
    assert part["window"] == {"start": 30, "stop": 34} and len(part["layers"][0]["h"]) == 4


def test_param_grads_false_leaves_out_the_weight_gradients_only(client):
    base = {"hidden_size": 3, "text": TEXT, "precision": 6}
    body = post(client, {**base, "param_grads": False})
    grad = body["layers"][0]["grad"]
    assert not WEIGHT_GRADS & set(grad)
    assert {"h0", "c0", "h", "c", "a", "h_from_next", "c_from_next"} <= set(grad)
    assert "grad_head.weight" not in body["output"] and "grad_y" in body["output"]
    assert "weight_ih" in post(client, base)["layers"][0]["grad"]


def test_an_embeddings_gradient_is_left_out_without_param_grads(client):
    params = post(client, {"hidden_size": 3, "inputs": [[0.1, 0.2]] * 3, "return_params": True})["params"]
    emb = {**params, "embedding.weight": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]]}
    base = {"hidden_size": 3, "tokens": [0, 2, 1, 2], "weights": emb, "loss": {"kind": "dh"}}
    assert "embedding.weight" in post(client, base)["grad"]
    assert post(client, {**base, "param_grads": False}).get("grad") is None


@pytest.mark.parametrize(
    ("window", "loc", "words"),
    [
        ({"start": 34, "stop": 40}, ["body", "window", "start"], "34 steps"),
        ({"start": 7, "stop": 7}, ["body", "window", "start"], "before it stops"),
        ({"start": -1, "stop": 3}, ["body", "window", "start"], "greater than or equal"),
        ({"start": 0, "stop": 3, "step": 1}, ["body", "window", "step"], "Extra inputs"),
    ],
)
def test_a_window_outside_the_sequence_is_refused_by_name(client, window, loc, words):
    r = client.post("/api/backward", json={"hidden_size": 3, "text": TEXT, "window": window})
    assert r.status_code in (400, 422), r.text
    err = r.json()["detail"][0]
    assert err["loc"] == loc and words in err["msg"]


def test_the_size_estimate_counts_a_window_and_bounds_what_is_sent(client, monkeypatch):
    said = {}
    real = trace_json.estimate_numbers

    def spy(prob, with_grad):
        said["numbers"] = real(prob, with_grad)
        return said["numbers"]

    monkeypatch.setattr(trace_json, "estimate_numbers", spy)
    base = {"hidden_size": 8, "text": TEXT, "precision": 6}
    sizes = {}
    for window in ((0, 34), (0, 17), (5, 6)):
        r = client.post(
            "/api/backward", json={**base, "window": {"start": window[0], "stop": window[1]}, "param_grads": False}
        )
        assert r.status_code == 200, r.text
        assert len(r.content) <= said["numbers"] * limits.bytes_per_number(6)
        sizes[window] = said["numbers"]
    per_step = (sizes[(0, 34)] - sizes[(0, 17)]) / 17
    assert sizes[(0, 17)] - sizes[(5, 6)] == per_step * 16


def test_a_run_over_the_cap_fits_as_windows(client):
    """T = 1000, H = 256: 413 in one response even at 4 digits; half the steps without the
    weight gradients is under the cap (refused or let through before any maths is done)."""
    text = ("the quick brown fox jumps over the lazy dog. " * 23)[:1001]
    base = {"hidden_size": 256, "text": text, "precision": 4}
    r = client.post("/api/backward", json=base)
    assert r.status_code == 413 and r.json()["detail"][0]["type"] == "response_too_large"
    from app.api.problem import build
    from app.api.schemas import TraceRequest
    from app.store import ModelStore

    prob = build(
        TraceRequest(**base, window={"start": 0, "stop": 500}, param_grads=False), ModelStore.__new__(ModelStore)
    )
    assert trace_json.estimate_numbers(prob, True) * limits.bytes_per_number(4) <= limits.MAX_RESPONSE_BYTES


@pytest.mark.parametrize("extra", [{}, {"precision": 6}, {"precision": 6, "window": {"start": 100, "stop": 900}}])
def test_the_413_names_the_longest_window_that_fits(client, extra):
    """The refusal says how many steps a window may hold: that many fit, one more does not."""
    from app.api.problem import build
    from app.api.schemas import TraceRequest

    text = ("the quick brown fox jumps over the lazy dog. " * 23)[:1001]
    base = {"hidden_size": 256, "text": text, **extra}
    r = client.post("/api/backward", json=base)
    assert r.status_code == 413, r.text
    msg = r.json()["detail"][0]["msg"]
    steps = int(msg.split("`window`s of up to ")[1].split(" steps")[0])
    assert "with `param_grads` false" in msg

    def fits(n: int) -> bool:
        req = TraceRequest(**{**base, "window": {"start": 0, "stop": n}, "param_grads": False})
        prob = build(req, None)
        size = trace_json.estimate_numbers(prob, True) * limits.bytes_per_number(req.precision)
        return size <= limits.MAX_RESPONSE_BYTES

    assert fits(steps) and not fits(steps + 1)
