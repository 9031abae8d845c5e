"""Keras model files (.keras, legacy .h5, .weights.h5) read without Keras: one ModelSource each.

Why without Keras: `keras.models.load_model` turns the configuration into live objects
(custom classes, a Lambda layer's code), and the server does not need Keras at all. Here
the configuration is plain JSON and the weights are HDF5 datasets, read as data (h5py and
json only) and interpreted by the rules below; Keras is a test dependency, used to make real
files and to check the numbers.

What is read:

- a `.keras` zip: config.json (every layer and setting), metadata.json (the Keras version)
  and model.weights.h5. Keras 3 names the groups of that HDF5 file after each layer's
  *class*, numbered per class in the order of `model.layers` (layers/lstm, layers/lstm_1,
  layers/dense), never after the layer's own name; recent versions store the name as the
  attribute `name` of the layer's `vars` group. A configured layer is found by that name
  when the file records it, else by its class and rank.
- a Keras 3 `.weights.h5` (model.save_weights): the same groups, without a configuration.
- a legacy `.h5`: model.save("m.h5") in Keras 2 or 3 (model_weights/<layer name>/ with each
  layer's `weight_names`, the configuration in the root attribute model_config), or a
  legacy weights-only file (the root attribute layer_names).

Without a configuration, layers are told apart by their group names (Keras 3: the class) or
their weight names and shapes (legacy), and every setting the file cannot carry is assumed at
Keras' default and listed in `assumed`. A setting the engine cannot compute exactly is refused
by name (ModelFileError), never approximated: a silent wrong number is the one outcome this
module exists to prevent.

Safety: the uploader writes the file, and the HDF5 C library was not written for hostile
input: a 4 KB file whose global-heap object size was changed made HDF5 2.0 loop forever
inside an attribute read. So every HDF5 byte is parsed in a child process
(`_read_tree_isolated`) with CPU, memory and output limits and a wall-clock timeout, which
hands back plain data (a JSON header and float64 buffers, never a pickle): a crash, a hang or
a memory bomb costs that process only. Inside it, before any dataset's data is read, at most
MAX_H5_OBJECTS links are walked; external and soft links are refused, never followed;
datasets with external storage or a virtual layout are refused (those files are never
opened); filtered (compressed) datasets are refused (HDF5's inflate filter grows its output
buffer without bound, and Keras never compresses weights); each dataset's declared shape is
checked against MAX_UPLOAD_ELEMENTS (413) before `dset[()]`; attribute strings are bounded
by MAX_MODEL_CONFIG_BYTES. Optimizer state (Adam keeps two tensors per weight) is walked and
checked but never read.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .archive_checks import ArchiveError, CheckedZip
from .model_files import ModelFileError
from .model_source import EMBEDDING, ModelSource
from .nn.architecture import MERGE_MODES

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# --- limits of the HDF5 reader process ----------------------------------------------------

# In limits.py (HDF5_READER_*): a crafted 4 KB file made the HDF5 library loop at 100% CPU,
# so every HDF5 file is parsed in a child process held to these.
READER_SECONDS = limits.HDF5_READER_SECONDS
READER_CPU_SECONDS = limits.HDF5_READER_CPU_SECONDS
READER_MEMORY_BYTES = limits.HDF5_READER_MEMORY_BYTES
# Every attribute string the reader hands back, together (model_config and weight names).
_MAX_TEXT_BYTES = 8 * limits.MAX_MODEL_CONFIG_BYTES
# A link name and a full path: Keras' names are short; these bound the JSON header.
_MAX_NAME_CHARS = 1024
_MAX_PATH_CHARS = 4096
_MAX_HEADER_BYTES = _MAX_TEXT_BYTES + limits.MAX_H5_OBJECTS * 2 * (_MAX_PATH_CHARS + 512)
_MAX_OUTPUT_BYTES = 8 + _MAX_HEADER_BYTES + 8 * limits.MAX_UPLOAD_ELEMENTS
# Top-level groups of optimizer state (.keras / .weights.h5, and legacy .h5): walked, not read.
_OPTIMIZER_TREES = ("optimizer", "optimizer_weights")
# The only attributes read: everything else in the file stays unread.
_GROUP_ATTRS = ("model_config", "keras_version", "backend", "layer_names", "weight_names", "name")
# Keras splits these over layer_names0, layer_names1, ... when they outgrow an object header.
_CHUNKED_ATTRS = ("layer_names", "weight_names")
_DATASET_ATTRS = ("dtype",)  # Keras marks bfloat16 datasets (stored as 2-byte opaque values)

# --- what the engine computes -------------------------------------------------------------

RECURRENT = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}
BLOCKS = {"lstm": 4, "gru": 3, "rnn": 1}
# Layers that compute the identity at inference (they act only while training).
IDENTITY = (
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)
SUPPORTED = (
    "Sequential or single-chain Functional models of InputLayer, an optional Embedding, LSTM, GRU or "
    "SimpleRNN layers (one kind, equal units; each may be wrapped in Bidirectional, all or none of them, "
    "one merge_mode), and an optional Dense or TimeDistributed(Dense) head "
    "(linear or softmax); " + ", ".join(IDENTITY) + " are read as the identity they are at inference"
)
# Why a layer class the engine does not compute is refused (the rest get the generic reason).
_WHY_NOT = {
    **dict.fromkeys(
        ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"),
        "a convolutional LSTM: its gates are convolutions, not the matrix products the engine computes",
    ),
    **dict.fromkeys(
        ("Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention"),
        "attention mixes every step with every other; the engine computes a recurrent stack",
    ),
    **dict.fromkeys(
        ("LayerNormalization", "BatchNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization"),
        "a normalisation between layers, which the engine does not compute",
    ),
    **dict.fromkeys(
        ("Conv1D", "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose"),
        "a convolution over the steps, which the engine does not compute",
    ),
    **dict.fromkeys(
        (
            "Flatten",
            "Reshape",
            "Permute",
            "RepeatVector",
            "GlobalAveragePooling1D",
            "GlobalMaxPooling1D",
            "MaxPooling1D",
            "AveragePooling1D",
            "Cropping1D",
            "ZeroPadding1D",
        ),
        "it reshapes, pools or pads the steps",
    ),
    **dict.fromkeys(("CuDNNLSTM", "CuDNNGRU"), "a CuDNN layer (TensorFlow 1.x) with its own bias layout"),
    **dict.fromkeys(("Sequential", "Functional", "Model"), "a model nested inside the model"),
    "Lambda": "its computation is Python code, which is never run here",
    "Masking": "masking skips steps (the state carries over them), which the engine does not do",
    "RNN": "a generic keras.layers.RNN over a cell object; build the model with keras.layers.LSTM, GRU or SimpleRNN",
    "Activation": "an activation layer is read only directly after the Dense head, as linear or softmax",
}


def _snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: how Keras 3 names a layer's group in a weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_SNAKE_TO_CLASS = {
    _snake(c): c
    for c in ("InputLayer", "Embedding", "Dense", "TimeDistributed", "Bidirectional", *RECURRENT, *IDENTITY, *_WHY_NOT)
}
NO_BIAS = "(none: use_bias=False)"
UPLOAD_KERAS = "upload the .keras file (model.save('m.keras')) to have the layers and their settings read"


def _short(value: object, limit: int = 80) -> str:
    """A value from the file, quoted and cut, for a message (the file decides its length)."""
    try:
        text = repr(value)
    except RecursionError:  # a JSON value nested as deep as the parser allows
        return "(a deeply nested value)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refuse(msg: str, tensor: str | None = None, status: int = 422) -> ModelFileError:
    return ModelFileError(msg, tensor, status)


# --- the tree read from an HDF5 file (plain data: it crosses the process boundary) -----------


@dataclass
class _Dataset:
    shape: tuple[int, ...] | None  # None: a null dataspace
    dtype: str  # numpy's name, or "bfloat16"
    array: np.ndarray | None = None  # float64; read only for float datasets outside optimizer state
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Tree:
    groups: dict[str, dict[str, Any]]  # path ("" is the root) -> the attributes read
    datasets: dict[str, _Dataset]

    def children(self, path: str) -> list[str]:
        """Names directly under a group (groups and datasets)."""
        prefix = f"{path}/" if path else ""
        out = []
        for p in (*self.groups, *self.datasets):
            if p and p.startswith(prefix) and "/" not in p[len(prefix) :]:
                out.append(p[len(prefix) :])
        return out

    def datasets_under(self, path: str) -> list[str]:
        prefix = f"{path}/" if path else ""
        return [p for p in self.datasets if p.startswith(prefix)]


# --- inside the reader process: the walk, every check before any data -----------------------


class _Walker:
    def __init__(self, h5py: Any, filename: str):
        self.h5py = h5py
        self.filename = filename
        self.objects = 0
        self.numbers = 0
        self.text = 0
        self.tree = _Tree({}, {})

    def run(self, root: Any) -> _Tree:
        h5py = self.h5py
        stack = [("", root)]
        while stack:
            path, group = stack.pop()
            self.tree.groups[path] = self.attrs(group, path, _GROUP_ATTRS, _CHUNKED_ATTRS)
            for name in group:  # h5py iterates lazily: a group of a million links costs its first few
                self.objects += 1
                if self.objects > limits.MAX_H5_OBJECTS:
                    raise _refuse(
                        f"{self.filename} holds more than {limits.MAX_H5_OBJECTS} HDF5 groups and datasets; a Keras "
                        "file of a model this app accepts holds a few dozen",
                        status=413,
                    )
                child = f"{path}/{name}" if path else name
                if len(name) > _MAX_NAME_CHARS or len(child) > _MAX_PATH_CHARS:
                    raise _refuse(f"{self.filename}: an HDF5 name of {len(name)} characters ({_short(child)})")
                # The link itself first: an external link names another file, which is never opened.
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    raise _refuse(
                        f"{self.filename}: {child} is an external link to {_short(link.filename)} "
                        f"({_short(link.path)}); links to other files are never followed. Keras never writes them: "
                        "upload the file Keras saved",
                        child,
                    )
                if isinstance(link, h5py.SoftLink):
                    raise _refuse(
                        f"{self.filename}: {child} is a soft link to {_short(link.path)}; Keras never writes links, "
                        "so they are not followed. Upload the file Keras saved",
                        child,
                    )
                if not isinstance(link, h5py.HardLink):
                    raise _refuse(f"{self.filename}: {child} is a {type(link).__name__}; only plain objects are read")
                obj = group.get(name)
                if isinstance(obj, h5py.Group):
                    stack.append((child, obj))
                elif isinstance(obj, h5py.Dataset):
                    self.tree.datasets[child] = self.dataset(obj, child)
                # A committed datatype holds no numbers: nothing to read.
        return self.tree

    def dataset(self, dset: Any, path: str) -> _Dataset:
        # Layout before anything else: these would make HDF5 open files on this server.
        if dset.is_virtual:
            raise _refuse(
                f"{self.filename}: {path} is a virtual dataset (its numbers live in other files, which are never "
                "opened); Keras never writes one",
                path,
            )
        if dset.external:
            target = _short(dset.external[0][0])
            raise _refuse(
                f"{self.filename}: {path} keeps its numbers in an external file ({target}), which is never "
                "opened; Keras never writes external storage",
                path,
            )
        attrs = self.attrs(dset, path, _DATASET_ATTRS, ())
        dtype = dset.dtype
        bf16 = dtype.kind == "V" and dtype.itemsize == 2 and dtype.fields is None and attrs.get("dtype") == "bfloat16"
        floats = bf16 or (dtype.kind == "f" and dtype.itemsize in (2, 4, 8))
        shape = None if dset.shape is None else tuple(int(d) for d in dset.shape)
        entry = _Dataset(shape, "bfloat16" if bf16 else str(dtype)[:60], None, attrs)
        if not floats or shape is None or path.split("/")[0] in _OPTIMIZER_TREES:
            return entry  # never read: the interpretation refuses it if a weight is expected here
        if len(shape) > 3:
            raise _refuse(f"{self.filename}: {path} has {len(shape)} dimensions {shape}; expected at most 3", path)
        count = math.prod(shape)
        if self.numbers + count > limits.MAX_UPLOAD_ELEMENTS:
            raise _refuse(
                f"{self.filename}: {path} declares shape {shape} ({count} numbers), bringing the file to "
                f"{self.numbers + count}; a file may hold at most {limits.MAX_UPLOAD_ELEMENTS}, more than any "
                "model this app accepts",
                path,
                413,
            )
        if dset.id.get_create_plist().get_nfilters():
            raise _refuse(
                f"{self.filename}: {path} is stored compressed or filtered ({_short(dset.compression)}); Keras "
                "writes weights uncompressed, and a compressed dataset can inflate far past its size. Upload the "
                "file Keras saved",
                path,
            )
        if dset.chunks is not None and math.prod(dset.chunks) > max(count, 1):
            raise _refuse(f"{self.filename}: {path} declares chunks {dset.chunks} larger than its shape {shape}", path)
        self.numbers += count
        raw = dset[()]
        if bf16:
            # bfloat16 is the top half of a float32 (Keras writes it little-endian, as ml_dtypes holds it).
            bits = np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype="<u2").astype("<u4") << 16
            raw = bits.view("<f4").reshape(shape)
        array = np.asarray(raw, dtype=np.float64)
        if array.shape != shape:
            raise _refuse(f"{self.filename}: {path} read as shape {array.shape}, not its declared {shape}", path)
        entry.array = array
        return entry

    def attrs(self, obj: Any, path: str, names: tuple[str, ...], chunked: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            if name in obj.attrs:  # H5Aexists: no other attribute is enumerated or read
                value = self.attr(obj, name, path)
                if value is not None:
                    out[name] = value
        for base in chunked:
            if base in out or f"{base}0" not in obj.attrs:
                continue
            parts: list[str] = []
            k = 0
            while f"{base}{k}" in obj.attrs:
                if k >= limits.MAX_H5_OBJECTS:
                    raise _refuse(f"{self.filename}: {path} splits {base} over more than {k} attributes", status=413)
                value = self.attr(obj, f"{base}{k}", path)
                if not isinstance(value, list):
                    raise _refuse(f"{self.filename}: {path} attribute {base}{k} is not a list of names")
                parts.extend(value)
                k += 1
            out[base] = parts
        return out

    def attr(self, obj: Any, name: str, path: str) -> str | list[str] | None:
        """A string or a list of strings, checked by its declared shape and type before it is read."""
        where = f"{self.filename}: attribute {name} of {path or 'the root group'}"
        aid = obj.attrs.get_id(name)
        shape = aid.shape
        count = math.prod(shape) if shape is not None else 0
        dtype = aid.dtype
        if count > limits.MAX_H5_OBJECTS:
            raise _refuse(f"{where} holds {count} values; at most {limits.MAX_H5_OBJECTS} are read", status=413)
        strings = self.h5py.check_string_dtype(dtype) is not None or dtype.kind in "SU"
        if not strings:
            # Keras stores an empty list of names as an empty float array; other numbers are not read.
            return [] if count == 0 and shape is not None and len(shape) == 1 else None
        if dtype.kind in "SU" and dtype.itemsize * count > limits.MAX_MODEL_CONFIG_BYTES:
            raise _refuse(
                f"{where} declares {dtype.itemsize * count} bytes; at most {limits.MAX_MODEL_CONFIG_BYTES}",
                status=413,
            )
        value = obj.attrs[name]
        try:
            if isinstance(value, np.ndarray) and value.ndim > 0:
                out: str | list[str] = [_text(v) for v in value.ravel()]
                size = sum(len(v) for v in out)
            else:
                out = _text(value[()] if isinstance(value, np.ndarray) else value)
                size = len(out)
        except UnicodeDecodeError:
            raise _refuse(f"{where} is not UTF-8 text") from None
        if size > limits.MAX_MODEL_CONFIG_BYTES:
            raise _refuse(f"{where} holds {size} characters; at most {limits.MAX_MODEL_CONFIG_BYTES}", status=413)
        self.text += size
        if self.text > _MAX_TEXT_BYTES:
            raise _refuse(f"{self.filename}: its attributes hold over {_MAX_TEXT_BYTES} characters of text", status=413)
        return out


def _text(value: object) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    raise UnicodeDecodeError("utf-8", b"", 0, 1, f"not a string but {type(value).__name__}")


def _read_tree(data: bytes, filename: str) -> _Tree:
    """The walk, in whatever process calls it (the reader process, or a test)."""
    import h5py  # only the reader process needs it

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            return _Walker(h5py, filename).run(f)
    except ModelFileError:
        raise
    except MemoryError:
        raise _refuse(f"{filename}: reading it needs more memory than a model file may take", status=413) from None
    except Exception as err:
        # h5py raises OSError for most damage, but KeyError, ValueError, RuntimeError, TypeError
        # and others come out of a hostile file too: all are the file's problem, named as such.
        raise _refuse(
            f"{filename}: not a readable HDF5 file ({type(err).__name__}: {_short(str(err), 160)}); "
            "upload the file Keras saved, unchanged"
        ) from None


def _encode_tree(tree: _Tree) -> bytes:
    buffers, offset, datasets = [], 0, {}
    for path, d in tree.datasets.items():
        entry: dict[str, Any] = {"shape": None if d.shape is None else list(d.shape), "dtype": d.dtype}
        entry["attrs"], entry["data"] = d.attrs, None
        if d.array is not None:
            raw = np.ascontiguousarray(d.array, dtype="<f8").tobytes()
            entry["data"] = [offset, int(d.array.size)]
            buffers.append(raw)
            offset += len(raw)
        datasets[path] = entry
    header = json.dumps({"ok": True, "groups": tree.groups, "datasets": datasets}).encode()
    if len(header) > _MAX_HEADER_BYTES:
        return _encode_error(_refuse("the file's names and attributes are too large to hand back", status=413))
    return struct.pack("<Q", len(header)) + header + b"".join(buffers)


def _encode_error(err: ModelFileError) -> bytes:
    header = json.dumps({"ok": False, "error": str(err), "tensor": err.tensor, "status": err.status}).encode()
    return struct.pack("<Q", len(header)) + header


def _limit_self() -> None:
    """The reader process limits itself before it touches the file (Linux: /proc and setrlimit)."""
    try:
        import resource
    except ImportError:  # not POSIX: the parent's timeout still holds
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (READER_CPU_SECONDS, READER_CPU_SECONDS + 5))
    # Its output goes to a file: more than the largest answer is an error (SIGXFSZ).
    resource.setrlimit(resource.RLIMIT_FSIZE, (_MAX_OUTPUT_BYTES, _MAX_OUTPUT_BYTES))
    try:
        with open("/proc/self/status") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        cap = size_kb * 1024 + READER_MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, StopIteration, ValueError):
        pass  # no /proc: CPU and time limits only


def _worker() -> None:
    """The reader process: request on stdin (8-byte length, JSON, the HDF5 bytes), answer on stdout."""
    import h5py  # noqa: F401  (imported before the memory limit, which counts its libraries)

    _limit_self()
    raw = sys.stdin.buffer.read()
    (length,) = struct.unpack_from("<Q", raw)
    request = json.loads(raw[8 : 8 + length])
    data = raw[8 + length :]
    del raw
    try:
        out = _encode_tree(_read_tree(data, request["filename"]))
    except ModelFileError as err:
        out = _encode_error(err)
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()


_ROOT = str(Path(__file__).resolve().parent.parent)
_WORKER = "import sys; sys.path.insert(0, sys.argv[1]); from app.keras_files import _worker; _worker()"
# Each library's threads reserve address space; one is plenty for reading a file. No HDF5
# filter plugin is loaded (filtered datasets are refused, but before that check HDF5 may look).
_WORKER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HDF5_PLUGIN_PRELOAD": "::",
    "HDF5_USE_FILE_LOCKING": "FALSE",
}


def _read_tree_isolated(data: bytes, filename: str) -> _Tree:
    """`_read_tree` in a child process with limits (see the module docstring); its answer checked here."""
    request = json.dumps({"filename": filename}).encode()
    payload = struct.pack("<Q", len(request)) + request + data
    env = {**os.environ, **_WORKER_ENV}
    # -I: the child ignores PYTHON* variables and the user's site directory; it finds this app by path.
    command = [sys.executable, "-I", "-c", _WORKER, _ROOT]
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL, env=env)
        try:
            proc.communicate(payload, timeout=READER_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise _refuse(
                f"{filename}: reading it as HDF5 took longer than {READER_SECONDS:g} s and was stopped; a Keras "
                "file of a model this app accepts reads in under a second. The file is damaged or was not written "
                "by Keras"
            ) from None
        if proc.returncode != 0:
            raise _refuse(
                f"{filename}: the HDF5 library could not read it ({_how_it_ended(proc.returncode)}); "
                "the file is damaged or was not written by Keras"
            )
        size = out.seek(0, io.SEEK_END)
        if size > _MAX_OUTPUT_BYTES:
            raise _refuse(f"{filename}: reading it produced more than any model file may hold", status=413)
        out.seek(0)
        blob = out.read()
    return _decode_tree(blob, filename)


def _how_it_ended(code: int) -> str:
    if code >= 0:
        return f"the reader exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    why = {"SIGXCPU": "over its CPU time", "SIGXFSZ": "over its output size", "SIGSEGV": "a crash"}
    return f"the reader stopped with {name}" + (f", {why[name]}" if name in why else "")


def _decode_tree(blob: bytes, filename: str) -> _Tree:
    """The reader's answer, trusted no further than its format: sizes and offsets checked."""
    try:
        (length,) = struct.unpack_from("<Q", blob)
        if length > _MAX_HEADER_BYTES or 8 + length > len(blob):
            raise ValueError(f"a header of {length} bytes")
        header = json.loads(blob[8 : 8 + length])
        if not header["ok"]:
            tensor = header.get("tensor")
            status = header.get("status")
            raise ModelFileError(
                str(header["error"]),
                tensor if isinstance(tensor, str) else None,
                status if status in (413, 422) else 422,
            )
        body = memoryview(blob)[8 + length :]
        groups = {str(p): dict(a) for p, a in header["groups"].items()}
        datasets, numbers = {}, 0
        for path, e in header["datasets"].items():
            shape = None if e["shape"] is None else tuple(int(d) for d in e["shape"])
            entry = _Dataset(shape, str(e["dtype"]), None, dict(e["attrs"]))
            if e["data"] is not None:
                offset, count = (int(v) for v in e["data"])
                numbers += count
                if shape is None or count != math.prod(shape) or numbers > limits.MAX_UPLOAD_ELEMENTS:
                    raise ValueError(f"{path}: {count} numbers for shape {shape}")
                if offset < 0 or offset + 8 * count > len(body):
                    raise ValueError(f"{path}: data outside the answer")
                entry.array = np.frombuffer(body, "<f8", count, offset).astype(np.float64).reshape(shape)
            datasets[str(path)] = entry
        return _Tree(groups, datasets)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, struct.error, RecursionError) as err:
        raise _refuse(f"{filename}: the HDF5 reader's answer was malformed ({_short(str(err))})") from None


