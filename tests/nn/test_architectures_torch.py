"""The engine's newer architectures against PyTorch autograd (float64) on random shapes.

nn.Embedding -> nn.LSTM / GRU / RNN (1-3 layers, bidirectional or not, LSTM projection,
tanh or relu RNN, with or without biases, batch_first=True) -> nn.Linear, under each loss the
engine has: every layer's output, the final states and every gradient (parameters including
weight_hr and the _reverse ones, dL/dE or dL/dx, h0, c0, the head).

Three references, each checked against the others where they overlap:

* PyTorch's own fused modules (concatenating bidirectional layers, as PyTorch does);
* one unidirectional PyTorch module per (layer, direction), the reverse one run on the flipped
  sequence, merged by hand: the reference for Keras' other merge modes (sum, ave, mul);
* a hand-unrolled stack in torch keeping every intermediate for its .grad: every per-step
  array of both directions (gates, c, tanh c, m, h, a; h_from_above / h_from_next / c_from_next).

Engine arrays are indexed by input position for both directions; a reverse direction's
h_from_next at position t is what flows back from the step that reads position t-1.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.nn import stack
from app.nn.architecture import Architecture
from app.nn.losses import NO_CLASS, Loss
from app.nn.spec import param_name

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
TORCH_DTYPE = torch.float64  # see tests/conftest.py

MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
CLASSES = 3
REL = 1e-10


def close(got, want, what: str, rel: float = REL) -> None:
    """|got - want| <= rel * max(1, max |want|) everywhere, and the same shape."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.size == 0:
        return
    err = float(np.max(np.abs(got - want)))
    scale = max(1.0, float(np.max(np.abs(want))))
    assert err <= rel * scale, f"{what}: max |engine - torch| = {err:.3g} (scale {scale:.3g})"


# --- the problem: architecture, weights, inputs, loss ---------------------------------------

architectures = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(["lstm", "gru", "rnn"]),
        "steps": st.integers(1, 7),
        "embedding": st.booleans(),
        "vocab": st.integers(1, 9),  # sometimes larger than the sequence: rows left untouched
        "inputs": st.integers(1, 4),
        "hidden": st.integers(1, 5),
        "proj": st.integers(0, 4),  # LSTM only, taken modulo H: 0 is none, else 1 <= P < H
        "layers": st.integers(1, 3),
        "bidirectional": st.booleans(),
        "bias": st.booleans(),
        "relu": st.booleans(),  # RNN only
        "loss": st.sampled_from(["dh", "mse", "cross_entropy"]),
        "seed": st.integers(0, 2**31),
        "scale": st.sampled_from([0.5, 1.0, 2.5]),
    }
)


