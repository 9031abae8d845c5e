"""Model files in (every kind, found by content) and weight files out (.npz, .safetensors, .json).

`read_source` tells the kind from the bytes and hands it to its reader: tensor files here,
PyTorch zip checkpoints to torch_checkpoint.py (no code from the file runs), Keras .keras
and .h5 files to keras_files.py, ONNX graphs to onnx_files.py. Each gives one ModelSource.
Every refusal is a ModelFileError naming the tensor (when there is one) and what was
expected, and for a pickle, how to save the weights safely instead; a bare pickle (legacy
torch.save, pickle.dump) is never opened.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import mmap
import re
from typing import BinaryIO

import numpy as np
import orjson
from safetensors.numpy import save as st_save

from . import limits
from .archive_checks import ArchiveError, CheckedZip, MemberStream, ZipBudget
from .model_source import ModelSource

FORMATS = ("npz", "safetensors", "json")
MAX_TENSORS = limits.MAX_UPLOAD_TENSORS
MAX_ELEMENTS = limits.MAX_UPLOAD_ELEMENTS
# Zips are opened with room for a checkpoint's members; a .npz is then held to MAX_ARCHIVE_MEMBERS.
ZIP_BUDGET = ZipBudget(
    max_members=max(limits.MAX_ARCHIVE_MEMBERS, limits.MAX_CHECKPOINT_MEMBERS),
    max_directory_bytes=limits.MAX_ARCHIVE_DIRECTORY_BYTES,
    max_total_bytes=limits.MAX_UPLOAD_EXPANDED_BYTES,
)

HOW_TO_SAVE = (
    "Save with a current torch instead, torch.save(model.state_dict(), 'm.pt') (a zip checkpoint, read "
    "without running code), or as plain arrays: "
    "safetensors.torch.save_model(model, 'model.safetensors') (save_model, unlike save_file, also handles "
    "tied weights) or "
    "numpy.savez('model.npz', **{k: v.detach().numpy() for k, v in model.state_dict().items()})"
)
KINDS = (
    "a PyTorch checkpoint (.pt/.pth/.bin from torch.save), a Keras model (.keras, .h5, .weights.h5), "
    "an ONNX model (.onnx), or named tensors (.npz, .safetensors, .json)"
)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


class ModelFileError(ValueError):
    """A file refused; `tensor` names the culprit when there is one; status 413 when over a budget."""

    def __init__(self, msg: str, tensor: str | None = None, status: int = 422):
        super().__init__(msg)
        self.tensor = tensor
        self.status = status


def _too_large(msg: str, tensor: str | None = None) -> ModelFileError:
    return ModelFileError(msg, tensor, status=413)


PICKLE_NAMES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")


def _guess_format(filename: str, data: bytes) -> str:
    """By content, never by name: a zip (.npz, PyTorch checkpoint or .keras, told apart in _zip),
    HDF5 (Keras), safetensors, JSON, ONNX."""
    name = filename.lower()
    if data[:2] == b"PK":
        return "zip"
    if data[:8] == HDF5_MAGIC:
        return "hdf5"
    if name.endswith(".npy"):
        raise ModelFileError(
            f"{filename}: a .npy file holds one array; a model needs its named tensors: use .npz. {HOW_TO_SAVE}"
        )
    # safetensors: an 8-byte little-endian header length, then the JSON header (checked before
    # the pickle header: a 640-byte header length starts b"\x80\x02" too).
    if data[8:9] == b"{" and not name.endswith((".npz", ".json")):
        return "safetensors"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):  # pickle protocol 2-5
        raise _bare_pickle(filename)
    if data.lstrip()[:1] == b"{" and not name.endswith(".safetensors"):
        return "json"
    if name.endswith(".safetensors"):
        return "safetensors"
    if data[:1] == b"\x08":  # perhaps an ONNX ModelProto (field 1 first): _onnx parses it, once
        return "onnx"
    raise _not_a_model(filename)


def _not_a_model(filename: str) -> ModelFileError:
    if filename.lower().endswith(PICKLE_NAMES):
        return _bare_pickle(filename)  # protocol 0 or 1 pickles have no header
    return ModelFileError(f"{filename}: not a model file this app reads; it reads {KINDS}")


def _bare_pickle(filename: str) -> ModelFileError:
    # torch.save before 1.6 (or with _use_new_zipfile_serialization=False) and pickle.dump.
    return ModelFileError(
        f"{filename} is a bare pickle (a legacy, pre-1.6 torch.save or pickle.dump), which can run code when "
        f"loaded; it is never opened here. {HOW_TO_SAVE}"
    )


# --- zips: a PyTorch checkpoint (holding data.pkl) or a .npz of .npy members --------------


def _zip(data: bytes | mmap.mmap, filename: str) -> ModelSource:
    from . import torch_checkpoint  # it imports ModelFileError from here

    try:
        archive = CheckedZip(data, ZIP_BUDGET)
    except ArchiveError as err:
        raise _archive_error(err, filename) from None
    if torch_checkpoint.is_checkpoint(archive):
        return ModelSource(torch_checkpoint.read(archive, filename), None, "pytorch", "pt")
    from . import keras_files

    if keras_files.is_keras_archive(archive):
        return keras_files.read_archive(archive, filename)
    return ModelSource(_npz(archive, filename), None, "unknown", "npz")


# --- .npz: a zip of .npy members, every declared size checked before any data is read ----


def _npz(archive: CheckedZip, filename: str) -> dict[str, np.ndarray]:
    try:
        if len(archive.members) > limits.MAX_ARCHIVE_MEMBERS:
            raise ArchiveError(
                f"it has {len(archive.members)} members; at most {limits.MAX_ARCHIVE_MEMBERS} are read", too_large=True
            )
        out: dict[str, np.ndarray] = {}
        for info in archive.members:
            if not info.filename.endswith(".npy"):
                raise ModelFileError(
                    f"{filename}: member {info.filename!r} is not a .npy array (a .npz holds only NAME.npy members)",
                    info.filename,
                )
            tensor = info.filename[: -len(".npy")]
            out[tensor] = _npy_member(archive.open(info), filename, tensor, sum(a.size for a in out.values()))
        return out
    except ArchiveError as err:
        raise _archive_error(err, filename) from None


def _archive_error(err: ArchiveError, filename: str) -> ModelFileError:
    tensor = err.member[: -len(".npy")] if err.member and err.member.endswith(".npy") else err.member
    return ModelFileError(f"{filename}: {err}", tensor, status=413 if err.too_large else 422)


def _npy_member(stream: MemberStream, filename: str, tensor: str, numbers_so_far: int) -> np.ndarray:
    """One .npy member: its header read and checked first, then exactly the bytes it declares."""
    shape, fortran_order, dtype = _npy_header(stream, filename, tensor)
    _check_dtype(dtype, tensor)
    count = math.prod(shape)
    if len(shape) > 3:
        raise ModelFileError(f"{tensor} has {len(shape)} dimensions {shape}; expected at most 3", tensor)
    if numbers_so_far + count > MAX_ELEMENTS:
        raise _too_large(
            f"{filename}: {stream.name} declares shape {shape} ({count} numbers); a file may hold at most "
            f"{MAX_ELEMENTS}, more than any model this app accepts",
            tensor,
        )
    nbytes = count * dtype.itemsize
    if stream.tell() + nbytes != stream.size:
        raise ModelFileError(
            f"{filename}: the .npy header of {stream.name} declares {nbytes} bytes of data ({shape}, {dtype}) "
            f"but the member holds {stream.size - stream.tell()}",
            tensor,
        )
    buffer = stream.read_view(nbytes)  # a stored member: a view of the upload (converted once in _checked)
    stream.finish()
    flat = np.frombuffer(buffer, dtype=dtype)
    # Fortran order stores the transpose's C layout.
    return flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)


def _npy_header(stream: MemberStream, filename: str, tensor: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from the member's first bytes; only the header is read."""
    not_npy = f"{filename}: member {stream.name!r} is not a .npy array"
    try:
        version = np.lib.format.read_magic(io.BytesIO(stream.read(np.lib.format.MAGIC_LEN)))
        if version not in ((1, 0), (2, 0)):
            raise ModelFileError(f"{not_npy} of format 1.0 or 2.0 (it says {version})", tensor)
        length_field = stream.read(2 if version == (1, 0) else 4)
        length = int.from_bytes(length_field, "little")
        if length > limits.MAX_NPY_HEADER_BYTES:
            raise ModelFileError(
                f"{not_npy}: its header declares {length} bytes; at most {limits.MAX_NPY_HEADER_BYTES}", tensor
            )
        header = io.BytesIO(length_field + stream.read(length))
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = reader(header, max_header_size=limits.MAX_NPY_HEADER_BYTES)
    except ModelFileError:
        raise
    except Exception as err:
        # numpy parses the header with tokenize and ast.literal_eval: a hostile header can make
        # them raise nearly anything (ValueError, SyntaxError, tokenize.TokenError, ...).  The
        # header is at most MAX_NPY_HEADER_BYTES, so the parse is bounded; whatever it raises
        # is the file's problem, named as such.
        raise ModelFileError(f"{not_npy} ({type(err).__name__}: {err})", tensor) from None
    if any(d < 0 for d in shape):
        raise ModelFileError(f"{not_npy}: its header declares the shape {shape}", tensor)
    return shape, fortran_order, dtype