# --- the configuration: a chain of layers ----------------------------------------------------


@dataclass
class _Entry:
    """One layer of the configuration."""

    cls: str
    name: str
    cfg: dict[str, Any]
    raw: dict[str, Any]


@dataclass
class _Layer:
    """A layer with weights: Embedding, a recurrent layer (or a Bidirectional one), or the Dense head."""

    cls: str  # "Embedding", "LSTM", "GRU", "SimpleRNN", "Dense" (a Bidirectional layer: its inner class)
    name: str
    settings: dict[str, Any]  # what the configuration says (empty without one)
    weights: dict[str, str] = field(default_factory=dict)  # role -> dataset path
    where: str = ""  # its group in the file
    wrapper: str | None = None  # "TimeDistributed", "Bidirectional"
    # A Bidirectional layer: its backward layer (the reverse direction: its own weights), and
    # how the two outputs merge (None: the file does not say, as a weights file does not).
    backward: _Layer | None = None
    merge_mode: str | None = None

    def halves(self) -> list[_Layer]:
        """The layer's directions: itself (forward), and its backward layer when it has one."""
        return [self] if self.backward is None else [self, self.backward]


@dataclass
class _Plan:
    """The model as the engine will compute it, before its numbers are read."""

    filename: str
    from_config: bool
    model: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    embedding: _Layer | None = None
    rnns: list[_Layer] = field(default_factory=list)
    dense: _Layer | None = None
    softmax: bool = False
    ignored: list[dict[str, str]] = field(default_factory=list)

    def add(self, layer: _Layer) -> None:
        """Layers in model order: an Embedding first, then the recurrent layers, then one Dense."""
        what = f"{self.filename}: layer {_short(layer.name)} ({layer.cls})"
        if layer.cls == "Embedding":
            if self.embedding is not None:
                raise _refuse(f"{what} is a second Embedding (after {_short(self.embedding.name)}); {SUPPORTED}")
            if self.rnns or self.dense:
                raise _refuse(f"{what} comes after other layers; an Embedding is read only as the first layer")
            self.embedding = layer
        elif layer.cls in RECURRENT:
            if self.dense is not None:
                raise _refuse(
                    f"{what} comes after the Dense layer {_short(self.dense.name)}: a Dense between recurrent layers "
                    "is not computed (the engine feeds each recurrent layer the one below's h)"
                )
            self.rnns.append(layer)
        else:
            if not self.rnns:
                raise _refuse(
                    f"{what} comes before the recurrent layers; the engine feeds the input (or the Embedding's "
                    "rows) straight into the first recurrent layer"
                )
            if self.dense is not None:
                raise _refuse(
                    f"{what} is a second Dense (after {_short(self.dense.name)}): a multi-layer head is not "
                    "computed; the engine reads one Dense on top of the recurrent layers"
                )
            self.dense = layer