class Problem:
    """One random model and input, as PyTorch names and lays them out."""

    def __init__(self, s: dict, merge_mode: str = "concat"):
        self.s = s
        self.cell = s["cell"]
        self.steps = s["steps"]
        self.hidden = s["hidden"]
        self.proj = s["proj"] % self.hidden if self.cell == "lstm" else 0
        self.layers = s["layers"]
        self.dirs = 2 if s["bidirectional"] else 1
        self.bias = s["bias"]
        self.nonlinearity = "relu" if self.cell == "rnn" and s["relu"] else "tanh"
        self.merge_mode = merge_mode
        self.state = self.proj or self.hidden  # numbers in one direction's h
        self.width = self.state * (2 if self.dirs == 2 and merge_mode == "concat" else 1)
        self.slots = self.layers * self.dirs
        rng = np.random.default_rng(s["seed"])
        self.dim = s["inputs"]
        if s["embedding"]:
            self.table = rng.normal(size=(s["vocab"], self.dim))
            self.ids = rng.integers(0, s["vocab"], self.steps)
            self.x = None
        else:
            self.table = self.ids = None
            self.x = rng.normal(size=(self.steps, self.dim))
        # Recurrent weights named and shaped by PyTorch itself (one-layer modules' state dicts,
        # renamed to their layer: above layer 0 the input is the merged output, `width` wide).
        bound = s["scale"] / np.sqrt(self.hidden)
        self.w = {}
        for k in range(self.layers):
            one = self.module(self.width if k else self.dim, 1, bidirectional=self.dirs == 2)
            for name, p in one.named_parameters():
                self.w[name.replace("_l0", f"_l{k}")] = rng.uniform(-bound, bound, size=tuple(p.shape))
        self.w["head.weight"] = rng.uniform(-1, 1, size=(CLASSES, self.width))
        self.w["head.bias"] = rng.uniform(-1, 1, size=CLASSES)
        if self.table is not None:
            self.w["embedding.weight"] = self.table
        self.h0 = rng.normal(size=(self.slots, self.state))
        self.c0 = rng.normal(size=(self.slots, self.hidden)) if self.cell == "lstm" else None
        if s["loss"] == "dh":
            self.loss = Loss("dh", dh=rng.normal(size=(self.steps, self.width)))
        elif s["loss"] == "mse":
            targets = rng.normal(size=(self.steps, CLASSES))
            targets[rng.random((self.steps, CLASSES)) < 0.3] = np.nan
            targets[-1, 0] = 0.5  # at least one scored element
            self.loss = Loss("mse", targets=targets, num_classes=CLASSES)
        else:
            targets = rng.integers(0, CLASSES, self.steps)
            targets[rng.random(self.steps) < 0.3] = NO_CLASS
            targets[-1] = 1
            self.loss = Loss("cross_entropy", targets=targets, num_classes=CLASSES)

    @property
    def inputs(self) -> np.ndarray:
        return self.ids if self.ids is not None else self.x

    def module(self, input_size: int, num_layers: int, bidirectional: bool):
        kw = dict(num_layers=num_layers, bias=self.bias, batch_first=True, bidirectional=bidirectional)
        if self.proj:
            kw["proj_size"] = self.proj
        if self.cell == "rnn":
            kw["nonlinearity"] = self.nonlinearity
        return MODULES[self.cell](input_size, self.hidden, **kw)

    def architecture(self) -> Architecture:
        return Architecture(
            self.cell, self.hidden, self.layers, self.dirs == 2, self.proj, self.bias, merge_mode=self.merge_mode
        )

    def engine(self) -> tuple[stack.Model, stack.Trace]:
        settings_ = {"nonlinearity": self.nonlinearity} if self.cell == "rnn" else {}
        model = stack.Model.of(self.cell, dict(self.w), self.layers, self.merge_mode, **settings_)
        return model, stack.run(model, self.inputs, self.loss, self.h0, self.c0)

    def torch_loss(self, top):
        """The loss on the top layer's output (T x width), as the engine defines it."""
        if self.loss.kind == "dh":
            return (top * torch.from_numpy(self.loss.dh)).sum(), None
        head_w, head_b = self.leaf("head.weight"), self.leaf("head.bias")
        y = top @ head_w.T + head_b
        if self.loss.kind == "mse":
            mask = torch.from_numpy(~np.isnan(self.loss.targets))
            target = torch.from_numpy(np.nan_to_num(self.loss.targets))
            return ((y - target)[mask] ** 2).mean(), y
        return torch.nn.functional.cross_entropy(y, torch.from_numpy(self.loss.targets), ignore_index=NO_CLASS), y

    def leaves(self):
        """Fresh leaf tensors: every named weight, the head, the input (or the table), h0, c0."""
        self._leaves = {name: torch.tensor(v, requires_grad=True) for name, v in self.w.items()}
        if self.x is not None:
            self._leaves["inputs"] = torch.tensor(self.x, requires_grad=True)
        self._leaves["h0"] = torch.tensor(self.h0, requires_grad=True)
        if self.c0 is not None:
            self._leaves["c0"] = torch.tensor(self.c0, requires_grad=True)
        return self._leaves

    def leaf(self, name: str):
        return self._leaves[name]

    def layer_input(self):
        if self.ids is not None:
            return self.leaf("embedding.weight")[torch.from_numpy(self.ids)]
        return self.leaf("inputs")

    def leaf_grads(self) -> dict[str, np.ndarray]:
        return {
            name: (t.grad.numpy().copy() if t.grad is not None else np.zeros(tuple(t.shape)))
            for name, t in self._leaves.items()
        }