def _check_dtype(dtype: np.dtype, tensor: str) -> None:
    if dtype.hasobject:
        # numpy would need to unpickle these.
        raise ModelFileError(
            f"{tensor} holds pickled object arrays, which are never loaded here. {HOW_TO_SAVE}", tensor
        )
    if dtype.kind not in "fiu" or dtype.fields is not None:
        raise ModelFileError(f"{tensor} has dtype {dtype}; expected floating-point numbers", tensor)


# --- .safetensors: the JSON header checked against the limits and the buffer first --------

# safetensors dtypes -> numpy (little-endian, as the format stores them). BF16 has no numpy
# dtype: its 16 bits are the top half of a float32, widened in _st_array.
_ST_DTYPES = {
    "BF16": "<u2",
    "F16": "<f2",
    "F32": "<f4",
    "F64": "<f8",
    "I8": "i1",
    "I16": "<i2",
    "I32": "<i4",
    "I64": "<i8",
    "U8": "u1",
    "U16": "<u2",
    "U32": "<u4",
    "U64": "<u8",
}
_ST_ITEMSIZE = {name: np.dtype(code).itemsize for name, code in _ST_DTYPES.items()}


def _safetensors(data: bytes, filename: str) -> dict[str, np.ndarray]:
    """Every tensor, decoded here (not by the library: it has no bfloat16 for numpy) once the
    header has been checked against the buffer."""
    header, start = _check_safetensors_header(data, filename)
    return {name: _st_array(data, start, spec) for name, spec in header.items() if name != "__metadata__"}