def _parse_json(raw: bytes | str, filename: str, what: str) -> Any:
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > limits.MAX_MODEL_CONFIG_BYTES:
        raise _refuse(f"{filename}: {what} is {size} bytes; at most {limits.MAX_MODEL_CONFIG_BYTES}", status=413)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _refuse(f"{filename}: {what} is not valid JSON ({_short(str(err), 120)})") from None


def _entry(raw: Any, filename: str) -> _Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("class_name"), str):
        raise _refuse(f"{filename}: a layer of the configuration is not an object with a class_name")
    cfg = raw.get("config")
    if not isinstance(cfg, dict):
        raise _refuse(f"{filename}: layer {_short(raw.get('class_name'))} has no config object")
    name = cfg.get("name", raw.get("name"))
    if not isinstance(name, str):
        raise _refuse(f"{filename}: a {_short(raw['class_name'])} layer has no name")
    if len(name) > _MAX_NAME_CHARS or len(raw["class_name"]) > _MAX_NAME_CHARS:
        raise _refuse(f"{filename}: a layer name or class of over {_MAX_NAME_CHARS} characters ({_short(name)})")
    return _Entry(raw["class_name"], name, cfg, raw)


def _name(value: Any) -> str | None:
    """A name from the configuration, kept in `read` only if it is a short string."""
    return value if isinstance(value, str) and len(value) <= _MAX_NAME_CHARS else None


def _shape(value: Any) -> list[int | None] | None:
    """A declared batch shape, kept only if it is one: a few sizes (or None for any)."""
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0) for v in value):
        return None
    return value


def _is_ref(value: Any) -> bool:
    """[layer name, node index, tensor index(, kwargs)]: how a configuration points at a tensor."""
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])
    )


def _refs(node: Any) -> list[tuple[str, int, int]]:
    """Every tensor a call node reads: Keras 3's __keras_tensor__ objects, Keras 2's lists."""
    out, stack = [], [node]
    while stack:  # a loop, not recursion: the configuration decides how deep it nests
        obj = stack.pop()
        if isinstance(obj, dict):
            inner = obj.get("config")
            tensor = obj.get("class_name") == "__keras_tensor__" and isinstance(inner, dict)
            history = inner.get("keras_history") if tensor else None
            if _is_ref(history):
                out.append((history[0], history[1], history[2]))
            else:
                stack.extend(obj.values())
        elif isinstance(obj, list):
            if _is_ref(obj):
                out.append((obj[0], obj[1], obj[2]))
                stack.extend(obj[3:])  # Keras 2 kwargs may hold more tensors (a mask, initial states)
            else:
                stack.extend(obj)
    return out


def _endpoints(value: Any, filename: str, what: str) -> list[tuple[str, int, int]]:
    if _is_ref(value):
        return [(value[0], value[1], value[2])]
    if isinstance(value, list) and all(_is_ref(v) for v in value):
        return [(v[0], v[1], v[2]) for v in value]
    raise _refuse(f"{filename}: the configuration's {what} is not a list of layers")


def _model_layers(config: Any, filename: str) -> tuple[dict[str, Any], list[_Entry], list[_Entry]]:
    """(the model's class and name, its layers in the configuration's order, the same along the chain)."""
    if not isinstance(config, dict):
        raise _refuse(f"{filename}: the model configuration is not a JSON object")
    cls, inner = config.get("class_name"), config.get("config")
    if cls == "Sequential":
        layers = inner.get("layers") if isinstance(inner, dict) else inner  # very old Keras: a bare list
        if not isinstance(layers, list):
            raise _refuse(f"{filename}: the Sequential configuration has no list of layers")
        entries = [_entry(raw, filename) for raw in layers]
        model = {"class": "Sequential", "name": _name(inner.get("name")) if isinstance(inner, dict) else None}
        if isinstance(inner, dict) and _shape(inner.get("build_input_shape")):
            model["build_input_shape"] = inner["build_input_shape"]
        return model, entries, entries
    if cls in ("Functional", "Model") and isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        entries = [_entry(raw, filename) for raw in inner["layers"]]
        return {"class": cls, "name": _name(inner.get("name"))}, entries, _chain(inner, entries, filename)
    registered = config.get("registered_name")
    raise _refuse(
        f"{filename}: the model is a {_short(cls)}"
        + (f" (registered as {_short(registered)})" if registered and registered != cls else "")
        + "; only Sequential and Functional models are read: a subclassed model's computation is Python code, "
        "which is not in the file. Rebuild it as keras.Sequential([...]) of the same layers, copy the weights "
        "(set_weights) and save that"
    )


def _chain(inner: dict[str, Any], entries: list[_Entry], filename: str) -> list[_Entry]:
    """A Functional model's layers from its input to its output, refused unless they form one chain."""
    by_name: dict[str, _Entry] = {}
    below: dict[str, str | None] = {}
    for e in entries:
        if e.name in by_name:
            raise _refuse(f"{filename}: two layers are named {_short(e.name)}")
        by_name[e.name] = e
    for e in entries:
        nodes = e.raw.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise _refuse(f"{filename}: layer {_short(e.name)} has malformed inbound_nodes")
        if len(nodes) > 1:
            raise _refuse(
                f"{filename}: layer {_short(e.name)} ({e.cls}) is called {len(nodes)} times (a shared layer); the "
                f"engine reads a single chain of layers. {SUPPORTED}"
            )
        refs = _refs(nodes[0]) if nodes else []
        sources = {r[0] for r in refs}
        if len(sources) > 1:
            raise _refuse(
                f"{filename}: layer {_short(e.name)} ({e.cls}) reads {len(sources)} layers "
                f"({', '.join(_short(s) for s in sorted(sources))}); the engine reads a single chain of layers, "
                "each reading the one before"
            )
        for source, node_index, tensor_index in refs:
            if source not in by_name:
                raise _refuse(f"{filename}: layer {_short(e.name)} reads {_short(source)}, which is not a layer")
            if node_index != 0 or tensor_index != 0:
                raise _refuse(
                    f"{filename}: layer {_short(e.name)} reads output {tensor_index} of {_short(source)} (call "
                    f"{node_index}): a state output or a second call, which the engine does not compute"
                )
        below[e.name] = refs[0][0] if refs else None
    inputs = _endpoints(inner.get("input_layers"), filename, "input_layers")
    outputs = _endpoints(inner.get("output_layers"), filename, "output_layers")
    if len(inputs) != 1 or len(outputs) != 1:
        raise _refuse(
            f"{filename}: the model has {len(inputs)} inputs and {len(outputs)} outputs; the engine reads one of each"
        )
    if outputs[0][0] not in by_name or outputs[0][1:] != (0, 0):
        raise _refuse(f"{filename}: the model's output {_short(outputs[0])} is not a layer's first output")
    chain, current = [], outputs[0][0]
    while current is not None:
        if len(chain) > len(entries):
            raise _refuse(f"{filename}: the layers' inbound_nodes form a cycle")
        chain.append(by_name[current])
        current = below[current]
    chain.reverse()
    if chain[0].name != inputs[0][0]:
        raise _refuse(f"{filename}: the chain of layers from the output does not start at the model's input")
    off_chain = [e.name for e in entries if e.name not in {c.name for c in chain}]
    if off_chain:
        raise _refuse(
            f"{filename}: layer {_short(off_chain[0])} is not on the one path from the input to the output (a "
            "branch); the engine reads a single chain of layers"
        )
    return chain


