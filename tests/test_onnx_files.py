"""ONNX models read by app/onnx_files.py: real exports checked against onnxruntime, hand-built
graphs for what PyTorch cannot export, and hostile files.

Real files come from torch.onnx.export at test time, with both exporters: the default dynamo
one (a Transpose + Reshape after each node, zero initial states as one initializer) and the
legacy TorchScript one (dynamo=False: Squeeze after each node, initial states built by
Shape/Gather/Concat/Expand chains). Each is read, mapped with layouts.to_pytorch and run by
the engine, and the engine's answer is compared with onnxruntime's on the same input, laid
out as the reader's `probe` says.
"""

from __future__ import annotations

import builtins
import contextlib

import numpy as np
import pytest

from app import limits, model_files, onnx_files
from app.model_files import ModelFileError
from app.nn import layouts, stack
from app.nn.losses import Loss
from app.nn.spec import EMBEDDING
from tests.framework_files import onnx_export

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # the dynamo exporter needs it
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

nn = torch.nn
D, H, OUTS, V = 3, 4, 2, 7  # input features, hidden units, head outputs, vocabulary


# --- real exports ---------------------------------------------------------------------------


class Net(nn.Module):
    """An RNN with an optional embedding in front and a head (and softmax) behind."""

    def __init__(
        self, cell, layers=1, head=False, softmax=None, embedding=False, batch_first=False, relu=False, last=False
    ):
        super().__init__()
        torch.manual_seed(len(cell.__name__) * 10 + layers)
        self.emb = nn.Embedding(V, D) if embedding else None
        extra = {"nonlinearity": "relu"} if relu else {}
        self.rnn = cell(D, H, num_layers=layers, batch_first=batch_first, **extra)
        self.head = nn.Linear(H, OUTS) if head else None
        self.softmax, self.batch_first, self.last = softmax, batch_first, last

    def forward(self, x):
        if self.emb is not None:
            x = self.emb(x)
        y, _ = self.rnn(x)
        if self.last:
            y = y[:, -1] if self.batch_first else y[-1]
        if self.head is not None:
            y = self.head(y)
        if self.softmax == "softmax":
            y = torch.softmax(y, dim=-1)
        elif self.softmax == "log_softmax":
            y = torch.log_softmax(y, dim=-1)
        return y


def export(module: nn.Module, x, dynamo: bool, dynamic: bool = False) -> bytes:
    return onnx_export(module, x, dynamo, dynamic)


def example(embedding: bool, batch_first: bool, steps: int = 5, batch: int = 2):
    x = torch.randint(0, V, (steps, batch)) if embedding else torch.randn(steps, batch, D)
    return x.transpose(0, 1).contiguous() if batch_first else x


# --- running both sides ---------------------------------------------------------------------


