"""What a model file said: its tensors, and every setting that changes the maths.

Each reader (model_files.py for tensor files and PyTorch checkpoints, keras_files.py,
onnx_files.py) turns bytes into one `ModelSource`. The tensors keep the naming of a layout
`nn/layouts.py` reads (so the gate reordering lives in one place); the settings are either
`read` from the file, `given` in the upload form, or `assumed` at a default the response
states. A setting the engine cannot compute is never recorded here: the reader refuses the
file instead, naming the setting (ModelFileError).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .nn.spec import EMBEDDING

# The kinds of input a model takes (see ModelSource.input_kind).
INPUT_KINDS = ("numbers", "onehot", "tokens")
# What a head's outputs are: "logits" are turned into probabilities by a softmax (a classifier,
# a character model); "values" are read as they are (regression). None: no head.
OUTPUT_KINDS = ("logits", "values")
# Which steps the framework returns outputs for: every step, or only the last (Keras
# return_sequences=False, a classifier over the whole sequence).
OUTPUT_STEPS = ("all", "last")

__all__ = ["EMBEDDING", "INPUT_KINDS", "OUTPUT_KINDS", "OUTPUT_STEPS", "ModelSource"]


@dataclass
class ModelSource:
    """One model read from a file, before its tensors are mapped into PyTorch's layout."""

    tensors: dict[str, np.ndarray]  # named as nn/layouts.py reads `layout` (+ EMBEDDING)
    layout: str | None  # None: told from the tensor names (layouts.detect_layout)
    framework: str  # who wrote the file, as far as the file says: "pytorch", "keras", "onnx", "unknown"
    format: str  # "pt", "keras", "h5", "weights.h5", "onnx", "npz", "safetensors", "json"
    read: dict[str, Any] = field(default_factory=dict)  # settings the file states
    assumed: dict[str, Any] = field(default_factory=dict)  # settings it cannot carry, at stated defaults
    given: dict[str, Any] = field(default_factory=dict)  # settings from the upload form
    # Whether the file states its layers' settings (a Keras config, ONNX node attributes): then
    # `nonlinearity` was read, not defaulted.
    configured: bool = False
    names: dict[str, str] = field(default_factory=dict)  # tensor name here -> where it is in the file
    nonlinearity: str = "tanh"  # RNN only: "tanh" or "relu"
    # How a bidirectional stack's two directions become one (architecture.MERGE_MODES): Keras'
    # merge_mode as its configuration says (or its shapes prove); None when the file says
    # nothing (PyTorch and ONNX concatenate; layouts.to_pytorch decides what it may read).
    merge_mode: str | None = None
    input_kind: str = "numbers"
    output_kind: str | None = None  # None when the model has no head
    output_steps: str = "all"
    vocab: list[str] | None = None  # tokens in the model's order (index = one-hot position / id)
    labels: list[str] | None = None  # the head's output names, when known
    # What the framework's own run needs (input name, dtype, axis order), for the parity check.
    probe: dict[str, Any] = field(default_factory=dict)

    def description(self) -> dict[str, Any]:
        """The `source` a saved model keeps and the API shows."""
        return {
            "framework": self.framework,
            "format": self.format,
            "read": self.read,
            "given": self.given,
            "assumed": self.assumed,
            "input_kind": self.input_kind,
            "output_kind": self.output_kind,
            "output_steps": self.output_steps,
            "nonlinearity": self.nonlinearity,
        }