def _custom(e: _Entry) -> str | None:
    """How a layer shows it is not Keras' own class (its code would be needed, and is never run)."""
    module, registered = e.raw.get("module"), e.raw.get("registered_name")
    if isinstance(module, str) and module != "keras" and not module.startswith("keras."):
        return f"module {_short(module)}"
    if registered is not None and registered != e.cls:
        return f"registered as {_short(registered)}"
    return None


def _activation(value: Any) -> str:
    """An activation as Keras serialises it: a name, None, or (for a function) an object naming it."""
    if value is None:
        return "linear"
    if isinstance(value, dict) and isinstance(value.get("config"), str) and value.get("class_name") == "function":
        module = value.get("module")
        if module is None or (isinstance(module, str) and module.startswith("keras")):
            return value["config"]
    if isinstance(value, str):
        return value
    return _short(value)


def _dtype_policy(cfg: dict[str, Any]) -> str | None:
    policy = cfg.get("dtype")
    if isinstance(policy, dict):
        policy = policy.get("config", {}).get("name") if isinstance(policy.get("config"), dict) else None
    return policy if isinstance(policy, str) else None


_FLOAT_POLICIES = ("float16", "float32", "float64", "bfloat16", "mixed_float16", "mixed_bfloat16")


def _plan_from_config(chain: list[_Entry], model: dict[str, Any], filename: str) -> _Plan:
    if not chain:
        raise _refuse(f"{filename}: its configuration lists no layers")
    plan = _Plan(filename, from_config=True, model=model)
    for index, e in enumerate(chain):
        what = f"{filename}: layer {_short(e.name)} ({e.cls})"
        custom = _custom(e)
        if custom:
            raise _refuse(
                f"{what} is a custom class ({custom}): its computation is Python code, which is not in the file "
                f"and is never run here. {SUPPORTED}"
            )
        policy = (
            _dtype_policy(e.cfg)
            if e.cls in (*RECURRENT, "Embedding", "Dense", "TimeDistributed", "Bidirectional")
            else None
        )
        if policy is not None and policy not in _FLOAT_POLICIES:
            raise _refuse(f"{what} has the dtype policy {_short(policy)} (quantized); only float weights are read")
        if e.cls == "InputLayer":
            plan.input = _input_of(e.cfg, e.name)
        elif e.cls in IDENTITY:
            plan.ignored.append({"class": e.cls, "name": e.name})
        elif e.cls == "Bidirectional":
            plan.add(_bidirectional(e, filename))
        elif e.cls in RECURRENT:
            plan.add(_recurrent(e, filename))
        elif e.cls == "Embedding":
            plan.add(_embedding(e, filename))
        elif e.cls == "Dense":
            plan.add(_dense(e, e.cfg, None, plan, filename))
        elif e.cls == "TimeDistributed":
            inner = e.cfg.get("layer")
            inner_entry = _entry(inner, filename) if isinstance(inner, dict) else None
            if inner_entry is None or inner_entry.cls != "Dense" or _custom(inner_entry):
                inner_cls = inner_entry.cls if inner_entry else None
                raise _refuse(
                    f"{what} wraps {_short(inner_cls)}; TimeDistributed is read only around a Dense head. {SUPPORTED}"
                )
            plan.add(_dense(e, inner_entry.cfg, "TimeDistributed", plan, filename))
        elif e.cls == "Activation":
            _activation_layer(e, plan, filename)
        else:
            why = _WHY_NOT.get(e.cls, "the engine does not compute it")
            raise _refuse(f"{what}: {why}. {SUPPORTED}", e.name)
        if index == 0 and e.cls != "InputLayer":
            # Sequential models saved without an InputLayer carry the input's shape on the first layer.
            plan.input = _input_of(e.cfg, None) | {"from": e.name}
    if not plan.input.get("batch_shape"):
        build = chain[0].raw.get("build_config")
        shape = model.get("build_input_shape") or (build.get("input_shape") if isinstance(build, dict) else None)
        plan.input["batch_shape"] = _shape(shape)
    _check_stack(plan)
    return plan


def _input_of(cfg: dict[str, Any], name: str | None) -> dict[str, Any]:
    dtype = cfg.get("dtype")
    return {
        "name": name,
        "batch_shape": _shape(cfg.get("batch_shape", cfg.get("batch_input_shape"))),
        "dtype": dtype if dtype in ("float16", "float32", "float64", "bfloat16", "int32", "int64") else None,
    }


def _recurrent(e: _Entry, filename: str) -> _Layer:
    cfg, what = e.cfg, f"{filename}: layer {_short(e.name)} ({e.cls})"
    units = cfg.get("units")
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise _refuse(f"{what} has units={_short(units)}; expected a positive integer")
    activation = _activation(cfg.get("activation", "tanh"))
    allowed = ("tanh", "relu") if e.cls == "SimpleRNN" else ("tanh",)
    if activation not in allowed:
        raise _refuse(
            f"{what} has activation={activation!r}; the engine computes {' or '.join(allowed)} for a {e.cls}. "
            f"Retrain with activation='tanh' (Keras' default)",
            e.name,
        )
    settings: dict[str, Any] = {"units": units, "activation": activation}
    if e.cls != "SimpleRNN":
        recurrent = _activation(cfg.get("recurrent_activation", "sigmoid"))
        if recurrent != "sigmoid":
            raise _refuse(
                f"{what} has recurrent_activation={recurrent!r}; the engine computes the gates with the logistic "
                "sigmoid only (Keras 2 before 2.3 defaulted to hard_sigmoid). Retrain with "
                "recurrent_activation='sigmoid' (Keras' default now)",
                e.name,
            )
        settings["recurrent_activation"] = recurrent
    use_bias = cfg.get("use_bias", True)
    settings["use_bias"] = bool(use_bias)
    if e.cls == "GRU":
        reset_after = cfg.get("reset_after")
        if reset_after is False:
            raise _refuse(
                f"{what} has reset_after=False: it applies the reset gate before the recurrent product, which the "
                "engine (PyTorch's GRU) does not compute. Retrain with reset_after=True (Keras' default)",
                e.name,
            )
        settings["reset_after"] = reset_after  # None: told from the bias' shape
    for flag, why in (
        (
            "go_backwards",
            "alone, a layer reading the sequence backwards answers in reversed step order, which the engine does "
            "not compute; a reverse direction is read inside Bidirectional, beside its forward twin",
        ),
        ("return_state", "it also returns its states as outputs; the engine's model has one output"),
        ("time_major", "its input is time-major; the engine reads (batch, time, features) models"),
    ):
        if cfg.get(flag):
            raise _refuse(f"{what} has {flag}=True: {why}. Retrain with {flag}=False", e.name)
        settings[flag] = bool(cfg.get(flag, False))
    settings["return_sequences"] = bool(cfg.get("return_sequences", False))
    settings["stateful"] = bool(cfg.get("stateful", False))  # read, not used: each run starts from zero states
    return _Layer(e.cls, e.name, settings)


# Settings of a Bidirectional layer's backward layer that may differ from its forward layer's:
# its name, go_backwards (the mirror itself), and what only acts while training or at build.
_MIRROR_FREE = ("name", "go_backwards", "trainable", "seed", "dropout", "recurrent_dropout")


def _bidirectional(e: _Entry, filename: str) -> _Layer:
    """A Bidirectional wrapper around LSTM, GRU or SimpleRNN: its forward layer read as any recurrent
    layer, its backward layer the forward's mirror (go_backwards=True, every other setting equal),
    and its merge_mode one the engine computes."""
    what = f"{filename}: layer {_short(e.name)} (Bidirectional)"
    inner = e.cfg.get("layer")
    forward_entry = _entry(inner, filename) if isinstance(inner, dict) else None
    if forward_entry is None or forward_entry.cls not in RECURRENT or _custom(forward_entry):
        inner_cls = forward_entry.cls if forward_entry else None
        raise _refuse(
            f"{what} wraps {_short(inner_cls)}; Bidirectional is read around LSTM, GRU or SimpleRNN. {SUPPORTED}"
        )
    merge_mode = e.cfg.get("merge_mode", "concat")
    if merge_mode is None:
        raise _refuse(
            f"{what} has merge_mode=None: it returns its two directions as two separate outputs, which the engine "
            f"(one output per layer) does not compute. Use merge_mode concat, sum, ave or mul",
            e.name,
        )
    if merge_mode not in MERGE_MODES:
        raise _refuse(
            f"{what} has merge_mode={_short(merge_mode)}; the engine merges the two directions by "
            f"{', '.join(MERGE_MODES)}",
            e.name,
        )
    if forward_entry.cfg.get("go_backwards"):
        raise _refuse(
            f"{what}: its forward layer {_short(forward_entry.name)} has go_backwards=True (so its 'backward' layer "
            "runs forward); the engine reads a Bidirectional whose forward layer runs forward in time",
            e.name,
        )
    forward = _recurrent(forward_entry, filename)
    backward_cfg = e.cfg.get("backward_layer")
    backward_name = f"backward_{forward_entry.name.removeprefix('forward_')}"
    if backward_cfg is not None:
        backward_entry = _entry(backward_cfg, filename) if isinstance(backward_cfg, dict) else None
        if backward_entry is None or backward_entry.cls != forward_entry.cls or _custom(backward_entry):
            other = backward_entry.cls if backward_entry else None
            raise _refuse(
                f"{what}: its backward_layer is {_short(other)} and its forward layer {forward_entry.cls}; the engine "
                "reads a backward layer that mirrors the forward one",
                e.name,
            )
        if backward_entry.cfg.get("go_backwards") is not True:
            raise _refuse(
                f"{what}: its backward_layer {_short(backward_entry.name)} has go_backwards="
                f"{_short(backward_entry.cfg.get('go_backwards'))}; a backward layer reads the sequence from its end",
                e.name,
            )
        a, b = _mirror_settings(forward_entry.cfg), _mirror_settings(backward_entry.cfg)
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                raise _refuse(
                    f"{what}: its backward_layer {_short(backward_entry.name)} differs from the forward layer in "
                    f"{_short(key)} ({_short(b.get(key), 40)} against {_short(a.get(key), 40)}); the engine reads "
                    "a backward layer that mirrors the forward one (go_backwards=True, every other setting equal)",
                    e.name,
                )
        backward_name = backward_entry.name
    forward.wrapper = "Bidirectional"
    forward.merge_mode = merge_mode
    forward.backward = _Layer(forward.cls, backward_name, dict(forward.settings) | {"go_backwards": True})
    forward.settings |= {"merge_mode": merge_mode, "forward_layer": forward_entry.name, "backward_layer": backward_name}
    forward.name = e.name
    return forward


