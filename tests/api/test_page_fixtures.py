"""The page's unit tests run on responses recorded from the real API: this test records them.

`node --test tests/js/` reads tests/js/fixtures/*.json; here each one is made again from the
app and compared, so a change on the server that the page's tests have not seen fails
here.  To record them anew after such a change:

    LSTMVIS_WRITE_PAGE_FIXTURES=1 python -m pytest tests/api/test_page_fixtures.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "js" / "fixtures"
WRITE = os.environ.get("LSTMVIS_WRITE_PAGE_FIXTURES") == "1"


def recorded(client) -> dict[str, object]:
    """Every fixture the page's tests read, made from the app now."""
    out: dict[str, object] = {"cells.json": client.get("/api/limits").json()["cells"]}
    for cell in ("lstm", "gru", "rnn"):
        body = {"cell": cell, "hidden_size": 3, "num_layers": 2, "text": "hello!", "seed": 1, "precision": 6}
        response = client.post("/api/backward", json=body)
        assert response.status_code == 200, response.text
        out[f"backward-{cell}.json"] = response.json()
    # The architectures beyond one direction: a bidirectional, projected LSTM (its layers hold
    # `forward` and `reverse`, each with `m`), and a head answered by its top k only (no
    # whole matrices: output.full is false).
    for name, extra in (
        ("backward-lstm-bi-proj.json", {"bidirectional": True, "proj_size": 2, "hidden_size": 3}),
        ("backward-lstm-topk.json", {"full_output": False, "top_k": 3, "hidden_size": 3, "bias": False}),
    ):
        body = {"cell": "lstm", "num_layers": 2, "text": "hello!", "seed": 1, "precision": 6, **extra}
        response = client.post("/api/backward", json=body)
        assert response.status_code == 200, response.text
        out[name] = response.json()
    return out


def test_the_page_fixtures_are_what_the_api_answers(client):
    fresh = recorded(client)
    if WRITE:
        FIXTURES.mkdir(exist_ok=True)
        for name, value in fresh.items():
            (FIXTURES / name).write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")
    stale = [
        name
        for name, value in fresh.items()
        if not (FIXTURES / name).exists() or json.loads((FIXTURES / name).read_text()) != value
    ]
    if stale:
        pytest.fail(
            f"tests/js/fixtures/{', '.join(stale)} differ from the API; record them anew: {__doc__.split('    ')[-1].strip()}"
        )
