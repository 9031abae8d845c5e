"""Tiny cases (H = 1, D = 1) worked out by hand with scalar calculus, step by step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.nn import stack
from app.nn.losses import Loss
from app.nn.params import LayerParams


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def col(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def test_lstm_with_zero_weights_halves_the_cell_each_step():
    # a = 0 everywhere: i = f = o = 1/2, g = 0, so c_t = c_{t-1} / 2 exactly.
    p = LayerParams(np.zeros((4, 1)), np.zeros((4, 1)), np.zeros(4), np.zeros(4))
    tr = stack.run(stack.Model("lstm", [p]), col(3.0, -2.0, 5.0), Loss("dh", dh=np.ones((3, 1))), c0=np.ones((1, 1)))
    layer = tr.layers[0]
    np.testing.assert_array_equal(layer["c"][:, 0], [0.5, 0.25, 0.125])
    np.testing.assert_array_equal(layer["i"], 0.5)
    np.testing.assert_array_equal(layer["g"], 0.0)
    np.testing.assert_allclose(layer["h"][:, 0], 0.5 * np.tanh([0.5, 0.25, 0.125]), rtol=0, atol=1e-16)
    # With g = 0 the input gate gets no gradient, and dc_{t-1} = dc_t * f = dc_t / 2.
    g = tr.grads[0]
    np.testing.assert_array_equal(g["i"], 0.0)
    np.testing.assert_allclose(g["c_from_next"][:-1, 0], 0.5 * g["c"][1:, 0], rtol=0, atol=1e-16)


def test_lstm_two_steps_by_hand():
    wi, wf, wg, wo = 0.5, -0.4, 1.2, 0.3  # weight_ih rows, gate order i, f, g, o
    ui, uf, ug, uo = 0.1, 0.2, -0.3, 0.4  # weight_hh
    bi, bf, bg, bo = 0.0, 1.0, 0.1, -0.2  # bias_ih (bias_hh is zero)
    x1, x2 = 1.0, -0.5
    d1, d2 = 0.7, -1.3  # dL/dh_t from the loss
    p = LayerParams(col(wi, wf, wg, wo), col(ui, uf, ug, uo), np.array([bi, bf, bg, bo]), np.zeros(4))
    tr = stack.run(stack.Model("lstm", [p]), col(x1, x2), Loss("dh", dh=col(d1, d2)))

    # Forward, one scalar at a time.
    h0 = c0 = 0.0
    i1, f1, g1, o1 = (
        sig(wi * x1 + ui * h0 + bi),
        sig(wf * x1 + uf * h0 + bf),
        math.tanh(wg * x1 + ug * h0 + bg),
        sig(wo * x1 + uo * h0 + bo),
    )
    c1 = f1 * c0 + i1 * g1
    h1 = o1 * math.tanh(c1)
    i2, f2, g2, o2 = (
        sig(wi * x2 + ui * h1 + bi),
        sig(wf * x2 + uf * h1 + bf),
        math.tanh(wg * x2 + ug * h1 + bg),
        sig(wo * x2 + uo * h1 + bo),
    )
    c2 = f2 * c1 + i2 * g2
    h2 = o2 * math.tanh(c2)
    layer = tr.layers[0]
    np.testing.assert_allclose(layer["c"][:, 0], [c1, c2], rtol=1e-13)
    np.testing.assert_allclose(layer["h"][:, 0], [h1, h2], rtol=1e-13)
    np.testing.assert_allclose(layer["f"][:, 0], [f1, f2], rtol=1e-13)
    assert tr.loss == pytest.approx(d1 * h1 + d2 * h2, rel=1e-13)

    # Backward through step 2 ...
    dh2 = d2
    dc2 = dh2 * o2 * (1 - math.tanh(c2) ** 2)
    da_i2 = dc2 * g2 * i2 * (1 - i2)
    da_f2 = dc2 * c1 * f2 * (1 - f2)
    da_g2 = dc2 * i2 * (1 - g2**2)
    da_o2 = dh2 * math.tanh(c2) * o2 * (1 - o2)
    # ... where h1 gets two contributions: from the loss and from step 2.
    dh1_next = ui * da_i2 + uf * da_f2 + ug * da_g2 + uo * da_o2
    dh1 = d1 + dh1_next
    dc1_next = dc2 * f2
    dc1 = dc1_next + dh1 * o1 * (1 - math.tanh(c1) ** 2)
    da_i1 = dc1 * g1 * i1 * (1 - i1)
    da_g1 = dc1 * i1 * (1 - g1**2)
    g = tr.grads[0]
    np.testing.assert_allclose(g["h"][:, 0], [dh1, dh2], rtol=1e-13)
    np.testing.assert_allclose(g["h_from_next"][:, 0], [dh1_next, 0.0], rtol=1e-13)
    np.testing.assert_allclose(g["c"][:, 0], [dc1, dc2], rtol=1e-13)
    np.testing.assert_allclose(g["c_from_next"][:, 0], [dc1_next, 0.0], rtol=1e-13)
    np.testing.assert_allclose(g["a"][1], [da_i2, da_f2, da_g2, da_o2], rtol=1e-13)
    # c0 = 0, so the forget gate at step 1 gets no gradient; dc0 = dc1 * f1.
    assert g["a"][0, 1] == 0.0
    assert g["c0"][0] == pytest.approx(dc1 * f1, rel=1e-13)
    assert g["weight_ih"][0, 0] == pytest.approx(da_i1 * x1 + da_i2 * x2, rel=1e-13)
    assert g["weight_hh"][2, 0] == pytest.approx(da_g2 * h1 + da_g1 * h0, rel=1e-13)


def test_gru_two_steps_by_hand():
    wr, wz, wn = 0.6, -0.2, 0.9
    ur, uz, un = 0.3, 0.5, -0.7
    br, bz, bn = 0.1, 0.0, -0.1  # bias_ih
    cr, cz, cn = 0.0, 0.2, 0.4  # bias_hh: b_hn sits inside the reset product
    x1, x2, h0 = 0.8, -1.1, 0.25
    p = LayerParams(col(wr, wz, wn), col(ur, uz, un), np.array([br, bz, bn]), np.array([cr, cz, cn]))
    tr = stack.run(stack.Model("gru", [p]), col(x1, x2), Loss("dh", dh=col(0.0, 1.0)), h0=np.array([[h0]]))

    r1, z1 = sig(wr * x1 + br + ur * h0 + cr), sig(wz * x1 + bz + uz * h0 + cz)
    n1 = math.tanh(wn * x1 + bn + r1 * (un * h0 + cn))
    h1 = (1 - z1) * n1 + z1 * h0
    r2, z2 = sig(wr * x2 + br + ur * h1 + cr), sig(wz * x2 + bz + uz * h1 + cz)
    hn2 = un * h1 + cn
    n2 = math.tanh(wn * x2 + bn + r2 * hn2)
    h2 = (1 - z2) * n2 + z2 * h1
    np.testing.assert_allclose(tr.layers[0]["h"][:, 0], [h1, h2], rtol=1e-13)
    np.testing.assert_allclose(tr.layers[0]["n"][:, 0], [n1, n2], rtol=1e-13)

    # L = h2: dh1 = z2 + (1 - z2)(1 - n2^2) (r2 un + dr2/dh1 hn2 ...) — take it term by term.
    da_n2 = (1 - z2) * (1 - n2**2)
    da_r2 = da_n2 * hn2 * r2 * (1 - r2)
    da_z2 = (h1 - n2) * z2 * (1 - z2)
    dh1 = z2 + da_n2 * r2 * un + da_r2 * ur + da_z2 * uz
    g = tr.grads[0]
    assert g["h"][0, 0] == pytest.approx(dh1, rel=1e-13)
    assert g["r"][1, 0] == pytest.approx(da_n2 * hn2, rel=1e-13)
    assert g["z"][1, 0] == pytest.approx(h1 - n2, rel=1e-13)
    assert g["bias_hh"][2] == pytest.approx(da_n2 * r2 + g["h"][0, 0] * (1 - z1) * (1 - n1**2) * r1, rel=1e-13)


def test_rnn_gradient_through_time_is_a_product_of_derivatives():
    # h_t = tanh(w x_t + u h_{t-1}); dL/dh_1 for L = h_3 is u^2 (1 - h_3^2)(1 - h_2^2).
    w, u = 0.9, 1.5
    p = LayerParams(col(w), col(u), np.zeros(1), np.zeros(1))
    x = col(1.0, 0.0, 0.0)
    tr = stack.run(stack.Model("rnn", [p]), x, Loss("dh", dh=col(0.0, 0.0, 1.0)))
    h1 = math.tanh(w)
    h2 = math.tanh(u * h1)
    h3 = math.tanh(u * h2)
    np.testing.assert_allclose(tr.layers[0]["h"][:, 0], [h1, h2, h3], rtol=1e-13)
    expected = u * u * (1 - h3**2) * (1 - h2**2)
    assert tr.grads[0]["h"][0, 0] == pytest.approx(expected, rel=1e-14)
    assert tr.grads[0]["x"][0, 0] == pytest.approx(expected * (1 - h1**2) * w, rel=1e-14)
