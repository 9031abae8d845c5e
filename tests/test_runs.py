"""The shared runs file: the global slot count, and ending the runs of a process that died."""

from __future__ import annotations

import orjson
import pytest

from app import limits
from app.runs import Board, TooManyRuns


def test_a_dead_owners_runs_are_ended_and_their_slots_freed(tmp_path, monkeypatch):
    board = Board(tmp_path / "runs.sqlite3")
    for k in range(limits.MAX_TRAIN_RUNS):
        board.begin(f"run{k}", "sine", owner="gone")
        board.add_checkpoint(f"run{k}", f"model{k}")
    with pytest.raises(TooManyRuns):
        board.begin("extra", "sine", owner="me")
    assert board.end_stale(b'{"done": true}') == []  # the heartbeats are fresh: nothing to end
    monkeypatch.setattr(limits, "TRAIN_STALE_S", -1.0)  # every heartbeat is now too old
    done = orjson.dumps({"done": True, "reason": "error"})
    assert sorted(board.end_stale(done)) == [f"run{k}" for k in range(limits.MAX_TRAIN_RUNS)]
    status = board.status("run0")
    assert status["state"] == "done" and status["reason"] == "error"
    (seq, kind, _rowid, _size), *_ = board.events_after("run0", 0)
    assert (seq, kind) == (0, "done")
    assert board.take_checkpoints("run0") == ["model0"]
    monkeypatch.undo()
    board.begin("extra", "sine", owner="me")
