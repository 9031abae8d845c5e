"""Numbers on their way out: significant-digit rounding of arrays in a nested result.

Used by the API's responses and by the training runs' events alike, so it sits below both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# 10**k is exact in float64 for |k| <= 22, so x * 10**k rounded then divided by 10**k is
# the float nearest to the decimal with `digits` significant digits, and its shortest
# repr (what orjson prints) shows exactly those digits.
_EXACT_POWER = 22


def round_significant(arr: np.ndarray, digits: int) -> np.ndarray:
    """Round every element to `digits` significant decimal digits (vectorised)."""
    arr = np.asarray(arr, dtype=np.float64)
    out = arr.copy()
    if digits >= 17:  # every float64 already prints in at most 17 significant digits
        return out
    nonzero = arr != 0
    if not nonzero.any():
        return out
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.abs(arr, where=nonzero, out=np.ones_like(arr))))
    shift = (digits - 1 - exponent).astype(np.int64)
    up = nonzero & (shift >= 0) & (shift <= _EXACT_POWER)
    down = nonzero & (shift < 0) & (shift >= -_EXACT_POWER)
    scale_up = 10.0 ** shift[up]
    out[up] = np.round(arr[up] * scale_up) / scale_up
    scale_down = 10.0 ** -shift[down]
    out[down] = np.round(arr[down] / scale_down) * scale_down
    # Tiny or huge magnitudes, where the scale itself is inexact: let Python format them.
    rest = nonzero & ~up & ~down
    if rest.any():
        out[rest] = [float(f"{v:.{digits - 1}e}") for v in arr[rest]]
    return out


def prepare(tree: Any, digits: int | None) -> Any:
    """Make every array in a nested dict/list JSON-ready: contiguous, optionally rounded."""
    if isinstance(tree, np.ndarray):
        arr = tree if digits is None else round_significant(tree, digits)
        return np.ascontiguousarray(arr, dtype=np.float64)
    if isinstance(tree, dict):
        return {k: prepare(v, digits) for k, v in tree.items()}
    if isinstance(tree, list):
        return [prepare(v, digits) for v in tree]
    if isinstance(tree, float) and digits is not None:
        return float(round_significant(np.array([tree]), digits)[0])
    return tree
