"""The SQLite model store: atomic writes, concurrent writers, survival of restarts and kills."""

from __future__ import annotations

import sqlite3
import threading

import httpx2
import numpy as np
import pytest

from app import model_files
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
    assert db.execute("SELECT COUNT(*) FROM models").fetchone() == (20,)
