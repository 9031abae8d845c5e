"""Zip archives opened without trusting them: every declared size is checked before anything expands.

Written for .npz uploads and meant for any zip-based format read later (.keras, PyTorch's
.pt zips): the caller gives a `ZipBudget`, walks `CheckedZip.members` and reads each one
through a `MemberStream`, which never inflates more than it is asked for and never past
the size the archive declared. A decompression bomb therefore costs at most its budget.

    archive = CheckedZip(data, ZipBudget(max_members=..., max_directory_bytes=..., max_total_bytes=...))
    for info in archive.members:
        stream = archive.open(info)
        head = stream.read(64)        # parse a header from the first bytes, check what it declares
        body = stream.read_view(n)    # then read only what the header promised (stored: no copy)
        stream.finish()               # ended where declared, no extra data, CRC matches

Why not `zipfile.ZipFile.open`: it accepts bzip2 and LZMA members and leaves the size
discipline to the reader; here only stored and deflate members are read, by our own loop.
`zipfile` still parses the central directory, but only after its size is checked.
"""

from __future__ import annotations

import io
import mmap
import struct
import zipfile
import zlib
from dataclasses import dataclass

# Compression methods by number (APPNOTE 4.4.5), to name what is refused.
METHOD_NAMES = {
    0: "stored",
    8: "deflate",
    9: "deflate64",
    12: "bzip2",
    14: "LZMA",
    93: "zstandard",
    95: "xz",
    99: "AES",
}
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header
_CHUNK = 64 * 1024
_ENCRYPTED = 0x1 | 0x40  # traditional and strong encryption flag bits
_UTF8_NAME = 0x800

# Everything zipfile raises on a malformed directory.
# What zipfile raises on a hostile directory: besides BadZipFile, whatever its parser trips
# over (NotImplementedError for a "zip version 8.4" field, found by the weight-file fuzzer).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ValueError,
    struct.error,
    OSError,
    EOFError,
    IndexError,
    KeyError,
    NotImplementedError,
)


class ArchiveError(ValueError):
    """An archive refused; `member` names the entry when there is one, `too_large` means a budget."""

    def __init__(self, msg: str, member: str | None = None, too_large: bool = False):
        super().__init__(msg)
        self.member = member
        self.too_large = too_large


@dataclass(frozen=True)
class ZipBudget:
    max_members: int
    max_directory_bytes: int
    max_total_bytes: int  # sum of the members' declared uncompressed sizes


def directory_size(data: bytes | mmap.mmap) -> int:
    """The central directory's size as the end records declare it (as zipfile will read it)."""
    pos = len(data) - _EOCD.size
    if pos < 0 or data[pos : pos + 4] != b"PK\x05\x06":
        # A comment follows the record: zipfile searches the last 64 KiB for it too.
        pos = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 0xFFFF))
    if pos < 0 or pos + _EOCD.size > len(data):
        raise ArchiveError("not a zip archive: no end-of-directory record (truncated or not a zip)")
    size = _EOCD.unpack_from(data, pos)[5]
    record = pos - _ZIP64_LOCATOR_SIZE - _ZIP64_EOCD.size
    locator = pos - _ZIP64_LOCATOR_SIZE
    if record >= 0 and data[locator : locator + 4] == b"PK\x06\x07" and data[record : record + 4] == b"PK\x06\x06":
        size = _ZIP64_EOCD.unpack_from(data, record)[8]
    return size


class CheckedZip:
    """A zip whose directory fits `budget`: members counted, named once, readable, sizes summed."""

    def __init__(self, data: bytes | mmap.mmap, budget: ZipBudget):
        """`data`: the archive's bytes, or a read-only mapping of its file (nothing is copied)."""
        size = directory_size(data)
        if size > budget.max_directory_bytes:
            raise ArchiveError(
                f"its zip directory declares {size} bytes; at most {budget.max_directory_bytes} are read",
                too_large=True,
            )
        try:
            # BytesIO shares a bytes object's buffer (it would copy a mapping; a mapping is a file).
            self.members = zipfile.ZipFile(data if isinstance(data, mmap.mmap) else io.BytesIO(data)).infolist()
        except _ZIP_ERRORS as err:
            raise ArchiveError(f"not a valid zip archive ({err})") from None
        self._data = data
        _check_directory(self.members, budget)

    def open(self, info: zipfile.ZipInfo) -> MemberStream:
        start = self._data_start(info)
        end = start + info.compress_size
        if end > len(self._data):
            raise ArchiveError(f"{info.filename}: the archive ends inside this member (truncated)", info.filename)
        return MemberStream(memoryview(self._data)[start:end], info)

    def _data_start(self, info: zipfile.ZipInfo) -> int:
        """Where the member's data begins, after a local header that agrees with the directory."""
        at, name = info.header_offset, info.filename
        if at + _LOCAL.size > len(self._data) or self._data[at : at + 4] != b"PK\x03\x04":
            raise ArchiveError(f"{name}: no local header where the directory points (corrupt archive)", name)
        fields = _LOCAL.unpack_from(self._data, at)
        flags, method, name_len, extra_len = fields[2], fields[3], fields[9], fields[10]
        local_name = self._data[at + _LOCAL.size : at + _LOCAL.size + name_len]
        encoding = "utf-8" if info.flag_bits & _UTF8_NAME else "cp437"
        if local_name != info.orig_filename.encode(encoding, "replace") or method != info.compress_type:
            raise ArchiveError(f"{name}: its local header and the directory disagree (corrupt archive)", name)
        if flags & _ENCRYPTED:
            raise ArchiveError(f"{name} is encrypted; encrypted members are not read", name)
        return at + _LOCAL.size + name_len + extra_len