def torch_merge(mode: str, forward, reverse):
    if mode == "concat":
        return torch.cat([forward, reverse], dim=-1)
    if mode == "sum":
        return forward + reverse
    if mode == "ave":
        return (forward + reverse) / 2
    return forward * reverse


def load(module, w: dict[str, np.ndarray], layer: int | None = None) -> None:
    """Copy PyTorch-named weights into `module` (a one-layer module takes layer `layer`'s)."""
    with torch.no_grad():
        for name, value in module.named_parameters():
            source = name if layer is None else name.replace("_l0", f"_l{layer}")
            value.copy_(torch.from_numpy(w[source]))


def load_slot(module, w: dict[str, np.ndarray], layer: int, direction: int) -> None:
    """Copy one (layer, direction) slot's weights into a one-layer unidirectional module."""
    with torch.no_grad():
        for name, value in module.named_parameters():
            value.copy_(torch.from_numpy(w[param_name(name.removesuffix("_l0"), layer, direction)]))


# --- reference 1: PyTorch's fused modules ----------------------------------------------------


def fused_reference(pb: Problem) -> dict:
    """nn.Embedding -> the fused multi-layer module -> nn.Linear, batch_first, batch of one."""
    module = pb.module(pb.dim, pb.layers, pb.dirs == 2)
    load(module, pb.w)
    linear = torch.nn.Linear(pb.width, CLASSES)
    load(linear, {"weight": pb.w["head.weight"], "bias": pb.w["head.bias"]})
    if pb.ids is not None:
        embedding = torch.nn.Embedding(*pb.table.shape)
        load(embedding, {"weight": pb.table})
        xin = embedding(torch.from_numpy(pb.ids)[None])
    else:
        x_leaf = torch.tensor(pb.x[None], requires_grad=True)
        xin = x_leaf
    h0 = torch.tensor(pb.h0[:, None, :], requires_grad=True)
    if pb.cell == "lstm":
        c0 = torch.tensor(pb.c0[:, None, :], requires_grad=True)
        out, (h_n, c_n) = module(xin, (h0, c0))
    else:
        out, h_n = module(xin, h0)
    assert out.shape == (1, pb.steps, pb.width)
    top = out[0]
    y = linear(top)
    if pb.loss.kind == "dh":
        value = (top * torch.from_numpy(pb.loss.dh)).sum()
    elif pb.loss.kind == "mse":
        mask = torch.from_numpy(~np.isnan(pb.loss.targets))
        value = ((y - torch.from_numpy(np.nan_to_num(pb.loss.targets)))[mask] ** 2).mean()
    else:
        value = torch.nn.functional.cross_entropy(y, torch.from_numpy(pb.loss.targets), ignore_index=NO_CLASS)
    value.backward()

    ref = {
        "loss": value.item(),
        "y": y.detach().numpy(),
        "h_n": h_n.detach().numpy()[:, 0],
        "grads": {name: p.grad.numpy() for name, p in module.named_parameters()},
        "h0": h0.grad.numpy()[:, 0],
    }
    if pb.cell == "lstm":
        ref["c_n"] = c_n.detach().numpy()[:, 0]
        ref["c0"] = c0.grad.numpy()[:, 0]
    if pb.loss.uses_head:
        ref["grads"]["head.weight"] = linear.weight.grad.numpy()
        ref["grads"]["head.bias"] = linear.bias.grad.numpy()
    if pb.ids is not None:
        ref["grads"]["embedding.weight"] = embedding.weight.grad.numpy()
    else:
        ref["inputs"] = x_leaf.grad.numpy()[0]

    # Every layer's output: the same weights as one-layer modules, chained (no grad needed).
    outputs, slot_h = [], []
    with torch.no_grad():
        inp = xin.detach()
        for k in range(pb.layers):
            one = pb.module(inp.shape[-1], 1, pb.dirs == 2)
            load(one, pb.w, layer=k)
            rows = slice(k * pb.dirs, (k + 1) * pb.dirs)
            state = (h0[rows], c0[rows]) if pb.cell == "lstm" else h0[rows]
            inp, _ = one(inp, state)
            outputs.append(inp[0].numpy())
            slot_h.extend(inp[0, :, d * pb.state : (d + 1) * pb.state].numpy() for d in range(pb.dirs))
        np.testing.assert_allclose(outputs[-1], top.detach().numpy(), rtol=1e-12, atol=1e-13)
    ref["outputs"], ref["slot_h"] = outputs, slot_h
    return ref


