"""Training-run state shared by every server process: one SQLite file beside the model store.

With `--workers N` a run trains in one process while its status, events and cancel may
reach any other, so nothing a client can ask about lives only in memory:

- `runs`: one row per run: state, stop reason, the owner's heartbeat, a cancel flag, the
  latest progress (for status), the bytes its events take, when a reader last showed up.
- `events`: each event's JSON as a BLOB, read back in chunks so a stream holds little.
- `checkpoints`: the hidden models a run saved, deleted with it (see `training.py`).
- `streams`: open event streams, for the per-run and global caps.

The owner polls its rows every TRAIN_POLL_S (heartbeat out, cancel flag in).  A running
row whose heartbeat is older than TRAIN_STALE_S belongs to a process that died: any
process ends it (reason "error") and frees its slot.  Times are wall-clock seconds
(`time.time()`), the one clock every process shares.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from . import limits
from .store import data_dir
from .transactions import Transaction

DB_NAME = "runs.sqlite3"
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY, task TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
        owner TEXT NOT NULL, cancel INTEGER NOT NULL DEFAULT 0, saved INTEGER NOT NULL DEFAULT 0,
        heartbeat REAL NOT NULL, created REAL NOT NULL, finished REAL, last_read REAL,
        events INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, last TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE IF NOT EXISTS events (
        rowid INTEGER PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        data BLOB NOT NULL, UNIQUE (run_id, seq))""",
    "CREATE TABLE IF NOT EXISTS checkpoints (run_id TEXT NOT NULL, model_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS checkpoints_run ON checkpoints (run_id)",
    "CREATE TABLE IF NOT EXISTS streams (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, touched REAL NOT NULL)",
)
# Reasons a run ends without a saved model: its checkpoints go with it at once.
UNSAVED = ("cancelled", "diverged", "error", "client_disconnected")
CHUNK = 64 * 1024  # bytes of an event read (and sent) at a time


class TooManyRuns(RuntimeError):
    pass


class TooManyStreams(RuntimeError):
    pass


