"""The windows of one run are cut from one computation (app/api/tracecache.py).

The page fetches a run too large for one response as consecutive `window`s; the server keeps
the first window's trace for a short while and cuts the later windows from it.  What is
served from it must be byte for byte what a fresh computation sends, and anything that
changes the numbers (weights, seed, text, the model a `model_id` names, the pass) must be
computed again.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import limits, model_files
from app.api import tracecache, traces
from app.api.problem import build
from app.api.schemas import TraceRequest
from app.main import create_app
from app.nn import params as P
from app.nn import stack
from app.store import ModelStore, get_store

TEXT = "long short-term memory keeps a cell"  # 34 steps
BASE = {"hidden_size": 4, "text": TEXT}
WINDOWS = ((0, 10), (10, 25), (25, 34))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# The process's own cache, before each test puts one of its own in its place.
PROCESS_CACHE = tracecache.cache


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app()
    store = ModelStore(tmp_path_factory.mktemp("trace-cache") / "models.sqlite3")
    app.dependency_overrides[get_store] = lambda: store
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture(autouse=True)
def cache(monkeypatch):
    """Each test its own cache, on a clock the test moves."""
    fresh = tracecache.TraceCache(clock=Clock())
    monkeypatch.setattr(tracecache, "cache", fresh)
    return fresh


@pytest.fixture
def runs(monkeypatch):
    """How many times the trace endpoints ran the engine."""
    count = {"n": 0}
    real = stack.run

    def counting(*args, **kwargs):
        count["n"] += 1
        return real(*args, **kwargs)

    # Only the trace endpoints' engine: an upload's own checks run the engine too.
    monkeypatch.setattr(traces, "stack", SimpleNamespace(run=counting))
    return count


@contextmanager
def uncached(monkeypatch):
    """A cache that keeps nothing: every request computes afresh."""
    with monkeypatch.context() as m:
        m.setattr(tracecache, "cache", tracecache.TraceCache(max_bytes=0))
        yield


def window(client, body, start, stop, endpoint="/api/backward", **extra):
    r = client.post(endpoint, json={**body, "window": {"start": start, "stop": stop}, "param_grads": False, **extra})
    assert r.status_code == 200, r.text
    return r


NOT_PER_STEP = {"h0", "c0"}


def join_rows(parts):
    """Per-step lists put end to end, as static/js/core/tracefetch.js joins windows."""
    first = parts[0]
    if isinstance(first, list):
        return [row for p in parts for row in p]
    if not isinstance(first, dict):
        return first
    return {k: first[k] if k in NOT_PER_STEP else join_rows([p[k] for p in parts]) for k in first}


def joined(parts):
    whole = {k: v for k, v in parts[0].items() if k != "window"}
    whole["layers"] = [join_rows([p["layers"][k] for p in parts]) for k in range(len(parts[0]["layers"]))]
    whole["output"] = join_rows([p["output"] for p in parts]) if parts[0]["output"] else parts[0]["output"]
    return whole


@pytest.mark.parametrize("endpoint", ["/api/backward", "/api/forward"])
@pytest.mark.parametrize(
    "arch",
    [{"cell": "lstm"}, {"cell": "gru", "num_layers": 2}, {"cell": "lstm", "bidirectional": True, "proj_size": 2}],
)
def test_windows_joined_are_the_whole_run_from_one_computation(client, runs, endpoint, arch):
    body = {**BASE, **arch}
    parts = [window(client, body, a, b, endpoint).json() for a, b in WINDOWS]
    assert runs["n"] == 1  # the engine ran for the first window only
    whole = client.post(endpoint, json={**body, "param_grads": False}).json()
    assert joined(parts) == whole


def test_the_engine_runs_once_for_every_window_whatever_they_send(client, runs, cache):
    # precision, fields, top_k, full_output and return_params shape what is sent, not what is computed.
    shaping = [{}, {"precision": 4}, {"fields": ["h", "c"]}, {"top_k": 2}, {"full_output": False}, {}]
    shaping += [{"return_params": True}]
    for k, extra in enumerate(shaping):
        window(client, BASE, k, k + 3, **extra)
    assert runs["n"] == 1
    assert (cache.stats.hits, cache.stats.stored, len(cache)) == (len(shaping) - 1, 1, 1)


def test_a_whole_run_is_not_kept(client, runs, cache):
    for _ in range(2):
        assert client.post("/api/backward", json=BASE).status_code == 200
    assert runs["n"] == 2 and len(cache) == 0


def test_any_trace_request_drops_what_has_expired(client, runs, cache):
    window(client, BASE, 0, 10)
    assert len(cache) == 1
    cache.clock.now += cache.ttl_seconds
    assert client.post("/api/forward", json={"hidden_size": 2, "inputs": [[1.0]]}).status_code == 200
    assert len(cache) == 0 and cache.bytes == 0
    window(client, BASE, 10, 20)
    assert runs["n"] == 3  # expired: computed again


@pytest.mark.parametrize("endpoint", ["/api/backward", "/api/forward"])
@pytest.mark.parametrize("extra", [{}, {"precision": 3}, {"fields": ["h"], "top_k": 1}])
def test_a_window_from_the_cache_is_byte_identical_to_one_computed_afresh(client, monkeypatch, endpoint, extra):
    body = {**BASE, "num_layers": 2}
    window(client, body, *WINDOWS[0], endpoint)  # computed and kept
    cached = [window(client, body, a, b, endpoint, **extra).content for a, b in WINDOWS]
    assert tracecache.cache.stats.hits == len(WINDOWS)
    with uncached(monkeypatch):
        fresh = [window(client, body, a, b, endpoint, **extra).content for a, b in WINDOWS]
    assert cached == fresh


CHANGES = {
    "seed": {"seed": 1},
    "text": {"text": TEXT.replace("cell", "cold")},
    "hidden_size": {"hidden_size": 5},
    "forget_bias": {"forget_bias": 1.0},
    "cell": {"cell": "gru"},
    "h0": {"h0": [[0.1, 0.2, 0.3, 0.4]]},
    "loss": {"loss": {"kind": "dh"}},
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_what_is_computed_is_computed_again(client, runs, monkeypatch, change):
    before = window(client, BASE, 0, 10).json()
    after = window(client, {**BASE, **CHANGES[change]}, 0, 10)
    assert runs["n"] == 2
    assert after.json()["layers"] != before["layers"]
    with uncached(monkeypatch):
        assert window(client, {**BASE, **CHANGES[change]}, 0, 10).content == after.content


def test_changed_weights_are_computed_again(client, runs, monkeypatch):
    inputs = [[0.5, -1.0], [1.0, 0.2], [0.0, 0.3], [0.7, 0.1]]
    params = P.init_params("lstm", 2, 3, 1, seed=5)
    weights = {k: v.tolist() for k, v in params.items()}
    body = {"hidden_size": 3, "inputs": inputs, "weights": weights}
    before = window(client, body, 0, 4).json()
    weights["weight_ih_l0"][0][0] += 0.25
    after = window(client, body, 0, 4)
    assert runs["n"] == 2 and after.json()["layers"] != before["layers"]
    # One number changed by the smallest step a float64 has is another key too.
    weights["weight_ih_l0"][0][0] = float(np.nextafter(weights["weight_ih_l0"][0][0], 2.0))
    last = window(client, body, 0, 4)
    assert runs["n"] == 3
    with uncached(monkeypatch):
        assert window(client, body, 0, 4).content == last.content


def test_a_forward_window_is_never_cut_from_a_backward_run(client, runs, monkeypatch):
    window(client, BASE, 0, 10, "/api/backward")
    forward = window(client, BASE, 0, 10, "/api/forward")
    assert runs["n"] == 2 and "grad" not in forward.json()["layers"][0]
    with uncached(monkeypatch):
        assert window(client, BASE, 0, 10, "/api/forward").content == forward.content


def upload(client, params, **form) -> str:
    r = client.post("/api/models", files={"file": ("m.npz", model_files.write(params, "npz"))}, data=form)
    assert r.status_code == 201, r.text
    return r.json()["id"]


INPUTS = [[0.5, -1.0], [1.0, 0.2], [0.0, 0.3], [0.7, 0.1], [-0.4, 0.9]]


def test_a_deleted_model_is_not_served_from_the_cache(client, runs):
    model_id = upload(client, P.init_params("gru", 2, 3, 1, seed=2))
    body = {"model_id": model_id, "inputs": INPUTS}
    window(client, body, 0, 2)
    window(client, body, 2, 5)
    assert runs["n"] == 1
    assert client.delete(f"/api/models/{model_id}").status_code == 204
    r = client.post("/api/backward", json={**body, "window": {"start": 2, "stop": 5}, "param_grads": False})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["body", "model_id"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Other tensors under the same id.
        ((P.init_params("lstm", 2, 3, 1, seed=2), {}), (P.init_params("lstm", 2, 3, 1, seed=3), {})),
        # The same tensors, run otherwise: an RNN saved as tanh, then as relu.
        (
            (P.init_params("rnn", 2, 3, 1, seed=2), {"nonlinearity": "tanh"}),
            (P.init_params("rnn", 2, 3, 1, seed=2), {"nonlinearity": "relu"}),
        ),
    ],
    ids=["other tensors", "other settings"],
)
def test_a_model_replaced_under_its_id_is_computed_again(client, runs, monkeypatch, first, second):
    # Ids are random (uuid4), so the store never reuses one; make it, to stand for any replacement.
    same = "ab" * 16
    monkeypatch.setattr("app.store.uuid", SimpleNamespace(uuid4=lambda: SimpleNamespace(hex=same)))
    assert upload(client, first[0], **first[1]) == same
    body = {"model_id": same, "inputs": INPUTS}
    before = window(client, body, 0, 5).json()
    assert client.delete(f"/api/models/{same}").status_code == 204
    assert upload(client, second[0], **second[1]) == same
    after = window(client, body, 0, 5)
    assert runs["n"] == 2 and after.json()["layers"] != before["layers"]
    with uncached(monkeypatch):
        assert window(client, body, 0, 5).content == after.content
    assert client.delete(f"/api/models/{same}").status_code == 204


def test_a_stopped_first_computation_is_neither_sent_nor_kept(client, runs, monkeypatch, cache):
    with monkeypatch.context() as m:
        m.setattr(limits, "MAX_COMPUTE_SECONDS", 0)  # out of time at the engine's first check
        r = client.post("/api/backward", json={**BASE, "window": {"start": 0, "stop": 10}, "param_grads": False})
    assert r.status_code == 503 and r.json()["detail"][0]["type"] == "time_budget_exceeded"
    assert len(cache) == 0
    window(client, BASE, 0, 10)
    window(client, BASE, 10, 20)
    assert runs["n"] == 2  # the stopped one, then one for both windows


# --- The cache itself: bound, eviction, time to live, keys ----------------------------------


def traced(text: str, backward: bool = True, hidden: int = 4):
    req = TraceRequest.model_validate({"hidden_size": hidden, "text": text, "window": {"start": 0, "stop": 1}})
    prob = build(req, None)
    trace = stack.run(prob.model, prob.x, prob.loss, prob.h0, prob.c0, backward=backward)
    return tracecache.key_for(req, prob, backward), trace


def entry_size(key, trace) -> int:
    return tracecache.trace_bytes(trace) + len(key.request) + len(key.inputs) + len(key.digest)


def test_the_byte_bound_drops_the_least_recently_used():
    runs = [traced(t) for t in ("abcdefgh", "bcdefghi", "cdefghij")]
    size = max(entry_size(*r) for r in runs)
    cache = tracecache.TraceCache(max_bytes=2 * size + size // 2, clock=Clock())
    (k1, t1), (k2, t2), (k3, t3) = runs
    assert cache.put(k1, t1) and cache.put(k2, t2)
    assert cache.get(k1) is t1  # k1 now the most recently used: k2 goes first
    assert cache.put(k3, t3)
    assert cache.get(k2) is None and cache.get(k1) is t1 and cache.get(k3) is t3
    assert cache.bytes <= cache.max_bytes and cache.stats.evicted == 1


def test_a_trace_larger_than_the_bound_is_not_kept_and_drops_nothing():
    small, large = traced("abcdefgh"), traced("abcdefgh" * 8, hidden=16)
    cache = tracecache.TraceCache(max_bytes=entry_size(*small) + 100, clock=Clock())
    assert cache.put(*small)
    assert not cache.put(*large)
    assert cache.get(large[0]) is None and cache.get(small[0]) is small[1]
    assert cache.stats.too_large == 1


def test_entries_expire_after_their_time_to_live():
    clock = Clock()
    cache = tracecache.TraceCache(ttl_seconds=120, clock=clock)
    key, trace = traced("abcdefgh")
    cache.put(key, trace)
    clock.now += 119.9
    assert cache.get(key) is trace
    clock.now += 0.1
    assert cache.get(key) is None and len(cache) == 0 and cache.bytes == 0


def test_an_idle_cache_lets_go_of_its_traces_when_they_expire():
    """With its timer (the process's cache has one), nothing has to ask: a server left idle
    after a large run frees the trace once its time to live has passed."""
    assert PROCESS_CACHE.timer
    cache = tracecache.TraceCache(ttl_seconds=0.05, timer=True)
    key, trace = traced("abcdefgh")
    cache.put(key, trace)
    assert len(cache) == 1
    emptied = threading.Event()
    for _ in range(100):  # up to 10 s on a loaded machine; done well before on any other
        if len(cache) == 0:
            emptied.set()
            break
        threading.Event().wait(0.1)
    assert emptied.is_set() and cache.bytes == 0 and cache.stats.expired == 1
    assert cache._timer is None  # nothing left to wait for


def test_a_key_is_compared_whole_not_by_its_digest_alone():
    cache = tracecache.TraceCache(clock=Clock())
    key, trace = traced("abcdefgh")
    cache.put(key, trace)
    forged = tracecache.Key(key.digest, key.backward, key.request.replace(b"abcdefgh", b"abcdefgx"), key.inputs)
    assert cache.get(forged) is None
    assert cache.get(tracecache.Key(key.digest, not key.backward, key.request, key.inputs)) is None
    assert cache.get(key) is trace


def test_the_key_leaves_out_only_what_shapes_the_response():
    def key(**extra):
        req = TraceRequest.model_validate({**BASE, **extra})
        return tracecache.key_for(req, build(req, None), True)

    base = key()
    for extra in ({"window": {"start": 1, "stop": 3}}, {"precision": 3}, {"param_grads": False}, {"top_k": 1}):
        assert key(**extra) == base, extra
    assert key(fields=["h"], full_output=True, return_params=True) == base
    for extra in ({"seed": 1}, {"forget_bias": 0.5}, {"hidden_size": 5}, {"text": TEXT + "!"}):
        assert key(**extra).digest != base.digest, extra
    # The names left out are the request's own (a renamed field would otherwise slip into the key).
    assert set(TraceRequest.model_fields) >= tracecache.RESPONSE_ONLY


def test_the_bytes_count_every_buffer_once():
    a = np.zeros((10, 8))
    h = np.ones((10, 2))
    # Views (the gates of `a`, a reverse direction's flipped rows, a layer's h as its output)
    # hold no buffer of their own.
    layer = {"a": a, "i": a[:, :2], "f": a[:, 2:4], "h": h, "h_flipped": h[::-1]}
    trace = stack.Trace(1.0, [layer], [{"x": np.ones(3)}], {"y": np.ones(4)}, outputs=[h], output_grads=[h])
    assert tracecache.trace_bytes(trace) == a.nbytes + h.nbytes + 3 * 8 + 4 * 8
    _, real = traced("abcdefgh")
    assert 0 < tracecache.trace_bytes(real) < sum(x.nbytes for x in tracecache._arrays(real))


def test_threads_keep_the_bound_and_the_count():
    runs = [traced(t) for t in ("abcdefgh", "bcdefghi", "cdefghij", "defghijk")]
    cache = tracecache.TraceCache(max_bytes=2 * max(entry_size(*r) for r in runs), clock=Clock())
    errors = []

    def hammer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                key, trace = runs[rng.integers(len(runs))]
                got = cache.get(key)
                assert got is None or got is trace
                cache.put(key, trace)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert 0 < cache.bytes <= cache.max_bytes
    assert cache.bytes == sum(e.size for e in cache._entries.values())


def digest(obj) -> str:
    h = hashlib.sha256()
    tracecache._feed(h, obj)
    return h.hexdigest()


def test_the_inputs_digest_tells_apart_what_differs_and_only_that():
    a = np.arange(6.0).reshape(2, 3)
    assert digest(a[:, ::2]) == digest(a[:, ::2].copy())  # the numbers, not the memory layout
    different = [
        np.zeros((0, 3)),
        np.zeros((3, 0)),
        np.zeros(3),
        np.zeros((1, 3)),
        np.zeros(3, dtype=np.int64),
        np.zeros(3).astype(">f8"),
        -np.zeros(3),
        [[1.0], [2.0]],
        [[1.0, 2.0]],
        [1.0, 2.0],
        (1.0, 2.0),
        [1, 2],
        None,
        [],
        "ab",
        ["a", "b"],
        {"a": 1},
        {"a": 1.0},
    ]
    assert len({digest(x) for x in different}) == len(different)
    with pytest.raises(tracecache.Unhashable):
        digest(object())