# --- reference 2: one unidirectional module per (layer, direction), merged by hand ----------


def split_reference(pb: Problem) -> dict:
    """Each direction a one-layer unidirectional PyTorch module; the reverse one reads the
    flipped sequence and its output is flipped back; the two merged by `pb.merge_mode`."""
    leaves = pb.leaves()
    layer_in = pb.layer_input()
    modules, outputs, slot_h, h_n, c_n = [], [], [], [], []
    for k in range(pb.layers):
        hs = []
        for d in range(pb.dirs):
            slot = k * pb.dirs + d
            one = pb.module(layer_in.shape[-1], 1, bidirectional=False)
            load_slot(one, pb.w, k, d)
            modules.append(one)
            seq = layer_in if d == 0 else layer_in.flip(0)
            h0 = leaves["h0"][slot][None, None]
            if pb.cell == "lstm":
                out, (hn, cn) = one(seq[None], (h0, leaves["c0"][slot][None, None]))
                c_n.append(cn.detach().numpy()[0, 0])
            else:
                out, hn = one(seq[None], h0)
            h_n.append(hn.detach().numpy()[0, 0])
            out = out[0] if d == 0 else out[0].flip(0)
            hs.append(out)
            slot_h.append(out.detach().numpy())
        layer_in = hs[0] if pb.dirs == 1 else torch_merge(pb.merge_mode, *hs)
        outputs.append(layer_in.detach().numpy())
    value, y = pb.torch_loss(layer_in)
    value.backward()

    grads = pb.leaf_grads()
    for slot, one in enumerate(modules):
        k, d = divmod(slot, pb.dirs)
        for name, p in one.named_parameters():
            kind = name.removesuffix("_l0")
            grads[param_name(kind, k, d)] = p.grad.numpy()
    ref = {
        "loss": value.item(),
        "outputs": outputs,
        "slot_h": slot_h,
        "h_n": np.stack(h_n),
        "grads": grads,
        "h0": grads.pop("h0"),
    }
    if y is not None:
        ref["y"] = y.detach().numpy()
    if pb.cell == "lstm":
        ref["c_n"], ref["c0"] = np.stack(c_n), grads.pop("c0")
    if pb.x is not None:
        ref["inputs"] = grads.pop("inputs")
    if not pb.loss.uses_head:
        del grads["head.weight"], grads["head.bias"]
    return ref


# --- the comparison every reference shares --------------------------------------------------


