"""One training gradient per batch: the batched engine vs the batch-1 loop vs PyTorch.

Sequences per second for one forward + backward over a batch (the loss, BPTT, every
parameter's gradient averaged over the batch) at H = 64, T = 50, B = 32, for the LSTM, GRU
and RNN (tanh), one layer, 16 inputs, a linear head to 16 classes, cross-entropy at every step:

  batched  train.batch_gradient as training calls it now: app/nn/batched.py, with a workspace
  batch-1  stack.run once per sequence, the gradients averaged: train.batch_gradient before
  torch    torch.nn.LSTM / GRU / RNN in float64 on the CPU, batch_first, a torch.nn.Linear head,
           the same loss (each sequence's mean cross-entropy, averaged), autograd backward

All three on one thread (numpy's OpenBLAS held to one thread as a training run holds it, and
torch.set_num_threads(1)), so the ratios are the algorithms' and not the thread pools'.  Interleaved rounds (A B C A B C ...), each timing
the mean of `--inner` calls in a row (a training run calls it back to back; the first call
after another candidate has had the caches pays for refilling them), medians; the three
gradients are compared first.

    python -m benchmarks.train_batched [--rounds N] [--inner K]
"""

from __future__ import annotations

import argparse

import numpy as np

from app.nn import batched, stack
from app.nn import params as P
from app.nn import train as T
from app.nn.losses import Loss
from benchmarks.common import interleaved, machine, median

HIDDEN, STEPS, BATCH, INPUTS, CLASSES, LAYERS = 64, 50, 32, 16, 16, 1


def batch1_gradient(model: stack.Model, xs: list[np.ndarray], losses: list[Loss]) -> tuple[float, dict]:
    """train.batch_gradient as it was: the trace engine once per sequence, the mean taken."""
    total: dict[str, np.ndarray] = {}
    loss = 0.0
    for x, target in zip(xs, losses, strict=True):
        trace = stack.run(model, x, target)
        loss += trace.loss
        for k, g in T.gradients(trace, model).items():
            total[k] = total[k] + g if k in total else g.copy()
    n = len(xs)
    return loss / n, {k: v / n for k, v in total.items()}


def torch_step(torch, cell: str, w: dict[str, np.ndarray], xs: np.ndarray, targets: np.ndarray):
    """A closure: one forward + backward of the same averaged loss in torch autograd."""
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        INPUTS, HIDDEN, num_layers=LAYERS, batch_first=True, dtype=torch.float64
    )
    head = torch.nn.Linear(HIDDEN, CLASSES, dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(w[name]))
        head.weight.copy_(torch.from_numpy(w["head.weight"]))
        head.bias.copy_(torch.from_numpy(w["head.bias"]))
    x, tgt = torch.from_numpy(xs), torch.from_numpy(targets)
    count = (tgt != -1).sum(dim=1)
    named = dict(module.named_parameters()) | {"head.weight": head.weight, "head.bias": head.bias}

    def step() -> tuple[float, dict]:
        for p in named.values():
            p.grad = None
        out, _ = module(x)
        per_step = torch.nn.functional.cross_entropy(
            head(out).reshape(-1, CLASSES), tgt.reshape(-1), ignore_index=-1, reduction="none"
        ).reshape(BATCH, STEPS)
        loss = (per_step.sum(dim=1) / count).mean()
        loss.backward()
        return loss.item(), {k: p.grad for k, p in named.items()}

    return step


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--inner", type=int, default=5, help="calls in a row per timing")
    args = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(f"machine: {machine()}")
    print(
        f"one training gradient per batch (forward + backward, mean over the batch), float64: H={HIDDEN} "
        f"T={STEPS} B={BATCH}, {INPUTS} inputs, {LAYERS} layer, a linear head to {CLASSES} classes, "
        f"cross-entropy at every step; one thread each; {args.rounds} interleaved rounds of {args.inner} calls, medians"
        + ("" if torch else "; torch not installed")
    )
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(BATCH, STEPS, INPUTS))
    targets = rng.integers(0, CLASSES, (BATCH, STEPS))
    losses = [Loss("cross_entropy", targets=t, num_classes=CLASSES) for t in targets]
    batch = T.Batch(list(xs), losses)
    for cell in ("lstm", "gru", "rnn"):
        w = P.init_params(cell, INPUTS, HIDDEN, LAYERS, seed=1) | P.init_head(HIDDEN, CLASSES, seed=1)
        model = stack.Model.of(cell, w, LAYERS)
        ws = batched.Workspace()

        def new(cell=cell, w=w, ws=ws) -> tuple[float, dict]:
            return T.batch_gradient(cell, w, LAYERS, batch, workspace=ws)

        def old(model=model) -> tuple[float, dict]:
            return batch1_gradient(model, batch.x, losses)

        fns = {"batched": new, "batch-1": old}
        _, grads = new()
        _, ref = old()
        agree = [f"batch-1 {max(_rel(grads[k], ref[k]) for k in ref):.1e}"]
        if torch is not None:
            fns["torch"] = torch_step(torch, cell, w, xs, targets)
            _, tg = fns["torch"]()
            agree.append(f"torch {max(_rel(grads[k], tg[k].numpy()) for k in tg):.1e}")
        with batched.single_blas_thread():  # as training holds it for a run
            times = interleaved(fns, rounds=args.rounds, inner=args.inner)
        med = {k: median(v) for k, v in times.items()}
        print(
            f"{cell.upper()}: largest gradient difference from the batched engine (relative to each tensor's largest): {', '.join(agree)}"
        )
        for name, s in med.items():
            print(f"  {name:8s} {s * 1e3:8.2f} ms per batch {BATCH / s:8.0f} sequences/s")
        line = f"  batched vs batch-1: {med['batch-1'] / med['batched']:.2f}x"
        if "torch" in med:
            line += f"; batched vs torch: {med['torch'] / med['batched']:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
