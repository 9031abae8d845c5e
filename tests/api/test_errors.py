"""Bad input gets a 4xx that names the field and says what was expected; never a 500."""

from __future__ import annotations

import pytest

from app import limits

BASE = {"cell": "lstm", "hidden_size": 3, "inputs": [[0.1, 0.2], [0.3, -0.4], [0.0, 1.0]]}


def weights(cell="lstm", hidden=3, inputs=2, layers=1, blocks=4):
    out = {}
    for k in range(layers):
        d = inputs if k == 0 else hidden
        out[f"weight_ih_l{k}"] = [[0.1] * d for _ in range(blocks * hidden)]
        out[f"weight_hh_l{k}"] = [[0.1] * hidden for _ in range(blocks * hidden)]
        out[f"bias_ih_l{k}"] = [0.0] * (blocks * hidden)
        out[f"bias_hh_l{k}"] = [0.0] * (blocks * hidden)
    return out


def error_of(client, body, status=422, endpoint="/api/backward"):
    r = client.post(endpoint, json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert item["msg"]
    return detail[0]


CASES = {
    # name: (body changes, expected loc prefix, words expected in the message)
    "ragged inputs": ({"inputs": [[0.1, 0.2], [0.3]]}, ["body", "inputs", 1], "expected 2"),
    "empty inputs": ({"inputs": []}, ["body", "inputs"], "empty"),
    "empty rows": ({"inputs": [[], []]}, ["body", "inputs", 0], "at least one"),
    "hidden size too big": ({"hidden_size": limits.MAX_HIDDEN + 1}, ["body", "hidden_size"], str(limits.MAX_HIDDEN)),
    "hidden size zero": ({"hidden_size": 0}, ["body", "hidden_size"], "1"),
    "too many layers": ({"num_layers": limits.MAX_LAYERS + 1}, ["body", "num_layers"], "4"),
    "hidden size as bool": ({"hidden_size": True}, ["body", "hidden_size"], "integer"),
    "hidden size as float": ({"hidden_size": 3.5}, ["body", "hidden_size"], "integer"),
    "unknown cell": ({"cell": "transformer"}, ["body", "cell"], "lstm"),
    "unknown field": ({"hiden_size": 3}, ["body", "hiden_size"], "not permitted"),
    "both inputs and text": ({"text": "hello"}, ["body", "inputs"], "exactly one"),
    "neither inputs nor text": ({"inputs": None}, ["body", "inputs"], "exactly one"),
    "text too short": ({"inputs": None, "text": "a"}, ["body", "text"], "2 tokens (characters"),
    "text too long": ({"inputs": None, "text": "ab" * limits.MAX_STEPS}, ["body", "text"], "at most"),
    "too many steps": ({"inputs": [[0.1]] * (limits.MAX_STEPS + 1)}, ["body", "inputs"], "over by 1"),
    "too wide inputs": ({"inputs": [[0.1] * (limits.MAX_INPUT_SIZE + 1)]}, ["body", "inputs", 0], "over by 1"),
    "boolean in inputs": ({"inputs": [[0.1, True], [0.3, -0.4], [0.0, 1.0]]}, ["body", "inputs", 0, 1], "number"),
    "string in inputs": ({"inputs": [[0.1, "x"], [0.3, -0.4], [0.0, 1.0]]}, ["body", "inputs", 0, 1], "number"),
    "h0 wrong shape": ({"h0": [[0.0, 0.0]]}, ["body", "h0"], "expected 1x3"),
    "c0 for a gru": ({"cell": "gru", "c0": [[0.0, 0.0, 0.0]]}, ["body", "c0"], "LSTM only"),
    "forget bias for an rnn": ({"cell": "rnn", "forget_bias": 1.0}, ["body", "forget_bias"], "LSTM only"),
    "forget bias out of range": ({"forget_bias": 1000.0}, ["body", "forget_bias"], "100"),
    "dh wrong shape": ({"loss": {"kind": "dh", "dh": [[1.0, 1.0]] * 3}}, ["body", "loss", "dh"], "expected 3x3"),
    "unknown loss": ({"loss": {"kind": "hinge"}}, ["body", "loss"], "dh"),
    "mse wrong steps": ({"loss": {"kind": "mse", "targets": [[1.0]] * 2}}, ["body", "loss", "targets"], "expected 3x1"),
    "mse ragged": (
        {"loss": {"kind": "mse", "targets": [[1.0], [1.0, 2.0], [1.0]]}},
        ["body", "loss", "targets", 1],
        "expected 1",
    ),
    "mse all null": ({"loss": {"kind": "mse", "targets": [[None]] * 3}}, ["body", "loss", "targets"], "null"),
    "ce wrong length": (
        {"loss": {"kind": "cross_entropy", "targets": [0, 1]}},
        ["body", "loss", "targets"],
        "one per step (3)",
    ),
    "ce out of range": (
        {"loss": {"kind": "cross_entropy", "targets": [0, 1, 5], "num_classes": 3}},
        ["body", "loss", "targets", 2],
        "0..2",
    ),
    "ce negative": (
        {"loss": {"kind": "cross_entropy", "targets": [0, -1, 1]}},
        ["body", "loss", "targets", 1],
        "greater than or equal to 0",
    ),
    "ce huge": (
        {"loss": {"kind": "cross_entropy", "targets": [0, 10**30, 1]}},
        ["body", "loss", "targets", 1],
        f"less than {limits.MAX_OUTPUT_SIZE}",
    ),
    "ce without targets": ({"loss": {"kind": "cross_entropy"}}, ["body", "loss", "targets"], "needs targets"),
    "precision zero": ({"precision": 0}, ["body", "precision"], "1"),
    "unknown field name": ({"fields": ["h", "q"]}, ["body", "fields", 1], "unknown array 'q'"),
    "gru has no c": ({"cell": "gru", "fields": ["c"]}, ["body", "fields", 0], "unknown array 'c'"),
    "seed negative": ({"seed": -1}, ["body", "seed"], "0"),
}


@pytest.mark.parametrize("change,loc,words", CASES.values(), ids=CASES.keys())
def test_bad_request_names_the_field(client, change, loc, words):
    body = {**BASE, **change}
    body = {k: v for k, v in body.items() if v is not None}
    err = error_of(client, body)
    assert err["loc"][: len(loc)] == loc, err
    assert words in err["msg"], err["msg"]


@pytest.mark.parametrize("endpoint", ["/api/forward", "/api/backward", "/api/gradcheck"])
def test_every_trace_endpoint_validates_the_same_way(client, endpoint):
    err = error_of(client, {**BASE, "inputs": [[0.1, 0.2], [0.3]]}, endpoint=endpoint)
    assert err["loc"] == ["body", "inputs", 1]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(client, literal):
    raw = '{"hidden_size": 2, "inputs": [[0.5], [' + literal + "]]}"
    r = client.post("/api/forward", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "inputs", 1, 0]
    assert "finite" in r.json()["detail"][0]["msg"]


def test_weights_of_the_wrong_shape_name_the_tensor_and_the_expected_shape(client):
    w = weights()
    w["weight_hh_l0"] = [[0.1] * 3 for _ in range(9)]
    err = error_of(client, {**BASE, "weights": w})
    assert err["loc"] == ["body", "weights", "weight_hh_l0"]
    assert "9x3" in err["msg"] and "expected 12x3" in err["msg"] and "i,f,g,o" in err["msg"]


def test_missing_and_unknown_weights(client):
    w = weights()
    del w["bias_hh_l0"]
    err = error_of(client, {**BASE, "weights": w})
    assert err["loc"] == ["body", "weights"] and "bias_hh_l0" in err["msg"]
    w = weights()
    w["weight_ih_l1"] = [[0.0]]
    err = error_of(client, {**BASE, "weights": w})
    assert err["loc"] == ["body", "weights", "weight_ih_l1"] and "unknown tensor" in err["msg"]


def test_head_of_the_wrong_shape(client):
    w = weights() | {"head.weight": [[0.1] * 3] * 2, "head.bias": [0.0, 0.0]}
    body = {**BASE, "weights": w, "loss": {"kind": "mse", "targets": [[1.0, 2.0, 3.0]] * 3}}
    err = error_of(client, body)
    assert err["loc"][:3] == ["body", "weights", "head.weight"]


def test_weights_given_for_the_wrong_cell(client):
    err = error_of(client, {**BASE, "cell": "gru", "weights": weights()})
    assert err["loc"][:2] == ["body", "weights"] and "expected 9x2" in err["msg"]


def test_work_limit_says_by_how_much(client):
    body = {"hidden_size": 512, "num_layers": 4, "bidirectional": True, "inputs": [[0.0]] * 1000}
    err = error_of(client, body)
    assert err["loc"] == ["body", "hidden_size"]
    assert f"at most {limits.MAX_WORK}" in err["msg"] and "over by" in err["msg"]


def test_response_size_limit_is_413_and_suggests_precision(client):
    body = {"hidden_size": 256, "inputs": [[0.0]] * 1000}
    err = error_of(client, body, status=413)
    # At 4 digits it would still be over: the arrays to ask for, with the precision, are named.
    assert err["loc"] == ["body", "fields"] and "MiB" in err["msg"] and "`precision` 4" in err["msg"]


def test_gradcheck_cost_limit(client):
    err = error_of(client, {"hidden_size": 64, "text": "hello world " * 10}, endpoint="/api/gradcheck")
    assert "cost" in err["msg"] and "over by" in err["msg"]


def test_overflow_is_a_clear_error_not_null(client):
    w = weights()
    w["weight_ih_l0"] = [[1e300, 1e300] for _ in range(12)]
    body = {**BASE, "inputs": [[1e300, 1e300], [1.0, -1e300], [0.0, 1.0]], "weights": w}
    err = error_of(client, body)
    assert "overflow" in err["msg"]


def test_malformed_json(client):
    r = client.post("/api/backward", content=b'{"hidden_size": 3,', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_body_over_the_size_limit_is_413(client):
    rows = b"[0.1]," * (limits.MAX_BODY_BYTES // 6 + 10)
    r = client.post(
        "/api/forward", content=b'{"inputs": [' + rows + b"[0.1]]}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def post_raw(client, raw: bytes, endpoint: str = "/api/backward"):
    return client.post(endpoint, content=raw, headers={"content-type": "application/json"})


SURROGATES = {
    # name: (endpoint, raw body, loc)
    "in a text": ("/api/backward", rb'{"text": "ab\ud800"}', ["body", "text"]),
    "in a literal field": ("/api/backward", rb'{"text": "ab", "cell": "\udfff"}', ["body", "cell"]),
    "in a list": ("/api/backward", rb'{"text": "ab", "fields": ["h", "\ud800x"]}', ["body", "fields", 1]),
    "in a key": ("/api/backward", rb'{"text": "ab", "\ud800": 1}', ["body"]),
    "in a training text": ("/api/train", rb'{"text": "ab\ud800cd", "steps": 1}', ["body", "text"]),
    "in a comparison": ("/api/compare", rb'{"text": "ab", "cells": ["\ud800"]}', ["body", "cells", 0]),
}


@pytest.mark.parametrize("endpoint,raw,loc", SURROGATES.values(), ids=SURROGATES.keys())
def test_a_lone_surrogate_is_named_not_echoed(client, endpoint, raw, loc):
    r = post_raw(client, raw, endpoint)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == loc and "surrogate" in detail["msg"] and "input" not in detail
    r.content.decode("utf-8")  # the error body itself is valid UTF-8


def test_a_surrogate_pair_is_a_character(client):
    r = post_raw(client, rb'{"text": "ab\ud83d\ude00", "hidden_size": 2}')
    assert r.status_code == 200 and r.json()["tokens"] == ["a", "b", "\U0001f600"]


BIG_INTS = {
    "over Python's 4300-digit limit": ("1" + "0" * 5000, ["body", "hidden_size"]),
    "beyond float64 in a number field": ("1" + "0" * 400, ["body", "forget_bias"]),
    "negative and long": ("-1" + "0" * 5000, ["body", "seed"]),
}


@pytest.mark.parametrize("digits,loc", BIG_INTS.values(), ids=BIG_INTS.keys())
def test_huge_integers_name_their_field(client, digits, loc):
    raw = '{"text": "ab", "' + loc[-1] + '": ' + digits + "}"
    r = post_raw(client, raw.encode())
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == loc and len(r.content) < 2000  # the number is not echoed back


def test_errors_are_json_even_when_a_message_quotes_unencodable_text(client):
    # A surrogate can arrive other than in a body (a query value, a filename): the error
    # answer must still be encodable.
    import asyncio

    from app.api.errors import FieldError, field_error_handler

    response = asyncio.run(field_error_handler(None, FieldError(("query", "x"), "bad \ud800 value")))
    assert response.status_code == 422 and "bad" in response.body.decode("utf-8")
