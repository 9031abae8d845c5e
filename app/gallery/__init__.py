"""The gallery: small models trained by the project (`python -m app.gallery`), shipped as
weight files with a manifest, loaded into the model store at start (`install.py`) and listed
by GET /api/gallery.  `catalogue.py` says what each model is, `tasks.py` the gallery's own
tasks, `measures.py` how each mechanism is measured from the engine's trace, `build.py` the
training script."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

GALLERY_DIR = Path(__file__).resolve().parent
MODELS_DIR = GALLERY_DIR / "models"
MANIFEST = GALLERY_DIR / "manifest.json"


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """A shipped weight file as float64 arrays (the engine's precision)."""
    return {k: v.astype(np.float64) for k, v in load_file(str(path)).items()}


def manifest() -> dict:
    """The shipped manifest ({"models": []} when there is none)."""
    if not MANIFEST.exists():
        return {"models": []}
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@cache
def titles() -> dict[str, dict[str, str]]:
    """Manifest name -> the model's title in each language ({"en": ..., "ko": ...}), read once:
    the store keeps a gallery model under its English title, the page shows the one in its
    language."""
    return {entry["name"]: dict(entry["title"]) for entry in manifest()["models"]}
