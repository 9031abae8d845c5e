"""The saved-model store: one SQLite file under a data directory.

Parameters are kept as safetensors bytes in a BLOB (no pickles, no separate files, so an
id can never name a path). Each write is one transaction: a crash mid-upload leaves the
store as it was. WAL mode lets several server processes (`--workers N`) share the file.

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
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

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
        blob = st_save({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in params.items()})
        values = [getattr(record, k) for k in COLUMNS[:-1]] + [json.dumps(meta), blob]
        # The reserve is made again before any upload: uploads never eat the room deletes need.
        if not self._make_reserve():
            raise StoreFull(f"the disk holding the model store is full; {FREE_SPACE}")
        try:
            with self._connect() as db:
                self._check_budget(db, len(blob))
                db.execute(
                    f"INSERT INTO models ({', '.join(COLUMNS)}, params) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
                    values,
                )
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
        with self._connect() as db:
            row = db.execute("SELECT params FROM models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else {k: np.array(v) for k, v in st_load(row[0]).items()}

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
