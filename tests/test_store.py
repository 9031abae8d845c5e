"""The SQLite model store: atomic writes, concurrent writers, survival of restarts and kills."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import threading

import httpx2
import numpy as np
import pytest

from app import model_files
from app.gallery import manifest
from app.nn import params as P
from app.store import DB_NAME, ModelStore
from tests.live_server import ServerProcess


def add(store: ModelStore, name: str, seed: int = 0):
    params = P.init_params("lstm", 2, 3, 1, seed)
    return store.add(name, "lstm", params, "pytorch", {"source": name}, 2, 3, 1, None), params


def test_add_get_params_list_delete(tmp_path):
    store = ModelStore(tmp_path / DB_NAME)
    record, params = add(store, "a")
    assert store.get(record.id).name == "a"
    got = store.params(record.id)
    for k, v in params.items():
        np.testing.assert_array_equal(got[k], v)
    assert [r.id for r in store.list()] == [record.id]
    assert store.delete(record.id) and store.get(record.id) is None and not store.delete(record.id)


def test_a_second_store_on_the_same_file_sees_everything(tmp_path):
    record, _ = add(ModelStore(tmp_path / DB_NAME), "kept")
    assert ModelStore(tmp_path / DB_NAME).get(record.id).name == "kept"


def test_concurrent_writers_lose_nothing(tmp_path):
    store = ModelStore(tmp_path / DB_NAME)
    ids: list[str] = []
    lock = threading.Lock()

    def writer(k: int) -> None:
        for j in range(10):
            record, _ = add(store, f"{k}-{j}", seed=j)
            with lock:
                ids.append(record.id)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.id for r in store.list()) == sorted(ids) and len(ids) == 40


def upload(url: str, seed: int, hidden: int = 3) -> httpx2.Response:
    data = model_files.write(P.init_params("lstm", 2, hidden, 1, seed), "safetensors")
    return httpx2.post(f"{url}/api/models", files={"file": ("m.safetensors", data)}, timeout=30)


def test_models_survive_a_restart(tmp_path):
    server = ServerProcess(tmp_path)
    try:
        model = upload(server.url, 1).json()
    finally:
        server.stop()
    server = ServerProcess(tmp_path)
    try:
        assert model["id"] in {m["id"] for m in httpx2.get(f"{server.url}/api/models").json()["models"]}
        r = httpx2.post(f"{server.url}/api/forward", json={"model_id": model["id"], "inputs": [[0.1, 0.2]]})
        assert r.status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize("moment", ["mid-body", "mid-writes"])
def test_a_killed_server_leaves_the_store_intact(tmp_path, moment):
    server = ServerProcess(tmp_path)
    before = upload(server.url, 0).json()["id"]
    stop = threading.Event()
    if moment == "mid-body":
        # Headers and half a body, then the server dies before the upload completes.
        import socket

        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(
            b"POST /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
        )
        server.kill()
        sock.close()
    else:
        # Uploads in a loop (H = 128: each a few hundred kB to write), killed at a random moment.
        def storm() -> None:
            seed = 10
            while not stop.is_set():
                try:
                    upload(server.url, seed, hidden=128)
                except httpx2.HTTPError:
                    return
                seed += 1

        threads = [threading.Thread(target=storm) for _ in range(3)]
        for t in threads:
            t.start()
        stop.wait(1.5)
        server.kill()
        stop.set()
        for t in threads:
            t.join()

    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    server = ServerProcess(tmp_path)
    try:
        models = httpx2.get(f"{server.url}/api/models").json()["models"]
        assert before in {m["id"] for m in models}
        for m in models:  # every listed model is whole: its parameters load and run
            if m["source"]["format"] == "gallery":
                continue  # the trained models the server installs at start take other inputs
            r = httpx2.post(
                f"{server.url}/api/forward", json={"model_id": m["id"], "inputs": [[0.1, 0.2]], "fields": ["h"]}
            )
            assert r.status_code == 200, r.text
        assert upload(server.url, 99).status_code == 201
    finally:
        server.stop()


def test_several_worker_processes_share_one_store(tmp_path):
    server = ServerProcess(tmp_path, ("--workers", "2"))
    try:
        ids: list[str] = []
        lock = threading.Lock()

        def writer(k: int) -> None:
            with httpx2.Client(base_url=server.url, timeout=30) as c:
                for j in range(5):
                    data = model_files.write(P.init_params("gru", 2, 3, 1, 10 * k + j), "npz")
                    r = c.post("/api/models", files={"file": ("m.npz", data)})
                    assert r.status_code == 201, r.text
                    with lock:
                        ids.append(r.json()["id"])

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Whichever worker answers, it sees every model any worker wrote.
        for _ in range(6):
            listed = {m["id"] for m in httpx2.get(f"{server.url}/api/models").json()["models"]}
            assert set(ids) <= listed and len(ids) == 20
    finally:
        server.stop()
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # The uploads, beside the gallery's models the server installed at start (once, not per worker).
    gallery = len(manifest()["models"])
    assert db.execute("SELECT COUNT(*) FROM models").fetchone() == (20 + gallery,)


# --- Space: the budget, a full disk, and deletes that still work -------------------------


def test_an_upload_over_the_budget_is_refused_saying_what_is_used(tmp_path, monkeypatch):
    from app.store import STORE_BYTES_ENV, StoreFull

    store = ModelStore(tmp_path / DB_NAME)
    first, _ = add(store, "a")
    one = store.used_bytes()
    monkeypatch.setenv(STORE_BYTES_ENV, str(one * 2 + one // 2))  # room for two, not three
    add(store, "b", seed=1)
    with pytest.raises(StoreFull) as err:
        add(store, "c", seed=2)
    assert "MiB" in str(err.value) and "delete" in str(err.value)
    assert len(store.list()) == 2  # nothing half-written
    assert store.delete(first.id)
    add(store, "c", seed=2)  # a delete made room


def test_the_budget_is_a_507_over_http(monkeypatch):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.store import STORE_BYTES_ENV

    monkeypatch.setenv(STORE_BYTES_ENV, "100")  # smaller than any model
    data = model_files.write(P.init_params("lstm", 2, 3, 1, 0), "safetensors")
    with TestClient(create_app()) as client:
        r = client.post("/api/models", files={"file": ("m.safetensors", data)})
    assert r.status_code == 507
    detail = r.json()["detail"][0]
    assert detail["type"] == "store_full" and "budget" in detail["msg"] and "DELETE" in detail["msg"]


def test_store_bytes_option_reaches_the_workers(monkeypatch):
    from app import __main__ as entry
    from app.store import STORE_BYTES_ENV, store_budget

    monkeypatch.setattr(entry.uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setenv(STORE_BYTES_ENV, "")
    entry.main(["--store-bytes", "12345"])
    assert store_budget() == 12345


def _fill(directory, chunk: int = 64 * 1024) -> None:
    """Write a filler file until the file system says it is full."""
    with open(directory / "filler", "ab") as f:
        try:
            while True:
                f.write(b"\xff" * chunk)
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            assert err.errno == errno.ENOSPC


@pytest.fixture
def small_disk(tmp_path):
    """A 12 MiB tmpfs: a disk that really fills (needs root; skipped where mount is refused)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_answers_507_and_deletes_still_free_space(small_disk):
    server = ServerProcess(small_disk)
    try:
        ids = [upload(server.url, seed, hidden=128).json()["id"] for seed in range(3)]
        # An empty WAL, then a full disk: the next write anywhere needs new blocks.
        db = sqlite3.connect(small_disk / DB_NAME)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        _fill(small_disk)
        r = upload(server.url, 10, hidden=128)
        assert r.status_code == 507, r.text
        assert "disk" in r.json()["detail"][0]["msg"] and "full" in r.json()["detail"][0]["msg"]
        free_before = shutil.disk_usage(small_disk).free
        for model_id in ids[:2]:
            r = httpx2.delete(f"{server.url}/api/models/{model_id}", timeout=30)
            assert r.status_code == 204, r.text
        assert shutil.disk_usage(small_disk).free > free_before  # the pages went back to the disk
        assert upload(server.url, 11, hidden=128).status_code == 201
        listed = {m["id"] for m in httpx2.get(f"{server.url}/api/models").json()["models"]}
        assert ids[2] in listed and not listed & set(ids[:2])
    finally:
        server.stop()
    db = sqlite3.connect(small_disk / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


def test_one_definition_of_a_saved_model_gives_the_table_the_record_and_the_api_summary(tmp_path):
    import sqlite3

    from app.api.models import ModelSummary
    from app.store import COLUMNS, ModelStore, SavedModel

    store = ModelStore(tmp_path / "one.sqlite3")
    with sqlite3.connect(store.path) as db:
        table = [row[1] for row in db.execute("PRAGMA table_info(models)")]
    assert table == [*SavedModel.model_fields, "meta", "params"] == [*COLUMNS, "params"]
    assert set(SavedModel.model_fields) <= set(ModelSummary.model_fields)


def test_a_full_database_is_store_full_and_the_store_keeps_working(tmp_path):
    # SQLITE_FULL from a page limit is what a full disk gives (without needing a mount): the
    # write is refused as StoreFull (507), never as another error, and the store stays usable.
    from app.store import ModelStore, StoreFull

    store = ModelStore(tmp_path / "full.sqlite3")
    small = store.add("small", "lstm", P.init_params("lstm", 2, 3, 1, 0), "pytorch", {}, 2, 3, 1, None)
    pages = store._conn().execute("PRAGMA page_count").fetchone()[0]
    store._conn().execute(f"PRAGMA max_page_count={pages + 2}")
    with pytest.raises(StoreFull, match="full"):
        store.add("big", "lstm", P.init_params("lstm", 64, 128, 2, 0), "pytorch", {}, 64, 128, 2, None)
    assert not store._conn().in_transaction
    assert [r.name for r in store.list()] == ["small"]
    assert store.delete(small.id)
    assert store.list() == []
