"""Fuzzing POST /api/models with the structured files schemathesis cannot generate.

Valid .npz, .safetensors and .json weight files are built with hypothesis from real models
in every layout, then mutated: truncated, bytes flipped or inserted, zip headers lying about
sizes, CRCs, flags and compression methods, .npy and safetensors headers declaring other
dtypes and shapes, extra, duplicate and nested-archive members, JSON values swapped for
other JSON. Every answer must be 201 or a 4xx whose `detail` names the field and says what
is wrong; never a 5xx (TestClient re-raises a server exception, failing the example).

By default each test runs a modest number of examples so the suite finishes in well under
a minute. For a long run, raise the count with LSTMVIS_FUZZ_EXAMPLES:

    LSTMVIS_FUZZ_EXAMPLES=5000 /tmp/venv-probe/bin/python -m pytest -q -p no:cacheprovider \\
        tests/api/test_weight_file_fuzz.py
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import model_files
from app.main import create_app
from app.nn import layouts
from app.nn import params as P
from tests.weight_files import BZIP2, DEFLATED, LZMA, STORED, Member, npy, npy_header, raw_zip

EXAMPLES = int(os.environ.get("LSTMVIS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def answered_properly(client: TestClient, filename: str, data: bytes, layout: str | None) -> None:
    form = {"layout": layout} if layout else {}
    r = client.post("/api/models", files={"file": (filename, data)}, data=form)
    assert r.status_code == 201 or 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code != 201:
        detail = r.json()["detail"]
        assert isinstance(detail, list) and detail, r.text[:500]
        first = detail[0]
        assert first["loc"][0] == "body" and len(first["loc"]) >= 2, first
        assert isinstance(first["msg"], str) and len(first["msg"]) > 10, first


# --- valid files --------------------------------------------------------------------------


@st.composite
def models(draw) -> dict[str, np.ndarray]:
    cell = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    layout = draw(st.sampled_from([lay for lay in layouts.LAYOUTS if cell in layouts.BLOCK_ORDER[lay]]))
    d, h, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 2))
    params = P.init_params(cell, d, h, n, seed=draw(st.integers(0, 9)))
    if draw(st.booleans()):
        params |= P.init_head(h, draw(st.integers(1, 3)), seed=1)
    return layouts.from_pytorch(cell, params, layout)


layout_field = st.sampled_from([None, *layouts.LAYOUTS])


# --- byte-level mutations, for every format -----------------------------------------------


@st.composite
def mutated_bytes(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["keep", "truncate", "flip", "insert", "splice"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(out) - 1))
            out[at] ^= draw(st.integers(1, 255))
        return bytes(out)
    if kind == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    if kind == "splice":
        a, b = sorted(draw(st.lists(st.integers(0, len(data)), min_size=2, max_size=2)))
        return data[:a] + data[b:]
    return data


@FUZZ
@given(st.data(), models(), st.sampled_from(model_files.FORMATS), layout_field)
def test_byte_mutations_of_every_format(client, data, tensors, fmt, layout):
    raw = model_files.write(tensors, fmt)
    answered_properly(client, f"m.{fmt}", data.draw(mutated_bytes(raw)), layout)


# --- .npz: archives whose headers lie -----------------------------------------------------

methods = st.sampled_from([STORED, DEFLATED, BZIP2, LZMA, 9, 99])
dtypes = st.sampled_from(["<f8", ">f4", "<f2", "<i4", "|u1", "|b1", "<c16", "|O", "<U4", "|V8", "<f16"])
shapes = st.lists(st.integers(0, 2**31), min_size=0, max_size=5).map(tuple)


@st.composite
def npz_members(draw, tensors: dict[str, np.ndarray]) -> list[Member]:
    members = [
        (Member.deflated if draw(st.booleans()) else Member.stored)(f"{k}.npy", npy(v)) for k, v in tensors.items()
    ]
    for _ in range(draw(st.integers(0, 3))):
        m = members[draw(st.integers(0, len(members) - 1))]
        change = draw(st.sampled_from(["size", "crc", "method", "flags", "header", "extra", "dup", "nested", "name"]))
        if change == "size":
            m.file_size = draw(st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 4096)))
        elif change == "crc":
            m.crc = draw(st.integers(0, 2**32 - 1))
        elif change == "method":
            m.method = draw(methods)
        elif change == "flags":
            m.flags = draw(st.integers(0, 0xFFFF))
        elif change == "header":
            header = npy_header(draw(dtypes), draw(shapes)) if draw(st.booleans()) else npy_header("<f8", (3,))
            body = header + draw(st.binary(max_size=64))
            members[members.index(m)] = (Member.deflated if draw(st.booleans()) else Member.stored)(m.name, body)
        elif change == "extra":
            members.append(Member.stored(draw(st.text(min_size=1, max_size=20)), draw(st.binary(max_size=64))))
        elif change == "dup":
            members.append(Member.stored(m.name, m.payload))
        elif change == "nested":
            members.append(Member.stored("inner.npy", raw_zip([Member.stored("w.npy", npy(np.zeros(2)))])))
        else:
            m.name = draw(st.sampled_from(["../evil.npy", "a/b.npy", "x.pkl", "archive/data.pkl", "", "w"]))
    return members


@FUZZ
@given(st.data(), models(), layout_field)
def test_npz_with_lying_headers(client, data, tensors, layout):
    members = data.draw(npz_members(tensors))
    answered_properly(client, "m.npz", data.draw(mutated_bytes(raw_zip(members))), layout)


# --- .safetensors: a header declaring other dtypes, shapes and offsets --------------------

st_values = st.one_of(
    st.sampled_from(["F64", "F32", "F16", "BF16", "I64", "U8", "BOOL", "C64", "F8_E4M3", ""]),
    st.lists(st.integers(-2, 2**40), max_size=4),
    st.integers(-(2**63), 2**64 - 1),  # what orjson can write
    st.none(),
    st.text(max_size=8),
)


@FUZZ
@given(st.data(), models(), layout_field)
def test_safetensors_with_lying_headers(client, data, tensors, layout):
    raw = model_files.write(tensors, "safetensors")
    length = int.from_bytes(raw[:8], "little")
    header, buffer = orjson.loads(raw[8 : 8 + length]), raw[8 + length :]
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
        field = data.draw(st.sampled_from(["dtype", "shape", "data_offsets", "drop", "whole"]))
        if field == "drop":
            header.pop(name)
        elif field == "whole":
            header[name] = data.draw(st_values)
        elif isinstance(header[name], dict):
            header[name][field] = data.draw(st_values)
        if not any(k != "__metadata__" for k in header):
            break
    new = orjson.dumps(header)
    declared = data.draw(st.sampled_from([len(new), len(new) + 1, 2**32, 2**63]))
    answered_properly(client, "m.safetensors", struct.pack("<Q", declared) + new + buffer, layout)


# --- .json: numbers swapped for other JSON ------------------------------------------------

json_leaves = st.one_of(
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    # Fresh containers per draw: a shared st.just([]) could be inserted into itself.
    st.builds(list),
    st.builds(dict),
    st.builds(lambda: [[1.0], [2.0, 3.0]]),
)


@FUZZ
@given(st.data(), models(), layout_field)
def test_json_with_other_values(client, data, tensors, layout):
    obj = {k: v.tolist() for k, v in tensors.items()}
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(obj)))
        value = obj[name]
        if isinstance(value, list) and value and data.draw(st.booleans()):
            at = data.draw(st.integers(0, len(value) - 1))
            value[at] = data.draw(json_leaves)
        else:
            obj[name] = data.draw(json_leaves)
    raw = json.dumps(obj).encode()  # not orjson: it cannot write integers beyond 64 bits
    if data.draw(st.booleans()):
        raw = data.draw(st.sampled_from([b'{"tensors": ' + raw + b"}", b"[" * 3000 + b"]" * 3000, raw + b"x"]))
    answered_properly(client, "m.json", raw, layout)


def test_the_fuzz_helpers_make_valid_files_that_upload(client):
    """The mutations start from files the server accepts, so a refusal means the mutation."""
    tensors = layouts.from_pytorch("gru", P.init_params("gru", 2, 3, 2, 0), "keras")
    for fmt in model_files.FORMATS:
        r = client.post("/api/models", files={"file": (f"m.{fmt}", model_files.write(tensors, fmt))})
        assert r.status_code == 201, r.text
    r = client.post(
        "/api/models",
        files={"file": ("m.npz", raw_zip([Member.stored(f"{k}.npy", npy(v)) for k, v in tensors.items()]))},
    )
    assert r.status_code == 201, r.text
