"""Parity: the framework that wrote a file runs it, and its answer is compared with the engine's.

On upload, when that framework is importable in the server's environment (torch for PyTorch
files and plain tensor files, keras for .keras/.h5 models, onnxruntime for .onnx), the model
runs there on a fixed probe sequence and the largest absolute difference between its outputs
and the engine's is recorded. Nothing here is needed to run the app: the frameworks are
imported lazily, one call at a time, and anything they raise becomes a "not checked" reason.

What is compared is what the framework's model outputs: the head's y (or its softmax when the
model outputs probabilities), or the top layer's h when there is no head; at every step, or
at the last one when the framework answers only there (Keras return_sequences=False).
"""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import threading
from typing import Any

import numpy as np

from .model_settings import RunConfig
from .model_source import ModelSource
from .nn import losses, stack
from .nn.architecture import merge
from .nn.architecture import read as read_architecture
from .nn.spec import EMBEDDING
from .nn.text import one_hot

PROBE_STEPS = 20
# "Matches" when the largest difference is within this, relative to the largest output (at
# least 1): float32 frameworks round at about 1e-7 a step, so agreement is 1e-7..1e-6 over a
# probe; a wrong gate order or activation is off by 1e-2 and more.
MATCH_TOLERANCE = 1e-5
# A file may fix its probe's steps and batch (an exported graph, a Keras Input): no more than
# the engine runs, and a small batch (only element 0 is compared).
MAX_PROBE_BATCH = 64
PROBE_SEED = 20_251_130
FRAMEWORK_NAMES = {"pytorch": "PyTorch", "keras": "Keras", "onnxruntime": "onnxruntime"}
# Frameworks keep global state (Keras' name counters, torch's thread pool): one check at a time.
_LOCK = threading.Lock()


def _framework_for(source: ModelSource) -> tuple[str, str]:
    """(parity framework, the module it needs)."""
    if source.framework == "keras" and source.format in ("keras", "h5") and source.configured:
        return "keras", "keras"
    if source.framework == "onnx":
        return "onnxruntime", "onnxruntime"
    return "pytorch", "torch"


def probe_input(config: RunConfig, imported_input: int, vocab_size: int | None, steps: int = PROBE_STEPS) -> np.ndarray:
    """The fixed probe: token ids, one-hot rows, or standard normal numbers (seeded)."""
    rng = np.random.default_rng(PROBE_SEED)
    if config.input_kind == "tokens":
        return rng.integers(0, vocab_size, steps)
    if config.input_kind == "onehot":
        return one_hot(rng.integers(0, imported_input, steps), imported_input)
    return rng.normal(size=(steps, imported_input))


# Keras loads the uploaded file itself; before 3.11.3 its safe mode had published bypasses
# (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906, CVE-2025-9905), so an older Keras is not used.
SAFE_FROM = {"keras": (3, 11, 3)}


def _unsafe_version(module: str) -> str | None:
    """Why the installed `module` is not used for parity, or None."""
    if module not in SAFE_FROM:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(module)
    except PackageNotFoundError:
        return None
    numbers = tuple(int(part) for part in re.findall(r"\d+", installed)[:3])
    if numbers < SAFE_FROM[module]:
        floor = ".".join(map(str, SAFE_FROM[module]))
        return f"{module} {installed} is older than {floor}, whose safe mode has published bypasses"
    return None


def _probe_refusal(steps: object, batch: object) -> str | None:
    """Why a probe of this size is not run (the file fixes it), or None."""
    from .limits import MAX_STEPS

    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        return f"the file fixes the sequence at {steps} steps; the probe runs 1 to {MAX_STEPS}"
    if not isinstance(batch, int) or not 1 <= batch <= MAX_PROBE_BATCH:
        return f"the file fixes the batch at {batch}; the probe runs 1 to {MAX_PROBE_BATCH}"
    return None


def engine_outputs(cell: str, params: dict[str, np.ndarray], num_layers: int, config: RunConfig, x: np.ndarray):
    """What the engine answers for the probe, shaped as the framework's model output (T x width):
    the head's y, or the top layer's output (both directions merged in a bidirectional stack)."""
    model = config.model(cell, params, num_layers)
    width = read_architecture(cell, params, num_layers, config.merge_mode).output_size
    trace = stack.run(model, x, losses.Loss("dh", dh=np.zeros((len(x), width))), backward=False)
    out = trace.outputs[-1] if model.head is None else trace.output["y"]
    return out, trace


