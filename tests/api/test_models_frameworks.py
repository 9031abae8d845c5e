"""Real files written by the real frameworks, opened through the HTTP API with the frameworks' numbers.

Each model is made at test time by PyTorch (torch.save of a state dict), by torch.onnx.export
(the dynamo exporter and the TorchScript one) or by Keras 3 on its torch backend (.keras, legacy
.h5, .weights.h5), uploaded with POST /api/models, and run with POST /api/backward. Everything
the app answers is checked against the framework:

- the forward arrays of every layer (h, and c for an LSTM), the head's y and its softmax;
- dL/dx, every parameter's gradient (PyTorch's names and layout), the head's and the
  embedding's, against torch autograd: on the saved module itself (PyTorch), on the module
  that was exported (ONNX; its outputs against onnxruntime on the same input), or through the
  Keras model (the torch backend's variables are torch Parameters), mapped into PyTorch's
  layout with layouts.to_pytorch;
- the parity check the upload records, and GET /api/models/{id} showing it and the source.

Tolerances: 1e-10 for float64 models, 1e-6 for float32 frameworks; relative, with an absolute
floor of the same fraction of the array's largest magnitude (an element that cancels to near
zero is as exact as its neighbours in absolute terms, not relatively).

Then the settings a file may lack or the engine may not compute: each opens with the right
numbers or is refused naming the setting.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported anywhere: the torch backend

from app import parity
from app.nn import layouts
from tests.framework_files import onnx_export

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
pytestmark = pytest.mark.torch

T, D, H, OUT, V = 6, 3, 4, 2, 7  # steps, input features, hidden units, head outputs, vocabulary
F64, F32 = 1e-10, 1e-6
PARITY_BOUND = {"pytorch": 1e-12, "keras": 1e-5, "onnxruntime": 1e-5}  # parity's max_abs_diff
TORCH_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
# The largest difference seen per framework and quantity (relative to the array's largest
# magnitude; the parity checks' max_abs_diff as it is): printed at the end (pytest -s shows it).
LARGEST: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_largest_differences():
    yield
    for framework, seen in sorted(LARGEST.items()):
        worst = max(seen, key=seen.get)
        print(f"\n{framework}: largest difference {seen[worst]:.2g} in {worst}")


# --- comparing ---------------------------------------------------------------------------------


def close(actual, expected, tol: float, what: str, framework: str, scale: float | None = None) -> None:
    """Equal to `tol` relative, or `tol` times `scale` (default: the largest magnitude in `expected`)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: the app has shape {actual.shape}, {framework} {expected.shape}"
    if scale is None:
        scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(scale, 1e-9), err_msg=f"{what} ({framework})")
    if expected.size:
        kind = re.sub(r"\[\d+\]", "", what)  # layers.h, grad weight_ih_l0, ...
        seen = LARGEST.setdefault(framework, {})
        seen[kind] = max(seen.get(kind, 0.0), float(np.abs(actual - expected).max()) / max(scale, 1e-300))


@dataclass
class Reference:
    """What the framework computes, in the app's terms. An array of one row where the app has T
    is the framework's last step only (Keras return_sequences=False): the app's last step is compared."""

    h: list[np.ndarray]  # per layer
    c: list[np.ndarray] | None = None  # per layer (LSTM)
    y: np.ndarray | None = None
    probs: np.ndarray | None = None
    grad_x: np.ndarray | None = None
    grads: dict[str, np.ndarray] = field(default_factory=dict)  # weight_ih_l0 ..., head.weight, head.bias
    embedding: np.ndarray | None = None  # dL/dE, one row per token id
    loss: float | None = None
    loss_scale: float | None = None  # the sum of the loss's terms' magnitudes (a sum of h cancels)


def _steps(app, ref: np.ndarray) -> np.ndarray:
    app = np.asarray(app, dtype=np.float64)
    return app[-1:] if len(ref) == 1 and len(app) == T else app


def compare(body: dict, ref: Reference, tol: float, framework: str, ids: list[int] | None = None) -> None:
    """Every forward array and gradient the app answered that the framework computed."""
    for k, h in enumerate(ref.h):
        close(_steps(body["layers"][k]["h"], h), h, tol, f"layers[{k}].h", framework)
    for k, c in enumerate(ref.c or []):
        close(_steps(body["layers"][k]["c"], c), c, tol, f"layers[{k}].c", framework)
    if ref.y is not None:
        close(_steps(body["output"]["y"], ref.y), ref.y, tol, "output.y", framework)
    if ref.probs is not None:
        close(_steps(body["output"]["probs"], ref.probs), ref.probs, tol, "output.probs", framework)
    if ref.loss is not None:
        close(body["loss"], ref.loss, tol, "loss", framework, ref.loss_scale)
    if ref.grad_x is not None:
        close(body["layers"][0]["grad"]["x"], ref.grad_x, tol, "grad x", framework)
    for name, grad in ref.grads.items():
        if name.startswith("head."):
            close(body["output"][f"grad_{name}"], grad, tol, f"grad {name}", framework)
        else:
            kind, layer = name.rsplit("_l", 1)
            close(body["layers"][int(layer)]["grad"][kind], grad, tol, f"grad {name}", framework)
    if ref.embedding is not None:
        grad = body["grad"]["embedding.weight"]
        rows = sorted(set(ids))
        assert grad["rows"] == rows
        close(grad["values"], ref.embedding[rows], tol, "grad embedding.weight", framework)