def ort_inputs(source, rng, steps: int = 6, batch: int = 3) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The graph input laid out as probe["axes"] says, and the same sequences as (batch, steps[, D])."""
    probe = source.probe
    steps = probe["steps"] or steps
    batch = probe["batch"] or batch
    tokens = source.input_kind == "tokens"
    seqs = rng.integers(0, V, (batch, steps)) if tokens else rng.normal(size=(batch, steps, D))
    axes = probe["axes"]
    order = "bt" if tokens else "btd"
    arr = seqs
    if "b" not in axes:
        assert batch == 1
        arr, order = arr[0], order.replace("b", "")
    arr = np.transpose(arr, [order.index(a) for a in axes.replace("1", "")])
    for k, a in enumerate(axes):
        if a == "1":
            arr = np.expand_dims(arr, k)
    feeds = {probe["input_name"]: arr.astype(probe["input_dtype"])}
    for name, info in probe["extra_inputs"].items():
        shape = [d if isinstance(d, int) else batch for d in info["shape"]]
        value = np.zeros(shape) if info["fill"] == "zeros" else np.full(shape, steps)
        feeds[name] = value.astype(info["dtype"])
    return feeds, seqs


def run_ort(data: bytes, source, feeds, reference: bool = False) -> np.ndarray:
    """onnxruntime's answer, or with `reference` the onnx package's reference evaluator (which
    runs what onnxruntime's CPU kernels do not: layout=1)."""
    if reference:
        from onnx.reference import ReferenceEvaluator

        (out,) = ReferenceEvaluator(onnx.ModelProto.FromString(data)).run([source.probe["output_name"]], feeds)
        return out
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (out,) = session.run([source.probe["output_name"]], feeds)
    return out


def as_batch_steps(out: np.ndarray, axes: str, last: bool) -> np.ndarray:
    """onnxruntime's answer as (batch, steps, width), or (batch, width) for the last step.

    `axes` names each axis of the answer (t, b, h or o, 1); an axis of size one the graph
    squeezed away (a batch of one, a single step) is put back.
    """
    assert len(axes) == out.ndim
    keep = [k for k, a in enumerate(axes) if a != "1"]
    out = out.reshape([out.shape[k] for k in keep])
    axes = "".join(axes[k] for k in keep)
    if "b" not in axes:
        out, axes = out[None], "b" + axes
    if "t" not in axes and not last:
        out, axes = out[None], "t" + axes
    width = next(a for a in axes if a not in "tb")
    want = "b" + width if last else "bt" + width
    return np.transpose(out, [axes.index(a) for a in want])


def engine(source, seq: np.ndarray) -> np.ndarray:
    tensors = dict(source.tensors)
    table = tensors.pop(EMBEDDING, None)
    imported = layouts.to_pytorch(tensors, "onnx")
    model = stack.Model.of(
        imported.cell,
        imported.params,
        imported.num_layers,
        nonlinearity=source.nonlinearity,
        embedding=table,
        softmax_head=source.output_kind == "logits",
    )
    width = imported.architecture.output_size
    trace = stack.run(model, seq, Loss("dh", dh=np.ones((len(seq), width))), backward=False)
    what = source.probe["output_is"]
    out = {
        "h": lambda: trace.outputs[-1],
        "y": lambda: trace.output["y"],
        "probs": lambda: trace.output["probs"],
        "log_probs": lambda: np.log(trace.output["probs"]),
    }[what]()
    return out[-1] if source.output_steps == "last" else out


def check_parity(data: bytes, source, seed: int = 0, reference: bool = False) -> None:
    rng = np.random.default_rng(seed)
    feeds, seqs = ort_inputs(source, rng)
    theirs = as_batch_steps(
        run_ort(data, source, feeds, reference), source.probe["output_axes"], source.output_steps == "last"
    )
    ours = np.stack([engine(source, seq) for seq in seqs])
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


def refused(data: bytes, match: str, status: int = 422) -> ModelFileError:
    with pytest.raises(ModelFileError, match=match) as info:
        onnx_files.read(data, "m.onnx")
    assert info.value.status == status
    assert str(info.value).startswith("m.onnx: ")
    return info.value


# name -> (cell, Net options, example options)
CASES = {
    "1 layer": ({"layers": 1}, {}),
    "2 layers + head, batch_first": ({"layers": 2, "head": True, "batch_first": True}, {"batch_first": True}),
    "2 layers + embedding + head + softmax": (
        {"layers": 2, "head": True, "softmax": "softmax", "embedding": True},
        {"embedding": True},
    ),
    "embedding + head + softmax, batch_first": (
        {"head": True, "softmax": "softmax", "embedding": True, "batch_first": True},
        {"embedding": True, "batch_first": True},
    ),
}


@pytest.fixture(scope="module")
def exports():
    """Every real export once per module: (cell name, case, dynamo) -> (bytes, Net options)."""
    cache: dict[tuple, bytes] = {}

    def get(cell: str, case: str, dynamo: bool, **more):
        key = (cell, case, dynamo, repr(sorted(more.items())))
        if key not in cache:
            options, x_options = CASES.get(case, ({}, {}))
            options = {**options, **more.get("options", {})}
            x_options = {**x_options, **more.get("x", {})}
            net = Net(getattr(nn, cell), **options)
            cache[key] = export(
                net,
                example(**{"embedding": False, "batch_first": False, **x_options}),
                dynamo,
                more.get("dynamic", False),
            )
        return cache[key]

    return get


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_real_exports_match_onnxruntime(exports, cell, case, dynamo):
    data = exports(cell, case, dynamo)
    source = onnx_files.read(data, "m.onnx")
    options = CASES[case][0]
    layers = options.get("layers", 1)
    assert (source.framework, source.format, source.layout) == ("onnx", "onnx", "onnx")
    assert source.read["cell"] == cell.lower() and source.read["num_layers"] == layers
    assert [n["op"] for n in source.read["nodes"]] == [cell] * layers
    assert all(n["direction"] == "forward" and n["layout"] == 0 and n["hidden_size"] == H for n in source.read["nodes"])
    if cell == "GRU":
        assert all(n["linear_before_reset"] == 1 for n in source.read["nodes"])
    else:
        assert all(n["peepholes"] == "none" for n in source.read["nodes"])
    assert source.read["producer_name"] == "pytorch" and source.read["opset"] >= 13
    assert source.input_kind == ("tokens" if options.get("embedding") else "numbers")
    assert source.output_kind == ("logits" if options.get("softmax") else "values" if options.get("head") else None)
    assert source.output_steps == "all"
    probe = source.probe
    bf = options.get("batch_first", False)
    assert probe["input_name"] == "x"
    assert (
        probe["axes"]
        == {(False, False): "tbd", (True, False): "btd", (False, True): "tb", (True, True): "bt"}[
            (bf, bool(options.get("embedding")))
        ]
    )
    assert probe["input_dtype"] == ("int64" if options.get("embedding") else "float32")
    assert probe["output_is"] == ("probs" if options.get("softmax") else "y" if options.get("head") else "h")
    assert probe["output_axes"] == ("bt" if bf else "tb") + ("o" if options.get("head") else "h")
    expected = {f"layer{k}.{r}" for k in range(layers) for r in "WRB"}
    if options.get("head"):
        expected |= {"head.weight", "head.bias"}
        assert source.tensors["head.weight"].shape == (OUTS, H)
    if options.get("embedding"):
        expected.add(EMBEDDING)
        assert source.tensors[EMBEDDING].shape == (V, D)
    assert set(source.tensors) == expected
    assert set(source.names) == expected
    assert all(arr.dtype == np.float64 for arr in source.tensors.values())
    check_parity(data, source)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_weights_are_the_modules(exports, dynamo):
    """The mapped tensors are the nn.Module's own parameters (gate order and all)."""
    data = exports("LSTM", "2 layers + head, batch_first", dynamo)
    net = Net(nn.LSTM, layers=2, head=True, batch_first=True)
    imported = layouts.to_pytorch(onnx_files.read(data, "m.onnx").tensors, "onnx")
    state = {k.replace("rnn.", "").replace("head.", "head."): v.numpy() for k, v in net.state_dict().items()}
    for name, value in state.items():
        np.testing.assert_allclose(imported.params[name], value, rtol=0, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("relu", [False, True], ids=["tanh", "relu"])
def test_rnn_legacy_exports(exports, layers, relu):
    """nn.RNN (legacy exporter: one RNN node per layer); relu is read from activations=["Relu"]."""
    data = exports("RNN", f"rnn {layers}", False, options={"layers": layers, "head": layers == 2, "relu": relu})
    source = onnx_files.read(data, "m.onnx")
    assert source.nonlinearity == ("relu" if relu else "tanh")
    assert [n["activations"] for n in source.read["nodes"]] == [["Relu" if relu else "Tanh"]] * layers
    imported = layouts.to_pytorch(source.tensors, "onnx")
    net = Net(nn.RNN, layers=layers, head=layers == 2, relu=relu)
    for name, value in net.state_dict().items():
        np.testing.assert_allclose(imported.params[name.replace("rnn.", "")], value.numpy(), atol=1e-7)
    check_parity(data, source)


def test_rnn_dynamo_export_is_unrolled(exports):
    """The dynamo exporter writes nn.RNN as MatMul/Tanh per step: refused, pointing at dynamo=False."""
    data = exports("RNN", "1 layer", True)
    refused(data, r"no LSTM, GRU or RNN node.*step by step.*dynamo=False")


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tb", "bt"])
def test_last_step_head(exports, dynamo, batch_first):
    """fc(y[:, -1]): a Gather of the last step, then Gemm; output_steps "last"."""
    data = exports(
        "LSTM",
        "last",
        dynamo,
        options={"layers": 2, "head": True, "last": True, "batch_first": batch_first},
        x={"batch_first": batch_first},
    )
    source = onnx_files.read(data, "m.onnx")
    assert source.output_steps == "last" and source.read["output_steps"] == "last"
    assert source.read["head"]["op"] == "Gemm"
    assert source.probe["output_axes"] == "bo"
    check_parity(data, source)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_log_softmax_is_recorded(exports, dynamo):
    data = exports("GRU", "log", dynamo, options={"head": True, "softmax": "log_softmax"})
    source = onnx_files.read(data, "m.onnx")
    assert source.output_kind == "logits"
    assert source.read["softmax"] == "LogSoftmax" and source.probe["output_is"] == "log_probs"
    check_parity(data, source)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_dynamic_axes(exports, dynamo):
    """Symbolic batch and time: the Reshape targets are computed from Shape in the graph."""
    data = exports(
        "LSTM",
        "dynamic",
        dynamo,
        options={"layers": 2, "head": True, "batch_first": True},
        x={"batch_first": True},
        dynamic=True,
    )
    source = onnx_files.read(data, "m.onnx")
    assert source.probe["axes"] == "btd"
    assert source.probe["batch"] is None
    check_parity(data, source)


def test_time_equal_to_batch(exports):
    """T = B = 4, fixed in the dynamo export's Reshape [4, 4, -1]: followed by sizes, still right."""
    data = exports(
        "GRU",
        "square",
        True,
        options={"layers": 2, "batch_first": True},
        x={"batch_first": True, "steps": 4, "batch": 4},
    )
    source = onnx_files.read(data, "m.onnx")
    assert source.probe["axes"] == "btd" and source.probe["output_axes"] == "bth"
    check_parity(data, source)


def test_looks_like_onnx(exports):
    assert onnx_files.looks_like_onnx(exports("LSTM", "1 layer", False))
    assert onnx_files.looks_like_onnx(exports("LSTM", "1 layer", True))
    for other in (
        model_files.write({"a": np.ones(2)}, "npz"),
        model_files.write({"a": np.ones(2)}, "safetensors"),
        model_files.write({"a": np.ones(2)}, "json"),
        b"\x89HDF\r\n\x1a\n" + bytes(64),
        b"\x80\x04\x95" + bytes(20),
        b"",
        b"\x08",
        b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    ):
        assert not onnx_files.looks_like_onnx(other)


def test_read_source_dispatches_onnx(exports):
    if not hasattr(model_files, "read_source"):
        pytest.skip("model_files.read_source is not there yet")
    data = exports("GRU", "2 layers + head, batch_first", True)
    source = model_files.read_source("model.onnx", data)
    assert source.framework == "onnx" and "layer1.R" in source.tensors


# --- hand-built graphs: what PyTorch does not export ----------------------------------------

RNG = np.random.default_rng(7)
BLOCKS = {"LSTM": 4, "GRU": 3, "RNN": 1}


def init(name: str, arr, dtype=np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def recurrent_model(
    op: str = "LSTM",
    attrs: dict | None = None,
    inputs: dict[str, onnx.TensorProto | str] | None = None,
    after: list | None = None,
    layout: int | None = None,
    steps: int = 5,
    batch: int = 2,
    extra_inits: list | None = None,
    extra_nodes_before: list | None = None,
    graph_inputs: list | None = None,
) -> bytes:
    """One recurrent node X -> Y, Y squeezed to (T, B, H) (or (B, T, H) for layout 1), then `after` nodes.

    `inputs` gives B, sequence_lens, initial_h, initial_c, P by name: a TensorProto becomes an
    initializer, a string is an existing value's name.
    """
    k = BLOCKS[op]
    attrs = {"hidden_size": H, **({"linear_before_reset": 1} if op == "GRU" else {}), **(attrs or {})}
    if layout is not None:
        attrs["layout"] = layout
    inits = [init("W", RNG.normal(size=(1, k * H, D)) * 0.5), init("R", RNG.normal(size=(1, k * H, H)) * 0.5)]
    names = ["X", "W", "R"]
    order = (
        ["B", "sequence_lens", "initial_h", "initial_c", "P"] if op == "LSTM" else ["B", "sequence_lens", "initial_h"]
    )
    given = {"B": init("B", RNG.normal(size=(1, 2 * k * H)) * 0.1), **(inputs or {})}
    for role in order:
        value = given.get(role)
        if value is None:
            names.append("")
        elif isinstance(value, str):
            names.append(value)
        else:
            value.name = role
            inits.append(value)
            names.append(role)
    while names and names[-1] == "":
        names.pop()
    x_shape = [steps, batch, D] if not layout else [batch, steps, D]
    nodes = list(extra_nodes_before or [])
    nodes.append(helper.make_node(op, names, ["Y"], name="rec", **attrs))
    nodes.append(helper.make_node("Squeeze", ["Y", "axes1"], ["Ys"], name="squeeze"))
    inits.append(init("axes1", [2 if layout else 1], np.int64))
    last = "Ys"
    for node in after or []:
        nodes.append(node)
        last = node.output[0]
    nodes.append(helper.make_node("Identity", [last], ["out"], name="out"))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape), *(graph_inputs or [])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        initializer=inits + list(extra_inits or []),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="hand")
    model.ir_version = 9
    return model.SerializeToString()


def head_nodes(activation: str | None = None) -> tuple[list, list]:
    nodes = [
        helper.make_node("MatMul", ["Ys", "Wo"], ["mm"], name="head_mm"),
        helper.make_node("Add", ["mm", "bo"], ["y"], name="head_add"),
    ]
    if activation:
        nodes.append(helper.make_node(activation, ["y"], ["act"], name="after_head"))
    return nodes, [init("Wo", RNG.normal(size=(H, OUTS))), init("bo", RNG.normal(size=OUTS))]


def test_hand_built_lstm_matches_onnxruntime():
    data = recurrent_model("LSTM")
    source = onnx_files.read(data, "m.onnx")
    assert source.read["producer_name"] == "hand"
    assert source.names == {"layer0.W": "W", "layer0.R": "R", "layer0.B": "B"}
    check_parity(data, source)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_batch_first_layout_attribute(op):
    """layout=1: X is (B, T, D) and Y (B, T, 1, H): only the axis order changes.

    onnxruntime's CPU kernels refuse layout=1, so the onnx package's reference evaluator runs it.
    """
    nodes, inits = head_nodes()
    data = recurrent_model(op, layout=1, after=nodes, extra_inits=inits)
    source = onnx_files.read(data, "m.onnx")
    assert source.read["nodes"][0]["layout"] == 1
    assert source.probe["axes"] == "btd" and source.probe["output_axes"] == "bto"
    check_parity(data, source, reference=True)


def test_no_bias_means_no_biases():
    """A node without B computes without biases: none are made up (zeros could be trained)."""
    data = recurrent_model("GRU", inputs={"B": ""})
    source = onnx_files.read(data, "m.onnx")
    assert "layer0.B" not in source.tensors and "layer0.B" not in source.names
    imported = layouts.to_pytorch(source.tensors, "onnx")
    assert not imported.architecture.bias and not any(n.startswith("bias") for n in imported.params)
    check_parity(data, source)


def test_matmul_head_without_add_has_zero_bias():
    data = recurrent_model(
        "LSTM",
        after=[helper.make_node("MatMul", ["Ys", "Wo"], ["y"], name="mm")],
        extra_inits=[init("Wo", RNG.normal(size=(H, OUTS)))],
    )
    source = onnx_files.read(data, "m.onnx")
    assert source.names["head.bias"] == "(none)" and not source.tensors["head.bias"].any()
    assert source.names["head.weight"] == "Wo (transposed)"
    check_parity(data, source)


@pytest.mark.parametrize("value", [None, 0])
def test_gru_linear_before_reset_zero_refused(value):
    attrs = {"linear_before_reset": value}
    data = (
        recurrent_model("GRU", attrs=attrs)
        if value is not None
        else _without_attribute(recurrent_model("GRU"), "linear_before_reset")
    )
    err = refused(
        data,
        r"GRU node 'rec': linear_before_reset (is absent \(so ONNX's default 0 applies\)|is 0); linear_before_reset=0 "
        r"applies the reset gate before the recurrent product, which this engine \(like PyTorch\) does not compute",
    )
    assert err.tensor == "rec"


def _without_attribute(data: bytes, name: str) -> bytes:
    model = onnx.ModelProto.FromString(data)
    for node in model.graph.node:
        kept = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        node.attribute.extend(kept)
    return model.SerializeToString()


def test_a_lone_reverse_layer_is_refused():
    refused(
        recurrent_model("LSTM", attrs={"direction": "reverse"}), r"direction='reverse': alone, .*bidirectional node"
    )


def bidirectional_model(after: list, op: str = "GRU", bias: bool = True) -> bytes:
    """One bidirectional node X -> Y (T, 2, B, H) and then `after` nodes reading Y."""
    k = BLOCKS[op]
    attrs = {"hidden_size": H, "direction": "bidirectional", **({"linear_before_reset": 1} if op == "GRU" else {})}
    inits = [init("W", RNG.normal(size=(2, k * H, D)) * 0.5), init("R", RNG.normal(size=(2, k * H, H)) * 0.5)]
    if bias:
        inits.append(init("B", RNG.normal(size=(2, 2 * k * H)) * 0.1))
    nodes = [helper.make_node(op, ["X", "W", "R", *(["B"] if bias else [])], ["Y"], name="rec", **attrs), *after]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 2, D])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=[*inits, init("perm_shape", [0, 0, -1], np.int64)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="hand")
    model.ir_version = 9
    return model.SerializeToString()


