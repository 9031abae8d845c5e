"""GET /api/gallery: the contract, model ids that every trace endpoint takes, and an
installation that is idempotent (no duplicates on restart, a deleted model back at the next)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import model_files
from app.gallery import install as I
from app.gallery import manifest
from app.main import create_app
from app.nn import params as P
from app.store import ModelStore

NAMES = [m["name"] for m in manifest()["models"]]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def test_the_list_follows_the_contract(client):
    models = client.get("/api/gallery").json()
    assert [m["name"] for m in models] == NAMES
    for m in models:
        assert m["task"] in {"adding", "temporal_order", "copy", "dyck", "reber", "code"}
        assert m["cell"] in {"lstm", "gru", "rnn"}
        assert m["title"]["en"] and m["title"]["ko"]
        assert m["what_to_look_for"]["en"] and m["what_to_look_for"]["ko"]
        assert m["metrics"] and all(isinstance(v, float) for v in m["metrics"].values())
        for w in m["watch"]:
            assert w["layer"] == 0 and 0 <= w["unit"] < m["hidden_size"]
        assert m["example"]["model_id"] == m["model_id"]


def test_every_model_id_runs_in_the_trace_endpoints(client):
    for m in client.get("/api/gallery").json():
        r = client.post("/api/backward", json=m["example"])
        assert r.status_code == 200, (m["name"], r.text)
        body = r.json()
        layer = body["layers"][0]
        for w in m["watch"]:
            assert w["quantity"] in layer, (m["name"], w)
        assert np.isfinite(body["loss"])
        assert client.post("/api/forward", json=m["example"]).status_code == 200


def test_adding_example_shows_the_mechanism_over_http(client):
    """What the page will draw: the watched unit's input gate opens at the marked steps."""
    m = next(m for m in client.get("/api/gallery").json() if m["name"] == "adding-lstm")
    body = client.post("/api/forward", json=m["example"]).json()
    unit = m["watch"][0]["unit"]
    gate = np.array(body["layers"][0]["i"])[:, unit]
    marked = np.array(m["example"]["inputs"])[:, 1] == 1.0
    assert gate[marked].min() > 0.5 > gate[~marked].max()


def test_the_code_models_example_carries_what_its_units_track_per_step(client):
    """The page's guided path compares the code model's units with the measures' own features
    of its example, one value per character; the task models carry none."""
    from app.gallery.measures import code_features

    models = client.get("/api/gallery").json()
    code = next(m for m in models if m["task"] == "code")
    features = code_features(code["example"]["text"])
    tracked = {w["tracks"] for w in code["watch"]}
    assert set(code["example_features"]) == tracked
    for name in tracked:
        assert code["example_features"][name] == features[name].tolist()
    assert all(m["example_features"] == {} for m in models if m["task"] != "code")


def test_install_is_idempotent_and_a_deleted_model_returns_at_the_next_start(tmp_path):
    store = ModelStore(tmp_path / "models.sqlite3")
    first = I.install(store)
    assert I.install(store) == first  # a restart reuses every model
    assert len(store.list()) == len(NAMES)
    victim = first[NAMES[0]]
    assert store.delete(victim)
    again = I.install(store)
    assert again[NAMES[0]] != victim and store.get(again[NAMES[0]]) is not None
    assert {k: v for k, v in again.items() if k != NAMES[0]} == {k: v for k, v in first.items() if k != NAMES[0]}
    assert len(store.list()) == len(NAMES)


def test_a_changed_manifest_entry_replaces_its_model(tmp_path):
    store = ModelStore(tmp_path / "models.sqlite3")
    entries = manifest()["models"]
    first = I.install(store, entries)
    changed = [{**entries[0], "title": {"en": "renamed", "ko": "새 이름"}}, *entries[1:]]
    second = I.install(store, changed)
    assert second[NAMES[0]] != first[NAMES[0]] and store.get(first[NAMES[0]]) is None
    assert store.get(second[NAMES[0]]).name == "renamed"
    assert len(store.list()) == len(NAMES)


def test_a_gallery_model_is_listed_with_its_titles_and_other_models_without(client):
    """GET /api/models names a gallery model by its English title and gives `title` in each
    language (the page shows the one in its language); a model someone saved has none."""
    gallery = {m["model_id"]: m for m in client.get("/api/gallery").json()}
    # A model someone saved, named like a gallery model.
    first = next(iter(gallery.values()))
    data = model_files.write(P.init_params("lstm", 2, 3, 1, 0), "npz")
    r = client.post("/api/models", files={"file": ("m.npz", data)}, data={"name": first["title"]["en"]})
    assert r.status_code == 201, r.text
    mine = r.json()["id"]
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    for model_id, entry in gallery.items():
        assert listed[model_id]["title"] == entry["title"]
        assert listed[model_id]["name"] == entry["title"]["en"]
        assert client.get(f"/api/models/{model_id}").json()["title"] == entry["title"]
    assert listed[mine]["name"] == first["title"]["en"] and listed[mine]["title"] is None
    assert client.get(f"/api/models/{mine}").json()["title"] is None
    assert client.delete(f"/api/models/{mine}").status_code == 204
