"""The saved-model store: one SQLite file under a data directory.

Parameters are kept as safetensors bytes in a BLOB (no pickles, no separate files, so an
id can never name a path). Each write is one transaction: a crash mid-upload leaves the
store as it was. WAL mode lets several server processes (`--workers N`) share the file.

A tensor is stored as float32 when every one of its numbers is a float32 exactly (a model
saved in float32: half the bytes, nothing lost), else as float64; `params` always hands back
float64 arrays, so the engine's in-place maths (forget_bias) never rounds in float32.  The
BLOB is written and read a million numbers at a time through SQLite's incremental BLOB I/O,
so storing or loading a 70 MB embedding needs no whole copy of it besides the arrays.

Space: the BLOBs may hold at most a budget of bytes, and a full disk must not jam the
store. A delete has to write to the WAL too, so a small reserve file is kept beside the
database and released when the disk is full; deletes then give their pages back to the
file system (incremental vacuum + WAL truncation), and the reserve is made again before
the next upload. Every refusal is a `StoreFull`, which the HTTP layer answers with 507.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import numpy as np
from pydantic import BaseModel

from .limits import SQLITE_CACHE_KIB, STORE_BUDGET_BYTES, STORE_RESERVE_BYTES
from .transactions import Transaction

DATA_DIR_ENV = "LSTMVIS_DATA_DIR"
STORE_BYTES_ENV = "LSTMVIS_STORE_BYTES"
DEFAULT_DATA_DIR = "data"
DB_NAME = "models.sqlite3"
RESERVE_NAME = "reserve.bin"
FREE_SPACE = "delete models (DELETE /api/models/{id}) to free space"


class SavedModel(BaseModel):
    """A saved model's fields: the one definition.

    The table's columns are derived from it, the API's summary (api/models.py) extends it,
    and ModelRecord adds the free-form `meta`.
    """

    id: str
    name: str
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    output_size: int | None
    layout: str
    created_at: str


class ModelRecord(SavedModel):
    meta: dict  # mapping applied at import, vocabulary of a text model, training settings

    def summary(self) -> dict:
        return self.model_dump(exclude={"meta"}) | {"vocab": self.meta.get("vocab"), "source": self.meta.get("source")}


COLUMNS = (*SavedModel.model_fields, "meta")


def _column(name: str, annotation: object) -> str:
    nullable = type(None) in get_args(annotation)
    base = next(a for a in (get_args(annotation) or (annotation,)) if a is not type(None))
    sql = {str: "TEXT", int: "INTEGER"}[base]
    return f"{name} {sql}" + (" PRIMARY KEY" if name == "id" else "" if nullable else " NOT NULL")


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS models (\n    "
    + ",\n    ".join(
        [_column(name, f.annotation) for name, f in SavedModel.model_fields.items()]
        + ["meta TEXT NOT NULL", "params BLOB NOT NULL"]
    )
    + "\n)"
)


# Numbers converted (and written or read) at a time: what a BLOB costs beyond the arrays.
CHUNK_NUMBERS = 2**20
# safetensors dtypes the store writes (and reads: older rows hold F64 only).
ST_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def _row_blocks(arr: np.ndarray) -> list[np.ndarray]:
    """`arr` as blocks of whole rows (views) of about CHUNK_NUMBERS numbers, in C order."""
    if arr.ndim == 0 or arr.size == 0:
        return [arr.reshape(-1)]
    rows = max(1, CHUNK_NUMBERS // (arr.size // arr.shape[0]))
    return [arr[k : k + rows] for k in range(0, arr.shape[0], rows)]


def _stored_dtype(arr: np.ndarray) -> str:
    """F32 when every number of `arr` is exactly a float32 (so storing it so loses nothing), else F64."""
    if arr.dtype == np.float32:
        return "F32"
    with np.errstate(over="ignore", invalid="ignore"):
        for block in _row_blocks(arr):
            if not np.array_equal(block.astype(np.float32), block):
                return "F64"
    return "F32"


def _layout(params: dict[str, np.ndarray]) -> tuple[bytes, list[tuple[np.ndarray, np.dtype]], int]:
    """The safetensors header (its 8-byte length first), each tensor with the dtype it is
    stored in, and the BLOB's size: written as safetensors.numpy.save would, smaller."""
    entries, tensors, offset = {}, [], 0
    for name, value in params.items():
        arr = value if value.dtype in (np.float32, np.float64) else value.astype(np.float64)
        code = _stored_dtype(arr)
        nbytes = arr.size * ST_DTYPES[code].itemsize
        entries[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + nbytes]}
        tensors.append((arr, ST_DTYPES[code]))
        offset += nbytes
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # as safetensors pads it: the data starts 8-aligned
    head = len(header).to_bytes(8, "little") + header
    return head, tensors, len(head) + offset