MERGED = [
    helper.make_node("Transpose", ["Y"], ["Yt"], name="t", perm=[0, 2, 1, 3]),
    helper.make_node("Reshape", ["Yt", "perm_shape"], ["out"], name="merge"),
]


@pytest.mark.parametrize("bias", [True, False], ids=["biases", "no-biases"])
def test_a_bidirectional_node_merged_as_pytorch_does_is_read(bias):
    data = bidirectional_model(MERGED, bias=bias)
    source = onnx_files.read(data, "m.onnx")
    assert source.tensors["layer0.W"].shape == (2, 3 * H, D) and ("layer0.B" in source.tensors) == bias
    assert source.read["nodes"][0]["direction"] == "bidirectional" and source.probe["output_axes"] == "tbh"
    arch = layouts.to_pytorch(source.tensors, "onnx").architecture
    assert (arch.bidirectional, arch.bias, arch.output_size) == (True, bias, 2 * H)
    check_parity(data, source)


@pytest.mark.parametrize(
    ("after", "match"),
    [
        # The directions as an axis of their own reach the output: no layer hands that up.
        ([helper.make_node("Transpose", ["Y"], ["out"], name="t", perm=[0, 2, 1, 3])], r"keeps a bidirectional"),
        # Units before directions: merging them would interleave the two directions.
        (
            [
                helper.make_node("Transpose", ["Y"], ["Yt"], name="t", perm=[0, 2, 3, 1]),
                helper.make_node("Reshape", ["Yt", "perm_shape"], ["out"], name="merge"),
            ],
            r"Reshape node 'merge' reshapes .* merge or split",
        ),
    ],
    ids=["directions-kept-apart", "units-then-directions"],
)
def test_a_bidirectional_node_read_any_other_way_is_refused(after, match):
    refused(bidirectional_model(after), match)


def test_a_bidirectional_node_squeezed_as_one_direction_is_refused():
    axes = helper.make_node("Constant", [], ["axes1"], name="axes", value=numpy_helper.from_array(np.array([1])))
    squeeze = helper.make_node("Squeeze", ["Y", "axes1"], ["out"], name="squeeze")
    refused(bidirectional_model([axes, squeeze]), r"drops axis 1, which holds a bidirectional layer's two directions")


