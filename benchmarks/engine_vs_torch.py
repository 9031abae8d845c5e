"""Engine forward+backward against PyTorch CPU (torch.nn.LSTM, float64, batch 1), one run.

Same weights, same input, same upstream gradient on every h_t; PyTorch computes the
parameter, input and initial-state gradients by autograd, the engine computes those and
records every intermediate and per-step gradient besides.  Interleaved A B A B; medians.

    python -m benchmarks.engine_vs_torch [--rounds 30]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from app.nn import params as P
from app.nn import stack
from app.nn.losses import Loss
from benchmarks.common import interleaved, machine, median

SIZES = [(100, 32, 128), (20, 4, 16)]


def compare(steps: int, inputs: int, hidden: int, rounds: int) -> tuple[float, float]:
    torch.set_default_dtype(torch.float64)
    w = P.init_params("lstm", inputs, hidden, 1, seed=0)
    rng = np.random.default_rng(0)
    x, dh = rng.normal(size=(steps, inputs)), rng.normal(size=(steps, hidden))
    model = stack.Model("lstm", P.layers_from(w, 1))
    loss = Loss("dh", dh=dh)

    lstm = torch.nn.LSTM(inputs, hidden)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.from_numpy(w[name]))
    xt, dht = torch.from_numpy(x), torch.from_numpy(dh)
    h0 = torch.zeros(1, hidden, requires_grad=True)
    c0 = torch.zeros(1, hidden, requires_grad=True)

    def torch_step() -> None:
        lstm.zero_grad(set_to_none=True)
        xg = xt.clone().requires_grad_(True)
        out, _ = lstm(xg, (h0, c0))
        (out * dht).sum().backward()

    # Same answers before timing.
    tr = stack.run(model, x, loss)
    torch_step()
    np.testing.assert_allclose(tr.grads[0]["weight_hh"], lstm.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-12)

    times = interleaved({"engine": lambda: stack.run(model, x, loss), "torch": torch_step}, rounds=rounds)
    return median(times["engine"]), median(times["torch"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {machine()}; torch {torch.__version__} with 1 thread (numpy's BLAS as configured)")
    for steps, inputs, hidden in SIZES:
        engine, ref = compare(steps, inputs, hidden, args.rounds)
        print(
            f"LSTM T={steps} D={inputs} H={hidden}, batch 1, float64: engine {engine * 1e3:.2f} ms, "
            f"torch.nn.LSTM {ref * 1e3:.2f} ms, ratio engine/torch {engine / ref:.2f}"
        )


if __name__ == "__main__":
    main()