class Board:
    """The runs file: every method is one short transaction, safe from any thread or process."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        conn = self._conn()
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # before the first table: space can be returned
        conn.execute("PRAGMA journal_mode=WAL")
        with self._tx() as db:
            for statement in SCHEMA:
                db.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")  # run state is transient; WAL keeps it consistent
            conn.execute(f"PRAGMA cache_size=-{limits.SQLITE_CACHE_KIB}")
            self._local.conn = conn
        return conn

    def _tx(self) -> Transaction:
        return Transaction(self._conn())

    # --- runs -----------------------------------------------------------------------------

    def begin(self, run_id: str, task: str, owner: str) -> None:
        """Record a new running run, or raise TooManyRuns if every global slot is taken."""
        now = time.time()
        with self._tx() as db:
            running = db.execute("SELECT count(*) FROM runs WHERE state = 'running'").fetchone()[0]
            if running >= limits.MAX_TRAIN_RUNS:
                raise TooManyRuns(
                    f"{running} training runs are in progress (at most {limits.MAX_TRAIN_RUNS}); wait or cancel one"
                )
            db.execute(
                "INSERT INTO runs (id, task, state, owner, heartbeat, created) VALUES (?, ?, 'running', ?, ?, ?)",
                (run_id, task, owner, now, now),
            )

    def append(self, run_id: str, kind: str, data: bytes, last: dict[str, Any] | None = None) -> int:
        """Add an event; `last` (progress fields) becomes what the status reports.  Returns its id."""
        with self._tx() as db:
            seq = db.execute("SELECT events FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
            db.execute("INSERT INTO events (run_id, seq, kind, data) VALUES (?, ?, ?, ?)", (run_id, seq, kind, data))
            db.execute(
                "UPDATE runs SET events = events + 1, bytes = bytes + ?, last = coalesce(?, last) WHERE id = ?",
                (len(data), None if last is None else _json(last), run_id),
            )
        return seq

    def end(self, run_id: str, reason: str, saved: bool, data: bytes, last: dict[str, Any]) -> None:
        """The final `done` event and the state change, in one transaction (no reader sees one alone)."""
        with self._tx() as db:
            self._end(db, run_id, reason, saved, data, _json(last))

    @staticmethod
    def _end(db: sqlite3.Connection, run_id: str, reason: str, saved: bool, data: bytes, last: str) -> None:
        seq = db.execute("SELECT events FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        db.execute("INSERT INTO events (run_id, seq, kind, data) VALUES (?, ?, 'done', ?)", (run_id, seq, data))
        db.execute(
            "UPDATE runs SET state = 'done', reason = ?, saved = ?, finished = ?, events = events + 1,"
            " bytes = bytes + ?, last = ? WHERE id = ?",
            (reason, int(saved), time.time(), len(data), last, run_id),
        )

    def beat(self, run_ids: list[str]) -> dict[str, tuple[bool, float | None]]:
        """The owner's heartbeat; returns each run's (cancel requested, a reader's last sign of life)."""
        if not run_ids:
            return {}
        marks = ", ".join("?" * len(run_ids))
        with self._tx() as db:
            db.execute(f"UPDATE runs SET heartbeat = ? WHERE id IN ({marks})", (time.time(), *run_ids))
            rows = db.execute(f"SELECT id, cancel, last_read FROM runs WHERE id IN ({marks})", run_ids).fetchall()
        return {r[0]: (bool(r[1]), r[2]) for r in rows}

    def request_cancel(self, run_id: str) -> str | None:
        """Set the cancel flag the owner polls; the run's state, or None if there is no such run."""
        with self._tx() as db:
            db.execute("UPDATE runs SET cancel = 1 WHERE id = ? AND state = 'running'", (run_id,))
            row = db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else row[0]

    def status(self, run_id: str) -> dict[str, Any] | None:
        row = (
            self._conn()
            .execute("SELECT id, state, reason, task, events, last FROM runs WHERE id = ?", (run_id,))
            .fetchone()
        )
        if row is None:
            return None
        return {
            "id": row[0],
            "state": row[1],
            "reason": row[2],
            "task": row[3],
            "events": row[4],
            "last": json.loads(row[5]),
        }

    def running(self) -> int:
        return self._conn().execute("SELECT count(*) FROM runs WHERE state = 'running'").fetchone()[0]

    # --- events ---------------------------------------------------------------------------

    def events_after(self, run_id: str, seq: int, limit: int = 16) -> list[tuple[int, str, int, int]]:
        """(id, kind, rowid, bytes) of the run's next events from id `seq` on."""
        return (
            self._conn()
            .execute(
                "SELECT seq, kind, rowid, length(data) FROM events WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (run_id, seq, limit),
            )
            .fetchall()
        )

    def read_chunk(self, rowid: int, offset: int) -> bytes:
        """CHUNK bytes of an event's data from `offset` (b"" past the end or if it was purged)."""
        try:
            with self._conn().blobopen("events", "data", rowid, readonly=True) as blob:
                blob.seek(offset)
                return blob.read(CHUNK)
        except sqlite3.OperationalError:  # the row is gone: the run was purged under the reader
            return b""

    # --- streams --------------------------------------------------------------------------

    def open_stream(self, run_id: str) -> str:
        """Count an event stream in, or raise TooManyStreams (per run, then in all)."""
        stream_id = uuid.uuid4().hex
        now = time.time()
        with self._tx() as db:
            # A stream of a process that died stops touching its row: it no longer counts.
            db.execute("DELETE FROM streams WHERE touched < ?", (now - limits.TRAIN_STALE_S,))
            here = db.execute("SELECT count(*) FROM streams WHERE run_id = ?", (run_id,)).fetchone()[0]
            if here >= limits.MAX_TRAIN_STREAMS_PER_RUN:
                raise TooManyStreams(
                    f"{here} event streams are open for this run (at most {limits.MAX_TRAIN_STREAMS_PER_RUN})"
                )
            total = db.execute("SELECT count(*) FROM streams").fetchone()[0]
            if total >= limits.MAX_TRAIN_STREAMS:
                raise TooManyStreams(f"{total} event streams are open (at most {limits.MAX_TRAIN_STREAMS})")
            db.execute("INSERT INTO streams (id, run_id, touched) VALUES (?, ?, ?)", (stream_id, run_id, now))
            db.execute("UPDATE runs SET last_read = ? WHERE id = ?", (now, run_id))
        return stream_id

    def touch_stream(self, stream_id: str, run_id: str) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute("UPDATE streams SET touched = ? WHERE id = ?", (now, stream_id))
            db.execute("UPDATE runs SET last_read = ? WHERE id = ?", (now, run_id))

    def close_stream(self, stream_id: str, run_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM streams WHERE id = ?", (stream_id,))
            db.execute("UPDATE runs SET last_read = ? WHERE id = ?", (time.time(), run_id))

    # --- checkpoints and clean-up ---------------------------------------------------------

    def add_checkpoint(self, run_id: str, model_id: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO checkpoints (run_id, model_id) VALUES (?, ?)", (run_id, model_id))

    def take_checkpoints(self, run_id: str) -> list[str]:
        """The run's checkpoint model ids, forgotten here (the caller deletes the models)."""
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT model_id FROM checkpoints WHERE run_id = ?", (run_id,))]
            db.execute("DELETE FROM checkpoints WHERE run_id = ?", (run_id,))
        return ids

    def end_stale(self, done_event: bytes) -> list[str]:
        """End running runs whose owner stopped beating (its process died); their ids."""
        cutoff = time.time() - limits.TRAIN_STALE_S
        with self._tx() as db:
            stale = [
                r[0] for r in db.execute("SELECT id FROM runs WHERE state = 'running' AND heartbeat < ?", (cutoff,))
            ]
            for run_id in stale:
                self._end(db, run_id, "error", False, done_event, done_event.decode())
        return stale

    def forget_old(self) -> list[str]:
        """Drop finished runs past TRAIN_RETAIN_S, then the oldest while over MAX_TRAIN_KEPT_BYTES.

        Returns the model ids of the checkpoints they kept (the caller deletes the models).
        """
        now = time.time()
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, finished, bytes FROM runs WHERE state = 'done' ORDER BY finished DESC"
            ).fetchall()
            kept, drop = 0, []
            for run_id, finished, size in rows:  # newest first: keep while within both budgets
                kept += size
                if now - finished > limits.TRAIN_RETAIN_S or kept > limits.MAX_TRAIN_KEPT_BYTES:
                    drop.append(run_id)
            models: list[str] = []
            for run_id in drop:
                models += [r[0] for r in db.execute("SELECT model_id FROM checkpoints WHERE run_id = ?", (run_id,))]
                for table, column in (("events", "run_id"), ("checkpoints", "run_id"), ("streams", "run_id")):
                    db.execute(f"DELETE FROM {table} WHERE {column} = ?", (run_id,))
                db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if drop:
            self._conn().execute("PRAGMA incremental_vacuum")
        return models


def _json(value: dict[str, Any]) -> str:
    """JSON for the status: orjson writes NaN and infinities as null (a diverged loss)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


_boards: dict[Path, Board] = {}
_lock = threading.Lock()


def get_board() -> Board:
    """The runs file under the configured data directory (one per path, made on first use)."""
    path = (data_dir() / DB_NAME).resolve()
    with _lock:
        if path not in _boards:
            _boards[path] = Board(path)
        return _boards[path]