def _st_array(data: bytes, start: int, spec: dict) -> np.ndarray:
    begin = spec["data_offsets"][0]
    raw = np.frombuffer(data, dtype=_ST_DTYPES[spec["dtype"]], count=math.prod(spec["shape"]), offset=start + begin)
    if spec["dtype"] == "BF16":
        raw = (raw.astype(np.uint32) << 16).view(np.float32)
    return raw.reshape(spec["shape"])


def _check_safetensors_header(data: bytes, filename: str) -> tuple[dict, int]:
    """Every tensor's declared dtype, shape and byte range, before anything is allocated.

    Returns the header and where the data buffer starts.
    """
    if len(data) < 8:
        raise ModelFileError(f"{filename} is too short for a .safetensors header ({len(data)} bytes)")
    length = int.from_bytes(data[:8], "little")
    if length > limits.MAX_SAFETENSORS_HEADER_BYTES:
        raise _too_large(
            f"{filename}: its .safetensors header declares {length} bytes; at most {limits.MAX_SAFETENSORS_HEADER_BYTES}"
        )
    if 8 + length > len(data):
        raise ModelFileError(f"{filename}: its {length}-byte header runs past the end of the file ({len(data)} bytes)")
    try:
        header = orjson.loads(data[8 : 8 + length])
    except orjson.JSONDecodeError as err:
        raise ModelFileError(f"{filename}: its .safetensors header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{filename}: its .safetensors header is not a JSON object")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if len(tensors) > MAX_TENSORS:
        raise _too_large(f"{filename} declares {len(tensors)} tensors; at most {MAX_TENSORS}")
    buffer, total = len(data) - 8 - length, 0
    for name, spec in tensors.items():
        total += _check_safetensors_entry(name, spec, buffer)
        if total > MAX_ELEMENTS:
            raise _too_large(
                f"{filename}: {name} brings the declared numbers to {total}; a file may hold at most {MAX_ELEMENTS}",
                name,
            )
    return header, 8 + length


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_safetensors_entry(name: str, spec: object, buffer: int) -> int:
    """The entry's number count, once its dtype, shape and offsets agree with each other and the buffer."""
    if not isinstance(spec, dict):
        raise ModelFileError(f"{name}: expected an object with dtype, shape and data_offsets", name)
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _ST_ITEMSIZE:
        raise ModelFileError(
            f"{name} has dtype {str(dtype)[:40]}; expected floating-point numbers (BF16, F16, F32, F64) or integers",
            name,
        )
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise ModelFileError(f"{name}: its shape is not a list of non-negative integers", name)
    if len(shape) > 3:
        raise ModelFileError(f"{name} has {len(shape)} dimensions; expected at most 3", name)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise ModelFileError(f"{name}: data_offsets must be two non-negative integers [begin, end]", name)
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise _too_large(f"{name} declares shape {shape}; a file may hold at most {MAX_ELEMENTS} numbers", name)
    begin, end = offsets
    if begin > end or end > buffer:
        raise ModelFileError(f"{name}: data_offsets {offsets} run beyond the {buffer}-byte data buffer", name)
    if end - begin != count * _ST_ITEMSIZE[dtype]:
        raise ModelFileError(
            f"{name}: shape {shape} of {dtype} needs {count * _ST_ITEMSIZE[dtype]} bytes; its data_offsets give {end - begin}",
            name,
        )
    return count