@pytest.mark.parametrize(
    ("op", "attrs", "match"),
    [
        ("LSTM", {"clip": 3.0}, r"clip=3.0: the engine does not clip"),
        ("LSTM", {"input_forget": 1}, r"input_forget=1"),
        (
            "LSTM",
            {"activations": ["Sigmoid", "Tanh", "Relu"]},
            r"activations=\['Sigmoid', 'Tanh', 'Relu'\].*Sigmoid, Tanh, Tanh only",
        ),
        ("GRU", {"activations": ["HardSigmoid", "Tanh"]}, r"activations=\['HardSigmoid', 'Tanh'\]"),
        ("RNN", {"activations": ["Sigmoid"]}, r"activations=\['Sigmoid'\].*Tanh \(or Relu\)"),
        ("RNN", {"activations": ["Tanh"], "activation_alpha": [1.0]}, r"activation_alpha"),
        ("LSTM", {"hidden_size": H + 1}, r"hidden_size=5 but its R is for 4 units"),
        ("LSTM", {"layout": 2}, r"layout=2"),
        ("LSTM", {"output_sequence": 1}, r"attribute 'output_sequence', which LSTM does not define"),
    ],
)
def test_settings_refused(op, attrs, match):
    err = refused(recurrent_model(op, attrs=attrs), match)
    assert err.tensor == "rec"


def test_default_activations_accepted_when_written():
    data = recurrent_model("LSTM", attrs={"activations": ["Sigmoid", "Tanh", "Tanh"]})
    source = onnx_files.read(data, "m.onnx")
    assert source.read["nodes"][0]["activations"] == ["Sigmoid", "Tanh", "Tanh"]
    check_parity(data, source)


def test_peepholes():
    zero = recurrent_model("LSTM", inputs={"P": init("P", np.zeros((1, 3 * H)))})
    source = onnx_files.read(zero, "m.onnx")
    assert source.read["nodes"][0]["peepholes"] == "zero"
    check_parity(zero, source)
    p = np.zeros((1, 3 * H))
    p[0, 5] = 0.25
    err = refused(recurrent_model("LSTM", inputs={"P": init("P", p)}), r"nonzero peephole weights P \('P'\)")
    assert err.tensor == "P"


def test_initial_states():
    zeros = recurrent_model(
        "LSTM", inputs={"initial_h": init("h0", np.zeros((1, 2, H))), "initial_c": init("c0", np.zeros((1, 2, H)))}
    )
    source = onnx_files.read(zeros, "m.onnx")
    assert source.read["nodes"][0]["initial_h"] == "zeros (initial_h)"
    check_parity(zeros, source)
    h = np.zeros((1, 2, H))
    h[0, 1, 2] = 1.0
    err = refused(
        recurrent_model("LSTM", inputs={"initial_h": init("h0", h)}),
        r"initial_h of LSTM node 'rec' is a nonzero constant",
    )
    assert err.tensor == "initial_h"
    # A graph input: recorded, and fed zeros by the parity check.
    fed = recurrent_model(
        "GRU",
        inputs={"initial_h": "h0"},
        graph_inputs=[helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, 2, H])],
    )
    source = onnx_files.read(fed, "m.onnx")
    assert source.read["nodes"][0]["initial_h"] == "graph input 'h0'"
    assert source.probe["extra_inputs"]["h0"]["fill"] == "zeros"
    check_parity(fed, source)
    # A computed state is refused naming the node that computes it.
    made = recurrent_model(
        "RNN",
        inputs={"initial_h": "h0"},
        extra_nodes_before=[helper.make_node("Sin", ["X"], ["h0"], name="sine")],
    )
    refused(made, r"initial_h of RNN node 'rec' comes from Sin node 'sine'")


def test_constant_of_shape_initial_state():
    nonzero = helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])
    shape = init("shape", [1, 2, H], np.int64)
    made = recurrent_model(
        "GRU",
        inputs={"initial_h": "h0"},
        extra_inits=[shape],
        extra_nodes_before=[helper.make_node("ConstantOfShape", ["shape"], ["h0"], name="fill", value=nonzero)],
    )
    refused(made, r"ConstantOfShape node 'fill' filled with \[0.5\]")
    zero = helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])
    made = recurrent_model(
        "GRU",
        inputs={"initial_h": "h0"},
        extra_inits=[shape],
        extra_nodes_before=[helper.make_node("ConstantOfShape", ["shape"], ["h0"], name="fill", value=zero)],
    )
    check_parity(made, onnx_files.read(made, "m.onnx"))


def test_sequence_lens_graph_input():
    data = recurrent_model(
        "LSTM",
        inputs={"sequence_lens": "lens"},
        graph_inputs=[helper.make_tensor_value_info("lens", TensorProto.INT32, [2])],
    )
    source = onnx_files.read(data, "m.onnx")
    assert source.read["nodes"][0]["sequence_lens"] == "graph input 'lens'"
    assert source.probe["extra_inputs"]["lens"]["fill"] == "steps"
    check_parity(data, source)
    const = recurrent_model("LSTM", inputs={"sequence_lens": init("lens", [5, 5], np.int32)})
    refused(const, r"sequence_lens of LSTM node 'rec' \('sequence_lens'\) is not a graph input")


@pytest.mark.parametrize("op", ["Relu", "Tanh", "Sigmoid", "LayerNormalization"])
def test_op_after_head_refused(op):
    nodes, inits = head_nodes()
    if op == "LayerNormalization":
        nodes.append(helper.make_node(op, ["y", "scale"], ["act"], name="after_head"))
        inits.append(init("scale", np.ones(OUTS)))
    else:
        nodes.append(helper.make_node(op, ["y"], ["act"], name="after_head"))
    err = refused(
        recurrent_model("LSTM", after=nodes, extra_inits=inits),
        rf"{op} node 'after_head' is on the path after the head",
    )
    assert err.tensor == "after_head"


def test_softmax_over_the_wrong_axis_refused():
    nodes, inits = head_nodes()
    nodes.append(helper.make_node("Softmax", ["y"], ["p"], name="sm", axis=1))
    refused(recurrent_model("LSTM", after=nodes, extra_inits=inits), r"Softmax node 'sm' normalises over axis 1")


