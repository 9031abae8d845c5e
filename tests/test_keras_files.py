"""Keras files read without Keras: real files made by Keras 3 (torch backend) at test time.

Each real model is saved three ways (.keras, .weights.h5, legacy .h5), read by
app/keras_files.py, mapped by app/nn/layouts.py and run by the engine; its numbers must be
Keras' own (`model(x)`). Refusals are made by real Keras where Keras can save the model, and
hostile files are built with h5py: each asserts the refusal names what it refuses, and the
ones that could reach outside the file prove that nothing outside was opened.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: the torch backend, not TensorFlow

from app import keras_files, limits, model_files
from app.archive_checks import CheckedZip
from app.model_source import EMBEDDING, ModelSource
from app.nn import layouts, stack
from app.nn.losses import Loss

h5py = pytest.importorskip("h5py")
keras = pytest.importorskip("keras")
layers = keras.layers

ModelFileError = model_files.ModelFileError
FORMATS = ("keras", "weights.h5", "h5")


# --- helpers ---------------------------------------------------------------------------------


def read_bytes(data: bytes, filename: str) -> ModelSource:
    if data[:2] == b"PK":
        archive = CheckedZip(data, model_files.ZIP_BUDGET)
        assert keras_files.is_keras_archive(archive)
        return keras_files.read_archive(archive, filename)
    return keras_files.read_h5(data, filename)


def read(path: Path) -> ModelSource:
    return read_bytes(path.read_bytes(), path.name)


def refused(path_or_data: Path | bytes, match: str, status: int = 422, filename: str = "m.h5") -> ModelFileError:
    data = path_or_data if isinstance(path_or_data, bytes) else path_or_data.read_bytes()
    name = filename if isinstance(path_or_data, bytes) else path_or_data.name
    with pytest.raises(ModelFileError, match=match) as info:
        read_bytes(data, name)
    assert info.value.status == status, info.value
    return info.value


def save_all(model, folder: Path, stem: str) -> dict[str, Path]:
    paths = {
        "keras": folder / f"{stem}.keras",
        "weights.h5": folder / f"{stem}.weights.h5",
        "h5": folder / f"{stem}.h5",
    }
    model.save(paths["keras"])
    model.save_weights(paths["weights.h5"])
    model.save(paths["h5"])  # legacy HDF5 (Keras warns; it is still what many files out there are)
    return paths


def softmax(y: np.ndarray) -> np.ndarray:
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def engine(src: ModelSource, x: np.ndarray, softmax_head: bool, last: bool) -> np.ndarray:
    """The model as the engine computes it: each sequence of the batch on its own."""
    tensors = dict(src.tensors)
    table = tensors.pop(EMBEDDING, None)
    imported = layouts.to_pytorch(tensors, "keras", src.merge_mode)
    model = stack.Model.of(
        imported.cell, imported.params, imported.num_layers, src.merge_mode, nonlinearity=src.nonlinearity
    )
    width = imported.architecture.output_size
    out = []
    for seq in x:
        inputs = table[seq] if table is not None else seq.astype(np.float64)
        trace = stack.run(model, inputs, Loss("dh", dh=np.ones((len(inputs), width))), backward=False)
        h = trace.outputs[-1]
        y = h if model.head is None else h @ model.head.weight.T + model.head.bias
        y = softmax(y) if softmax_head else y
        out.append(y[-1] if last else y)
    return np.stack(out)


@contextlib.contextmanager
def float_scope(floatx: str):
    """Keras computes inside its cells at floatx and builds layers at the global dtype policy
    (fixed at float32 once any layer exists): float64 needs both, set and then restored."""
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(floatx)
    try:
        yield
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")


def keras_out(model, x: np.ndarray, floatx: str = "float32") -> np.ndarray:
    with float_scope(floatx):
        return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)


# --- real models -----------------------------------------------------------------------------


@dataclass
class Case:
    model: object
    paths: dict[str, Path]
    x: np.ndarray
    cell: str
    softmax: bool = False  # the model's outputs are a softmax
    last: bool = False  # the last recurrent layer has return_sequences=False
    tokens: bool = False
    relu: bool = False
    head: bool = True
    rtol: float = 1e-5
    floatx: str = "float32"


def _build_cases(folder: Path) -> dict[str, Case]:
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(1)
    cases: dict[str, Case] = {}

    def numbers(b, t, d):
        return rng.standard_normal((b, t, d)).astype("float32")

    # Two LSTMs, the first and the head with names of their own (Keras 3 groups do not use them).
    m = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.LSTM(4, return_sequences=True, name="encoder"),
            layers.LSTM(4, return_sequences=True),
            layers.Dense(2, name="out"),
        ]
    )
    cases["lstm2_named"] = Case(m, save_all(m, folder, "lstm2"), numbers(2, 5, 3), "LSTM")

    # Functional: token ids, an Embedding, dropouts, two GRUs (the last returning its last step), softmax.
    inp = keras.Input((6,), dtype="int32")
    h = layers.Embedding(11, 3, name="emb")(inp)
    h = layers.SpatialDropout1D(0.1)(h)
    h = layers.GRU(4, return_sequences=True, dropout=0.2)(h)
    h = layers.Dropout(0.3)(h)
    h = layers.GRU(4)(h)
    m = keras.Model(inp, layers.Dense(3, activation="softmax", name="out")(h))
    ids = rng.integers(0, 11, size=(2, 6)).astype("int32")
    cases["gru_tokens"] = Case(m, save_all(m, folder, "gru"), ids, "GRU", softmax=True, last=True, tokens=True)

    # One SimpleRNN (tanh), no head.
    m = keras.Sequential([keras.Input((5, 2)), layers.SimpleRNN(3, return_sequences=True)])
    cases["rnn_tanh"] = Case(m, save_all(m, folder, "rnn"), numbers(2, 5, 2), "SimpleRNN", head=False)

    # Two relu SimpleRNNs and a head.
    m = keras.Sequential(
        [
            keras.Input((5, 2)),
            layers.SimpleRNN(3, activation="relu", return_sequences=True),
            layers.SimpleRNN(3, activation="relu", return_sequences=True),
            layers.Dense(1),
        ]
    )
    cases["rnn_relu"] = Case(m, save_all(m, folder, "relu"), numbers(2, 5, 2), "SimpleRNN", relu=True)

    # Functional, no biases anywhere, the LSTM returning its last step only.
    inp = keras.Input((5, 3))
    h = layers.LSTM(4, use_bias=False, name="encoder")(inp)
    m = keras.Model(inp, layers.Dense(2, use_bias=False)(h))
    cases["lstm_last_nobias"] = Case(m, save_all(m, folder, "nobias"), numbers(2, 5, 3), "LSTM", last=True)

    # A TimeDistributed(Dense) head, and a softmax as an Activation layer after a linear Dense.
    m = keras.Sequential(
        [keras.Input((4, 3)), layers.LSTM(5, return_sequences=True), layers.TimeDistributed(layers.Dense(2))]
    )
    cases["lstm_td"] = Case(m, save_all(m, folder, "td"), numbers(2, 4, 3), "LSTM")
    m = keras.Sequential(
        [keras.Input((4, 3)), layers.LSTM(4, return_sequences=True), layers.Dense(3), layers.Activation("softmax")]
    )
    cases["lstm_activation"] = Case(m, save_all(m, folder, "act"), numbers(2, 4, 3), "LSTM", softmax=True)

    # float64 throughout: the engine's numbers must then be Keras' to 1e-10. No Dense here: Keras 3.15's
    # torch matmul casts float64 operands to float32 (dtypes.result_type of two torch float64 dtypes
    # says float32), so a float64 Dense in Keras is only float32-exact; its recurrent layers are exact.
    with float_scope("float64"):
        m = keras.Sequential(
            [
                keras.Input((6, 3)),
                layers.GRU(4, return_sequences=True),
                layers.Dropout(0.5),
                layers.GRU(4, return_sequences=True),
            ]
        )
        x = rng.standard_normal((2, 6, 3))
        cases["gru_f64"] = Case(m, save_all(m, folder, "f64"), x, "GRU", head=False, rtol=1e-10, floatx="float64")
    return cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Case]:
    # Keras numbers auto-named layers (lstm, lstm_1) per session: another module's models made
    # earlier in the same worker would shift the names these tests read.
    keras.backend.clear_session()
    return _build_cases(tmp_path_factory.mktemp("keras"))


# What a weights-only file (.weights.h5, or the legacy .h5 when it holds no configuration) cannot say.
WEIGHTS_ONLY = ("weights.h5",)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "name", ["lstm2_named", "gru_tokens", "rnn_tanh", "rnn_relu", "lstm_last_nobias", "lstm_td", "gru_f64"]
)
def test_real_files_compute_what_keras_computes(cases, name, fmt):
    case = cases[name]
    src = read(case.paths[fmt])
    assert (src.framework, src.layout, src.format) == ("keras", "keras", fmt)
    assert src.read["cell"] == case.cell
    assert src.input_kind == ("tokens" if case.tokens else "numbers")
    assert (EMBEDDING in src.tensors) == case.tokens
    assert src.probe["input_dtype"] == ("int64" if case.tokens else "float64" if name == "gru_f64" else "float32")
    if fmt in WEIGHTS_ONLY:
        # Read at Keras' defaults, each stated; the rest of the model's maths is the same.
        assert src.assumed["return_sequences"] is True and "layer order" in src.assumed
        assert src.output_steps == "all"
        assert src.output_kind == (None if not case.head else "values")
        if case.cell == "SimpleRNN":
            assert src.assumed["SimpleRNN activation"] == "tanh" and src.nonlinearity == "tanh"
        else:
            assert src.assumed["activation"] == "tanh" and src.assumed["recurrent_activation"] == "sigmoid"
        if case.relu:
            return  # a relu model read as tanh: exactly why the assumption is stated (upload the .keras)
        ours = engine(src, case.x, case.softmax, case.last)  # the test knows the head and the steps
    else:
        assert src.assumed == {}
        assert src.output_steps == ("last" if case.last else "all")
        assert src.output_kind == (None if not case.head else "logits" if case.softmax else "values")
        assert src.nonlinearity == ("relu" if case.relu else "tanh")
        assert src.read["layers"][-1]["class"] == ("Dense" if case.head else case.cell)
        ours = engine(src, case.x, src.output_kind == "logits", src.output_steps == "last")
    theirs = keras_out(case.model, case.x, case.floatx)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=case.rtol, atol=case.rtol / 10)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_three_formats_hold_the_same_numbers(cases, fmt):
    case = cases["gru_tokens"]
    src = read(case.paths[fmt])
    reference = [np.asarray(w, dtype=np.float64) for w in case.model.get_weights()]
    ours = [src.tensors[n] for n in (EMBEDDING, "rnn_0/kernel", "rnn_0/recurrent_kernel", "rnn_0/bias")]
    ours += [src.tensors[n] for n in ("rnn_1/kernel", "rnn_1/recurrent_kernel", "rnn_1/bias", "dense/kernel")]
    ours += [src.tensors["dense/bias"]]
    assert len(ours) == len(reference)
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a, b)


def test_names_say_where_each_tensor_is(cases):
    keras3 = read(cases["lstm2_named"].paths["keras"])
    # Keras 3 groups are named after the class (lstm, lstm_1, dense), not the layer ("encoder", "out").
    assert keras3.names["rnn_0/kernel"] == "layers/lstm/cell/vars/0"
    assert keras3.names["rnn_1/recurrent_kernel"] == "layers/lstm_1/cell/vars/1"
    assert keras3.names["dense/kernel"] == "layers/dense/vars/0"
    assert [layer["name"] for layer in keras3.read["layers"]] == ["encoder", "lstm", "out"]
    legacy = read(cases["lstm2_named"].paths["h5"])
    # Legacy .h5 groups are the layers' own names; the weight names inside are Keras 3's paths.
    assert legacy.names["rnn_0/kernel"] == "model_weights/encoder/sequential/encoder/lstm_cell/kernel"
    assert legacy.names["dense/bias"] == "model_weights/out/sequential/out/bias"
    weights = read(cases["lstm2_named"].paths["weights.h5"])
    assert [layer["name"] for layer in weights.read["layers"]] == ["encoder", "lstm", "out"]  # from the vars name
    nobias = read(cases["lstm_last_nobias"].paths["keras"])
    # A bias-free LSTM has no bias tensor at all (never zeros, which could be trained); the Dense
    # head's absent bias computes as zeros (W h + 0), and says so.
    assert "rnn_0/bias" not in nobias.tensors and "rnn_0/bias" not in nobias.names
    assert not layouts.to_pytorch(nobias.tensors, "keras").architecture.bias
    assert nobias.names["dense/bias"] == keras_files.NO_BIAS
    assert nobias.tensors["dense/bias"].shape == (2,) and not nobias.tensors["dense/bias"].any()


def test_settings_read_from_the_configuration(cases):
    src = read(cases["gru_tokens"].paths["keras"])
    assert src.read["model"]["class"] == "Functional"
    emb, gru0, gru1, dense = src.read["layers"]
    assert emb == emb | {"class": "Embedding", "name": "emb", "input_dim": 11, "output_dim": 3, "mask_zero": False}
    assert gru0 | {"units": 4, "activation": "tanh", "recurrent_activation": "sigmoid", "reset_after": True} == gru0
    assert gru0["return_sequences"] is True and gru1["return_sequences"] is False
    assert gru0["go_backwards"] is False and gru0["stateful"] is False and gru0["use_bias"] is True
    assert dense | {"class": "Dense", "name": "out", "units": 3, "activation": "softmax"} == dense
    assert [(i["class"], i["name"]) for i in src.read["ignored_at_inference"]] == [
        ("SpatialDropout1D", "spatial_dropout1d"),
        ("Dropout", "dropout"),
    ]
    assert src.probe == src.probe | {"input_shape": [None, 6], "steps": 6, "axes": "bt", "output_is": "probs"}
    assert src.read["keras_version"] == keras.__version__
    act = read(cases["lstm_activation"].paths["keras"])
    assert act.output_kind == "logits" and act.read["softmax"] is True
    relu = read(cases["rnn_relu"].paths["h5"])
    assert relu.nonlinearity == "relu" and relu.read["layers"][0]["activation"] == "relu"


def test_an_activation_layer_is_not_guessed_without_a_configuration(cases):
    refused(cases["lstm_activation"].paths["weights.h5"], r"layers/activation .*which activation it applies")


def test_a_weights_file_without_names_finds_layers_by_class_and_rank(cases, tmp_path):
    """Keras 3 before the vars `name` attribute: configured layers are found by class and rank."""
    src_path = cases["lstm2_named"].paths["keras"]
    with zipfile.ZipFile(src_path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        f.visititems(lambda _n, obj: obj.attrs.__delitem__("name") if "name" in obj.attrs else None)
    members["model.weights.h5"] = buf.getvalue()
    out = tmp_path / "old.keras"
    with zipfile.ZipFile(out, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    assert read(out).names == read(src_path).names


def test_legacy_weights_only_h5_is_read_in_layer_names_order(cases, tmp_path):
    from keras.src.legacy.saving import legacy_h5_format

    case = cases["lstm2_named"]
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, case.model)
    src = read(path)
    assert src.format == "h5" and src.assumed["layer order"] == "as the file's layer_names lists them"
    assert [layer["name"] for layer in src.read["layers"]] == ["encoder", "lstm", "out"]
    np.testing.assert_allclose(engine(src, case.x, False, False), keras_out(case.model, case.x), rtol=1e-5, atol=1e-6)


# --- a hand-built Keras 2 file (TensorFlow's Keras wrote these) --------------------------------


def keras2_h5(
    path: Path,
    case: Case,
    *,
    config: bool = True,
    functional: bool = False,
    extra: dict | None = None,
    lstm_cfg: dict | None = None,
):
    """Keras 2's layout: weight names with ':0', class names and batch_input_shape of Keras 2."""
    kernel0, rec0, bias0, kernel1, rec1, bias1, dense_k, dense_b = case.model.get_weights()
    lstm = {"units": 4, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}
    lstm |= {"return_sequences": True, "go_backwards": False, "stateful": False, "unroll": False, "time_major": False}
    model_config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 5, 3], "dtype": "float32", "name": "lstm_input"},
                },
                {"class_name": "LSTM", "config": {"name": "lstm", **lstm, **(lstm_cfg or {})}},
                {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}},
                {"class_name": "LSTM", "config": {"name": "lstm_1", **lstm}},
                {
                    "class_name": "Dense",
                    "config": {"name": "dense_1", "units": 2, "activation": "linear", "use_bias": True},
                },
            ],
        },
    }
    weights = {
        "lstm": {
            "lstm/lstm_cell/kernel:0": kernel0,
            "lstm/lstm_cell/recurrent_kernel:0": rec0,
            "lstm/lstm_cell/bias:0": bias0,
        },
        "dropout": {},
        "lstm_1": {
            "lstm_1/lstm_cell_1/kernel:0": kernel1,
            "lstm_1/lstm_cell_1/recurrent_kernel:0": rec1,
            "lstm_1/lstm_cell_1/bias:0": bias1,
        },
        "dense_1": {"dense_1/kernel:0": dense_k, "dense_1/bias:0": dense_b},
    } | (extra or {})
    if functional:
        # Keras 2's Functional: each layer's inbound_nodes as [[[name, node, tensor, kwargs]]].
        entries, below = model_config["config"]["layers"], None
        entries[0]["config"]["name"] = "input_1"
        for e in entries:
            e["name"] = e["config"]["name"]
            e["inbound_nodes"] = [[[below, 0, 0, {"training": False}]]] if below else []
            below = e["name"]
        model_config = {
            "class_name": "Functional",
            "config": {
                "name": "model",
                "layers": entries,
                "input_layers": [["input_1", 0, 0]],
                "output_layers": [["dense_1", 0, 0]],
            },
        }
        weights = {"input_1": {}} | weights
    with h5py.File(path, "w") as f:
        group = f.create_group("model_weights") if config else f
        if config:
            f.attrs["model_config"] = json.dumps(model_config).encode()
            f.attrs["keras_version"] = b"2.4.0"
            f.attrs["backend"] = b"tensorflow"
        group.attrs["layer_names"] = [n.encode() for n in weights]
        for layer, tensors in weights.items():
            g = group.create_group(layer)
            g.attrs["weight_names"] = [n.encode() for n in tensors]
            for n, arr in tensors.items():
                g[n] = arr
    return path


