"""The wording of the errors the page shows next to a field (issue 17): the page puts the
field's name first, so a message does not repeat it; a text of one repeated character is the
text's fault, not the loss's; one value is "1 value"."""

from __future__ import annotations


def detail(client, body: dict) -> dict:
    r = client.post("/api/backward", json=body)
    assert r.status_code == 422, r.text
    [item] = r.json()["detail"]
    return item


def test_a_short_text_is_refused_without_repeating_the_field(client):
    item = detail(client, {"text": "a", "loss": {"kind": "cross_entropy"}})
    assert item["loc"] == ["body", "text"]
    assert item["msg"].startswith("at least 2 tokens (characters")
    assert not item["msg"].lower().startswith("text")


def test_one_repeated_character_blames_the_text_not_the_loss(client):
    item = detail(client, {"text": "aaaa", "loss": {"kind": "cross_entropy"}})
    assert item["loc"] == ["body", "text"]
    assert "2 different characters" in item["msg"]
    # Numeric targets of one class are still the loss's.
    item = detail(client, {"inputs": [[1.0], [2.0]], "loss": {"kind": "cross_entropy", "targets": [0, 0]}})
    assert item["loc"][:3] == ["body", "loss", "targets"]


def test_one_value_is_singular(client):
    item = detail(client, {"inputs": [[1.0, 2.0], [3.0]], "loss": {"kind": "dh"}})
    assert item["msg"] == "row 1 of inputs has 1 value; expected 2 like row 0"
    item = detail(client, {"inputs": [[1.0], [3.0, 4.0, 5.0]], "loss": {"kind": "dh"}})
    assert "has 3 values" in item["msg"]