# --- .json: parsed by orjson after a cheap bound on how many numbers it can hold ----------

# Literals outside strings: strings are blanked first so a tensor named "null" is not one.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_LITERAL = re.compile(rb"\b(?:true|false|null)\b")


def _json(data: bytes, filename: str) -> ModelSource:
    """{name: nested lists}, or {"tensors": {...}, "vocab": [...]} with the model's vocabulary."""
    # Parsing builds a Python object per number: JSON keeps smaller limits than other files.
    if len(data) > limits.MAX_UPLOAD_JSON_BYTES:
        raise _too_large(
            f"{filename} is {len(data) // 2**20} MiB; a JSON weight file may be at most "
            f"{limits.MAX_UPLOAD_JSON_BYTES // 2**20} MiB. Larger models come as .npz, .safetensors or .pt"
        )
    # Every number in an array follows a '[' or a ','; counting them bounds the numbers
    # before a Python object is built for each.
    bound = data.count(b",") + data.count(b"[")
    if bound > limits.MAX_UPLOAD_JSON_ELEMENTS:
        raise _too_large(
            f"{filename} could hold up to {bound} numbers; a JSON weight file may hold at most "
            f"{limits.MAX_UPLOAD_JSON_ELEMENTS} (larger models come as .npz, .safetensors or .pt)"
        )
    keys = data.count(b":")  # every object key is followed by one; a name may hold some too
    if keys > limits.MAX_UPLOAD_JSON_KEYS:
        raise _too_large(
            f"{filename} holds about {keys} object keys; a weights file has at most {limits.MAX_UPLOAD_TENSORS} "
            "tensor names"
        )
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise ModelFileError(
            f"{filename}: not valid UTF-8 JSON ({err}); weights must be finite numbers that fit a float64 "
            "(NaN and Infinity are not JSON)"
        ) from None
    if _has_json_literal(data):
        raise ModelFileError(f"{filename} holds true, false or null; weights must be numbers")
    vocab = None
    if isinstance(obj, dict) and isinstance(obj.get("tensors"), dict):
        extra = sorted(set(obj) - {"tensors", "vocab"})
        if extra:
            raise ModelFileError(f"{filename}: unknown key {extra[0]!r} beside tensors; expected only vocab")
        vocab = obj.get("vocab")
        if vocab is not None and not (isinstance(vocab, list) and all(isinstance(t, str) for t in vocab)):
            raise ModelFileError(f"{filename}: vocab must be a list of strings (the tokens in the model's order)")
        obj = obj["tensors"]
    if not isinstance(obj, dict):
        raise ModelFileError(f"{filename}: expected a JSON object of tensor name -> nested lists of numbers")
    tensors = {name: _json_tensor(name, value) for name, value in obj.items()}
    source = ModelSource(tensors, None, "unknown", "json", vocab=vocab)
    if vocab is not None:
        source.read["vocab"] = f"{len(vocab)} tokens"
    return source


def _has_json_literal(data: bytes) -> bool:
    """true, false or null outside strings (numpy would turn true into 1.0 without a word)."""
    # bytes.find is far cheaper than the regex pass over a 30 MB file; most files stop here.
    if b"true" not in data and b"false" not in data and b"null" not in data:
        return False
    return _JSON_LITERAL.search(_JSON_STRING.sub(b'""', data)) is not None