@pytest.mark.parametrize(
    ("config", "functional"),
    [(True, False), (False, False), (True, True), (False, True)],
    ids=["sequential", "sequential-weights-only", "functional", "functional-weights-only"],
)
def test_a_keras2_h5_reads_and_computes(cases, tmp_path, config, functional):
    case = cases["lstm2_named"]
    src = read(keras2_h5(tmp_path / "k2.h5", case, config=config, functional=functional))
    assert src.format == "h5" and src.read["num_layers"] == 2
    assert src.names["rnn_1/kernel"] == ("model_weights/" if config else "") + "lstm_1/lstm_1/lstm_cell_1/kernel:0"
    ignored = src.read["ignored_at_inference"]
    assert [i["name"] for i in ignored] == ["dropout"]
    if config:
        assert src.read["keras_version"] == "2.4.0" and src.assumed == {}
        assert src.probe["input_shape"] == [None, 5, 3]
        assert src.probe["input_name"] == ("input_1" if functional else "lstm_input")
        assert src.read["model"]["class"] == ("Functional" if functional else "Sequential")
    else:
        assert ignored[0]["class"].startswith("Dropout") and src.assumed["Dense activation"] == "linear"
    np.testing.assert_allclose(engine(src, case.x, False, False), keras_out(case.model, case.x), rtol=1e-5, atol=1e-6)


