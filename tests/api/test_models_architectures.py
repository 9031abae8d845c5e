"""Bidirectional, projected and bias-free recurrent stacks in real framework files, over HTTP.

Every file is made at test time by the framework itself: torch.save of a state dict and of a
training checkpoint (model and optimizer), plain tensor files in PyTorch's naming, Keras 3
(.keras and legacy .h5, which carry the configuration: merge_mode, use_bias) and both of
torch's ONNX exporters. Each is uploaded with POST /api/models; the upload's parity check must
run the file's own framework and match, the saved model must say its architecture (also in
GET /api/models), and POST /api/forward with the model's id must give the framework's own
output: to 1e-10 for float64 files (PyTorch), to the float32 tolerance of the framework tests
(1e-6 of the output's scale) for Keras and onnxruntime. What a framework cannot write, or the
engine cannot compute, is refused by name.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
import zlib

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported anywhere: the torch backend

from app import model_files
from tests.framework_files import onnx_export

torch = pytest.importorskip("torch")
nn = torch.nn
pytestmark = pytest.mark.torch

T, D, H, P, OUT, V = 6, 3, 4, 2, 2, 7  # steps, inputs, hidden units, projection, head outputs, vocabulary
F64, F32 = 1e-10, 1e-6
PARITY_BOUND = {"pytorch": 1e-12, "keras": 1e-5, "onnxruntime": 1e-5}
TORCH_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


# The largest differences seen, per framework: printed at the end (pytest -s shows them).
LARGEST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_largest_differences():
    yield
    for what, diff in sorted(LARGEST.items()):
        print(f"\n{what}: largest difference {diff:.2g}")


def record(what: str, diff: float) -> None:
    LARGEST[what] = max(LARGEST.get(what, 0.0), diff)


def close(ours, theirs, tol: float, what: str, framework: str) -> None:
    """Equal to `tol` relative, with an absolute floor of `tol` times the largest magnitude."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: the app answers {ours.shape}, the framework {theirs.shape}"
    scale = max(float(np.abs(theirs).max()), 1e-9)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale, err_msg=what)
    record(f"POST /api/forward against {framework}", float(np.abs(ours - theirs).max()))


def architecture(bidirectional=False, proj_size=0, bias=True, merge_mode="concat") -> dict:
    return {"bidirectional": bidirectional, "proj_size": proj_size, "bias": bias, "merge_mode": merge_mode}


def opened(client, data: bytes, filename: str, parity_by: str, arch: dict, **form) -> dict:
    """Uploaded (201), its parity checked by `parity_by` and matching, its architecture said and kept."""
    r = client.post("/api/models", files={"file": (filename, data)}, data=form)
    assert r.status_code == 201, r.text
    model = r.json()
    check = model["parity"]
    assert check["checked"] and check["framework"] == parity_by and check["matches"], check
    assert 0 <= check["max_abs_diff"] <= PARITY_BOUND[parity_by], check
    record(f"parity check by {parity_by}", check["max_abs_diff"])
    assert model["architecture"] == arch
    assert model["config"]["merge_mode"] == arch["merge_mode"]
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert listed[model["id"]]["architecture"] == arch
    return model


def refused(client, data: bytes, filename: str, words: list[str], **form) -> str:
    r = client.post("/api/models", files={"file": (filename, data)}, data=form)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert "file" in detail["loc"], detail
    for word in words:
        assert word in detail["msg"], detail["msg"]
    return detail["msg"]


def forward(client, model_id: str, x: np.ndarray, tokens: bool = False) -> dict:
    key = "tokens" if tokens else "inputs"
    r = client.post("/api/forward", json={"model_id": model_id, key: np.asarray(x).tolist()})
    assert r.status_code == 200, r.text
    return r.json()


def answer(body: dict) -> np.ndarray:
    """What the model outputs: the head's y, or the top layer's output (both directions merged)."""
    return np.asarray(body["output"]["y"] if body.get("output") else body["layers"][-1]["h"])


# --- PyTorch: state dicts, checkpoints, tensor files --------------------------------------------