# --- the API -------------------------------------------------------------------------------------


def upload(client, data: bytes, filename: str, **form):
    return client.post("/api/models", files={"file": (filename, data)}, data=form)


def opened(client, data: bytes, filename: str, *, fmt: str, parity_by: str, steps: int, **form) -> dict:
    """Uploaded (201), with a parity check by `parity_by` on a probe of `steps`, shown again by GET."""
    r = upload(client, data, filename, **form)
    assert r.status_code == 201, r.text
    model = r.json()
    check = model["parity"]
    assert check["checked"] is True, check
    assert check["framework"] == parity_by
    assert 0 <= check["max_abs_diff"] <= PARITY_BOUND[parity_by], check
    assert check["probe_steps"] == steps
    seen = LARGEST.setdefault(f"parity check by {parity_by}", {})
    seen["max_abs_diff"] = max(seen.get("max_abs_diff", 0.0), check["max_abs_diff"])
    framework = {"pt": "pytorch", "onnx": "onnx"}.get(fmt, "keras")
    assert model["source"]["framework"] == framework and model["source"]["format"] == fmt
    shown = client.get(f"/api/models/{model['id']}")
    assert shown.status_code == 200, shown.text
    shown = shown.json()
    assert shown["parity"] == check
    assert shown["source"] == model["source"] and shown["config"] == model["config"]
    return model


def refused(client, data: bytes, filename: str, field: str, words: list[str], **form) -> str:
    """A 422 whose error is at `field` and names every one of `words`."""
    r = upload(client, data, filename, **form)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert field in detail["loc"], detail
    for word in words:
        assert word in detail["msg"], detail["msg"]
    return detail["msg"]


def backward(client, model_id: str, **body) -> dict:
    r = client.post("/api/backward", json={"model_id": model_id, **body})
    assert r.status_code == 200, r.text
    return r.json()


def as_list(arr) -> list:
    return np.asarray(arr).tolist()


# --- PyTorch -------------------------------------------------------------------------------------


class TorchNet(nn.Module):
    """[nn.Embedding ->] nn.LSTM / GRU / RNN [-> nn.Linear [-> softmax]]: what people save and export."""

    def __init__(
        self,
        cell: str,
        layers: int = 1,
        head: int | None = None,
        vocab: int | None = None,
        dtype=torch.float32,
        nonlinearity: str = "tanh",
        softmax: bool = False,
        inputs: int = D,
        seed: int = 0,
    ):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(vocab, inputs, dtype=dtype) if vocab else None
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = TORCH_CELLS[cell](inputs, H, num_layers=layers, dtype=dtype, **extra)
        self.fc = nn.Linear(H, head, dtype=dtype) if head else None
        self.softmax = softmax

    def forward(self, x):
        if self.embed is not None:
            x = self.embed(x)
        y, _ = self.rnn(x)
        if self.fc is not None:
            y = self.fc(y)
        return torch.softmax(y, dim=-1) if self.softmax else y


