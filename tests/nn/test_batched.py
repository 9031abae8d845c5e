"""The batched engine (app/nn/batched.py) against the batch-1 loop training ran before it, and
against PyTorch autograd (float64, batch_first) on random shapes, weights, losses and batches.

The batch-1 loop is stack.run once per sequence, each sequence's gradients by PyTorch name
(train.gradients), the losses and gradients averaged: what train.batch_gradient computed
before it ran the batched engine.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn import batched, stack
from app.nn import params as P
from app.nn import train as T
from app.nn.architecture import Architecture
from app.nn.losses import NO_CLASS, Loss
from app.nn.spec import EMBEDDING

VOCAB = 7


def batch1_gradient(model: stack.Model, xs, losses, h0=None, c0=None) -> tuple[float, dict[str, np.ndarray]]:
    """The old train.batch_gradient: the trace engine once per sequence, the mean taken."""
    total: dict[str, np.ndarray] = {}
    loss = 0.0
    for b, (x, target) in enumerate(zip(xs, losses, strict=True)):
        h0_b = None if h0 is None else h0[:, b]
        c0_b = None if c0 is None else c0[:, b]
        trace = stack.run(model, x, target, h0_b, c0_b)
        loss += trace.loss
        if model.head is None:  # an upstream-gradient loss: no head, so none of its gradients
            grads = {f"{kind}_l{k}": g[kind] for k, g in enumerate(trace.grads) for kind in model.layers[k].tensors()}
            if model.embedding is not None:
                grads[EMBEDDING] = np.zeros_like(model.embedding)
                grads[EMBEDDING][trace.model_grads["embedding.rows"]] = trace.model_grads[EMBEDDING]
        else:
            grads = T.gradients(trace, model)
        for k, g in grads.items():
            total[k] = total[k] + g if k in total else g.copy()
    n = len(xs)
    return loss / n, {k: v / n for k, v in total.items()}


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the reference tensor's largest element."""
    scale = float(np.abs(b).max()) if b.size else 0.0
    return float(np.abs(a - b).max() / scale) if scale else float(np.abs(a - b).max())


def make_case(s: dict, head: bool = True):
    """Model parameters, inputs and losses from hypothesis' draws."""
    rng = np.random.default_rng(s["seed"])
    cell, hidden, layers, inputs = s["cell"], s["hidden"], s["layers"], s["inputs"]
    arch = Architecture(cell, hidden, layers, bias=s["bias"])
    w = {k: v * s["scale"] for k, v in P.init_params(cell, inputs, hidden, layers, s["seed"], arch).items()}
    classes = 3
    if head:
        w.update(P.init_head(hidden, classes, s["seed"]))
    if s["embedding"]:
        w[EMBEDDING] = rng.normal(size=(VOCAB, inputs))
    batch, steps = s["batch"], s["steps"]
    if s["embedding"]:
        xs = [rng.integers(0, VOCAB, steps) for _ in range(batch)]
    else:
        xs = [rng.normal(size=(steps, inputs)) for _ in range(batch)]
    losses = []
    for _ in range(batch):
        if s["loss"] == "dh":
            losses.append(Loss("dh", dh=rng.normal(size=(steps, hidden))))
        elif s["loss"] == "mse":
            targets = rng.normal(size=(steps, classes))
            targets[rng.random((steps, classes)) < 0.3] = np.nan
            targets[rng.integers(steps), rng.integers(classes)] = 0.5  # at least one scored element
            losses.append(Loss("mse", targets=targets, num_classes=classes))
        else:
            targets = rng.integers(0, classes, steps)
            targets[rng.random(steps) < 0.3] = NO_CLASS
            targets[rng.integers(steps)] = 1
            losses.append(Loss("cross_entropy", targets=targets, num_classes=classes))
    h0 = c0 = None
    if s["initial_state"]:
        h0 = rng.normal(size=(layers, batch, hidden))
        c0 = rng.normal(size=(layers, batch, hidden)) if cell == "lstm" else None
    return w, xs, losses, h0, c0


