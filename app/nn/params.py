"""Parameters of a stacked cell, PyTorch-named, and their default initialisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import HEAD_PARAMS, PARAM_KINDS, SPECS, param_name


@dataclass(frozen=True)
class LayerParams:
    """One layer's weights in PyTorch's layout: blocks stacked along the first axis."""

    weight_ih: np.ndarray  # (blocks*H, D)
    weight_hh: np.ndarray  # (blocks*H, H)
    bias_ih: np.ndarray  # (blocks*H,)
    bias_hh: np.ndarray  # (blocks*H,)

    @property
    def hidden_size(self) -> int:
        return self.weight_hh.shape[1]

    @property
    def input_size(self) -> int:
        return self.weight_ih.shape[1]


@dataclass(frozen=True)
class Head:
    """Optional linear read-out y = h W^T + b on the top layer."""

    weight: np.ndarray  # (O, H)
    bias: np.ndarray  # (O,)


def expected_shapes(cell: str, input_size: int, hidden_size: int, num_layers: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every recurrent parameter, as in a PyTorch state dict."""
    rows = SPECS[cell].num_blocks * hidden_size
    shapes: dict[str, tuple[int, ...]] = {}
    for k in range(num_layers):
        d = input_size if k == 0 else hidden_size
        shapes[param_name("weight_ih", k)] = (rows, d)
        shapes[param_name("weight_hh", k)] = (rows, hidden_size)
        shapes[param_name("bias_ih", k)] = (rows,)
        shapes[param_name("bias_hh", k)] = (rows,)
    return shapes


def head_shapes(hidden_size: int, output_size: int) -> dict[str, tuple[int, ...]]:
    return {HEAD_PARAMS[0]: (output_size, hidden_size), HEAD_PARAMS[1]: (output_size,)}


def init_params(cell: str, input_size: int, hidden_size: int, num_layers: int, seed: int) -> dict[str, np.ndarray]:
    """PyTorch's default: every recurrent tensor drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Drawn in state-dict order from one generator, so the same seed gives the same model.
    """
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden_size)
    return {
        name: rng.uniform(-bound, bound, size=shape)
        for name, shape in expected_shapes(cell, input_size, hidden_size, num_layers).items()
    }


def init_head(hidden_size: int, output_size: int, seed: int) -> dict[str, np.ndarray]:
    """nn.Linear's default, U(-1/sqrt(H), 1/sqrt(H)), from its own stream of the seed."""
    rng = np.random.default_rng([seed, 1])
    bound = 1.0 / np.sqrt(hidden_size)
    return {
        name: rng.uniform(-bound, bound, size=shape) for name, shape in head_shapes(hidden_size, output_size).items()
    }


def add_forget_bias(params: dict[str, np.ndarray], num_layers: int, value: float) -> None:
    """Add `value` to the forget-gate block of every LSTM layer's bias_ih (in place)."""
    if value == 0.0:
        return
    f = SPECS["lstm"].blocks.index("f")
    for k in range(num_layers):
        b = params[param_name("bias_ih", k)]
        h = b.shape[0] // SPECS["lstm"].num_blocks
        b[f * h : (f + 1) * h] += value


def layers_from(params: dict[str, np.ndarray], num_layers: int) -> list[LayerParams]:
    return [LayerParams(*(params[param_name(kind, k)] for kind in PARAM_KINDS)) for k in range(num_layers)]


def head_from(params: dict[str, np.ndarray]) -> Head | None:
    if HEAD_PARAMS[0] not in params:
        return None
    return Head(params[HEAD_PARAMS[0]], params[HEAD_PARAMS[1]])
