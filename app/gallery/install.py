"""The shipped gallery models into the model store, once.

`python -m app` installs them at start, before any worker serves (a full store only warns);
a server made otherwise (tests, `uvicorn app.main:app`) installs them at the first GET
/api/gallery it answers.  They are then in GET /api/models and usable as model_id everywhere
(tests/test_store.py counts them beside its uploads).  Each model's record carries
`meta["gallery"]` = {name, version}, the version being a digest of its manifest entry (which
holds its weight file's sha256): a model already in the store at that version is reused, an
older version of it is replaced, so a restart never duplicates a model and a retrained one
takes its predecessor's place.  Processes take a file lock beside the store while they look
and add, so two workers starting together add each model once.

A gallery model that someone deletes comes back at the next start of a server process (until
then the gallery lists it no more).  Read-only mode (--read-only) turns off clients' uploads, deletes and
training; installing the shipped models is the server's own doing and happens there too, so
a read-only demo has its gallery, and no client can delete it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
from pathlib import Path

from ..model_settings import RunConfig
from ..store import ModelRecord, ModelStore
from . import GALLERY_DIR, load_weights, manifest
from . import tasks as G

log = logging.getLogger(__name__)

LOCK_NAME = "gallery.lock"
# Per store file: manifest name -> model id, once this process has installed the gallery there.
_installed: dict[Path, dict[str, str]] = {}
_lock = threading.Lock()

LABELS = {
    "temporal_order": ["XX", "XY", "YX", "YY"],
    "copy": ["0", "1", "2", "3"],
    "dyck": G.DYCK_LABELS,
    "reber": G.REBER_VOCAB,
}
VOCAB = {"dyck": G.DYCK_VOCAB, "reber": G.REBER_VOCAB, "code": G.CODE_VOCAB}
LOGITS = ("temporal_order", "copy", "code")  # a softmax head; the others answer values


def version(entry: dict) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()[:16]


def config(entry: dict) -> RunConfig:
    vocab = VOCAB.get(entry["task"])
    return RunConfig(
        input_kind="onehot" if vocab else "numbers",
        output_kind="logits" if entry["task"] in LOGITS else "values",
        vocab=vocab,
        labels=LABELS.get(entry["task"]),
    )


def _add(store: ModelStore, entry: dict) -> ModelRecord:
    params = load_weights(GALLERY_DIR / entry["file"])
    meta = {
        "source": {"framework": "lstmvis", "format": "gallery", "task": entry["task"], "file": entry["file"]},
        "vocab": VOCAB.get(entry["task"]),
        "config": config(entry).as_dict(),
        "training": {"task": entry["task"], **entry["training"]},
        "gallery": {"name": entry["name"], "version": version(entry)},
    }
    return store.add(
        name=entry["title"]["en"],
        cell=entry["cell"],
        params=params,
        layout="pytorch",
        meta=meta,
        input_size=entry["input_size"],
        hidden_size=entry["hidden_size"],
        num_layers=entry["num_layers"],
        output_size=entry["output_size"],
    )


def install(store: ModelStore, entries: list[dict] | None = None) -> dict[str, str]:
    """Every manifest model in `store` (added, reused or replaced): name -> model id."""
    entries = manifest()["models"] if entries is None else entries
    with _lock, open(store.path.parent / LOCK_NAME, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            present: dict[str, list[ModelRecord]] = {}
            for record in store.list():
                tag = record.meta.get("gallery")
                if isinstance(tag, dict) and "name" in tag:
                    present.setdefault(tag["name"], []).append(record)
            ids = {}
            for entry in entries:
                wanted = version(entry)
                rows = present.pop(entry["name"], [])
                keep = next((r for r in rows if r.meta["gallery"].get("version") == wanted), None)
                for r in rows:
                    if r is not keep:
                        store.delete(r.id)  # an older version, or a duplicate
                ids[entry["name"]] = (keep or _add(store, entry)).id
            for rows in present.values():  # models the manifest no longer has
                for r in rows:
                    store.delete(r.id)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
        _installed[store.path] = ids
    return ids


def installed(store: ModelStore) -> dict[str, str]:
    """name -> model id of the gallery in `store`, installing it on first use in this process."""
    ids = _installed.get(store.path)
    return install(store) if ids is None else ids
