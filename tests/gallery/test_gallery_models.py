"""Each shipped gallery model has the mechanism its manifest claims: measured here from the
engine's trace of the shipped weights, on sequences neither training nor the manifest used."""

from __future__ import annotations

import hashlib

import pytest

from app.gallery import GALLERY_DIR, load_weights, manifest
from app.gallery.build import MEASURE_BASE, measure
from app.gallery.catalogue import ENTRIES
from app.gallery.measures import FRESH

TEST_BASE = FRESH + 3 * 10**6  # a block of seeds of their own
ENTRY = {e.name: e for e in ENTRIES}
MODELS = {m["name"]: m for m in manifest()["models"]}


def _holds(value: float, claim: tuple[str, float], name: str) -> bool:
    op, bound = claim
    value = abs(value) if name.endswith("_r") else value  # a correlation's sign is the unit's choice
    return value >= bound if op == ">=" else value <= bound


def test_every_catalogue_model_is_shipped():
    assert set(MODELS) == set(ENTRY)
    for m in MODELS.values():
        path = GALLERY_DIR / m["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == m["sha256"]
        assert path.stat().st_size < 400_000


@pytest.mark.parametrize("name", sorted(ENTRY))
def test_mechanism_holds_on_fresh_sequences(name):
    entry, shipped = ENTRY[name], MODELS[name]
    params = load_weights(GALLERY_DIR / shipped["file"])
    base = TEST_BASE if entry.task != "code" else None
    metrics, watch = measure(entry, params, base, shipped["watch"])
    assert watch == shipped["watch"]
    failed = {k: (metrics[k], c) for k, c in entry.claims.items() if not _holds(metrics[k], c, k)}
    assert not failed, f"{name}: claims that do not hold on fresh sequences: {failed}"
    # The claims are what the manifest shows too.
    for k, c in entry.claims.items():
        assert _holds(shipped["metrics"][k], c, k)


@pytest.mark.parametrize("name", sorted(ENTRY))
def test_manifest_figures_are_the_shipped_weights(name):
    """The figures in the manifest (and README) are what these weights give on the sequences it names."""
    entry, shipped = ENTRY[name], MODELS[name]
    params = load_weights(GALLERY_DIR / shipped["file"])
    metrics, _ = measure(entry, params, MEASURE_BASE, shipped["watch"])
    assert set(metrics) == set(shipped["metrics"])
    for k, v in metrics.items():
        assert v == pytest.approx(shipped["metrics"][k], rel=1e-3, abs=1e-6), k