cases = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(["lstm", "gru", "rnn"]),
        "nonlinearity": st.sampled_from(["tanh", "relu"]),
        "steps": st.integers(1, 8),
        "inputs": st.integers(1, 5),
        "hidden": st.integers(1, 6),
        "layers": st.integers(1, 3),
        "batch": st.integers(1, 5),
        "loss": st.sampled_from(["mse", "cross_entropy", "dh"]),
        "embedding": st.booleans(),
        "bias": st.booleans(),
        "initial_state": st.booleans(),
        "hold_forget": st.booleans(),
        "seed": st.integers(0, 2**31),
        "scale": st.sampled_from([0.5, 1.0, 3.0]),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_equals_the_batch1_loop(s):
    w, xs, losses, h0, c0 = make_case(s, head=s["loss"] != "dh")
    settings_ = {"hold_forget": s["hold_forget"] and s["cell"] == "lstm"}
    if s["cell"] == "rnn":
        settings_["nonlinearity"] = s["nonlinearity"]
    model = stack.Model.of(s["cell"], w, s["layers"], **settings_)
    ref_loss, ref = batch1_gradient(model, xs, losses, h0, c0)
    result = batched.run(model, xs, losses, h0, c0)
    assert result.loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-300)
    singles = [
        stack.run(model, x, lo, None if h0 is None else h0[:, b], None if c0 is None else c0[:, b]).loss
        for b, (x, lo) in enumerate(zip(xs, losses, strict=True))
    ]
    np.testing.assert_allclose(result.losses, singles, rtol=1e-12, atol=1e-300)
    assert set(result.grads) == set(ref)
    for name, g in ref.items():
        assert result.grads[name].shape == g.shape, name
        assert relative_error(result.grads[name], g) <= 1e-12, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_forward_only_gives_the_same_losses(s):
    w, xs, losses, h0, c0 = make_case(s, head=s["loss"] != "dh")
    model = stack.Model.of(s["cell"], w, s["layers"])
    full = batched.run(model, xs, losses, h0, c0)
    forward = batched.run(model, xs, losses, h0, c0, backward=False)
    assert forward.grads is None
    np.testing.assert_array_equal(forward.losses, full.losses)


def test_every_cell_layer_count_loss_and_embedding():
    """The grid the hypothesis test samples, each corner once, at training-like sizes."""
    rng = np.random.default_rng(5)
    for cell in ("lstm", "gru", "rnn"):
        for layers in (1, 2, 3):
            for kind in ("mse", "cross_entropy"):
                for embedding in (False, True):
                    s = {
                        "cell": cell, "hidden": 8, "layers": layers, "inputs": 4, "bias": True, "scale": 1.0,
                        "embedding": embedding, "batch": 6, "steps": 12, "loss": kind, "initial_state": False,
                        "seed": int(rng.integers(2**31)),
                    }  # fmt: skip
                    w, xs, losses, _, _ = make_case(s)
                    model = stack.Model.of(cell, w, layers)
                    ref_loss, ref = batch1_gradient(model, xs, losses)
                    result = batched.run(model, xs, losses)
                    assert result.loss == pytest.approx(ref_loss, rel=1e-12)
                    worst = max(relative_error(result.grads[k], ref[k]) for k in ref)
                    assert worst <= 1e-12, (cell, layers, kind, embedding, worst)


# --- PyTorch ------------------------------------------------------------------------------