def compare(pb: Problem, model: stack.Model, tr: stack.Trace, ref: dict) -> None:
    """Every forward array and gradient the references share with the engine."""
    # The architecture the engine read from PyTorch's names is PyTorch's.
    assert (model.directions, model.num_layers, model.slots) == (pb.dirs, pb.layers, pb.slots)
    assert (model.hidden_size, model.state_size) == (pb.hidden, pb.state)
    assert (model.embedding is not None) == (pb.ids is not None)
    recurrent = {n: v.shape for n, v in pb.w.items() if not n.startswith(("head.", "embedding."))}
    assert list(pb.architecture().shapes(pb.dim).items()) == list(recurrent.items())

    assert tr.loss == pytest.approx(ref["loss"], rel=REL, abs=REL)
    if "y" in ref:
        close(tr.output["y"], ref["y"], "y")

    # Forward: each layer's (merged) output, each direction's h, the final states.
    assert len(tr.outputs) == pb.layers and len(tr.layers) == pb.slots
    for k, want in enumerate(ref["outputs"]):
        close(tr.outputs[k], want, f"output of layer {k}")
    for slot, want in enumerate(ref["slot_h"]):
        close(tr.layers[slot]["h"], want, f"h of slot {slot}")
    # A forward direction ends at the last position, a reverse one at the first.
    last = [pb.steps - 1 if slot % pb.dirs == 0 else 0 for slot in range(pb.slots)]
    close(np.stack([tr.layers[s]["h"][t] for s, t in enumerate(last)]), ref["h_n"], "final h")
    if pb.cell == "lstm":
        close(np.stack([tr.layers[s]["c"][t] for s, t in enumerate(last)]), ref["c_n"], "final c")
    # Each layer reads the one below's merged output (layer 0 the input or the looked-up rows).
    below = pb.table[pb.ids] if pb.ids is not None else pb.x
    for slot in range(pb.slots):
        k = slot // pb.dirs
        np.testing.assert_array_equal(tr.layers[slot]["x"], below if k == 0 else tr.outputs[k - 1])
        assert ("m" in tr.layers[slot]) == bool(pb.proj)

    # Gradients: every parameter by its PyTorch name, head, embedding or inputs, h0, c0.
    engine = {}
    for slot, g in enumerate(tr.grads):
        kinds = {"weight_ih", "weight_hh"} | ({"bias_ih", "bias_hh"} if pb.bias else set())
        kinds |= {"weight_hr"} if pb.proj else set()
        present = {k for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr") if k in g}
        assert present == kinds, f"slot {slot} has gradients {present}"
        engine |= {param_name(kind, *divmod(slot, pb.dirs)): g[kind] for kind in kinds}
    if pb.loss.uses_head:
        engine["head.weight"], engine["head.bias"] = tr.output["grad_head.weight"], tr.output["grad_head.bias"]
    else:
        assert "grad_head.weight" not in tr.output
    if pb.ids is not None:
        rows = tr.model_grads["embedding.rows"]
        assert list(rows) == sorted(set(pb.ids.tolist()))
        full = np.zeros_like(pb.table)
        full[rows] = tr.model_grads["embedding.weight"]
        engine["embedding.weight"] = full
        untouched = np.setdiff1d(np.arange(pb.table.shape[0]), rows)
        np.testing.assert_array_equal(ref["grads"]["embedding.weight"][untouched], 0.0)
    else:
        assert tr.model_grads == {}
        # Both directions of the bottom layer read x: dL/dx is the sum of what each sends back.
        close(sum(tr.grads[d]["x"] for d in range(pb.dirs)), ref["inputs"], "dL/dx")
    assert set(engine) == set(ref["grads"])
    for name, want in ref["grads"].items():
        close(engine[name], want, f"dL/d{name}")
    close(np.stack([g["h0"] for g in tr.grads]), ref["h0"], "dL/dh0")
    if pb.cell == "lstm":
        close(np.stack([g["c0"] for g in tr.grads]), ref["c0"], "dL/dc0")
    else:
        assert all("c0" not in g for g in tr.grads)


# --- test 1: PyTorch's fused modules, bidirectional layers concatenated ---------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures)
@example(
    dict(cell="lstm", steps=5, embedding=True, vocab=9, inputs=3, hidden=4, proj=2, layers=3, bidirectional=True,
         bias=False, relu=False, loss="cross_entropy", seed=1, scale=2.5)
)  # fmt: skip
@example(
    dict(cell="rnn", steps=6, embedding=False, vocab=1, inputs=2, hidden=3, proj=0, layers=2, bidirectional=True,
         bias=True, relu=True, loss="mse", seed=2, scale=1.0)
)  # fmt: skip
@example(
    dict(cell="gru", steps=4, embedding=True, vocab=3, inputs=2, hidden=3, proj=0, layers=2, bidirectional=True,
         bias=False, relu=False, loss="dh", seed=3, scale=2.5)
)  # fmt: skip
def test_every_output_and_gradient_matches_torch_modules(s):
    pb = Problem(s)
    ref = fused_reference(pb)
    model, tr = pb.engine()
    compare(pb, model, tr, ref)


# --- test 2: the other merge modes against one module per direction -------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures.map(lambda s: s | {"bidirectional": True}), st.sampled_from(["sum", "ave", "mul", "concat"]))
@example(
    dict(cell="lstm", steps=5, embedding=False, vocab=1, inputs=3, hidden=4, proj=3, layers=3, bidirectional=True,
         bias=True, relu=False, loss="mse", seed=4, scale=2.5),
    "mul",
)  # fmt: skip
def test_merge_modes_match_torch_directions_run_apart(s, merge_mode):
    """sum / ave / mul (Keras' merge modes) against separate PyTorch modules per direction, the
    reverse one on the flipped sequence; concat too, which the fused module checks as well."""
    pb = Problem(s, merge_mode)
    ref = split_reference(pb)
    model, tr = pb.engine()
    assert model.merge_mode == merge_mode
    compare(pb, model, tr, ref)
    # The merge itself, from the engine's own two directions.
    for k in range(pb.layers):
        fwd, rev = tr.layers[2 * k]["h"], tr.layers[2 * k + 1]["h"]
        want = {"sum": fwd + rev, "ave": (fwd + rev) / 2, "mul": fwd * rev, "concat": np.hstack([fwd, rev])}
        close(tr.outputs[k], want[merge_mode], f"merged output of layer {k}")


@settings(max_examples=10, deadline=None)
@given(architectures.map(lambda s: s | {"bidirectional": True, "layers": 2}))
def test_the_split_reference_agrees_with_the_fused_module(s):
    """The per-direction reference is PyTorch's bidirectional module when it concatenates."""
    pb = Problem(s)
    a, b = fused_reference(pb), split_reference(pb)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-12, abs=1e-12)
    for k in range(pb.layers):
        close(a["outputs"][k], b["outputs"][k], f"output {k}", rel=1e-12)
    for name, want in a["grads"].items():
        close(b["grads"][name], want, name, rel=1e-12)
    close(b["h0"], a["h0"], "h0", rel=1e-12)


