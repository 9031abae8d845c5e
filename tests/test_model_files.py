"""Reading uploaded weight files: every malformed or oversized file is a named ModelFileError.

Nothing here may expand a file before its declared sizes are checked; the files that lie
about their sizes are built by hand in tests/weight_files.py.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import orjson
import pytest

from app import limits, model_files
from app.nn import params as P
from tests.weight_files import BZIP2, LZMA, Member, deflate_zeros, npy, npy_header, npz, raw_zip

W = P.init_params("lstm", 2, 3, 1, seed=0)


def refused(filename: str, data: bytes, match: str, status: int = 422) -> model_files.ModelFileError:
    with pytest.raises(model_files.ModelFileError, match=match) as info:
        model_files.read(filename, data)
    assert info.value.status == status
    return info.value


@pytest.mark.parametrize("fmt", model_files.FORMATS)
def test_valid_files_still_read_exactly(fmt):
    back = model_files.read(f"m.{fmt}", model_files.write(W, fmt))
    assert set(back) == set(W)
    for name, arr in W.items():
        np.testing.assert_array_equal(back[name], arr)


def test_npz_in_any_byte_order_layout_and_compression():
    arr = np.arange(12.0).reshape(3, 4)
    tensors = {"f": np.asfortranarray(arr), "big": arr.astype(">f4"), "ints": np.arange(5, dtype="<i2")}
    for data in (npz(tensors), npz(tensors, compress=True)):
        back = model_files.read("m.npz", data)
        np.testing.assert_array_equal(back["f"], arr)
        np.testing.assert_array_equal(back["big"], arr)
        assert back["ints"].dtype == np.float64 and back["ints"].tolist() == [0, 1, 2, 3, 4]


# --- .npz: the archive's directory -------------------------------------------------------


def test_a_member_that_is_not_npy_is_named():
    data = raw_zip([Member.stored("weight_hh_l0.npy", b"just some bytes, not an array")])
    err = refused("m.npz", data, "weight_hh_l0.npy.*not a .npy array")
    assert err.tensor == "weight_hh_l0"
    refused("m.npz", raw_zip([Member.stored("notes.txt", b"hello")]), "notes.txt")


def test_an_npz_nested_in_an_npz_is_not_an_array():
    inner = npz({"a": np.zeros(3)})
    refused("m.npz", raw_zip([Member.stored("a.npy", inner)]), "a.npy.*not a .npy array")


def test_encrypted_members_are_refused():
    member = Member.stored("a.npy", npy(np.zeros(3)), flags=0x1)
    refused("m.npz", raw_zip([member]), "a.npy.*encrypted")


@pytest.mark.parametrize("method,label", [(BZIP2, "bzip2"), (LZMA, "LZMA"), (97, "method 97")])
def test_only_stored_and_deflate_members(method, label):
    data = npy(np.zeros(3))
    member = Member("a.npy", data, len(data), zlib.crc32(data), method=method)
    refused("m.npz", raw_zip([member]), f"a.npy.*{label}.*compression")


def test_a_bad_crc_is_named():
    data = npy(np.zeros(3))
    member = Member("a.npy", data, len(data), zlib.crc32(data) ^ 1)
    refused("m.npz", raw_zip([member]), "a.npy.*CRC")


def test_duplicate_member_names_are_refused():
    data = npy(np.zeros(3))
    refused("m.npz", raw_zip([Member.stored("a.npy", data), Member.stored("a.npy", data)]), "a.npy.*twice")


def test_too_many_members_are_refused_before_reading_any():
    members = [Member.stored(f"t{k}.npy", npy(np.zeros(1))) for k in range(limits.MAX_ARCHIVE_MEMBERS + 1)]
    refused("m.npz", raw_zip(members), f"at most {limits.MAX_ARCHIVE_MEMBERS}", status=413)


def test_a_huge_central_directory_is_refused_before_it_is_parsed():
    # Long names make the directory large without many members.
    name = "x" * 60_000 + ".npy"
    members = [Member.stored(name + str(k), b"") for k in range(10)]
    refused("m.npz", raw_zip(members), "directory", status=413)


def test_declared_sizes_over_the_budget_are_refused_unread():
    # The member declares 2 GiB but holds three bytes: only the declaration is read.
    member = Member("a.npy", b"abc", 2**31 - 1, 0)
    refused("m.npz", raw_zip([member]), "a.npy.*declares", status=413)


# --- .npz: the .npy header inside each member ---------------------------------------------


def test_an_npy_header_declaring_a_huge_shape_is_refused_before_its_data():
    header = npy_header("<f8", (2**28 - 16,))
    stream = deflate_zeros(header, 2)  # the data is cut short: only the header is read
    member = Member("a.npy", stream, len(header) + 8 * (2**28 - 16), 0, method=8)
    refused("m.npz", raw_zip([member]), "a.npy", status=413)


def test_an_npy_header_must_agree_with_the_members_size():
    data = npy(np.zeros(4))
    member = Member.stored("a.npy", data + b"\0" * 8)
    refused("m.npz", raw_zip([member]), "header of a.npy declares")
    refused("m.npz", raw_zip([Member.stored("a.npy", data[:-8])]), "header of a.npy declares")


@pytest.mark.parametrize(
    "data,match",
    [
        (npy_header("|O", (1,)) + bytes(8), "pickle"),
        (npy(np.zeros(1, dtype=np.complex128)), "complex128"),
        (npy(np.zeros(1, dtype=bool)), "bool"),
        (npy(np.array(["abc"])), "<U3"),
        (npy(np.zeros(1, dtype=[("a", "<f8")])), "numbers"),
    ],
)
def test_npy_dtypes_other_than_numbers_are_named(data, match):
    refused("m.npz", raw_zip([Member.stored("w.npy", data)]), match)


@pytest.mark.parametrize(
    "header",
    [
        b"z'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }",  # numpy's tokenizer: TokenError
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), ",  # unclosed: SyntaxError
        b"{'descr': '<f8', 'fortran_order': False, 'shape': " + b"(" * 200 + b")" * 200 + b"}",
        b"\xff\xfe{'descr'",
    ],
)
def test_a_garbled_npy_header_is_named_whatever_numpy_raises(header):
    # Found by the weight-file fuzzer: a header numpy cannot tokenize answered 500.
    padded = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(padded)) + padded + b"\0" * 24
    refused("m.npz", raw_zip([Member.stored("weight_hh_l0.npy", data)]), "weight_hh_l0.npy.*not a .npy array")


def test_a_zip_version_zipfile_cannot_read_is_named():
    # Found by the weight-file fuzzer: zipfile raises NotImplementedError for "version 8.4".
    data = bytearray(raw_zip([Member.stored("weight_hh_l0.npy", npy(np.zeros((4, 1))))]))
    central = data.index(b"PK\x01\x02")
    data[central + 6 : central + 8] = struct.pack("<H", 84)  # version needed to extract
    refused("m.npz", bytes(data), "not a valid zip archive")


def test_npy_with_more_than_three_dimensions_is_refused_from_its_header():
    data = npy_header("<f8", (1, 1, 1, 1)) + b"\0" * 8
    refused("m.npz", raw_zip([Member.stored("w.npy", data)]), "4 dimensions")


def test_a_deflate_stream_longer_than_its_declared_size_is_refused():
    # The directory says 136 bytes (header + 1 float); the stream inflates to a MiB more.
    header = npy_header("<f8", (1,))
    stream = deflate_zeros(header, 1)
    member = Member("a.npy", stream, len(header) + 8, zlib.crc32(header + bytes(8)), method=8)
    refused("m.npz", raw_zip([member]), "a.npy.*past its declared size")


def test_a_deflate_stream_shorter_than_its_declared_size_is_refused():
    data = npy(np.zeros(4))
    member = Member.deflated("a.npy", data)
    member.payload = member.payload[:-4]
    refused("m.npz", raw_zip([member]), "a.npy")


def test_a_truncated_archive_is_named():
    data = npz({"a": np.zeros(3)})
    for cut in (10, len(data) // 2, len(data) - 5):
        refused("m.npz", data[:cut], "m.npz")


# --- .safetensors: the header is checked against the buffer before loading ----------------


def safetensors(header: dict, buffer: bytes) -> bytes:
    raw = orjson.dumps(header)
    return struct.pack("<Q", len(raw)) + raw + buffer


def test_safetensors_header_longer_than_the_file():
    refused("m.safetensors", struct.pack("<Q", 100) + b"{}", "header runs past the end")
    refused("m.safetensors", struct.pack("<Q", 2**40) + b"{}", "header declares", status=413)


def test_safetensors_offsets_beyond_the_buffer():
    data = safetensors({"w": {"dtype": "F64", "shape": [2**20], "data_offsets": [0, 8 * 2**20]}}, b"\0" * 8)
    refused("m.safetensors", data, "w.*beyond")


def test_safetensors_shape_must_match_its_byte_range():
    data = safetensors({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8)
    refused("m.safetensors", data, "w.*shape")


def test_safetensors_huge_declared_shape_is_refused():
    data = safetensors({"w": {"dtype": "F64", "shape": [2**31, 2**31], "data_offsets": [0, 8]}}, b"\0" * 8)
    refused("m.safetensors", data, "w", status=413)


@pytest.mark.parametrize("dtype", ["BOOL", "F8_E4M3", "C64", "nonsense"])
def test_safetensors_dtypes_other_than_numbers_are_named(dtype):
    data = safetensors({"w": {"dtype": dtype, "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2)
    refused("m.safetensors", data, f"w.*{dtype}")


def test_bf16_safetensors_are_widened_exactly():
    """bfloat16 is the top half of a float32: 0x3FC0 is 1.5, 0xC000 is -2.0."""
    raw = np.array([0x3FC0, 0xC000, 0x0000], dtype="<u2").tobytes()
    data = safetensors({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}, raw)
    np.testing.assert_array_equal(model_files.read("m.safetensors", data)["w"], [1.5, -2.0, 0.0])


# --- .json --------------------------------------------------------------------------------


def test_json_nested_100000_deep_is_a_named_refusal():
    refused("m.json", b'{"w": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "m.json")


@pytest.mark.parametrize("number", [b"1" + b"0" * 5000, b"1e400", b"-1e400"])
def test_json_numbers_beyond_float64_are_refused(number):
    refused("m.json", b'{"w": [' + number + b"]}", "finite|float64|too large")


@pytest.mark.parametrize("value", [b"[true, 1.5]", b'["1.5"]', b"[null]", b"[{}]", b"[[1, 2], [3]]", b"1.5e"])
def test_json_tensors_must_be_rectangular_numbers(value):
    refused("m.json", b'{"w": ' + value + b"}", "w|m.json")


def test_json_nan_is_named():
    refused("m.json", b'{"weight_ih_l0": [[NaN]]}', "finite")


def test_json_with_more_numbers_than_any_model_is_refused_before_parsing():
    # JSON keeps its own, smaller cap: every number becomes a Python object while parsed.
    count = limits.MAX_UPLOAD_JSON_ELEMENTS + 1
    data = b'{"w": [' + b"0," * (count - 1) + b"0]}"
    refused("m.json", data, "m.json.*numbers", status=413)


def test_a_json_file_over_its_byte_limit_is_refused_before_parsing():
    # One string the size of the file would be held whole by the parser: refused by size.
    data = b'{"w": [0.5], "' + b"x" * limits.MAX_UPLOAD_JSON_BYTES + b'": [1]}'
    refused("m.json", data, r"m.json is \d+ MiB; a JSON weight file may be at most", status=413)


def test_json_literals_inside_names_are_not_values():
    back = model_files.read("m.json", b'{"true": [1.0], "null, false": [[2.0]]}')
    assert back["true"].tolist() == [1.0] and back["null, false"].tolist() == [[2.0]]


def test_a_json_file_of_millions_of_keys_is_refused_before_it_is_parsed():
    # Found by an attacker's pass: each key became an array before the tensor count was checked
    # (a worker reached 2.4 GB with four such uploads at once).
    data = b"{" + b",".join(b'"%x":0' % k for k in range(2_000_000)) + b"}"
    refused("m.json", data, "object keys", status=413)
