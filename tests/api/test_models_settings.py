"""Uploads whose settings the file cannot carry: read, given in the form, or refused by name.

Every model here is a real torch module saved by torch.save (read without running code); the
app's answers are checked against the same module in torch, float64.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from app import parity
from app.model_settings import RunConfig
from app.model_source import ModelSource

torch = pytest.importorskip("torch")
TORCH_DTYPE = torch.float64  # see tests/conftest.py
nn = torch.nn


def saved(module: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getvalue()


def upload(client, data: bytes, filename: str = "m.pt", **form):
    return client.post("/api/models", files={"file": (filename, data)}, data=form)


def created(client, data: bytes, filename: str = "m.pt", **form) -> dict:
    r = upload(client, data, filename, **form)
    assert r.status_code == 201, r.text
    return r.json()


def refused(client, data: bytes, field: str, match: str, **form) -> str:
    r = upload(client, data, **form)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"][-1] == field or field in detail["loc"], detail
    assert match in detail["msg"], detail["msg"]
    return detail["msg"]


class Tagger(nn.Module):
    """nn.Embedding -> RNN -> nn.Linear, the usual text model."""

    def __init__(self, cell: str, vocab: int, dim: int, hidden: int, out: int, layers: int = 1, **kw):
        super().__init__()
        torch.manual_seed(len(cell) + vocab + out)
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](dim, hidden, num_layers=layers, **kw)
        self.fc = nn.Linear(hidden, out)

    def forward(self, ids):
        out, _ = self.rnn(self.embed(ids))
        return out, self.fc(out)


def test_a_relu_rnn_state_dict_is_refused_until_its_nonlinearity_is_given(client):
    torch.manual_seed(3)
    rnn = nn.RNN(3, 5, num_layers=2, nonlinearity="relu")
    data = saved(rnn)
    msg = refused(client, data, "nonlinearity", "tanh or relu")
    assert "give nonlinearity" in msg

    model = created(client, data, nonlinearity="relu")
    assert model["config"]["nonlinearity"] == "relu" and model["source"]["given"] == {"nonlinearity": "relu"}
    x = np.random.default_rng(0).normal(size=(7, 3))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt)
    out.sum().backward()
    body = client.post("/api/backward", json={"model_id": model["id"], "inputs": x.tolist()}).json()
    np.testing.assert_allclose(body["layers"][1]["h"], out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(body["layers"][0]["grad"]["x"], xt.grad.numpy(), rtol=1e-12, atol=1e-13)
    for k in range(2):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            ref = getattr(rnn, f"{kind}_l{k}").grad.numpy()
            np.testing.assert_allclose(body["layers"][k]["grad"][kind], ref, rtol=1e-12, atol=1e-13)
    # The same file read as tanh is a different model: given, it is what runs.
    tanh = created(client, data, nonlinearity="tanh")
    other = client.post("/api/forward", json={"model_id": tanh["id"], "inputs": x.tolist()}).json()
    assert not np.allclose(other["layers"][1]["h"], body["layers"][1]["h"])


def test_nonlinearity_on_an_lstm_is_refused(client):
    refused(client, saved(nn.LSTM(2, 3)), "nonlinearity", "applies to an RNN", nonlinearity="relu")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_an_embedding_model_reads_token_ids_and_text_through_its_vocabulary(client, cell):
    """The vocabulary is in the model's order (not sorted): text is encoded with it, never re-sorted."""
    vocab = list("hleo wrd")  # deliberately not sorted(set(text))
    net = Tagger(cell, len(vocab), 3, 4, len(vocab), layers=2, **({"nonlinearity": "tanh"} if cell == "rnn" else {}))
    form = {"vocab": "".join(vocab)} | ({"nonlinearity": "tanh"} if cell == "rnn" else {})
    model = created(client, saved(net), **form)
    assert model["config"]["input_kind"] == "tokens" and model["vocab_size"] == len(vocab)
    assert model["vocab"] == vocab and model["config"]["output_kind"] == "logits"
    assert any(m["source"] == "embed.weight" and m["target"] == "embedding.weight" for m in model["mapping"])

    text = "hello world"
    ids = torch.tensor([vocab.index(ch) for ch in text])
    _out, y = net(ids[:-1])
    loss = nn.functional.cross_entropy(y, ids[1:])
    loss.backward()
    body = client.post("/api/backward", json={"model_id": model["id"], "text": text}).json()
    assert body["tokens"] == list(text) and body["vocab"] == vocab and body["input_size"] == 3
    assert body["loss"] == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(body["layers"][0]["x"], net.embed(ids[:-1]).detach().numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(body["output"]["y"], y.detach().numpy(), rtol=1e-12, atol=1e-13)
    grad = body["grad"]["embedding.weight"]
    dense = np.zeros((len(vocab), 3))
    dense[grad["rows"]] = grad["values"]
    np.testing.assert_allclose(dense, net.embed.weight.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(body["output"]["grad_head.weight"], net.fc.weight.grad.numpy(), rtol=1e-11, atol=1e-13)

    # Token ids: every id is a step; the default target is the next id (the last step unscored).
    r = client.post("/api/forward", json={"model_id": model["id"], "tokens": ids.tolist()})
    assert r.status_code == 200, r.text
    _out_all, y_all = net(ids)
    np.testing.assert_allclose(r.json()["output"]["y"], y_all.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(r.json()["output"]["probs"], torch.softmax(y_all, -1).detach().numpy(), atol=1e-13)

    r = client.post("/api/forward", json={"model_id": model["id"], "text": "hello, world"})
    assert r.status_code == 422 and "','" in r.json()["detail"][0]["msg"]
    r = client.post("/api/forward", json={"model_id": model["id"], "tokens": [0, len(vocab)]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == 1
    r = client.post("/api/forward", json={"model_id": model["id"], "inputs": [[0.0, 1.0, 2.0]]})
    assert r.status_code == 422 and "token ids" in r.json()["detail"][0]["msg"]


def char_model(seed: int) -> tuple[nn.LSTM, nn.Linear, bytes]:
    """A one-hot character model of 3 tokens (LSTM + Linear), saved as one state dict."""
    torch.manual_seed(seed)
    rnn, fc = nn.LSTM(3, 4), nn.Linear(4, 3)
    buf = io.BytesIO()
    torch.save(
        {"lstm." + k: v for k, v in rnn.state_dict().items()} | {"fc." + k: v for k, v in fc.state_dict().items()}, buf
    )
    return rnn, fc, buf.getvalue()


def test_a_one_hot_character_model_uses_its_own_vocabulary_order(client):
    """A state dict of a character model whose vocabulary is not sorted: text follows the given order."""
    vocab = ["b", "a", "c"]
    rnn, fc, data = char_model(5)
    model = created(client, data, vocab=json.dumps(vocab))
    assert model["config"]["input_kind"] == "onehot"
    x = torch.eye(3)[[vocab.index(ch) for ch in "abca"]]
    out, _ = rnn(x)
    body = client.post("/api/forward", json={"model_id": model["id"], "text": "abcab"}).json()
    np.testing.assert_allclose(body["output"]["y"], fc(out).detach().numpy(), rtol=1e-12, atol=1e-13)


def test_a_saved_model_without_a_vocabulary_refuses_text_rather_than_guessing_its_order(client):
    torch.manual_seed(1)
    model = created(client, saved(nn.LSTM(3, 4)))
    r = client.post("/api/forward", json={"model_id": model["id"], "text": "abcab"})
    assert r.status_code == 422 and "no vocabulary" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("form", "field", "match"),
    [
        ({"vocab": "abcd"}, "vocab", "takes 3 inputs"),
        ({"vocab": "aab"}, "vocab", "twice"),
        ({"vocab": '["a", 1, "b"]'}, "vocab", "list of strings"),
        ({"output": "probabilities"}, "output", "logits or values"),
        ({"labels": '["x", "y"]'}, "labels", "no head"),
    ],
)
def test_settings_that_do_not_fit_the_model_are_refused_by_field(client, form, field, match):
    torch.manual_seed(1)
    refused(client, saved(nn.GRU(3, 4)), field, match, **form)


def test_forward_on_a_model_with_a_head_answers_y_without_a_loss(client):
    torch.manual_seed(2)
    rnn, fc = nn.GRU(2, 3), nn.Linear(3, 2)
    data = io.BytesIO()
    torch.save(
        {"gru." + k: v for k, v in rnn.state_dict().items()} | {"out." + k: v for k, v in fc.state_dict().items()}, data
    )
    model = created(client, data.getvalue(), output="values", labels='["low", "high"]')
    assert model["config"]["labels"] == ["low", "high"] and model["source"]["assumed"] == {}
    x = np.random.default_rng(4).normal(size=(6, 2))
    body = client.post("/api/forward", json={"model_id": model["id"], "inputs": x.tolist()}).json()
    out, _ = rnn(torch.from_numpy(x))
    np.testing.assert_allclose(body["output"]["y"], fc(out).detach().numpy(), rtol=1e-12, atol=1e-13)
    assert body["output"].get("probs") is None  # values, not logits

    assumed = created(client, data.getvalue())
    assert assumed["config"]["output_kind"] == "values" and "output" in assumed["source"]["assumed"]


def test_parity_with_pytorch_is_recorded_and_shown(client):
    torch.manual_seed(7)
    net = Tagger("lstm", 6, 3, 4, 6, layers=2)
    model = created(client, saved(net), vocab="abcdef")
    check = model["parity"]
    assert check["checked"] and check["framework"] == "pytorch" and check["probe_steps"] == parity.PROBE_STEPS
    assert check["compared"] == "probs" and check["max_abs_diff"] <= 1e-12 and check["matches"] is True
    assert check["summary"].startswith("matches PyTorch to ")
    again = client.get(f"/api/models/{model['id']}").json()
    assert again["parity"] == check and again["source"]["framework"] == "pytorch"
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert listed[model["id"]]["parity"]["checked"]


def test_parity_says_why_when_the_framework_is_missing(monkeypatch):
    real = parity.importlib.util.find_spec
    monkeypatch.setattr(parity.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    params = {k: v.detach().numpy() for k, v in nn.LSTM(2, 3).state_dict().items()}
    source = ModelSource(params, "pytorch", "pytorch", "pt")
    check = parity.check(source, b"", "lstm", params, 1, RunConfig())
    assert check == {"checked": False, "framework": "pytorch", "reason": "not checked: torch is not installed"}


def gru_checked_against(monkeypatch, change) -> dict:
    """The parity check of a small GRU, with PyTorch's answer passed through `change` first."""
    params = {k: v.detach().numpy() for k, v in nn.GRU(2, 3).state_dict().items()}
    real = parity.RUNNERS["pytorch"]

    def changed(*args):
        out, what = real(*args)
        return change(out.copy()), what

    monkeypatch.setitem(parity.RUNNERS, "pytorch", changed)
    return parity.check(ModelSource(params, "pytorch", "pytorch", "pt"), b"", "gru", params, 1, RunConfig())


def test_parity_catches_a_wrong_number(monkeypatch):
    """A framework that disagrees is reported with the size of the disagreement, not hidden."""
    check = gru_checked_against(monkeypatch, lambda out: out + 1e-3)
    assert check["checked"] and check["max_abs_diff"] == pytest.approx(1e-3, rel=1e-6)
    assert check["matches"] is False and parity.describe(check).startswith("does NOT match PyTorch")


def test_an_overflowing_framework_is_a_mismatch_not_a_perfect_match(monkeypatch):
    def overflowing(out):
        out[3, 1] = np.inf
        return out

    check = gru_checked_against(monkeypatch, overflowing)
    assert check["checked"] and check["matches"] is False and check["max_abs_diff"] is None
    assert "inf or NaN" in check["reason"] and "does NOT match" in parity.describe(check)


@pytest.mark.parametrize(("steps", "batch"), [(10_000_000, 1), (-5, 1), (5, 2_000_000)])
def test_a_probe_size_the_file_fixes_is_bounded(steps, batch):
    params = {k: v.detach().numpy() for k, v in nn.GRU(2, 3).state_dict().items()}
    source = ModelSource(params, "onnx", "onnx", "onnx", probe={"steps": steps, "batch": batch})
    check = parity.check(source, b"", "gru", params, 1, RunConfig())
    assert check["checked"] is False and "the probe runs" in check["reason"]


def test_a_bf16_safetensors_file_opens(client):
    from safetensors.torch import save

    torch.manual_seed(0)
    rnn = nn.LSTM(2, 3).to(torch.bfloat16)
    model = created(client, save(rnn.state_dict()), "m.safetensors")
    r = client.get(f"/api/models/{model['id']}/export?format=json")
    back = r.json()
    np.testing.assert_array_equal(back["weight_hh_l0"], rnn.weight_hh_l0.detach().double().numpy())


def test_a_json_upload_may_carry_its_vocabulary(client):
    torch.manual_seed(0)
    rnn = nn.LSTM(3, 2)
    body = {"tensors": {k: v.tolist() for k, v in rnn.state_dict().items()}, "vocab": ["z", "y", "x"]}
    model = created(client, json.dumps(body).encode(), "m.json")
    assert model["vocab"] == ["z", "y", "x"] and model["config"]["input_kind"] == "onehot"


def test_compare_scores_a_saved_character_model_through_its_own_vocabulary(client):
    """The last step's target is the last character's index in the model's order, not sorted order."""
    vocab = ["c", "a", "b"]
    rnn, fc, data = char_model(6)
    model = created(client, data, vocab=json.dumps(vocab))
    text = "abcab"
    r = client.post("/api/compare", json={"model_id": model["id"], "text": text})
    assert r.status_code == 200, r.text
    x = torch.eye(3)[[vocab.index(ch) for ch in text[:-1]]]
    y = fc(rnn(x)[0])
    expected = nn.functional.cross_entropy(y[-1:], torch.tensor([vocab.index("b")]))
    assert r.json()["cells"]["lstm"]["loss"] == pytest.approx(expected.item(), rel=1e-12)


def test_compare_refuses_a_token_model_by_name(client):
    net = Tagger("gru", 5, 3, 4, 5)
    model = created(client, saved(net), vocab="abcde")
    r = client.post("/api/compare", json={"model_id": model["id"], "text": "abcab"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "model_id"
    assert "token ids" in r.json()["detail"][0]["msg"]


def test_an_old_keras_is_not_used_to_load_an_uploaded_file(monkeypatch):
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "3.10.0" if name == "keras" else real(name))
    params = {k: v.detach().numpy() for k, v in nn.LSTM(2, 3).state_dict().items()}
    source = ModelSource(params, "keras", "keras", "keras", configured=True)
    check = parity.check(source, b"", "lstm", params, 1, RunConfig())
    assert check["checked"] is False and "keras 3.10.0 is older than 3.11.3" in check["reason"]


def test_odd_vocabularies_and_token_lists_are_refused_by_field(client):
    net = Tagger("gru", 3, 2, 3, 3)
    deep = "[" * 5000 + "]" * 5000
    r = upload(client, saved(net), vocab=deep)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "vocab"
    model = created(client, saved(net), vocab="abc")
    for endpoint in ("forward", "backward", "gradcheck"):
        r = client.post(f"/api/{endpoint}", json={"model_id": model["id"], "tokens": []})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "tokens", (endpoint, r.text)
    # A vocabulary inside a JSON weight file passes the form field's checks too.
    body = {"tensors": {k: v.tolist() for k, v in nn.LSTM(3, 2).state_dict().items()}, "vocab": ["a", "b", "a"]}
    r = upload(client, json.dumps(body).encode(), "m.json")
    assert r.status_code == 422 and "twice" in r.json()["detail"][0]["msg"]


def test_a_large_embedding_model_traces_backward_within_the_response_budget(client):
    """dL/dE is sent for the rows read, so the table's size does not count against the response."""
    torch.manual_seed(0)
    net = Tagger("lstm", 50_000, 128, 8, 4).float()  # 6.4M numbers: over 64 MiB if all were sent
    model = created(client, saved(net))
    r = client.post("/api/backward", json={"model_id": model["id"], "tokens": [5, 49_999, 5], "precision": 3})
    assert r.status_code == 200, r.text
    assert r.json()["grad"]["embedding.weight"]["rows"] == [5, 49_999]


def test_the_request_may_ask_for_a_relu_rnn(client):
    """`nonlinearity` in a trace request: relu for a model made for the request; refused where it cannot act."""
    torch.manual_seed(8)
    rnn = nn.RNN(2, 3, num_layers=2, nonlinearity="relu")
    weights = {k: v.tolist() for k, v in rnn.state_dict().items()}
    x = np.random.default_rng(3).normal(size=(5, 2))
    req = {"cell": "rnn", "hidden_size": 3, "num_layers": 2, "weights": weights, "inputs": x.tolist()}
    body = client.post("/api/backward", json=req | {"nonlinearity": "relu"}).json()
    xt = torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt)
    out.sum().backward()
    np.testing.assert_allclose(body["layers"][1]["h"], out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(body["layers"][0]["grad"]["x"], xt.grad.numpy(), rtol=1e-12, atol=1e-13)
    tanh = client.post("/api/forward", json=req).json()  # the default stays tanh
    assert not np.allclose(tanh["layers"][1]["h"], body["layers"][1]["h"])

    r = client.post("/api/forward", json={"cell": "lstm", "inputs": x.tolist(), "nonlinearity": "relu"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "nonlinearity"
    model = created(client, saved(rnn), nonlinearity="relu")
    r = client.post("/api/forward", json={"model_id": model["id"], "inputs": x.tolist(), "nonlinearity": "tanh"})
    assert r.status_code == 422 and "computes relu" in r.json()["detail"][0]["msg"]
    r = client.post("/api/compare", json={"inputs": x.tolist(), "hidden_size": 3, "nonlinearity": "relu"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_bias_free_pytorch_rnn_opens_with_exact_numbers(client, cell):
    """nn.LSTM(bias=False) has no bias tensors at all, and none are made up: the saved model has none
    (not zeros, which could be trained), says so, and computes as PyTorch does, gradients and all."""
    torch.manual_seed(9)
    rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](3, 4, num_layers=2, bias=False)
    model = created(client, saved(rnn))
    assert not any("bias" in m["target"] for m in model["mapping"]) and model["parity"]["matches"]
    assert model["architecture"] == {"bidirectional": False, "proj_size": 0, "bias": False, "merge_mode": "concat"}
    listed = next(m for m in client.get("/api/models").json()["models"] if m["id"] == model["id"])
    assert listed["architecture"]["bias"] is False
    exported = client.get(f"/api/models/{model['id']}/export", params={"format": "json"}).json()
    assert not any(name.startswith("bias") for name in exported)
    x = np.random.default_rng(2).normal(size=(5, 3))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt)
    out.sum().backward()
    body = client.post("/api/backward", json={"model_id": model["id"], "inputs": x.tolist()}).json()
    np.testing.assert_allclose(body["layers"][1]["h"], out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(body["layers"][0]["grad"]["x"], xt.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(body["layers"][1]["grad"]["weight_hh"], rnn.weight_hh_l1.grad.numpy(), rtol=1e-12)
    # One layer's biases without the other's is a broken file, not a bias-free model.
    with_biases = nn.LSTM(3, 4, num_layers=2)
    sd = {k: v for k, v in with_biases.state_dict().items() if k not in ("bias_ih_l1", "bias_hh_l1")}
    buf = io.BytesIO()
    torch.save(sd, buf)
    r = upload(client, buf.getvalue())
    assert r.status_code == 422 and "bias_ih_l1" in r.json()["detail"][0]["msg"]