def state_dict_bytes(net: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    return buf.getvalue()


def torch_reference(net: TorchNet, x: np.ndarray, loss: str | None = None, targets=None, probs=False) -> Reference:
    """The app's whole answer from torch autograd on `net` for one sequence (T x D numbers or T ids).

    loss None: L = the sum of every top-layer h (the app's default dh of ones); "mse" and
    "cross_entropy" read the head as the app's losses of those names do.
    """
    dtype = net.rnn.weight_hh_l0.dtype
    net.zero_grad(set_to_none=True)
    if net.embed is not None:
        inputs = net.embed(torch.as_tensor(np.asarray(x), dtype=torch.int64))
        inputs.retain_grad()
    else:
        inputs = torch.tensor(np.asarray(x), dtype=dtype, requires_grad=True)
    out, _ = net.rnn(inputs)
    y = net.fc(out) if net.fc is not None else None
    if loss is None:
        total = out.sum()
    elif loss == "mse":
        total = F.mse_loss(y, torch.tensor(np.asarray(targets), dtype=dtype))
    else:
        total = F.cross_entropy(y, torch.as_tensor(np.asarray(targets), dtype=torch.int64))
    total.backward()
    grads = {name: p.grad.numpy() for name, p in net.rnn.named_parameters()}
    if loss is not None and net.fc is not None:
        grads |= {"head.weight": net.fc.weight.grad.numpy(), "head.bias": net.fc.bias.grad.numpy()}
    h, c = stepwise(net.rnn, inputs.detach())
    return Reference(
        h=h,
        c=c,
        y=None if y is None else y.detach().numpy(),
        probs=torch.softmax(y, -1).detach().numpy() if probs else None,
        grad_x=inputs.grad.numpy(),
        grads=grads,
        embedding=net.embed.weight.grad.numpy() if net.embed is not None else None,
        loss=total.item(),
        loss_scale=out.abs().sum().item() if loss is None else None,
    )


def check_torch(body: dict, net: TorchNet, x, framework: str, ids=None, loss=None, targets=None, probs=False) -> None:
    """The app's answer against `net` in its own precision; a float32 module also against its float64
    copy (the same weights, exactly): the app computes in float64, so it must agree to 1e-10 there."""
    if net.rnn.weight_hh_l0.dtype == torch.float64:
        compare(body, torch_reference(net, x, loss, targets, probs), F64, framework, ids)
        return
    compare(body, torch_reference(net, x, loss, targets, probs), F32, framework, ids)
    exact = copy.deepcopy(net).double()
    compare(body, torch_reference(exact, x, loss, targets, probs), F64, f"{framework}, float64 copy", ids)


@torch.no_grad()
def stepwise(rnn: nn.Module, inputs: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Every layer's h (and c) at every step: the module run one step at a time, its state carried."""
    layers, lstm = rnn.num_layers, isinstance(rnn, nn.LSTM)
    h = torch.zeros(layers, H, dtype=inputs.dtype)
    c = torch.zeros(layers, H, dtype=inputs.dtype)
    hs, cs = [], []
    for t in range(len(inputs)):
        if lstm:
            _, (h, c) = rnn(inputs[t : t + 1], (h, c))
        else:
            _, h = rnn(inputs[t : t + 1], h)
        hs.append(h.clone())
        cs.append(c.clone())
    h_layers = [torch.stack(hs)[:, k].numpy() for k in range(layers)]
    c_layers = [torch.stack(cs)[:, k].numpy() for k in range(layers)] if lstm else None
    return h_layers, c_layers


def numbers(seed: int, dtype=np.float32, shape=(T, D)) -> np.ndarray:
    """Standard normal inputs, exactly representable in `dtype` (both sides get the same numbers)."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype).astype(np.float64)


PT_CELLS = {"lstm": "lstm", "gru": "gru", "rnn_tanh": "rnn", "rnn_relu": "rnn"}  # test id -> cell


@pytest.mark.parametrize(
    ("layers", "head", "dtype"),
    [(1, False, "float64"), (2, True, "float64"), (2, False, "float32"), (1, True, "float32")],
    ids=["1layer-f64", "2layers-head-f64", "2layers-f32", "1layer-head-f32"],
)
@pytest.mark.parametrize("kind", list(PT_CELLS))
def test_pytorch_state_dicts(client, kind, layers, head, dtype):
    cell = PT_CELLS[kind]
    nonlinearity = kind.removeprefix("rnn_") if cell == "rnn" else "tanh"
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = TorchNet(cell, layers, head=OUT if head else None, dtype=tdtype, nonlinearity=nonlinearity, seed=layers)
    data = state_dict_bytes(net)
    form = {}
    if cell == "rnn":
        msg = refused(client, data, "m.pt", "nonlinearity", ["nonlinearity", "tanh or relu"])
        assert "give nonlinearity" in msg
        form = {"nonlinearity": nonlinearity}
    model = opened(client, data, "m.pt", fmt="pt", parity_by="pytorch", steps=parity.PROBE_STEPS, **form)
    assert (model["cell"], model["num_layers"], model["config"]["nonlinearity"]) == (cell, layers, nonlinearity)
    assert model["output_size"] == (OUT if head else None)

    x = numbers(layers, getattr(np, dtype))
    body = backward(client, model["id"], inputs=as_list(x))
    assert body["loss_kind"] == "dh"
    check_torch(body, net, x, "pytorch")
    if head:
        targets = numbers(9, getattr(np, dtype), (T, OUT))
        body = backward(client, model["id"], inputs=as_list(x), loss={"kind": "mse", "targets": as_list(targets)})
        check_torch(body, net, x, "pytorch", loss="mse", targets=targets)


@pytest.mark.parametrize(
    ("kind", "dtype"), [("lstm", "float64"), ("gru", "float32"), ("rnn_relu", "float32")], ids=["lstm", "gru", "rnn"]
)
def test_pytorch_embedding_models_run_token_ids(client, kind, dtype):
    cell = PT_CELLS[kind]
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = TorchNet(cell, 2, head=OUT, vocab=V, dtype=tdtype, nonlinearity="relu", seed=4)
    vocab = list("qzaxbyc")  # V tokens, in the model's (unsorted) order
    form = {"vocab": "".join(vocab)} | ({"nonlinearity": "relu"} if cell == "rnn" else {})
    model = opened(
        client, state_dict_bytes(net), "m.pt", fmt="pt", parity_by="pytorch", steps=parity.PROBE_STEPS, **form
    )
    assert model["config"]["input_kind"] == "tokens" and model["vocab_size"] == V
    assert model["vocab"] == vocab

    ids = [3, 0, 6, 3, 1, 3]
    body = backward(client, model["id"], tokens=ids)
    assert body["tokens"] == [vocab[i] for i in ids] and body["loss_kind"] == "dh"
    check_torch(body, net, np.array(ids), "pytorch", ids)
    targets = numbers(5, getattr(np, dtype), (T, OUT))
    body = backward(client, model["id"], tokens=ids, loss={"kind": "mse", "targets": as_list(targets)})
    check_torch(body, net, np.array(ids), "pytorch", ids, "mse", targets)


# --- ONNX ----------------------------------------------------------------------------------------

ONNX_VARIANTS = {
    "1 layer": {"layers": 1},
    "2 layers + head": {"layers": 2, "head": OUT},
    "embedding + softmax head": {"layers": 1, "head": 5, "vocab": V, "softmax": True},
}


@dataclass
class Export:
    net: TorchNet
    data: bytes
    example: np.ndarray  # (T, 2[, D]): the export's fixed steps and batch; element 0 is what the app runs


@pytest.fixture(scope="module")
def exports():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    cache: dict[tuple, Export] = {}

    def get(cell: str, variant: str, dynamo: bool, nonlinearity: str = "tanh") -> Export:
        key = (cell, variant, dynamo, nonlinearity)
        if key not in cache:
            options = ONNX_VARIANTS[variant]
            # Seeded by the case itself, not by how many were built before: the same case gets
            # the same weights whatever order (or selection) the tests run in.
            seed = zlib.crc32(repr(key).encode()) % 10_000
            net = TorchNet(cell, nonlinearity=nonlinearity, seed=seed, **options)
            rng = np.random.default_rng(seed)
            if "vocab" in options:
                example = rng.integers(0, V, (T, 2))
                tensor = torch.as_tensor(example, dtype=torch.int64)
            else:
                example = rng.standard_normal((T, 2, D)).astype(np.float32)
                tensor = torch.from_numpy(example)
            cache[key] = Export(net, onnx_export(net, tensor, dynamo), example)
        return cache[key]

    return get


def run_onnxruntime(data: bytes, example: np.ndarray) -> np.ndarray:
    """The graph run by onnxruntime on the export's (T, batch) input: batch element 0's answer."""
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    dtype = np.int64 if "int64" in graph_input.type else np.float32
    (out,) = session.run(None, {graph_input.name: example.astype(dtype)})
    assert out.shape[:2] == example.shape[:2]
    return out[:, 0]


ONNX_CASES = [
    (cell, variant, dynamo) for cell in ("lstm", "gru") for variant in ONNX_VARIANTS for dynamo in (True, False)
] + [("rnn", "1 layer", False), ("rnn", "2 layers + head", False)]


@pytest.mark.parametrize(
    ("cell", "variant", "dynamo"),
    ONNX_CASES,
    ids=[f"{c}-{v.replace(' ', '')}-{'dynamo' if d else 'legacy'}" for c, v, d in ONNX_CASES],
)
def test_onnx_exports(client, exports, cell, variant, dynamo):
    nonlinearity = "relu" if cell == "rnn" and variant != "1 layer" else "tanh"
    exported = exports(cell, variant, dynamo, nonlinearity)
    net, options = exported.net, ONNX_VARIANTS[variant]
    model = opened(client, exported.data, "m.onnx", fmt="onnx", parity_by="onnxruntime", steps=T)
    assert (model["cell"], model["num_layers"], model["config"]["nonlinearity"]) == (
        cell,
        options["layers"],
        nonlinearity,
    )
    tokens = "vocab" in options
    assert model["config"]["input_kind"] == ("tokens" if tokens else "numbers")
    assert model["config"]["output_kind"] == (
        "logits" if options.get("softmax") else "values" if "head" in options else None
    )

    theirs = run_onnxruntime(exported.data, exported.example)  # the graph's output, batch element 0
    x = exported.example[:, 0]
    run = {"tokens": as_list(x)} if tokens else {"inputs": as_list(x)}
    ids = as_list(x) if tokens else None
    body = backward(client, model["id"], **run)
    assert body["loss_kind"] == "dh" and body["steps"] == T
    app_out = body["layers"][-1]["h"] if "head" not in options else body["output"]["y"]
    if options.get("softmax"):
        app_out = body["output"]["probs"]
    close(app_out, theirs, F32, "graph output", "onnxruntime")
    check_torch(body, net, x, "pytorch (exported module)", ids, probs=options.get("softmax", False))

    if "head" in options:
        if options.get("softmax"):
            kind, targets = "cross_entropy", [1, 4, 0, 2, 2, 3]
            loss = {"kind": kind, "targets": targets}
        else:
            kind, targets = "mse", numbers(3, shape=(T, OUT))
            loss = {"kind": kind, "targets": as_list(targets)}
        body = backward(client, model["id"], loss=loss, **run)
        check_torch(body, net, x, "pytorch (exported module)", ids, kind, targets, options.get("softmax", False))


def gru_graph(gru: nn.GRU, linear_before_reset: int) -> bytes:
    """A GRU node built with onnx.helper from nn.GRU's weights (ONNX's gate order z, r, h), X (T, 1, D)
    -> Y squeezed to (T, 1, H): what torch.onnx writes, with linear_before_reset as given."""
    from onnx import TensorProto, helper, numpy_helper

    def onnx_order(arr: torch.Tensor) -> np.ndarray:
        r, z, n = arr.detach().numpy().reshape(3, H, -1)
        return np.concatenate([z, r, n]).astype(np.float32)

    w = onnx_order(gru.weight_ih_l0)[None]
    r = onnx_order(gru.weight_hh_l0)[None]
    b = np.concatenate([onnx_order(gru.bias_ih_l0)[:, 0], onnx_order(gru.bias_hh_l0)[:, 0]])[None]
    inits = [
        numpy_helper.from_array(w, "W"),
        numpy_helper.from_array(r, "R"),
        numpy_helper.from_array(b, "B"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    ]
    nodes = [
        helper.make_node(
            "GRU", ["X", "W", "R", "B"], ["Y"], name="gru", hidden_size=H, linear_before_reset=linear_before_reset
        ),
        helper.make_node("Squeeze", ["Y", "axes"], ["h"], name="squeeze"),
    ]
    graph = helper.make_graph(
        nodes,
        "gru",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, 1, D])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, [T, 1, H])],
        initializer=inits,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="onnx.helper")
    onnx_model.ir_version = 9
    return onnx_model.SerializeToString()


def test_an_onnx_gru_with_linear_before_reset_0_is_refused_by_name(client):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    net = TorchNet("gru", seed=8)
    refused(client, gru_graph(net.rnn, 0), "gru.onnx", "file", ["linear_before_reset is 0", "'gru'"])
    # The same graph as PyTorch computes it (linear_before_reset=1) opens with onnxruntime's numbers.
    data = gru_graph(net.rnn, 1)
    model = opened(client, data, "gru.onnx", fmt="onnx", parity_by="onnxruntime", steps=T)
    x = numbers(8)
    body = backward(client, model["id"], inputs=as_list(x))
    close(body["layers"][0]["h"], run_onnxruntime(data, x[:, None]), F32, "graph output", "onnxruntime")
    check_torch(body, net, x, "pytorch (exported module)")


# --- Keras 3 (torch backend) --------------------------------------------------------------------

KERAS_FORMATS = ("keras", "h5", "weights.h5")


@dataclass
class KerasCase:
    model: object
    paths: dict[str, Path]
    x: np.ndarray  # (T, D) float32 numbers or (T,) ids
    cell: str  # lstm, gru, rnn
    head: str | None = None  # None, "linear" or "softmax"
    last: bool = False  # the top recurrent layer has return_sequences=False
    tokens: bool = False
    nonlinearity: str = "tanh"


@pytest.fixture(scope="module")
def keras_cases(tmp_path_factory) -> dict[str, KerasCase]:
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    assert keras.backend.backend() == "torch"
    assert keras.config.floatx() == "float32"
    layers = keras.layers
    folder = tmp_path_factory.mktemp("keras-models")
    rng = np.random.default_rng(21)
    keras.utils.set_random_seed(21)

    def case(name: str, body: list, cell: str, tokens: bool = False, **kw) -> KerasCase:
        first = keras.Input((T,), dtype="int32") if tokens else keras.Input((T, D))
        model = keras.Sequential([first, *body], name=name)
        paths = {fmt: folder / f"{name}.{fmt}" for fmt in KERAS_FORMATS}
        with warnings.catch_warnings(), _quiet_absl():
            warnings.simplefilter("ignore")
            model.save(paths["keras"])
            model.save(paths["h5"])  # legacy HDF5: what many files out there still are
            model.save_weights(paths["weights.h5"])
        x = rng.integers(0, V, T) if tokens else rng.standard_normal((T, D)).astype(np.float32)
        return KerasCase(model, paths, x, cell, tokens=tokens, **kw)

    rs = {"return_sequences": True}
    return {
        c.model.name: c
        for c in (
            case(
                "lstm2_linear", [layers.LSTM(H, **rs), layers.LSTM(H, **rs), layers.Dense(OUT)], "lstm", head="linear"
            ),
            case("gru2", [layers.GRU(H, **rs), layers.GRU(H, **rs)], "gru"),
            case(
                "rnn_softmax", [layers.SimpleRNN(H, **rs), layers.Dense(3, activation="softmax")], "rnn", head="softmax"
            ),
            case(
                "rnn_relu2_linear",
                [*(layers.SimpleRNN(H, activation="relu", **rs) for _ in range(2)), layers.Dense(OUT)],
                "rnn",
                head="linear",
                nonlinearity="relu",
            ),
            case(
                "embedding_lstm_softmax",
                [layers.Embedding(V, D), layers.LSTM(H, **rs), layers.Dense(5, activation="softmax")],
                "lstm",
                tokens=True,
                head="softmax",
            ),
            case(
                "gru_last_linear",
                [layers.GRU(H, **rs), layers.GRU(H), layers.Dense(OUT)],
                "gru",
                head="linear",
                last=True,
            ),
        )
    }


@contextlib.contextmanager
def _quiet_absl():
    """Keras warns (through absl logging) that .h5 is a legacy format: it is what is being tested."""
    log = logging.getLogger("absl")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def keras_reference(case: KerasCase, loss: str | None = None, targets=None) -> Reference:
    """The Keras model's own answer and torch autograd through it, in the app's terms.

    The layers are called in order (what Sequential does; the final output is checked to be
    model(x)), so every recurrent layer's output is at hand. loss None: L = the sum of the top
    layer's h over the steps Keras returns; "mse" on the Dense output; "cross_entropy" on its
    softmax. The Keras variables' gradients go into PyTorch's layout through layouts.to_pytorch.
    """
    import keras

    model = case.model
    if case.tokens:
        x = torch.as_tensor(case.x[None], dtype=torch.int64)
    else:
        x = torch.tensor(case.x[None], dtype=torch.float32, requires_grad=True)
    seq, rec_layers, rec_inputs, rec_outputs, embedded, dense = x, [], [], [], None, None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            dense = layer
        elif not isinstance(layer, keras.layers.Embedding):
            rec_layers.append(layer)
            rec_inputs.append(seq)
        seq = layer(seq, training=False)
        if isinstance(layer, keras.layers.Embedding):
            embedded = seq
        elif not isinstance(layer, keras.layers.Dense):
            rec_outputs.append(seq)
    whole = model(x, training=False)
    np.testing.assert_array_equal(whole.detach().numpy(), seq.detach().numpy())
    top = rec_outputs[-1]
    if loss is None:
        total = top.sum()
    elif loss == "mse":
        total = ((seq - torch.tensor(np.asarray(targets)[None], dtype=torch.float32)) ** 2).mean()
    else:
        picked = seq[0, torch.arange(len(targets)), torch.as_tensor(targets)]
        total = -torch.log(picked).mean()
    wrt = embedded if case.tokens else x
    variables = list(model.trainable_variables)
    grads = torch.autograd.grad(total, [wrt, *(v.value for v in variables)], allow_unused=True)
    by_path = {
        v.path: (np.zeros(tuple(v.shape)) if g is None else g.numpy())
        for v, g in zip(variables, grads[1:], strict=True)
    }
    tensors = {}
    for k, layer in enumerate(rec_layers):
        cell = layer.cell
        for role, var in (("kernel", cell.kernel), ("recurrent_kernel", cell.recurrent_kernel), ("bias", cell.bias)):
            tensors[f"rnn_{k}/{role}"] = by_path[var.path]
    if dense is not None:
        tensors |= {"dense/kernel": by_path[dense.kernel.path], "dense/bias": by_path[dense.bias.path]}
    mapped = layouts.to_pytorch(tensors, "keras").params
    if case.cell != "gru":
        # One Keras bias feeds both of PyTorch's: each one's gradient is the Keras bias gradient.
        for k in range(len(rec_layers)):
            mapped[f"bias_hh_l{k}"] = mapped[f"bias_ih_l{k}"]
    if loss is None:
        mapped = {n: g for n, g in mapped.items() if not n.startswith("head.")}
    embedding = None
    if case.tokens:
        (emb_layer,) = (layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
        embedding = by_path[emb_layer.embeddings.path]
    out = seq.detach().numpy()[0]
    out = out[None] if out.ndim == 1 else out  # (1, O): Keras' last step only
    return Reference(
        h=[o.detach().numpy()[0] if o.ndim == 3 else o.detach().numpy() for o in rec_outputs],
        c=[keras_lstm_states(layer, inp) for layer, inp in zip(rec_layers, rec_inputs, strict=True)]
        if case.cell == "lstm"
        else None,
        y=out if case.head == "linear" else None,
        probs=out if case.head == "softmax" else None,
        grad_x=grads[0].numpy()[0],
        grads=mapped,
        embedding=embedding,
        loss=total.item(),
        loss_scale=top.abs().sum().item() if loss is None else None,
    )


@torch.no_grad()
def keras_lstm_states(layer, inputs: torch.Tensor) -> np.ndarray:
    """An LSTM layer's c at every step: its Keras cell called step by step, its state carried."""
    h = torch.zeros(1, H, dtype=inputs.dtype)
    c = torch.zeros(1, H, dtype=inputs.dtype)
    cs = []
    for t in range(inputs.shape[1]):
        _, (h, c) = layer.cell(inputs[:, t].detach(), [h, c], training=False)
        cs.append(c[0].numpy().copy())
    return np.stack(cs)


def keras_loss_for(case: KerasCase) -> tuple[dict, str, object]:
    """A loss that reads the head (mse on a linear Dense, cross-entropy on a softmax), scoring only
    the last step when Keras answers only there: (the app's loss, keras_reference's name, targets)."""
    steps = 1 if case.last else T
    if case.head == "linear":
        targets = numbers(17, shape=(steps, OUT))
        rows = [[None] * OUT] * (T - steps) + as_list(targets)
        return {"kind": "mse", "targets": rows}, "mse", targets
    width = case.model.layers[-1].units
    targets = [k % width for k in range(3, 3 + steps)]
    return {"kind": "cross_entropy", "targets": [None] * (T - steps) + targets}, "cross_entropy", targets


KERAS_CASES = [
    (name, fmt)
    for name in ("lstm2_linear", "gru2", "rnn_softmax", "rnn_relu2_linear", "embedding_lstm_softmax", "gru_last_linear")
    for fmt in KERAS_FORMATS
]


@pytest.mark.parametrize(("name", "fmt"), KERAS_CASES, ids=[f"{n}-{f}" for n, f in KERAS_CASES])
def test_keras_models(client, keras_cases, name, fmt):
    case = keras_cases[name]
    weights_only = fmt == "weights.h5"
    data, filename = case.paths[fmt].read_bytes(), case.paths[fmt].name
    form = {}
    if weights_only:
        # A weights file says nothing of a softmax: the form says the head's outputs are logits.
        if case.head == "softmax":
            form["output"] = "logits"
        # Nor of a SimpleRNN's activation: refused until the form gives it.
        if case.cell == "rnn":
            msg = refused(client, data, filename, "nonlinearity", ["nonlinearity", "tanh or relu"], **form)
            assert "give nonlinearity" in msg
            form["nonlinearity"] = case.nonlinearity
    model = opened(
        client,
        data,
        filename,
        fmt=fmt,
        parity_by="pytorch" if weights_only else "keras",
        steps=parity.PROBE_STEPS if weights_only else T,
        **form,
    )
    config = model["config"]
    assert (model["cell"], config["nonlinearity"]) == (case.cell, case.nonlinearity)
    assert config["input_kind"] == ("tokens" if case.tokens else "numbers")
    assert config["output_kind"] == {None: None, "linear": "values", "softmax": "logits"}[case.head]
    # A weights file cannot say return_sequences=False: every step is computed (and stated);
    # Keras' last step is the app's last step either way.
    assert config["output_steps"] == ("last" if case.last and not weights_only else "all")

    run = {"tokens": as_list(case.x)} if case.tokens else {"inputs": as_list(case.x)}
    ids = as_list(case.x) if case.tokens else None
    if case.last:  # Keras answers the last step only: L = the sum of the top layer's last h
        run["loss"] = {"kind": "dh", "dh": [[0.0] * H] * (T - 1) + [[1.0] * H]}
    body = backward(client, model["id"], **run)
    compare(body, keras_reference(case), F32, "keras", ids)
    if case.head is not None:
        loss, kind, targets = keras_loss_for(case)
        body = backward(client, model["id"], **(run | {"loss": loss}))
        compare(body, keras_reference(case, kind, targets), F32, "keras", ids)


# --- the settings a file lacks, or the engine does not compute -----------------------------------


def test_a_relu_rnn_state_dict_is_refused_without_its_nonlinearity_and_right_with_it(client):
    net = TorchNet("rnn", 2, head=OUT, dtype=torch.float64, nonlinearity="relu", seed=12)
    data = state_dict_bytes(net)
    msg = refused(client, data, "relu.pt", "nonlinearity", ["nonlinearity", "tanh or relu"])
    assert "give nonlinearity" in msg
    model = opened(
        client, data, "relu.pt", fmt="pt", parity_by="pytorch", steps=parity.PROBE_STEPS, nonlinearity="relu"
    )
    assert model["source"]["given"] == {"nonlinearity": "relu"}
    x = numbers(12, np.float64)
    body = backward(client, model["id"], inputs=as_list(x))
    compare(body, torch_reference(net, x), F64, "pytorch")
    # Read as tanh it would be another model: the numbers must tell them apart.
    tanh = TorchNet("rnn", 2, head=OUT, dtype=torch.float64, nonlinearity="tanh", seed=12)
    assert not np.allclose(body["layers"][1]["h"], torch_reference(tanh, x).h[1], atol=1e-3)


def test_a_keras_relu_simple_rnn_opens_with_its_numbers(client, keras_cases):
    case = keras_cases["rnn_relu2_linear"]
    model = opened(client, case.paths["keras"].read_bytes(), "relu.keras", fmt="keras", parity_by="keras", steps=T)
    assert model["config"]["nonlinearity"] == "relu" and model["source"]["read"]["layers"][0]["activation"] == "relu"
    body = backward(client, model["id"], inputs=as_list(case.x))
    ref = keras_reference(case)
    assert (np.asarray(body["layers"][0]["h"]) == 0).any()  # relu's zeros: not a tanh model
    compare(body, ref, F32, "keras")


@pytest.fixture(scope="module")
def keras_refusals(tmp_path_factory) -> dict[str, dict[str, Path]]:
    keras = pytest.importorskip("keras")
    layers = keras.layers
    folder = tmp_path_factory.mktemp("keras-refusals")
    keras.utils.set_random_seed(5)
    made = {}
    for name, body in {
        "hard_sigmoid": [layers.LSTM(H, recurrent_activation="hard_sigmoid", return_sequences=True, name="enc")],
        "bidirectional": [layers.Bidirectional(layers.LSTM(H, return_sequences=True), merge_mode="sum", name="bi")],
    }.items():
        model = keras.Sequential([keras.Input((T, D)), *body])
        paths = {fmt: folder / f"{name}.{fmt}" for fmt in KERAS_FORMATS}
        with warnings.catch_warnings(), _quiet_absl():
            warnings.simplefilter("ignore")
            model.save(paths["keras"])
            model.save(paths["h5"])
            model.save_weights(paths["weights.h5"])
        made[name] = paths
    return made


@pytest.mark.parametrize("fmt", KERAS_FORMATS)
def test_a_keras_hard_sigmoid_lstm_is_refused_by_name(client, keras_refusals, fmt):
    path = keras_refusals["hard_sigmoid"][fmt]
    if fmt != "weights.h5":
        refused(client, path.read_bytes(), path.name, "file", ["recurrent_activation", "hard_sigmoid", "'enc'"])
        return
    # A weights file holds no activations: Keras' default is assumed, and the answer says so.
    r = upload(client, path.read_bytes(), path.name)
    assert r.status_code == 201, r.text
    assert r.json()["source"]["assumed"]["recurrent_activation"] == "sigmoid"


@pytest.mark.parametrize("fmt", KERAS_FORMATS)
def test_a_keras_bidirectional_sum_opens_with_its_merge_mode_never_as_two_layers(client, keras_refusals, fmt):
    path = keras_refusals["bidirectional"][fmt]
    if fmt == "weights.h5":  # no configuration: nothing says how the two directions merge
        msg = refused(client, path.read_bytes(), path.name, "file", ["Bidirectional", "merge_mode", "'bi'"])
        assert "weights file records neither" in msg
        return
    model = opened(client, path.read_bytes(), path.name, fmt=fmt, parity_by="keras", steps=T)
    assert model["num_layers"] == 1 and model["config"]["merge_mode"] == "sum"
    assert model["architecture"] == {"bidirectional": True, "proj_size": 0, "bias": True, "merge_mode": "sum"}


@pytest.mark.parametrize("embedding", [False, True], ids=["one-hot", "embedding"])
def test_a_character_model_runs_text_through_its_own_unsorted_vocabulary(client, embedding):
    vocab = list("hleo wrd")  # the model's order, not sorted(set(text))
    assert vocab != sorted(vocab)
    size = len(vocab)
    if embedding:
        net = TorchNet("lstm", 2, head=size, vocab=size, dtype=torch.float64, seed=30)
    else:
        net = TorchNet("lstm", 2, head=size, dtype=torch.float64, inputs=size, seed=30)
    data = state_dict_bytes(net)
    model = opened(
        client, data, "char.pt", fmt="pt", parity_by="pytorch", steps=parity.PROBE_STEPS, vocab="".join(vocab)
    )
    assert model["vocab"] == vocab and model["config"]["output_kind"] == "logits"
    assert model["config"]["input_kind"] == ("tokens" if embedding else "onehot")

    text = "hello world"
    ids = [vocab.index(ch) for ch in text]
    body = backward(client, model["id"], text=text)
    assert body["tokens"] == list(text) and body["vocab"] == vocab and body["loss_kind"] == "cross_entropy"
    x = np.array(ids[:-1]) if embedding else np.eye(size)[ids[:-1]]
    ref = torch_reference(net, x, "cross_entropy", ids[1:], probs=True)
    compare(body, ref, F64, "pytorch", ids[:-1] if embedding else None)
    # Read in sorted order the same text is other numbers: the order given is the one used.
    order = sorted(vocab)
    resorted = [order.index(ch) for ch in text[:-1]]
    x_sorted = np.array(resorted) if embedding else np.eye(size)[resorted]
    assert not np.allclose(body["output"]["y"], torch_reference(net, x_sorted).y, atol=1e-3)

    plain = opened(client, data, "char.pt", fmt="pt", parity_by="pytorch", steps=parity.PROBE_STEPS)
    r = client.post("/api/backward", json={"model_id": plain["id"], "text": text})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert "text" in detail["loc"] and "no vocabulary" in detail["msg"]
    # Its numbers still run.
    body = backward(client, plain["id"], **({"tokens": ids[:-1]} if embedding else {"inputs": as_list(x)}))
    compare(body, torch_reference(net, x), F64, "pytorch", ids[:-1] if embedding else None)


def test_a_vocabulary_given_as_a_json_list_keeps_its_order(client):
    vocab = ["zz", "a", "mm"]
    net = TorchNet("gru", 1, head=3, dtype=torch.float64, inputs=3, seed=31)
    model = opened(
        client,
        state_dict_bytes(net),
        "words.pt",
        fmt="pt",
        parity_by="pytorch",
        steps=parity.PROBE_STEPS,
        vocab=json.dumps(vocab),
    )
    assert model["vocab"] == vocab
    body = backward(client, model["id"], text="a zz mm a")
    assert body["tokens"] == ["a", "zz", "mm", "a"]
    ids = [1, 0, 2, 1]
    compare(body, torch_reference(net, np.eye(3)[ids[:-1]], "cross_entropy", ids[1:], probs=True), F64, "pytorch")
