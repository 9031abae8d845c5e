"""One SQLite write transaction, shared by the model store and the run board."""

from __future__ import annotations

import contextlib
import sqlite3


class Transaction:
    """`with` block = one IMMEDIATE transaction (commit on success, roll back on error)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()  # a failed COMMIT (a full disk) leaves the transaction open
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # After some errors (SQLITE_FULL among them) SQLite has already rolled the transaction
        # back; a ROLLBACK then fails with "no transaction is active", and that error must not
        # replace the one that matters.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
