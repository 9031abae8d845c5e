"""PyTorch zip checkpoints (what torch.save writes since 1.6) read without torch, running no code.

The archive holds `<archive>/data.pkl` (the pickled structure), `<archive>/data/<key>` (one raw
storage per key), `<archive>/version` and maybe `<archive>/byteorder`. The pickle is read by
`_Unpickler`, which builds only plain values and this module's own records:

- the opcodes it runs are a whitelist (numbers, strings, tuples, lists, dicts, the memo,
  GLOBAL/STACK_GLOBAL, persistent ids, REDUCE, BUILD); INST, OBJ, NEWOBJ, extension codes,
  sets and out-of-band buffers are refused by name;
- `find_class` maps exactly the globals a tensor dictionary needs (collections.OrderedDict,
  torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter, torch.*Storage,
  torch dtypes) to this module's functions and markers, and refuses every other name;
- REDUCE calls only those mapped functions; BUILD only drops an OrderedDict's `_metadata`;
- dict keys are plain atoms (so hashing a key cannot recurse), MARKs nest at most
  MAX_CHECKPOINT_NESTING deep, and nothing here walks the structure recursively.

Why the pure-Python `pickle._Unpickler` (the same class as `pickle.Unpickler` without the C
accelerator): its dispatch table is ours to replace, so the opcode whitelist is enforced by
the very parser that runs the pickle, and REDUCE and BUILD can check what is on the stack.

A tensor becomes a `_Tensor` record (storage, offset, size, stride) once its extent is
checked against the storage; a storage becomes a `_Storage` once numel x itemsize equals its
member's declared size. Bytes are read (through archive_checks' MemberStream) only for the
tensors of the state_dict chosen, after their count and numbers are checked against the
upload limits; a stored member (torch.save stores them all) is a view of the upload, so the
only copy made of a tensor is its float64 array.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from . import limits
from .archive_checks import ArchiveError, CheckedZip
from .model_files import ModelFileError

PICKLE_NAME = "data.pkl"
RESAVE = "torch.save(model.state_dict(), 'm.pt') or safetensors.torch.save_file(model.state_dict(), 'm.safetensors')"

# Storage classes: numpy type code (without byte order) and item size; "bf16" is converted.
STORAGE_TYPES = {
    "DoubleStorage": ("f8", 8),
    "FloatStorage": ("f4", 4),
    "HalfStorage": ("f2", 2),
    "BFloat16Storage": ("bf16", 2),
    "LongStorage": ("i8", 8),
    "IntStorage": ("i4", 4),
    "ShortStorage": ("i2", 2),
    "CharStorage": ("i1", 1),
    "ByteStorage": ("u1", 1),
}
DTYPES = [
    "float64",
    "double",
    "float32",
    "float",
    "float16",
    "half",
    "bfloat16",
    "int64",
    "long",
    "int32",
    "int",
    "int16",
    "short",
    "int8",
    "uint8",
    "bool",
]
MAX_NDIM = 16
MAX_INDEX = 2**62  # any size, stride or offset beyond this is nonsense, refused before arithmetic
_KEY = re.compile(r"[0-9A-Za-z_]{1,64}")


def is_checkpoint(archive: CheckedZip) -> bool:
    """A zip holding a `data.pkl` (at the top or in one folder) is PyTorch's format."""
    return any(_is_pickle_member(info.filename) for info in archive.members)


def _is_pickle_member(name: str) -> bool:
    return name == PICKLE_NAME or (name.endswith("/" + PICKLE_NAME) and name.count("/") == 1)


def _show(text: str, limit: int = 80) -> str:
    """Text from the file made safe to put in a message: bounded, ASCII, no control characters."""
    short = text if len(text) <= limit else text[:limit] + "..."
    return short.encode("ascii", "backslashreplace").decode().encode("unicode_escape").decode()


# --- records built by the unpickler ------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """A mapped global that REDUCE may call; only find_class makes these."""

    name: str
    fn: Any


@dataclass(frozen=True)
class _StorageType:
    name: str
    code: str
    itemsize: int


@dataclass(frozen=True)
class _DType:
    name: str


@dataclass(frozen=True)
class _Storage:
    key: str
    kind: _StorageType
    numel: int
    info: zipfile.ZipInfo


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.size)


class _OrderedDict(OrderedDict):
    """What collections.OrderedDict becomes: an OrderedDict whose BUILD state is dropped."""