def check(
    source: ModelSource, data: bytes, cell: str, params: dict[str, np.ndarray], num_layers: int, config: RunConfig
) -> dict[str, Any]:
    """The `parity` a saved model keeps: checked with the largest difference, or why not."""
    framework, module = _framework_for(source)
    name = FRAMEWORK_NAMES[framework]
    if importlib.util.find_spec(module) is None:
        return {"checked": False, "framework": framework, "reason": f"not checked: {module} is not installed"}
    unsafe = _unsafe_version(module)
    if unsafe:
        return {"checked": False, "framework": framework, "reason": f"not checked: {unsafe}"}
    # An exported graph may fix its number of steps: the probe then has exactly that many.
    steps = (source.probe.get("steps") or PROBE_STEPS) if framework != "pytorch" else PROBE_STEPS
    batch = source.probe.get("batch") or 1
    too_big = _probe_refusal(steps, batch)
    if too_big:
        return {"checked": False, "framework": framework, "reason": f"not checked: {too_big}"}
    vocab_size = params[EMBEDDING].shape[0] if EMBEDDING in params else None
    x = probe_input(config, params["weight_ih_l0"].shape[1], vocab_size, steps)
    ours, trace = engine_outputs(cell, params, num_layers, config, x)
    try:
        with _LOCK:
            theirs, compared = RUNNERS[framework](source, data, cell, params, num_layers, config, x)
    except Exception as err:  # the framework's own failure, reported rather than raised
        text = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        return {
            "checked": False,
            "framework": framework,
            "reason": f"not checked: {name} could not run the model ({type(err).__name__}: {text})",
        }
    if compared == "probs":
        ours = trace.output["probs"]
    elif compared == "log_probs":
        ours = np.log(trace.output["probs"])
    if config.output_steps == "last":
        ours = ours[-1:]
    theirs = np.asarray(theirs, dtype=np.float64)
    if theirs.size == ours.size:
        theirs = theirs.reshape(ours.shape)
    if theirs.shape != ours.shape:
        return {
            "checked": False,
            "framework": framework,
            "reason": f"not checked: {name} answered with shape {list(theirs.shape)}; the engine with {list(ours.shape)}",
        }
    with np.errstate(invalid="ignore", over="ignore"):
        diff = float(np.max(np.abs(theirs - ours))) if ours.size else 0.0
    scale = float(np.max(np.abs(ours))) if ours.size else 0.0
    result = {
        "checked": True,
        "framework": framework,
        "probe_steps": steps,
        "compared": compared,
        "input_kind": config.input_kind,
    }
    if not np.isfinite(diff):
        # An overflow on one side (float32 weights near 3e38) is a disagreement, never a match.
        return result | {"matches": False, "max_abs_diff": None, "reason": f"{name}'s answer holds inf or NaN"}
    return result | {"max_abs_diff": diff, "matches": diff <= MATCH_TOLERANCE * max(1.0, scale)}


# --- the frameworks ----------------------------------------------------------------------


def _run_torch(source, data, cell, params, num_layers, config, x):
    """torch.nn modules built from the imported weights (float64), never torch.load: the
    directions, projection and biases the tensors' names say (architecture.read)."""
    import torch

    arch = read_architecture(cell, params, num_layers, config.merge_mode)
    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    extra = {"nonlinearity": config.nonlinearity} if cell == "rnn" else {}
    if arch.proj_size:
        extra["proj_size"] = arch.proj_size
    rnn = kind(
        params["weight_ih_l0"].shape[1],
        arch.hidden_size,
        num_layers=num_layers,
        bias=arch.bias,
        bidirectional=arch.bidirectional,
        dtype=torch.float64,
        **extra,
    )
    if arch.bidirectional and arch.merge_mode != "concat" and num_layers > 1:
        # PyTorch concatenates between its layers: a stack merged otherwise is not one nn module.
        raise ValueError(f"PyTorch's stacked RNN concatenates both directions; this one merges with {arch.merge_mode}")
    with torch.no_grad():
        for pname, value in rnn.named_parameters():
            value.copy_(torch.from_numpy(params[pname]))
        inputs = torch.from_numpy(x)
        if EMBEDDING in params:
            inputs = torch.nn.functional.embedding(inputs, torch.from_numpy(params[EMBEDDING]))
        out, _ = rnn(inputs)
        if arch.bidirectional and arch.merge_mode != "concat":
            width = arch.state_size
            out = torch.from_numpy(merge(arch.merge_mode, out[:, :width].numpy(), out[:, width:].numpy()))
        if "head.weight" not in params:
            return out.numpy(), "h"
        y = torch.nn.functional.linear(
            out, torch.from_numpy(params["head.weight"]), torch.from_numpy(params["head.bias"])
        )
        if config.output_kind == "logits":
            return torch.softmax(y, dim=-1).numpy(), "probs"
        return y.numpy(), "y"