# --- test 3: every per-step array of both directions, against a hand-unrolled stack ----------


def _lstm_step(p, x, h, c, nonlinearity):
    hidden = c.shape[0]
    a = x @ p["weight_ih"].T + h @ p["weight_hh"].T
    if "bias_ih" in p:
        a = a + p["bias_ih"] + p["bias_hh"]
    i, f, g, o = (a[k * hidden : (k + 1) * hidden] for k in range(4))
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    tanh_c = torch.tanh(c)
    out = {"a": a, "i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": tanh_c}
    if "weight_hr" in p:
        out["m"] = o * tanh_c
        out["h"] = out["m"] @ p["weight_hr"].T
    else:
        out["h"] = o * tanh_c
    return out


def _gru_step(p, x, h, c, nonlinearity):
    hidden = h.shape[0]
    xp = x @ p["weight_ih"].T
    hp = h @ p["weight_hh"].T
    if "bias_ih" in p:
        xp, hp = xp + p["bias_ih"], hp + p["bias_hh"]
    r = torch.sigmoid(xp[:hidden] + hp[:hidden])
    z = torch.sigmoid(xp[hidden : 2 * hidden] + hp[hidden : 2 * hidden])
    hn = hp[2 * hidden :]
    n = torch.tanh(xp[2 * hidden :] + r * hn)
    return {"r": r, "z": z, "n": n, "_hn": hn, "h": (1 - z) * n + z * h}


def _rnn_step(p, x, h, c, nonlinearity):
    a = x @ p["weight_ih"].T + h @ p["weight_hh"].T
    if "bias_ih" in p:
        a = a + p["bias_ih"] + p["bias_hh"]
    return {"a": a, "h": torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)}


STEPS = {"lstm": _lstm_step, "gru": _gru_step, "rnn": _rnn_step}
# What each cell's step keeps that has a gradient (GRU's _hn is forward-only in the engine).
NO_GRAD = {"_hn"}