def _check_directory(members: list[zipfile.ZipInfo], budget: ZipBudget) -> None:
    if len(members) > budget.max_members:
        raise ArchiveError(f"it has {len(members)} members; at most {budget.max_members} are read", too_large=True)
    seen: set[str] = set()
    total = 0
    for info in members:
        name = info.filename
        if name in seen:
            raise ArchiveError(f"{name} appears twice in the archive; which one is meant is ambiguous", name)
        seen.add(name)
        if info.flag_bits & _ENCRYPTED:
            raise ArchiveError(f"{name} is encrypted; encrypted members are not read", name)
        if info.compress_type not in READABLE_METHODS:
            method = METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise ArchiveError(f"{name} uses {method} compression; only stored and deflate members are read", name)
        total += info.file_size
        if total > budget.max_total_bytes:
            raise ArchiveError(
                f"{name} declares {info.file_size} bytes uncompressed, bringing the archive to {total}; "
                f"at most {budget.max_total_bytes} bytes are expanded",
                name,
                too_large=True,
            )


class MemberStream:
    """One member's bytes, inflated on demand and never past its declared size."""

    def __init__(self, raw: memoryview, info: zipfile.ZipInfo):
        self.name = info.filename
        self.size = info.file_size
        self._expected_crc = info.CRC
        self._raw = raw
        self._in = 0  # compressed bytes consumed
        self._out = 0  # bytes handed out
        self._crc = 0
        self._inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        if self._inflater is None and len(raw) != info.file_size:
            raise ArchiveError(
                f"{self.name} is stored uncompressed in {len(raw)} bytes but declares {info.file_size}", self.name
            )

    def tell(self) -> int:
        return self._out

    def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes (all that remain if n < 0), never beyond the declared size."""
        left = self.size - self._out
        data = self._take(left if n < 0 else min(n, left))
        self._out += len(data)
        self._crc = zlib.crc32(data, self._crc)
        return data

    def read_view(self, n: int = -1) -> bytes | memoryview:
        """What read(n) gives, but a stored member's bytes are a view of the archive's, not a
        copy (a checkpoint's storages are stored: a 64 MB embedding is not duplicated)."""
        if self._inflater is not None:
            return self.read(n)
        left = self.size - self._out
        take = left if n < 0 else min(n, left)
        view = self._raw[self._in : self._in + take]
        self._in += len(view)
        self._out += len(view)
        self._crc = zlib.crc32(view, self._crc)
        return view

    def finish(self) -> None:
        """Check the member ended exactly where declared, with nothing after it and the CRC it declared."""
        if self._out < self.size:
            self.read(self.size - self._out)
        if self._out < self.size:
            raise ArchiveError(f"{self.name} ends after {self._out} of its declared {self.size} bytes", self.name)
        if self._take(1):
            # The lie a zip can tell: a small declared size over a stream that inflates further.
            raise ArchiveError(f"{self.name} inflates past its declared size of {self.size} bytes", self.name)
        if self._inflater is not None and not self._inflater.eof:
            raise ArchiveError(f"{self.name}: its compressed data ends early (truncated or corrupt)", self.name)
        if self._crc != self._expected_crc:
            raise ArchiveError(f"{self.name}: bad CRC-32 (the data is corrupt)", self.name)

    def _take(self, n: int) -> bytes:
        if self._inflater is None:
            piece = bytes(self._raw[self._in : self._in + n])
            self._in += len(piece)
            return piece
        parts: list[bytes] = []
        while n > 0 and not self._inflater.eof:
            src = self._inflater.unconsumed_tail
            if not src:
                src = self._raw[self._in : self._in + _CHUNK]
                self._in += len(src)
                if not src:
                    break
            try:
                # max_length: inflate at most what was asked, however much the input would give.
                piece = self._inflater.decompress(src, n)
            except zlib.error as err:
                raise ArchiveError(f"{self.name}: its deflate data is corrupt ({err})", self.name) from None
            parts.append(piece)
            n -= len(piece)
        return b"".join(parts)