def _run_keras(source, data, cell, params, num_layers, config, x):
    """The uploaded .keras / .h5 loaded by Keras itself (safe mode: no Lambda code is run; the
    reader has already refused every layer it does not know)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    suffix = ".keras" if source.format == "keras" else ".h5"
    with tempfile.TemporaryDirectory(prefix="lstmvis-parity-") as tmp:
        path = os.path.join(tmp, "model" + suffix)
        with open(path, "wb") as f:
            f.write(data)
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    batch = x[None].astype(source.probe.get("input_dtype") or ("int64" if config.input_kind == "tokens" else "float32"))
    out = np.asarray(model.predict(batch, verbose=0))[0]
    return out, source.probe.get("output_is") or ("y" if "head.weight" in params else "h")


def _arrange(arr: np.ndarray, have: str, want: str, batch: int) -> np.ndarray:
    """`arr` (axes named by the letters in `have`) with the axes of `want`: a batch axis is the
    probe repeated, an axis of one is added; then the order is `want`'s."""
    if "b" in want and "b" not in have:
        arr, have = np.repeat(arr[None], batch, axis=0), "b" + have
    for _ in range(want.count("1")):
        arr, have = arr[None], "1" + have
    # Pair equal letters in order ("1" may repeat).
    taken: list[int] = []
    for letter in want:
        taken.append(next(k for k, h in enumerate(have) if h == letter and k not in taken))
    return np.transpose(arr, taken)


def _first_of_batch(out: np.ndarray, axes: str) -> np.ndarray:
    """The first batch element of an output whose axes are `axes`, as (t, width) or (width,)."""
    index = tuple(0 if letter in "b1" else slice(None) for letter in axes)
    kept = [letter for letter in axes if letter not in "b1"]
    out = out[index]
    if len(kept) == 2 and kept[0] != "t":
        out = out.T  # time first
    return out


def _run_onnxruntime(source, data, cell, params, num_layers, config, x):
    """The uploaded graph itself, run by onnxruntime on the probe (the reader's `probe` says
    which input holds the sequence, its axes and dtype, and which output to compare)."""
    import onnxruntime

    probe = source.probe
    batch = probe.get("batch") or 1
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    have = "td" if x.ndim == 2 else "t"
    feeds = {probe["input_name"]: _arrange(x, have, probe["axes"], batch).astype(probe["input_dtype"])}
    for name, extra in (probe.get("extra_inputs") or {}).items():
        shape = [batch if d is None else d for d in extra.get("shape") or []]
        fill = len(x) if extra.get("fill") == "steps" else 0
        feeds[name] = np.full(shape, fill, dtype=extra.get("dtype", "float32"))
    (out,) = session.run([probe["output_name"]], feeds)
    return _first_of_batch(np.asarray(out), probe["output_axes"]), probe["output_is"]


RUNNERS = {"pytorch": _run_torch, "keras": _run_keras, "onnxruntime": _run_onnxruntime}


def describe(parity: dict[str, Any]) -> str:
    """One line for people: "matches PyTorch to 3e-16 on a 20-step probe"."""
    if not parity.get("checked"):
        return parity.get("reason", "not checked")
    name = FRAMEWORK_NAMES.get(parity["framework"], parity["framework"])
    diff = parity.get("max_abs_diff")
    if diff is None:
        return f"does NOT match {name} on a {parity['probe_steps']}-step probe: {parity.get('reason', '')}"
    if parity.get("matches", True):
        return f"matches {name} to {diff:.1g} on a {parity['probe_steps']}-step probe"
    return f"does NOT match {name}: largest difference {diff:.1g} on a {parity['probe_steps']}-step probe"
