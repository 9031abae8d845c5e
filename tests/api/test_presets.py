"""GET /api/presets and /api/presets/{name}: complete bodies, at the size asked for."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize(
    "name,params,steps",
    [
        ("adding", {"steps": 100}, 100),
        ("sine", {"steps": 50}, 50),
        ("temporal_order", {"steps": 300}, 300),
        ("copy", {"delay": 20}, 28),
    ],
)
def test_tasks_take_a_length_or_delay_and_run(client, name, params, steps):
    preset = client.get(f"/api/presets/{name}", params=params).json()
    req = preset["request"]
    assert len(req["inputs"]) == steps
    r = client.post("/api/backward", json=req | {"precision": 3})
    assert r.status_code == 200, r.text
    assert r.json()["steps"] == steps


def test_adding_problem_is_scored_at_the_last_step_only(client):
    req = client.get("/api/presets/adding", params={"steps": 30, "seed": 4}).json()["request"]
    x = np.array(req["inputs"])
    targets = req["loss"]["targets"]
    assert all(t == [None] for t in targets[:-1])
    marked = x[x[:, 1] == 1, 0]
    assert len(marked) == 2 and targets[-1][0] == pytest.approx(marked.sum(), rel=1e-5)


def test_copy_task_recalls_the_symbols_after_the_delay(client):
    req = client.get("/api/presets/copy", params={"delay": 5, "seed": 1}).json()["request"]
    x, targets = np.array(req["inputs"]), req["loss"]["targets"]
    seen = x[:4, :4].argmax(axis=1).tolist()
    assert targets[:9] == [None] * 9 and targets[9:] == seen


def test_seed_changes_the_data(client):
    a = client.get("/api/presets/adding", params={"seed": 1}).json()["request"]["inputs"]
    b = client.get("/api/presets/adding", params={"seed": 2}).json()["request"]["inputs"]
    assert a != b


@pytest.mark.parametrize(
    "url,status,loc",
    [
        ("/api/presets/nope", 404, None),
        ("/api/presets/adding?steps=0", 422, ["query", "steps"]),
        ("/api/presets/adding?steps=5000", 422, ["query", "steps"]),
        ("/api/presets/hello?steps=5", 422, ["query", "steps"]),
        ("/api/presets/sine?delay=5", 422, ["query", "delay"]),
        ("/api/presets/temporal_order?steps=3", 422, ["query", "steps"]),
    ],
)
def test_bad_sizes(client, url, status, loc):
    r = client.get(url)
    assert r.status_code == status, r.text
    if loc:
        assert r.json()["detail"][0]["loc"] == loc