class TorchNet(nn.Module):
    """[nn.Embedding ->] nn.LSTM / GRU / RNN (any directions, projection, biases) [-> nn.Linear]."""

    def __init__(self, cell, layers=2, bidirectional=True, proj=0, bias=True, head=True, vocab=None, dtype=None):
        super().__init__()
        torch.manual_seed(zlib.crc32(repr((cell, layers, bidirectional, proj, bias, head, vocab)).encode()))
        dtype = dtype or torch.float64
        self.emb = nn.Embedding(vocab, D, dtype=dtype) if vocab else None
        extra = {"proj_size": proj} if proj else {}
        self.rnn = TORCH_CELLS[cell](
            D, H, num_layers=layers, bidirectional=bidirectional, bias=bias, dtype=dtype, **extra
        )
        width = (proj or H) * (2 if bidirectional else 1)
        self.fc = nn.Linear(width, OUT, dtype=dtype) if head else None

    def forward(self, x):
        if self.emb is not None:
            x = self.emb(x)
        y, _ = self.rnn(x)
        return self.fc(y) if self.fc is not None else y


TORCH_CASES = {
    "lstm-bidirectional-2layers": ("lstm", {}),
    "gru-bidirectional-2layers": ("gru", {}),
    "rnn-bidirectional-2layers": ("rnn", {}),
    "lstm-bidirectional-embedding-head": ("lstm", {"vocab": V}),
    "lstm-projection-2layers": ("lstm", {"bidirectional": False, "proj": P}),
    "lstm-projection-bidirectional-no-head": ("lstm", {"proj": P, "head": False}),
    "gru-bias-free-bidirectional": ("gru", {"bias": False}),
    "rnn-bias-free": ("rnn", {"bias": False, "bidirectional": False, "layers": 1}),
    "lstm-bias-free-projection-bidirectional": ("lstm", {"bias": False, "proj": P, "layers": 1}),
}


def torch_arch(options: dict) -> dict:
    return architecture(options.get("bidirectional", True), options.get("proj", 0), options.get("bias", True))


def saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def training_checkpoint(net: nn.Module) -> bytes:
    """What a training loop saves: the model's and Adam's state (two moments per parameter) and more."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randint(0, V, (T,)) if net.emb is not None else torch.randn(T, D, dtype=torch.float64)
    net(x).square().sum().backward()
    opt.step()
    opt.zero_grad()
    return saved({"epoch": 3, "model_state_dict": net.state_dict(), "optimizer_state_dict": opt.state_dict()})


@pytest.mark.parametrize("kind", ["state_dict", "checkpoint"])
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_pytorch_files(client, case, kind):
    cell, options = TORCH_CASES[case]
    net = TorchNet(cell, **options)
    data = saved(net.state_dict()) if kind == "state_dict" else training_checkpoint(net)
    form = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    model = opened(client, data, f"{case}.pt", "pytorch", torch_arch(options), **form)
    assert (model["cell"], model["hidden_size"]) == (cell, H)
    assert model["num_layers"] == options.get("layers", 2)
    tokens = "vocab" in options
    x = np.random.default_rng(1).integers(0, V, T) if tokens else np.random.default_rng(1).standard_normal((T, D))
    with torch.no_grad():
        theirs = net(torch.as_tensor(x)).numpy()
    close(answer(forward(client, model["id"], x, tokens)), theirs, F64, f"{case} ({kind})", "PyTorch")


@pytest.mark.parametrize("fmt", model_files.FORMATS)
def test_tensor_files_in_pytorch_naming(client, fmt):
    """.npz, .safetensors and .json of a bias-free bidirectional GRU with a head: PyTorch's names."""
    net = TorchNet("gru", bias=False)
    tensors = {f"rnn.{k}": v.numpy() for k, v in net.rnn.state_dict().items()}
    tensors |= {"head.weight": net.fc.weight.detach().numpy(), "head.bias": net.fc.bias.detach().numpy()}
    model = opened(client, model_files.write(tensors, fmt), f"m.{fmt}", "pytorch", architecture(True, 0, False))
    x = np.random.default_rng(2).standard_normal((T, D))
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    close(answer(forward(client, model["id"], x)), theirs, F64, fmt, "PyTorch")


def without(net: nn.Module, *names: str) -> dict:
    return {k: v for k, v in net.state_dict().items() if k.split(".")[-1] not in names}