def test_softmax_and_dropout_and_cast_accepted():
    nodes, inits = head_nodes()
    nodes += [
        helper.make_node("Dropout", ["y"], ["dy"], name="drop"),
        helper.make_node("Cast", ["dy"], ["cy"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Softmax", ["cy"], ["p"], name="sm"),
    ]
    data = recurrent_model("LSTM", after=nodes, extra_inits=inits)
    source = onnx_files.read(data, "m.onnx")
    assert source.output_kind == "logits" and source.probe["output_is"] == "probs"
    check_parity(data, source)


@pytest.mark.parametrize("training", [False, True])
def test_dropout_training_mode(training):
    nodes, inits = head_nodes()
    nodes.append(helper.make_node("Dropout", ["y", "", "mode"], ["dy"], name="drop"))
    inits.append(numpy_helper.from_array(np.array(training), "mode"))
    data = recurrent_model("LSTM", after=nodes, extra_inits=inits)
    if training:
        refused(data, r"Dropout node 'drop' runs in training mode")
    else:
        check_parity(data, onnx_files.read(data, "m.onnx"))


def test_gemm_settings():
    def gemm_model(**attrs):
        node = helper.make_node("Gemm", ["Ys2", "Wo", "bo"], ["y"], name="gemm", **attrs)
        flat = helper.make_node("Gather", ["Ys", "last"], ["Ys2"], name="pick", axis=0)
        inits = [
            init("Wo", RNG.normal(size=(OUTS, H))),
            init("bo", RNG.normal(size=OUTS)),
            init("last", np.int64(-1), np.int64),
        ]
        return recurrent_model("GRU", after=[flat, node], extra_inits=inits)

    data = gemm_model(transB=1)
    source = onnx_files.read(data, "m.onnx")
    assert source.output_steps == "last" and source.probe["output_axes"] == "bo"
    check_parity(data, source)
    refused(gemm_model(transB=1, alpha=2.0), r"alpha=2.0")
    refused(gemm_model(transA=1, transB=1), r"transA=1")


def test_gather_of_a_middle_step_refused():
    pick = helper.make_node("Gather", ["Ys", "two"], ["mid"], name="pick", axis=0)
    refused(recurrent_model("LSTM", after=[pick], extra_inits=[init("two", np.int64(2), np.int64)]), r"picks step 2")


def test_transpose_swapping_time_and_batch_refused():
    """Between two layers, a Transpose that swaps time and batch would feed the wrong sequence."""
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    g = model.graph
    second = helper.make_node("LSTM", ["Yt", "W2", "R2"], ["Y2"], name="rec2", hidden_size=H)
    g.node.insert(len(g.node) - 1, helper.make_node("Transpose", ["Ys"], ["Yt"], name="swap", perm=[1, 0, 2]))
    g.node.insert(len(g.node) - 1, second)
    g.initializer.extend([init("W2", RNG.normal(size=(1, 4 * H, H))), init("R2", RNG.normal(size=(1, 4 * H, H)))])
    g.node[-1].input[0] = "Y2"
    err = refused(model.SerializeToString(), r"LSTM node 'rec2' receives the layer below's output with its axes moved")
    assert err.tensor == "rec2"


def test_reshape_merging_axes_refused():
    reshape = helper.make_node("Reshape", ["Ys", "flat"], ["merged"], name="merge")
    data = recurrent_model("LSTM", after=[reshape], extra_inits=[init("flat", [10, H], np.int64)])
    refused(data, r"Reshape node 'merge' reshapes .* merge or split")


def test_two_layers_mixed_cells_refused():
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    g = model.graph
    g.node.insert(
        len(g.node) - 1,
        helper.make_node("GRU", ["Ys", "W2", "R2"], ["Y2"], name="rec2", hidden_size=H, linear_before_reset=1),
    )
    g.node.insert(len(g.node) - 1, helper.make_node("Squeeze", ["Y2", "axes1"], ["Y2s"], name="sq2"))
    g.initializer.extend([init("W2", RNG.normal(size=(1, 3 * H, H))), init("R2", RNG.normal(size=(1, 3 * H, H)))])
    g.node[-1].input[0] = "Y2s"
    refused(model.SerializeToString(), r"mix GRU, LSTM")


# --- hostile files ----------------------------------------------------------------------------


def test_external_data_is_never_read(monkeypatch):
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    w = next(t for t in model.graph.initializer if t.name == "W")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "/etc/passwd"), ("offset", "0"), ("length", "192")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: opened.append(str(f)) or real_open(f, *a, **k))
    monkeypatch.setattr(numpy_helper, "to_array", lambda *a, **k: pytest.fail("to_array called"))
    err = refused(model.SerializeToString(), r"initializer 'W' keeps its data in an external file \('/etc/passwd'\)")
    assert err.tensor == "W"
    assert not any("passwd" in f for f in opened)


def test_external_data_in_an_unused_constant_refused():
    """Refused wherever it is, before any value is looked at."""
    tensor = helper.make_tensor("c", TensorProto.FLOAT, [1], [0.0])
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../secret"
    const = helper.make_node("Constant", [], ["unused"], name="const", value=tensor)
    refused(
        recurrent_model("LSTM", extra_nodes_before=[const]),
        r"attribute 'value' of Constant node 'const' keeps its data",
    )


def test_declared_gigabytes_refused_before_allocating():
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    w = next(t for t in model.graph.initializer if t.name == "W")
    del w.dims[:]
    w.dims.extend([100_000, 100_000])
    w.raw_data = b"\0\0\0\0"
    err = refused(
        model.SerializeToString(), r"initializer 'W' \(W of LSTM node 'rec'\) declares \[100000, 100000\]", status=413
    )
    assert err.tensor == "W"


def test_declared_size_must_match_stored_bytes():
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    w = next(t for t in model.graph.initializer if t.name == "W")
    w.raw_data = w.raw_data[:-4]
    refused(
        model.SerializeToString(), r"initializer 'W' .* declares \[1, 16, 3\] \(48 numbers: 192 bytes\) but stores 188"
    )
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    r = next(t for t in model.graph.initializer if t.name == "R")
    r.ClearField("raw_data")
    r.float_data.extend([0.0] * 3)
    refused(model.SerializeToString(), r"initializer 'R' .* but stores 3")


def test_negative_and_many_dims_refused():
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    w = next(t for t in model.graph.initializer if t.name == "W")
    w.dims[0] = -1
    refused(model.SerializeToString(), r"declares dimensions \[-1, 16, 3\]")


def test_other_dtypes():
    """float16, float64 and bfloat16 weights are read (as float64); int32 weights are refused."""
    for dtype in (TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16):
        model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
        r = next(t for t in model.graph.initializer if t.name == "R")
        values = numpy_helper.to_array(r).astype(np.float32)
        r.CopyFrom(helper.make_tensor("R", dtype, values.shape, values.ravel().tolist()))
        source = onnx_files.read(model.SerializeToString(), "m.onnx")
        np.testing.assert_allclose(source.tensors["layer0.R"], values, rtol=1e-2)
        assert source.tensors["layer0.R"].dtype == np.float64
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    r = next(t for t in model.graph.initializer if t.name == "R")
    r.CopyFrom(helper.make_tensor("R", TensorProto.INT32, [1, 4 * H, H], [1] * (4 * H * H)))
    refused(model.SerializeToString(), r"initializer 'R' \(R of LSTM node 'rec'\) has data type INT32")


@pytest.mark.parametrize(
    "data",
    [b"\x08" + b"\xff" * 11, b"\x08\x07\x12\xff\xff\xff\xff\x0f", b"\x08\x07" + bytes(range(256)) * 4],
    ids=["bad varint", "string past the end", "noise"],
)
def test_garbage_starting_with_0x08(data):
    assert not onnx_files.looks_like_onnx(data)
    with pytest.raises(ModelFileError, match=r"^m.onnx: not an ONNX model"):
        onnx_files.read(data, "m.onnx")


def test_too_many_nodes_refused():
    chain = [
        helper.make_node("Identity", [f"v{k}"], [f"v{k + 1}"], name=f"id{k}") for k in range(limits.MAX_ONNX_NODES)
    ]
    data = recurrent_model("LSTM", after=[helper.make_node("Identity", ["Ys"], ["v0"], name="start"), *chain])
    err = refused(
        data, rf"the graph has {limits.MAX_ONNX_NODES + 4} nodes; at most {limits.MAX_ONNX_NODES}", status=413
    )
    assert err.tensor is None


def test_loop_with_a_subgraph_refused():
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])],
    )
    loop = helper.make_node("Loop", ["", ""], [], name="loop", body=body)
    err = refused(
        recurrent_model("LSTM", extra_nodes_before=[loop]), r"Loop node 'loop' holds a subgraph \(attribute 'body'\)"
    )
    assert err.tensor == "loop"


def test_huge_names_are_cut_short_in_messages():
    model = onnx.ModelProto.FromString(recurrent_model("LSTM", attrs={"clip": 1.0}))
    model.graph.node[0].name = "n" * 1_000_000
    err = refused(model.SerializeToString(), r"clip")
    assert len(str(err)) < 1000


def test_a_cycle_does_not_hang():
    """A hostile graph whose output feeds itself: refused, not followed forever."""
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    g = model.graph
    g.node.append(helper.make_node("Identity", ["loop_b"], ["loop_a"], name="a"))
    g.node.append(helper.make_node("Identity", ["loop_a"], ["loop_b"], name="b"))
    g.output[0].name = "loop_a"
    refused(model.SerializeToString(), r"output 'loop_a'")


# --- more real exports and hand-built graphs --------------------------------------------------


class StateNet(nn.Module):
    """Returns the last state h_n (as a classifier often does) and, with `both`, y too."""

    def __init__(self, bidirectional=False, both=False):
        super().__init__()
        torch.manual_seed(3)
        self.rnn = nn.LSTM(D, H, bidirectional=bidirectional)
        self.head = nn.Linear(H * (2 if bidirectional else 1), OUTS)
        self.both = both

    def forward(self, x):
        y, (h, _) = self.rnn(x)
        if self.both:
            return self.head(y), h
        return self.head(h[-1]) if not self.rnn.bidirectional else self.head(y)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_last_state_output_refused(dynamo):
    refused(export(StateNet(), example(False, False), dynamo), r"computed from Y_h \(the last state\).*y\[:, -1\]")


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_bidirectional_exports_are_read(dynamo):
    data = export(StateNet(bidirectional=True), example(False, False), dynamo)
    source = onnx_files.read(data, "m.onnx")
    assert source.tensors["layer0.W"].shape == (2, 4 * H, D) and source.probe["output_is"] == "y"
    check_parity(data, source)


class ProjectedNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.rnn = nn.LSTM(D, H, proj_size=2)

    def forward(self, x):
        return self.rnn(x)[0]


def test_a_projected_lstm_is_refused_by_name():
    """The legacy exporter refuses proj_size; the dynamo one writes an LSTM without W_hr whose
    initial_c has the cell's width (onnxruntime cannot run it): refused, naming the projection."""
    with pytest.raises(Exception, match="projections"):
        export(ProjectedNet(), example(False, False), False)
    err = refused(
        export(ProjectedNet(), example(False, False), True), r"initial_c .*proj_size.*dropping the projection"
    )
    assert err.tensor


def test_several_outputs_the_head_is_compared():
    data = export(StateNet(both=True), example(False, False), False)
    source = onnx_files.read(data, "m.onnx")
    model = onnx.ModelProto.FromString(data)
    assert source.probe["output_name"] == model.graph.output[0].name
    assert source.probe["output_is"] == "y"
    check_parity(data, source)


def test_embedding_with_int32_ids_and_cast():
    table = init("E", RNG.normal(size=(V, D)))
    nodes = [
        helper.make_node("Cast", ["ids"], ["ids64"], name="cast", to=TensorProto.INT64),
        helper.make_node("Gather", ["E", "ids64"], ["X"], name="embed"),
    ]
    model = onnx.ModelProto.FromString(recurrent_model("GRU", extra_nodes_before=nodes, extra_inits=[table]))
    del model.graph.input[:]
    model.graph.input.append(helper.make_tensor_value_info("ids", TensorProto.INT32, ["steps", "batch"]))
    data = model.SerializeToString()
    source = onnx_files.read(data, "m.onnx")
    assert source.input_kind == "tokens" and source.names[EMBEDDING] == "E"
    assert source.read["embedding"] == {"node": "embed", "vocab_size": V, "width": D}
    assert source.probe["input_dtype"] == "int32" and source.probe["axes"] == "tb"
    assert source.probe["steps"] is None and source.probe["input_shape"] == ["steps", "batch"]
    check_parity(data, source)


def test_float_ids_into_a_gather_refused():
    table = init("E", RNG.normal(size=(V, D)))
    nodes = [helper.make_node("Gather", ["E", "ids"], ["X"], name="embed")]
    model = onnx.ModelProto.FromString(recurrent_model("GRU", extra_nodes_before=nodes, extra_inits=[table]))
    del model.graph.input[:]
    model.graph.input.append(helper.make_tensor_value_info("ids", TensorProto.FLOAT, [5, 2]))
    refused(model.SerializeToString(), r"graph input 'ids' \(float32\) feeds the indices of Gather node 'embed'")


def test_old_opset_and_foreign_domains_refused():
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    model.opset_import[0].version = 6
    refused(model.SerializeToString(), r"opset 6 is older than 7")
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    model.graph.node[-1].domain = "com.example"
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    refused(model.SerializeToString(), r"Identity node 'out' of domain 'com.example' is on the path")
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    model.functions.append(helper.make_function("", "Squeeze", ["a", "b"], ["c"], [], [helper.make_opsetid("", 20)]))
    refused(model.SerializeToString(), r"defines its own function 'Squeeze' in the standard ONNX domain")


def test_too_many_initializers_refused():
    extra = [init(f"c{k}", [0.0]) for k in range(limits.MAX_ONNX_NODES)]
    refused(recurrent_model("LSTM", extra_inits=extra), r"initializers; at most", status=413)


def test_concat_of_concats_is_not_exponential():
    """Initial states built from a Concat of Concats of ... a zero (each cut back to one row, so
    that no value is large): memoised, answered quickly."""
    nodes, prev = [], "z0"
    for k in range(30):
        nodes.append(helper.make_node("Concat", [prev] * 8, [f"c{k}"], name=f"cat{k}", axis=0))
        nodes.append(helper.make_node("Slice", [f"c{k}", "s0", "s1", "s2"], [f"z{k + 1}"], name=f"cut{k}"))
        prev = f"z{k + 1}"
    nodes.append(helper.make_node("Identity", [prev], ["h0"], name="state"))
    inits = [init("z0", np.zeros((1, 2, H))), *(init(n, [v], np.int64) for n, v in (("s0", 0), ("s1", 1), ("s2", 0)))]
    data = recurrent_model("GRU", inputs={"initial_h": "h0"}, extra_nodes_before=nodes, extra_inits=inits)
    source = onnx_files.read(data, "m.onnx")
    assert source.read["nodes"][0]["initial_h"] == "zeros (Concat node 'cat29')"
    check_parity(data, source)


def test_concat_of_concats_growing_is_refused():
    """Without the cuts the zeros would grow 8-fold a Concat (8^60 rows): refused where they
    pass MAX_UPLOAD_ELEMENTS numbers, before onnxruntime is asked to make them."""
    nodes, prev = [], "z0"
    for k in range(60):
        nodes.append(helper.make_node("Concat", [prev] * 8, [f"z{k + 1}"], name=f"cat{k}", axis=0))
        prev = f"z{k + 1}"
    nodes.append(helper.make_node("Slice", [prev, "s0", "s1", "s2"], ["h0"], name="slice"))
    inits = [init("z0", np.zeros((1, 2, H))), *(init(n, [v], np.int64) for n, v in (("s0", 0), ("s1", 1), ("s2", 0)))]
    data = recurrent_model("GRU", inputs={"initial_h": "h0"}, extra_nodes_before=nodes, extra_inits=inits)
    err = refused(
        data,
        r"initial_h of GRU node 'rec' is computed through Concat node 'cat6', which makes zeros of "
        r"shape \(2097152, 2, 4\)",
    )
    assert err.tensor == "cat6"


# --- fuzzing: mutated real exports are read or refused, and never give a wrong number ------------


@pytest.fixture(scope="module")
def fuzz_seeds(exports):
    return [
        exports("LSTM", "2 layers + embedding + head + softmax", True),
        exports("LSTM", "2 layers + embedding + head + softmax", False),
        exports("GRU", "2 layers + head, batch_first", True),
        exports("GRU", "2 layers + head, batch_first", False),
        exports(
            "GRU",
            "square",
            True,
            options={"layers": 2, "batch_first": True},
            x={"batch_first": True, "steps": 4, "batch": 4},
        ),
    ]


def test_byte_mutations_are_read_or_refused(fuzz_seeds):
    rng = np.random.default_rng(11)
    for it in range(400):
        data = bytearray(fuzz_seeds[it % len(fuzz_seeds)])
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, len(data)))
            data[pos] = int(rng.integers(0, 256))
        with contextlib.suppress(ModelFileError):
            onnx_files.read(bytes(data), "m.onnx")


def _mutate(model: onnx.ModelProto, rng: np.random.Generator) -> None:
    """One change of the kind that moves axes or picks other values: a Transpose's perm, an int
    constant (shapes, axes, indices), an int attribute (axis, layout, transB), an input rewired."""
    g = model.graph
    nodes = list(g.node)
    kind = int(rng.integers(0, 4))
    if kind == 0:
        for n in nodes:
            if n.op_type == "Transpose" and rng.random() < 0.5:
                perm = next(a for a in n.attribute if a.name == "perm")
                p = list(perm.ints)
                rng.shuffle(p)
                perm.ints[:] = p
    elif kind == 1:
        ints = [t for t in g.initializer if t.data_type == TensorProto.INT64 and np.prod(t.dims) > 0]
        ints += [
            n.attribute[0].t
            for n in nodes
            if n.op_type == "Constant" and n.attribute[0].t.data_type == TensorProto.INT64
        ]
        if ints:
            t = ints[int(rng.integers(len(ints)))]
            arr = numpy_helper.to_array(t).copy()
            if arr.size:
                arr.ravel()[int(rng.integers(arr.size))] = int(rng.choice([-1, 0, 1, 2, 3, 4, 5]))
                t.CopyFrom(numpy_helper.from_array(arr, t.name))
    elif kind == 2:
        node = nodes[int(rng.integers(len(nodes)))]
        ints = [a for a in node.attribute if a.type == onnx.AttributeProto.INT]
        if ints:
            ints[int(rng.integers(len(ints)))].i = int(rng.choice([-2, -1, 0, 1, 2]))
    else:
        values = [o for n in nodes for o in n.output] + [i.name for i in g.input] + [t.name for t in g.initializer]
        node = nodes[int(rng.integers(len(nodes)))]
        if node.input:
            node.input[int(rng.integers(len(node.input)))] = values[int(rng.integers(len(values)))]


