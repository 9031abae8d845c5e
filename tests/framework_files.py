"""Files made by the frameworks themselves for the tests: ONNX exports, quietly.

torch.onnx.export prints progress, warnings and log lines for every export; the tests make
dozens. Shared by the ONNX reader's tests, the API's framework tests and the browser tests.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings


def onnx_export(module, example, dynamo: bool, dynamic: bool = False) -> bytes:
    """`module` exported with torch.onnx.export on `example` (its one input, named "x"): the
    dynamo exporter or the legacy one (dynamo=False); `dynamic` leaves the input's first two
    axes free instead of fixing them to the example's sizes."""
    import torch

    module.eval()
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            if dynamo:
                shapes = ({0: torch.export.Dim("batch"), 1: torch.export.Dim("steps")},) if dynamic else None
                program = torch.onnx.export(
                    module, (example,), dynamo=True, input_names=["x"], dynamic_shapes=shapes, verbose=False
                )
                return program.model_proto.SerializeToString()
            buf = io.BytesIO()
            axes = {"x": {0: "a0", 1: "a1"}} if dynamic else None
            torch.onnx.export(module, (example,), buf, dynamo=False, input_names=["x"], dynamic_axes=axes)
            return buf.getvalue()
    finally:
        quiet.setLevel(level)
