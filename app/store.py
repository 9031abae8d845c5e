"""The saved-model store: one SQLite file under a data directory.

Parameters are kept as safetensors bytes in a BLOB (no pickles, no separate files, so an
id can never name a path). Each write is one transaction: a crash mid-upload leaves the
store as it was. WAL mode lets several server processes (`--workers N`) share the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

DATA_DIR_ENV = "LSTMVIS_DATA_DIR"
DEFAULT_DATA_DIR = "data"
DB_NAME = "models.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    cell TEXT NOT NULL,
    input_size INTEGER NOT NULL,
    hidden_size INTEGER NOT NULL,
    num_layers INTEGER NOT NULL,
    output_size INTEGER,
    layout TEXT NOT NULL,
    created_at TEXT NOT NULL,
    meta TEXT NOT NULL,
    params BLOB NOT NULL
)
"""
COLUMNS = (
    "id",
    "name",
    "cell",
    "input_size",
    "hidden_size",
    "num_layers",
    "output_size",
    "layout",
    "created_at",
    "meta",
)


@dataclass
class ModelRecord:
    id: str
    name: str
    cell: str
    input_size: int
    hidden_size: int
    num_layers: int
    output_size: int | None
    layout: str
    created_at: str
    meta: dict  # mapping applied at import, vocabulary of a text model, training settings

    def summary(self) -> dict:
        return {k: getattr(self, k) for k in COLUMNS if k != "meta"} | {
            "vocab": self.meta.get("vocab"),
            "source": self.meta.get("source"),
        }


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR))


class ModelStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._conn().execute("PRAGMA journal_mode=WAL")  # not allowed inside a transaction
        with self._connect() as db:
            db.execute(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread: FastAPI runs sync endpoints in a thread pool.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def _connect(self) -> _Tx:
        return _Tx(self._conn())

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
        with self._connect() as db:
            db.execute(
                f"INSERT INTO models ({', '.join(COLUMNS)}, params) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
                values,
            )
        return record

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
        with self._connect() as db:
            return db.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount > 0

    @staticmethod
    def _record(row: tuple) -> ModelRecord:
        values = dict(zip(COLUMNS, row, strict=True))
        values["meta"] = json.loads(values["meta"])
        return ModelRecord(**values)


class _Tx:
    """`with` block = one IMMEDIATE transaction (commit on success, roll back on error)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


_stores: dict[Path, ModelStore] = {}
_lock = threading.Lock()


def get_store() -> ModelStore:
    """The store under the configured data directory (one per path, made on first use)."""
    path = (data_dir() / DB_NAME).resolve()
    with _lock:
        if path not in _stores:
            _stores[path] = ModelStore(path)
        return _stores[path]