def _mirror_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """A recurrent layer's settings that act at inference (initializers, names, dropout set aside;
    Keras' shared_object_id, which numbers objects in memory, dropped at the first level of nesting)."""

    def plain(value: Any) -> Any:
        return {k: v for k, v in value.items() if k != "shared_object_id"} if isinstance(value, dict) else value

    return {k: plain(v) for k, v in cfg.items() if k not in _MIRROR_FREE and not k.endswith("_initializer")}


def _embedding(e: _Entry, filename: str) -> _Layer:
    cfg, what = e.cfg, f"{filename}: layer {_short(e.name)} (Embedding)"
    if cfg.get("mask_zero"):
        raise _refuse(
            f"{what} has mask_zero=True: Keras then skips every step whose id is 0 (the state carries over it), "
            "which the engine does not do. Retrain with mask_zero=False, or upload a model without masking",
            e.name,
        )
    if cfg.get("lora_rank"):
        raise _refuse(f"{what} has lora_rank={_short(cfg.get('lora_rank'))}; merge the LoRA weights and save again")
    settings = {"input_dim": cfg.get("input_dim"), "output_dim": cfg.get("output_dim"), "mask_zero": False}
    length = cfg.get("input_length")  # Keras 2: the steps, when fixed
    if isinstance(length, int) and not isinstance(length, bool) and length > 0:
        settings["input_length"] = cfg["input_length"]
    return _Layer("Embedding", e.name, settings)


def _dense(e: _Entry, cfg: dict[str, Any], wrapper: str | None, plan: _Plan, filename: str) -> _Layer:
    what = f"{filename}: layer {_short(e.name)} ({wrapper + '(Dense)' if wrapper else 'Dense'})"
    activation = _activation(cfg.get("activation"))
    if activation == "softmax":
        plan.softmax = True
    elif activation != "linear":
        raise _refuse(
            f"{what} has activation={activation!r}; a head is read as linear (values) or softmax (logits and their "
            "probabilities). Upload a model whose Dense head is linear or softmax",
            e.name,
        )
    if cfg.get("lora_rank"):
        raise _refuse(f"{what} has lora_rank={_short(cfg.get('lora_rank'))}; merge the LoRA weights and save again")
    if cfg.get("quantization_config"):
        raise _refuse(f"{what} is quantized; only float weights are read")
    settings = {"units": cfg.get("units"), "activation": activation, "use_bias": bool(cfg.get("use_bias", True))}
    return _Layer("Dense", e.name, settings, wrapper=wrapper)


def _activation_layer(e: _Entry, plan: _Plan, filename: str) -> None:
    """An Activation directly after a linear Dense head: softmax (logits) or linear; anything else refused."""
    activation = _activation(e.cfg.get("activation"))
    dense = plan.dense
    if dense is None or dense.settings.get("activation") != "linear" or plan.softmax:
        raise _refuse(
            f"{filename}: layer {_short(e.name)} (Activation {activation!r}): {_WHY_NOT['Activation']}", e.name
        )
    if activation == "softmax":
        plan.softmax = True
        dense.settings["then"] = f"Activation softmax ({e.name})"
    elif activation != "linear":
        raise _refuse(
            f"{filename}: layer {_short(e.name)} applies {activation!r} to the Dense head's outputs; a head is read "
            "as linear (values) or softmax (logits and their probabilities)",
            e.name,
        )


def _check_stack(plan: _Plan) -> None:
    """What only the whole stack shows: one cell kind, one hidden size, one nonlinearity, steps."""
    filename = plan.filename
    if not plan.rnns:
        raise _refuse(f"{filename}: no LSTM, GRU or SimpleRNN layer found. {SUPPORTED}")
    if len(plan.rnns) > limits.MAX_LAYERS:
        raise _refuse(f"{filename} has {len(plan.rnns)} recurrent layers; at most {limits.MAX_LAYERS} are computed")
    first = plan.rnns[0]
    for layer in plan.rnns[1:]:
        if layer.cls != first.cls:
            raise _refuse(
                f"{filename}: layer {_short(first.name)} is {first.cls} and layer {_short(layer.name)} is "
                f"{layer.cls}; the engine computes a stack of one kind of layer"
            )
        for setting in ("units", "activation"):
            a, b = first.settings.get(setting), layer.settings.get(setting)
            if a is not None and b is not None and a != b:
                raise _refuse(
                    f"{filename}: layer {_short(first.name)} has {setting}={a!r} and layer {_short(layer.name)} has "
                    f"{setting}={b!r}; the engine's stack has one "
                    + ("hidden size for every layer" if setting == "units" else "activation for every layer")
                )
    for below, above in zip(plan.rnns, plan.rnns[1:], strict=False):
        if below.settings and not below.settings.get("return_sequences"):
            raise _refuse(
                f"{filename}: layer {_short(below.name)} returns only its last step (return_sequences=False) but "
                f"feeds the recurrent layer {_short(above.name)}"
            )
    both = [layer.backward is not None for layer in plan.rnns]
    if any(both) and not all(both):
        one, other = plan.rnns[both.index(True)], plan.rnns[both.index(False)]
        raise _refuse(
            f"{filename}: layer {_short(one.name)} is Bidirectional and layer {_short(other.name)} is not; the "
            "engine's stack runs both directions in every layer or in none"
        )
    modes = {layer.merge_mode for layer in plan.rnns if layer.merge_mode is not None}
    if len(modes) > 1:
        raise _refuse(
            f"{filename}: its Bidirectional layers merge their directions differently ({', '.join(sorted(modes))}); "
            "the engine's stack has one merge_mode"
        )
    top = plan.rnns[-1]
    if top.backward is not None and top.settings and not top.settings.get("return_sequences"):
        raise _refuse(
            f"{filename}: layer {_short(top.name)} (Bidirectional) returns only its last step "
            "(return_sequences=False): the forward direction's last step merged with the backward direction's own "
            "last, which is the first step of the sequence, so no single step of the output the engine computes. "
            "Use return_sequences=True (and read the step you need)",
            top.name,
        )


# --- where each layer's weights are ----------------------------------------------------------


def _vars(tree: _Tree, path: str, roles: tuple[str, ...], optional: str | None, layer: _Layer, filename: str) -> None:
    """Keras 3 numbers a layer's variables 0, 1, ... in the order it creates them."""
    names = sorted(n for n in tree.children(path) if f"{path}/{n}" in tree.datasets)
    expected = [str(i) for i in range(len(roles))]
    allowed = [expected] + ([expected[:-1]] if optional else [])
    use_bias = layer.settings.get("use_bias")
    if optional and use_bias is not None:
        # A configuration that states use_bias must agree with the variables stored.
        allowed = [expected] if use_bias else [expected[:-1]]
    if names not in allowed:
        listed = ", ".join(f"{i} {r}" for i, r in enumerate(roles))
        raise _refuse(
            f"{filename}: {path} holds the variables {names or 'none'}; a {layer.cls} layer has {listed}"
            + (f" ({optional} only with use_bias=True)" if optional else ""),
            path,
        )
    layer.weights = {roles[int(n)]: f"{path}/{n}" for n in names}
    layer.where = path.rsplit("/vars", 1)[0]


def _keras3_vars(tree: _Tree, group: str, layer: _Layer, filename: str) -> None:
    if layer.cls in RECURRENT and layer.backward is not None:
        # Bidirectional: Keras 3 keeps each direction's layer under forward_layer/ and backward_layer/.
        for half, side in zip(layer.halves(), ("forward_layer", "backward_layer"), strict=True):
            roles = ("kernel", "recurrent_kernel", "bias")
            _vars(tree, f"{group}/{side}/cell/vars", roles, "bias", half, filename)
            half.where = f"{group}/{side}"
        return
    if layer.cls in RECURRENT:
        _vars(tree, f"{group}/cell/vars", ("kernel", "recurrent_kernel", "bias"), "bias", layer, filename)
    elif layer.cls == "Embedding":
        _vars(tree, f"{group}/vars", ("embeddings",), None, layer, filename)
    else:
        inner = f"{group}/layer/vars" if layer.wrapper else f"{group}/vars"
        _vars(tree, inner, ("kernel", "bias"), "bias", layer, filename)
    layer.where = group


def _keras3_container(tree: _Tree, filename: str) -> str:
    for container in ("layers", "_layer_checkpoint_dependencies"):  # the second: Keras 2.13's .keras
        if container in tree.groups:
            return container
    raise _refuse(f"{filename}: no 'layers' group; not the weights of a Keras 3 model")


def _vars_name(tree: _Tree, group: str) -> str | None:
    name = tree.groups.get(f"{group}/vars", {}).get("name")
    return name if isinstance(name, str) else None


