"""ONNX models read with the `onnx` package (never run): one `ModelSource` from the graph.

The graph is walked backwards from a graph output: an optional Softmax or LogSoftmax, a
head (MatMul [+ Add] or Gemm), optionally the last step picked along time (a Gather of -1:
y[:, -1]), the top recurrent node (LSTM, GRU or RNN), each recurrent node's X back to the
one below, and the first one's X back to a graph input, through an embedding (Gather) when
there is one. Between them only ops that move numbers without changing them are accepted
(Transpose, Reshape, Squeeze, Unsqueeze, Identity, Dropout, Cast to a float), and every one
of them is followed axis by axis: each axis carries a label (time, batch, features, or a
unit axis), so a Transpose that swapped time and batch, or a Reshape that merged them, is
refused instead of giving the engine the wrong sequence. Every input of every node on that
path is accounted for: weights are initializers (or Constant nodes), initial states are
zeros of exactly the shape the node takes, (1, batch, hidden_size), or graph inputs, shapes
are constants or computed from the shapes of values on the path. Anything else is refused by
op type and node name, as is every setting the engine does not compute (a lone reverse
layer, other activations, clip, coupled gates, nonzero peepholes, GRU's
linear_before_reset=0). A bidirectional node (direction="bidirectional": W, R, B of
num_directions = 2; Y of shape (T, 2, B, H)) is read when its Y reaches the next layer or the
head as the exporters write it, the direction axis moved next to the units and merged with
them (Transpose + Reshape to (T, B, 2H): both directions side by side, PyTorch's concat);
the Y axes are labelled r{k} (directions) and u{k} (units) until that Reshape makes them
h{k}. A node without B has no biases (none are made up).

The path is the whole graph: the parity check hands the file to onnxruntime, which loads and
runs all of it, so every node must be one the reader walked (the recurrent chain, the
embedding, the head, the softmax, the shape-only ops between, and the nodes computing the
initial states and shapes). A node on no path (dangling, or computing another graph output)
is refused by name, and so is a graph output other than the compared one unless it is a value
of that path (a recurrent node's Y_h or Y_c, say).

The tensors are named for `layouts.to_pytorch(tensors, "onnx")` (layer{k}.W / .R / .B as
the file holds them, both directions in one tensor; no .B without biases; head.weight as
O x H, head.bias) plus `embedding.weight` (V x D).
`probe` tells the parity check how to run the file itself:
    input_name, input_dtype   the graph input holding the sequence, and its numpy dtype
    axes                      one letter per axis of that input: t time, b batch, d features,
                              1 an axis of size one ("tbd", "btd"; token ids "tb", "bt")
    input_shape, steps, batch the declared shape; the steps and batch it fixes (None: free),
                              at least 1 and at most MAX_STEPS steps and a batch of MAX_BATCH
    output_name, output_is    the graph output to compare: "y" (the head's outputs), "probs"
                              (after Softmax), "log_probs" (after LogSoftmax) or "h" (the top
                              layer's output, no head)
    output_axes, output_steps its axes as letters (t, b, o head outputs, h hidden, 1) and
                              whether it holds every step ("all") or the last ("last": no t)
    extra_inputs              other graph inputs to feed: {name: {fill: "zeros" (an initial
                              state) or "steps" (sequence_lens), role, shape, dtype}}; shape is
                              the one its role takes ((1, batch, hidden), or (batch,)) with None
                              for a free batch (the probe's), and the declared shape agrees

Safety: the bytes are parsed as a protobuf (a failure is "not an ONNX model"); external
data (which would read files from this server's disk) is refused by name before anything
else, wherever it hides (initializers, Constant nodes, functions); so are subgraphs (If,
Loop, Scan), more than MAX_ONNX_NODES nodes, and files of millions of tiny entries. Every
tensor's dimensions, declared element count (within MAX_UPLOAD_ELEMENTS) and stored bytes
are checked before numpy_helper.to_array converts it: a 1 KB file can declare gigabytes.
So are the sizes the file makes onnxruntime allocate: every shape the reader evaluates (each
dimension at most MAX_DIM, at most MAX_UPLOAD_ELEMENTS numbers), every value computing a zero
initial state, and the graph input's declared shape (no negative dimension, the time and batch
it fixes within MAX_STEPS and MAX_BATCH).
onnx.checker is not called: it may look for external files relative to a model path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from . import limits
from .model_files import ModelFileError
from .model_source import EMBEDDING, ModelSource

RECURRENT = ("LSTM", "GRU", "RNN")
CELL = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
BLOCKS = {"LSTM": 4, "GRU": 3, "RNN": 1}
# The activations PyTorch's cells compute, as ONNX names them (f, g, h for the LSTM; f, g
# for the GRU; f for the RNN), compared case-insensitively as onnxruntime does.
DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"), "RNN": ("Tanh",)}
ATTRIBUTES = {
    "LSTM": {
        "activation_alpha",
        "activation_beta",
        "activations",
        "clip",
        "direction",
        "hidden_size",
        "input_forget",
        "layout",
    },
    "GRU": {
        "activation_alpha",
        "activation_beta",
        "activations",
        "clip",
        "direction",
        "hidden_size",
        "layout",
        "linear_before_reset",
    },
    "RNN": {"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"},
}
# Ops that pass numbers through unchanged (only their axes may move): accepted between the
# graph input and the first recurrent node, between recurrent nodes, and around the head.
SHAPE_OPS = ("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast")
FLOAT_TYPES = {
    TensorProto.FLOAT: np.float32,
    TensorProto.DOUBLE: np.float64,
    TensorProto.FLOAT16: np.float16,
    TensorProto.BFLOAT16: None,
}
INT_TYPES = {TensorProto.INT64: np.int64, TensorProto.INT32: np.int32}
# Bytes per element of raw_data, and the typed field that holds the numbers otherwise.
ITEMSIZE = {
    TensorProto.FLOAT: 4,
    TensorProto.DOUBLE: 8,
    TensorProto.FLOAT16: 2,
    TensorProto.BFLOAT16: 2,
    TensorProto.INT64: 8,
    TensorProto.INT32: 4,
}
TYPED_FIELD = {
    TensorProto.FLOAT: "float_data",
    TensorProto.DOUBLE: "double_data",
    TensorProto.FLOAT16: "int32_data",  # one uint16 bit pattern per int32
    TensorProto.BFLOAT16: "int32_data",
    TensorProto.INT64: "int64_data",
    TensorProto.INT32: "int32_data",
}
MIN_OPSET = 7  # LSTM/GRU/RNN-7: the current semantics (LSTM-1 had output_sequence)
MAX_DIMS = 8  # a shape constant or a tensor of more dimensions is not part of an RNN model
MAX_SHAPE_DEPTH = 64  # nodes followed to work out a Reshape's target or an initial state
MAX_WORK = 4 * limits.MAX_ONNX_NODES  # nodes visited for all of them together
MAX_NODE_FIELDS = 256  # inputs, outputs or attributes of one node (an RNN node has at most 8 inputs)
# A dimension a shape the reader evaluates may hold (a constant in a shape, a fixed axis of a graph
# input): generous (an RNN model's largest axis is its vocabulary), so that no shape it accepts
# makes onnxruntime allocate more than the model needs; their product is bounded by
# MAX_UPLOAD_ELEMENTS. A graph input may fix its batch at up to MAX_BATCH (its time at MAX_STEPS).
MAX_DIM = 1_000_000
MAX_BATCH = 1_024
# Ops that move or repeat zeros into an initial state (legacy exports build it with
# Shape/Gather/Concat/Expand; dynamo ones with Expand and Slice): followed with their shapes.
ZERO_OPS = (
    "ConstantOfShape",
    "Expand",
    "Identity",
    "Cast",
    "Unsqueeze",
    "Squeeze",
    "Reshape",
    "Transpose",
    "Tile",
    "Slice",
    "Gather",
    "Concat",
)
UNIT = "1"  # the label of an axis of size one that carries nothing (a direction axis, an Unsqueeze)
INT64_MAX = 2**63 - 1

HOW_TO_EXPORT = (
    "Export the PyTorch module with torch.onnx.export(model, (x,), 'model.onnx') (either exporter; for nn.RNN "
    "use dynamo=False, which writes an RNN node)"
)


def _short(name: object, limit: int = 80) -> str:
    """A name from the file, cut short for a message (a hostile file may name a node with a megabyte)."""
    text = str(name)
    return text if len(text) <= limit else text[:limit] + "…"


def parse(data: bytes) -> onnx.ModelProto | None:
    """The ModelProto if the bytes are one: field 1 first (ir_version, a varint: tag 0x08), they
    parse, and there is a graph; else None. Called after the zip/HDF5/safetensors/JSON/pickle
    checks; `read` takes the parsed model, so a file is parsed once."""
    if data[:1] != b"\x08":
        return None
    try:
        model = onnx.ModelProto.FromString(data)
    except Exception:  # protobuf's DecodeError, or anything the parser raises on garbage
        return None
    return model if model.HasField("graph") else None


def looks_like_onnx(data: bytes) -> bool:
    return parse(data) is not None


def read(data: bytes, filename: str, model: onnx.ModelProto | None = None) -> ModelSource:
    """The model in an ONNX file (`model`: already parsed from `data`): its recurrent layers,
    embedding and head, and every setting read; refuses (ModelFileError, naming node and
    attribute) whatever the engine cannot compute."""
    if model is None:
        try:
            model = onnx.ModelProto.FromString(data)
        except Exception as err:
            raise ModelFileError(
                f"{filename}: not an ONNX model (the protobuf does not parse: {_short(err, 200)})"
            ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFileError(f"{filename}: not an ONNX model (it holds no graph with nodes)")
    return _Reader(model, filename).source()


# --- axis labels --------------------------------------------------------------------------
#
# A value on the path is described by one label per axis. Labels are the graph input's axes
# ("x0", "x1", ...), the embedding's width ("d"), each recurrent node's hidden axis ("h0",
# "h1", ...), the head's outputs ("o") and UNIT. `sizes` maps a label to its size when the
# file fixes it (None for a symbolic dimension). The time and batch labels are the graph
# input's axes the first recurrent node reads as time and batch.
#
# A shape computed in the graph (Shape -> Slice/Gather/Concat/Mul -> Reshape) is a list of
# symbolic dimensions: (coefficient, labels) meaning coefficient x the product of the labels'
# sizes. A constant is (value, ()).

Dim = tuple[int, tuple[str, ...]]


class _Reader:
    def __init__(self, model: onnx.ModelProto, filename: str):
        self.model = model
        self.graph = model.graph
        self.filename = filename
        self.elements = 0  # numbers converted so far (against MAX_UPLOAD_ELEMENTS)
        self.sizes: dict[str, int | None] = {UNIT: 1}
        self.labels: dict[str, list[str]] = {}  # value name on the path -> its axis labels
        self.names: dict[str, str] = {}
        self.extra_inputs: dict[str, dict[str, Any]] = {}
        self.time: str | None = None  # the labels the first recurrent node reads as time and batch
        self.batch: str | None = None
        self.cache: dict[tuple[str, bool], np.ndarray] = {}
        self.zero_memo: dict[str, tuple[str, list[Dim]]] = {}
        self.shape_memo: dict[str, tuple[list[Dim], bool] | None] = {}
        # Nodes visited working out initial states and shapes: memoised, and bounded, so a
        # hostile graph of Concats of Concats cannot make the walk exponential.
        self.work = 0
        # The nodes the reader has walked (by id): onnxruntime runs the whole graph in the parity
        # check, so every node of it must be one of these (checked at the end of the read).
        self.used: set[int] = set()
        self.input_name: str | None = None

    # --- errors ---------------------------------------------------------------------------

    def fail(self, msg: str, tensor: str | None = None, status: int = 422) -> ModelFileError:
        return ModelFileError(f"{self.filename}: {msg}", None if tensor is None else _short(tensor, 200), status)

    @staticmethod
    def what(node: onnx.NodeProto) -> str:
        name = node.name or (f"producing {node.output[0]}" if node.output else "")
        return f"{node.op_type} node {_short(name)!r}" if node.name else f"{node.op_type} node ({_short(name)})"

    # --- the whole read -------------------------------------------------------------------

    def source(self) -> ModelSource:
        self._check_graph()
        self._index()
        if not self._recurrent_nodes():
            raise self.fail(f"the graph holds no LSTM, GRU or RNN node{self._unrolled_hint()}")
        out_name, head_steps, top, top_out = self._choose_output()
        chain = self._recurrent_chain(top)
        recurrent = [n for n in self.graph.node if n.op_type in RECURRENT and n.domain in ("", "ai.onnx")]
        on_path = {id(n) for n, _ in chain}
        for node in recurrent:
            if id(node) not in on_path:
                raise self.fail(
                    f"{self.what(node)} is not on the path from the input to output {_short(out_name)!r}; "
                    "expected one chain of recurrent layers",
                    node.name,
                )
        ops = {n.op_type for n, _ in chain}
        if len(ops) > 1:
            raise self.fail(
                f"the recurrent layers mix {', '.join(sorted(ops))}; the engine runs one kind of cell per model"
            )
        if len(chain) > limits.MAX_LAYERS:
            raise self.fail(f"{len(chain)} recurrent layers; at most {limits.MAX_LAYERS}", chain[-1][0].name)
        self._only_the_path(out_name)
        source = self._build(out_name, head_steps, chain, top_out)
        self._all_read(out_name)
        return source

    # --- the whole graph is the path -------------------------------------------------------
    #
    # The parity check hands the whole file to onnxruntime, which loads and may run every node
    # of it, not only the ones this reader follows: a node on no path (dangling, or computing
    # another graph output) is refused by name, so that nothing runs that the reader has not read.

    def _only_the_path(self, out_name: str) -> None:
        """Every node computes the compared output, and every other graph output is a value of
        that computation (a recurrent node's Y, Y_h, Y_c, or a value on the path): by structure,
        before any value is converted."""
        feeding: set[int] = set()  # nodes the compared output is computed from
        values = [out_name]
        seen: set[str] = set()
        while values:
            value = values.pop()
            if value in seen or value not in self.producer:
                continue
            seen.add(value)
            node, _ = self.producer[value]
            if id(node) not in feeding:
                feeding.add(id(node))
                values.extend(i for i in node.input if i)
        read_by = {i for node in self.graph.node if id(node) in feeding for i in node.input if i}
        for output in self.graph.output:
            name = output.name
            if name == out_name or name in read_by:
                continue
            if name in self.producer and id(self.producer[name][0]) in feeding:
                continue
            made_by = f", computed by {self.what(self.producer[name][0])}," if name in self.producer else ""
            raise self.fail(
                f"graph output {_short(name)!r}{made_by} is not part of the model this app reads (output "
                f"{_short(out_name)!r} is compared); onnxruntime would compute it too in the parity check. Export only "
                "the model's outputs (the sequence, or its recurrent layers' last states)",
                name,
            )
        for node in self.graph.node:
            if id(node) not in feeding:
                raise self._off_path(node, out_name)

    def _all_read(self, out_name: str) -> None:
        """Every node was walked by the reader (recurrent chain, embedding, head, softmax, the
        shape-only ops between, and the nodes computing initial states and shapes)."""
        for node in self.graph.node:
            if id(node) not in self.used:
                raise self._off_path(node, out_name)

    def _off_path(self, node: onnx.NodeProto, out_name: str) -> ModelFileError:
        return self.fail(
            f"{self.what(node)} is not on the model's path to output {_short(out_name)!r} as this reader follows it "
            "(the recurrent layers, an embedding, the head and softmax, the shape-only ops between them, and the "
            "nodes computing their zero initial states and shapes); onnxruntime would run it in the parity check. "
            "Export only the model",
            node.name,
        )

    def _use(self, node: onnx.NodeProto) -> None:
        self.used.add(id(node))

    def _check_graph(self) -> None:
        """Node count, subgraphs, external data and opset, before any value is looked at."""
        graph = self.graph
        nodes = len(graph.node) + sum(len(f.node) for f in self.model.functions)
        if nodes > limits.MAX_ONNX_NODES:
            raise self.fail(
                f"the graph has {nodes} nodes; at most {limits.MAX_ONNX_NODES} are read (an exported recurrent model "
                "has a few dozen)",
                status=413,
            )
        # Python loops below visit every initializer, input and attribute: bounded here, so a
        # file of millions of tiny entries is refused at the cost of counting them.
        counts = {
            "initializers": len(graph.initializer) + len(graph.sparse_initializer),
            "graph inputs": len(graph.input),
            "graph outputs": len(graph.output),
        }
        for what, count in counts.items():
            if count > limits.MAX_ONNX_NODES:
                raise self.fail(f"the graph has {count} {what}; at most {limits.MAX_ONNX_NODES} are read", status=413)
        for function in self.model.functions:
            if function.domain in ("", "ai.onnx"):
                raise self.fail(
                    f"the model defines its own function {_short(function.name)!r} in the standard ONNX domain, "
                    "where it could stand for a standard op"
                )
        if len(self.model.training_info):
            raise self.fail("the model carries training_info (a training graph); export the model for inference")
        # Every place a tensor can hide, including functions' bodies: onnxruntime (the parity
        # check) loads the whole file, used or not, so none of it may point at external data.
        every_node = [*graph.node, *(n for f in self.model.functions for n in f.node)]
        for node in every_node:
            if max(len(node.attribute), len(node.input), len(node.output)) > MAX_NODE_FIELDS:
                raise self.fail(
                    f"{self.what(node)} has {len(node.input)} inputs, {len(node.output)} outputs and "
                    f"{len(node.attribute)} attributes; at most {MAX_NODE_FIELDS} of each are read",
                    node.name,
                    status=413,
                )
            for attr in node.attribute:
                if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) or attr.HasField("g") or attr.graphs:
                    raise self.fail(
                        f"{self.what(node)} holds a subgraph (attribute {_short(attr.name)!r}); control flow (If, Loop, "
                        f"Scan) is not part of a recurrent model this app reads. {HOW_TO_EXPORT}",
                        node.name,
                    )
                if len(attr.tensors) > MAX_NODE_FIELDS:
                    raise self.fail(
                        f"{self.what(node)}: attribute {_short(attr.name)!r} holds {len(attr.tensors)} tensors",
                        node.name,
                        status=413,
                    )
                tensors = ([attr.t] if attr.HasField("t") else []) + list(attr.tensors)
                if attr.HasField("sparse_tensor") or attr.sparse_tensors:
                    raise self.fail(
                        f"{self.what(node)}: attribute {_short(attr.name)!r} holds a sparse tensor", node.name
                    )
                for t in tensors:
                    self._check_not_external(t, f"attribute {_short(attr.name)!r} of {self.what(node)}")
        for t in graph.initializer:
            self._check_not_external(t, f"initializer {_short(t.name)!r}")
        for sparse in graph.sparse_initializer:
            self._check_not_external(sparse.values, f"sparse initializer {_short(sparse.values.name)!r}")
            self._check_not_external(sparse.indices, f"sparse initializer {_short(sparse.values.name)!r}")
        if len(graph.sparse_initializer):
            # onnxruntime makes every one dense when it loads the file, used or not: a few bytes
            # declaring (20000, 20000) cost it 1.6 GB. The reader reads none.
            sparse = graph.sparse_initializer[0]
            shape = _short(list(sparse.dims[: MAX_DIMS + 1]))
            raise self.fail(
                f"the graph holds sparse initializer {_short(sparse.values.name)!r} of shape {shape}; this reader "
                "reads dense weights only (onnxruntime would make it dense). Save the weights dense",
                sparse.values.name,
            )
        opsets = {o.domain: o.version for o in self.model.opset_import}
        self.opset = opsets.get("", opsets.get("ai.onnx"))
        if self.opset is None:
            raise self.fail("the model imports no version of the default ONNX operator set (opset_import)")
        if self.opset < MIN_OPSET:
            raise self.fail(
                f"opset {self.opset} is older than {MIN_OPSET}, whose LSTM/GRU/RNN differ from today's; re-export "
                "with a current exporter"
            )

    def _check_not_external(self, t: TensorProto, where: str) -> None:
        if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
            location = next((e.value for e in t.external_data if e.key == "location"), "?")
            raise self.fail(
                f"{where} keeps its data in an external file ({_short(location)!r}); external data is never read "
                "(it would read files on this server). Save the model with its weights inside: "
                "onnx.save_model(model, 'model.onnx', save_as_external_data=False)",
                t.name,
            )

    def _index(self) -> None:
        graph = self.graph
        self.inits: dict[str, TensorProto] = {}
        for t in graph.initializer:
            if t.name in self.inits:
                raise self.fail(f"initializer {_short(t.name)!r} is defined twice", t.name)
            self.inits[t.name] = t
        self.sparse = {s.values.name for s in graph.sparse_initializer}
        # Graph inputs that are not initializers (an initializer listed as an input, as IR < 4
        # wrote them, is a constant with a default the caller may override: read as a constant).
        self.inputs = {i.name: i for i in graph.input if i.name not in self.inits}
        if len({i.name for i in graph.input}) != len(graph.input):
            raise self.fail("two graph inputs have the same name")
        self.producer: dict[str, tuple[onnx.NodeProto, int]] = {}
        for node in graph.node:
            for k, out in enumerate(node.output):
                if not out:
                    continue
                if out in self.producer or out in self.inits or out in self.inputs:
                    raise self.fail(f"value {_short(out)!r} is produced twice (by {self.what(node)} and before)", out)
                self.producer[out] = (node, k)
        self.outputs = [o.name for o in graph.output]

    # --- values: constants, with their sizes checked before conversion -------------------

    def _constant_tensor(self, name: str) -> tuple[TensorProto | None, str]:
        """The TensorProto behind `name` (an initializer or a Constant node's value) and where it is."""
        if name in self.inits:
            return self.inits[name], f"initializer {_short(name)!r}"
        if name in self.sparse:
            raise self.fail(f"{_short(name)!r} is a sparse initializer; expected a dense one", name)
        if name in self.producer:
            node, _ = self.producer[name]
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                return None, f"Constant node {_short(node.name or name)!r}"
        return None, ""

    def is_constant(self, name: str) -> bool:
        if name in self.inits:
            return True
        node = self.producer.get(name, (None, 0))[0]
        return node is not None and node.op_type == "Constant" and node.domain in ("", "ai.onnx")

    def constant(self, name: str, purpose: str, *, ints: bool = False, max_dims: int = 3) -> np.ndarray:
        """An initializer or a Constant node as float64 (or int64 with `ints`), every size checked first.

        Each is converted (and counted against the element budget) once, however often it is used.
        """
        key = (name, ints)
        if key not in self.cache:
            self.cache[key] = self._constant(name, purpose, ints, max_dims)
        arr = self.cache[key]
        if arr.ndim > max_dims:
            raise self.fail(
                f"{_short(name)!r} ({purpose}) has {arr.ndim} dimensions; expected at most {max_dims}", name
            )
        return arr

    def _constant(self, name: str, purpose: str, ints: bool, max_dims: int) -> np.ndarray:
        tensor, where = self._constant_tensor(name)
        if tensor is not None:
            return self._tensor(tensor, where, purpose, ints, max_dims)
        if not where:
            raise self.fail(f"{purpose} {_short(name)!r} is not a constant (an initializer or a Constant node)", name)
        node = self.producer[name][0]
        self._use(node)
        attrs = {a.name: a for a in node.attribute}
        if len(attrs) != 1:
            raise self.fail(f"{where} has attributes {sorted(attrs)}; expected exactly one value", node.name)
        attr = next(iter(attrs.values()))
        if attr.name == "value":
            return self._tensor(attr.t, where, purpose, ints, max_dims)
        if (attr.name in ("value_float", "value_floats") and not ints) or (
            attr.name in ("value_int", "value_ints") and ints
        ):
            count = len(attr.floats) + len(attr.ints) + 1
            if self.elements + count > limits.MAX_UPLOAD_ELEMENTS:
                raise self.fail(
                    f"{where} holds {count} numbers; a model may hold at most {limits.MAX_UPLOAD_ELEMENTS}",
                    node.name,
                    status=413,
                )
            self.elements += count
            return np.asarray(helper.get_attribute_value(attr), dtype=np.int64 if ints else np.float64)
        raise self.fail(
            f"{where} holds {attr.name}; expected {'integers' if ints else 'numbers'} for {purpose}", node.name
        )

    def _tensor(self, t: TensorProto, where: str, purpose: str, ints: bool, max_dims: int) -> np.ndarray:
        accepted = INT_TYPES if ints else FLOAT_TYPES
        if t.data_type not in accepted:
            kind = "int64 or int32" if ints else "float32, float64, float16 or bfloat16"
            type_name = (
                TensorProto.DataType.Name(t.data_type) if t.data_type in TensorProto.DataType.values() else t.data_type
            )
            raise self.fail(f"{where} ({purpose}) has data type {type_name}; expected {kind}", t.name)
        dims = list(t.dims)
        if len(dims) > max_dims or any(d < 0 for d in dims):
            raise self.fail(
                f"{where} ({purpose}) declares dimensions {_short(dims)}; expected at most {max_dims} non-negative ones",
                t.name,
            )
        count = math.prod(dims)
        if self.elements + count > limits.MAX_UPLOAD_ELEMENTS:
            raise self.fail(
                f"{where} ({purpose}) declares {_short(dims)} = {count} numbers, bringing the model to "
                f"{self.elements + count}; a model may hold at most {limits.MAX_UPLOAD_ELEMENTS}",
                t.name,
                status=413,
            )
        if t.HasField("segment"):
            raise self.fail(f"{where} is stored in segments; expected one whole tensor", t.name)
        field_name = "raw_data" if t.raw_data else TYPED_FIELD[t.data_type]
        for other in {*TYPED_FIELD.values(), "raw_data", "string_data", "uint64_data"} - {field_name}:
            if len(getattr(t, other)):
                raise self.fail(f"{where} stores numbers in {other}, which its data type does not use here", t.name)
        if field_name == "raw_data":
            stored, needed, unit = len(t.raw_data), count * ITEMSIZE[t.data_type], "bytes"
        else:
            stored, needed, unit = len(getattr(t, field_name)), count, f"numbers in {field_name}"
        if stored != needed:
            raise self.fail(
                f"{where} ({purpose}) declares {_short(dims)} ({count} numbers: {needed} {unit}) but stores {stored}",
                t.name,
            )
        self.elements += count
        try:
            arr = numpy_helper.to_array(t)
        except Exception as err:
            raise self.fail(f"{where} could not be read ({_short(err, 200)})", t.name) from None
        if ints:
            return arr.astype(np.int64)
        arr = np.asarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise self.fail(f"{where} ({purpose}) holds NaN or infinite values", t.name)
        return arr

    def _attribute(self, node: onnx.NodeProto, name: str, kind: int, what: str) -> AttributeProto | None:
        """The node's attribute `name`, which must be of `kind` (an AttributeProto type), or None."""
        for a in node.attribute:
            if a.name == name:
                if a.type != kind:
                    raise self.fail(f"{self.what(node)}: attribute {name} is not {what}", node.name)
                return a
        return None

    def _int_attr(self, node: onnx.NodeProto, name: str, default: int | None) -> int | None:
        a = self._attribute(node, name, AttributeProto.INT, "an integer")
        return default if a is None else a.i

    def _ints_attr(self, node: onnx.NodeProto, name: str) -> list[int] | None:
        a = self._attribute(node, name, AttributeProto.INTS, "a list of integers")
        return None if a is None else list(a.ints)

    def _float_attr(self, node: onnx.NodeProto, name: str, default: float) -> float:
        a = self._attribute(node, name, AttributeProto.FLOAT, "a number")
        return default if a is None else a.f

    def _string_attr(self, node: onnx.NodeProto, name: str, default: str) -> str:
        a = self._attribute(node, name, AttributeProto.STRING, "a string")
        return default if a is None else a.s.decode("utf-8", "replace")

    def _strings_attr(self, node: onnx.NodeProto, name: str) -> list[str] | None:
        a = self._attribute(node, name, AttributeProto.STRINGS, "a list of strings")
        return None if a is None else [t.decode("utf-8", "replace") for t in a.strings]

    # --- the output end: softmax, head, and the top recurrent node ------------------------

    def _choose_output(self) -> tuple[str, list[onnx.NodeProto], onnx.NodeProto, str]:
        """The graph output computed from the top recurrent node's Y, and the nodes between."""
        if not self.outputs:
            raise self.fail("the graph has no outputs")
        found, first_error = [], None
        for name in self.outputs:
            try:
                nodes, top, top_out = self._walk_back_from_output(name)
            except ModelFileError as err:
                first_error = first_error or err
                continue
            has_head = any(n.op_type in ("MatMul", "Gemm") for n in nodes)
            found.append((not has_head, name, nodes, top, top_out))
        if not found:
            raise first_error  # type: ignore[misc]
        # Prefer an output through a head (a model returning both y and the RNN's output).
        found.sort(key=lambda f: f[0])
        _, name, nodes, top, top_out = found[0]
        return name, nodes, top, top_out

    def _walk_back_from_output(self, name: str) -> tuple[list[onnx.NodeProto], onnx.NodeProto, str]:
        """The nodes from the top recurrent node's Y to output `name` (forward order), that node and Y.

        An op the head cannot hold is walked through when it has one computed input, so that
        the refusal (in _follow_head) can say where it sits: before or after the head.
        """
        nodes: list[onnx.NodeProto] = []
        unknown: onnx.NodeProto | None = None
        value = name
        for _ in range(limits.MAX_ONNX_NODES + 1):
            if value in self.inputs or self.is_constant(value) or value not in self.producer:
                if unknown is not None:
                    raise self._not_on_path(unknown, f"output {_short(name)!r}")
                raise self.fail(f"output {_short(name)!r} is not computed from an LSTM, GRU or RNN node", name)
            node, index = self.producer[value]
            if node.domain not in ("", "ai.onnx"):
                raise self.fail(
                    f"{self.what(node)} of domain {_short(node.domain)!r} is on the path to output {_short(name)!r}; "
                    "only standard ONNX ops are read",
                    node.name,
                )
            if node.op_type in RECURRENT:
                if index != 0:
                    raise self.fail(
                        f"output {_short(name)!r} is computed from {'Y_h' if index == 1 else 'Y_c'} (the last state) of "
                        f"{self.what(node)}; this reader follows Y, the output at every step. Return the sequence, or "
                        "its last step y[:, -1] (the same numbers for a forward layer)",
                        node.name,
                    )
                nodes.reverse()
                return nodes, node, value
            value = self._data_input(node, f"output {_short(name)!r}")
            if node.op_type not in (*SHAPE_OPS, "Softmax", "LogSoftmax", "Gemm", "Gather", "MatMul", "Add"):
                unknown = node
            nodes.append(node)
        raise self.fail(f"output {_short(name)!r}: the path to it loops")

    def _recurrent_nodes(self) -> list[onnx.NodeProto]:
        return [n for n in self.graph.node if n.op_type in RECURRENT]

    def _unrolled_hint(self) -> str:
        ops = {n.op_type for n in self.graph.node}
        if {"Tanh", "Relu", "Sigmoid"} & ops and ({"MatMul", "Gemm"} & ops):
            return (
                "; it computes the recurrence step by step (MatMul and Tanh/Relu for each step), as PyTorch's "
                "dynamo exporter writes nn.RNN: export with torch.onnx.export(..., dynamo=False), which writes one RNN node"
            )
        return ""

    def _data_input(self, node: onnx.NodeProto, where: str) -> str:
        """The input of a node on the output path that carries the data (the others must be constants)."""
        op = node.op_type
        if op in SHAPE_OPS or op in ("Softmax", "LogSoftmax", "Gemm", "Gather"):
            if not node.input or not node.input[0]:
                raise self.fail(f"{self.what(node)} has no data input", node.name)
            return node.input[0]
        computed = [i for i in node.input if i and not self.is_constant(i)]
        if op in ("MatMul", "Add") and len(computed) != 1:
            raise self.fail(
                f"{self.what(node)} on the path to {where} combines {len(computed)} computed values; a head "
                "multiplies by and adds constants (initializers)",
                node.name,
            )
        if len(computed) != 1:
            raise self._not_on_path(node, where)
        return computed[0]

    def _not_on_path(self, node: onnx.NodeProto, where: str) -> ModelFileError:
        return self.fail(
            f"{self.what(node)} is on the path to {where}; between the recurrent layers and the output only "
            "shape-only ops (Transpose, Reshape, Squeeze, Unsqueeze, Identity, Dropout, Cast), one linear head "
            "(MatMul + Add, or Gemm) and a final Softmax are computed by the engine",
            node.name,
        )

    # --- the recurrent chain --------------------------------------------------------------

    def _recurrent_chain(self, top: onnx.NodeProto) -> list[tuple[onnx.NodeProto, list[onnx.NodeProto]]]:
        """[(recurrent node, the shape-only nodes from the layer below's Y to its X)], bottom first.

        For the bottom node the nodes start at the graph input or the embedding's output;
        which of the two is kept in self.first_source.
        """
        chain: list[tuple[onnx.NodeProto, list[onnx.NodeProto]]] = []
        node = top
        seen = set()
        while True:
            if id(node) in seen or len(chain) > limits.MAX_LAYERS:
                raise self.fail(
                    f"more than {limits.MAX_LAYERS} recurrent layers (or a loop) below {self.what(top)}", top.name
                )
            seen.add(id(node))
            if len(node.input) < 3 or not node.input[0]:
                raise self.fail(f"{self.what(node)} has no X, W or R input", node.name)
            between: list[onnx.NodeProto] = []
            value = node.input[0]
            for _ in range(limits.MAX_ONNX_NODES + 1):
                if value in self.inputs:
                    chain.append((node, list(reversed(between))))
                    chain.reverse()
                    self.first_source = ("input", value, None)
                    return chain
                if value not in self.producer:
                    raise self.fail(
                        f"the input X of {self.what(node)} is a constant ({_short(value)!r}); expected it to come "
                        "from a graph input",
                        node.name,
                    )
                producer, index = self.producer[value]
                if producer.op_type in RECURRENT and producer.domain in ("", "ai.onnx"):
                    if index != 0:
                        raise self.fail(
                            f"{self.what(node)} reads {'Y_h' if index == 1 else 'Y_c'} of {self.what(producer)}; a "
                            "stacked layer reads the layer below's output Y at every step",
                            node.name,
                        )
                    chain.append((node, list(reversed(between))))
                    node = producer
                    break
                if producer.op_type == "Gather" and producer.domain in ("", "ai.onnx") and self._is_embedding(producer):
                    chain.append((node, list(reversed(between))))
                    chain.reverse()
                    self.first_source = ("embedding", self._ids_input(producer), producer)
                    return chain
                if producer.op_type not in SHAPE_OPS or producer.domain not in ("", "ai.onnx"):
                    hint = (
                        "; a Concat of two directions' outputs is a bidirectional layer, which the engine does not run"
                        if producer.op_type == "Concat"
                        else ""
                    )
                    raise self.fail(
                        f"{self.what(producer)} computes the input X of {self.what(node)}; between the input and a "
                        "recurrent layer, and between layers, only shape-only ops (Transpose, Reshape, Squeeze, "
                        f"Unsqueeze, Identity, Dropout, Cast) and one embedding (Gather) are read{hint}",
                        producer.name,
                    )
                between.append(producer)
                value = producer.input[0] if producer.input else ""
            else:
                raise self.fail(f"the path to {self.what(node)} loops", node.name)

    def _ids_input(self, gather: onnx.NodeProto) -> str:
        """The graph input the embedding's indices come from, through shape-only ops (a Cast)."""
        value = gather.input[1]
        for _ in range(limits.MAX_ONNX_NODES + 1):
            if value in self.inputs:
                return value
            producer = self.producer.get(value)
            if producer is None or producer[0].op_type not in SHAPE_OPS or not producer[0].input:
                what = self.what(producer[0]) if producer else f"constant {_short(value)!r}"
                raise self.fail(
                    f"the indices of {self.what(gather)} come from {what}, not from a graph input through shape-only ops",
                    gather.name,
                )
            value = producer[0].input[0]
        raise self.fail(f"the path to {self.what(gather)} loops", gather.name)

    def _is_embedding(self, node: onnx.NodeProto) -> bool:
        return len(node.input) == 2 and self.is_constant(node.input[0]) and not self.is_constant(node.input[1])

    # --- building the ModelSource ---------------------------------------------------------

    def _build(
        self,
        out_name: str,
        head_nodes: list[onnx.NodeProto],
        chain: list[tuple[onnx.NodeProto, list[onnx.NodeProto]]],
        top_out: str,
    ) -> ModelSource:
        op = chain[0][0].op_type
        tensors: dict[str, np.ndarray] = {}
        read: dict[str, Any] = {
            "producer_name": _short(self.model.producer_name, 200),
            "producer_version": _short(self.model.producer_version, 200),
            "ir_version": self.model.ir_version,
            "opset": self.opset,
            "cell": CELL[op],
            "num_layers": len(chain),
            "embedding": None,
        }
        probe: dict[str, Any] = {}

        # The input end: the graph input, an embedding, and the bottom node's X.
        kind, input_name, gather = self.first_source
        self.input_name = input_name
        graph_input = self.inputs[input_name]
        in_labels = self._declare_input(graph_input)
        in_dtype = self._input_dtype(graph_input)
        first, first_path = chain[0]
        if kind == "embedding":
            if np.dtype(in_dtype).kind not in "iu":
                raise self.fail(
                    f"graph input {_short(input_name)!r} ({in_dtype}) feeds the indices of {self.what(gather)}; "
                    "token ids are integers",
                    input_name,
                )
            ids_path = self._path_between(input_name, gather.input[1], gather)
            labels = self._follow(ids_path, in_labels, ids=True)
            table = self.constant(gather.input[0], f"the embedding table of {self.what(gather)}", max_dims=2)
            axis = self._int_attr(gather, "axis", 0)
            if table.ndim != 2 or axis != 0:
                raise self.fail(
                    f"{self.what(gather)} looks up rows of a {table.ndim}-D table along axis {axis}; an embedding is "
                    "a (vocabulary x width) table read along axis 0",
                    gather.name,
                )
            if table.shape[0] > limits.MAX_VOCAB:
                raise self.fail(
                    f"the embedding table {_short(gather.input[0])!r} has {table.shape[0]} rows; at most {limits.MAX_VOCAB}",
                    gather.input[0],
                    status=413,
                )
            self._use(gather)
            tensors[EMBEDDING] = table
            self.names[EMBEDDING] = self._where_constant(gather.input[0])
            self.sizes["d"] = table.shape[1]
            labels = [*labels, "d"]
            read["embedding"] = {"node": _short(gather.name), "vocab_size": table.shape[0], "width": table.shape[1]}
            self.labels[gather.output[0]] = labels
            x_labels = self._follow(first_path, labels)
        else:
            if np.dtype(in_dtype).kind != "f":
                raise self.fail(
                    f"graph input {_short(input_name)!r} is {in_dtype} and feeds {self.what(first)} without an "
                    "embedding; expected float numbers",
                    input_name,
                )
            x_labels = self._follow(first_path, in_labels)

        layers = []
        below_hidden: str | None = None
        time = batch = None
        for k, (node, path) in enumerate(chain):
            if k > 0:
                x_labels = self._follow(path, self.labels[chain[k - 1][0].output[0]])
            info, layer_tensors = self._recurrent(node, k)
            self._use(node)
            layout = info["layout"]
            if len(x_labels) != 3:
                raise self.fail(
                    f"{self.what(node)} receives X with {len(x_labels)} axes; expected 3 (time, batch, features)",
                    node.name,
                )
            t_label, b_label, f_label = (
                (x_labels[0], x_labels[1], x_labels[2]) if layout == 0 else (x_labels[1], x_labels[0], x_labels[2])
            )
            if k == 0:
                time, batch = self.time, self.batch = t_label, b_label
                if time in (UNIT, "d", batch):
                    raise self.fail(
                        f"{self.what(node)}'s time axis (axis {0 if layout == 0 else 1} of X) is not an axis of graph "
                        f"input {_short(input_name)!r}; cannot tell which axis holds the steps",
                        node.name,
                    )
                expected_feature = "d" if kind == "embedding" else None
                if expected_feature and f_label != "d":
                    raise self.fail(
                        f"{self.what(node)}'s features (axis 2 of X) are not the embedding's width", node.name
                    )
                if not expected_feature and f_label not in in_labels and f_label != UNIT:
                    raise self.fail(
                        f"{self.what(node)}'s features (axis 2 of X) are not an axis of the input", node.name
                    )
                self._check_probe_sizes(graph_input, in_labels)
            else:
                if t_label != time or f_label != below_hidden or not self._same_batch(b_label, batch):
                    raise self.fail(
                        f"{self.what(node)} receives the layer below's output with its axes moved (time, batch, "
                        f"features arrive as {self._describe(x_labels, time, batch)}); its X must be the output Y of "
                        "the layer below, reshaped only to drop the direction axis",
                        node.name,
                    )
            width = layer_tensors["W"].shape[2]
            if self.sizes.get(f_label) not in (None, width):
                raise self.fail(
                    f"{self.what(node)}: its W expects {width} input features; X has {self.sizes[f_label]}", node.name
                )
            hidden = f"h{k}"
            both = info["direction"] == "bidirectional"
            self.sizes[hidden] = info["hidden_size"] * (2 if both else 1)
            below_hidden = hidden
            # Initial states and sequence_lens, now that the batch is known: their shapes are checked.
            info.update(self._states(node, info["hidden_size"], layout))
            # Y: (T, num_directions, B, H) for layout 0, (B, T, num_directions, H) for layout 1. Both
            # directions: the axes r{k} (2) and u{k} (H), which a Reshape merges into h{k} (2H).
            y = node.output[0]
            dirs, units = UNIT, hidden
            if both:
                dirs, units = f"r{k}", f"u{k}"
                self.sizes[dirs], self.sizes[units] = 2, info["hidden_size"]
            self.labels[y] = [time, dirs, batch, units] if layout == 0 else [batch, time, dirs, units]
            for role, arr in layer_tensors.items():
                tensors[f"layer{k}.{role}"] = arr
            layers.append(info)
        read["nodes"] = layers

        # The output end.
        labels = self._follow_head(head_nodes, self.labels[top_out], time, batch, tensors, read)
        if any(label[:1] in ("r", "u") and label[1:].isdigit() for label in labels):
            raise self.fail(
                f"output {_short(out_name)!r} keeps a bidirectional layer's two directions on an axis of their own "
                f"(axes {self._describe(labels, time, batch)}); the engine hands up both directions side by side, "
                "as PyTorch's module does ((steps, batch, 2·hidden)): export the module's output",
                out_name,
            )
        declared = next(o for o in self.graph.output if o.name == out_name)
        dims = self._declared_dims(declared)
        # The output's declared shape, when there is one, must agree with the axes followed.
        if dims is not None and (
            len(dims) != len(labels)
            or any(
                isinstance(d, int) and self.sizes.get(label) not in (None, d)
                for d, label in zip(dims, labels, strict=False)
            )
        ):
            raise self.fail(
                f"output {_short(out_name)!r} declares the shape {dims}; following the graph gives the axes "
                f"{self._describe(labels, time, batch)} of sizes {[self.sizes.get(label) for label in labels]}; "
                "cannot tell which axis is which",
                out_name,
            )

        steps = read["output_steps"]
        softmax = read.get("softmax")
        directions = {n["direction"] for n in layers}
        if len(directions) > 1:
            raise self.fail(
                "some recurrent nodes are bidirectional and some are not; the engine's stack runs both directions "
                "in every layer or in none"
            )
        biased = {n["bias"] for n in layers}
        if len(biased) > 1:
            raise self.fail(
                "some recurrent nodes have biases (B) and some have none; the engine's stack has biases in every "
                "layer or in none (absent ones are never made up as zeros)"
            )
        has_head = "head.weight" in tensors
        nonlinearities = {n["activations"][0].lower() for n in layers} if op == "RNN" else {"tanh"}
        if len(nonlinearities) > 1:
            raise self.fail("the RNN layers use different activations (Tanh and Relu); the engine uses one for all")
        probe.update(
            input_name=input_name,
            input_dtype=in_dtype,
            axes=self._axes(in_labels, time, batch, kind),
            input_shape=self._declared_dims(graph_input),
            steps=self.sizes.get(time),
            batch=self.sizes.get(batch) if batch != UNIT else 1,
            output_name=out_name,
            output_is=("log_probs" if softmax == "LogSoftmax" else "probs") if softmax else ("y" if has_head else "h"),
            output_axes=self._describe(labels, time, batch),
            output_steps=steps,
            extra_inputs=dict(self.extra_inputs),
        )
        return ModelSource(
            tensors=tensors,
            layout="onnx",
            framework="onnx",
            format="onnx",
            read=read,
            names=dict(self.names),
            nonlinearity=nonlinearities.pop(),
            input_kind="tokens" if kind == "embedding" else "numbers",
            output_kind=("logits" if softmax else "values") if has_head else None,
            output_steps=steps,
            probe=probe,
            configured=True,  # every node states its activations
        )

    def _same_batch(self, label: str, batch: str | None) -> bool:
        # A batch axis of size one may come back as a unit axis from a Reshape (same numbers).
        return label == batch or (label == UNIT and self.sizes.get(batch or "") == 1)

    def _describe(self, labels: list[str], time: str | None, batch: str | None) -> str:
        """Axis labels as letters: t time, b batch, h hidden, o head outputs, d features, 1 a unit axis."""
        out = []
        for label in labels:
            if label == UNIT:  # first: a batch that is no axis of the input (batch == UNIT) is a unit too
                out.append("1")
            elif label == time:
                out.append("t")
            elif label == batch:
                out.append("b")
            elif label.startswith("h"):
                out.append("h")
            elif label[:1] in ("r", "u") and label[1:].isdigit():
                out.append("2" if label[0] == "r" else "u")  # a bidirectional node's directions, units
            else:
                out.append({"o": "o", "d": "d"}.get(label, "d"))
        return "".join(out)

    def _words(self, label: str) -> str:
        """A label for people, in a message."""
        if label == self.time:
            return "time"
        if label == self.batch:
            return "batch"
        if label.startswith("x"):
            return f"axis {label[1:]} of the input"
        if label.startswith("h"):
            return "hidden units"
        if label[:1] == "r" and label[1:].isdigit():
            return "a bidirectional layer's two directions"
        if label[:1] == "u" and label[1:].isdigit():
            return "one direction's hidden units"
        return {UNIT: "a unit axis", "o": "the head's outputs", "d": "the embedding's width"}.get(label, label)

    def _axes(self, in_labels: list[str], time: str, batch: str, kind: str) -> str:
        axes = ""
        for label in in_labels:
            if label == time:
                axes += "t"
            elif label == batch:
                axes += "b"
            elif self.sizes.get(label) == 1:
                axes += "1"
            elif kind != "embedding":
                axes += "d"
            else:
                raise self.fail(f"axis {in_labels.index(label)} of the token ids is neither time nor batch")
        if kind != "embedding" and axes.count("d") > 1:
            raise self.fail("cannot tell which axis of the input holds the features")
        return axes

    def _declare_input(self, value: onnx.ValueInfoProto) -> list[str]:
        dims = self._declared_dims(value)
        if dims is None:
            raise self.fail(
                f"graph input {_short(value.name)!r} declares no shape; cannot tell which axis is time", value.name
            )
        labels = []
        for k, d in enumerate(dims):
            if isinstance(d, int) and d > MAX_DIM:
                raise self.fail(
                    f"graph input {_short(value.name)!r} fixes axis {k} at {d}; at most {MAX_DIM} (the time axis at "
                    f"{limits.MAX_STEPS}, the batch at {MAX_BATCH})",
                    value.name,
                )
            label = f"x{k}"
            self.sizes[label] = d if isinstance(d, int) else None
            labels.append(label)
        self.labels[value.name] = labels
        return labels

    def _check_probe_sizes(self, value: onnx.ValueInfoProto, in_labels: list[str]) -> None:
        """The time and batch the graph input fixes, which the parity check's probe takes: at least
        one, and no more than the app runs (MAX_STEPS steps) or a batch of MAX_BATCH."""
        bounds = (
            (self.time, "time", limits.MAX_STEPS, "the app runs 1 to {} steps"),
            (self.batch, "batch", MAX_BATCH, "the app reads a batch of 1 to {}"),
        )
        for label, what, most, says in bounds:
            size = self.sizes.get(label or "")
            if label == UNIT or label not in in_labels or size is None:
                continue
            if not 1 <= size <= most:
                raise self.fail(
                    f"graph input {_short(value.name)!r} fixes its {what} axis (axis {in_labels.index(label)}) at "
                    f"{size}; {says.format(most)}. Export with a smaller example, or with that axis dynamic "
                    "(dynamic_axes, dynamic_shapes)",
                    value.name,
                )

    def _declared_dims(self, value: onnx.ValueInfoProto) -> list[int | str | None] | None:
        t = value.type
        if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
            return None
        if len(t.tensor_type.shape.dim) > MAX_DIMS:
            raise self.fail(
                f"{_short(value.name)!r} declares {len(t.tensor_type.shape.dim)} axes; at most {MAX_DIMS}", value.name
            )
        dims: list[int | str | None] = []
        for k, d in enumerate(t.tensor_type.shape.dim):
            if d.HasField("dim_value"):
                if d.dim_value < 0:
                    what = "graph input" if value.name in self.inputs else "graph output"
                    raise self.fail(
                        f"{what} {_short(value.name)!r} declares axis {k} of size {d.dim_value}; a dimension is at least 0",
                        value.name,
                    )
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(_short(d.dim_param, 40))
            else:
                dims.append(None)
        return dims

    def _input_dtype(self, value: onnx.ValueInfoProto) -> str:
        elem = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else 0
        try:
            return np.dtype(helper.tensor_dtype_to_np_dtype(elem)).name
        except Exception:
            raise self.fail(f"graph input {_short(value.name)!r} has element type {elem}", value.name) from None

    def _where_constant(self, name: str) -> str:
        if name in self.inits:
            return _short(name, 200)
        node = self.producer[name][0]
        return f"Constant node {_short(node.name or name, 200)}"

    def _path_between(self, source: str, target: str, consumer: onnx.NodeProto) -> list[onnx.NodeProto]:
        """The shape-only nodes from value `source` to value `target` (the token ids' way to the Gather)."""
        nodes: list[onnx.NodeProto] = []
        value = target
        for _ in range(limits.MAX_ONNX_NODES + 1):
            if value == source:
                return list(reversed(nodes))
            producer = self.producer.get(value)
            if producer is None or producer[0].op_type not in SHAPE_OPS:
                what = self.what(producer[0]) if producer else _short(value)
                raise self.fail(
                    f"the indices of {self.what(consumer)} come from {what}, not from graph input {_short(source)!r} "
                    "through shape-only ops",
                    consumer.name,
                )
            nodes.append(producer[0])
            value = producer[0].input[0]
        raise self.fail(f"the path to {self.what(consumer)} loops", consumer.name)

    # --- one recurrent node ---------------------------------------------------------------

    def _recurrent(self, node: onnx.NodeProto, k: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        op = node.op_type
        where = self.what(node)
        attrs = {a.name: a for a in node.attribute}
        for name in attrs:
            if name not in ATTRIBUTES[op]:
                raise self.fail(f"{where} has attribute {_short(name)!r}, which {op} does not define", node.name)
        direction = self._string_attr(node, "direction", "forward")
        if direction not in ("forward", "bidirectional"):
            raise self.fail(
                f"{where} has direction={_short(direction)!r}: alone, a layer reading the sequence backwards answers "
                "in reversed step order, which the engine does not compute; a reverse direction is read as half of a "
                "bidirectional node (direction='bidirectional', PyTorch's bidirectional=True)",
                node.name,
            )
        dirs = 2 if direction == "bidirectional" else 1
        activations = self._strings_attr(node, "activations")
        defaults = DEFAULT_ACTIVATIONS[op] * dirs  # ONNX lists them per direction, forward first
        nonlinearity = "tanh"
        if activations is not None:
            lowered = tuple(a.lower() for a in activations)
            if op == "RNN" and lowered == ("relu",) * dirs:
                nonlinearity = "relu"
            elif lowered != tuple(a.lower() for a in defaults):
                allowed = ", ".join(defaults) + (" (or Relu)" if op == "RNN" else "")
                raise self.fail(
                    f"{where} has activations={[_short(a, 20) for a in activations]}; the engine computes "
                    f"{op} with {allowed} only",
                    node.name,
                )
        for name in ("activation_alpha", "activation_beta"):
            if name in attrs:
                raise self.fail(
                    f"{where} has {name}: the engine's activations take no parameters (it computes PyTorch's cells)",
                    node.name,
                )
        if "clip" in attrs:
            raise self.fail(
                f"{where} has clip={self._float_attr(node, 'clip', 0.0)}: the engine does not clip the cell's inputs "
                "(PyTorch does not); export without clip",
                node.name,
            )
        if op == "LSTM" and self._int_attr(node, "input_forget", 0) != 0:
            raise self.fail(
                f"{where} has input_forget=1 (the input gate coupled to the forget gate), which the engine (like "
                "PyTorch) does not compute",
                node.name,
            )
        layout = self._int_attr(node, "layout", 0)
        if layout not in (0, 1):
            raise self.fail(f"{where} has layout={layout}; expected 0 (time first) or 1 (batch first)", node.name)
        linear_before_reset = None
        if op == "GRU":
            linear_before_reset = self._int_attr(node, "linear_before_reset", None)
            if linear_before_reset != 1:
                said = (
                    "is absent (so ONNX's default 0 applies)"
                    if linear_before_reset is None
                    else f"is {linear_before_reset}"
                )
                raise self.fail(
                    f"{where}: linear_before_reset {said}; linear_before_reset=0 applies the reset gate before the "
                    "recurrent product, which this engine (like PyTorch) does not compute. Export from PyTorch "
                    "(which writes linear_before_reset=1)",
                    node.name,
                )

        defined = 8 if op == "LSTM" else 6  # X W R B sequence_lens initial_h [initial_c P]
        if len(node.input) > defined:
            raise self.fail(f"{where} has {len(node.input)} inputs; {op} defines {defined}", node.name)
        inputs = list(node.input) + [""] * (8 - len(node.input))
        blocks = BLOCKS[op]
        w = self.constant(inputs[1], f"W of {where}")
        r = self.constant(inputs[2], f"R of {where}")
        if r.ndim != 3 or r.shape[0] != dirs or r.shape[2] == 0 or r.shape[1] != blocks * r.shape[2]:
            raise self.fail(
                f"R of {where} ({_short(inputs[2])!r}) has shape {r.shape}; expected ({dirs}, {blocks}·H, H): "
                f"{dirs} direction(s) (direction={direction!r}), {blocks} blocks",
                inputs[2],
            )
        hidden = r.shape[2]
        declared = self._int_attr(node, "hidden_size", None)
        if declared is not None and declared != hidden:
            raise self.fail(f"{where} has hidden_size={declared} but its R is for {hidden} units", node.name)
        rows = blocks * hidden
        if w.ndim != 3 or w.shape[:2] != (dirs, rows):
            raise self.fail(
                f"W of {where} ({_short(inputs[1])!r}) has shape {w.shape}; expected ({dirs}, {rows}, D)", inputs[1]
            )
        self.names[f"layer{k}.W"] = self._where_constant(inputs[1])
        self.names[f"layer{k}.R"] = self._where_constant(inputs[2])
        tensors = {"W": w, "R": r}
        if inputs[3]:
            b = self.constant(inputs[3], f"B of {where}")
            if b.shape != (dirs, 2 * rows):
                raise self.fail(
                    f"B of {where} ({_short(inputs[3])!r}) has shape {b.shape}; expected ({dirs}, {2 * rows}): Wb "
                    "then Rb",
                    inputs[3],
                )
            self.names[f"layer{k}.B"] = self._where_constant(inputs[3])
            tensors["B"] = b
        # No B: the node computes without biases (PyTorch's bias=False), and none are made up.
        info: dict[str, Any] = {
            "op": op,
            "name": _short(node.name, 200),
            "direction": direction,
            "activations": list(activations) if activations is not None else list(defaults),
            "linear_before_reset": linear_before_reset,
            "layout": layout,
            "hidden_size": hidden,
            "bias": bool(inputs[3]),
            "peepholes": None,
            "sequence_lens": None,  # read by _states, once the batch is known
            "initial_h": None,
            "initial_c": None,
        }
        if nonlinearity == "relu":
            info["activations"] = ["Relu"] * dirs
        if op == "LSTM":
            info["peepholes"] = "none"
            if inputs[7]:
                p = self.constant(inputs[7], f"P (peepholes) of {where}")
                if p.shape != (dirs, 3 * hidden):
                    raise self.fail(f"P of {where} has shape {p.shape}; expected ({dirs}, {3 * hidden})", inputs[7])
                if np.any(p != 0):
                    raise self.fail(
                        f"{where} has nonzero peephole weights P ({_short(inputs[7])!r}); the engine (like PyTorch) "
                        "has no peepholes",
                        inputs[7],
                    )
                info["peepholes"] = "zero"
        for extra in node.output[3:] if op == "LSTM" else node.output[2:]:
            if extra:
                raise self.fail(f"{where} has more outputs than {op} defines", node.name)
        return info, tensors

    def _states(self, node: onnx.NodeProto, hidden: int, layout: int) -> dict[str, str | None]:
        """sequence_lens, initial_h and initial_c of a recurrent node, once the batch is known:
        absent, graph inputs (fed by the parity check at the shape the node takes), or zeros of
        exactly that shape: (directions, batch, hidden_size), or (batch, directions, hidden_size)
        for layout=1."""
        inputs = list(node.input) + [""] * (8 - len(node.input))
        batch = self._canon((1, (self.batch or UNIT,)))
        dirs = (2 if self._string_attr(node, "direction", "forward") == "bidirectional" else 1, ())
        state = [dirs, batch, (hidden, ())] if layout == 0 else [batch, dirs, (hidden, ())]
        return {
            "sequence_lens": self._sequence_lens(node, inputs[4], [batch]),
            "initial_h": self._zero_state(node, inputs[5], "initial_h", state),
            "initial_c": self._zero_state(node, inputs[6], "initial_c", state) if node.op_type == "LSTM" else None,
        }

    def _sequence_lens(self, node: onnx.NodeProto, name: str, shape: list[Dim]) -> str:
        if not name:
            return "none"
        if name in self.inputs:
            self._extra_input(name, "steps", f"sequence_lens of {self.what(node)}", shape, "i")
            return f"graph input {_short(name)!r}"
        raise self.fail(
            f"sequence_lens of {self.what(node)} ({_short(name)!r}) is not a graph input; the engine runs every "
            "step: drop sequence_lens or make it a graph input",
            node.name,
        )

    def _extra_input(self, name: str, fill: str, role: str, dims: list[Dim], kind: str) -> None:
        """A graph input besides the sequence, for the parity check: what to feed (zeros, or the
        number of steps for every sequence), at the shape its role takes (None: the probe's batch,
        when the sequence's batch is free), and its type. Its declared shape must agree."""
        value = self.inputs[name]
        if name == self.input_name:
            raise self.fail(f"graph input {_short(name)!r} is both the sequence and {role}", name)
        feed = [coef if not labels else None for coef, labels in dims]
        declared = self._declared_dims(value)
        if declared is not None and (
            len(declared) != len(feed)
            or any(isinstance(d, int) and d != f for d, f in zip(declared, feed, strict=True))
        ):
            free = " (the batch of the sequence is free)" if None in feed else ""
            raise self.fail(
                f"graph input {_short(name)!r} ({role}) declares the shape {declared}; the node takes "
                f"{self._dims_text(dims)}{free}",
                name,
            )
        dtype = self._input_dtype(value)
        if np.dtype(dtype).kind != kind:
            expected = "integers (int32)" if kind == "i" else "float numbers"
            raise self.fail(f"graph input {_short(name)!r} ({role}) is {dtype}; expected {expected}", name)
        known = self.extra_inputs.get(name)
        if known is not None and (known["fill"], known["shape"], known["dtype"]) != (fill, feed, dtype):
            raise self.fail(
                f"graph input {_short(name)!r} is {known['role']} and {role}, which take different values", name
            )
        self.extra_inputs.setdefault(name, {"fill": fill, "role": role, "shape": feed, "dtype": dtype})

    def _zero_state(self, node: onnx.NodeProto, name: str, role: str, dims: list[Dim]) -> str:
        """An initial state: absent, a graph input (fed zeros by the parity check), or zeros of the
        shape the node takes, computed by nodes the reader follows (a larger intermediate is refused)."""
        if not name:
            return "none"
        purpose = f"{role} of {self.what(node)}"
        if name in self.inputs:
            self._extra_input(name, "zeros", purpose, dims, "f")
            return f"graph input {_short(name)!r}"
        where, shape = self._zero_source(name, purpose, node, 0)
        if [self._canon(d) for d in shape] != [self._canon(d) for d in dims]:
            made, tensor = self._made_by(name)
            raise self.fail(
                f"{purpose} is zeros of shape {self._dims_text(shape)} ({made}); the node takes "
                f"{self._dims_text(dims)} (its directions, the batch, its hidden units)"
                + (
                    ". PyTorch's dynamo exporter writes an LSTM with proj_size so, dropping the projection W_hr "
                    "(ONNX's LSTM has none): such a graph is not the model"
                    if role == "initial_c" and len(shape) == len(dims) == 3 and self._canon(shape[2]) != dims[2]
                    else ""
                ),
                tensor,
            )
        return f"zeros ({where})"

    def _made_by(self, name: str) -> tuple[str, str]:
        """What computes value `name`, for a message, and the name to report."""
        if name in self.inits:
            return f"initializer {_short(name)!r}", name
        if name not in self.producer:
            return repr(_short(name)), name
        node = self.producer[name][0]
        return self.what(node), node.name or name

    def _visit(self, user: onnx.NodeProto, depth: int) -> None:
        self.work += 1
        if depth > MAX_SHAPE_DEPTH or self.work > MAX_WORK:
            raise self.fail(f"the inputs of {self.what(user)} are computed by too long a chain of nodes", user.name)

    # --- symbolic dimensions -----------------------------------------------------------------

    def _canon(self, dim: Dim) -> Dim:
        """A dimension with the sizes the file fixes multiplied in: (number, ()) when all are fixed."""
        coef, labels = dim
        free = []
        for label in labels:
            size = self.sizes.get(label)
            if size is None:
                free.append(label)
            else:
                coef *= size
        return coef, tuple(sorted(free))

    def _largest(self, dim: Dim) -> int:
        """The most a dimension can be when the parity check runs: a free time axis at most
        MAX_STEPS, a free batch at most MAX_BATCH, any other free axis MAX_DIM."""
        coef, labels = self._canon(dim)
        for label in labels:
            coef *= limits.MAX_STEPS if label == self.time else MAX_BATCH if label == self.batch else MAX_DIM
        return coef

    def _dims_text(self, dims: list[Dim]) -> str:
        parts = []
        for dim in dims:
            coef, free = self._canon(dim)
            names = ["steps" if f == self.time else "batch" if f == self.batch else _short(f, 20) for f in free]
            parts.append("*".join(([str(coef)] if coef != 1 or not names else []) + names))
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def _check_shape(self, name: str, dims: list[Dim], user: onnx.NodeProto, consumer: onnx.NodeProto) -> None:
        """A shape the reader evaluated: each constant in it at most MAX_DIM, and the constant
        dimensions' product at most MAX_UPLOAD_ELEMENTS (a shape makes a tensor of that many)."""
        product = math.prod(coef for coef, labels in dims if not labels and coef > 0)
        if any(coef > MAX_DIM for coef, _ in dims) or product > limits.MAX_UPLOAD_ELEMENTS:
            made, tensor = self._made_by(name)
            for_user = f", for {self.what(user)}," if consumer is not user else ""
            raise self.fail(
                f"{self.what(consumer)}{for_user} takes the shape {self._dims_text(dims)} ({made}), larger than any "
                f"this app reads: each dimension at most {MAX_DIM}, at most {limits.MAX_UPLOAD_ELEMENTS} numbers in all",
                tensor,
            )

    # --- zero initial states -------------------------------------------------------------------

    def _zero_source(self, name: str, purpose: str, user: onnx.NodeProto, depth: int) -> tuple[str, list[Dim]]:
        """Where a zero constant comes from and its shape, following the nodes that move or
        repeat zeros; refuses anything else by name, and any value larger than MAX_UPLOAD_ELEMENTS."""
        if name not in self.zero_memo:
            self._visit(user, depth)
            self.zero_memo[name] = self._zero_source_of(name, purpose, user, depth)
        return self.zero_memo[name]

    def _zero_source_of(self, name: str, purpose: str, user: onnx.NodeProto, depth: int) -> tuple[str, list[Dim]]:
        if self.is_constant(name):
            value = self.constant(name, purpose)
            if np.any(value != 0):
                raise self.fail(
                    f"{purpose} is a nonzero constant ({self._where_constant(name)}); the engine starts every layer "
                    "from zeros (or from the state the page sets): export with zero initial states",
                    name,
                )
            return self._where_constant(name), [(int(d), ()) for d in value.shape]
        if name in self.inputs:
            raise self.fail(
                f"{purpose} comes from graph input {_short(name)!r} through other nodes; expected zeros", name
            )
        if name not in self.producer:
            raise self.fail(f"{purpose} ({_short(name)!r}) is produced by no node", name)
        node, _ = self.producer[name]
        self._use(node)
        op = node.op_type
        where = self.what(node)
        if node.domain not in ("", "ai.onnx"):
            raise self.fail(f"{purpose} comes from {where} of domain {_short(node.domain)!r}", node.name)
        if not node.input or not node.input[0]:
            raise self.fail(
                f"{purpose} comes from {where}, which has no {'shape' if op == 'ConstantOfShape' else 'data'} input",
                node.name,
            )
        if op not in ZERO_OPS:
            raise self.fail(
                f"{purpose} comes from {where}; expected zeros (an initializer, a Constant, ConstantOfShape, "
                "or an Expand of zeros) or a graph input",
                node.name,
            )
        origin, dims = self._zero_dims(node, purpose, user, depth)
        if any(coef < 0 for coef, _ in dims):
            raise self.fail(f"{purpose}: {where} makes a value of shape {self._dims_text(dims)}", node.name)
        largest = [self._largest(d) for d in dims]
        if any(d > MAX_DIM for d in largest) or math.prod(largest) > limits.MAX_UPLOAD_ELEMENTS:
            raise self.fail(
                f"{purpose} is computed through {where}, which makes zeros of shape {self._dims_text(dims)} (up to "
                f"{math.prod(largest)} numbers); an initial state is (1, batch, hidden_size), and no value computing it "
                f"may have a dimension above {MAX_DIM} or more than {limits.MAX_UPLOAD_ELEMENTS} numbers",
                node.name,
            )
        return origin, dims

    def _zero_dims(self, node: onnx.NodeProto, purpose: str, user: onnx.NodeProto, depth: int) -> tuple[str, list[Dim]]:
        """The origin and shape of the zeros `node` (one of ZERO_OPS) makes from its inputs."""
        op = node.op_type
        where = self.what(node)

        def data(i: int = 0) -> tuple[str, list[Dim]]:
            return self._zero_source(node.input[i], purpose, user, depth + 1)

        def shape(i: int) -> list[Dim]:
            if len(node.input) <= i or not node.input[i]:
                raise self.fail(f"{where} lacks input {i}", node.name)
            value = self._shape_value(node.input[i], user, depth + 1, node)
            if value is None or value[1]:
                raise self.fail(
                    f"{purpose}: the shape {where} takes is computed in a way this reader cannot follow", node.name
                )
            return value[0]

        def ints(i: int, attr: str) -> list[int] | None:
            """Constant integers: input i (when i >= 0 and given), else attribute `attr`."""
            if 0 <= i < len(node.input) and node.input[i]:
                arr = self.constant(node.input[i], f"input {i} of {where}", ints=True, max_dims=1)
                if arr.size > MAX_DIMS:
                    raise self.fail(f"input {i} of {where} has {arr.size} entries", node.name)
                return [int(v) for v in arr.ravel()]
            return self._ints_attr(node, attr)

        def cannot(what: str) -> ModelFileError:
            return self.fail(f"{purpose}: {where} {what}; cannot follow the shape of the zeros", node.name)

        def axis_in(axis: int, rank: int) -> int:
            if not -rank <= axis < rank:
                raise cannot(f"has axis {axis} for a value of {rank} axes")
            return axis % rank

        if op == "ConstantOfShape":
            for a in node.attribute:
                if a.name == "value":
                    value = self._tensor(a.t, f"the value of {where}", purpose, False, 1)
                    if np.any(value != 0):
                        raise self.fail(
                            f"{purpose} is {where} filled with {value.ravel()[:1].tolist()}; the engine "
                            "starts every layer from zeros",
                            node.name,
                        )
            return where, shape(0)
        if op in ("Identity", "Cast"):
            return data()
        if op == "Expand":
            origin, dims = data()
            target = shape(1)
            n = max(len(dims), len(target))
            a = [(1, ())] * (n - len(dims)) + dims
            b = [(1, ())] * (n - len(target)) + target
            out = []
            for x, y in zip(a, b, strict=True):
                cx, cy = self._canon(x), self._canon(y)
                if cx == (1, ()) or cx == cy:
                    out.append(y)
                elif cy == (1, ()):
                    out.append(x)
                else:
                    raise cannot(f"expands {self._dims_text(dims)} to {self._dims_text(target)}")
            return origin, out
        if op == "Concat":
            parts = [self._zero_source(i, purpose, user, depth + 1)[1] for i in node.input if i]
            axis = self._int_attr(node, "axis", None)
            rank = len(parts[0])
            if axis is None or any(len(p) != rank for p in parts):
                raise cannot("concatenates values of different ranks (or has no axis)")
            axis = axis_in(axis, rank)
            along = [self._canon(p[axis]) for p in parts]
            if any(labels != along[0][1] for _, labels in along):
                raise cannot("concatenates axes known only at run time")
            out = list(parts[0])
            out[axis] = (sum(coef for coef, _ in along), along[0][1])
            return where, out
        origin, dims = data()
        rank = len(dims)
        if op == "Transpose":
            perm = self._ints_attr(node, "perm")
            perm = list(reversed(range(rank))) if perm is None else perm
            if sorted(perm) != list(range(rank)):
                raise cannot(f"has perm={_short(perm)} for a value of {rank} axes")
            return origin, [dims[p] for p in perm]
        if op == "Unsqueeze":
            axes = self._axes_of(node)
            out_rank = rank + len(axes or [])
            if axes is None:
                raise cannot("has no axes")
            at = sorted(axis_in(a, out_rank) for a in axes)
            if len(set(at)) != len(at):
                raise cannot(f"has axes {_short(axes)}")
            out = list(dims)
            for a in at:
                out.insert(a, (1, ()))
            return origin, out
        if op == "Squeeze":
            axes = self._axes_of(node)
            if axes is None:
                if any(self._canon(d)[1] for d in dims):
                    raise cannot("drops every axis of size one, and some sizes are only known at run time")
                return origin, [d for d in dims if self._canon(d) != (1, ())]
            drop = {axis_in(a, rank) for a in axes}
            if any(self._canon(dims[a]) != (1, ()) for a in drop):
                raise cannot(f"drops axes {_short(axes)} of {self._dims_text(dims)}")
            return origin, [d for k, d in enumerate(dims) if k not in drop]
        if op == "Reshape":
            target = shape(1)
            allowzero = self._int_attr(node, "allowzero", 0)
            out: list[Dim | None] = []
            for k, (coef, labels) in enumerate(target):
                if not labels and coef == 0 and not allowzero:
                    if k >= rank:
                        raise cannot(f"copies axis {k} of a value of {rank} axes")
                    out.append(dims[k])
                elif not labels and coef == -1:
                    out.append(None)
                else:
                    out.append((coef, labels))
            if out.count(None) > 1:
                raise cannot("holds -1 more than once")
            if None in out:
                total = self._product(dims)
                rest = self._product([d for d in out if d is not None])
                if rest[0] <= 0 or total[0] % rest[0] or any(total[1].count(s) < rest[1].count(s) for s in rest[1]):
                    raise cannot(f"reshapes {self._dims_text(dims)} with a -1 this reader cannot work out")
                left = list(total[1])
                for s in rest[1]:
                    left.remove(s)
                out[out.index(None)] = (total[0] // rest[0], tuple(left))
            return origin, [d for d in out if d is not None]
        if op == "Tile":
            repeats = ints(1, "repeats")
            if repeats is None or len(repeats) != rank or any(r < 0 for r in repeats):
                raise cannot(f"repeats {_short(repeats)} a value of {rank} axes")
            return origin, [(coef * r, labels) for (coef, labels), r in zip(dims, repeats, strict=True)]
        if op == "Slice":
            if len(node.input) > 1:  # opset 10 on: starts, ends, axes, steps are inputs
                starts, ends, axes, steps = ints(1, ""), ints(2, ""), ints(3, ""), ints(4, "")
            else:  # Slice-1: attributes
                starts, ends, axes, steps = ints(-1, "starts"), ints(-1, "ends"), ints(-1, "axes"), None
            if starts is None or ends is None or len(starts) != len(ends):
                raise cannot("has no starts and ends of one length")
            axes = list(range(len(starts))) if axes is None else axes
            steps = [1] * len(starts) if steps is None else steps
            if len(axes) != len(starts) or len(steps) != len(starts):
                raise cannot("has starts, ends, axes and steps of different lengths")
            out = list(dims)
            for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
                axis = axis_in(axis, rank)
                coef, labels = self._canon(dims[axis])
                if step == 0:
                    raise cannot("has a step of 0")
                if not labels:
                    out[axis] = (len(range(*slice(start, end, step).indices(coef))), ())
                elif not (step == 1 and start == 0 and end >= self._largest(dims[axis])):
                    raise cannot("slices an axis whose size is only known at run time")
            return origin, out
        # Gather
        if len(node.input) < 2 or not node.input[1]:
            raise cannot("has no indices")
        index = self.constant(node.input[1], f"the indices of {where}", ints=True, max_dims=1)
        axis = axis_in(self._int_attr(node, "axis", 0) or 0, rank)
        coef, labels = self._canon(dims[axis])
        if not labels and any(not -coef <= int(i) < coef for i in index.ravel()):
            raise cannot(f"picks {_short(index.ravel().tolist())} from an axis of {coef}")
        return origin, [*dims[:axis], *((int(s), ()) for s in index.shape), *dims[axis + 1 :]]

    def _product(self, dims: list[Dim]) -> tuple[int, list[str]]:
        """The number of elements of a shape: (the product of the fixed sizes, the free labels)."""
        coef, labels = 1, []
        for dim in dims:
            c, free = self._canon(dim)
            coef *= c
            labels += free
        return coef, sorted(labels)

    # --- following axes through shape-only ops -------------------------------------------

    def _follow(self, nodes: Iterable[onnx.NodeProto], labels: list[str], ids: bool = False) -> list[str]:
        for node in nodes:
            labels = self._shape_op(node, labels, ids)
            self._keep(node, labels)
        return labels

    def _keep(self, node: onnx.NodeProto, labels: list[str]) -> None:
        self._use(node)
        # Every op here costs time in the number of axes: a value of more than MAX_DIMS is no RNN's.
        if len(labels) > MAX_DIMS:
            raise self.fail(f"{self.what(node)} makes a value of {len(labels)} axes; at most {MAX_DIMS}", node.name)
        self.labels[node.output[0]] = labels

    def _shape_op(self, node: onnx.NodeProto, labels: list[str], ids: bool = False) -> list[str]:
        """The labels of a shape-only node's output, from its input's."""
        op = node.op_type
        where = self.what(node)
        if node.domain not in ("", "ai.onnx"):
            raise self.fail(f"{where} of domain {_short(node.domain)!r} is on the path", node.name)
        if op == "Identity":
            return labels
        if op == "Cast":
            to = self._int_attr(node, "to", None)
            accepted = INT_TYPES if ids else {TensorProto.FLOAT, TensorProto.DOUBLE}
            if to not in accepted:
                name = TensorProto.DataType.Name(to) if to in TensorProto.DataType.values() else to
                raise self.fail(
                    f"{where} casts to {name}; on this path only a cast to {'int64/int32' if ids else 'float32/float64'} "
                    "leaves the numbers as they are",
                    node.name,
                )
            return labels
        if op == "Dropout":
            # Identity at inference unless training_mode is set (opset 12+: its third input).
            if len(node.input) > 1 and node.input[1]:
                self.constant(node.input[1], f"the ratio of {where}", max_dims=0)
            if len(node.input) > 2 and node.input[2] and self._flag(node.input[2], f"training_mode of {where}"):
                raise self.fail(f"{where} runs in training mode (it drops numbers at random)", node.name)
            if self._int_attr(node, "is_test", 1) == 0:
                raise self.fail(f"{where} runs in training mode (is_test=0)", node.name)
            return labels
        if op == "Transpose":
            perm = self._ints_attr(node, "perm")
            perm = list(reversed(range(len(labels)))) if perm is None else perm
            if len(perm) != len(labels) or sorted(perm) != list(range(len(labels))):
                raise self.fail(f"{where} has perm={_short(perm)} for a value of {len(labels)} axes", node.name)
            return [labels[p] for p in perm]
        if op in ("Squeeze", "Unsqueeze"):
            axes = self._axes_of(node)
            if op == "Unsqueeze":
                rank = len(labels) + len(axes or [])
                if (
                    axes is None
                    or sorted({a % rank for a in axes if -rank <= a < rank}) != sorted(a % rank for a in axes)
                    or any(not -rank <= a < rank for a in axes)
                ):
                    raise self.fail(f"{where} has axes {_short(axes)} for a result of {rank} axes", node.name)
                out = list(labels)
                for a in sorted(a % rank for a in axes):
                    out.insert(a, UNIT)
                return out
            rank = len(labels)
            if axes is None:
                axes = [k for k, label in enumerate(labels) if self.sizes.get(label) == 1]
                if any(self.sizes.get(label) is None for label in labels):
                    raise self.fail(
                        f"{where} drops every axis of size one, and some sizes are only known at run time; give it axes",
                        node.name,
                    )
            if any(not -rank <= a < rank for a in axes):
                raise self.fail(f"{where} has axes {_short(axes)} for a value of {rank} axes", node.name)
            drop = {a % rank for a in axes}
            for a in drop:
                if self.sizes.get(labels[a]) != 1:
                    raise self.fail(
                        f"{where} drops axis {a}, which holds {self._words(labels[a])} of size "
                        f"{self.sizes.get(labels[a]) or 'known only at run time'}",
                        node.name,
                    )
            return [label for k, label in enumerate(labels) if k not in drop]
        if op == "Reshape":
            return self._reshape(node, labels)
        raise self.fail(f"{where} is not a shape-only op", node.name)

    def _flag(self, name: str, purpose: str) -> bool:
        """A one-element boolean constant (Dropout's training_mode)."""
        tensor, where = self._constant_tensor(name)
        if tensor is None and where:
            node = self.producer[name][0]
            self._use(node)
            tensor = next((a.t for a in node.attribute if a.name == "value"), None)
        if (
            tensor is None
            or tensor.data_type != TensorProto.BOOL
            or math.prod(tensor.dims) != 1
            or len(tensor.dims) > 1
        ):
            raise self.fail(f"{purpose} ({_short(name)!r}) is not a constant true or false", name)
        stored = len(tensor.raw_data) if tensor.raw_data else len(tensor.int32_data)
        if stored != 1:
            raise self.fail(f"{purpose} ({_short(name)!r}) stores {stored} values; expected one", name)
        return bool(tensor.raw_data[0] if tensor.raw_data else tensor.int32_data[0])

    def _axes_of(self, node: onnx.NodeProto) -> list[int] | None:
        """Squeeze/Unsqueeze axes: the second input (opset 13+) or the attribute (before)."""
        if len(node.input) > 1 and node.input[1]:
            axes = self.constant(node.input[1], f"the axes of {self.what(node)}", ints=True, max_dims=1)
            axes = [int(a) for a in axes.ravel()]
        else:
            axes = self._ints_attr(node, "axes")
        if axes is not None and len(axes) > MAX_DIMS:
            raise self.fail(f"{self.what(node)} names {len(axes)} axes; at most {MAX_DIMS}", node.name)
        return axes

    def _reshape(self, node: onnx.NodeProto, labels: list[str]) -> list[str]:
        """A Reshape accepted when it only drops or adds axes of size one (the order of the rest kept).

        Row-major order is preserved by any reshape; when the target's axes other than ones
        are, in order, the same sizes as the input's (equal numbers, or the same symbolic
        dimension), no two axes are merged or split.
        """
        where = self.what(node)
        if len(node.input) < 2 or not node.input[1]:
            raise self.fail(f"{where} has no target shape", node.name)
        target = self._shape_value(node.input[1], node, 0)
        if target is None or target[1]:
            raise self.fail(f"{where}: its target shape is not a list of dimensions", node.name)
        dims = target[0]
        allowzero = self._int_attr(node, "allowzero", 0)
        resolved: list[Any] = []
        for k, (coef, syms) in enumerate(dims):
            if not syms and coef == 0 and not allowzero:
                if k >= len(labels):
                    raise self.fail(f"{where}: a 0 in its target copies axis {k}, which the input lacks", node.name)
                resolved.append(("label", labels[k]))
            elif not syms and coef == -1:
                resolved.append(("infer", None))
            elif not syms and coef >= 1:
                resolved.append(("size", coef))
            elif syms and coef == 1:
                resolved.append(("sym", syms))
            else:
                raise self.fail(f"{where}: its target shape holds {coef}; cannot follow it", node.name)
        if sum(1 for r in resolved if r[0] == "infer") > 1:
            raise self.fail(f"{where}: its target shape holds -1 more than once", node.name)

        def unit_entry(entry: Any) -> bool:
            kind, value = entry
            if kind == "size":
                return value == 1
            if kind == "label":
                return self.sizes.get(value) == 1
            if kind == "sym":
                return all(self.sizes.get(s) == 1 for s in value)
            return False

        kept_in = [label for label in labels if self.sizes.get(label) != 1]
        dropped = [label for label in labels if self.sizes.get(label) == 1 and label != UNIT]
        kept_out = [(k, e) for k, e in enumerate(resolved) if not unit_entry(e)]
        if len(kept_out) == len(kept_in) - 1:
            # A bidirectional node's directions and units, adjacent in that order (axes of one
            # between them move nothing), merged into one axis: both directions side by side,
            # forward then reverse, as PyTorch's module hands them up (h{k}, of 2H).
            for i in range(len(kept_in) - 1):
                a, b = kept_in[i], kept_in[i + 1]
                if a[:1] == "r" and a[1:].isdigit() and b == f"u{a[1:]}":
                    kept_in[i : i + 2] = [f"h{a[1:]}"]
                    break
        if len(kept_out) != len(kept_in):
            raise self.fail(
                f"{where} reshapes {self._describe(labels, self.time, self.batch)} into {len(resolved)} "
                "axes that merge or split them; only axes of size one may be dropped or added",
                node.name,
            )
        out: list[str | None] = [None] * len(resolved)
        for (k, (kind, value)), label in zip(kept_out, kept_in, strict=True):
            size = self.sizes.get(label)
            same = (
                (kind == "label" and value == label)
                or (kind == "sym" and self._canon((1, tuple(value))) == self._canon((1, (label,))))
                or (kind == "size" and size is not None and size == value)
                or kind == "infer"
            )
            if not same:
                raise self.fail(
                    f"{where}: axis {k} of its target ({value if kind == 'size' else 'a dimension known at run time'}) "
                    f"does not match the input's axis of size {size if size is not None else 'known only at run time'}; "
                    "only axes of size one may be dropped or added",
                    node.name,
                )
            out[k] = label
        # Axes of size one: the input's named ones (a batch of one) kept in order, the rest unit.
        for k, entry in enumerate(resolved):
            if out[k] is None:
                if entry[0] == "label":
                    out[k] = entry[1]
                    if entry[1] in dropped:
                        dropped.remove(entry[1])
                else:
                    out[k] = dropped.pop(0) if dropped else UNIT
        return [str(label) for label in out]

    def _shape_value(
        self, name: str, user: onnx.NodeProto, depth: int, consumer: onnx.NodeProto | None = None
    ) -> tuple[list[Dim], bool] | None:
        """A shape computed in the graph as symbolic dimensions: (dims, is_scalar), or None.
        `consumer` is the node that takes it (`user`, the node on the path, by default)."""
        if name not in self.shape_memo:
            self._visit(user, depth)
            value = self._shape_value_of(name, user, depth)
            if value is not None:
                self._check_shape(name, value[0], user, consumer or user)
            self.shape_memo[name] = value
        return self.shape_memo[name]

    def _shape_value_of(self, name: str, user: onnx.NodeProto, depth: int) -> tuple[list[Dim], bool] | None:
        if self.is_constant(name):
            arr = self.constant(name, f"a shape used by {self.what(user)}", ints=True, max_dims=1)
            if arr.size > MAX_DIMS:
                raise self.fail(f"a shape used by {self.what(user)} has {arr.size} entries", user.name)
            return [(int(v), ()) for v in arr.ravel()], arr.ndim == 0
        if name not in self.producer:
            return None
        node, _ = self.producer[name]
        self._use(node)
        op = node.op_type
        where = self.what(node)

        def sub(i: int) -> tuple[list[Dim], bool]:
            if len(node.input) <= i or not node.input[i]:
                raise self.fail(f"{where} lacks input {i}", node.name)
            value = self._shape_value(node.input[i], user, depth + 1, node)
            if value is None:
                raise self.fail(
                    f"the target shape of {self.what(user)} is computed through {where} from a value this reader "
                    "cannot follow",
                    node.name,
                )
            return value

        def ints(i: int) -> list[int] | None:
            if len(node.input) <= i or not node.input[i]:
                return None
            return [
                int(v) for v in self.constant(node.input[i], f"input {i} of {where}", ints=True, max_dims=1).ravel()
            ]

        if node.domain not in ("", "ai.onnx"):
            return None
        if op == "Shape":
            if node.input[0] not in self.labels:
                raise self.fail(
                    f"{where} reads the shape of {_short(node.input[0])!r}, which is not on the model's path",
                    node.name,
                )
            dims = [(1, ()) if self.sizes.get(label) == 1 else (1, (label,)) for label in self.labels[node.input[0]]]
            start = self._int_attr(node, "start", 0) or 0
            end = self._int_attr(node, "end", None)
            return dims[slice(start, end)], False
        if op in ("Identity", "Cast"):
            return sub(0)
        if op == "Concat":
            out: list[Dim] = []
            for k in range(len(node.input)):
                dims, scalar = sub(k)
                if scalar:
                    raise self.fail(f"{where} concatenates a scalar", node.name)
                out += dims
            if len(out) > MAX_DIMS:
                raise self.fail(f"{where} builds a shape of {len(out)} entries", node.name)
            return out, False
        if op == "Gather":
            dims, scalar = sub(0)
            index = self.constant(node.input[1], f"the indices of {where}", ints=True, max_dims=1)
            if scalar or (self._int_attr(node, "axis", 0) or 0) != 0 or index.size > MAX_DIMS:
                return None
            try:
                picked = [dims[int(i)] for i in index.ravel()]
            except IndexError:
                raise self.fail(
                    f"{where} picks entry {index.ravel().tolist()} of a shape of {len(dims)}", node.name
                ) from None
            return picked, index.ndim == 0
        if op == "Slice":
            dims, scalar = sub(0)
            starts, ends, axes, steps = ints(1), ints(2), ints(3), ints(4)
            if (
                scalar
                or starts is None
                or ends is None
                or len(starts) != 1
                or (axes not in (None, [0], [-1]))
                or steps not in (None, [1])
            ):
                return None
            end = min(ends[0], INT64_MAX)
            return dims[slice(starts[0], end)], False
        if op == "Unsqueeze":
            dims, scalar = sub(0)
            return (dims, False) if scalar and self._axes_of(node) in ([0], [-1]) else None
        if op == "Squeeze":
            dims, scalar = sub(0)
            axes = self._axes_of(node)
            return (dims, True) if not scalar and len(dims) == 1 and axes in (None, [0], [-1]) else None
        if op == "Reshape":
            dims, scalar = sub(0)
            shape = ints(1)
            if shape is not None and len(shape) == 1 and (shape[0] == -1 or shape[0] == len(dims)):
                return dims, False
            return None
        if op == "Mul":
            (a, a_scalar), (b, b_scalar) = sub(0), sub(1)
            if len(a) == 1 and len(b) > 1:
                a = a * len(b)
            if len(b) == 1 and len(a) > 1:
                b = b * len(a)
            if len(a) != len(b):
                return None
            return [(x[0] * y[0], tuple(sorted(x[1] + y[1]))) for x, y in zip(a, b, strict=True)], a_scalar and b_scalar
        return None

    # --- the head ------------------------------------------------------------------------

    def _follow_head(
        self,
        nodes: list[onnx.NodeProto],
        labels: list[str],
        time: str,
        batch: str,
        tensors: dict[str, np.ndarray],
        read: dict[str, Any],
    ) -> list[str]:
        """From the top node's Y to the output: shape-only ops, a last-step Gather, a head, a softmax."""
        hidden = labels[-1]
        if hidden[:1] == "u" and hidden[1:].isdigit():
            hidden = f"h{hidden[1:]}"  # a bidirectional top: what the head reads once the directions are merged
        stage = "h"  # then "head" (after MatMul/Gemm), "bias" (after Add), "softmax"
        read.update(output_steps="all", softmax=None, head=None)
        for node in nodes:
            op = node.op_type
            where = self.what(node)
            if node.domain not in ("", "ai.onnx"):
                raise self.fail(f"{where} of domain {_short(node.domain)!r} is on the path to the output", node.name)
            if op in SHAPE_OPS:
                labels = self._shape_op(node, labels)
            elif op == "Gather":
                labels = self._last_step(node, labels, time)
                read["output_steps"] = "last"
            elif op in ("MatMul", "Gemm") and stage == "h":
                labels = self._head(node, labels, hidden, tensors)
                read["head"] = {"op": op, "nodes": [_short(node.name)], "outputs": self.sizes["o"]}
                stage = "bias" if op == "Gemm" else "head"
            elif op == "Add" and stage == "head":
                bias_name = node.input[1] if self.is_constant(node.input[1]) else node.input[0]
                bias = self.constant(bias_name, f"the bias added by {where}")
                out = self.sizes["o"]
                if bias.size != out or bias.ndim > len(labels) or (bias.ndim and bias.shape[-1] != out):
                    raise self.fail(
                        f"{where} adds {_short(bias_name)!r} of shape {bias.shape} to a head of {out} outputs; "
                        f"expected ({out},)",
                        bias_name,
                    )
                if bias.ndim and labels[-1] != "o":
                    raise self.fail(f"{where} adds its bias along an axis that is not the head's outputs", node.name)
                tensors["head.bias"] = bias.reshape(out)
                self.names["head.bias"] = self._where_constant(bias_name)
                read["head"]["op"] = "MatMul + Add"
                read["head"]["nodes"].append(_short(node.name))
                stage = "bias"
            elif op in ("Softmax", "LogSoftmax") and stage in ("head", "bias"):
                self._softmax_axis(node, labels)
                read["softmax"] = op
                stage = "softmax"
            else:
                state = {
                    "h": "before the head",
                    "head": "after the head's MatMul",
                    "bias": "after the head",
                    "softmax": "after the softmax",
                }[stage]
                raise self.fail(
                    f"{where} is on the path {state}; the engine computes the recurrent layers, one linear head "
                    "(MatMul + Add, or Gemm) and a softmax, with only shape-only ops between them",
                    node.name,
                )
            self._keep(node, labels)
        if stage == "head":
            out = self.sizes["o"]
            tensors["head.bias"] = np.zeros(out)
            self.names["head.bias"] = "(none)"
        return labels

    def _last_step(self, node: onnx.NodeProto, labels: list[str], time: str) -> list[str]:
        """A Gather of the last step along time (y[:, -1]): the output at the last step only."""
        where = self.what(node)
        axis = self._int_attr(node, "axis", 0) or 0
        if not -len(labels) <= axis < len(labels):
            raise self.fail(f"{where} has axis {axis} for a value of {len(labels)} axes", node.name)
        axis %= len(labels)
        index = self.constant(node.input[1], f"the indices of {where}", ints=True, max_dims=1)
        steps = self.sizes.get(time)
        if labels[axis] != time or index.size != 1:
            raise self.fail(
                f"{where} picks from the axis of {self._words(labels[axis])}; only the last time step "
                "(y[:, -1]) may be picked",
                node.name,
            )
        value = int(index.ravel()[0])
        if not (value == -1 or (steps is not None and value == steps - 1)):
            raise self.fail(
                f"{where} picks step {value}; only the last step (-1) may be picked (the engine answers at every step)",
                node.name,
            )
        out = list(labels)
        if index.ndim == 0:
            del out[axis]
        else:
            out[axis] = UNIT
        return out

    def _head(self, node: onnx.NodeProto, labels: list[str], hidden: str, tensors: dict[str, np.ndarray]) -> list[str]:
        where = self.what(node)
        if not labels or labels[-1] != hidden:
            raise self.fail(f"{where} multiplies along an axis that is not the top layer's hidden units", node.name)
        if node.op_type == "MatMul":
            if self.is_constant(node.input[0]):
                raise self.fail(f"{where} multiplies a constant by the hidden state (W @ h); expected h @ W", node.name)
            weight = self.constant(node.input[1], f"the weight of {where}", max_dims=2)
            if weight.ndim != 2 or weight.shape[0] != self.sizes[hidden] or len(labels) < 2:
                raise self.fail(
                    f"the weight of {where} ({_short(node.input[1])!r}) has shape {weight.shape}; expected "
                    f"({self.sizes[hidden]}, outputs)",
                    node.input[1],
                )
            tensors["head.weight"] = weight.T.copy()
            self.names["head.weight"] = self._where_constant(node.input[1]) + " (transposed)"
        else:
            if len(labels) != 2:
                raise self.fail(f"{where} reads a value of {len(labels)} axes; Gemm takes 2", node.name)
            if self._int_attr(node, "transA", 0) != 0:
                raise self.fail(f"{where} has transA=1; expected the hidden state as it is", node.name)
            alpha, beta = self._float_attr(node, "alpha", 1.0), self._float_attr(node, "beta", 1.0)
            has_c = len(node.input) > 2 and bool(node.input[2])
            if alpha != 1.0 or (has_c and beta != 1.0):
                raise self.fail(
                    f"{where} has alpha={alpha}, beta={beta}; the engine's head is h W^T + b (alpha = beta = 1)",
                    node.name,
                )
            weight = self.constant(node.input[1], f"the weight of {where}", max_dims=2)
            trans_b = self._int_attr(node, "transB", 0)
            if weight.ndim != 2:
                raise self.fail(f"the weight of {where} has shape {weight.shape}; expected 2 axes", node.input[1])
            weight = weight if trans_b else weight.T
            if weight.shape[1] != self.sizes[hidden]:
                raise self.fail(
                    f"the weight of {where} ({_short(node.input[1])!r}) does not take {self.sizes[hidden]} hidden units",
                    node.input[1],
                )
            tensors["head.weight"] = weight.copy()
            self.names["head.weight"] = self._where_constant(node.input[1]) + ("" if trans_b else " (transposed)")
            out = weight.shape[0]
            if has_c:
                bias = self.constant(node.input[2], f"the bias C of {where}", max_dims=2)
                if bias.shape not in ((out,), (1, out)):
                    raise self.fail(f"the bias C of {where} has shape {bias.shape}; expected ({out},)", node.input[2])
                tensors["head.bias"] = bias.reshape(out)
                self.names["head.bias"] = self._where_constant(node.input[2])
            else:
                tensors["head.bias"] = np.zeros(out)
                self.names["head.bias"] = "(none)"
        self.sizes["o"] = tensors["head.weight"].shape[0]
        return [*labels[:-1], "o"]

    def _softmax_axis(self, node: onnx.NodeProto, labels: list[str]) -> None:
        # Before opset 13 a softmax flattens the axes from `axis` on (default 1) into one.
        default = -1 if self.opset >= 13 else 1
        axis = self._int_attr(node, "axis", default)
        rank = len(labels)
        if axis is None or not -rank <= axis < rank:
            raise self.fail(f"{self.what(node)} has axis {axis} for a value of {rank} axes", node.name)
        axis %= rank
        if labels[axis] != "o" or (self.opset < 13 and axis != rank - 1):
            raise self.fail(
                f"{self.what(node)} normalises over axis {axis}, which is not (only) the head's outputs", node.name
            )