@pytest.mark.parametrize(
    ("make", "words"),
    [
        # One direction missing from one layer: a broken file, not a model of another kind.
        (
            lambda: without(TorchNet("lstm", head=False), "weight_ih_l1_reverse"),
            ["weight_ih_l1_reverse", "both directions"],
        ),
        # Some layers' biases only: never filled in with zeros.
        (lambda: without(TorchNet("gru", head=False), "bias_ih_l1", "bias_hh_l1"), ["bias_ih_l1", "bias=False"]),
        # A projection in one layer only.
        (lambda: without(TorchNet("lstm", proj=P, head=False), "weight_hr_l1"), ["weight_hr_l1", "proj_size"]),
        # Layer 1 reading H where the bidirectional layer below hands up 2H.
        (
            lambda: {
                k: (v[:, :H] if k == "rnn.weight_ih_l1" else v)
                for k, v in without(TorchNet("gru", head=False), "weight_ih_l1_reverse").items()
            },
            ["weight_ih_l1"],
        ),
    ],
    ids=["one-direction-missing", "some-biases", "some-projections", "layer-1-width"],
)
def test_inconsistent_pytorch_files_are_refused_by_name(client, make, words):
    refused(client, saved(make()), "m.pt", words)


def test_a_projection_is_an_lstm_smaller_than_its_cell(client):
    sd = TorchNet("lstm", bidirectional=False, proj=P, head=False).state_dict()
    # A projection as wide as the cell: no nn.LSTM has one (PyTorch requires proj_size < hidden_size).
    wide = {k: v for k, v in sd.items() if not k.endswith("_l1")}
    wide["rnn.weight_hr_l0"] = torch.zeros(H, H, dtype=torch.float64)
    wide["rnn.weight_hh_l0"] = torch.zeros(4 * H, H, dtype=torch.float64)
    r = client.post("/api/models", files={"file": ("m.pt", saved(wide))})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"][-1] == "weight_hr_l0" and "0 < proj_size < hidden_size" in detail["msg"]
    # A projection on a GRU.
    gru = TorchNet("gru", bidirectional=False, layers=1, head=False).state_dict()
    gru["rnn.weight_hr_l0"] = torch.zeros(P, H, dtype=torch.float64)
    refused(client, saved(gru), "m.pt", ["weight_hr_l0", "only an LSTM has"])


def test_export_keeps_the_architecture_or_refuses_by_name(client):
    net = TorchNet("lstm", proj=P, head=False)
    model = opened(client, saved(net.state_dict()), "p.pt", "pytorch", architecture(True, P))
    url = f"/api/models/{model['id']}/export"
    pt = client.get(url, params={"format": "json"}).json()
    assert set(pt) == {k.removeprefix("rnn.") for k in net.state_dict()}
    r = client.get(url, params={"layout": "onnx", "format": "json"})
    assert r.status_code == 422 and "no projection" in r.json()["detail"][0]["msg"]
    gru = TorchNet("gru", bias=False, head=False)
    model = opened(client, saved(gru.state_dict()), "g.pt", "pytorch", architecture(True, 0, False))
    onnx = client.get(f"/api/models/{model['id']}/export", params={"layout": "onnx", "format": "json"}).json()
    assert sorted(onnx) == ["gru_0.R", "gru_0.W", "gru_1.R", "gru_1.W"]  # both directions, no biases
    assert np.asarray(onnx["gru_1.W"]).shape == (2, 3 * H, 2 * H)
    again = opened(
        client, model_files.write(onnx, "npz"), "g.npz", "pytorch", architecture(True, 0, False), layout="onnx"
    )
    x = np.random.default_rng(3).standard_normal((T, D))
    with torch.no_grad():
        theirs = gru(torch.from_numpy(x)).numpy()
    close(answer(forward(client, again["id"], x)), theirs, F64, "onnx layout, again", "PyTorch")


# --- Keras: .keras and legacy .h5 -------------------------------------------------------------


@contextlib.contextmanager
def _quiet():
    """Keras warns (through absl logging) that .h5 is a legacy format: it is what is being tested."""
    log = logging.getLogger("absl")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