def unrolled_reference(pb: Problem) -> dict:
    """The whole stack unrolled step by step in torch.  Each direction reads its own copy of the
    layer input (for its dL/dx), and every h (and c) is handed on as two copies, one to the
    layer above and one to the next step, so autograd gives the split of dL/dh by source."""
    leaves = pb.leaves()
    layer_in = pb.layer_input()
    kept = []  # per slot: (input copy, per-position dicts of tensors)
    outputs = []
    for k in range(pb.layers):
        hs = []
        for d in range(pb.dirs):
            slot = k * pb.dirs + d
            p = {
                kind: leaves[param_name(kind, k, d)]
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                if param_name(kind, k, d) in leaves
            }
            xin = layer_in.clone()
            xin.retain_grad()
            h = leaves["h0"][slot]
            c = leaves["c0"][slot] if pb.cell == "lstm" else None
            per_pos = [None] * pb.steps
            # The reverse direction reads position T-1 first; its state after position t goes to t-1.
            for t in range(pb.steps) if d == 0 else range(pb.steps - 1, -1, -1):
                vals = STEPS[pb.cell](p, xin[t], h, c, pb.nonlinearity)
                vals["h_up"], vals["h_next"] = vals["h"].clone(), vals["h"].clone()
                if c is not None:
                    vals["c_next"] = vals["c"].clone()
                for v in vals.values():
                    v.retain_grad()
                per_pos[t] = vals
                h, c = vals["h_next"], vals.get("c_next")
            kept.append((xin, per_pos))
            hs.append(torch.stack([v["h_up"] for v in per_pos]))
        layer_in = hs[0] if pb.dirs == 1 else torch_merge(pb.merge_mode, *hs)
        outputs.append(layer_in.detach().numpy())
    value, y = pb.torch_loss(layer_in)
    value.backward()

    def grad(v):
        return v.grad.numpy() if v.grad is not None else np.zeros(tuple(v.shape))

    forward, backward = [], []
    for xin, per_pos in kept:
        names = [n for n in per_pos[0] if n not in ("h_up", "h_next", "c_next")]
        fw = {n: np.stack([v[n].detach().numpy() for v in per_pos]) for n in names}
        fw["x"] = xin.detach().numpy()
        bw = {n: np.stack([grad(v[n]) for v in per_pos]) for n in names if n not in NO_GRAD}
        bw["x"] = grad(xin)
        bw["h_from_above"] = np.stack([grad(v["h_up"]) for v in per_pos])
        bw["h_from_next"] = np.stack([grad(v["h_next"]) for v in per_pos])
        if pb.cell == "lstm":
            bw["c_from_next"] = np.stack([grad(v["c_next"]) for v in per_pos])
        forward.append(fw)
        backward.append(bw)
    grads = pb.leaf_grads()
    for slot, bw in enumerate(backward):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
            name = param_name(kind, *divmod(slot, pb.dirs))
            if name in grads:
                bw[kind] = grads[name]
        bw["h0"] = grads["h0"][slot]
        if pb.cell == "lstm":
            bw["c0"] = grads["c0"][slot]
    return {"loss": value.item(), "y": None if y is None else y.detach().numpy(), "outputs": outputs,
            "forward": forward, "backward": backward}  # fmt: skip


def check_every_step(pb: Problem) -> tuple[stack.Model, stack.Trace]:
    ref = unrolled_reference(pb)
    # The unrolled stack is PyTorch's modules (so the per-step check rests on torch itself).
    grounded = split_reference(pb)
    assert ref["loss"] == pytest.approx(grounded["loss"], rel=1e-12, abs=1e-12)
    for k in range(pb.layers):
        close(ref["outputs"][k], grounded["outputs"][k], f"unrolled output {k}", rel=1e-12)
    for slot, bw in enumerate(ref["backward"]):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
            if kind in bw:
                name = param_name(kind, *divmod(slot, pb.dirs))
                close(bw[kind], grounded["grads"][name], f"unrolled {name}", rel=1e-12)

    model, tr = pb.engine()
    assert tr.loss == pytest.approx(ref["loss"], rel=REL, abs=REL)
    for k in range(pb.layers):
        close(tr.outputs[k], ref["outputs"][k], f"output {k}")
    for slot in range(pb.slots):
        where = f"slot {slot} ({'reverse' if slot % pb.dirs else 'forward'})"
        fw, bw = ref["forward"][slot], ref["backward"][slot]
        # Exactly the arrays the reference has: no more (a stale m, a bias gradient), no fewer.
        assert set(tr.layers[slot]) == set(fw), where
        assert set(tr.grads[slot]) == set(bw), where
        for name, want in fw.items():
            close(tr.layers[slot][name], want, f"{where} forward {name}")
        for name, want in bw.items():
            close(tr.grads[slot][name], want, f"{where} dL/d{name}")
        g = tr.grads[slot]
        np.testing.assert_array_equal(g["h_from_above"] + g["h_from_next"], g["h"])
    return model, tr


