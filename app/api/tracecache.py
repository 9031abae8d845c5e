"""Computed traces kept for a short while, so the windows of one long run are computed once.

A run too large for one response is fetched as consecutive `window` requests (the page's
core/tracefetch.js), and each window runs the whole sequence again: T = 1000, H = 256 cost a
full backward pass per window.  The first window's `Trace` is kept here and the later
windows are cut from it (trace_json.build_response does the cutting, from the request as
asked, so a window from here is byte-identical to one computed afresh).

Only window requests are kept (app/api/traces.py): a whole response is sent in one go and
asking for it again is rare, so keeping it would hold hundreds of MB for nothing.

The key is everything that changes the numbers:

- the pass (forward or backward: a forward request is never served a backward trace);
- the validated request as canonical JSON, without the fields that only shape the response
  (RESPONSE_ONLY), kept whole in the entry and compared on a hit;
- a sha256 of the engine's inputs as built (every tensor and setting of the model, x, the
  loss, h0, c0).  A saved model that was deleted is refused by `build()` (404) before the
  cache is asked; one replaced under the same id has other tensors or settings, so another
  digest.  (Its tensors are hashed, not kept: a model may be 512 MiB.)

The cache holds at most `max_bytes` (the arrays' buffers, each counted once however many
views share it, plus the key), drops the least recently used entries first and every entry
after `ttl_seconds`; an entry larger than the bound is not kept.  It is per process (each
uvicorn worker has its own) and one lock guards it: the engine runs in several worker
threads (app/api/workload.py), outside the lock.  Two requests of the same run at once may
both compute it (the page's windows come one after another); the later one's copy stays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from .. import limits
from ..nn.stack import Trace
from .problem import Problem
from .schemas import TraceRequest

# Fields of TraceRequest that select, cut or round what is sent, never what is computed
# (trace_json.build_response reads them from the request each time).
RESPONSE_ONLY = frozenset({"window", "param_grads", "precision", "fields", "top_k", "full_output", "return_params"})


@dataclass(frozen=True)
class Key:
    digest: bytes  # sha256 of everything below: the dictionary's key
    backward: bool
    request: bytes  # canonical JSON of the request without RESPONSE_ONLY
    inputs: bytes  # sha256 of the engine's inputs as built


class Unhashable(TypeError):
    """An engine input of a kind `_feed` does not know: such a run is not cached."""


def _feed(h: Any, obj: Any) -> None:
    """Write `obj` into hash `h` unambiguously: a tag, then lengths before every variable part."""

    def text(s: str) -> None:
        b = s.encode("utf-8", "surrogatepass")
        h.update(struct.pack("<Q", len(b)))
        h.update(b)

    if obj is None:
        h.update(b"N")
    elif isinstance(obj, bool | np.bool_):
        h.update(b"B1" if obj else b"B0")
    elif isinstance(obj, np.ndarray | np.generic):
        arr = np.ascontiguousarray(obj)
        h.update(b"A")
        text(arr.dtype.str)
        h.update(struct.pack("<Q", arr.ndim))
        h.update(struct.pack(f"<{arr.ndim}Q", *arr.shape))
        if arr.dtype.hasobject:
            raise Unhashable("an object array")
        if arr.size:
            h.update(arr.reshape(-1).view(np.uint8))
    elif isinstance(obj, int):
        h.update(b"I")
        text(str(obj))
    elif isinstance(obj, float):
        h.update(b"F" + struct.pack("<d", obj))
    elif isinstance(obj, str):
        h.update(b"S")
        text(obj)
    elif isinstance(obj, list | tuple):
        h.update(b"L" if isinstance(obj, list) else b"T")
        h.update(struct.pack("<Q", len(obj)))
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, dict):
        h.update(b"M")
        h.update(struct.pack("<Q", len(obj)))
        for k in sorted(obj, key=repr):
            _feed(h, k)
            _feed(h, obj[k])
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(b"D")
        text(f"{type(obj).__module__}.{type(obj).__qualname__}")
        fields = dataclasses.fields(obj)
        h.update(struct.pack("<Q", len(fields)))
        for f in fields:
            text(f.name)
            _feed(h, getattr(obj, f.name))
    else:
        raise Unhashable(f"cannot key a {type(obj).__name__}")


def inputs_digest(prob: Problem) -> bytes:
    """sha256 of what `stack.run` is given: the model (tensors and settings), x, loss, h0, c0."""
    h = hashlib.sha256()
    _feed(h, (prob.model, prob.x, prob.loss, prob.h0, prob.c0))
    return h.digest()


def canonical_request(req: TraceRequest) -> bytes:
    """The request as sorted-key JSON without the response-only fields (floats as their
    shortest round-tripping decimal: two different numbers never print alike)."""
    return orjson.dumps(req.model_dump(exclude=set(RESPONSE_ONLY)), option=orjson.OPT_SORT_KEYS)


def key_for(req: TraceRequest, prob: Problem, backward: bool) -> Key | None:
    """The cache key of running `prob` (built from `req`), or None when it cannot be keyed."""
    try:
        inputs = inputs_digest(prob)
    except (Unhashable, TypeError, ValueError):  # not kept rather than a failed request
        return None
    request = canonical_request(req)
    h = hashlib.sha256(b"backward" if backward else b"forward")
    h.update(inputs)
    h.update(hashlib.sha256(request).digest())
    return Key(h.digest(), backward, request, inputs)


def _arrays(obj: Any):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _arrays(v)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _arrays(getattr(obj, f.name))


def trace_bytes(trace: Trace) -> int:
    """Bytes the trace's arrays hold: each buffer once, however many views of it (a reverse
    direction's flipped arrays, the gates' slices of `a`, the outputs that are a layer's h)."""
    owners: dict[int, np.ndarray] = {}
    for arr in _arrays(trace):
        while isinstance(arr.base, np.ndarray):
            arr = arr.base
        owners[id(arr)] = arr
    return sum(a.nbytes for a in owners.values())