KERAS_CLASSES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
# name -> (cell, options, formats)
KERAS_CASES = {
    "lstm-bidirectional-2layers": ("lstm", {}, ("keras", "h5")),
    "gru-bidirectional-2layers": ("gru", {}, ("keras", "h5")),
    "simplernn-bidirectional-2layers": ("rnn", {}, ("keras", "h5")),
    "gru-sum": ("gru", {"merge_mode": "sum"}, ("keras", "h5")),
    "lstm-ave": ("lstm", {"merge_mode": "ave"}, ("keras",)),
    "simplernn-mul": ("rnn", {"merge_mode": "mul", "layers": 1}, ("keras",)),
    "lstm-bias-free": ("lstm", {"bias": False, "bidirectional": False}, ("keras",)),
    "gru-bias-free-bidirectional": ("gru", {"bias": False, "layers": 1}, ("keras", "h5")),
    "simplernn-bias-free": ("rnn", {"bias": False, "bidirectional": False, "layers": 1}, ("keras",)),
    "gru-bidirectional-embedding-head": ("gru", {"embedding": True, "layers": 1, "merge_mode": "ave"}, ("keras",)),
}


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    assert keras.backend.backend() == "torch"
    layers = keras.layers
    folder = tmp_path_factory.mktemp("keras-architectures")
    made = {}

    def get(name: str):
        if name not in made:
            cell, options, formats = KERAS_CASES[name]
            keras.utils.set_random_seed(zlib.crc32(name.encode()) % 10_000)
            cls = getattr(layers, KERAS_CLASSES[cell])
            body = [layers.Embedding(V, D)] if options.get("embedding") else []
            for _ in range(options.get("layers", 2)):
                rnn = cls(H, return_sequences=True, use_bias=options.get("bias", True))
                if options.get("bidirectional", True):
                    rnn = layers.Bidirectional(rnn, merge_mode=options.get("merge_mode", "concat"))
                body.append(rnn)
            body.append(layers.Dense(OUT))
            first = keras.Input((T,), dtype="int32") if options.get("embedding") else keras.Input((T, D))
            model = keras.Sequential([first, *body])
            paths = {fmt: folder / f"{name}.{fmt}" for fmt in formats}
            with _quiet():
                for path in paths.values():
                    model.save(path)
            made[name] = (model, paths)
        return made[name]

    yield get
    # Keras numbers unnamed layers from process-wide counters (lstm, lstm_1, ...): reset them, so
    # that a later module in this worker (tests/test_keras_files.py reads default names) starts afresh.
    keras.backend.clear_session()


KERAS_RUNS = [(name, fmt) for name, (_, _, formats) in KERAS_CASES.items() for fmt in formats]


@pytest.mark.parametrize(("name", "fmt"), KERAS_RUNS, ids=[f"{n}-{f}" for n, f in KERAS_RUNS])
def test_keras_files(client, keras_files, name, fmt):
    cell, options, _ = KERAS_CASES[name]
    model, paths = keras_files(name)
    bidirectional = options.get("bidirectional", True)
    arch = architecture(bidirectional, 0, options.get("bias", True), options.get("merge_mode", "concat"))
    saved_model = opened(client, paths[fmt].read_bytes(), paths[fmt].name, "keras", arch)
    assert (saved_model["cell"], saved_model["num_layers"]) == (cell, options.get("layers", 2))
    tokens = bool(options.get("embedding"))
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.integers(0, V, T) if tokens else rng.standard_normal((T, D)).astype(np.float32)
    theirs = np.asarray(model.predict(x[None], verbose=0), dtype=np.float64)[0]
    close(answer(forward(client, saved_model["id"], x, tokens)), theirs, F32, f"{name}.{fmt}", "Keras")


# --- ONNX: both of torch's exporters ----------------------------------------------------------------

# name -> (cell, TorchNet options, exporters that write the model: True dynamo, False legacy)
ONNX_CASES = {
    "lstm-bidirectional-2layers": ("lstm", {}, (True, False)),
    "gru-bidirectional-2layers": ("gru", {}, (True, False)),
    "rnn-bidirectional-2layers": ("rnn", {}, (False,)),  # the dynamo exporter unrolls nn.RNN (refused by name)
    "lstm-bidirectional-embedding-head": ("lstm", {"vocab": V, "layers": 1}, (True, False)),
    "lstm-bias-free": ("lstm", {"bias": False, "bidirectional": False, "head": False}, (True, False)),
    "gru-bias-free-bidirectional": ("gru", {"bias": False, "layers": 1}, (False,)),
    "rnn-bias-free": ("rnn", {"bias": False, "bidirectional": False, "layers": 1}, (False,)),
}
ONNX_RUNS = [(name, dynamo) for name, (_, _, exporters) in ONNX_CASES.items() for dynamo in exporters]


