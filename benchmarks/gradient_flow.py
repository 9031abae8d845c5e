"""The vanishing-gradient figures in the README: the adding problem through /api/compare.

Not a timing: it prints how much gradient reaches step 1 versus step T for the RNN, the
GRU and the LSTM (at several forget-gate biases), on the adding problem with the preset's
default settings (H = 8, one layer, seed 0, MSE on the last step).

    python -m benchmarks.gradient_flow [--steps 100]
"""

from __future__ import annotations

import argparse

from fastapi.testclient import TestClient

from app.main import create_app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    with TestClient(create_app()) as client:
        body = client.get("/api/presets/adding", params={"steps": args.steps}).json()["request"]
        print(
            f"adding problem, T={args.steps}, H={body['hidden_size']}, seed {body['seed']}: ||dL/dh_t|| at t=1 and t=T"
        )
        for bias in (0.0, 1.0, 3.0):
            cells = client.post("/api/compare", json=body | {"forget_bias": bias}).json()["cells"]
            for name in ("rnn", "gru", "lstm") if bias == 0.0 else ("lstm",):
                h = cells[name]["grad_norm_h"][0]
                extra = ""
                if name == "lstm":
                    c = cells[name]["grad_norm_c"][0]
                    extra = f"  ||dL/dc_1|| {c[0]:.3g}  forget product 1..T {cells[name]['forget_product'][0][0]:.3g}"
                if name == "rnn":
                    extra = f"  spectral radius {cells[name]['spectral_radius'][0]:.3g}"
                label = f"{name} (forget bias {bias:g})" if name == "lstm" else name
                print(f"{label:>24}: t=1 {h[0]:.3g}  t=T {h[-1]:.3g}  ratio {h[0] / h[-1]:.3g}{extra}")


if __name__ == "__main__":
    main()