def _locate_keras3(tree: _Tree, container: str, ordered: list[_Entry], plan: _Plan, filename: str) -> None:
    """Each configured layer's group: by the name its vars group records, else by class and rank."""
    layers = {layer.name: layer for layer in _weighted(plan)}
    by_name: dict[str, list[str]] = {}
    for child in tree.children(container):
        recorded = _vars_name(tree, f"{container}/{child}")
        if recorded is not None:
            by_name.setdefault(recorded, []).append(child)
    used: dict[str, int] = {}
    for e in ordered:
        snake = _snake(e.cls)
        rank = used.get(snake, -1) + 1
        used[snake] = rank
        expected = snake if rank == 0 else f"{snake}_{rank}"
        found = by_name.get(e.name, [])
        if len(found) > 1:
            raise _refuse(f"{filename}: groups {', '.join(found)} all record the layer name {_short(e.name)}")
        child = found[0] if found else expected
        recorded = _vars_name(tree, f"{container}/{child}")
        if re.sub(r"_\d+$", "", child) != snake or recorded not in (None, e.name):
            raise _refuse(
                f"{filename}: the configuration's layer {_short(e.name)} ({e.cls}) and the weights file's group "
                f"{container}/{child} (layer {_short(recorded)}) disagree; save the model again with model.save"
            )
        if e.name in layers:
            group = f"{container}/{child}"
            if group not in tree.groups:
                raise _refuse(f"{filename}: no weights for layer {_short(e.name)} ({e.cls}): {group} is missing")
            _keras3_vars(tree, group, layers[e.name], filename)


def _weighted(plan: _Plan) -> list[_Layer]:
    return [*([plan.embedding] if plan.embedding else []), *plan.rnns, *([plan.dense] if plan.dense else [])]


def _plan_keras3_weights(tree: _Tree, container: str, filename: str) -> _Plan:
    """A .weights.h5 alone: layers told by their group names (Keras names them after the class)."""
    plan = _Plan(filename, from_config=False)
    embeddings, rnns, denses = [], [], []
    for child in sorted(tree.children(container), key=_layer_key):
        group = f"{container}/{child}"
        if group not in tree.groups:
            raise _refuse(f"{filename}: {group} is a dataset where Keras keeps a layer's group", group)
        base = re.sub(r"_\d+$", "", child)
        cls = _SNAKE_TO_CLASS.get(base)
        name = _vars_name(tree, group) or child
        what = f"{filename}: {group} (layer {_short(name)}, class {cls or _short(base)})"
        if cls is None or cls in _WHY_NOT:
            why = _WHY_NOT.get(cls or "", "a layer class the engine does not compute")
            if cls == "Activation":
                why = "which activation it applies is not in a weights file"
            raise _refuse(f"{what}: {why}. {SUPPORTED}", group)
        if cls == "Bidirectional":
            # The wrapped class told by the forward layer's recurrent kernel; the merge mode, which a
            # weights file does not record, by the layer above (_told_merge_mode).
            kernel = f"{group}/forward_layer/cell/vars/1"
            if kernel not in tree.datasets:
                raise _refuse(f"{what}: no {kernel}; not the weights of a Bidirectional LSTM, GRU or SimpleRNN", group)
            inner = _cell_by_shape(tree, kernel, filename)
            layer = _Layer(inner, name, {}, wrapper="Bidirectional")
            backward_name = _vars_name(tree, f"{group}/backward_layer") or f"{name} backward"
            layer.backward = _Layer(inner, backward_name, {})
            _keras3_vars(tree, group, layer, filename)
            rnns.append(layer)
            continue
        if cls == "InputLayer":
            continue
        if cls in IDENTITY:
            plan.ignored.append({"class": cls, "name": name})
            continue
        layer = _Layer("Dense" if cls == "TimeDistributed" else cls, name, {})
        layer.wrapper = "TimeDistributed" if cls == "TimeDistributed" else None
        _keras3_vars(tree, group, layer, filename)
        (embeddings if cls == "Embedding" else rnns if cls in RECURRENT else denses).append(layer)
    for layer in embeddings + rnns + denses:  # the order across classes is not in the file: Keras' usual one
        plan.add(layer)
    _check_stack(plan)
    return plan


def _layer_key(name: str) -> tuple[list[tuple[int, str]], str]:
    """Numbers in a name compared as numbers (lstm < lstm_1 < lstm_2 < lstm_10), without int()."""
    from .nn.layouts import _layer_key as key  # the one ordering rule, shared with the layouts

    return key(name)


# Legacy files: model_weights/<layer name>/ and each layer's weight_names.

_ROLES = {
    "Embedding": ({"embeddings"}, set()),
    "Dense": ({"kernel"}, {"bias"}),
    **{cls: ({"kernel", "recurrent_kernel"}, {"bias"}) for cls in RECURRENT},
}
# Default names of the layers that are the identity at inference (and of inputs), as Keras gives them.
_IDENTITY_NAMES = re.compile(r"(input|input_layer|" + "|".join(_snake(c) for c in IDENTITY) + r")(_\d+)?")


def _join(container: str, name: str) -> str:
    return f"{container}/{name}" if container else name


def _legacy_weight_names(tree: _Tree, group: str, filename: str) -> list[str]:
    names = tree.groups.get(group, {}).get("weight_names", [])
    if not isinstance(names, list):
        raise _refuse(f"{filename}: {group} has weight_names that are not a list of names", group)
    return names


def _legacy_roles(tree: _Tree, group: str, filename: str, names: list[str] | None = None) -> dict[str, str]:
    """Role (kernel, bias, ...) -> dataset path of a layer's weights (`names`: some of its weight_names)."""
    names = _legacy_weight_names(tree, group, filename) if names is None else names
    roles: dict[str, str] = {}
    for weight in names:
        leaf = re.sub(r":\d+$", "", weight.rsplit("/", 1)[-1])  # Keras 2 writes 'kernel:0'
        path = f"{group}/{weight}"
        if leaf in roles:
            raise _refuse(f"{filename}: {group} lists two weights named {leaf!r}", path)
        if path not in tree.datasets:
            raise _refuse(f"{filename}: {group} lists the weight {_short(weight)}, but the file has no {path}", path)
        roles[leaf] = path
    return roles


def _is_backward_part(part: str, backward: str | None) -> bool:
    return part == backward if backward is not None else part.startswith("backward_")


def _is_forward_part(part: str, forward: str | None) -> bool:
    return part == forward if forward is not None else part.startswith("forward_")