@dataclass
class _Entry:
    key: Key
    trace: Trace
    size: int
    expires: float


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    too_large: int = 0
    evicted: int = 0
    expired: int = 0


class TraceCache:
    def __init__(
        self,
        max_bytes: int = limits.TRACE_CACHE_BYTES,
        ttl_seconds: float = limits.TRACE_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = False,
    ):
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        # With `timer`, a daemon thread sweeps when the oldest entry expires, so a server left
        # idle after a large run lets go of its traces (the process's cache; tests drive the clock).
        self.timer = timer
        self._timer: threading.Timer | None = None
        self.stats = CacheStats()
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, digest: bytes) -> None:
        self._bytes -= self._entries.pop(digest).size

    def _expire(self, now: float) -> None:
        for digest in [d for d, e in self._entries.items() if e.expires <= now]:
            self._drop(digest)
            self.stats.expired += 1

    def _schedule(self) -> None:
        """(Under the lock.)  With `timer`, sweep once the oldest entry has expired."""
        if not self.timer or self._timer is not None or not self._entries:
            return
        delay = max(0.0, min(e.expires for e in self._entries.values()) - self.clock()) + 0.5
        self._timer = threading.Timer(delay, self._on_timer)
        self._timer.daemon = True
        self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            self._expire(self.clock())
            self._schedule()

    def sweep(self) -> None:
        """Drop what has expired (every trace request calls it; with `timer` a thread does too)."""
        with self._lock:
            self._expire(self.clock())

    def get(self, key: Key) -> Trace | None:
        with self._lock:
            self._expire(self.clock())
            entry = self._entries.get(key.digest)
            if entry is None or entry.key != key:  # the whole key compared, not its digest alone
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key.digest)
            self.stats.hits += 1
            return entry.trace

    def put(self, key: Key, trace: Trace) -> bool:
        """Keep `trace` under `key`, dropping the least recently used to make room; False if it
        alone is larger than the bound (then nothing is dropped)."""
        size = trace_bytes(trace) + len(key.request) + len(key.inputs) + len(key.digest)
        with self._lock:
            now = self.clock()
            self._expire(now)
            if key.digest in self._entries:
                self._drop(key.digest)
            if size > self.max_bytes:
                self.stats.too_large += 1
                return False
            while self._entries and self._bytes + size > self.max_bytes:
                self._drop(next(iter(self._entries)))
                self.stats.evicted += 1
            self._entries[key.digest] = _Entry(key, trace, size, now + self.ttl_seconds)
            self._bytes += size
            self.stats.stored += 1
            self._schedule()
            return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


# The process's cache (app/api/traces.py); tests put one of their own in its place.
cache = TraceCache(timer=True)