_ATOMS = (str, int, float, bool, bytes, type(None))
_OPNAMES = {op.code.encode("latin-1")[0]: op.name for op in pickletools.opcodes}
_BASE = pickle._Unpickler.dispatch  # type: ignore[attr-defined]
_RUN_AS_IS = [
    "PROTO",
    "FRAME",
    "STOP",
    "POP",
    "POP_MARK",
    "DUP",
    "NONE",
    "NEWTRUE",
    "NEWFALSE",
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "FLOAT",
    "BINFLOAT",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "EMPTY_TUPLE",
    "TUPLE",
    "TUPLE1",
    "TUPLE2",
    "TUPLE3",
    "EMPTY_LIST",
    "LIST",
    "EMPTY_DICT",
    "PUT",
    "BINPUT",
    "LONG_BINPUT",
    "GET",
    "BINGET",
    "LONG_BINGET",
    "MEMOIZE",
    "GLOBAL",
    "STACK_GLOBAL",
    "PERSID",
    "BINPERSID",
]


def _opcode(name: str) -> int:
    return getattr(pickle, name)[0]


class _Unpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """Unpickles data.pkl into plain values, `_Tensor`s and `_OrderedDict`s, or refuses it."""

    def __init__(self, data: bytes, filename: str, prefix: str, members: dict[str, zipfile.ZipInfo]):
        super().__init__(io.BytesIO(data))
        self.filename = filename
        self.prefix = prefix
        self.members = members
        self.storages: dict[str, _Storage] = {}
        self.tensors = 0
        self.globals = {
            "collections.OrderedDict": _Call("collections.OrderedDict", self._ordered_dict),
            "torch._utils._rebuild_tensor_v2": _Call("torch._utils._rebuild_tensor_v2", self._rebuild_tensor_v2),
            "torch._utils._rebuild_tensor": _Call("torch._utils._rebuild_tensor", self._rebuild_tensor),
            "torch._utils._rebuild_parameter": _Call("torch._utils._rebuild_parameter", self._rebuild_parameter),
        }
        self.globals |= {f"torch.{n}": _StorageType(n, c, s) for n, (c, s) in STORAGE_TYPES.items()}
        self.globals |= {f"torch.{n}": _DType(n) for n in DTYPES}

    def refuse(self, what: str) -> NoReturn:
        raise ModelFileError(f"{self.filename}: its data.pkl {what}")

    # -- globals and persistent ids ---------------------------------------------------------

    def find_class(self, module: str, name: str) -> Any:
        found = self.globals.get(f"{module}.{name}")
        if found is None:
            hint = ""
            if module.startswith(("torch.nn", "__main__", "__torch__")):
                hint = " (a whole model or other objects were pickled, not just tensors)"
            self.refuse(
                f"refuses the global {_show(module)}.{_show(name)}{hint}: only a dictionary of tensors and plain "
                f"values is read, and nothing in it is ever run. Save the weights alone: {RESAVE}"
            )
        return found

    def persistent_load(self, pid: Any) -> _Storage:
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] == "storage"):
            self.refuse(
                "refers to something other than a tensor storage (a persistent id that is not ('storage', ...))"
            )
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType):
            self.refuse(f"declares a storage of type {type(kind).__name__}; expected one of torch.FloatStorage, ...")
        if type(key) is not str or not _KEY.fullmatch(key):
            shown = _show(key) if isinstance(key, str) else type(key).__name__
            self.refuse(f"names the storage {shown!r}; storage keys are letters, digits and _")
        if type(numel) is not int or numel < 0:
            self.refuse(f"declares storage {key} with {type(numel).__name__} {_show(str(numel)[:40])} numbers")
        member = f"{self.prefix}data/{key}"
        info = self.members.get(member)
        if info is None:
            self.refuse(f"refers to the storage {member}, which the archive does not hold")
        if numel * kind.itemsize != info.file_size:
            self.refuse(
                f"declares storage {member} as {numel} numbers of torch.{kind.name} ({numel * kind.itemsize} "
                f"bytes) but the member holds {info.file_size} bytes"
            )
        storage = _Storage(key, kind, numel, info)
        seen = self.storages.setdefault(key, storage)
        if seen != storage:
            self.refuse(f"declares storage {member} twice with different types or sizes")
        return seen

    # -- the mapped functions ---------------------------------------------------------------

    def _ordered_dict(self, *args: Any) -> _OrderedDict:
        if args:
            self.refuse("calls collections.OrderedDict with arguments; only an empty one is built")
        return _OrderedDict()

    def _rebuild_tensor_v2(self, storage=None, offset=None, size=None, stride=None, *rest: Any) -> _Tensor:
        if len(rest) not in (2, 3):
            self.refuse(f"calls torch._utils._rebuild_tensor_v2 with {4 + len(rest)} arguments; expected 6 or 7")
        requires_grad, hooks = rest[0], rest[1]
        if type(requires_grad) is not bool:
            self.refuse("calls torch._utils._rebuild_tensor_v2 with requires_grad that is not True or False")
        if not isinstance(hooks, dict) or hooks:
            self.refuse("gives a tensor backward hooks; hooks are code and are never restored")
        if len(rest) == 3 and rest[2] is not None and not isinstance(rest[2], dict):
            self.refuse("gives a tensor metadata that is not a dict")
        return self._rebuild_tensor(storage, offset, size, stride)

    def _rebuild_tensor(self, storage=None, offset=None, size=None, stride=None, *rest: Any) -> _Tensor:
        if rest or not isinstance(storage, _Storage):
            self.refuse("rebuilds a tensor from something other than a storage of the archive")
        self.tensors += 1
        if self.tensors > limits.MAX_CHECKPOINT_TENSORS:
            raise ModelFileError(
                f"{self.filename}: its data.pkl rebuilds more than {limits.MAX_CHECKPOINT_TENSORS} tensors",
                status=413,
            )
        member = f"{self.prefix}data/{storage.key}"
        if not _is_index(offset):
            self.refuse(f"gives a tensor on {member} the storage offset {_show(repr(offset)[:40])}")
        if not (_is_shape(size) and _is_shape(stride) and len(size) == len(stride)):
            self.refuse(
                f"gives a tensor on {member} a size and stride that are not equally long tuples of "
                f"non-negative integers (at most {MAX_NDIM})"
            )
        tensor = _Tensor(storage, offset, size, stride)
        end = offset if tensor.numel == 0 else offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
        if end > storage.numel:
            self.refuse(
                f"gives a tensor of size {list(size)}, stride {list(stride)} at offset {offset} that reaches "
                f"number {end} of {member}, which holds {storage.numel}"
            )
        return tensor

    def _rebuild_parameter(self, data=None, requires_grad=None, hooks=None, *rest: Any) -> _Tensor:
        if rest or not isinstance(data, _Tensor) or type(requires_grad) is not bool:
            self.refuse("calls torch._utils._rebuild_parameter with something other than (tensor, bool, hooks)")
        if not isinstance(hooks, dict) or hooks:
            self.refuse("gives a parameter backward hooks; hooks are code and are never restored")
        return data

    # -- opcodes that check what they are given ---------------------------------------------

    def _mark(self) -> None:
        if len(self.metastack) >= limits.MAX_CHECKPOINT_NESTING:
            raise ModelFileError(
                f"{self.filename}: its data.pkl nests deeper than {limits.MAX_CHECKPOINT_NESTING} levels",
                status=413,
            )
        _BASE[_opcode("MARK")](self)

    def _list_on_top(self, opcode: str) -> list:
        target = self.stack[-1]
        if type(target) is not list:
            self.refuse(f"uses {opcode} on a {type(target).__name__}; it only appends to lists")
        return target

    def _append(self) -> None:
        value = self.stack.pop()
        self._list_on_top("APPEND").append(value)

    def _appends(self) -> None:
        items = self.pop_mark()
        self._list_on_top("APPENDS").extend(items)

    def _check_key(self, key: Any) -> None:
        if not isinstance(key, _ATOMS):
            self.refuse(f"has a dict key of type {type(key).__name__}; keys must be strings or numbers")

    def _fill(self, target: Any, items: list, opcode: str) -> None:
        if not isinstance(target, dict):
            self.refuse(f"uses {opcode} on a {type(target).__name__}; it only fills dicts")
        if len(items) % 2:
            self.refuse(f"uses {opcode} with an odd number of items")
        for k in range(0, len(items), 2):
            self._check_key(items[k])
            target[items[k]] = items[k + 1]

    def _dict(self) -> None:
        items = self.pop_mark()
        out: dict = {}
        self._fill(out, items, "DICT")
        self.append(out)

    def _setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._fill(self.stack[-1], [key, value], "SETITEM")

    def _setitems(self) -> None:
        items = self.pop_mark()
        self._fill(self.stack[-1], items, "SETITEMS")

    def _reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not isinstance(func, _Call):
            self.refuse(f"calls a {type(func).__name__} (REDUCE); only the tensor-rebuilding functions are called")
        if type(args) is not tuple:
            self.refuse(f"calls {func.name} with {type(args).__name__} arguments")
        self.stack[-1] = func.fn(*args)

    def _build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not _OrderedDict or not isinstance(state, dict) or set(state) - {"_metadata"}:
            self.refuse(
                f"sets the state of a {type(target).__name__} (BUILD); only an OrderedDict's _metadata is accepted"
            )
        # The _metadata (module versions) is dropped: nothing here needs it.