def test_mutated_graphs_never_give_a_wrong_number(fuzz_seeds):
    """Whatever the reader accepts and onnxruntime runs, the engine answers the same."""
    ort.set_default_logger_severity(4)
    rng = np.random.default_rng(5)
    accepted = 0
    for it in range(300):
        model = onnx.ModelProto.FromString(fuzz_seeds[it % len(fuzz_seeds)])
        for _ in range(int(rng.integers(1, 3))):
            _mutate(model, rng)
        data = model.SerializeToString()
        try:
            source = onnx_files.read(data, "m.onnx")
        except ModelFileError:
            continue
        feeds, seqs = ort_inputs(source, np.random.default_rng(it))
        try:
            out = run_ort(data, source, feeds)
        except Exception:
            continue  # not a model onnxruntime runs (an inconsistent shape): nothing to compare
        theirs = as_batch_steps(out, source.probe["output_axes"], source.output_steps == "last")
        ours = np.stack([engine(source, seq) for seq in seqs])
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6, err_msg=f"mutation {it}")
        accepted += 1
    assert accepted > 30  # most mutations are refused or fail to run; enough are still compared


def test_unbatched_input():
    """A (T, D) input made (T, 1, D) by an Unsqueeze: no batch axis in the input ("td")."""
    model = onnx.ModelProto.FromString(
        recurrent_model(
            "LSTM",
            batch=1,
            extra_nodes_before=[helper.make_node("Unsqueeze", ["seq", "axes1"], ["X"], name="batch_of_one")],
        )
    )
    del model.graph.input[:]
    model.graph.input.append(helper.make_tensor_value_info("seq", TensorProto.FLOAT, ["steps", D]))
    data = model.SerializeToString()
    source = onnx_files.read(data, "m.onnx")
    assert source.probe["axes"] == "td" and source.probe["batch"] == 1
    assert source.probe["output_axes"] == "t1h"
    check_parity(data, source)


def test_malformed_nodes_refused():
    model = onnx.ModelProto.FromString(recurrent_model("GRU"))
    model.graph.node[0].input.extend(["", "", "", "extra"])
    refused(model.SerializeToString(), r"GRU node 'rec' has 8 inputs; GRU defines 6")
    model = onnx.ModelProto.FromString(recurrent_model("GRU"))
    model.graph.input.append(helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 2, D]))
    refused(model.SerializeToString(), r"two graph inputs have the same name")
    model = onnx.ModelProto.FromString(recurrent_model("GRU"))
    model.graph.node[1].output[0] = "Y"
    refused(model.SerializeToString(), r"value 'Y' is produced twice")


def test_values_of_many_axes_refused():
    """A chain of Unsqueezes on the path: refused once a value has more axes than any RNN's."""
    nodes, prev = [], "Ys"
    for k in range(12):
        nodes.append(helper.make_node("Unsqueeze", [prev, "axes0"], [f"u{k}"], name=f"u{k}"))
        prev = f"u{k}"
    data = recurrent_model("LSTM", after=nodes, extra_inits=[init("axes0", [0], np.int64)])
    refused(data, r"Unsqueeze node 'u5' makes a value of 9 axes; at most 8")


# --- onnxruntime runs the whole file: nothing beyond the path, no size the reader did not bound ---


def _with_outputs(data: bytes, *names: str) -> bytes:
    """The model with more graph outputs (values by name, shapes undeclared)."""
    model = onnx.ModelProto.FromString(data)
    model.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    return model.SerializeToString()


def _with_input_shape(data: bytes, name: str, shape: list, dtype: int = TensorProto.FLOAT) -> bytes:
    """The model with graph input `name` declared as `shape` (added when it is not there)."""
    model = onnx.ModelProto.FromString(data)
    kept = [i for i in model.graph.input if i.name != name]
    first = [i for i in model.graph.input if i.name == name]
    del model.graph.input[:]
    model.graph.input.extend([helper.make_tensor_value_info(name, dtype, shape)] if first else [])
    model.graph.input.extend(kept)
    if not first:
        model.graph.input.append(helper.make_tensor_value_info(name, dtype, shape))
    return model.SerializeToString()


def _big(name: str, shape: list[int], value: float = 1.0) -> tuple[onnx.NodeProto, onnx.TensorProto]:
    fill = helper.make_tensor("v", TensorProto.FLOAT, [1], [value])
    return helper.make_node("ConstantOfShape", [f"{name}_shape"], [name], name=name, value=fill), init(
        f"{name}_shape", shape, np.int64
    )


def test_node_computing_another_output_refused():
    """ReduceSum(ConstantOfShape([30000, 30000])) as a second graph output: 3.6 GB onnxruntime
    would allocate in the parity check, although the reader never follows it."""
    big, shape = _big("big", [30000, 30000])
    total = helper.make_node("ReduceSum", ["big"], ["s"], name="sum", keepdims=0)
    data = _with_outputs(recurrent_model("LSTM", extra_nodes_before=[big, total], extra_inits=[shape]), "s")
    err = refused(data, r"graph output 's', computed by ReduceSum node 'sum', is not part of the model")
    assert err.tensor == "s"
    # A chain of MatMuls of it (CPU time rather than memory): the same.
    mm = helper.make_node("MatMul", ["big", "big"], ["m"], name="mm")
    data = _with_outputs(recurrent_model("LSTM", extra_nodes_before=[big, mm], extra_inits=[shape]), "m")
    refused(data, r"graph output 'm', computed by MatMul node 'mm', is not part of the model")


@pytest.mark.parametrize("op", ["ConstantOfShape", "Constant", "Sin"])
def test_dangling_node_refused(op):
    """A node whose output nothing reads: refused by name, whatever it computes."""
    if op == "ConstantOfShape":
        node, extra = _big("big", [30000, 30000])
        extras = [extra]
    elif op == "Constant":
        node, extras = helper.make_node("Constant", [], ["big"], name="big", value_float=1.0), []
    else:
        node, extras = helper.make_node("Sin", ["X"], ["big"], name="big"), []
    data = recurrent_model("LSTM", extra_nodes_before=[node], extra_inits=extras)
    err = refused(data, rf"{op} node 'big' is not on the model's path to output 'out'.*onnxruntime would run it")
    assert err.tensor == "big"


def test_outputs_of_the_path_accepted():
    """Y_h and Y_c of the recurrent node, and a value on the path, may be graph outputs too (a
    model returning y and (h, c)); a value computed from them off the path may not."""
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    rec = next(n for n in model.graph.node if n.op_type == "LSTM")
    rec.output.extend(["Y_h", "Y_c"])
    data = _with_outputs(model.SerializeToString(), "Y_h", "Y_c", "Ys", "X")
    source = onnx_files.read(data, "m.onnx")
    assert source.probe["output_name"] == "out"
    check_parity(data, source)
    model = onnx.ModelProto.FromString(data)
    model.graph.node.append(helper.make_node("Squeeze", ["Y_h", "axes1"], ["h_last"], name="last_state"))
    model.graph.output.append(helper.make_tensor_value_info("h_last", TensorProto.FLOAT, None))
    err = refused(model.SerializeToString(), r"graph output 'h_last', computed by Squeeze node 'last_state'")
    assert err.tensor == "h_last"


