"""Parameters of a stacked cell, PyTorch-named, and their default initialisation."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .architecture import Architecture
from .spec import HEAD_PARAMS, PARAM_KINDS, PROJECTION, SPECS, param_name


@dataclass(frozen=True)
class LayerParams:
    """One direction of one layer, in PyTorch's layout: blocks stacked along the first axis.

    A bias-free layer has no biases (None, not zeros: there is nothing to train); an LSTM
    with a projection has weight_hr, and its h (what W_hh reads) has P numbers, not H.
    """

    weight_ih: np.ndarray  # (blocks*H, D)
    weight_hh: np.ndarray  # (blocks*H, P or H)
    bias_ih: np.ndarray | None = None  # (blocks*H,)
    bias_hh: np.ndarray | None = None  # (blocks*H,)
    weight_hr: np.ndarray | None = None  # (P, H)

    @property
    def hidden_size(self) -> int:
        """H: units of the cell."""
        return self.weight_hr.shape[1] if self.weight_hr is not None else self.weight_hh.shape[1]

    @property
    def output_size(self) -> int:
        """Numbers in h: P with a projection, else H."""
        return self.weight_hh.shape[1]

    @property
    def input_size(self) -> int:
        return self.weight_ih.shape[1]

    def tensors(self) -> dict[str, np.ndarray]:
        """kind -> array, for the tensors this layer has."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def copy(self) -> LayerParams:
        return LayerParams(**{kind: arr.copy() for kind, arr in self.tensors().items()})


@dataclass(frozen=True)
class Head:
    """Optional linear read-out y = h W^T + b on the top layer."""

    weight: np.ndarray  # (O, H)
    bias: np.ndarray  # (O,)


def expected_shapes(
    cell: str, input_size: int, hidden_size: int, num_layers: int, arch: Architecture | None = None
) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every recurrent parameter, as in a PyTorch state dict (`arch`, when given,
    adds directions, a projection, or takes the biases away)."""
    arch = arch or Architecture(cell, hidden_size, num_layers)
    return arch.shapes(input_size)


def head_shapes(hidden_size: int, output_size: int) -> dict[str, tuple[int, ...]]:
    return {HEAD_PARAMS[0]: (output_size, hidden_size), HEAD_PARAMS[1]: (output_size,)}


def init_params(
    cell: str, input_size: int, hidden_size: int, num_layers: int, seed: int, arch: Architecture | None = None
) -> dict[str, np.ndarray]:
    """PyTorch's default: every recurrent tensor drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Drawn in state-dict order from one generator, so the same seed gives the same model.
    """
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden_size)
    return {
        name: rng.uniform(-bound, bound, size=shape)
        for name, shape in expected_shapes(cell, input_size, hidden_size, num_layers, arch).items()
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
        for direction in (0, 1):
            b = params.get(param_name("bias_ih", k, direction))
            if b is None:
                continue
            h = b.shape[0] // SPECS["lstm"].num_blocks
            b[f * h : (f + 1) * h] += value


def layers_from(params: dict[str, np.ndarray], num_layers: int) -> list[LayerParams]:
    """One LayerParams per (layer, direction) slot, in PyTorch's order: a reverse direction,
    biases and a projection where their tensors are present (architecture.read says which)."""
    directions = 2 if param_name("weight_ih", 0, 1) in params else 1
    slots = []
    for k in range(num_layers):
        for d in range(directions):
            names = {kind: param_name(kind, k, d) for kind in (*PARAM_KINDS, PROJECTION)}
            slots.append(LayerParams(**{kind: params[n] for kind, n in names.items() if n in params}))
    return slots


def head_from(params: dict[str, np.ndarray]) -> Head | None:
    if HEAD_PARAMS[0] not in params:
        return None
    return Head(params[HEAD_PARAMS[0]], params[HEAD_PARAMS[1]])
