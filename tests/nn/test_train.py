"""Training in the engine: exact repeatability, optimisers, clipping, and that it learns."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import train as T


def run(settings: T.Settings, data: T.TaskData) -> tuple[list[float], dict[str, np.ndarray]]:
    params = T.init_model(settings, data)
    losses = [report.loss for report, _ in T.train(settings, data, params)]
    return losses, params


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_fixed_seed_repeats_exactly(optimizer):
    data = T.make_task("adding", 10)
    settings = T.Settings(hidden_size=6, steps=15, batch_size=4, optimizer=optimizer, seed=3)
    a, pa = run(settings, data)
    b, pb = run(settings, data)
    assert a == b
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k])
    c, _ = run(T.Settings(hidden_size=6, steps=15, batch_size=4, optimizer=optimizer, seed=4), data)
    assert c != a


def test_adam_step_matches_the_formula():
    p = {"w": np.array([1.0, -2.0])}
    g = {"w": np.array([0.5, 0.1])}
    opt = T.Optimizer("adam", lr=0.1)
    opt.step(p, g)
    # After one step Adam moves every coordinate by lr * sign(g) (bias-corrected m / sqrt(v) = g / |g|).
    np.testing.assert_allclose(p["w"], [1.0 - 0.1, -2.0 - 0.1], rtol=1e-7)


def test_sgd_momentum_accumulates():
    p = {"w": np.array([0.0])}
    opt = T.Optimizer("sgd", lr=0.1, momentum=0.5)
    opt.step(p, {"w": np.array([1.0])})
    opt.step(p, {"w": np.array([1.0])})
    assert p["w"][0] == pytest.approx(-0.1 - 0.1 * 1.5)


def test_clipping_caps_the_update_norm():
    data = T.make_task("sine", 8)
    settings = T.Settings(hidden_size=4, steps=3, batch_size=2, clip=1e-6, optimizer="sgd", momentum=0.0, lr=1.0)
    before = T.init_model(settings, data)
    snapshot = {k: v.copy() for k, v in before.items()}
    reports = [r for r, _ in T.train(settings, data, before)]
    assert all(r.clipped for r in reports)
    moved = np.sqrt(sum(np.sum((before[k] - snapshot[k]) ** 2) for k in before))
    assert moved <= 3 * 1e-6 * (1 + 1e-9)


def test_batch_gradient_is_the_mean_of_single_gradients():
    data = T.make_task("copy", 9, delay=3)
    settings = T.Settings(hidden_size=5, num_layers=2)
    params = T.init_model(settings, data)
    batch = data.sample(np.random.default_rng(0), 3)
    loss, grads = T.batch_gradient("lstm", params, 2, batch)
    singles = [
        T.batch_gradient("lstm", params, 2, T.Batch([x], [lo])) for x, lo in zip(batch.x, batch.losses, strict=True)
    ]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(
        grads["weight_hh_l1"], np.mean([s[1]["weight_hh_l1"] for s in singles], axis=0), rtol=1e-12
    )


def test_memorises_a_short_text():
    data = T.make_task("text", 20, text="hello world")
    settings = T.Settings(hidden_size=32, steps=300, batch_size=16, lr=0.02, seed=0)
    params = T.init_model(settings, data)
    first = None
    for report, _ in T.train(settings, data, params):
        first = first if first is not None else report.loss
    trace = T.probe("lstm", params, 1, data)
    assert T.accuracy(trace, data) == 1.0
    assert trace.loss < first / 100
    assert T.generate("lstm", params, 1, data.vocab, "h", 10) == "hello world"


def test_fits_a_sine_wave():
    data = T.make_task("sine", 20)
    settings = T.Settings(hidden_size=32, steps=400, batch_size=16, lr=0.01, seed=0)
    params = T.init_model(settings, data)
    for _ in T.train(settings, data, params):
        pass
    assert T.probe("lstm", params, 1, data).loss < 1e-3


def test_a_sine_too_short_to_score_is_refused_naming_seq_len():
    # The first SINE_WARMUP steps are not scored: a shorter sequence has no loss at all.
    with pytest.raises(T.TaskError) as err:
        T.make_task("sine", T.SINE_WARMUP)
    assert err.value.field == "seq_len"
    assert T.make_task("sine", T.SINE_WARMUP + 1).probe_x.shape == (T.SINE_WARMUP + 1, 1)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_generation_carries_the_state_one_character_at_a_time(cell, monkeypatch):
    data = T.make_task("text", 20, text="hello world")
    settings = T.Settings(cell=cell, hidden_size=8, num_layers=2, steps=5, seed=1)
    params = T.init_model(settings, data)
    # The reference: rerun the whole text so far for each new character (quadratic).
    model = T._model(cell, params, 2)
    expected = "h"
    for _ in range(15):
        x = np.eye(len(data.vocab))[[data.vocab.index(ch) for ch in expected]]
        dummy = T.Loss("cross_entropy", targets=np.zeros(len(expected), dtype=np.int64), num_classes=len(data.vocab))
        expected += data.vocab[int(T.stack.run(model, x, dummy, backward=False).output["y"][-1].argmax())]
    lengths = []
    real_run = T.stack.run
    monkeypatch.setattr(T.stack, "run", lambda m, x, *a, **k: lengths.append(len(x)) or real_run(m, x, *a, **k))
    assert T.generate(cell, params, 2, data.vocab, "h", 15) == expected
    assert set(lengths) == {1}  # each step reads one character: linear in the length
