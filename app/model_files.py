"""Weight files in and out: .npz, .safetensors and .json, never pickles.

Every refusal is a ModelFileError naming the tensor (when there is one) and what was
expected, and for a pickle, how to save the weights safely instead.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from . import limits

FORMATS = ("npz", "safetensors", "json")
MAX_TENSORS = 4 * 4 + 2 + 16  # four layers of four tensors, a head, and some slack
MAX_ELEMENTS = 3_000_000  # the largest accepted model (4 layers, H = D = 256, LSTM) holds 2.1M

HOW_TO_SAVE = (
    "Save plain arrays instead, for example "
    "safetensors.torch.save_file(model.state_dict(), 'model.safetensors') or "
    "numpy.savez('model.npz', **{k: v.detach().numpy() for k, v in model.state_dict().items()})"
)


class ModelFileError(ValueError):
    def __init__(self, msg: str, tensor: str | None = None):
        super().__init__(msg)
        self.tensor = tensor


def _guess_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith((".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")):
        raise ModelFileError(
            f"{filename}: PyTorch checkpoints and pickles can run code when loaded and are never opened here. {HOW_TO_SAVE}"
        )
    if name.endswith(".npy"):
        raise ModelFileError(
            f"{filename}: a .npy file holds one array; a model needs its named tensors: use .npz. {HOW_TO_SAVE}"
        )
    # safetensors: an 8-byte little-endian header length, then the JSON header.
    if data[8:9] == b"{" and not name.endswith((".npz", ".json")):
        return "safetensors"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):  # pickle protocol 2-5
        raise ModelFileError(
            f"{filename} is a pickle, which can run code when loaded; it is never opened here. {HOW_TO_SAVE}"
        )
    if data[:2] == b"PK":
        return "npz"
    if data.lstrip()[:1] == b"{" and not name.endswith(".safetensors"):
        return "json"
    if name.endswith(".safetensors"):
        return "safetensors"
    raise ModelFileError(f"{filename}: not a .npz, .safetensors or .json weights file")


def _npz(data: bytes, filename: str) -> dict[str, np.ndarray]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise ModelFileError(f"{filename}: not a valid .npz archive ({err})") from None
    members = archive.namelist()
    if any(m.endswith(".pkl") or "/data.pkl" in m for m in members) or not all(m.endswith(".npy") for m in members):
        raise ModelFileError(
            f"{filename} looks like a PyTorch checkpoint (a zip of pickles), not a .npz of arrays. {HOW_TO_SAVE}"
        )
    out = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for name in npz.files:
                out[name] = npz[name]
    except ValueError as err:
        # numpy says "Object arrays cannot be loaded when allow_pickle=False".
        raise ModelFileError(
            f"{filename} holds pickled object arrays, which are never loaded here. {HOW_TO_SAVE}"
        ) from err
    return out


def _safetensors(data: bytes, filename: str) -> dict[str, np.ndarray]:
    try:
        return dict(st_load(data))
    except (SafetensorError, ValueError, TypeError, KeyError) as err:
        raise ModelFileError(f"{filename}: not a valid .safetensors file ({err})") from None


def _json(data: bytes, filename: str) -> dict[str, np.ndarray]:
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{filename}: not valid UTF-8 JSON ({err})") from None
    if isinstance(obj, dict) and isinstance(obj.get("tensors"), dict):
        obj = obj["tensors"]
    if not isinstance(obj, dict):
        raise ModelFileError(f"{filename}: expected a JSON object of tensor name -> nested lists of numbers")
    out = {}
    for name, value in obj.items():
        try:
            arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise ModelFileError(f"{name} is not a rectangular array of numbers", name) from None
        out[name] = arr
    return out


def _refuse_constant(token: str) -> float:
    raise ModelFileError(f"the file contains {token}; weights must be finite numbers")


def read(filename: str, data: bytes) -> dict[str, np.ndarray]:
    """Named float64 arrays from an uploaded file; refuses pickles, odd dtypes, NaN and oversize."""
    fmt = _guess_format(filename, data)
    tensors = {"npz": _npz, "safetensors": _safetensors, "json": _json}[fmt](data, filename)
    if not tensors:
        raise ModelFileError(f"{filename} holds no tensors")
    if len(tensors) > MAX_TENSORS:
        raise ModelFileError(
            f"{filename} holds {len(tensors)} tensors; at most {MAX_TENSORS} ({limits.MAX_LAYERS} layers and a head)"
        )
    out = {}
    total = 0
    for name, arr in tensors.items():
        if arr.dtype.kind not in "fiu":
            raise ModelFileError(f"{name} has dtype {arr.dtype}; expected floating-point numbers", name)
        if arr.ndim > 3:
            raise ModelFileError(f"{name} has {arr.ndim} dimensions {arr.shape}; expected at most 3", name)
        total += arr.size
        if total > MAX_ELEMENTS:
            raise ModelFileError(
                f"{filename} holds over {MAX_ELEMENTS} numbers; larger than any model this app accepts", name
            )
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{name} holds NaN or infinite values", name)
        out[name] = arr
    return out


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