torch = pytest.importorskip("torch")
TORCH_DTYPE = torch.float64  # see tests/conftest.py
MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def torch_reference(s: dict, w: dict, xs, losses, h0, c0):
    """The same averaged loss in torch autograd: each sequence's mean over its scored elements,
    the mean over the batch; batch_first inputs (B, T, D)."""
    cell, layers = s["cell"], s["layers"]
    kwargs = {"nonlinearity": s["nonlinearity"]} if cell == "rnn" else {}
    module = MODULES[cell](
        s["inputs"], s["hidden"], num_layers=layers, bias=s["bias"], batch_first=True, dtype=torch.float64, **kwargs
    )
    with torch.no_grad():
        for name, value in module.named_parameters():
            value.copy_(torch.from_numpy(w[name]))
    named = dict(module.named_parameters())
    if s["embedding"]:
        table = torch.tensor(w[EMBEDDING], requires_grad=True)
        named[EMBEDDING] = table
        x = table[torch.from_numpy(np.stack(xs))]
    else:
        x = torch.from_numpy(np.stack(xs))
    state = None
    if h0 is not None:
        state = (torch.from_numpy(h0), torch.from_numpy(c0)) if cell == "lstm" else torch.from_numpy(h0)
    out, _ = module(x, state)
    per_sequence = []
    if s["loss"] != "dh":
        wt = torch.tensor(w["head.weight"], requires_grad=True)
        bt = torch.tensor(w["head.bias"], requires_grad=True)
        named |= {"head.weight": wt, "head.bias": bt}
        y = out @ wt.T + bt
    for b, lo in enumerate(losses):
        if lo.kind == "dh":
            per_sequence.append((out[b] * torch.from_numpy(lo.dh)).sum())
        elif lo.kind == "mse":
            mask = torch.from_numpy(~np.isnan(lo.targets))
            per_sequence.append(((y[b] - torch.from_numpy(np.nan_to_num(lo.targets)))[mask] ** 2).mean())
        else:
            per_sequence.append(
                torch.nn.functional.cross_entropy(y[b], torch.from_numpy(lo.targets), ignore_index=NO_CLASS)
            )
    value = torch.stack(per_sequence).mean()
    value.backward()
    return value.item(), {name: p.grad.numpy() for name, p in named.items()}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
@pytest.mark.torch
def test_matches_torch_autograd(s):
    w, xs, losses, h0, c0 = make_case(s, head=s["loss"] != "dh")
    settings_ = {"nonlinearity": s["nonlinearity"]} if s["cell"] == "rnn" else {}
    model = stack.Model.of(s["cell"], w, s["layers"], **settings_)
    ref_loss, ref = torch_reference(s, w, xs, losses, h0, c0)
    result = batched.run(model, xs, losses, h0, c0)
    assert result.loss == pytest.approx(ref_loss, rel=1e-10, abs=1e-12)
    assert set(result.grads) == set(ref)
    for name, g in ref.items():
        np.testing.assert_allclose(
            result.grads[name], g, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(g).max())), err_msg=name
        )


# --- training's use ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "task", "kwargs", "embedding_dim"),
    [
        ("lstm", "copy", {"delay": 3}, None),
        ("gru", "adding", {}, None),
        ("rnn", "sine", {}, None),
        ("lstm", "text", {"text": "hello world, hello batch"}, 5),
        ("gru", "temporal_order", {}, None),
    ],
)
def test_batch_gradient_equals_the_old_loop(cell, task, kwargs, embedding_dim):
    data = T.make_task(task, 12, embedding=embedding_dim is not None, **kwargs)
    settings_ = T.Settings(cell=cell, hidden_size=7, num_layers=2, embedding_dim=embedding_dim, seed=3)
    params = T.init_model(settings_, data)
    batch = data.sample(np.random.default_rng(1), 9)
    loss, grads = T.batch_gradient(cell, params, 2, batch)
    model = stack.Model.of(cell, params, 2)
    ref_loss, ref = batch1_gradient(model, batch.x, batch.losses)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert set(grads) == set(ref) == set(params)
    for name, g in ref.items():
        assert relative_error(grads[name], g) <= 1e-12, name


def test_stop_is_asked_before_the_batch_and_between_layer_passes():
    data = T.make_task("copy", 9, delay=3)
    params = T.init_model(T.Settings(hidden_size=5, num_layers=3), data)
    batch = data.sample(np.random.default_rng(0), 4)
    asked = []

    def never() -> bool:
        asked.append(1)
        return False

    T.batch_gradient("lstm", params, 3, batch, stop=never)
    assert len(asked) == 1 + 2 * 3  # before the batch, then before each layer's forward and backward pass

    with pytest.raises(T.Stopped):
        T.batch_gradient("lstm", params, 3, batch, stop=lambda: True)
    calls = iter([False, False, False, True])
    with pytest.raises(T.Stopped):  # mid-way: after the first two layers' forward passes
        T.batch_gradient("lstm", params, 3, batch, stop=lambda: next(calls))