def onnx_file(cell: str, options: dict, dynamo: bool, seed: int):
    """(module, example (T, 2[, D]), the export): float32, as exports are."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    net = TorchNet(cell, dtype=torch.float32, **options)
    rng = np.random.default_rng(seed)
    if "vocab" in options:
        example = rng.integers(0, V, (T, 2))
        tensor = torch.as_tensor(example)
    else:
        example = rng.standard_normal((T, 2, D)).astype(np.float32)
        tensor = torch.from_numpy(example)
    return net, example, onnx_export(net, tensor, dynamo)


@pytest.mark.parametrize(
    ("name", "dynamo"), ONNX_RUNS, ids=[f"{n}-{'dynamo' if d else 'legacy'}" for n, d in ONNX_RUNS]
)
def test_onnx_exports(client, name, dynamo):
    import onnxruntime

    cell, options, _ = ONNX_CASES[name]
    _, example, data = onnx_file(cell, options, dynamo, zlib.crc32(name.encode()) % 10_000)
    model = opened(client, data, f"{name}.onnx", "onnxruntime", torch_arch(options))
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    (theirs,) = session.run(None, {graph_input.name: example})
    tokens = "vocab" in options
    close(answer(forward(client, model["id"], example[:, 0], tokens)), theirs[:, 0], F32, name, "onnxruntime")


def test_onnx_what_torch_exports_but_the_engine_cannot_read_is_refused_by_name(client):
    """nn.RNN through the dynamo exporter is unrolled step by step; an LSTM with proj_size comes out
    of it as an LSTM node without W_hr (the legacy exporter refuses it outright)."""
    _, _, data = onnx_file("rnn", {"layers": 1}, True, 1)
    refused(client, data, "rnn.onnx", ["computes the recurrence step by step", "dynamo=False"])
    _, _, data = onnx_file("lstm", {"proj": P, "bidirectional": False, "layers": 1, "head": False}, True, 2)
    refused(client, data, "proj.onnx", ["initial_c", "proj_size", "dropping the projection"])


def test_a_merge_mode_no_file_can_say_is_never_guessed(client, keras_files):
    """A Keras model summing its directions exports in the keras layout only (a PyTorch or ONNX file
    concatenates); that export, without the configuration, is refused rather than read as concat,
    while a keras-layout file whose head reads both directions side by side is concat and opens."""
    _, paths = keras_files("gru-sum")
    saved_model = opened(client, paths["keras"].read_bytes(), "sum.keras", "keras", architecture(True, 0, True, "sum"))
    url = f"/api/models/{saved_model['id']}/export"
    for layout in ("pytorch", "onnx"):
        r = client.get(url, params={"layout": layout, "format": "npz"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"][-1] == "layout" and "merges its two directions with sum" in r.text
    exported = client.get(url, params={"layout": "keras", "format": "npz"})
    assert exported.status_code == 200, exported.text
    refused(client, exported.content, "sum.npz", ["summed, averaged or multiplied", ".keras"])

    net = TorchNet("lstm", layers=1)
    concat = opened(client, saved(net.state_dict()), "c.pt", "pytorch", architecture(True))
    keras_npz = client.get(f"/api/models/{concat['id']}/export", params={"layout": "keras", "format": "npz"})
    again = opened(client, keras_npz.content, "c.npz", "pytorch", architecture(True))
    x = np.random.default_rng(5).standard_normal((T, D))
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    close(answer(forward(client, again["id"], x)), theirs, F64, "keras layout, again", "PyTorch")
    headless = {k: v for k, v in np.load(io.BytesIO(keras_npz.content)).items() if not k.startswith("dense/")}
    refused(
        client, model_files.write(headless, "npz"), "h.npz", ["nothing in the file says how its two directions merge"]
    )
