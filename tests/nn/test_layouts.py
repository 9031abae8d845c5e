"""Framework layouts: each imported model computes what that framework's own equations say.

The reference forward passes below are written from each framework's documentation
(Keras LSTM/GRU, ONNX LSTM/GRU operators, the book's TimeLSTM), directly on the tensors
as that framework stores them, independently of app/nn/layouts.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import layouts, stack
from app.nn import params as P
from app.nn.losses import Loss


def sig(v):
    return 1 / (1 + np.exp(-v))


def run_engine(imported: layouts.Imported, x: np.ndarray) -> np.ndarray:
    model = stack.Model(imported.cell, P.layers_from(imported.params, imported.num_layers))
    return stack.run(model, x, Loss("dh", dh=np.ones((x.shape[0], imported.hidden_size))), backward=False).layers[-1][
        "h"
    ]


def keras_lstm(kernel, rec, bias, x):
    """keras.layers.LSTM: z = x K + h R + b, split i, f, c, o along the last axis."""
    h = np.zeros(rec.shape[0])
    c = np.zeros_like(h)
    out = []
    for xt in x:
        z = xt @ kernel + h @ rec + bias
        i, f, cc, o = np.split(z, 4)
        c = sig(f) * c + sig(i) * np.tanh(cc)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def keras_gru(kernel, rec, bias, x):
    """keras.layers.GRU(reset_after=True): gates z, r, h; bias row 0 input, row 1 recurrent."""
    h = np.zeros(rec.shape[0])
    out = []
    for xt in x:
        xz, xr, xh = np.split(xt @ kernel + bias[0], 3)
        hz, hr, hh = np.split(h @ rec + bias[1], 3)
        z, r = sig(xz + hz), sig(xr + hr)
        hhat = np.tanh(xh + r * hh)
        h = z * h + (1 - z) * hhat
        out.append(h)
    return np.array(out)


def onnx_lstm(W, R, B, x):
    """ONNX LSTM (one direction): gates iofc; Wb and Rb halves of B."""
    H = R.shape[2]
    Wb, Rb = B[0, : 4 * H], B[0, 4 * H :]
    h = np.zeros(H)
    c = np.zeros(H)
    out = []
    for xt in x:
        z = W[0] @ xt + R[0] @ h + Wb + Rb
        i, o, f, cc = np.split(z, 4)
        c = sig(f) * c + sig(i) * np.tanh(cc)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def onnx_gru(W, R, B, x):
    """ONNX GRU with linear_before_reset=1 (what PyTorch exports): gates zrh."""
    H = R.shape[2]
    Wb, Rb = np.split(B[0], 2)
    h = np.zeros(H)
    out = []
    for xt in x:
        xz, xr, xh = np.split(W[0] @ xt + Wb, 3)
        hz, hr, hh = np.split(R[0] @ h + Rb, 3)
        z, r = sig(xz + hz), sig(xr + hr)
        hhat = np.tanh(xh + r * hh)
        h = (1 - z) * hhat + z * h
        out.append(h)
    return np.array(out)


def book_lstm(Wx, Wh, b, x):
    """Deep Learning from Scratch 2, TimeLSTM: A = x Wx + h Wh + b, sliced f, g, i, o."""
    H = Wh.shape[0]
    h = np.zeros(H)
    c = np.zeros(H)
    out = []
    for xt in x:
        A = xt @ Wx + h @ Wh + b
        f, g, i, o = A[:H], A[H : 2 * H], A[2 * H : 3 * H], A[3 * H :]
        c = c * sig(f) + np.tanh(g) * sig(i)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


D, H, T = 3, 4, 6


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_keras_lstm(rng):
    kernel, rec, bias = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    x = rng.normal(size=(T, D))
    imported = layouts.to_pytorch(
        {"lstm/lstm_cell/kernel:0": kernel, "lstm/lstm_cell/recurrent_kernel:0": rec, "lstm/lstm_cell/bias:0": bias}
    )
    assert (imported.cell, imported.layout, imported.hidden_size, imported.input_size) == ("lstm", "keras", H, D)
    np.testing.assert_allclose(run_engine(imported, x), keras_lstm(kernel, rec, bias, x), rtol=1e-12, atol=1e-14)


def test_keras_gru_reset_after(rng):
    kernel, rec, bias = rng.normal(size=(D, 3 * H)), rng.normal(size=(H, 3 * H)), rng.normal(size=(2, 3 * H))
    x = rng.normal(size=(T, D))
    imported = layouts.to_pytorch(
        {"gru/gru_cell/kernel": kernel, "gru/gru_cell/recurrent_kernel": rec, "gru/gru_cell/bias": bias}
    )
    assert imported.cell == "gru"
    np.testing.assert_allclose(run_engine(imported, x), keras_gru(kernel, rec, bias, x), rtol=1e-12, atol=1e-14)


def test_keras_gru_reset_before_is_refused_with_a_reason(rng):
    tensors = {
        "gru/kernel": rng.normal(size=(D, 3 * H)),
        "gru/recurrent_kernel": rng.normal(size=(H, 3 * H)),
        "gru/bias": rng.normal(size=3 * H),
    }
    with pytest.raises(layouts.LayoutError, match="reset_after"):
        layouts.to_pytorch(tensors)


def test_onnx_lstm_and_gru(rng):
    x = rng.normal(size=(T, D))
    W, R, B = rng.normal(size=(1, 4 * H, D)), rng.normal(size=(1, 4 * H, H)), rng.normal(size=(1, 8 * H))
    imported = layouts.to_pytorch({"W": W, "R": R, "B": B})
    assert (imported.cell, imported.layout) == ("lstm", "onnx")
    np.testing.assert_allclose(run_engine(imported, x), onnx_lstm(W, R, B, x), rtol=1e-12, atol=1e-14)
    W, R, B = rng.normal(size=(1, 3 * H, D)), rng.normal(size=(1, 3 * H, H)), rng.normal(size=(1, 6 * H))
    imported = layouts.to_pytorch({"gru.W": W, "gru.R": R, "gru.B": B}, "onnx")
    np.testing.assert_allclose(run_engine(imported, x), onnx_gru(W, R, B, x), rtol=1e-12, atol=1e-14)


def test_book_lstm(rng):
    Wx, Wh, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    x = rng.normal(size=(T, D))
    imported = layouts.to_pytorch({"Wx": Wx, "Wh": Wh, "b": b})
    assert (imported.cell, imported.layout) == ("lstm", "book")
    np.testing.assert_allclose(run_engine(imported, x), book_lstm(Wx, Wh, b, x), rtol=1e-12, atol=1e-14)
    slices = next(m for m in imported.mapping if m.target == "weight_ih_l0")
    assert slices.blocks == ["f", "g", "i", "o"]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_export_then_import_is_exact_and_traces_agree(cell, layout):
    if cell not in layouts.BLOCK_ORDER[layout]:
        with pytest.raises(layouts.LayoutError):
            layouts.from_pytorch(cell, P.init_params(cell, D, H, 2, 0), layout)
        return
    w = P.init_params(cell, D, H, 3, seed=5) | P.init_head(H, 2, seed=5)
    exported = layouts.from_pytorch(cell, w, layout)
    imported = layouts.to_pytorch(exported)  # layout detected from the names
    assert (imported.cell, imported.layout, imported.num_layers, imported.output_size) == (cell, layout, 3, 2)
    again = layouts.from_pytorch(cell, imported.params, layout)
    assert set(again) == set(exported)
    for name in exported:
        np.testing.assert_array_equal(again[name], exported[name], err_msg=name)
    x = np.random.default_rng(0).normal(size=(T, D))
    loss = Loss("mse", targets=np.ones((T, 2)))
    a = stack.run(stack.Model(cell, P.layers_from(w, 3), P.head_from(w)), x, loss)
    b = stack.run(stack.Model(cell, P.layers_from(imported.params, 3), P.head_from(imported.params)), x, loss)
    assert a.loss == pytest.approx(b.loss, abs=1e-12)
    for k in range(3):
        np.testing.assert_allclose(a.layers[k]["h"], b.layers[k]["h"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a.grads[k]["x"], b.grads[k]["x"], rtol=0, atol=1e-12)


def test_layers_are_ordered_by_the_numbers_in_their_names(rng):
    w = P.init_params("lstm", D, H, 3, seed=1)
    keras = layouts.from_pytorch("lstm", w, "keras")
    renamed = {
        k.replace("lstm_0/", "model_7/lstm/")
        .replace("lstm_1/", "model_7/lstm_1/")
        .replace("lstm_2/", "model_7/lstm_2/"): v
        for k, v in keras.items()
    }
    imported = layouts.to_pytorch(dict(reversed(list(renamed.items()))))
    np.testing.assert_array_equal(imported.params["weight_hh_l2"], w["weight_hh_l2"])


def test_pytorch_module_state_dict_with_prefixes_and_a_read_out():
    w = P.init_params("gru", D, H, 1, seed=1) | P.init_head(H, 5, seed=1)
    sd = {f"rnn.{k}": v for k, v in w.items() if not k.startswith("head")}
    sd |= {"fc.weight": w["head.weight"], "fc.bias": w["head.bias"]}
    imported = layouts.to_pytorch(sd)
    assert imported.output_size == 5
    np.testing.assert_array_equal(imported.params["head.weight"], w["head.weight"])
    assert {m.source for m in imported.mapping} >= {"rnn.weight_ih_l0", "fc.weight"}


@pytest.mark.parametrize(
    "tensors,match",
    [
        (
            {"weight_ih_l0": np.zeros((16, 3)), "weight_hh_l0": np.zeros((16, 4)), "bias_ih_l0": np.zeros(16)},
            "missing bias_hh_l0",
        ),
        (
            {
                "weight_ih_l0": np.zeros((16, 3)),
                "weight_hh_l0": np.zeros((15, 4)),
                "bias_ih_l0": np.zeros(16),
                "bias_hh_l0": np.zeros(16),
            },
            "weight_hh_l0",
        ),
        (
            {
                "weight_ih_l0": np.zeros((16, 3)),
                "weight_hh_l0": np.zeros((16, 4)),
                "bias_ih_l0": np.zeros(12),
                "bias_hh_l0": np.zeros(16),
            },
            "bias_ih_l0 has shape",
        ),
        ({"foo": np.zeros(3)}, "could not tell the layout"),
        (
            {
                "weight_ih_l0": np.zeros((16, 3)),
                "weight_hh_l0": np.zeros((16, 4)),
                "bias_ih_l0": np.zeros(16),
                "bias_hh_l0": np.full(16, np.nan),
            },
            "NaN",
        ),
    ],
)
def test_refusals_name_the_tensor(tensors, match):
    with pytest.raises(layouts.LayoutError, match=match):
        layouts.to_pytorch(tensors)


def _lstm(layout: str, hidden: int = 4, layers: int = 2) -> dict[str, np.ndarray]:
    return layouts.from_pytorch("lstm", P.init_params("lstm", 3, hidden, layers, seed=2), layout)


def _reshaped(tensors: dict[str, np.ndarray], suffix: str, shape: tuple[int, ...]) -> tuple[dict, str]:
    name = next(n for n in sorted(tensors) if n.endswith(suffix))
    return tensors | {name: np.zeros(shape)}, name


# Shapes that used to raise IndexError / ValueError (a 500) instead of a LayoutError naming the tensor.
MALFORMED = [
    ("pytorch", "weight_hh_l0", ()),  # 0-d recurrent weight
    ("pytorch", "weight_hh_l0", (16,)),  # 1-d recurrent weight
    ("keras", "lstm_0/lstm_cell/recurrent_kernel", ()),
    ("keras", "lstm_0/lstm_cell/recurrent_kernel", (4,)),
    ("keras", "lstm_1/lstm_cell/recurrent_kernel", (4, 15)),  # block axis not 4H in layer 1
    ("keras", "lstm_0/lstm_cell/kernel", (3, 15)),
    ("keras", "lstm_0/lstm_cell/bias", (15,)),
    ("onnx", "lstm_0.W", (1, 15, 3)),
    ("onnx", "lstm_1.R", (1, 15, 4)),
    ("onnx", "lstm_0.R", (1, 16)),
    ("book", "layer0.Wx", (3, 15)),
    ("book", "layer1.Wh", (4, 15)),
    ("book", "layer0.b", (15,)),
    ("book", "layer0.Wh", ()),
]


@pytest.mark.parametrize("layout,name,shape", MALFORMED)
def test_malformed_shapes_are_named_refusals(layout, name, shape):
    tensors = _lstm(layout)
    assert name in tensors
    with pytest.raises(layouts.LayoutError) as info:
        layouts.to_pytorch(tensors | {name: np.zeros(shape)}, layout)
    assert info.value.tensor == name and name in str(info.value)


def test_a_keras_gru_bias_whose_block_axis_is_not_3h_is_named():
    tensors = layouts.from_pytorch("gru", P.init_params("gru", 3, 4, 1, seed=2), "keras")
    name = "gru_0/gru_cell/bias"
    with pytest.raises(layouts.LayoutError, match="12") as info:
        layouts.to_pytorch(tensors | {name: np.zeros((2, 13))})
    assert info.value.tensor == name


def test_layer_numbers_too_long_for_int_still_order_layers():
    # int() refuses strings over 4300 digits; the order must not depend on it.
    tensors = _lstm("book", layers=2)
    big = "9" * 5000
    renamed = {k.replace("layer1.", f"layer{big}."): v for k, v in tensors.items()}
    imported = layouts.to_pytorch(renamed)
    np.testing.assert_array_equal(imported.params["weight_hh_l1"], layouts.to_pytorch(tensors).params["weight_hh_l1"])


def test_tensors_that_belong_to_no_layer_are_refused_not_dropped():
    w = P.init_params("lstm", 3, 4, 1, seed=2)
    with pytest.raises(layouts.LayoutError, match="weight_ih_l7") as info:
        layouts.to_pytorch(w | {"weight_ih_l7": np.zeros((16, 4))})
    assert info.value.tensor == "weight_ih_l7"
    keras = _lstm("keras", layers=1) | layouts.from_pytorch(
        "lstm", P.init_params("lstm", 3, 4, 1, 0) | P.init_head(4, 2, 0), "keras"
    )
    with pytest.raises(layouts.LayoutError, match="dense/extra"):
        layouts.to_pytorch(keras | {"dense/extra": np.zeros(2)})
