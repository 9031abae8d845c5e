"""The model store over HTTP: import in every layout and format, export, traces by model_id."""

from __future__ import annotations

import io
import json
import zlib

import numpy as np
import pytest

from app import limits, model_files
from app.nn import layouts
from app.nn import params as P

torch = pytest.importorskip("torch")
TORCH_DTYPE = torch.float64  # see tests/conftest.py


def upload(client, filename: str, data: bytes, **form):
    return client.post("/api/models", files={"file": (filename, data)}, data=form)


def uploaded(client, filename: str, data: bytes, **form) -> dict:
    r = upload(client, filename, data, **form)
    assert r.status_code == 201, r.text
    return r.json()


def torch_lstm_file(fmt: str):
    """A real torch.nn.LSTM (2 layers) + nn.Linear state dict, saved without pickle."""
    torch.manual_seed(0)
    rnn, head = torch.nn.LSTM(3, 4, num_layers=2), torch.nn.Linear(4, 2)
    sd = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    sd |= {"head.weight": head.weight.detach().numpy(), "head.bias": head.bias.detach().numpy()}
    return rnn, head, model_files.write(sd, fmt)


@pytest.mark.parametrize("fmt", model_files.FORMATS)
def test_a_real_pytorch_model_traces_like_pytorch(client, fmt):
    rnn, head, data = torch_lstm_file(fmt)
    model = uploaded(client, f"torch.{fmt}", data)
    assert (model["cell"], model["num_layers"], model["hidden_size"], model["output_size"]) == ("lstm", 2, 4, 2)
    assert model["layout"] == "pytorch" and any(m["target"] == "weight_hh_l1" for m in model["mapping"])

    x = np.random.default_rng(1).normal(size=(5, 3))
    targets = np.random.default_rng(2).normal(size=(5, 2))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt)
    loss = ((head(out) - torch.tensor(targets)) ** 2).mean()
    loss.backward()

    req = {"model_id": model["id"], "inputs": x.tolist(), "loss": {"kind": "mse", "targets": targets.tolist()}}
    r = client.post("/api/backward", json=req)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["loss"] == pytest.approx(loss.item(), abs=1e-12)
    np.testing.assert_allclose(body["layers"][1]["h"], out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(body["layers"][0]["grad"]["x"], xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        body["layers"][0]["grad"]["weight_hh"], rnn.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(body["output"]["grad_head.weight"], head.weight.grad.numpy(), rtol=0, atol=1e-12)


CASES = [
    (cell, layout, fmt)
    for cell in ("lstm", "gru", "rnn")
    for layout in layouts.LAYOUTS
    for fmt in model_files.FORMATS
    if cell in layouts.BLOCK_ORDER[layout]
]


@pytest.mark.parametrize("cell,layout,fmt", CASES)
def test_round_trip_in_every_layout_and_format(client, cell, layout, fmt):
    original = P.init_params(cell, 3, 5, 2, seed=9) | P.init_head(5, 3, seed=9)
    exported = layouts.from_pytorch(cell, original, layout)
    # A tensor file cannot say whether an RNN is tanh or relu: the upload says it.
    form = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    model = uploaded(client, f"m.{fmt}", model_files.write(exported, fmt), **form)
    assert (model["cell"], model["layout"]) == (cell, layout)

    # The same trace as the PyTorch-layout original, to 1e-12.
    rng = np.random.default_rng(3)
    req = {"inputs": rng.normal(size=(6, 3)).tolist(), "loss": {"kind": "cross_entropy", "targets": [0, 2, 1, 1, 0, 2]}}
    ref = client.post(
        "/api/backward",
        json=req
        | {"cell": cell, "hidden_size": 5, "num_layers": 2, "weights": {k: v.tolist() for k, v in original.items()}},
    ).json()
    got = client.post("/api/backward", json=req | {"model_id": model["id"]}).json()
    assert got["loss"] == pytest.approx(ref["loss"], abs=1e-12)
    for a, b in zip(got["layers"], ref["layers"], strict=True):
        np.testing.assert_allclose(a["h"], b["h"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a["grad"]["x"], b["grad"]["x"], rtol=0, atol=1e-12)

    # Export back in the layout it came in: the same arrays.
    r = client.get(f"/api/models/{model['id']}/export", params={"layout": layout, "format": fmt})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    back = model_files.read(f"x.{fmt}", r.content)
    assert set(back) == set(exported)
    for name, arr in exported.items():
        np.testing.assert_array_equal(back[name], arr, err_msg=name)


def test_export_to_every_other_layout_keeps_the_trace(client):
    original = P.init_params("lstm", 2, 3, 1, seed=4)
    model = uploaded(client, "m.npz", model_files.write(original, "npz"))
    req = {"inputs": [[0.5, -1.0], [1.0, 0.2], [0.0, 0.3]]}
    ref = client.post("/api/forward", json=req | {"model_id": model["id"]}).json()["layers"][0]["h"]
    for layout in layouts.LAYOUTS:
        data = client.get(
            f"/api/models/{model['id']}/export", params={"layout": layout, "format": "safetensors"}
        ).content
        again = uploaded(client, "again.safetensors", data)
        assert again["layout"] == layout
        h = client.post("/api/forward", json=req | {"model_id": again["id"]}).json()["layers"][0]["h"]
        np.testing.assert_allclose(h, ref, rtol=0, atol=1e-12)


def test_list_get_delete(client):
    model = uploaded(
        client,
        "to delete.npz",
        model_files.write(P.init_params("rnn", 2, 3, 1, 0), "npz"),
        name="my model",
        nonlinearity="tanh",
    )
    assert model["name"] == "my model"
    assert model["id"] in {m["id"] for m in client.get("/api/models").json()["models"]}
    assert client.get(f"/api/models/{model['id']}").json()["mapping"]
    assert client.delete(f"/api/models/{model['id']}").status_code == 204
    assert client.get(f"/api/models/{model['id']}").status_code == 404
    assert client.delete(f"/api/models/{model['id']}").status_code == 404
    r = client.post("/api/forward", json={"model_id": model["id"], "inputs": [[0.0, 1.0]]})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["body", "model_id"]


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc%2Fpasswd", "../x", "ABC", "0" * 31, "0" * 32 + "/../x"])
def test_ids_cannot_name_anything_but_a_model(client, bad):
    for url in (f"/api/models/{bad}", f"/api/models/{bad}/export"):
        assert client.get(url).status_code in (404, 422)


def test_model_id_adopts_the_models_sizes_and_refuses_conflicts(client):
    model = uploaded(client, "g.npz", model_files.write(P.init_params("gru", 2, 3, 2, 0), "npz"))
    ok = client.post("/api/forward", json={"model_id": model["id"], "inputs": [[0.0, 1.0]]}).json()
    assert (ok["cell"], ok["hidden_size"], ok["num_layers"]) == ("gru", 3, 2)
    r = client.post("/api/forward", json={"model_id": model["id"], "cell": "lstm", "inputs": [[0.0, 1.0]]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "cell"]
    r = client.post("/api/forward", json={"model_id": model["id"], "inputs": [[0.0, 1.0, 2.0]]})
    assert r.status_code == 422 and "takes 2 inputs" in r.json()["detail"][0]["msg"]
    r = client.post("/api/forward", json={"model_id": model["id"], "weights": {}, "inputs": [[0.0, 1.0]]})
    assert r.status_code == 422


def error(r):
    assert 400 <= r.status_code < 500, r.text
    return r.json()["detail"][0]


def test_bare_pickles_are_refused_with_a_safe_alternative(client, tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.LSTM(2, 3).state_dict(), path, _use_new_zipfile_serialization=False)
    for name in ("model.pt", "model.npz", "weights.bin"):
        err = error(upload(client, name, path.read_bytes()))
        assert "pickle" in err["msg"] and "safetensors" in err["msg"], name
        assert "torch.save(model.state_dict(), 'm.pt')" in err["msg"], name
    buf = io.BytesIO()
    np.savez(buf, weight=np.array([{"a": 1}], dtype=object))
    err = error(upload(client, "objects.npz", buf.getvalue()))
    assert "pickle" in err["msg"]
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    assert ".npz" in error(upload(client, "one.npy", buf.getvalue()))["msg"]


class _Net(torch.nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.lstm = cell(3, 4, num_layers=2)
        self.fc = torch.nn.Linear(4, 2)


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("wrap", ["plain", "checkpoint", "lightning"])
def test_a_pytorch_checkpoint_uploads_and_traces_like_pytorch(client, tmp_path, cell, wrap):
    torch.manual_seed(5)
    net = _Net(getattr(torch.nn, cell))
    opt = torch.optim.Adam(net.parameters())
    net.fc(net.lstm(torch.randn(4, 3))[0]).sum().backward()
    opt.step()
    sd = net.state_dict()
    saved = {
        "plain": sd,
        "checkpoint": {"epoch": 3, "model_state_dict": sd, "optimizer_state_dict": opt.state_dict()},
        "lightning": {"state_dict": {f"model.{k}": v for k, v in sd.items()}, "epoch": 3},
    }[wrap]
    path = tmp_path / "m.pt"
    torch.save(saved, path)
    # A state dict cannot say whether an RNN is tanh or relu: it is asked for (tanh: PyTorch's default).
    form = {"nonlinearity": "tanh"} if cell == "RNN" else {}
    model = uploaded(client, "m.pt", path.read_bytes(), **form)
    assert (model["cell"], model["num_layers"], model["hidden_size"], model["output_size"]) == (cell.lower(), 2, 4, 2)

    x = np.random.default_rng(6).normal(size=(5, 3))
    with torch.no_grad():
        h, _ = net.lstm(torch.tensor(x))
        y = net.fc(h)
    targets = np.zeros((5, 2))
    req = {"model_id": model["id"], "inputs": x.tolist(), "loss": {"kind": "mse", "targets": targets.tolist()}}
    r = client.post("/api/forward", json=req)
    assert r.status_code == 200, r.text
    body = r.json()
    np.testing.assert_allclose(body["layers"][1]["h"], h.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(body["output"]["y"], y.numpy(), rtol=0, atol=1e-12)


class _Call:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(client, tmp_path):
    import os
    import pickle

    from tests.weight_files import torch_zip

    for name, fn in (("os", os.system), ("eval", eval)):
        marker = tmp_path / f"PWNED_api_{name}"
        call = _Call(os.system, f"touch {marker}") if name == "os" else _Call(eval, f"open({str(marker)!r}, 'w')")
        sd = {"epoch": 3, "extra": call}
        err = error(upload(client, "m.pt", torch_zip(pickle.dumps(sd, protocol=2))))
        assert err["loc"][:2] == ["body", "file"]
        assert "refuses the global" in err["msg"] and fn.__name__ in err["msg"], err
        assert not marker.exists()


def test_bad_files_name_the_tensor(client):
    w = P.init_params("lstm", 2, 3, 1, 0)
    bad = dict(w, weight_ih_l0=np.zeros((11, 2)))
    err = error(upload(client, "m.npz", model_files.write(bad, "npz")))
    assert err["loc"] == ["body", "file", "weight_ih_l0"] and "expected (12, 2)" in err["msg"]
    bad = dict(w, weight_hh_l0=np.zeros((12, 5)))
    err = error(upload(client, "m.npz", model_files.write(bad, "npz")))
    assert err["loc"] == ["body", "file", "weight_hh_l0"] and "not 4 (LSTM), 3 (GRU) or 1 (RNN)" in err["msg"]
    nan = dict(w, bias_ih_l0=np.full(12, np.nan))
    err = error(upload(client, "m.safetensors", model_files.write(nan, "safetensors")))
    assert "NaN" in err["msg"]
    err = error(upload(client, "m.json", b'{"weight_ih_l0": [[NaN]]}'))
    assert "finite" in err["msg"]
    err = error(upload(client, "m.json", json.dumps({"weight_ih_l0": [[1, 2], [3]]}).encode()))
    assert err["loc"] == ["body", "file", "weight_ih_l0"]
    err = error(upload(client, "m.npz", model_files.write(w, "npz"), layout="tensorflow"))
    assert err["loc"][-1] == "layout"
    err = error(upload(client, "m.npz", model_files.write(w, "npz"), layout="keras"))
    assert "recurrent_kernel" in err["msg"]
    err = error(upload(client, "m.npz", b"PK\x03\x04 not really a zip"))
    assert "npz" in err["msg"]
    big = P.init_params("lstm", 2, limits.MAX_HIDDEN + 1, 1, 0)
    err = error(upload(client, "big.npz", model_files.write(big, "npz")))
    assert f"hidden_size is {limits.MAX_HIDDEN + 1}" in err["msg"]


def test_names_are_checked_and_exports_get_a_safe_filename(client):
    data = model_files.write(P.init_params("gru", 1, 2, 1, 0), "npz")
    assert error(upload(client, "m.npz", data, name="bad\x00name"))["loc"] == ["body", "name"]
    model = uploaded(client, "m.npz", data, name="../../etc/passwd <b>")
    assert model["name"] == "../../etc/passwd <b>"  # stored as text, never used as a path
    r = client.get(f"/api/models/{model['id']}/export", params={"format": "json"})
    assert 'filename="etc_passwd_b-pytorch.json"' in r.headers["content-disposition"]


# --- Uploads cannot be bombs --------------------------------------------------------------

# Runs in its own process so that ru_maxrss is the upload's alone.
_UPLOAD_IN_A_FRESH_PROCESS = """
import json, resource, sys
from fastapi.testclient import TestClient
from app.main import create_app

data = open(sys.argv[1], "rb").read()
with TestClient(create_app()) as client:
    r = client.post("/api/models", files={"file": ("bomb.npz", data)})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"status": r.status_code, "body": r.json(), "peak": peak}))
"""
PEAK_RSS_BYTES = 300 * 2**20


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory) -> dict[str, tuple[str, int]]:
    from tests.weight_files import bombs

    folder = tmp_path_factory.mktemp("bombs")
    out = {}
    for name, (data, declared) in bombs().items():
        path = folder / f"{name}.npz"
        path.write_bytes(data)
        out[name] = (str(path), declared)
    return out


@pytest.mark.parametrize("kind", ["bzip2", "deflate", "lying"])
def test_a_small_file_declaring_gigabytes_is_refused_without_expanding(bomb_files, kind):
    import subprocess
    import sys
    from pathlib import Path

    path, declared = bomb_files[kind]
    assert declared > 2 * 10**9 and Path(path).stat().st_size < 3 * 2**20
    # Through a shell that forks Python: a process exec'd straight from this one inherits this
    # process's peak (torch is loaded here) in ru_maxrss; a grandchild starts from the shell's.
    done = subprocess.run(
        ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", _UPLOAD_IN_A_FRESH_PROCESS, path],
        capture_output=True,
        text=True,
        timeout=120,  # guards against a hang only
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak"] < PEAK_RSS_BYTES, f"peak RSS {result['peak'] / 2**20:.0f} MiB for {kind}: {result}"
    assert 400 <= result["status"] < 500, result
    detail = result["body"]["detail"][0]
    assert detail["loc"][:2] == ["body", "file"] and "weight_hh_l0" in detail["msg"], detail


def _malformed_uploads() -> dict[str, tuple[str, bytes, str]]:
    """name -> (filename, bytes, what the message must say): each answered 500 before."""
    from tests.weight_files import LZMA, Member, npy, raw_zip

    arr = npy(np.zeros(3))
    lzma = Member("w.npy", arr, len(arr), zlib.crc32(arr), method=LZMA)
    return {
        "member not .npy": ("m.npz", raw_zip([Member.stored("w.npy", b"not an array")]), "not a .npy array"),
        "encrypted member": ("m.npz", raw_zip([Member.stored("w.npy", arr, flags=1)]), "encrypted"),
        "LZMA member": ("m.npz", raw_zip([lzma]), "LZMA compression"),
        "bad CRC": ("m.npz", raw_zip([Member("w.npy", arr, len(arr), zlib.crc32(arr) ^ 1)]), "CRC"),
        "JSON 100,000 deep": ("m.json", b'{"w": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "depth"),
        "JSON 5,000-digit integer": ("m.json", b'{"w": [' + b"9" * 5000 + b"]}", "float64"),
        "JSON beyond float64": ("m.json", b'{"w": [1e999]}', "float64"),
        "0-d weight_hh_l0": (
            "m.npz",
            model_files.write(P.init_params("rnn", 2, 3, 1, 0) | {"weight_hh_l0": np.zeros(())}, "npz"),
            "weight_hh_l0",
        ),
        "1-d weight_hh_l0": (
            "m.npz",
            model_files.write(P.init_params("rnn", 2, 3, 1, 0) | {"weight_hh_l0": np.zeros(3)}, "npz"),
            "weight_hh_l0",
        ),
        "keras block axis": (
            "m.npz",
            model_files.write(
                layouts.from_pytorch("lstm", P.init_params("lstm", 2, 3, 1, 0), "keras")
                | {"lstm_0/lstm_cell/kernel": np.zeros((2, 11))},
                "npz",
            ),
            "4·H = 12",
        ),
    }


MALFORMED_UPLOADS = _malformed_uploads()


@pytest.mark.parametrize("case", list(MALFORMED_UPLOADS))
def test_malformed_uploads_are_named_4xx(client, case):
    filename, data, says = MALFORMED_UPLOADS[case]
    r = upload(client, filename, data)
    assert r.status_code in (413, 422), r.text
    detail = r.json()["detail"][0]
    assert detail["loc"][:2] == ["body", "file"] and says in detail["msg"], detail


def test_routes_are_handed_the_store_so_another_can_be_substituted(tmp_path):
    # The store is a dependency (app/api/deps.py), not a global the routes reach for.
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.store import ModelStore, get_store

    other = ModelStore(tmp_path / "other.sqlite3")
    app = create_app()
    app.dependency_overrides[get_store] = lambda: other
    tensors = P.init_params("lstm", 2, 3, 1, 0)
    with TestClient(app) as client:
        r = client.post("/api/models", files={"file": ("m.npz", model_files.write(tensors, "npz"))})
        assert r.status_code == 201, r.text
        model_id = r.json()["id"]
        assert [m.id for m in other.list()] == [model_id]
        assert client.post("/api/forward", json={"model_id": model_id, "inputs": [[0.1, 0.2]]}).status_code == 200
    assert get_store().get(model_id) is None  # the default store never saw it