def _refuser(name: str) -> Any:
    def refuse(self: _Unpickler) -> NoReturn:
        self.refuse(
            f"uses the pickle opcode {name}, which can build arbitrary objects; only tensors, numbers, "
            "strings, tuples, lists and dicts are read"
        )

    return refuse


_DISPATCH: dict[int, Any] = {code: _refuser(_OPNAMES.get(code, f"byte 0x{code:02x}")) for code in range(256)}
_DISPATCH |= {_opcode(name): _BASE[_opcode(name)] for name in _RUN_AS_IS}
_DISPATCH |= {
    _opcode("MARK"): _Unpickler._mark,
    _opcode("APPEND"): _Unpickler._append,
    _opcode("APPENDS"): _Unpickler._appends,
    _opcode("DICT"): _Unpickler._dict,
    _opcode("SETITEM"): _Unpickler._setitem,
    _opcode("SETITEMS"): _Unpickler._setitems,
    _opcode("REDUCE"): _Unpickler._reduce,
    _opcode("BUILD"): _Unpickler._build,
}
_Unpickler.dispatch = _DISPATCH


def _is_index(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_INDEX


def _is_shape(value: Any) -> bool:
    return type(value) is tuple and len(value) <= MAX_NDIM and all(_is_index(v) for v in value)


# --- reading the archive -----------------------------------------------------------------


def read(archive: CheckedZip, filename: str) -> dict[str, np.ndarray]:
    """The state_dict in a checked PyTorch zip as float64 arrays, or a ModelFileError."""
    try:
        return _read(archive, filename)
    except ArchiveError as err:
        raise ModelFileError(f"{filename}: {err}", None, status=413 if err.too_large else 422) from None


def _read(archive: CheckedZip, filename: str) -> dict[str, np.ndarray]:
    members = {info.filename: info for info in archive.members}
    for name in members:
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or "\0" in name or ".." in parts or ":" in parts[0]:
            raise ModelFileError(f"{filename}: the archive member {_show(name)!r} names a path outside the archive")
    pickles = [name for name in members if _is_pickle_member(name)]
    if len(pickles) != 1:
        raise ModelFileError(f"{filename} holds {len(pickles)} data.pkl members; a PyTorch checkpoint holds one")
    prefix = pickles[0][: -len(PICKLE_NAME)]
    order = _byte_order(archive, members.get(prefix + "byteorder"), filename)
    info = members[pickles[0]]
    if info.file_size > limits.MAX_CHECKPOINT_PICKLE_BYTES:
        raise ModelFileError(
            f"{filename}: its data.pkl declares {info.file_size} bytes; at most "
            f"{limits.MAX_CHECKPOINT_PICKLE_BYTES} are read (a state_dict's is a few KB)",
            status=413,
        )
    data = _member_bytes(archive, info)
    unpickler = _Unpickler(data, filename, prefix, members)
    try:
        obj = unpickler.load()
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(f"{filename}: its data.pkl nests too deeply") from None
    except Exception as err:  # whatever a malformed pickle makes the parser raise
        message = _show(str(err), 120)
        raise ModelFileError(
            f"{filename}: its data.pkl is not a valid pickle ({type(err).__name__}: {message})"
        ) from None
    tensors = _state_dict(obj, filename)
    return _arrays(archive, tensors, order, filename)


def _member_bytes(archive: CheckedZip, info: zipfile.ZipInfo) -> bytes:
    stream = archive.open(info)
    data = stream.read(info.file_size)
    stream.finish()
    return data


def _byte_order(archive: CheckedZip, info: zipfile.ZipInfo | None, filename: str) -> str:
    if info is None:
        return "<"  # written before torch recorded it: little-endian
    if info.file_size > 16:
        raise ModelFileError(f"{filename}: its byteorder member declares {info.file_size} bytes")
    text = _member_bytes(archive, info).strip()
    if text not in (b"little", b"big"):
        raise ModelFileError(f"{filename}: its byteorder member says {_show(text.decode('latin-1'))!r}")
    return "<" if text == b"little" else ">"


def _state_dict(obj: Any, filename: str) -> dict[str, _Tensor]:
    """The tensors of the state_dict in `obj`: obj itself, or obj['state_dict' | 'model_state_dict' | 'model']."""
    if isinstance(obj, _Tensor):
        raise ModelFileError(f"{filename} holds a single tensor; a model needs its named tensors (a state_dict)")
    if not isinstance(obj, dict):
        raise ModelFileError(f"{filename} holds a {type(obj).__name__}, not a state_dict (tensor name -> tensor)")
    for key in ("model_state_dict", "state_dict", "model"):
        inner = obj.get(key)
        if isinstance(inner, dict) and any(isinstance(v, _Tensor) for v in inner.values()):
            obj = inner
            break
    tensors = {k: v for k, v in obj.items() if isinstance(v, _Tensor)}
    if not tensors:
        raise ModelFileError(
            f"{filename} holds no tensors at its top level or under 'state_dict', 'model_state_dict' or 'model'"
        )
    for name in tensors:
        if type(name) is not str or not name or len(name) > 256 or not _encodable(name):
            shown = _show(name) if isinstance(name, str) else type(name).__name__
            raise ModelFileError(f"{filename}: the tensor name {shown!r} is not a short UTF-8 string")
    return _strip_common_prefix(tensors)


def _encodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strip_common_prefix(tensors: dict[str, _Tensor]) -> dict[str, _Tensor]:
    """'model.lstm.weight_ih_l0', 'model.fc.weight' -> 'lstm.weight_ih_l0', 'fc.weight' (Lightning, DataParallel)."""
    parts = [name.split(".") for name in tensors]
    common = 0
    while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    if common == 0:
        return tensors
    out = {".".join(p[common:]): t for p, t in zip(parts, tensors.values(), strict=True)}
    return out if len(out) == len(tensors) else tensors


def _arrays(archive: CheckedZip, tensors: dict[str, _Tensor], order: str, filename: str) -> dict[str, np.ndarray]:
    if len(tensors) > limits.MAX_UPLOAD_TENSORS:
        raise ModelFileError(
            f"{filename}: its state_dict holds {len(tensors)} tensors; at most {limits.MAX_UPLOAD_TENSORS}",
            status=413,
        )
    total = 0
    for name, tensor in tensors.items():
        total += tensor.numel
        if total > limits.MAX_UPLOAD_ELEMENTS:
            raise ModelFileError(
                f"{filename}: {name} (size {list(tensor.size)}) brings the state_dict to {total} numbers; "
                f"a file may hold at most {limits.MAX_UPLOAD_ELEMENTS}",
                name,
                status=413,
            )
    # Each storage is read once (a stored member, as torch.save writes them: a view of the
    # upload, no copy), its tensors converted to float64, and its bytes let go before the next.
    by_storage: dict[str, list[str]] = {}
    for name, tensor in tensors.items():
        by_storage.setdefault(tensor.storage.key, []).append(name)
    out = {}
    for names in by_storage.values():
        raw = _member_view(archive, tensors[names[0]].storage.info)
        for name in names:
            out[name] = _array(raw, tensors[name], order)
        del raw
    return {name: out[name] for name in tensors}  # the state_dict's order


def _member_view(archive: CheckedZip, info: zipfile.ZipInfo) -> bytes | memoryview:
    stream = archive.open(info)
    data = stream.read_view(info.file_size)
    stream.finish()
    return data


def _array(raw: bytes | memoryview, tensor: _Tensor, order: str) -> np.ndarray:
    """The tensor's numbers as float64: a strided view of its storage (bounds checked before),
    converted (the one copy model_files keeps)."""
    kind = tensor.storage.kind
    base = np.frombuffer(raw, dtype=order + ("u2" if kind.code == "bf16" else kind.code))
    if tensor.numel == 0:
        return np.zeros(tensor.size)
    view = np.lib.stride_tricks.as_strided(
        base[tensor.offset :],
        shape=tensor.size,
        strides=[s * kind.itemsize for s in tensor.stride],
        writeable=False,
    )
    if kind.code == "bf16":
        # bfloat16 is the top half of a float32.
        return (view.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return view.astype(np.float64)
