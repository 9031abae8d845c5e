"""Training: mini-batches over the exact engine, SGD with momentum or Adam, norm clipping.

Each mini-batch runs through the batched engine (`batched.run`: all its sequences at once,
the same maths as the trace engine run once per sequence, the gradients averaged).
Everything is seeded, so a run can be repeated exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from . import batched, stack, tasks
from .losses import NO_CLASS, Loss
from .params import Head, LayerParams, add_forget_bias, init_head, init_params
from .spec import EMBEDDING, HEAD_PARAMS, param_name
from .text import encode

TASKS = ("text", *tasks.TASKS)  # text, and every task of the registry
DEFAULT_TEXT = "hello world "
SINE_WARMUP = 2


@dataclass
class Batch:
    x: list[np.ndarray]
    losses: list[Loss]


@dataclass
class TaskData:
    """A task as the trainer sees it: sizes, a batch sampler and a fixed probe sequence."""

    input_size: int
    output_size: int
    loss_kind: str
    sample: Callable[[np.random.Generator, int], Batch]
    probe_x: np.ndarray
    probe_loss: Loss
    vocab: list[str] | None = None


class TaskError(ValueError):
    """A task that cannot be built or scored as asked; `field` names the setting at fault."""

    def __init__(self, field: str, msg: str):
        super().__init__(msg)
        self.field = field


def make_task(task: str, seq_len: int, text: str | None = None, delay: int = 5, embedding: bool = False) -> TaskData:
    """`embedding`: the text task's inputs are character ids (for a model with an embedding)
    instead of one-hot rows; `input_size` is then the vocabulary's size all the same."""
    if task == "text":
        text = text or DEFAULT_TEXT * 2
        x_all, _tokens, vocab = encode(text)
        index = {ch: k for k, ch in enumerate(vocab)}
        ids = np.array([index[ch] for ch in text])
        if embedding:
            x_all = ids
        span = min(seq_len, len(text) - 1)

        def loss_for(start: int) -> Loss:
            return Loss("cross_entropy", targets=ids[start + 1 : start + span + 1], num_classes=len(vocab))

        def sample(rng: np.random.Generator, size: int) -> Batch:
            starts = rng.integers(0, len(text) - span, size)
            return Batch([x_all[s : s + span] for s in starts], [loss_for(int(s)) for s in starts])

        return TaskData(len(vocab), len(vocab), "cross_entropy", sample, x_all[:span], loss_for(0), vocab)
    if task not in tasks.TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    spec = tasks.TASKS[task]
    if seq_len < spec.min_steps:
        raise TaskError("seq_len", f"the {task} task needs seq_len >= {spec.min_steps}")
    if task == "sine" and seq_len <= SINE_WARMUP:
        # Every step would be unscored: the loss is a mean over nothing.
        raise TaskError(
            "seq_len", f"the sine task scores steps after the first {SINE_WARMUP}; seq_len must be > {SINE_WARMUP}"
        )

    def example(seed: int) -> tuple[np.ndarray, Loss]:
        x, y = spec.make(seq_len, delay, seed)
        if task == "sine":
            # From a single value a model cannot tell a rising wave from a falling one: the
            # first SINE_WARMUP steps are not scored.
            y = y.copy()
            y[:SINE_WARMUP] = np.nan
        return x, Loss(spec.loss_kind, targets=y, num_classes=spec.output_size)

    def sample(rng: np.random.Generator, size: int) -> Batch:
        # Seeds from 1: seed 0 is the probe (for the sine task, the wave from phase 0).
        pairs = [example(int(s)) for s in rng.integers(1, 2**31, size)]
        return Batch([p[0] for p in pairs], [p[1] for p in pairs])

    return TaskData(spec.input_size, spec.output_size, spec.loss_kind, sample, *example(0))


@dataclass
class Settings:
    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.9
    steps: int = 500
    batch_size: int = 16
    clip: float | None = 1.0
    seed: int = 0
    forget_bias: float = 1.0
    embedding_dim: int | None = None  # text: an embedding of this width reads character ids


def init_model(settings: Settings, data: TaskData) -> dict[str, np.ndarray]:
    width = settings.embedding_dim or data.input_size
    params = init_params(settings.cell, width, settings.hidden_size, settings.num_layers, settings.seed)
    if settings.cell == "lstm" and settings.forget_bias:
        add_forget_bias(params, settings.num_layers, settings.forget_bias)
    if settings.embedding_dim:
        # nn.Embedding's default, N(0, 1), from its own stream of the seed.
        rng = np.random.default_rng([settings.seed, 2])
        params[EMBEDDING] = rng.standard_normal((data.input_size, settings.embedding_dim))
    return params | init_head(settings.hidden_size, data.output_size, settings.seed)


def _model(cell: str, params: dict[str, np.ndarray], num_layers: int) -> stack.Model:
    return stack.Model.of(cell, params, num_layers)


def gradients(trace: stack.Trace, model: stack.Model) -> dict[str, np.ndarray]:
    """dL/d every parameter by its PyTorch name (an embedding's as the whole table)."""
    out = {
        param_name(kind, *divmod(slot, model.directions)): trace.grads[slot][kind]
        for slot, p in enumerate(model.layers)
        for kind in p.tensors()
    }
    out[HEAD_PARAMS[0]] = trace.output["grad_head.weight"]
    out[HEAD_PARAMS[1]] = trace.output["grad_head.bias"]
    if model.embedding is not None:
        table = np.zeros_like(model.embedding)
        table[trace.model_grads["embedding.rows"]] = trace.model_grads[EMBEDDING]
        out[EMBEDDING] = table
    return out