def check_reverse_flow(pb: Problem, model: stack.Model, tr: stack.Trace) -> None:
    """From the engine's own arrays, for both directions: position t's state was computed from
    the position read before it (t-1 forward, t+1 reverse; h0 / c0 for the first one read), and
    h_from_next / c_from_next at t is what the position read after it (t+1 forward, t-1
    reverse) sends back; dL/dh0 and dL/dc0 come from the first position read."""
    for slot, p in enumerate(model.layers):
        g, fw = tr.grads[slot], tr.layers[slot]
        rev = slot % pb.dirs == 1
        where = f"slot {slot} ({'reverse' if rev else 'forward'})"
        order = list(range(pb.steps - 1, -1, -1)) if rev else list(range(pb.steps))
        h_prev, c_prev = pb.h0[slot], pb.c0[slot]
        for t in order:
            a = fw["x"][t] @ p.weight_ih.T + h_prev @ p.weight_hh.T
            if p.bias_ih is not None:
                a = a + p.bias_ih + p.bias_hh
            close(fw["a"][t], a, f"{where} a[{t}] reads the state read before it")
            close(fw["c"][t], fw["f"][t] * c_prev + fw["i"][t] * fw["g"][t], f"{where} c[{t}]")
            h_prev, c_prev = fw["h"][t], fw["c"][t]
        np.testing.assert_array_equal(g["h_from_next"][order[-1]], 0.0)
        np.testing.assert_array_equal(g["c_from_next"][order[-1]], 0.0)
        for t, after in itertools.pairwise(order):
            close(g["h_from_next"][t], g["a"][after] @ p.weight_hh, f"{where} h_from_next[{t}] from {after}")
            close(g["c_from_next"][t], g["c"][after] * fw["f"][after], f"{where} c_from_next[{t}] from {after}")
        close(g["h0"], g["a"][order[0]] @ p.weight_hh, f"{where} dL/dh0 from position {order[0]}")
        close(g["c0"], g["c"][order[0]] * fw["f"][order[0]], f"{where} dL/dc0 from position {order[0]}")
        # With a projection, h = W_hr m and dL/dm = W_hr^T dL/dh.
        close(fw["h"], fw["m"] @ p.weight_hr.T, f"{where} h = W_hr m")
        close(g["m"], g["h"] @ p.weight_hr, f"{where} dL/dm")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    architectures.map(
        lambda s: (
            s
            | {
                "cell": "lstm",
                "bidirectional": True,
                "layers": min(s["layers"], 2),
                "hidden": max(s["hidden"], 2),
                "proj": 1 + s["proj"] % (max(s["hidden"], 2) - 1),  # 1 <= P < H
            }
        )
    ),
    st.sampled_from(["concat", "sum", "ave", "mul"]),
)
def test_every_per_step_array_of_a_bidirectional_projected_lstm_matches_torch(s, merge_mode):
    pb = Problem(s, merge_mode)
    assert pb.dirs == 2 and 1 <= pb.proj < pb.hidden
    model, tr = check_every_step(pb)
    check_reverse_flow(pb, model, tr)


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    architectures.map(lambda s: s | {"layers": min(s["layers"], 2)}),
    st.sampled_from(["concat", "sum", "ave", "mul"]),
)
def test_every_per_step_array_of_any_stack_matches_torch(s, merge_mode):
    """The same for GRU and (tanh or relu) RNN stacks and unprojected LSTMs, one or two directions."""
    check_every_step(Problem(s, merge_mode))