def test_a_weights_only_legacy_file_refuses_a_weightless_layer_it_cannot_name(cases, tmp_path):
    path = keras2_h5(tmp_path / "k2.h5", cases["lstm2_named"], config=False, extra={"lambda": {}})
    refused(path, r"layer 'lambda' has no weights, and a weights file does not say what it computes")


def test_a_keras2_hard_sigmoid_is_refused(cases, tmp_path):
    path = keras2_h5(tmp_path / "k2.h5", cases["lstm2_named"], lstm_cfg={"recurrent_activation": "hard_sigmoid"})
    refused(path, r"layer 'lstm' \(LSTM\) has recurrent_activation='hard_sigmoid'")


# --- refusals of real models ------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("refusals")


def keras_file(folder: Path, stem: str, *body, inputs=(5, 3), fmt: str = "keras", **input_kw) -> Path:
    model = keras.Sequential([keras.Input(inputs, **input_kw), *body])
    path = folder / f"{stem}.{fmt}"
    if fmt == "weights.h5":
        model.save_weights(path)
    else:
        model.save(path)
    return path


REFUSALS = {
    "hard_sigmoid": (
        lambda: [layers.LSTM(4, recurrent_activation="hard_sigmoid", name="enc")],
        r"layer 'enc' \(LSTM\) has recurrent_activation='hard_sigmoid'.*sigmoid",
    ),
    "lstm_relu": (lambda: [layers.LSTM(4, activation="relu")], r"\(LSTM\) has activation='relu'"),
    "rnn_selu": (lambda: [layers.SimpleRNN(4, activation="selu")], r"\(SimpleRNN\) has activation='selu'"),
    "reset_before": (lambda: [layers.GRU(4, reset_after=False, name="g")], r"'g' \(GRU\) has reset_after=False"),
    "go_backwards": (
        lambda: [layers.LSTM(4, go_backwards=True)],
        r"\(LSTM\) has go_backwards=True: alone, a layer reading the sequence backwards",
    ),
    "bidirectional_last_step": (
        lambda: [layers.Bidirectional(layers.LSTM(4), merge_mode="sum", name="bi")],
        r"'bi' \(Bidirectional\) returns only its last step .*backward direction's own last",
    ),
    "bidirectional_merge_none": (
        lambda: [layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode=None, name="bi")],
        r"'bi' \(Bidirectional\) has merge_mode=None: it returns its two directions as two separate outputs",
    ),
    "bidirectional_not_a_mirror": (
        lambda: [
            layers.Bidirectional(
                layers.LSTM(4, return_sequences=True),
                backward_layer=layers.LSTM(4, return_sequences=True, go_backwards=True, activation="relu"),
                name="bi",
            )
        ],
        r"'bi' \(Bidirectional\): its backward_layer .* differs from the forward layer in 'activation'",
    ),
    "bidirectional_mixed_merge": (
        lambda: [
            layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode="sum"),
            layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode="mul"),
        ],
        r"merge their directions differently \(mul, sum\)",
    ),
    "bidirectional_then_not": (
        lambda: [layers.Bidirectional(layers.GRU(4, return_sequences=True), name="bi"), layers.GRU(4, name="g")],
        r"layer 'bi' is Bidirectional and layer 'g' is not",
    ),
    "bias_in_one_layer": (
        lambda: [layers.GRU(4, return_sequences=True, name="a"), layers.GRU(4, use_bias=False, name="b")],
        r"layer 'a' has biases \(use_bias=True\) and layer 'b' has none",
    ),
    "bidirectional_control": (
        lambda: [
            layers.Bidirectional(
                layers.LSTM(4, return_sequences=True),
                backward_layer=layers.LSTM(4, return_sequences=True, go_backwards=True),
            )
        ],
        None,
    ),
    "layer_norm": (
        lambda: [layers.LSTM(4, return_sequences=True), layers.LayerNormalization(name="ln"), layers.LSTM(4)],
        r"'ln' \(LayerNormalization\): a normalisation",
    ),
    "two_dense": (
        lambda: [layers.LSTM(4, return_sequences=True), layers.Dense(4, name="d1"), layers.Dense(2, name="d2")],
        r"'d2' \(Dense\) is a second Dense \(after 'd1'\): a multi-layer head",
    ),
    "dense_between": (
        lambda: [layers.LSTM(4, return_sequences=True), layers.Dense(4, name="mid"), layers.LSTM(4, name="top")],
        r"'top' \(LSTM\) comes after the Dense layer 'mid'",
    ),
    "dense_relu": (
        lambda: [layers.LSTM(4, return_sequences=True), layers.Dense(2, activation="relu", name="out")],
        r"'out' \(Dense\) has activation='relu'",
    ),
    "lambda": (
        lambda: [layers.LSTM(4, return_sequences=True), layers.Lambda(lambda t: t * 2.0, name="twice")],
        r"'twice' \(Lambda\): its computation is Python code",
    ),
    "conv1d": (lambda: [layers.Conv1D(4, 2, name="conv"), layers.LSTM(4)], r"'conv' \(Conv1D\): a convolution"),
    "mixed_cells": (
        lambda: [layers.LSTM(4, return_sequences=True, name="a"), layers.GRU(4, name="b")],
        r"layer 'a' is LSTM and layer 'b' is GRU",
    ),
    "units_differ": (
        lambda: [layers.LSTM(4, return_sequences=True, name="a"), layers.LSTM(5, name="b")],
        r"layer 'a' has units=4 and layer 'b' has units=5",
    ),
    "masking": (lambda: [layers.Masking(), layers.LSTM(4)], r"\(Masking\): masking skips steps"),
    "no_rnn": (lambda: [layers.Dense(4)], r"comes before the recurrent layers"),
    "control": (lambda: [layers.LSTM(4, stateful=False, name="ok"), layers.Dense(2)], None),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_what_the_engine_cannot_compute_is_refused_by_name(folder, case):
    body, match = REFUSALS[case]
    path = keras_file(folder, case, *body())
    if match is None:
        read(path)  # the control: the same shape of model with nothing to refuse reads
        return
    err = refused(path, match)
    assert path.name in str(err)