class Stopped(Exception):
    """Raised before a batch, or between its layers' passes, when the caller's `stop()` says so."""


def batch_gradient(
    cell: str,
    params: dict[str, np.ndarray],
    num_layers: int,
    batch: Batch,
    stop: Callable[[], bool] | None = None,
    workspace: batched.Workspace | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean loss and mean gradient over the batch's sequences (every parameter by its PyTorch
    name: the layers', the head's and a whole embedding table's).

    The sequences run together through the batched engine.  `stop` is asked before the batch
    and between its layers' passes, so a large batch can be abandoned mid-way.  A `workspace`
    (one per training run) keeps the engine's arrays from one batch to the next.
    """
    if stop is not None and stop():
        raise Stopped

    def poll() -> None:
        if stop():
            raise Stopped

    model = _model(cell, params, num_layers)
    result = batched.run(model, batch.x, batch.losses, stop=poll if stop is not None else None, workspace=workspace)
    return result.loss, result.grads


def global_norm(grads: dict[str, np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


@dataclass
class Optimizer:
    kind: str
    lr: float
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    t: int = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update params in place."""
        self.t += 1
        for name, g in grads.items():
            p = params[name]
            if self.kind == "sgd":
                v = self.state.setdefault("v", {}).setdefault(name, np.zeros_like(p))
                v *= self.momentum
                v += g
                p -= self.lr * v
            else:
                m = self.state.setdefault("m", {}).setdefault(name, np.zeros_like(p))
                s = self.state.setdefault("s", {}).setdefault(name, np.zeros_like(p))
                m *= self.beta1
                m += (1 - self.beta1) * g
                s *= self.beta2
                s += (1 - self.beta2) * g * g
                m_hat = m / (1 - self.beta1**self.t)
                s_hat = s / (1 - self.beta2**self.t)
                p -= self.lr * m_hat / (np.sqrt(s_hat) + self.eps)


@dataclass
class StepReport:
    step: int
    loss: float
    grad_norm: float  # before clipping
    clipped: bool


def train(
    settings: Settings,
    data: TaskData,
    params: dict[str, np.ndarray] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[StepReport, dict[str, np.ndarray]]]:
    """Yield after every optimiser step: the report and the (live) parameters.

    Ends early, before a batch or between its layers' passes, once `stop()` is true (the
    unfinished step is dropped).
    """
    rng = np.random.default_rng([settings.seed, 7])
    params = init_model(settings, data) if params is None else params
    opt = Optimizer(settings.optimizer, settings.lr, settings.momentum)
    workspace = batched.Workspace()  # the engine's arrays, kept from one batch to the next
    # OpenBLAS on one thread for the whole run, not switched at every batch (batched.py says why).
    with batched.single_blas_thread():
        for step in range(1, settings.steps + 1):
            batch = data.sample(rng, settings.batch_size)
            try:
                loss, grads = batch_gradient(settings.cell, params, settings.num_layers, batch, stop, workspace)
            except Stopped:
                return
            norm = global_norm(grads)
            clipped = settings.clip is not None and norm > settings.clip
            if clipped:
                scale = settings.clip / norm
                grads = {k: g * scale for k, g in grads.items()}
            opt.step(params, grads)
            yield StepReport(step, loss, norm, clipped), params


def probe(cell: str, params: dict[str, np.ndarray], num_layers: int, data: TaskData) -> stack.Trace:
    """The fixed probe sequence through the current model (for checkpoints and accuracy)."""
    return stack.run(_model(cell, params, num_layers), data.probe_x, data.probe_loss, backward=False)


def accuracy(trace: stack.Trace, data: TaskData) -> float | None:
    """Share of scored probe steps whose most likely class is the target (classification)."""
    if data.loss_kind != "cross_entropy":
        return None
    targets = data.probe_loss.targets
    scored = targets != NO_CLASS
    predicted = trace.output["y"].argmax(axis=1)
    return float(np.mean(predicted[scored] == targets[scored]))


def generate(
    cell: str, params: dict[str, np.ndarray], num_layers: int, vocab: list[str], start: str, length: int
) -> str:
    """Greedy continuation of `start`, one character at a time (the model reads its output).

    The hidden (and cell) state is carried from step to step, so each new character costs
    one step of the network: linear in `length`, not quadratic.
    """
    index = {ch: k for k, ch in enumerate(vocab)}
    model = _model(cell, params, num_layers)
    dummy = Loss("cross_entropy", targets=np.zeros(1, dtype=np.int64), num_classes=len(vocab))
    h = np.zeros((num_layers, model.hidden_size))
    c = np.zeros((num_layers, model.hidden_size))
    text = start
    y = None
    for k in range(len(start) + length):
        if k >= len(start):
            text += vocab[int(y[-1].argmax())]
            if k == len(start) + length - 1:
                break  # the last character is chosen; no need to read it
        if model.embedding is not None:
            x = np.array([index[text[k]]])
        else:
            x = np.zeros((1, len(vocab)))
            x[0, index[text[k]]] = 1.0
        trace = stack.run(model, x, dummy, h, c, backward=False)
        y = trace.output["y"]
        h = np.stack([layer["h"][-1] for layer in trace.layers])
        if cell == "lstm":
            c = np.stack([layer["c"][-1] for layer in trace.layers])
    return text


__all__ = ["Head", "LayerParams"]