def test_chunks_and_a_reused_workspace_give_the_same_numbers():
    rng = np.random.default_rng(2)
    s = {
        "cell": "lstm", "hidden": 6, "layers": 2, "inputs": 3, "bias": True, "scale": 1.0, "embedding": True,
        "batch": 7, "steps": 9, "loss": "cross_entropy", "initial_state": True, "seed": 4,
    }  # fmt: skip
    w, xs, losses, h0, c0 = make_case(s)
    model = stack.Model.of("lstm", w, 2)
    whole = batched.run(model, xs, losses, h0, c0)
    per_sequence = batched.bytes_per_sequence(model, 9)
    chunked = batched.run(model, xs, losses, h0, c0, budget_bytes=2 * per_sequence)  # chunks of 2, 2, 2, 1
    np.testing.assert_allclose(chunked.losses, whole.losses, rtol=1e-14)
    for name, g in whole.grads.items():
        assert relative_error(chunked.grads[name], g) <= 1e-13, name

    # A workspace used for another batch (other sizes, other values) leaves nothing behind.
    ws = batched.Workspace()
    other_xs = [rng.integers(0, VOCAB, 5) for _ in range(3)]
    other = [Loss("cross_entropy", targets=rng.integers(0, 3, 5), num_classes=3) for _ in range(3)]
    first = batched.run(model, other_xs, other, workspace=ws)
    again = batched.run(model, xs, losses, h0, c0, workspace=ws)
    for name, g in whole.grads.items():
        np.testing.assert_array_equal(again.grads[name], g)
    assert again.loss == whole.loss
    fresh = batched.run(model, other_xs, other)
    assert first.loss == fresh.loss


def test_training_runs_with_one_workspace_repeat_exactly():
    data = T.make_task("text", 10, text="hello world", embedding=True)
    settings_ = T.Settings(hidden_size=8, steps=6, batch_size=5, seed=1, embedding_dim=4)
    a = [r.loss for r, _ in T.train(settings_, data)]
    b = [r.loss for r, _ in T.train(settings_, data)]
    assert a == b and len(a) == 6


def test_refusals_name_what_is_missing():
    w = P.init_params("lstm", 3, 4, 1, 0, Architecture("lstm", 4, bidirectional=True)) | P.init_head(8, 2, 0)
    xs = [np.zeros((5, 3))] * 2
    targets = [Loss("cross_entropy", targets=np.zeros(5, dtype=np.int64))] * 2
    with pytest.raises(ValueError, match="bidirectional"):
        batched.run(stack.Model.of("lstm", w, 1), xs, targets)
    w = P.init_params("lstm", 3, 4, 1, 0, Architecture("lstm", 4, proj_size=2)) | P.init_head(2, 2, 0)
    with pytest.raises(ValueError, match="projection"):
        batched.run(stack.Model.of("lstm", w, 1), xs, targets)

    model = stack.Model.of("gru", P.init_params("gru", 3, 4, 1, 0) | P.init_head(4, 2, 0), 1)
    with pytest.raises(ValueError, match="one length"):
        batched.run(model, [np.zeros((5, 3)), np.zeros((6, 3))], targets)
    with pytest.raises(ValueError, match="empty batch"):
        batched.run(model, [], [])
    with pytest.raises(ValueError, match="one kind of loss"):
        batched.run(model, xs, [targets[0], Loss("mse", targets=np.zeros((5, 2)))])
    with pytest.raises(ValueError, match="no scored targets"):
        batched.run(model, xs, [targets[0], Loss("cross_entropy", targets=np.full(5, NO_CLASS))])
    with pytest.raises(ValueError, match="input size"):
        batched.run(model, [np.zeros((5, 2))] * 2, targets)


def test_one_blas_thread_inside_and_the_count_restored():
    if batched._blas is None:
        pytest.skip("numpy's BLAS here is not an OpenBLAS this module can find")
    get, _ = batched._blas
    before = get()
    with batched.single_blas_thread():
        assert get() == 1
        with batched.single_blas_thread():
            assert get() == 1
        assert get() == 1
    assert get() == before