def test_zero_state_of_a_huge_shape_refused():
    """A zero initial_h of shape (1, 30000, 30000): 3.6 GB onnxruntime would make; refused
    naming the node and the shape (the node takes (1, batch, hidden_size))."""
    node, shape = _big("h0", [1, 30000, 30000], 0.0)
    err = refused(
        recurrent_model("LSTM", inputs={"initial_h": "h0"}, extra_nodes_before=[node], extra_inits=[shape]),
        r"ConstantOfShape node 'h0', for LSTM node 'rec', takes the shape \(1, 30000, 30000\) "
        r"\(initializer 'h0_shape'\), larger than any this app reads",
    )
    assert err.tensor == "h0_shape"
    # An Expand of a small zero to it: the same.
    expand = helper.make_node("Expand", ["z", "h0_shape"], ["h0"], name="grow")
    err = refused(
        recurrent_model(
            "GRU",
            inputs={"initial_h": "h0"},
            extra_nodes_before=[expand],
            extra_inits=[shape, init("z", np.zeros((1, 1, 1)))],
        ),
        r"Expand node 'grow', for GRU node 'rec', takes the shape \(1, 30000, 30000\)",
    )
    # Zeros of a modest shape that is not the node's: refused naming it (onnxruntime would
    # either refuse or make them).
    node, shape = _big("h0", [1, 3, 50], 0.0)
    err = refused(
        recurrent_model("GRU", inputs={"initial_h": "h0"}, extra_nodes_before=[node], extra_inits=[shape]),
        r"initial_h of GRU node 'rec' is zeros of shape \(1, 3, 50\) \(ConstantOfShape node 'h0'\); the node takes "
        r"\(1, 2, 4\)",
    )
    assert err.tensor == "h0"


def test_zero_state_through_a_huge_value_refused():
    """The right shape in the end, through a value of 40M numbers (a Tile, then a Slice back):
    refused at the Tile, before onnxruntime makes it."""
    nodes = [
        helper.make_node("Tile", ["z", "reps"], ["tiled"], name="tile"),
        helper.make_node("Slice", ["tiled", "starts", "ends", "axes"], ["h0"], name="cut"),
    ]
    inits = [
        init("z", np.zeros((1, 2, H))),
        init("reps", [5000, 1, 2000], np.int64),
        init("starts", [0, 0], np.int64),
        init("ends", [1, H], np.int64),
        init("axes", [0, 2], np.int64),
    ]
    data = recurrent_model("LSTM", inputs={"initial_h": "h0"}, extra_nodes_before=nodes, extra_inits=inits)
    err = refused(
        data,
        r"initial_h of LSTM node 'rec' is computed through Tile node 'tile', which makes zeros of shape "
        r"\(5000, 2, 8000\) \(up to 80000000 numbers\)",
    )
    assert err.tensor == "tile"
    # Tiled 5 x 1 x 1 instead: small, cut back to (1, 2, H), read and run.
    inits[1] = init("reps", [5, 1, 1], np.int64)
    data = recurrent_model("LSTM", inputs={"initial_h": "h0"}, extra_nodes_before=nodes, extra_inits=inits)
    source = onnx_files.read(data, "m.onnx")
    assert source.read["nodes"][0]["initial_h"] == "zeros (z)"
    check_parity(data, source)


@pytest.mark.parametrize(("steps", "batch", "axis"), [(-5, 2, 0), (5, -3, 1), (-1, -1, 0)])
def test_negative_declared_dimension_refused(steps, batch, axis):
    err = refused(
        recurrent_model("LSTM", steps=steps, batch=batch),
        rf"graph input 'X' declares axis {axis} of size -\d; a dimension is at least 0",
    )
    assert err.tensor == "X"


@pytest.mark.parametrize("layout", [0, 1])
def test_fixed_steps_and_batch_bounded(layout):
    """The probe runs the steps and batch the graph input fixes: at most MAX_STEPS and MAX_BATCH
    (the app never runs more steps), at least 1; refused naming the input and the axis."""
    t_axis, b_axis = (0, 1) if layout == 0 else (1, 0)
    assert onnx_files.read(recurrent_model("GRU", layout=layout, steps=limits.MAX_STEPS), "m.onnx").probe["steps"] == (
        limits.MAX_STEPS
    )
    err = refused(
        recurrent_model("GRU", layout=layout, steps=limits.MAX_STEPS + 1),
        rf"graph input 'X' fixes its time axis \(axis {t_axis}\) at {limits.MAX_STEPS + 1}; the app runs 1 to "
        rf"{limits.MAX_STEPS} steps",
    )
    assert err.tensor == "X"
    refused(recurrent_model("GRU", layout=layout, steps=0), rf"fixes its time axis \(axis {t_axis}\) at 0")
    batch = onnx_files.MAX_BATCH
    assert onnx_files.read(recurrent_model("GRU", layout=layout, batch=batch), "m.onnx").probe["batch"] == batch
    refused(
        recurrent_model("GRU", layout=layout, batch=batch + 1),
        rf"graph input 'X' fixes its batch axis \(axis {b_axis}\) at {batch + 1}; the app reads a batch of 1 to {batch}",
    )
    refused(recurrent_model("GRU", layout=layout, batch=2_000_000), rf"fixes axis {b_axis} at 2000000; at most")


def test_extra_inputs_take_the_shape_of_their_role():
    """initial_h (1, batch, hidden) and sequence_lens (batch,) as graph inputs: a declared
    shape that disagrees is refused by name (the parity check would feed it as declared)."""

    def fed(decl, role="initial_h", x_batch=2, dtype=TensorProto.FLOAT):
        data = recurrent_model("LSTM", inputs={role: "extra"}, batch=x_batch)
        return _with_input_shape(data, "extra", decl, dtype)

    err = refused(
        fed([1, 500_000_000, H]),
        r"graph input 'extra' \(initial_h of LSTM node 'rec'\) declares the shape \[1, 500000000, 4\]; "
        r"the node takes \(1, 2, 4\)",
    )
    assert err.tensor == "extra"
    refused(fed([1, 2, H + 1]), r"declares the shape \[1, 2, 5\]; the node takes \(1, 2, 4\)")
    refused(fed([2, H]), r"declares the shape \[2, 4\]; the node takes \(1, 2, 4\)")
    refused(
        fed([3], "sequence_lens", dtype=TensorProto.INT32),
        r"\(sequence_lens of LSTM node 'rec'\) declares the "
        r"shape \[3\]; the node takes \(2,\)",
    )
    refused(fed([2], "sequence_lens"), r"\(sequence_lens of LSTM node 'rec'\) is float32; expected integers")
    # Symbolic dimensions are fed the node's sizes; a free batch is the probe's (None).
    data = fed(["one", "b", "hidden"])
    source = onnx_files.read(data, "m.onnx")
    assert source.probe["extra_inputs"]["extra"]["shape"] == [1, 2, H]
    check_parity(data, source)
    free = _with_input_shape(fed(["one", "b", H], "initial_c"), "X", ["T", "B", D])
    source = onnx_files.read(free, "m.onnx")
    assert source.probe["batch"] is None and source.probe["extra_inputs"]["extra"]["shape"] == [1, None, H]
    check_parity(free, source)
    lens = _with_input_shape(fed(["b"], "sequence_lens", dtype=TensorProto.INT32), "X", ["T", "B", D])
    assert onnx_files.read(lens, "m.onnx").probe["extra_inputs"]["extra"]["shape"] == [None]
    # The sequence's batch free, the state's fixed: they need not agree, refused.
    refused(
        _with_input_shape(fed([1, 2, H]), "X", ["T", "B", D]),
        r"declares the shape \[1, 2, 4\]; the node takes \(1, batch, 4\) \(the batch of the sequence is free\)",
    )
    # One graph input as the sequence and a state: refused.
    refused(recurrent_model("RNN", inputs={"initial_h": "X"}), r"graph input 'X' is both the sequence and initial_h")


def test_sparse_initializer_refused():
    """onnxruntime makes a sparse initializer dense when it loads the file, used or not: 835
    bytes declaring (20000, 20000) cost it 1.6 GB. None is read; every one is refused."""
    model = onnx.ModelProto.FromString(recurrent_model("LSTM"))
    values = helper.make_tensor("sp", TensorProto.FLOAT, [1], [1.0])
    indices = helper.make_tensor("sp_idx", TensorProto.INT64, [1], [0])
    model.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [20000, 20000]))
    err = refused(model.SerializeToString(), r"sparse initializer 'sp' of shape \[20000, 20000\]")
    assert err.tensor == "sp"