def _read_params(blob: sqlite3.Blob) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors BLOB as a float64 array, converted block by block."""
    length = int.from_bytes(blob.read(8), "little")
    header = json.loads(blob.read(length))
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = ST_DTYPES[spec["dtype"]]
        arr = np.empty(spec["shape"], dtype=np.float64)
        flat = arr.reshape(-1)
        blob.seek(8 + length + spec["data_offsets"][0])
        for k in range(0, flat.size, CHUNK_NUMBERS):
            n = min(CHUNK_NUMBERS, flat.size - k)
            flat[k : k + n] = np.frombuffer(blob.read(n * dtype.itemsize), dtype=dtype)
        out[name] = arr
    return out


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR))


def store_budget() -> int:
    """Bytes of parameters the store may hold: $LSTMVIS_STORE_BYTES, else the limit's default."""
    value = os.environ.get(STORE_BYTES_ENV, "")
    return int(value) if value.isdigit() else STORE_BUDGET_BYTES


class StoreFull(Exception):
    """A write the store cannot take: over its budget, or the disk is full (HTTP 507)."""


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, sqlite3.Error):
        return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(err)
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


class ModelStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.reserve = path.parent / RESERVE_NAME
        self._local = threading.local()
        conn = self._conn()
        # Only takes effect on a new file (before the first table): lets deletes shrink it.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")  # not allowed inside a transaction
        with self._connect() as db:
            db.execute(SCHEMA)
        self._make_reserve()

    def _make_reserve(self) -> bool:
        """Write the reserve file if it is missing; False when the disk has no room for it."""
        if self.reserve.exists() and self.reserve.stat().st_size >= STORE_RESERVE_BYTES:
            return True
        partial = self.reserve.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            # Real bytes, not a sparse file: the space must be taken now to be given back later.
            with open(partial, "wb") as f:
                f.write(b"\0" * STORE_RESERVE_BYTES)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, self.reserve)
            return True
        except OSError as err:
            partial.unlink(missing_ok=True)
            if _disk_full(err):
                return False
            raise

    def _release_reserve(self) -> None:
        self.reserve.unlink(missing_ok=True)

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread: FastAPI runs sync endpoints in a thread pool.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self._local.conn = conn
        return conn

    def _connect(self) -> Transaction:
        return Transaction(self._conn())

    def add(
        self,
        name: str,
        cell: str,
        params: dict[str, np.ndarray],
        layout: str,
        meta: dict,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        output_size: int | None,
    ) -> ModelRecord:
        record = ModelRecord(
            id=uuid.uuid4().hex,
            name=name,
            cell=cell,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            output_size=output_size,
            layout=layout,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            meta=meta,
        )
        head, tensors, size = _layout(params)
        values = [getattr(record, k) for k in COLUMNS[:-1]] + [json.dumps(meta), size]
        # The reserve is made again before any upload: uploads never eat the room deletes need.
        if not self._make_reserve():
            raise StoreFull(f"the disk holding the model store is full; {FREE_SPACE}")
        try:
            with self._connect() as db:
                self._check_budget(db, size)
                # A zeroblob of the BLOB's size, filled in place: SQLite never holds it whole.
                row = db.execute(
                    f"INSERT INTO models ({', '.join(COLUMNS)}, params) "
                    f"VALUES ({', '.join('?' * len(COLUMNS))}, zeroblob(?))",
                    values,
                ).lastrowid
                with db.blobopen("models", "params", row) as blob:
                    blob.write(head)
                    for arr, dtype in tensors:
                        for block in _row_blocks(arr):
                            blob.write(np.ascontiguousarray(block, dtype=dtype))
        except (sqlite3.Error, OSError) as err:
            if _disk_full(err):
                raise StoreFull(f"the disk holding the model store is full; {FREE_SPACE}") from None
            raise
        return record

    def used_bytes(self) -> int:
        """Bytes of saved parameters (LENGTH of a BLOB is read from its header, not its pages)."""
        with self._connect() as db:
            return self._used(db)

    @staticmethod
    def _used(db: sqlite3.Connection) -> int:
        return db.execute("SELECT COALESCE(SUM(LENGTH(params)), 0) FROM models").fetchone()[0]

    def _check_budget(self, db: sqlite3.Connection, adding: int) -> None:
        # Inside the write transaction, so two uploads cannot both fit into the last space.
        used, budget = self._used(db), store_budget()
        if used + adding > budget:
            raise StoreFull(
                f"the model store holds {_mib(used)} of its {_mib(budget)} budget and this model needs "
                f"{_mib(adding)} more; {FREE_SPACE}, or start the server with a larger --store-bytes"
            )

    def list(self) -> list[ModelRecord]:
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM models ORDER BY created_at DESC, rowid DESC"
            ).fetchall()
        return [self._record(r) for r in rows]

    def get(self, model_id: str) -> ModelRecord | None:
        with self._connect() as db:
            row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else self._record(row)

    def params(self, model_id: str) -> dict[str, np.ndarray] | None:
        """The model's parameters as float64 arrays of its own (the caller may change them)."""
        with self._connect() as db:
            row = db.execute("SELECT rowid FROM models WHERE id = ?", (model_id,)).fetchone()
            if row is None:
                return None
            with db.blobopen("models", "params", row[0], readonly=True) as blob:
                return _read_params(blob)

    def delete(self, model_id: str) -> bool:
        """Delete a model, also on a full disk, and give its pages back to the file system."""
        try:
            deleted = self._delete_row(model_id)
        except (sqlite3.Error, OSError) as err:
            if not _disk_full(err):
                raise
            # The WAL could not grow: release the reserve and try once more.
            self._release_reserve()
            try:
                deleted = self._delete_row(model_id)
            except (sqlite3.Error, OSError) as again:
                if _disk_full(again):
                    raise StoreFull(f"the disk holding the model store is full even for a delete: {again}") from None
                raise
        if deleted:
            self._shrink()
        return deleted

    def _delete_row(self, model_id: str) -> bool:
        with self._connect() as db:
            return db.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount > 0

    def _shrink(self) -> None:
        """Move the freed pages out of the file and truncate the WAL (best effort: the delete stands)."""
        conn = self._conn()
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            # Frees one page per step; Python's execute() steps once, executescript() to the end.
            conn.executescript("PRAGMA incremental_vacuum;")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (sqlite3.Error, OSError) as err:
            if not _disk_full(err):
                raise

    @staticmethod
    def _record(row: tuple) -> ModelRecord:
        values = dict(zip(COLUMNS, row, strict=True))
        values["meta"] = json.loads(values["meta"])
        return ModelRecord(**values)


_stores: dict[Path, ModelStore] = {}
_lock = threading.Lock()


def get_store() -> ModelStore:
    """The store under the configured data directory (one per path, made on first use)."""
    path = (data_dir() / DB_NAME).resolve()
    with _lock:
        if path not in _stores:
            _stores[path] = ModelStore(path)
        return _stores[path]
