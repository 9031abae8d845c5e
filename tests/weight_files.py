"""Hand-made weight files for the upload tests: zips whose headers say what a test wants.

`zipfile` and `numpy.savez` only write honest archives; the attacks need archives that
lie (sizes, CRCs, flags, compression methods) and bombs that declare gigabytes in a few
kilobytes, built without ever holding the gigabytes in memory.
"""

from __future__ import annotations

import bz2
import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """Only the .npy magic and header: what a file declaring `shape` starts with."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def deflate_zeros(prefix: bytes, mib: int) -> bytes:
    """A raw deflate stream of `prefix` then `mib` MiB of zeros, in about 1 KB per MiB.

    After a full flush the compressor forgets its history, so every MiB of zeros compresses
    to the same bytes: compress one and repeat it.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return head + block * mib + c.flush()


_BZ_BLOCK = format(0x314159265359, "048b")
_BZ_END = format(0x177245385090, "048b")


def _bz2_block(data: bytes) -> tuple[str, int]:
    """The bits of the one block bz2 makes of `data`, and that block's CRC."""
    raw = bz2.compress(data, 9)
    bits = bin(int.from_bytes(raw, "big"))[2:].zfill(8 * len(raw))
    assert bits[32:80] == _BZ_BLOCK
    return bits[32 : bits.rindex(_BZ_END)], int(bits[80:112], 2)


def bz2_zeros(prefix: bytes, blocks_of_32_mib: int) -> bytes:
    """A bzip2 stream of `prefix` then 32 MiB blocks of zeros: 2 GiB in about 2 KB.

    bzip2 blocks are independent (bit-aligned) and the stream CRC combines the block CRCs,
    so one compressed block of zeros is repeated at the bit level.
    """
    blocks = [_bz2_block(prefix)] + [_bz2_block(bytes(32 << 20))] * blocks_of_32_mib
    combined = 0
    for _, crc in blocks:
        combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ crc
    bits = "".join(b for b, _ in blocks) + _BZ_END + format(combined, "032b")
    bits += "0" * (-len(bits) % 8)
    return b"BZh9" + int(bits, 2).to_bytes(len(bits) // 8, "big")


def zeros_crc(prefix: bytes, mib: int) -> int:
    crc, block = zlib.crc32(prefix), bytes(1 << 20)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return crc


@dataclass
class Member:
    """One zip entry, written exactly as given: `payload` is already compressed."""

    name: str
    payload: bytes
    file_size: int
    crc: int
    method: int = STORED
    flags: int = 0

    @classmethod
    def stored(cls, name: str, data: bytes, **kw) -> Member:
        return cls(name, data, len(data), zlib.crc32(data), **kw)

    @classmethod
    def deflated(cls, name: str, data: bytes, **kw) -> Member:
        return cls(name, deflate(data), len(data), zlib.crc32(data), DEFLATED, **kw)


def raw_zip(members: list[Member]) -> bytes:
    """A zip archive from members, sizes and flags as declared (no zip64)."""
    out, central = io.BytesIO(), io.BytesIO()
    for m in members:
        name = m.name.encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                m.flags,
                m.method,
                0,
                0x21,
                m.crc,
                len(m.payload),
                m.file_size,
                len(name),
                0,
            )
        )
        out.write(name + m.payload)
        central.write(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                m.flags,
                m.method,
                0,
                0x21,
                m.crc,
                len(m.payload),
                m.file_size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    directory = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), out.tell(), 0)
    return out.getvalue() + directory + end


def npz(tensors: dict[str, np.ndarray], compress: bool = False) -> bytes:
    make = Member.deflated if compress else Member.stored
    return raw_zip([make(f"{k}.npy", npy(v)) for k, v in tensors.items()])


def bombs() -> dict[str, tuple[bytes, int]]:
    """Small .npz files that declare 2 GiB of float64: name -> (file, bytes it expands to).

    bzip2: a 2 KB bzip2 member (compression the reader must refuse to run at all);
    deflate: a 2 MB deflate member, directory and .npy header honest about the 2 GiB;
    lying: the directory declares 136 bytes, the .npy header 2 GiB, the stream holds 2 GiB.
    """
    count = 2**28  # float64 numbers: 2 GiB
    header = npy_header("<f8", (count,))
    size = len(header) + 8 * count
    crc = zeros_crc(header, 8 * count >> 20)
    bzip2 = Member("weight_hh_l0.npy", bz2_zeros(header, 8 * count >> 25), size, crc, method=BZIP2)
    deflated = Member("weight_hh_l0.npy", deflate_zeros(header, 8 * count >> 20), size, crc, method=DEFLATED)
    lying = Member("weight_hh_l0.npy", deflated.payload, len(header) + 8, crc, method=DEFLATED)
    return {name: (raw_zip([m]), size) for name, m in (("bzip2", bzip2), ("deflate", deflated), ("lying", lying))}


def torch_zip(
    pickle_bytes: bytes,
    storages: dict[str, bytes] | None = None,
    prefix: str = "archive/",
    byteorder: bytes = b"little",
) -> bytes:
    """A PyTorch zip checkpoint laid out as torch.save writes it, around any data.pkl given."""
    members = [Member.stored(prefix + "data.pkl", pickle_bytes), Member.stored(prefix + "byteorder", byteorder)]
    members += [Member.stored(f"{prefix}data/{key}", data) for key, data in (storages or {}).items()]
    return raw_zip([*members, Member.stored(prefix + "version", b"3\n")])
