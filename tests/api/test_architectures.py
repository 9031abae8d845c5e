"""The trace API on the architectures real models use: an embedding, bidirectional layers,
projections, ReLU RNNs and bias-free layers, sent as PyTorch-named weights and checked
against PyTorch autograd through HTTP; the top-k read-out of large heads; the comparison
and training of the new kinds.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import limits

torch = pytest.importorskip("torch")
TORCH_DTYPE = torch.float64  # see tests/conftest.py

MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def post(client, body, endpoint="/api/backward", status=200):
    r = client.post(endpoint, json=body)
    assert r.status_code == status, r.text
    return r.json()


def close(ours, theirs, what: str) -> None:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, what
    scale = max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    assert np.max(np.abs(ours - theirs), initial=0.0) <= 1e-10 * scale, what


def torch_model(cell, vocab, dim, hidden, layers, bidirectional, proj, bias, nonlinearity, outputs, seed):
    torch.manual_seed(seed)
    extra = {"proj_size": proj} if cell == "lstm" else {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    rnn = MODULES[cell](dim, hidden, layers, bias=bias, batch_first=True, bidirectional=bidirectional, **extra)
    emb = torch.nn.Embedding(vocab, dim)
    width = (proj or hidden) * (2 if bidirectional else 1)
    head = torch.nn.Linear(width, outputs)
    return emb, rnn, head


def weights_of(emb, rnn, head) -> dict:
    w = {name: p.detach().numpy().tolist() for name, p in rnn.named_parameters()}
    w["embedding.weight"] = emb.weight.detach().numpy().tolist()
    w["head.weight"] = head.weight.detach().numpy().tolist()
    w["head.bias"] = head.bias.detach().numpy().tolist()
    return w


architectures = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(["lstm", "gru", "rnn"]),
        "vocab": st.integers(2, 9),
        "dim": st.integers(1, 4),
        "hidden": st.integers(2, 5),
        "layers": st.integers(1, 3),
        "bidirectional": st.booleans(),
        "proj": st.integers(0, 1),  # 0 or hidden - 1 (LSTM only)
        "bias": st.booleans(),
        "nonlinearity": st.sampled_from(["tanh", "relu"]),
        "outputs": st.integers(2, 6),
        "steps": st.integers(1, 7),
        "seed": st.integers(0, 2**31),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=architectures)
def test_every_array_and_gradient_through_http_matches_torch(client, s):
    cell = s["cell"]
    proj = s["hidden"] - 1 if cell == "lstm" and s["proj"] else 0
    emb, rnn, head = torch_model(
        cell, s["vocab"], s["dim"], s["hidden"], s["layers"], s["bidirectional"], proj, s["bias"],
        s["nonlinearity"], s["outputs"], s["seed"],
    )  # fmt: skip
    rng = np.random.default_rng(s["seed"])
    ids = rng.integers(0, s["vocab"], s["steps"]).tolist()
    targets = rng.integers(0, s["outputs"], s["steps"]).tolist()
    req = {
        "cell": cell,
        "hidden_size": s["hidden"],
        "num_layers": s["layers"],
        "bidirectional": s["bidirectional"],
        "proj_size": proj,
        "bias": s["bias"],
        "tokens": ids,
        "weights": weights_of(emb, rnn, head),
        "loss": {"kind": "cross_entropy", "targets": targets},
        "full_output": True,
    }
    if cell == "rnn":
        req["nonlinearity"] = s["nonlinearity"]
    body = post(client, req)

    x = emb(torch.tensor(ids))[None]
    x.retain_grad()
    out, _ = rnn(x)
    y = head(out[0])
    loss = torch.nn.functional.cross_entropy(y, torch.tensor(targets))
    loss.backward()

    assert body["bidirectional"] == s["bidirectional"] and body["proj_size"] == proj and body["bias"] == s["bias"]
    assert body["loss"] == pytest.approx(loss.item(), rel=1e-10)
    top = body["layers"][-1]
    assert top["direction"] == ("bidirectional" if s["bidirectional"] else "forward")
    close(top["h"], out[0].detach(), "top layer output")
    close(body["output"]["y"], y.detach(), "head y")
    dirs = ("forward", "reverse") if s["bidirectional"] else (None,)
    for name, p in rnn.named_parameters():
        kind, rest = name.rsplit("_l", 1)
        layer = int(rest.split("_")[0])
        entry = body["layers"][layer]
        if rest.endswith("_reverse"):
            entry = entry["reverse"]
        elif dirs[0] is not None:
            entry = entry["forward"]
        close(entry["grad"][kind], p.grad, name)
    for entry in body["layers"]:
        for d in dirs:
            part = entry if d is None else entry[d]
            assert set(part["grad"]) >= {"weight_ih", "weight_hh"}
            assert ("bias_ih" in part["grad"]) == s["bias"] and ("weight_hr" in part["grad"]) == bool(proj)
    close(body["output"]["grad_head.weight"], head.weight.grad, "head.weight")
    grad_e = np.zeros((s["vocab"], s["dim"]))
    grad_e[body["grad"]["embedding.weight"]["rows"]] = body["grad"]["embedding.weight"]["values"]
    close(grad_e, emb.weight.grad, "embedding.weight")
    assert body["grad"]["embedding.weight"]["rows"] == sorted(set(ids))
    # A bidirectional layer's grad.x is both directions' sum; a forward layer's its own.
    close(body["layers"][0]["grad"]["x"], x.grad[0], "dL/dx at the bottom")


def test_the_reverse_direction_reads_the_sequence_from_its_end(client):
    """Row t of the reverse direction is its state after reading x_{T-1}..x_t; its h_from_next
    at t came from position t-1; and h_from_above + h_from_next is its total dL/dh."""
    body = post(
        client,
        {"cell": "rnn", "hidden_size": 3, "bidirectional": True, "seed": 4, "inputs": [[0.5], [-1.0], [0.25], [2.0]]},
    )
    rev = body["layers"][0]["reverse"]
    again = post(
        client,
        {
            "cell": "rnn",
            "hidden_size": 3,
            "inputs": [[2.0], [0.25], [-1.0], [0.5]],
            "weights": {k.removesuffix("_reverse"): v for k, v in post(
                client,
                {"cell": "rnn", "hidden_size": 3, "bidirectional": True, "seed": 4, "inputs": [[0.0]],
                 "return_params": True},
                endpoint="/api/forward",
            )["params"].items() if k.endswith("_reverse")},
            "loss": {"kind": "dh", "dh": [[1.0] * 3] * 4},
        },
    )  # fmt: skip
    # The reverse direction is a forward RNN over the flipped sequence, its rows flipped back.
    close(rev["h"], np.array(again["layers"][0]["h"])[::-1], "reverse h")
    g = rev["grad"]
    close(np.add(g["h_from_above"], g["h_from_next"]), g["h"], "split of dL/dh")
    assert g["h_from_next"][0] == [0.0, 0.0, 0.0]  # position 0 is the reverse direction's last step
    assert any(v != 0 for v in g["h_from_next"][-1])
    fwd = body["layers"][0]["forward"]["grad"]
    assert fwd["h_from_next"][-1] == [0.0, 0.0, 0.0]


def test_a_large_head_answers_with_top_k_and_the_target_not_the_whole_matrix(client):
    outputs, steps, hidden = limits.TOP_K_FULL_OUTPUTS + 44, 6, 3
    rng = np.random.default_rng(0)
    targets = [5, None, 299, 0, 17, 3]
    req = {
        "hidden_size": hidden,
        "inputs": rng.normal(size=(steps, 2)).tolist(),
        "loss": {"kind": "cross_entropy", "targets": targets, "num_classes": outputs},
        "top_k": 7,
    }
    small = post(client, req)
    assert small["output"]["full"] is False
    assert not {"y", "probs", "grad_y", "grad_head.weight"} & set(small["output"])
    full = post(client, {**req, "full_output": True})
    probs, grad_y = np.array(full["output"]["probs"]), np.array(full["output"]["grad_y"])
    top = small["output"]["top_k"]
    assert np.array(top["ids"]).shape == (steps, 7)
    for t in range(steps):
        order = np.argsort(-probs[t], kind="stable")[:7]
        np.testing.assert_allclose(top["probs"][t], probs[t][order], rtol=1e-14)
        assert probs[t][top["ids"][t]].tolist() == top["probs"][t]
    target = small["output"]["target"]
    assert target["ids"] == [-1 if v is None else v for v in targets]
    for t, v in enumerate(targets):
        if v is None:
            assert target["probs"][t] is None and target["grad_y"][t] is None
        else:
            assert target["probs"][t] == pytest.approx(probs[t, v], rel=1e-14)
            assert target["grad_y"][t] == pytest.approx(grad_y[t, v], rel=1e-14)
    assert len(small["layers"][0]["grad"]["h"]) == steps  # the recurrent part is whole either way


def test_too_many_steps_for_a_large_head_is_refused_with_the_steps_that_fit(client):
    outputs = limits.MAX_OUTPUT_SIZE
    steps = limits.MAX_HEAD_WORK // outputs + 1
    req = {
        "hidden_size": 2,
        "inputs": [[0.0]] * steps,
        "loss": {"kind": "cross_entropy", "targets": [0] * steps, "num_classes": outputs},
    }
    err = post(client, req, status=422)["detail"][0]
    assert err["loc"] == ["body", "inputs"]
    assert f"at most {limits.MAX_HEAD_WORK // outputs} steps" in err["msg"]


@pytest.mark.parametrize(
    "change,loc,words",
    [
        ({"cell": "gru", "proj_size": 2}, "proj_size", "LSTM only"),
        ({"proj_size": 8}, "proj_size", "below hidden_size"),
        ({"merge_mode": "sum"}, "merge_mode", "bidirectional"),
        ({"bias": False, "forget_bias": 1.0}, "forget_bias", "no biases"),
        ({"bidirectional": True, "h0": [[0.0] * 8]}, "h0", "2x8"),
        ({"proj_size": 3, "h0": [[0.0] * 8]}, "h0", "1x3"),
        ({"bidirectional": True, "fields": ["m"]}, "fields", "unknown array 'm'"),
    ],
)
def test_settings_of_the_new_kinds_are_checked_by_name(client, change, loc, words):
    err = post(client, {"hidden_size": 8, "inputs": [[0.1]], **change}, status=422)["detail"][0]
    assert err["loc"][:2] == ["body", loc], err
    assert words in err["msg"], err["msg"]


def test_weights_of_another_architecture_say_which_setting_they_need(client):
    params = post(
        client,
        {"hidden_size": 3, "bidirectional": True, "proj_size": 2, "inputs": [[0.1]], "return_params": True},
        endpoint="/api/forward",
    )["params"]
    err = post(client, {"hidden_size": 3, "inputs": [[0.1]], "weights": params}, status=422)["detail"][0]
    assert "bidirectional" in err["msg"] or "proj_size" in err["msg"], err
    again = post(
        client,
        {"hidden_size": 3, "bidirectional": True, "proj_size": 2, "inputs": [[0.1]], "weights": params},
        endpoint="/api/forward",
    )
    assert again["layers"][0]["forward"]["h"] and len(again["layers"][0]["h"][0]) == 4  # 2 x proj_size
    bias_free = {k: v for k, v in params.items() if not k.startswith("bias")}
    err = post(
        client,
        {"hidden_size": 3, "bidirectional": True, "proj_size": 2, "inputs": [[0.1]], "weights": bias_free},
        status=422,
    )["detail"][0]
    assert "missing bias_ih_l0" in err["msg"]
    post(
        client,
        {"hidden_size": 3, "bidirectional": True, "proj_size": 2, "bias": False, "inputs": [[0.1]],
         "weights": bias_free},
    )  # fmt: skip


@pytest.mark.parametrize(
    "extra",
    [
        {"cell": "lstm", "bidirectional": True, "proj_size": 2, "bias": False},
        {"cell": "gru", "bidirectional": True, "merge_mode": "mul"},
        {"cell": "rnn", "nonlinearity": "relu", "bidirectional": True, "merge_mode": "ave", "num_layers": 2},
    ],
)
def test_the_gradient_check_passes_for_the_new_kinds(client, extra):
    body = post(
        client,
        {"hidden_size": 3, "inputs": [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]], "seed": 2, **extra},
        endpoint="/api/gradcheck",
    )
    assert body["passed"], body
    names = [c["name"] for c in body["checks"]]
    assert "weight_ih_l0_reverse" in names
    assert ("weight_hr_l0" in names) == ("proj_size" in extra)
    assert ("bias_ih_l0" in names) == extra.get("bias", True)


def test_a_bidirectional_comparison_has_a_row_per_layer_and_direction(client):
    steps = 6
    body = post(
        client,
        {"hidden_size": 3, "num_layers": 2, "bidirectional": True, "inputs": [[0.2]] * steps, "seed": 1},
        endpoint="/api/compare",
    )
    assert body["directions"] == ["forward", "reverse"]
    lstm = body["cells"]["lstm"]
    assert np.array(lstm["grad_norm_h"]).shape == (4, steps)
    # The reverse direction's cell path runs from position T-1 down to 0: its product of
    # forget gates is 1 at position 0 (its last step), the forward one's at T-1.
    products = np.array(lstm["forget_product_units"])
    np.testing.assert_array_equal(products[0, -1], 1.0)
    np.testing.assert_array_equal(products[1, 0], 1.0)
    trace = post(
        client, {"hidden_size": 3, "num_layers": 2, "bidirectional": True, "inputs": [[0.2]] * steps, "seed": 1}
    )
    f_rev = np.array(trace["layers"][0]["reverse"]["f"])
    np.testing.assert_allclose(products[1, 3], np.prod(f_rev[:3], axis=0), rtol=1e-12)


def test_an_embedding_lstm_trains_on_text_and_opens_as_a_token_model(client):
    text = "the cat sat on the mat "
    started = post(
        client,
        {"task": "text", "text": text, "embedding_dim": 3, "hidden_size": 6, "steps": 30, "seq_len": 8, "seed": 1},
        endpoint="/api/train",
        status=202,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/api/train/{started['id']}").json()
        if status["state"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", status
    model_id = status["last"]["model_id"]
    body = post(client, {"model_id": model_id, "text": text[:9]})
    assert body["input_size"] == 3 and body["vocab"] == sorted(set(text))
    assert set(body["grad"]) == {"embedding.weight"}
    # The probe is the text's first seq_len characters: the same loss as the run measured.
    assert body["loss"] == pytest.approx(status["last"]["probe_loss"], rel=1e-9)


def test_an_embedding_is_for_the_text_task(client):
    err = post(client, {"task": "sine", "embedding_dim": 3}, endpoint="/api/train", status=422)["detail"][0]
    assert err["loc"] == ["body", "embedding_dim"]


@pytest.mark.parametrize("hidden,steps", [(64, 300), (20, 400), (16, 200)])
def test_a_response_too_large_suggests_a_change_that_fits(client, monkeypatch, hidden, steps):
    monkeypatch.setattr(limits, "MAX_RESPONSE_BYTES", 1024 * 1024)
    body = {"hidden_size": hidden, "inputs": [[0.1]] * steps}
    err = post(client, body, status=413)["detail"][0]
    msg = err["msg"]
    if "over at most" in msg:  # fields, precision and fewer steps
        fit = int(msg.split("over at most ")[1].split(" steps")[0])
        body = {**body, "inputs": [[0.1]] * fit, "fields": ["h", "c"], "precision": 4}
        post(client, {**body, "inputs": [[0.1]] * (fit + 1)}, status=413)
    elif "`fields`" in msg:
        body = {**body, "fields": ["h", "c"], "precision": 4}
    else:
        assert err["loc"] == ["body", "precision"] and "set `precision` to 4" in msg, msg
        body = {**body, "precision": 4}
    r = client.post("/api/backward", json=body)
    assert r.status_code == 200, r.text
    assert len(r.content) <= limits.MAX_RESPONSE_BYTES


@pytest.mark.parametrize(
    "extra",
    [
        {"loss": {"kind": "dh"}},
        {"loss": {"kind": "cross_entropy", "targets": [1, 2, 3, 4]}},
        {"loss": {"kind": "cross_entropy", "targets": [1, 2, 3, 4]}, "full_output": True},
        {"loss": {"kind": "mse", "targets": [[0.5] * 300] * 4}},
        {"bidirectional": True, "proj_size": 3, "loss": {"kind": "cross_entropy", "targets": [1, 2, 3, 4]}},
    ],
)
def test_the_response_size_estimate_bounds_what_is_sent(client, monkeypatch, extra):
    """The size check runs before any maths: a response it lets through is never larger than
    it said, whatever the head, the loss or the architecture (a large head's y included)."""
    from app.api import trace_json

    said = {}
    real = trace_json.estimate_numbers

    def spy(prob, with_grad):
        said["numbers"] = real(prob, with_grad)
        return said["numbers"]

    monkeypatch.setattr(trace_json, "estimate_numbers", spy)
    steps, outputs, hidden = 4, 300, 5
    rng = np.random.default_rng(1)
    weights = {
        "head.weight": rng.normal(size=(outputs, (3 if "proj_size" in extra else hidden) * (2 if "bidirectional" in extra else 1))).tolist(),
        "head.bias": [0.0] * outputs,
    }  # fmt: skip
    base = {"hidden_size": hidden, "inputs": [[0.2]] * steps, "precision": 6}
    params = post(client, {**base, **{k: v for k, v in extra.items() if k != "loss"}, "return_params": True})
    req = {**base, **extra, "weights": {**params["params"], **weights}}
    r = client.post("/api/backward", json=req)
    assert r.status_code == 200, r.text
    assert len(r.content) <= said["numbers"] * limits.bytes_per_number(6)
    sent = r.json()["output"]
    assert ("y" in sent) == ("full_output" in extra or extra["loss"]["kind"] == "mse")


@pytest.mark.parametrize("merge", ["concat", "sum", "ave", "mul"])
def test_a_bidirectional_layer_sends_the_gradient_of_its_merged_output(client, merge):
    """grad.h of a bidirectional layer is dL/d(what it hands up), as PyTorch computes it, in
    every merge mode (the page draws it; nothing is inverted from the directions' shares)."""
    body = post(
        client,
        {"cell": "gru", "hidden_size": 3, "num_layers": 2, "bidirectional": True, "merge_mode": merge,
         "inputs": [[0.3, -0.1], [0.0, 0.5], [0.2, 0.2], [-0.4, 0.1]], "seed": 3, "return_params": True},
    )  # fmt: skip
    w = {k: torch.tensor(v) for k, v in body["params"].items()}
    merged = {
        "concat": lambda f, r: torch.cat([f, r], 1),
        "sum": lambda f, r: f + r,
        "ave": lambda f, r: (f + r) / 2,
        "mul": lambda f, r: f * r,
    }[merge]
    x = torch.tensor([[0.3, -0.1], [0.0, 0.5], [0.2, 0.2], [-0.4, 0.1]])
    outs = []
    for k in range(2):
        dirs = []
        for d, suffix in enumerate(("", "_reverse")):
            cell = torch.nn.GRU(x.shape[1], 3, batch_first=True)
            with torch.no_grad():
                for name, p in cell.named_parameters():
                    p.copy_(w[name.replace("_l0", f"_l{k}") + suffix])
            seq = x if d == 0 else x.flip(0)
            out, _ = cell(seq[None])
            dirs.append(out[0] if d == 0 else out[0].flip(0))
        x = merged(*dirs)
        x.retain_grad()
        outs.append(x)
    x.sum().backward()  # the default loss: dh of ones on the top output
    for k in range(2):
        close(body["layers"][k]["h"], outs[k].detach(), f"layer {k} output")
        close(body["layers"][k]["grad"]["h"], outs[k].grad, f"layer {k} dL/d(merged output)")


def test_a_response_too_large_for_its_full_head_suggests_leaving_out_full_output(client, monkeypatch):
    monkeypatch.setattr(limits, "MAX_RESPONSE_BYTES", 256 * 1024)
    outputs, steps = 2000, 30
    req = {
        "hidden_size": 4,
        "inputs": [[0.1]] * steps,
        "loss": {"kind": "cross_entropy", "targets": [1] * steps, "num_classes": outputs},
        "full_output": True,
    }
    err = post(client, req, status=413)["detail"][0]
    assert err["loc"] == ["body", "full_output"] and "top-5" in err["msg"], err
    r = client.post("/api/backward", json={**req, "full_output": False})
    assert r.status_code == 200 and len(r.content) <= limits.MAX_RESPONSE_BYTES
