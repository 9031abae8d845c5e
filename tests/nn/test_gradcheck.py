"""BPTT against numerical differentiation: every parameter, the inputs and initial states."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import gradcheck, stack
from app.nn import params as P
from app.nn.losses import NO_CLASS, Loss

STEPS, INPUTS, HIDDEN, OUTPUTS = 5, 3, 4, 3


def make_loss(kind: str, rng: np.random.Generator) -> Loss:
    if kind == "dh":
        return Loss("dh", dh=rng.normal(size=(STEPS, HIDDEN)))
    if kind == "mse":
        targets = rng.normal(size=(STEPS, OUTPUTS))
        targets[1, 0] = np.nan  # an unscored element must not disturb the gradient
        return Loss("mse", targets=targets, num_classes=OUTPUTS)
    return Loss("cross_entropy", targets=np.array([0, 2, NO_CLASS, 1, 2]), num_classes=OUTPUTS)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("loss_kind", ["dh", "mse", "cross_entropy"])
def test_every_gradient_matches_central_differences(cell, num_layers, loss_kind):
    rng = np.random.default_rng([num_layers, len(cell), len(loss_kind)])
    w = P.init_params(cell, INPUTS, HIDDEN, num_layers, seed=7)
    w.update(P.init_head(HIDDEN, OUTPUTS, seed=7))
    # Larger than default weights so gates leave their linear range (a harder check).
    w = {k: 2.0 * v for k, v in w.items()}
    model = stack.Model(cell, P.layers_from(w, num_layers), P.head_from(w))
    x = rng.normal(size=(STEPS, INPUTS))
    h0 = rng.normal(size=(num_layers, HIDDEN)) * 0.5
    c0 = rng.normal(size=(num_layers, HIDDEN)) * 0.5 if cell == "lstm" else None

    checks = gradcheck.check(model, x, make_loss(loss_kind, rng), h0, c0)

    names = {c.name for c in checks}
    expected = {f"{kind}_l{k}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for k in range(num_layers)}
    expected |= {"inputs", "h0"} | ({"c0"} if cell == "lstm" else set())
    expected |= {"head.weight", "head.bias"} if loss_kind != "dh" else set()
    assert names == expected
    for c in checks:
        assert c.max_rel_error <= 1e-6, (c.name, c.max_rel_error)


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    """The check must be able to fail: corrupt dL/dW_hh and it has to notice."""
    w = P.init_params("lstm", 2, 3, 1, seed=1)
    model = stack.Model("lstm", P.layers_from(w, 1))
    x = np.random.default_rng(0).normal(size=(4, 2))
    real = gradcheck.analytic

    def corrupted(trace, model, c0_used):
        out = real(trace, model, c0_used)
        out["weight_hh_l0"] = out["weight_hh_l0"] * 1.001
        return out

    monkeypatch.setattr(gradcheck, "analytic", corrupted)
    checks = {c.name: c for c in gradcheck.check(model, x, Loss("dh", dh=np.ones((4, 3))))}
    assert checks["weight_hh_l0"].max_rel_error > 1e-4
    assert checks["weight_ih_l0"].max_rel_error < 1e-6


def test_gradients_with_the_forget_gate_held_at_1():
    w = P.init_params("lstm", INPUTS, HIDDEN, 2, seed=3)
    model = stack.Model("lstm", P.layers_from(w, 2), hold_forget=True)
    x = np.random.default_rng(1).normal(size=(STEPS, INPUTS))
    tr = stack.run(model, x, Loss("dh", dh=np.ones((STEPS, HIDDEN))))
    np.testing.assert_array_equal(tr.layers[0]["f"], 1.0)
    # f is a constant now: no gradient reaches its pre-activation, and dc_{t-1} = dc_t from t.
    np.testing.assert_array_equal(tr.grads[0]["a"][:, HIDDEN : 2 * HIDDEN], 0.0)
    np.testing.assert_array_equal(tr.grads[0]["c_from_next"][:-1], tr.grads[0]["c"][1:])
    for c in gradcheck.check(model, x, Loss("dh", dh=np.ones((STEPS, HIDDEN)))):
        assert c.max_rel_error <= 1e-6, c


class Stop(Exception):
    pass


def _stop_after(calls: int):
    """A stop hook that lets `calls` checks pass, then raises; counts every check."""
    seen = {"calls": 0}

    def stop() -> None:
        seen["calls"] += 1
        if seen["calls"] > calls:
            raise Stop

    return stop, seen


def test_gradcheck_polls_its_stop_hook_between_perturbations_and_stops_when_told():
    w = P.init_params("gru", 2, 3, 2, seed=1)
    model = stack.Model("gru", P.layers_from(w, 2))
    x = np.random.default_rng(0).normal(size=(4, 2))
    loss = Loss("dh", dh=np.ones((4, 3)))
    stop, seen = _stop_after(10**9)
    full = gradcheck.check(model, x, loss, stop=stop)
    scalars = sum(c.size for c in full)
    # Once per perturbed number at least, so a check stops within one number's four passes.
    assert seen["calls"] >= scalars
    assert full == gradcheck.check(model, x, loss)  # polling changes nothing computed

    stop, seen = _stop_after(5)
    with pytest.raises(Stop):
        gradcheck.check(model, x, loss, stop=stop)
    assert seen["calls"] == 6  # nothing ran after the refusal


@pytest.mark.parametrize("backward", [False, True])
def test_a_run_polls_its_stop_hook_between_layers(backward):
    w = P.init_params("lstm", 2, 3, 3, seed=2)
    model = stack.Model("lstm", P.layers_from(w, 3))
    x = np.random.default_rng(1).normal(size=(5, 2))
    loss = Loss("dh", dh=np.ones((5, 3)))
    stop, seen = _stop_after(10**9)
    traced = stack.run(model, x, loss, backward=backward, stop=stop)
    plain = stack.run(model, x, loss, backward=backward)
    assert seen["calls"] >= (6 if backward else 3)  # before every layer, each way
    np.testing.assert_array_equal(traced.layers[2]["h"], plain.layers[2]["h"])
    stop, _ = _stop_after(1)
    with pytest.raises(Stop):
        stack.run(model, x, loss, backward=backward, stop=stop)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_embedding_gradients_match_central_differences(cell, num_layers):
    """Token ids in: the embedding rows the sequence reads (id 2 twice, id 5 never) are checked."""
    rng = np.random.default_rng([num_layers, len(cell)])
    w = {
        k: 2.0 * v for k, v in (P.init_params(cell, 3, HIDDEN, num_layers, 3) | P.init_head(HIDDEN, OUTPUTS, 3)).items()
    }
    table = rng.normal(size=(6, 3))
    model = stack.Model(cell, P.layers_from(w, num_layers), P.head_from(w), embedding=table)
    ids = np.array([2, 0, 2, 4, 1])
    checks = gradcheck.check(model, ids, make_loss("cross_entropy", rng))
    by_name = {c.name: c for c in checks}
    assert "inputs" not in by_name and by_name["embedding.weight"].size == 4 * 3
    for c in checks:
        assert c.max_rel_error <= 1e-6, (c.name, c.max_rel_error)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("loss_kind", ["dh", "mse"])
def test_relu_rnn_gradients_match_central_differences(num_layers, loss_kind):
    rng = np.random.default_rng([num_layers, len(loss_kind), 9])
    w = P.init_params("rnn", INPUTS, HIDDEN, num_layers, seed=11) | P.init_head(HIDDEN, OUTPUTS, seed=11)
    model = stack.Model("rnn", P.layers_from(w, num_layers), P.head_from(w), nonlinearity="relu")
    x = rng.normal(size=(STEPS, INPUTS))
    trace = stack.run(model, x, make_loss(loss_kind, rng))
    # Some units off and some on, so both branches of relu' are exercised (no a exactly at 0).
    a = np.concatenate([layer["a"].ravel() for layer in trace.layers])
    assert (a > 0).any() and (a < 0).any() and np.abs(a).min() > 1e-3
    for c in gradcheck.check(model, x, make_loss(loss_kind, np.random.default_rng([num_layers, len(loss_kind), 9]))):
        assert c.max_rel_error <= 1e-6, (c.name, c.max_rel_error)