def _json_tensor(name: str, value: object) -> np.ndarray:
    try:
        arr = np.array(value)
    except (ValueError, TypeError):
        arr = None
    # Let numpy infer the type: strings, objects and ragged lists show up as dtypes to refuse
    # rather than being converted ("1.5" -> 1.5) as dtype=float64 would.
    if arr is None or arr.dtype.kind not in "fiu":
        raise ModelFileError(
            f"{name} is not a rectangular array of numbers (integers must fit 64 bits)", name
        ) from None
    return arr


def _hdf5(data: bytes, filename: str) -> ModelSource:
    from . import keras_files

    return keras_files.read_h5(data, filename)


def _onnx(data: bytes, filename: str) -> ModelSource:
    from . import onnx_files  # it imports ModelFileError from here

    model = onnx_files.parse(data)
    if model is None:
        raise _not_a_model(filename)
    return onnx_files.read(data, filename, model)


def _tensor_file(data: bytes, filename: str) -> ModelSource:
    return ModelSource(_safetensors(data, filename), None, "unknown", "safetensors")


def read_upload(file: BinaryIO, size: int) -> bytes | mmap.mmap:
    """An uploaded file's bytes, from the file the form parser spooled to disk, read once.

    A zip (PyTorch checkpoint, .npz, .keras) is mapped, not read: only the pages its readers
    touch (the directory, data.pkl, the chosen state_dict's storages; never an optimizer's)
    come into memory, as the page cache's pages rather than a copy, and the tensors read
    from stored members are converted straight from them.  Anything else is read whole: its
    readers (and the parity check's frameworks) take bytes.
    """
    file.seek(0)
    if size > 2 and file.read(2) == b"PK":
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):  # not a file on disk
            return mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ)
    file.seek(0)
    return file.read(size)


def read_source(filename: str, data: bytes | mmap.mmap) -> ModelSource:
    """The model in an uploaded file, its tensors float64 and checked; refuses bare pickles,
    odd dtypes, NaN and oversize, and whatever the engine cannot compute (by name)."""
    fmt = _guess_format(filename, data)
    readers = {"zip": _zip, "hdf5": _hdf5, "onnx": _onnx, "safetensors": _tensor_file, "json": _json}
    source = readers[fmt](data, filename)
    source.tensors = _checked(source.tensors, filename)
    return source


def read(filename: str, data: bytes) -> dict[str, np.ndarray]:
    """Named float64 arrays from an uploaded file (read_source's tensors)."""
    return read_source(filename, data).tensors


def _checked(tensors: dict[str, np.ndarray], filename: str) -> dict[str, np.ndarray]:
    if not tensors:
        raise ModelFileError(f"{filename} holds no tensors")
    if len(tensors) > MAX_TENSORS:
        raise ModelFileError(
            f"{filename} holds {len(tensors)} tensors; at most {MAX_TENSORS} ({limits.MAX_LAYERS} layers and a head)"
        )
    out = {}
    total = 0
    for name, arr in tensors.items():
        _check_dtype(arr.dtype, name)
        if arr.ndim > 3:
            raise ModelFileError(f"{name} has {arr.ndim} dimensions {arr.shape}; expected at most 3", name)
        total += arr.size
        if total > MAX_ELEMENTS:
            raise _too_large(
                f"{filename} holds over {MAX_ELEMENTS} numbers; larger than any model this app accepts", name
            )
        if arr.dtype != np.float64 or not arr.flags.writeable:
            # A tensor's one conversion: the safetensors and .npz readers hand views of the
            # upload in the file's dtype; the checkpoint reader's float64 arrays are kept.
            arr = arr.astype(np.float64)
        if not _all_finite(arr):
            raise ModelFileError(f"{name} holds NaN or infinite values", name)
        out[name] = arr
    return out


def _all_finite(arr: np.ndarray, chunk: int = 2**20) -> bool:
    """No NaN or infinity, checked a million numbers at a time (not one boolean per number at once)."""
    flat = np.ravel(arr, order="K")  # a view of any contiguous array, in memory order
    return all(np.isfinite(flat[k : k + chunk]).all() for k in range(0, flat.size, chunk))


def write(tensors: dict[str, np.ndarray], fmt: str) -> bytes:
    if fmt == "npz":
        buf = io.BytesIO()
        np.savez(buf, **{k: np.ascontiguousarray(v) for k, v in tensors.items()})
        return buf.getvalue()
    if fmt == "safetensors":
        return st_save({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in tensors.items()})
    if fmt == "json":
        return json.dumps({k: v.tolist() for k, v in tensors.items()}).encode()
    raise ModelFileError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


MEDIA_TYPES = {"npz": "application/octet-stream", "safetensors": "application/octet-stream", "json": "application/json"}
