"""What a recurrent stack is built of, beyond its cell: directions, projection, biases.

One source of truth for the tensors a stack has and their PyTorch names (`weight_ih_l0`,
`weight_ih_l0_reverse`, `weight_hr_l1`), their shapes, and the order of the (layer,
direction) slots every per-layer array follows: PyTorch's, layer 0 forward, layer 0
reverse, layer 1 forward, ... (so h0 / c0 rows are PyTorch's too).

    H  hidden_size: units of the cell (c has H)
    P  proj_size: LSTM only; h_t = W_hr (o * tanh c_t) has P numbers, and the recurrent
       weights act on it (weight_hh is blocks*H x P). Without a projection, h has H.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import PROJECTION, SPECS, param_name

DIRECTIONS = ("forward", "reverse")
# How a bidirectional layer's two outputs become one (Keras' merge_mode; PyTorch concatenates).
MERGE_MODES = ("concat", "sum", "ave", "mul")


@dataclass(frozen=True)
class Architecture:
    cell: str
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    bias: bool = True
    merge_mode: str = "concat"

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def state_size(self) -> int:
        """Numbers in h per direction: P with a projection, else H."""
        return self.proj_size or self.hidden_size

    @property
    def output_size(self) -> int:
        """Numbers a layer hands up (and the head reads): both directions side by side when concatenated."""
        both = self.bidirectional and self.merge_mode == "concat"
        return self.state_size * (2 if both else 1)

    @property
    def slots(self) -> int:
        """(layer, direction) pairs: rows of h0 and c0, entries of a trace's per-layer lists."""
        return self.num_layers * self.directions

    def kinds(self) -> tuple[str, ...]:
        """The tensors of one direction of one layer."""
        return (
            ("weight_ih", "weight_hh")
            + (("bias_ih", "bias_hh") if self.bias else ())
            + ((PROJECTION,) if self.proj_size else ())
        )

    def slot_names(self, slot: int) -> dict[str, str]:
        """kind -> PyTorch name for one slot."""
        layer, direction = divmod(slot, self.directions)
        return {kind: param_name(kind, layer, direction) for kind in self.kinds()}

    def shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every recurrent tensor, in state-dict order."""
        rows = SPECS[self.cell].num_blocks * self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for slot in range(self.slots):
            layer = slot // self.directions
            width = input_size if layer == 0 else self.output_size
            of = {
                "weight_ih": (rows, width),
                "weight_hh": (rows, self.state_size),
                "bias_ih": (rows,),
                "bias_hh": (rows,),
                PROJECTION: (self.proj_size, self.hidden_size),
            }
            for kind, name in self.slot_names(slot).items():
                shapes[name] = of[kind]
        return shapes


def read(cell: str, params: dict[str, np.ndarray], num_layers: int, merge_mode: str = "concat") -> Architecture:
    """The architecture a set of PyTorch-named tensors has (names and shapes say it all but the
    merge mode, which only Keras varies)."""
    w_hh = params[param_name("weight_hh", 0)]
    proj = params.get(param_name(PROJECTION, 0))
    return Architecture(
        cell=cell,
        hidden_size=w_hh.shape[0] // SPECS[cell].num_blocks,
        num_layers=num_layers,
        bidirectional=param_name("weight_ih", 0, 1) in params,
        proj_size=0 if proj is None else proj.shape[0],
        bias=param_name("bias_ih", 0) in params,
        merge_mode=merge_mode,
    )


def merge(mode: str, forward: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    if mode == "concat":
        return np.concatenate([forward, reverse], axis=1)
    if mode == "sum":
        return forward + reverse
    if mode == "ave":
        return (forward + reverse) / 2
    return forward * reverse


def split(mode: str, d_out: np.ndarray, forward: np.ndarray, reverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dL/d(each direction's h) from dL/d(the merged output)."""
    if mode == "concat":
        width = forward.shape[1]
        return d_out[:, :width], d_out[:, width:]
    if mode == "sum":
        return d_out, d_out
    if mode == "ave":
        return d_out / 2, d_out / 2
    return d_out * reverse, d_out * forward
