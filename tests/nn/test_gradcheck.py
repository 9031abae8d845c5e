"""BPTT against numerical differentiation: every parameter, the inputs and initial states."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import gradcheck, stack
from app.nn import params as P
from app.nn.architecture import Architecture
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


# The newer architectures, each numerically: (cell, layers, bidirectional, merge mode, P, bias,
# nonlinearity, embedding, loss).
ARCHITECTURES = {
    **{
        f"{cell}-bidirectional-{mode}": (cell, 2, True, mode, 0, True, "tanh", False, "mse")
        for cell in ("lstm", "gru", "rnn")
        for mode in ("concat", "sum", "ave", "mul")
    },
    "lstm-projection": ("lstm", 2, False, "concat", 2, True, "tanh", False, "cross_entropy"),
    "lstm-projection-bidirectional": ("lstm", 2, True, "concat", 3, True, "tanh", False, "dh"),
    # dh: under a head loss the lower layers' gradients through a product of two P = 1 outputs are
    # so small beside the loss that central differences lose them to rounding (not the engine:
    # tests/nn/test_architectures_torch.py checks this case against torch to 1e-10).
    "lstm-projection-bidirectional-mul": ("lstm", 2, True, "mul", 1, False, "tanh", False, "dh"),
    "lstm-bias-free": ("lstm", 2, False, "concat", 0, False, "tanh", False, "mse"),
    "gru-bias-free-bidirectional": ("gru", 2, True, "concat", 0, False, "tanh", False, "cross_entropy"),
    "rnn-bias-free": ("rnn", 1, False, "concat", 0, False, "tanh", False, "dh"),
    "rnn-relu": ("rnn", 2, False, "concat", 0, True, "relu", False, "mse"),
    "rnn-relu-bidirectional": ("rnn", 2, True, "sum", 0, True, "relu", False, "cross_entropy"),
    "lstm-embedding-bidirectional-projection": ("lstm", 2, True, "concat", 2, False, "tanh", True, "cross_entropy"),
    "gru-embedding": ("gru", 1, False, "concat", 0, True, "tanh", True, "mse"),
    "rnn-relu-embedding-bidirectional": ("rnn", 1, True, "ave", 0, True, "relu", True, "dh"),
}
# Seeds whose relu pre-activations all stay clear of the kink at 0 (asserted below).
SEEDS = {"rnn-relu": 1, "rnn-relu-bidirectional": 6, "rnn-relu-embedding-bidirectional": 0}


@pytest.mark.parametrize("case", list(ARCHITECTURES))
def test_new_architectures_match_central_differences(case):
    """Bidirectional layers (every merge mode), LSTM projection, bias-free layers, relu RNN and
    embeddings: every tensor the model has is checked, by its PyTorch name."""
    cell, layers, bidirectional, mode, proj, bias, nonlinearity, embedding, loss_kind = ARCHITECTURES[case]
    arch = Architecture(cell, HIDDEN, layers, bidirectional, proj, bias, merge_mode=mode)
    seed = SEEDS.get(case, sum(map(ord, case)))
    rng = np.random.default_rng(seed)
    w = {k: 1.5 * v for k, v in P.init_params(cell, INPUTS, HIDDEN, layers, seed, arch).items()}
    w |= P.init_head(arch.output_size, OUTPUTS, seed)
    if embedding:
        w["embedding.weight"] = rng.normal(size=(6, INPUTS))
        x = np.array([2, 0, 2, 4, 1])  # id 2 twice, ids 3 and 5 never
    else:
        x = rng.normal(size=(STEPS, INPUTS))
    settings = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    model = stack.Model.of(cell, w, layers, mode, **settings)
    assert (model.directions, model.state_size) == (arch.directions, arch.state_size)
    h0 = rng.normal(size=(arch.slots, arch.state_size)) * 0.5
    c0 = rng.normal(size=(arch.slots, HIDDEN)) * 0.5 if cell == "lstm" else None
    dh = rng.normal(size=(STEPS, arch.output_size)) if loss_kind == "dh" else None
    loss = Loss("dh", dh=dh) if loss_kind == "dh" else make_loss(loss_kind, rng)
    if nonlinearity == "relu":
        # No pre-activation within reach of a perturbation of 0 (relu's kink), both branches used.
        a = np.concatenate([layer["a"].ravel() for layer in stack.run(model, x, loss, h0, c0).layers])
        assert (a > 0).any() and (a < 0).any() and np.abs(a).min() > 1e-2, np.abs(a).min()

    checks = gradcheck.check(model, x, loss, h0, c0)

    names = [c.name for c in checks]
    expected = set(arch.shapes(INPUTS)) | {"h0"} | ({"c0"} if cell == "lstm" else set())
    expected |= {"embedding.weight"} if embedding else {"inputs"}
    expected |= {"head.weight", "head.bias"} if loss_kind != "dh" else set()
    assert set(names) == expected and len(names) == len(expected)
    assert any(n.endswith("_reverse") for n in names) == bidirectional
    assert ({f"weight_hr_l{k}" for k in range(layers)} <= set(names)) == bool(proj)
    assert ("weight_hr_l0_reverse" in names) == (bool(proj) and bidirectional)
    if not bias:
        assert not [n for n in names if n.startswith("bias_")]
    by_name = {c.name: c for c in checks}
    if embedding:
        assert by_name["embedding.weight"].size == 4 * INPUTS  # the rows the sequence reads
    for c in checks:
        assert c.max_rel_error < 1e-7, (c.name, c.max_rel_error)