def _legacy_sides(
    tree: _Tree, group: str, filename: str, forward: str | None = None, backward: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """A Bidirectional layer's weights, split by the direction their path names (the forward and
    backward layers' names, or without a configuration Keras' default forward_... / backward_...)."""
    sides: tuple[list[str], list[str]] = ([], [])
    for weight in _legacy_weight_names(tree, group, filename):
        parts = weight.split("/")[:-1]
        if any(_is_backward_part(p, backward) for p in parts):
            sides[1].append(weight)
        elif any(_is_forward_part(p, forward) for p in parts):
            sides[0].append(weight)
        else:
            raise _refuse(
                f"{filename}: {group} lists the weight {_short(weight)}, which is in neither direction of the "
                f"Bidirectional layer ({_short(forward or 'forward_...')}, {_short(backward or 'backward_...')})",
                f"{group}/{weight}",
            )
    return _legacy_roles(tree, group, filename, sides[0]), _legacy_roles(tree, group, filename, sides[1])


def _check_roles(layer: _Layer, roles: dict[str, str], group: str, filename: str) -> None:
    required, optional = _ROLES[layer.cls]
    use_bias = layer.settings.get("use_bias")
    if use_bias is not None:
        required, optional = (required | optional, set()) if use_bias else (required, set())
    if not required <= set(roles) <= required | optional:
        raise _refuse(
            f"{filename}: {group} holds the weights {sorted(roles) or 'none'}; a {layer.cls} layer "
            + (f"with use_bias={use_bias} " if use_bias is not None else "")
            + f"has {sorted(required)}"
            + (f" and optionally {sorted(optional)}" if optional else ""),
            group,
        )
    layer.weights, layer.where = roles, group


def _legacy_layer_names(tree: _Tree, container: str, filename: str) -> list[str]:
    names = tree.groups.get(container, {}).get("layer_names")
    if not isinstance(names, list):
        raise _refuse(f"{filename}: {container or 'the root group'} has no list of layer_names")
    return names


def _locate_legacy(tree: _Tree, container: str, plan: _Plan, filename: str) -> None:
    listed = set(_legacy_layer_names(tree, container, filename))
    for layer in _weighted(plan):
        group = _join(container, layer.name)
        if layer.name not in listed or group not in tree.groups:
            raise _refuse(f"{filename}: no weights for layer {_short(layer.name)} ({layer.cls}): {group} is missing")
        if layer.backward is not None:
            forward_roles, backward_roles = _legacy_sides(
                tree, group, filename, layer.settings.get("forward_layer"), layer.backward.name
            )
            _check_roles(layer, forward_roles, group, filename)
            _check_roles(layer.backward, backward_roles, group, filename)
            continue
        _check_roles(layer, _legacy_roles(tree, group, filename), group, filename)


def _plan_legacy_weights(tree: _Tree, container: str, filename: str) -> _Plan:
    """A legacy file without a configuration: layers in layer_names order, told by their weights."""
    plan = _Plan(filename, from_config=False)
    for name in _legacy_layer_names(tree, container, filename):
        group = _join(container, name)
        if group not in tree.groups:
            raise _refuse(f"{filename}: layer_names lists {_short(name)}, but the file has no group {group}", group)
        if any(
            part.startswith("backward_")
            for weight in _legacy_weight_names(tree, group, filename)
            for part in weight.split("/")[:-1]
        ):
            plan.add(_legacy_bidirectional(tree, group, name, filename))
            continue
        roles = _legacy_roles(tree, group, filename)
        keys = set(roles)
        if not keys:
            # A layer without weights: harmless only if it is one that does nothing at inference,
            # which only its (default) name can say.
            if _IDENTITY_NAMES.fullmatch(name):
                if not name.startswith("input"):
                    guess = _SNAKE_TO_CLASS.get(re.sub(r"_\d+$", "", name), "?")
                    plan.ignored.append({"class": f"{guess} (told by its default name)", "name": name})
                continue
            raise _refuse(
                f"{filename}: layer {_short(name)} has no weights, and a weights file does not say what it computes "
                "(a Dropout is the identity at inference; a Lambda or a Flatten is not). Upload the .keras file "
                "(model.save('m.keras')) or the whole model as .h5 (model.save('m.h5'))",
                group,
            )
        if keys == {"embeddings"}:
            cls = "Embedding"
        elif {"kernel", "recurrent_kernel"} <= keys <= {"kernel", "recurrent_kernel", "bias"}:
            cls = _cell_by_shape(tree, roles["recurrent_kernel"], filename)
        elif {"kernel"} <= keys <= {"kernel", "bias"}:
            cls = "Dense"
        else:
            raise _refuse(
                f"{filename}: layer {_short(name)} holds the weights {sorted(keys)}; not an Embedding, LSTM, GRU, "
                f"SimpleRNN or Dense. {SUPPORTED}",
                group,
            )
        layer = _Layer(cls, name, {})
        _check_roles(layer, roles, group, filename)
        plan.add(layer)
    _check_stack(plan)
    return plan


def _legacy_bidirectional(tree: _Tree, group: str, name: str, filename: str) -> _Layer:
    """A Bidirectional layer of a legacy weights-only file: its two halves by Keras' default names."""
    forward_roles, backward_roles = _legacy_sides(tree, group, filename)
    if "recurrent_kernel" not in forward_roles:
        raise _refuse(
            f"{filename}: layer {_short(name)} holds backward_... weights but no forward recurrent_kernel; not a "
            "Bidirectional LSTM, GRU or SimpleRNN",
            group,
        )
    cls = _cell_by_shape(tree, forward_roles["recurrent_kernel"], filename)
    layer = _Layer(cls, name, {}, wrapper="Bidirectional")
    layer.backward = _Layer(cls, f"{name} backward", {})
    _check_roles(layer, forward_roles, group, filename)
    _check_roles(layer.backward, backward_roles, group, filename)
    return layer


def _cell_by_shape(tree: _Tree, path: str, filename: str) -> str:
    shape = tree.datasets[path].shape or ()
    if len(shape) == 2 and shape[0] > 0 and shape[1] % shape[0] == 0:
        for cls, cell in RECURRENT.items():
            if shape[1] // shape[0] == BLOCKS[cell]:
                return cls
    raise _refuse(
        f"{filename}: {path} has shape {shape}; a recurrent kernel is (H, 4H) for an LSTM, (H, 3H) for a GRU, "
        "(H, H) for a SimpleRNN",
        path,
    )


# --- the numbers, checked against the plan; the ModelSource ---------------------------------


class _Numbers:
    def __init__(self, tree: _Tree, filename: str):
        self.tree, self.filename = tree, filename

    def get(self, path: str, ndim: int | None) -> np.ndarray:
        d = self.tree.datasets.get(path)
        if d is None:
            raise _refuse(f"{self.filename}: no dataset {path}", path)
        if d.array is None:
            shape = "no shape (a null dataspace)" if d.shape is None else f"shape {d.shape}"
            raise _refuse(
                f"{self.filename}: {path} holds {d.dtype} values with {shape}; expected floating-point numbers", path
            )
        if ndim is not None and d.array.ndim != ndim:
            raise _refuse(f"{self.filename}: {path} has shape {d.array.shape}; expected {ndim} dimensions", path)
        if not np.all(np.isfinite(d.array)):
            raise _refuse(f"{self.filename}: {path} holds NaN or infinite values", path)
        return d.array


def _unclaimed(tree: _Tree, plan: _Plan, filename: str) -> None:
    """Every number read must belong to a layer the engine computes: no weights are dropped silently."""
    claimed = {p for layer in _weighted(plan) for half in layer.halves() for p in half.weights.values()}
    for path, d in tree.datasets.items():
        if d.array is not None and path not in claimed:
            raise _refuse(
                f"{filename}: {path} holds weights that no layer the engine computes accounts for; "
                "the model has more than it reads. " + SUPPORTED,
                path,
            )


def _source(plan: _Plan, tree: _Tree, fmt: str, read: dict[str, Any]) -> ModelSource:
    filename = plan.filename
    # Without a configuration a shape that does not fit may mean the layers are not in the order assumed.
    hint = "" if plan.from_config else f" (the layers as this file was read: {_order(plan)}; {UPLOAD_KERAS})"
    _unclaimed(tree, plan, filename)
    numbers = _Numbers(tree, filename)
    cls = plan.rnns[0].cls
    cell = RECURRENT[cls]
    blocks = BLOCKS[cell]
    tensors: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    layers_read: list[dict[str, Any]] = []
    assumed: dict[str, Any] = {}
    width = None
    if plan.embedding is not None:
        e = plan.embedding
        table = numbers.get(e.weights["embeddings"], 2)
        if table.shape[0] > limits.MAX_VOCAB:
            raise _refuse(
                f"{filename}: the Embedding {_short(e.name)} has {table.shape[0]} rows; at most {limits.MAX_VOCAB}",
                e.weights["embeddings"],
                413,
            )
        _agree(e, "input_dim", table.shape[0], e.weights["embeddings"], filename)
        _agree(e, "output_dim", table.shape[1], e.weights["embeddings"], filename)
        tensors[EMBEDDING], names[EMBEDDING] = table, e.weights["embeddings"]
        width = table.shape[1]
        entry = {"class": "Embedding", "name": e.name, "group": e.where}
        entry |= {s: v for s, v in e.settings.items() if v is not None}  # checked against the table above
        layers_read.append(entry | {"input_dim": table.shape[0], "output_dim": table.shape[1]})
    hidden = None
    reset_after_told = False
    bidirectional = plan.rnns[0].backward is not None
    merge_mode = _told_merge_mode(plan, numbers) if bidirectional else "concat"
    with_bias = _bias_everywhere_or_nowhere(plan, filename)
    for k, layer in enumerate(plan.rnns):
        for d, half in enumerate(layer.halves()):
            prefix = f"rnn_{k}/{('forward', 'backward')[d]}" if bidirectional else f"rnn_{k}"
            rk_path, k_path = half.weights["recurrent_kernel"], half.weights["kernel"]
            rec = numbers.get(rk_path, 2)
            units = rec.shape[0]
            if rec.shape[1] != blocks * units:
                raise _refuse(
                    f"{filename}: {rk_path} has shape {rec.shape}; the recurrent kernel of a {cls} with {units} units "
                    f"is ({units}, {blocks * units})",
                    rk_path,
                )
            _agree(layer, "units", units, rk_path, filename)
            if hidden is None:
                hidden = units
            elif units != hidden:
                raise _refuse(
                    f"{filename}: layer {_short(plan.rnns[0].name)} has {hidden} units and layer {_short(half.name)} "
                    f"has {units}; the engine's stack has one hidden size for every layer",
                    rk_path,
                )
            kernel = numbers.get(k_path, 2)
            if kernel.shape[1] != blocks * units or (width is not None and kernel.shape[0] != width):
                expected = f"({width if width is not None else 'D'}, {blocks * units})"
                below = " (the Bidirectional layer below hands up that many)" if k and bidirectional else ""
                raise _refuse(
                    f"{filename}: {k_path} has shape {kernel.shape}; expected {expected}{below}{hint}", k_path
                )
            if with_bias:
                b_path = half.weights["bias"]
                bias = numbers.get(b_path, None)  # its shape is checked below: a GRU's tells reset_after
                if cell == "gru":
                    if bias.shape == (blocks * units,):
                        # A one-row GRU bias is Keras' reset_after=False, which the engine does not compute.
                        raise _refuse(
                            f"{filename}: {b_path} has shape {bias.shape}: GRU {_short(layer.name)} was saved with "
                            "reset_after=False, which applies the reset gate before the recurrent product; the engine "
                            "(PyTorch's GRU) does not compute it. Retrain with reset_after=True (Keras' default)",
                            b_path,
                        )
                    want = (2, blocks * units)
                    reset_after_told = True
                else:
                    want = (blocks * units,)
                if bias.shape != want:
                    raise _refuse(f"{filename}: {b_path} has shape {bias.shape}; expected {want}", b_path)
                tensors[f"{prefix}/bias"], names[f"{prefix}/bias"] = bias, b_path
            tensors[f"{prefix}/kernel"], names[f"{prefix}/kernel"] = kernel, k_path
            tensors[f"{prefix}/recurrent_kernel"], names[f"{prefix}/recurrent_kernel"] = rec, rk_path
        width = hidden * (2 if bidirectional and merge_mode == "concat" else 1)
        entry = {"class": cls, "name": layer.name, "group": layer.where, "units": hidden, "use_bias": with_bias}
        if cell == "gru":
            entry["reset_after"] = True if with_bias or layer.settings.get("reset_after") else None
        if bidirectional:
            backward = layer.backward
            entry |= {"wrapper": "Bidirectional", "merge_mode": merge_mode}
            entry["backward"] = {"name": backward.name, "group": backward.where, "go_backwards": True}
        layers_read.append(entry | {s: v for s, v in layer.settings.items() if v is not None})
    output_size = None
    if plan.dense is not None:
        d = plan.dense
        kernel = numbers.get(d.weights["kernel"], 2)
        if kernel.shape[0] != width:
            on = f"{hidden} units" + (f", both directions {merge_mode}" if bidirectional else "")
            raise _refuse(
                f"{filename}: {d.weights['kernel']} has shape {kernel.shape}; the Dense head on {on} has "
                f"({width}, outputs){hint}",
                d.weights["kernel"],
            )
        output_size = kernel.shape[1]
        _agree(d, "units", output_size, d.weights["kernel"], filename)
        tensors["dense/kernel"], names["dense/kernel"] = kernel, d.weights["kernel"]
        if "bias" in d.weights:
            bias = numbers.get(d.weights["bias"], 1)
            if bias.shape != (output_size,):
                raise _refuse(
                    f"{filename}: {d.weights['bias']} has shape {bias.shape}; expected ({output_size},)",
                    d.weights["bias"],
                )
            names["dense/bias"] = d.weights["bias"]
        else:
            bias = np.zeros(output_size)
            names["dense/bias"] = NO_BIAS
        tensors["dense/bias"] = bias
        entry = {"class": "Dense", "name": d.name, "group": d.where, "units": output_size}
        entry |= {"use_bias": "bias" in d.weights} | ({"wrapper": d.wrapper} if d.wrapper else {})
        layers_read.append(entry | {s: v for s, v in d.settings.items() if v is not None})

    last = plan.rnns[-1].settings
    output_steps = "last" if plan.from_config and not last.get("return_sequences") else "all"
    nonlinearity = plan.rnns[0].settings.get("activation", "tanh") if cls == "SimpleRNN" else "tanh"
    if not plan.from_config:
        assumed = _assumed(plan, cell, reset_after_told)
        if bidirectional:
            assumed["Bidirectional"] = (
                "Keras' own backward layer, the forward one's mirror (go_backwards=True); merge_mode concat, told "
                "by the layer above, which reads both directions side by side"
            )
    elif cell == "gru" and not reset_after_told and plan.rnns[0].settings.get("reset_after") is None:
        assumed["reset_after"] = True  # no bias and no reset_after in the configuration: Keras' default
    tokens = plan.embedding is not None
    read |= {
        "cell": cls,
        "num_layers": len(plan.rnns),
        "hidden_size": hidden,
        "input_size": numbers.get(plan.rnns[0].weights["kernel"], 2).shape[0],
        "output_size": output_size,
        "layers": layers_read,
        "ignored_at_inference": plan.ignored,
    }
    if bidirectional:
        read["bidirectional"] = True
        read["merge_mode"] = merge_mode
    if plan.from_config:
        read["model"] = plan.model
        read["input"] = plan.input
        read["output_steps"] = output_steps
        read["softmax"] = plan.softmax
    probe = _probe(plan, tensors, tree, tokens, output_steps)
    return ModelSource(
        tensors=tensors,
        layout="keras",
        framework="keras",
        format=fmt,
        read=read,
        assumed=assumed,
        names=names,
        nonlinearity=nonlinearity,
        input_kind="tokens" if tokens else "numbers",
        output_kind=("logits" if plan.softmax else "values") if plan.dense is not None else None,
        output_steps=output_steps,
        probe=probe,
        configured=plan.from_config,
        merge_mode=merge_mode,
    )


def _told_merge_mode(plan: _Plan, numbers: _Numbers) -> str:
    """The Bidirectional layers' merge_mode: as configured, or (a weights file does not record it)
    concat when the layer above reads twice the units; sum, ave and mul are refused as unknowable."""
    said = plan.rnns[0].merge_mode
    if said is not None:
        return said
    filename = plan.filename
    units = numbers.get(plan.rnns[0].weights["recurrent_kernel"], 2).shape[0]
    for k, layer in enumerate(plan.rnns):
        above = plan.rnns[k + 1] if k + 1 < len(plan.rnns) else plan.dense
        if above is None:
            raise _refuse(
                f"{filename}: layer {_short(layer.name)} is Bidirectional, and a weights file records neither its "
                f"merge_mode (concat, sum, ave or mul) nor a layer above it that would show it. {UPLOAD_KERAS}",
                layer.where,
            )
        reads = numbers.get(above.weights["kernel"], 2).shape[0]
        if reads != 2 * units:
            merged = (
                "its merge_mode is sum, ave or mul, and a weights file does not record which"
                if reads == units
                else f"neither both directions side by side ({2 * units}: concat) nor merged ({units})"
            )
            raise _refuse(
                f"{filename}: layer {_short(above.name)} reads {reads} numbers from the Bidirectional layer "
                f"{_short(layer.name)} of {units} units: {merged}. {UPLOAD_KERAS}",
                above.weights["kernel"],
            )
    return "concat"


def _bias_everywhere_or_nowhere(plan: _Plan, filename: str) -> bool:
    """Whether the recurrent layers have biases: every one (both directions) or none. A bias-free
    layer has no bias tensors, and absent biases are never made up as zeros (zeros could be trained)."""
    halves = [half for layer in plan.rnns for half in layer.halves()]
    has = ["bias" in half.weights for half in halves]
    if any(has) and not all(has):
        one, other = halves[has.index(True)], halves[has.index(False)]
        raise _refuse(
            f"{filename}: layer {_short(one.name)} has biases (use_bias=True) and layer {_short(other.name)} has none; "
            "the engine's stack has biases in every layer or in none",
            other.where,
        )
    return all(has)


def _order(plan: _Plan) -> str:
    return " -> ".join(f"{layer.cls} {_short(layer.name, 40)}" for layer in _weighted(plan))


def _agree(layer: _Layer, setting: str, value: int, path: str, filename: str) -> None:
    said = layer.settings.get(setting)
    if said is not None and said != value:
        raise _refuse(
            f"{filename}: layer {_short(layer.name)} ({layer.cls}) has {setting}={_short(said)} in its configuration "
            f"but {path} holds {value}; the configuration and the weights disagree",
            path,
        )


def _assumed(plan: _Plan, cell: str, reset_after_told: bool) -> dict[str, Any]:
    """The settings a weights file cannot carry, at Keras' defaults (the engine computes these)."""
    out: dict[str, Any] = {}
    if cell in ("lstm", "gru"):
        out |= {"activation": "tanh", "recurrent_activation": "sigmoid"}
    else:
        out["SimpleRNN activation"] = "tanh"
    if cell == "gru" and not reset_after_told:
        out["reset_after"] = True
    if plan.embedding is not None:
        out["mask_zero"] = False
    if plan.dense is not None:
        out["Dense activation"] = "linear"
    out |= {"return_sequences": True, "go_backwards": False}
    if plan.rnns[0].where.startswith(("layers/", "_layer_checkpoint_dependencies/")):
        out["layer order"] = (
            "Embedding, then the recurrent layers in the order of the numbers in their group names (lstm, lstm_1, "
            "lstm_2, ...), then the Dense: a .weights.h5 does not record the order across layer classes"
        )
    else:
        out["layer order"] = "as the file's layer_names lists them"
    out["note"] = UPLOAD_KERAS
    return out


def _probe(plan: _Plan, tensors: dict[str, np.ndarray], tree: _Tree, tokens: bool, output_steps: str) -> dict:
    """What Keras' own run of the model takes, for the parity check."""
    shape = plan.input.get("batch_shape")
    if not isinstance(shape, list):
        first = tensors["rnn_0/forward/kernel" if "rnn_0/forward/kernel" in tensors else "rnn_0/kernel"]
        shape = [None, None] if tokens else [None, None, int(first.shape[0])]
    if tokens:
        dtype = "int64"
    else:
        dtype = plan.input.get("dtype")
        if dtype not in ("float16", "float32", "float64", "bfloat16"):
            stored = tree.datasets[plan.rnns[0].weights["kernel"]].dtype
            dtype = "float64" if stored == "float64" else "float32"
    steps = shape[1] if len(shape) > 1 and isinstance(shape[1], int) else None
    return {
        "input_name": plan.input.get("name"),
        "input_shape": shape,
        "input_dtype": dtype,
        "axes": "bt" if tokens else "btd",
        "steps": steps,
        "output_is": "probs" if plan.softmax else ("y" if plan.dense is not None else "h"),
        "output_steps": output_steps,
    }


# --- public ----------------------------------------------------------------------------------


KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def is_keras_archive(archive: CheckedZip) -> bool:
    """A .keras zip: config.json with model.weights.h5 (or metadata.json, so that a .keras whose
    weights are stored otherwise is refused by name rather than read as something else)."""
    names = {info.filename for info in archive.members}
    return "config.json" in names and ("model.weights.h5" in names or "metadata.json" in names)


def read_archive(archive: CheckedZip, filename: str) -> ModelSource:
    """A .keras file: its configuration read in this process, its HDF5 weights in the reader process."""
    members = {info.filename: info for info in archive.members}
    if "model.weights.h5" not in members:
        listed = ", ".join(_short(n, 40) for n in sorted(members)[:8])
        raise _refuse(
            f"{filename}: a .keras archive without model.weights.h5 (it holds {listed}); sharded or other weight "
            "stores are not read. Save with model.save('m.keras') in one file"
        )
    # The layers read here keep no assets; anything else would only be expanded (by Keras, for
    # the parity check) and never used: a small file could declare hundreds of MB of it.
    extra = sorted(
        name
        for name, info in members.items()
        if name not in KERAS_MEMBERS and not (name.endswith("/") and info.file_size == 0)
    )
    if extra:
        listed = ", ".join(_short(n, 40) for n in extra[:8])
        raise _refuse(
            f"{filename}: a .keras archive holding {listed} beside config.json, metadata.json and model.weights.h5; "
            "a model of the layers read here has no assets"
        )
    config = _parse_json(
        _member(archive, "config.json", limits.MAX_MODEL_CONFIG_BYTES, filename), filename, "config.json"
    )
    read: dict[str, Any] = {}
    if "metadata.json" in members:
        meta = _parse_json(
            _member(archive, "metadata.json", limits.MAX_MODEL_CONFIG_BYTES, filename), filename, "metadata.json"
        )
        if isinstance(meta, dict) and isinstance(meta.get("keras_version"), str):
            read["keras_version"] = meta["keras_version"][:40]
    data = _member(archive, "model.weights.h5", limits.MAX_UPLOAD_EXPANDED_BYTES, filename)
    if data[:8] != HDF5_MAGIC:
        raise _refuse(f"{filename}: its model.weights.h5 is not an HDF5 file")
    tree = _read_tree_isolated(data, f"{filename} (model.weights.h5)")
    container = _keras3_container(tree, filename)
    model, ordered, chain = _model_layers(config, filename)
    plan = _plan_from_config(chain, model, filename)
    _locate_keras3(tree, container, ordered, plan, filename)
    return _source(plan, tree, "keras", read)


def _member(archive: CheckedZip, name: str, cap: int, filename: str) -> bytes:
    info = next((i for i in archive.members if i.filename == name), None)
    if info is None:
        raise _refuse(f"{filename}: a .keras archive without {name}")
    if info.file_size > cap:
        raise _refuse(f"{filename}: {name} is {info.file_size} bytes; at most {cap} are read", name, 413)
    try:
        stream = archive.open(info)
        data = stream.read(info.file_size)
        stream.finish()
    except ArchiveError as err:
        raise _refuse(f"{filename}: {err}", err.member, 413 if err.too_large else 422) from None
    return data


def read_h5(data: bytes, filename: str) -> ModelSource:
    """An HDF5 file Keras saved: a legacy .h5 (with or without its configuration) or a Keras 3 .weights.h5."""
    if data[:8] != HDF5_MAGIC:
        raise _refuse(f"{filename}: not an HDF5 file (no HDF5 signature)")
    tree = _read_tree_isolated(data, filename)
    root = tree.groups.get("", {})
    read: dict[str, Any] = {}
    if "model_weights" in tree.groups:
        container = "model_weights"
        attrs = tree.groups[container] | root
        read |= {k: attrs[k][:40] for k in ("keras_version", "backend") if isinstance(attrs.get(k), str)}
        config = root.get("model_config")
        if config is not None and not isinstance(config, str):
            raise _refuse(f"{filename}: its model_config attribute is not one JSON string")
        if isinstance(config, str):
            config = _parse_json(config, filename, "its model_config attribute")
            model, _ordered, chain = _model_layers(config, filename)
            plan = _plan_from_config(chain, model, filename)
            _locate_legacy(tree, container, plan, filename)
            return _source(plan, tree, "h5", read)
        return _source(_plan_legacy_weights(tree, container, filename), tree, "h5", read)
    if "layer_names" in root:
        read |= {k: root[k][:40] for k in ("keras_version", "backend") if isinstance(root.get(k), str)}
        return _source(_plan_legacy_weights(tree, "", filename), tree, "h5", read)
    if "layers" in tree.groups or "_layer_checkpoint_dependencies" in tree.groups:
        container = _keras3_container(tree, filename)
        return _source(_plan_keras3_weights(tree, container, filename), tree, "weights.h5", read)
    raise _refuse(
        f"{filename}: an HDF5 file, but not one Keras saved (no model_weights group, layer_names attribute or "
        "layers group). Upload model.save('m.keras'), model.save('m.h5') or model.save_weights('m.weights.h5')"
    )