def test_mask_zero_is_refused(folder):
    path = keras_file(
        folder, "mask", layers.Embedding(10, 3, mask_zero=True, name="emb"), layers.LSTM(4), inputs=(5,), dtype="int32"
    )
    refused(path, r"'emb' \(Embedding\) has mask_zero=True")


def test_a_custom_layer_class_is_refused(folder):
    @keras.saving.register_keras_serializable(package="mine")
    class Twice(layers.Layer):
        def call(self, x):
            return 2 * x

    path = keras_file(folder, "custom", layers.LSTM(4, return_sequences=True), Twice(name="twice"))
    refused(path, r"'twice' \(Twice\) is a custom class \(module 'tests.test_keras_files'\)")


def test_a_branching_functional_model_is_refused(folder):
    inp = keras.Input((5, 3))
    a = layers.LSTM(4, return_sequences=True, name="a")(inp)
    b = layers.LSTM(4, return_sequences=True, name="b")(inp)
    model = keras.Model(inp, layers.Add(name="sum")([a, b]))
    model.save(folder / "branch.keras")
    refused(folder / "branch.keras", r"layer 'sum' \(Add\) reads 2 layers")


def test_a_bidirectional_weights_file_opens_only_when_its_shapes_say_concat(folder):
    """A weights file does not record merge_mode: concat is read when the layer above reads both
    directions side by side (2H); a top layer with nothing above, or one read as H, is refused."""
    bi = layers.Bidirectional
    path = keras_file(folder, "bi", bi(layers.LSTM(4, return_sequences=True)), fmt="weights.h5")
    refused(path, r"layer 'bidirectional(_\d+)?' is Bidirectional, and a weights file records neither its merge_mode")
    path = keras_file(
        folder, "bi_sum", bi(layers.GRU(4, return_sequences=True), merge_mode="ave"), layers.Dense(2), fmt="weights.h5"
    )
    refused(path, r"reads 4 numbers from the Bidirectional layer .* sum, ave or mul, and a weights file does not")
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            bi(layers.GRU(4, return_sequences=True)),
            bi(layers.GRU(4, return_sequences=True)),
            layers.Dense(2),
        ]
    )
    model.save_weights(folder / "bi_concat.weights.h5")
    src = read(folder / "bi_concat.weights.h5")
    assert src.merge_mode == "concat" and "Bidirectional" in src.assumed
    assert src.names["rnn_1/backward/recurrent_kernel"] == "layers/bidirectional_1/backward_layer/cell/vars/1"
    x = np.random.default_rng(4).standard_normal((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(engine(src, x, False, False), keras_out(model, x), rtol=1e-5, atol=1e-6)


def test_a_legacy_weights_only_bidirectional_file_is_read_by_keras_default_names(folder):
    """Without a configuration (a Keras 2 save_weights('m.h5')), a layer holding forward_... and
    backward_... weights is a Bidirectional one, concatenated when the layer above reads 2H."""
    bi = layers.Bidirectional
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            bi(layers.GRU(4, return_sequences=True)),
            bi(layers.GRU(4, return_sequences=True)),
            layers.Dense(2),
        ]
    )
    model.save(folder / "bi_legacy.h5")
    with h5py.File(folder / "bi_legacy.h5", "r+") as f:
        del f.attrs["model_config"]  # what a weights-only legacy file lacks
    src = read(folder / "bi_legacy.h5")
    assert not src.configured and src.merge_mode == "concat" and "Bidirectional" in src.assumed
    assert "/backward_gru" in src.names["rnn_0/backward/kernel"] and "/forward_gru" in src.names["rnn_0/forward/kernel"]
    x = np.random.default_rng(6).standard_normal((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(engine(src, x, False, False), keras_out(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", ["h5", "weights.h5"])
def test_a_gru_without_reset_after_is_refused_in_every_format(folder, fmt):
    path = keras_file(folder, "reset", layers.GRU(4, reset_after=False, name="g"), fmt=fmt)
    refused(path, r"reset_after=False")


def test_a_bias_free_gru_weights_file_assumes_reset_after(folder):
    model = keras.Sequential([keras.Input((5, 3)), layers.GRU(4, use_bias=False, return_sequences=True)])
    model.save_weights(folder / "gru_nobias.weights.h5")
    src = read(folder / "gru_nobias.weights.h5")
    assert src.assumed["reset_after"] is True and "rnn_0/bias" not in src.tensors
    x = np.random.default_rng(2).standard_normal((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(engine(src, x, False, False), keras_out(model, x), rtol=1e-5, atol=1e-6)


# --- hostile HDF5 files, built with h5py --------------------------------------------------------

RNG = np.random.default_rng(5)


def weights_h5(mutate=None) -> bytes:
    """A minimal Keras 3 .weights.h5 (one LSTM, 3 -> 4); `mutate(f)` makes it hostile."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("layers/lstm/vars").attrs["name"] = "lstm"
        cell = f.create_group("layers/lstm/cell/vars")
        cell["0"] = RNG.standard_normal((3, 16)).astype("float32")
        cell["1"] = RNG.standard_normal((4, 16)).astype("float32")
        cell["2"] = RNG.standard_normal(16).astype("float32")
        if mutate:
            mutate(f)
    return buf.getvalue()


def replace(path: str, **kw):
    def mutate(f):
        del f[path]
        f.create_dataset(path, **kw)

    return mutate


def test_the_minimal_file_reads():
    src = read_bytes(weights_h5(), "m.weights.h5")
    assert src.tensors["rnn_0/kernel"].shape == (3, 16) and src.format == "weights.h5"


def test_an_external_link_is_never_followed():
    data = weights_h5(lambda f: f["layers/lstm/cell"].__setitem__("extra", h5py.ExternalLink("/etc/passwd", "/x")))
    err = refused(data, r"layers/lstm/cell/extra is an external link to '/etc/passwd'.*never followed")
    assert err.tensor == "layers/lstm/cell/extra"


def test_a_soft_link_is_refused():
    refused(weights_h5(lambda f: f.__setitem__("alias", h5py.SoftLink("/layers/lstm"))), r"alias is a soft link")


def test_external_storage_is_refused_without_opening_the_file(tmp_path):
    # A FIFO: opening it for reading would block (no writer), so a refusal that names the external
    # storage, rather than the reader's timeout, proves the file was never opened.
    fifo = tmp_path / "weights.fifo"
    os.mkfifo(fifo)
    data = weights_h5(replace("layers/lstm/cell/vars/0", shape=(3, 16), dtype="f4", external=[(str(fifo), 0, 192)]))
    refused(data, r"vars/0 keeps its numbers in an external file .*never opened")


def test_a_virtual_dataset_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["d"] = np.zeros((3, 16), dtype="f4")

    def mutate(f):
        layout = h5py.VirtualLayout(shape=(3, 16), dtype="f4")
        layout[:] = h5py.VirtualSource(str(source), "d", shape=(3, 16))
        del f["layers/lstm/cell/vars/0"]
        f.create_virtual_dataset("layers/lstm/cell/vars/0", layout)

    refused(weights_h5(mutate), r"vars/0 is a virtual dataset")


def test_a_huge_declared_shape_is_refused_before_reading():
    # 10^10 numbers declared in a file of a few KB (no chunk was ever written).
    data = weights_h5(
        replace(
            "layers/lstm/cell/vars/0", shape=(100_000, 100_000), dtype="f4", chunks=(1000, 1000), compression="gzip"
        )
    )
    assert len(data) < 64 * 1024
    refused(data, r"vars/0 declares shape \(100000, 100000\) \(10000000000 numbers\)", status=413)


def test_a_compressed_dataset_is_refused():
    data = weights_h5(replace("layers/lstm/cell/vars/0", data=np.zeros((3, 16), "f4"), compression="gzip"))
    refused(data, r"vars/0 is stored compressed or filtered \('gzip'\)")


@pytest.mark.parametrize(
    ("dtype", "label"),
    [
        (np.dtype([("a", "f4"), ("b", "f4")]), "compound"),
        (np.dtype("int32"), "integers"),
        (h5py.string_dtype(), "strings"),
        (h5py.vlen_dtype(np.float32), "vlen"),
    ],
)
def test_numbers_that_are_not_floats_are_refused(dtype, label):
    data = weights_h5(replace("layers/lstm/cell/vars/2", shape=(16,), dtype=dtype))
    err = refused(data, r"vars/2 holds .* values with shape \(16,\); expected floating-point numbers")
    assert err.tensor == "layers/lstm/cell/vars/2", label


def test_four_dimensions_and_nan_are_refused():
    refused(weights_h5(replace("layers/lstm/cell/vars/0", shape=(1, 1, 3, 16), dtype="f4")), r"4 dimensions")
    bad = np.zeros((3, 16), "f4")
    bad[1, 2] = np.nan
    refused(weights_h5(replace("layers/lstm/cell/vars/0", data=bad)), r"vars/0 holds NaN or infinite values")


def test_bfloat16_is_read():
    values = RNG.standard_normal((3, 16)).astype("float32")
    top = (values.view("<u4") >> 16).astype("<u2")  # bfloat16: the top half of each float32

    def mutate(f):
        del f["layers/lstm/cell/vars/0"]
        f.create_dataset("layers/lstm/cell/vars/0", data=top.view("V2")).attrs["dtype"] = "bfloat16"

    src = read_bytes(weights_h5(mutate), "m.weights.h5")
    want = (top.astype("<u4") << 16).view("<f4").astype(np.float64)
    np.testing.assert_array_equal(src.tensors["rnn_0/kernel"], want)


def test_more_objects_than_the_limit_are_refused():
    def mutate(f):
        for k in range(limits.MAX_H5_OBJECTS):
            f.create_group(f"junk/{k}")

    refused(weights_h5(mutate), rf"more than {limits.MAX_H5_OBJECTS} HDF5 groups and datasets", status=413)


def test_a_hard_link_cycle_ends_at_the_object_limit():
    refused(weights_h5(lambda f: f["layers/lstm"].__setitem__("loop", f["layers"])), r"more than", status=413)


def test_weights_no_layer_accounts_for_are_refused():
    data = weights_h5(lambda f: f.__setitem__("vars/0", np.ones(3, "f4")))
    refused(data, r"vars/0 holds weights that no layer the engine computes accounts for")


def legacy_h5(model_config) -> bytes:
    """A legacy full save whose model_config is whatever the test gives."""
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:  # "latest": attributes over 64 KB (dense storage)
        f.attrs["model_config"] = model_config
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"lstm"]
        layer = g.create_group("lstm")
        layer.attrs["weight_names"] = [b"lstm/kernel:0"]
        layer["lstm/kernel:0"] = np.zeros((3, 16), "f4")
    return buf.getvalue()


def test_a_model_config_that_is_not_json_is_refused():
    refused(legacy_h5("{not json"), r"model_config attribute is not valid JSON")


def test_a_model_config_over_the_limit_is_refused():
    huge = json.dumps({"class_name": "Sequential", "pad": "x" * limits.MAX_MODEL_CONFIG_BYTES})
    refused(legacy_h5(huge), rf"holds {len(huge)} characters; at most {limits.MAX_MODEL_CONFIG_BYTES}", status=413)
    refused(legacy_h5(np.bytes_(huge.encode())), rf"declares {len(huge)} bytes", status=413)


def rezipped(path: Path, **replace: bytes) -> bytes:
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in (members | {k.replace("_", "."): v for k, v in replace.items()}).items():
            z.writestr(n, data)
    return buf.getvalue()


def test_a_config_nested_past_the_parser_is_refused(cases):
    data = rezipped(cases["rnn_tanh"].paths["keras"], config_json=b"[" * 200_000)
    refused(data, r"config.json is not valid JSON", filename="m.keras")


def test_odd_values_in_a_config_do_not_reach_what_is_read(cases):
    path = cases["lstm2_named"].paths["keras"]
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    config["config"]["name"] = {"not": ["a", "name"]}
    config["config"]["layers"][0]["config"]["batch_shape"] = [[[[1]]], "x"]
    config["config"]["layers"][0]["config"]["dtype"] = "x" * 10_000
    src = read_bytes(rezipped(path, config_json=json.dumps(config).encode()), "m.keras")
    assert src.read["model"]["name"] is None and src.read["input"]["dtype"] is None
    assert src.probe["input_shape"] == [None, 5, 3]  # from the model's build_input_shape instead


def test_a_config_json_over_the_limit_is_refused(cases):
    huge = b" " * (limits.MAX_MODEL_CONFIG_BYTES + 1) + b"{}"
    data = rezipped(cases["rnn_tanh"].paths["keras"], config_json=huge)
    refused(data, r"config.json is \d+ bytes; at most", status=413, filename="m.keras")


def test_a_keras_zip_without_weights_is_refused_by_name():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("metadata.json", "{}")
        z.writestr("model.weights.json", "{}")
    refused(buf.getvalue(), r"a .keras archive without model.weights.h5", filename="m.keras")


@pytest.mark.parametrize(
    "data",
    [
        keras_files.HDF5_MAGIC + b"\x00" * 500,
        keras_files.HDF5_MAGIC + bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8)),
    ],
    ids=["zeros", "garbage"],
)
def test_garbage_after_the_signature_is_not_a_readable_hdf5_file(data):
    refused(data, r"not a readable HDF5 file")


def test_a_truncated_file_is_not_readable(cases):
    data = cases["lstm2_named"].paths["h5"].read_bytes()
    for cut in (len(data) // 3, len(data) - 200):
        with pytest.raises(ModelFileError) as info:
            read_bytes(data[:cut], "m.h5")
        assert info.value.status == 422 and "m.h5" in str(info.value)


def test_a_file_that_makes_hdf5_loop_costs_the_reader_process_only(monkeypatch):
    """A global-heap object whose recorded size was changed: HDF5 2.0 loops forever reading it."""
    text = json.dumps({"class_name": "Sequential", "config": {"layers": [], "pad": "Q" * 64}}).encode()
    data = bytearray(legacy_h5(text.decode()))
    at = data.index(text) - 8  # the heap object's 8-byte size precedes its bytes
    assert struct.unpack_from("<Q", data, at)[0] == len(text)
    struct.pack_into("<Q", data, at, 1000)
    monkeypatch.setattr(keras_files, "READER_SECONDS", 3.0)
    with pytest.raises(ModelFileError) as info:
        read_bytes(bytes(data), "loop.h5")
    # Whichever way this HDF5 build fails (a loop stopped by the timeout, or an error), it is a refusal.
    assert "loop.h5" in str(info.value) and info.value.status in (413, 422)


# --- the reader process: its limits and its answer ------------------------------------------


def with_worker(monkeypatch, code: str, seconds: float = 30.0) -> None:
    monkeypatch.setattr(keras_files, "_WORKER", code)
    monkeypatch.setattr(keras_files, "READER_SECONDS", seconds)


def test_a_reader_that_hangs_is_stopped(monkeypatch):
    with_worker(monkeypatch, "import time; time.sleep(120)", seconds=1.0)
    refused(weights_h5(), r"took longer than 1 s and was stopped")


def test_a_reader_that_crashes_is_a_refusal(monkeypatch):
    with_worker(monkeypatch, "import os; os.abort()")
    refused(weights_h5(), r"could not read it \(the reader stopped with SIGABRT\)")


def test_a_malformed_answer_is_a_refusal(monkeypatch):
    answer = struct.pack("<Q", 10**9) + b"{}"
    with_worker(monkeypatch, f"import sys; sys.stdout.buffer.write({answer!r})")
    refused(weights_h5(), r"the HDF5 reader's answer was malformed")
    lying = struct.pack("<Q", 0)
    header = json.dumps(
        {"ok": True, "groups": {}, "datasets": {"x": {"shape": [10**6], "dtype": "f", "attrs": {}, "data": [0, 10**6]}}}
    )
    answer = struct.pack("<Q", len(header)) + header.encode() + lying
    with_worker(monkeypatch, f"import sys; sys.stdout.buffer.write({answer!r})")
    refused(weights_h5(), r"data outside the answer")


def test_the_reader_limits_its_own_memory(monkeypatch):
    # Address space is reserved lazily: without the limit this 4 GiB mapping succeeds untouched.
    code = (
        "import sys, mmap; sys.path.insert(0, sys.argv[1]); import h5py; from app.keras_files import _limit_self; "
        "_limit_self()\ntry:\n    mmap.mmap(-1, 4 << 30)\nexcept OSError:\n    sys.exit(3)"
    )
    with_worker(monkeypatch, code)
    refused(weights_h5(), r"the reader exited with status 3")


def test_the_walk_also_runs_in_process():
    """`_read_tree` is the reader process' code; in-process it gives the same tree."""
    tree = keras_files._read_tree(weights_h5(), "m.weights.h5")
    assert sorted(tree.datasets) == ["layers/lstm/cell/vars/0", "layers/lstm/cell/vars/1", "layers/lstm/cell/vars/2"]
    assert tree.groups["layers/lstm/vars"] == {"name": "lstm"}


def test_a_keras_archive_with_members_beyond_its_three_is_refused_before_keras_sees_it():
    """Keras would extract every member for the parity check; the layers read here have no assets."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", '{"class_name": "Sequential", "config": {"layers": []}}')
        z.writestr("model.weights.h5", b"")
        z.writestr("assets/big.bin", b"\0" * 1000, compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(model_files.ModelFileError, match=r"assets/big\.bin"):
        model_files.read("m.keras", buf.getvalue())


def test_a_configuration_without_layers_is_refused_by_name():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", '{"class_name": "Sequential", "config": []}')
        z.writestr("model.weights.h5", b"")
    with pytest.raises(model_files.ModelFileError):
        model_files.read("m.keras", buf.getvalue())


@pytest.mark.parametrize("stated", [False, True])
def test_use_bias_in_the_configuration_must_agree_with_the_weights_stored(folder, stated):
    """A config edited to use_bias=False over stored biases (or True over none) is refused, not half-read."""
    path = keras_file(folder, f"bias-{stated}", keras.layers.LSTM(3, return_sequences=True, use_bias=not stated))
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "LSTM":
            layer["config"]["use_bias"] = stated
    members["config.json"] = json.dumps(config).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    refused(buf.getvalue(), "use_bias", filename="m.keras")
