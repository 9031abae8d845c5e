"""The engine against PyTorch autograd (float64) on random shapes, weights and losses.

torch.nn.LSTM / GRU / RNN give the outputs and the parameter, input and initial-state
gradients; a hand-unrolled LSTM in torch with retain_grad() gives every per-step gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn import params as P
from app.nn import stack
from app.nn.losses import NO_CLASS, Loss
from app.nn.spec import PARAM_KINDS, param_name

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
TORCH_DTYPE = torch.float64  # see tests/conftest.py

MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}

shapes = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(["lstm", "gru", "rnn"]),
        "steps": st.integers(1, 9),
        "inputs": st.integers(1, 5),
        "hidden": st.integers(1, 6),
        "layers": st.integers(1, 3),
        "loss": st.sampled_from(["dh", "mse", "cross_entropy"]),
        "seed": st.integers(0, 2**31),
        "scale": st.sampled_from([0.5, 1.0, 3.0]),
    }
)


def torch_reference(cell, w, x, h0, c0, loss: Loss):
    num_layers = sum(1 for k in w if k.startswith("weight_ih"))
    hidden = w["weight_hh_l0"].shape[1]
    module = MODULES[cell](x.shape[1], hidden, num_layers=num_layers)
    with torch.no_grad():
        for name, value in module.named_parameters():
            value.copy_(torch.from_numpy(w[name]))
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    if cell == "lstm":
        c0t = torch.tensor(c0, requires_grad=True)
        out, _ = module(xt, (h0t, c0t))
    else:
        c0t = None
        out, _ = module(xt, h0t)
    if loss.kind == "dh":
        value = (out * torch.from_numpy(loss.dh)).sum()
    else:
        wt = torch.tensor(w["head.weight"], requires_grad=True)
        bt = torch.tensor(w["head.bias"], requires_grad=True)
        y = out @ wt.T + bt
        if loss.kind == "mse":
            mask = torch.from_numpy(~np.isnan(loss.targets))
            target = torch.from_numpy(np.nan_to_num(loss.targets))
            value = ((y - target)[mask] ** 2).mean()
        else:
            target = torch.from_numpy(loss.targets)
            value = torch.nn.functional.cross_entropy(y, target, ignore_index=NO_CLASS)
    value.backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    if loss.kind != "dh":
        grads["head.weight"], grads["head.bias"] = wt.grad.numpy(), bt.grad.numpy()
    grads["x"], grads["h0"] = xt.grad.numpy(), h0t.grad.numpy()
    if c0t is not None:
        grads["c0"] = c0t.grad.numpy()
    return value.item(), out.detach().numpy(), grads


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes)
def test_outputs_and_gradients_match_torch_modules(s):
    rng = np.random.default_rng(s["seed"])
    cell, steps, hidden, layers = s["cell"], s["steps"], s["hidden"], s["layers"]
    w = {k: v * s["scale"] for k, v in P.init_params(cell, s["inputs"], hidden, layers, s["seed"]).items()}
    classes = 3
    w.update(P.init_head(hidden, classes, s["seed"]))
    x = rng.normal(size=(steps, s["inputs"]))
    h0 = rng.normal(size=(layers, hidden))
    c0 = rng.normal(size=(layers, hidden)) if cell == "lstm" else None
    if s["loss"] == "dh":
        loss = Loss("dh", dh=rng.normal(size=(steps, hidden)))
    elif s["loss"] == "mse":
        targets = rng.normal(size=(steps, classes))
        targets[rng.random((steps, classes)) < 0.3] = np.nan
        targets[-1, 0] = 0.5  # at least one scored element
        loss = Loss("mse", targets=targets, num_classes=classes)
    else:
        targets = rng.integers(0, classes, steps)
        targets[rng.random(steps) < 0.3] = NO_CLASS
        targets[-1] = 1
        loss = Loss("cross_entropy", targets=targets, num_classes=classes)

    ref_loss, ref_h, ref = torch_reference(cell, w, x, h0, c0, loss)
    model = stack.Model(cell, P.layers_from(w, layers), P.head_from(w) if loss.uses_head else None)
    tr = stack.run(model, x, loss, h0, c0)

    tol = dict(rtol=1e-10, atol=1e-12)
    assert tr.loss == pytest.approx(ref_loss, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(tr.layers[-1]["h"], ref_h, **tol)
    for k in range(layers):
        for kind in PARAM_KINDS:
            np.testing.assert_allclose(tr.grads[k][kind], ref[param_name(kind, k)], **tol, err_msg=f"{kind} l{k}")
    np.testing.assert_allclose(tr.grads[0]["x"], ref["x"], **tol)
    np.testing.assert_allclose(np.stack([g["h0"] for g in tr.grads]), ref["h0"], **tol)
    if cell == "lstm":
        np.testing.assert_allclose(np.stack([g["c0"] for g in tr.grads]), ref["c0"], **tol)
    if loss.uses_head:
        np.testing.assert_allclose(tr.output["grad_head.weight"], ref["head.weight"], **tol)
        np.testing.assert_allclose(tr.output["grad_head.bias"], ref["head.bias"], **tol)


def unrolled_lstm(w, x, h0, c0, dh):
    """One LSTM layer unrolled in torch, keeping every intermediate for its .grad."""
    W_ih, W_hh = (torch.tensor(w[k], requires_grad=True) for k in ("weight_ih_l0", "weight_hh_l0"))
    b = torch.tensor(w["bias_ih_l0"] + w["bias_hh_l0"])
    hidden = W_hh.shape[1]
    h, c = torch.tensor(h0), torch.tensor(c0)
    kept = {k: [] for k in ("a", "i", "f", "g", "o", "c", "tanh_c", "h")}
    for t in range(x.shape[0]):
        a = torch.tensor(x[t]) @ W_ih.T + h @ W_hh.T + b
        i, f, g, o = (a[k * hidden : (k + 1) * hidden] for k in range(4))
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        tc = torch.tanh(c)
        h = o * tc
        for name, v in zip(kept, (a, i, f, g, o, c, tc, h), strict=True):
            v.retain_grad()
            kept[name].append(v)
    loss = sum((kept["h"][t] * torch.from_numpy(dh[t])).sum() for t in range(x.shape[0]))
    loss.backward()
    return {name: np.stack([v.grad.numpy() for v in vs]) for name, vs in kept.items()}


@settings(max_examples=25, deadline=None)
@given(steps=st.integers(1, 8), hidden=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_every_per_step_lstm_gradient_matches_torch(steps, hidden, seed):
    rng = np.random.default_rng(seed)
    w = {k: 2 * v for k, v in P.init_params("lstm", 3, hidden, 1, seed).items()}
    x, dh = rng.normal(size=(steps, 3)), rng.normal(size=(steps, hidden))
    h0, c0 = rng.normal(size=(1, hidden)), rng.normal(size=(1, hidden))
    ref = unrolled_lstm(w, x, h0[0], c0[0], dh)
    tr = stack.run(stack.Model("lstm", P.layers_from(w, 1)), x, Loss("dh", dh=dh), h0, c0)
    for name, value in ref.items():
        np.testing.assert_allclose(tr.grads[0][name], value, rtol=1e-10, atol=1e-12, err_msg=name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cell=st.sampled_from(["lstm", "gru", "rnn"]),
    nonlinearity=st.sampled_from(["tanh", "relu"]),
    steps=st.integers(1, 9),
    vocab=st.integers(1, 7),
    dim=st.integers(1, 4),
    hidden=st.integers(1, 5),
    layers=st.integers(1, 3),
    head=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_embedding_and_relu_models_match_torch(cell, nonlinearity, steps, vocab, dim, hidden, layers, head, seed):
    """nn.Embedding -> nn.LSTM/GRU/RNN (tanh or relu) -> nn.Linear: every output and gradient.

    Token ids repeat (a vocabulary smaller than the sequence), so dL/dE sums over steps.
    """
    nonlinearity = nonlinearity if cell == "rnn" else "tanh"
    rng = np.random.default_rng(seed)
    w = {k: 1.5 * v for k, v in P.init_params(cell, dim, hidden, layers, seed).items()}
    w.update(P.init_head(hidden, 3, seed))
    table = rng.normal(size=(vocab, dim))
    ids = rng.integers(0, vocab, steps)
    h0 = rng.normal(size=(layers, hidden))
    c0 = rng.normal(size=(layers, hidden)) if cell == "lstm" else None

    embedding = torch.nn.Embedding(vocab, dim)
    extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    module = MODULES[cell](dim, hidden, num_layers=layers, **extra)
    linear = torch.nn.Linear(hidden, 3)
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(table))
        for name, value in module.named_parameters():
            value.copy_(torch.from_numpy(w[name]))
        linear.weight.copy_(torch.from_numpy(w["head.weight"]))
        linear.bias.copy_(torch.from_numpy(w["head.bias"]))
    state = (torch.tensor(h0), torch.tensor(c0)) if cell == "lstm" else torch.tensor(h0)
    out, _ = module(embedding(torch.from_numpy(ids)), state)
    targets = rng.integers(0, 3, steps)
    if head:
        y = linear(out)
        value = torch.nn.functional.cross_entropy(y, torch.from_numpy(targets))
        loss = Loss("cross_entropy", targets=targets, num_classes=3)
    else:
        dh = rng.normal(size=(steps, hidden))
        value = (out * torch.from_numpy(dh)).sum()
        loss = Loss("dh", dh=dh)
    value.backward()

    model = stack.Model(
        cell,
        P.layers_from(w, layers),
        P.head_from(w) if head else None,
        nonlinearity=nonlinearity,
        embedding=table,
    )
    tr = stack.run(model, ids, loss, h0, c0)
    tol = dict(rtol=1e-10, atol=1e-12)
    assert tr.loss == pytest.approx(value.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(tr.layers[0]["x"], table[ids], rtol=0, atol=0)
    np.testing.assert_allclose(tr.layers[-1]["h"], out.detach().numpy(), **tol)
    for k in range(layers):
        for kind in PARAM_KINDS:
            name = param_name(kind, k)
            np.testing.assert_allclose(tr.grads[k][kind], dict(module.named_parameters())[name].grad, **tol)
    full = np.zeros_like(table)
    full[tr.model_grads["embedding.rows"]] = tr.model_grads["embedding.weight"]
    np.testing.assert_allclose(full, embedding.weight.grad.numpy(), **tol)
    assert list(tr.model_grads["embedding.rows"]) == sorted(set(ids.tolist()))
    if head:
        np.testing.assert_allclose(tr.output["grad_head.weight"], linear.weight.grad.numpy(), **tol)
        np.testing.assert_allclose(tr.output["grad_head.bias"], linear.bias.grad.numpy(), **tol)


def test_a_head_answers_without_a_loss_that_reads_it():
    """The dh loss leaves the head alone, but its outputs (and softmax) are still the model's answer."""
    w = P.init_params("gru", 2, 3, 1, 5) | P.init_head(3, 4, 5)
    x = np.random.default_rng(1).normal(size=(6, 2))
    model = stack.Model("gru", P.layers_from(w, 1), P.head_from(w), softmax_head=True)
    tr = stack.run(model, x, Loss("dh", dh=np.ones((6, 3))), backward=False)
    module = torch.nn.GRU(2, 3)
    with torch.no_grad():
        for name, value in module.named_parameters():
            value.copy_(torch.from_numpy(w[name]))
    out, _ = module(torch.from_numpy(x))
    y = (out @ torch.from_numpy(w["head.weight"]).T + torch.from_numpy(w["head.bias"])).detach()
    np.testing.assert_allclose(tr.output["y"], y.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tr.output["probs"], torch.softmax(y, dim=1).numpy(), rtol=1e-12, atol=1e-14)
