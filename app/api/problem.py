"""From a validated request body to the engine's inputs, checking what the schema cannot.

Every refusal raises FieldError naming the field and saying what was expected; nothing is
clipped, padded or guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import limits
from ..model_settings import RunConfig
from ..nn import params as P
from ..nn.architecture import Architecture, read
from ..nn.losses import NO_CLASS, Loss
from ..nn.spec import EMBEDDING, HEAD_PARAMS, SPECS, missing_part
from ..nn.stack import Model
from ..nn.text import one_hot, split_tokens, token_ids
from ..store import ModelStore
from .errors import FieldError
from .schemas import CrossEntropyLoss, DhLoss, MseLoss, TraceRequest


@dataclass
class Problem:
    """Everything one run needs, in numpy."""

    model: Model
    arch: Architecture
    x: np.ndarray  # T x D numbers, or T token ids when the model has an embedding
    loss: Loss
    h0: np.ndarray | None
    c0: np.ndarray | None
    params: dict[str, np.ndarray]
    tokens: list[str] | None = None
    vocab: list[str] | None = None
    # The request as run: with `model_id`, its cell and sizes are the saved model's.
    request: TraceRequest | None = None

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def input_size(self) -> int:
        """Numbers per step at layer 0 (an embedding's width when token ids come in)."""
        return self.model.embedding.shape[1] if self.model.embedding is not None else self.x.shape[1]


def _values(n: int) -> str:
    """'1 value', '3 values'."""
    return f"{n} value" if n == 1 else f"{n} values"


def _matrix(rows: list[list], loc: tuple, what: str) -> np.ndarray:
    """A rectangular float64 array from nested lists, or a FieldError at the first ragged row."""
    if not rows:
        raise FieldError(loc, f"{what} is empty; expected at least one row")
    width = len(rows[0])
    for r, row in enumerate(rows):
        if len(row) != width:
            raise FieldError((*loc, r), f"row {r} of {what} has {_values(len(row))}; expected {width} like row 0")
    return np.array(rows, dtype=np.float64)


def _check_shape(arr: np.ndarray, expected: tuple[int, ...], loc: tuple, what: str, why: str = "") -> None:
    if arr.shape != expected:
        got = "x".join(map(str, arr.shape)) or "a scalar"
        want = "x".join(map(str, expected))
        raise FieldError(loc, f"{what} has shape {got}; expected {want}{why}")


def _inputs(
    req: TraceRequest, config: RunConfig | None, table: np.ndarray | None
) -> tuple[np.ndarray, list[str] | None, list[str] | None]:
    """(x, the sequence's tokens as strings, the vocabulary): x is T x D numbers, or the T
    token ids when the model has an embedding (`table`)."""
    given = [name for name in ("inputs", "text", "tokens") if getattr(req, name) is not None]
    if len(given) != 1:
        raise FieldError(
            ("inputs",), "give exactly one of `inputs` (T x D numbers), `text` (a string) or `tokens` (T token ids)"
        )
    vocab = config.vocab if config is not None else None
    if req.tokens is not None:
        return _token_ids(req.tokens, vocab, table)
    if req.text is not None:
        return _text(req.text, config, table)
    if table is not None:
        raise FieldError(("inputs",), "this model reads token ids through its embedding: give `tokens` or `text`")
    x = _matrix(req.inputs, ("inputs",), "inputs")
    steps, width = x.shape
    if steps > limits.MAX_STEPS:
        raise FieldError(
            ("inputs",), f"inputs has {steps} steps; at most {limits.MAX_STEPS} (over by {steps - limits.MAX_STEPS})"
        )
    if width == 0:
        raise FieldError(("inputs", 0), "each step needs at least one input value")
    if width > limits.MAX_INPUT_SIZE:
        raise FieldError(
            ("inputs", 0),
            f"each step has {width} values; at most {limits.MAX_INPUT_SIZE} (over by {width - limits.MAX_INPUT_SIZE})",
        )
    return x, None, None


def _text(text: str, config: RunConfig | None, table: np.ndarray | None):
    """Text through the model's vocabulary (a saved model), or one-hot over the text's own sorted
    characters (a model made for this request). Steps are tokens 0..n-2, targets the next."""
    if config is not None and config.vocab is None:
        raise FieldError(
            ("text",),
            "this saved model has no vocabulary, so which token each input stands for is unknown: upload it "
            "again with its vocab (in the model's order), or send `inputs`"
            + (" or `tokens`" if table is not None else ""),
        )
    try:
        pieces = split_tokens(text, config.vocab) if config is not None else list(text)
    except ValueError as err:
        raise FieldError(("text",), str(err)) from None
    if len(pieces) < 2:
        raise FieldError(
            ("text",),
            # (The page puts the field's name before the message: no "text" here.)
            "at least 2 tokens (characters, or words of a word vocabulary) are needed: inputs are tokens 0..n-2, "
            "targets the next",
        )
    if len(pieces) - 1 > limits.MAX_STEPS:
        raise FieldError(("text",), f"text has {len(pieces)} tokens; at most {limits.MAX_STEPS + 1}")
    vocab = config.vocab if config is not None else sorted(set(pieces))
    if len(vocab) > limits.MAX_INPUT_SIZE and table is None:
        raise FieldError(
            ("text",),
            f"text has {len(vocab)} distinct characters; at most {limits.MAX_INPUT_SIZE} "
            f"(over by {len(vocab) - limits.MAX_INPUT_SIZE})",
        )
    ids = token_ids(pieces[:-1], vocab)
    return (ids if table is not None else one_hot(ids, len(vocab))), pieces, vocab


def _token_ids(ids: list[int], vocab: list[str] | None, table: np.ndarray | None):
    if table is None and vocab is None:
        raise FieldError(("tokens",), "`tokens` needs a model with an embedding or a vocabulary; send `inputs`")
    if not ids:
        raise FieldError(("tokens",), "tokens is empty; give at least one token id")
    if len(ids) > limits.MAX_STEPS:
        raise FieldError(("tokens",), f"tokens has {len(ids)} ids; at most {limits.MAX_STEPS}")
    rows = table.shape[0] if table is not None else len(vocab)
    for k, token in enumerate(ids):
        if not 0 <= token < rows:
            raise FieldError(("tokens", k), f"token id {token} at step {k} is out of range; expected 0..{rows - 1}")
    x = np.array(ids, dtype=np.int64)
    if table is None:
        x = one_hot(x, rows)  # a one-hot model: each id picks its input
    return x, [vocab[t] for t in ids] if vocab is not None else None, vocab


def _state(rows: list[list[float]] | None, name: str, shape: tuple[int, int], rows_are: str) -> np.ndarray | None:
    if rows is None:
        return None
    arr = _matrix(rows, (name,), name)
    _check_shape(arr, shape, (name,), name, f" ({rows_are})")
    return arr


def _states(req: TraceRequest, arch: Architecture) -> tuple[np.ndarray | None, np.ndarray | None]:
    """h0 and c0: one row per (layer, direction) in PyTorch's order; h0's rows are P wide with a projection."""
    slots = "num_layers x 2 (forward, reverse of each layer)" if arch.bidirectional else "num_layers"
    h_width = "proj_size" if arch.proj_size else "hidden_size"
    h0 = _state(req.h0, "h0", (arch.slots, arch.state_size), f"{slots} rows of {h_width}")
    c0 = _state(req.c0, "c0", (arch.slots, arch.hidden_size), f"{slots} rows of hidden_size")
    return h0, c0


def architecture(req: TraceRequest) -> Architecture:
    """The request's stack, its settings checked against each other."""
    if req.proj_size and req.cell != "lstm":
        raise FieldError(("proj_size",), f"proj_size applies to the LSTM only; a {req.cell} has no projection")
    if req.proj_size >= req.hidden_size:
        raise FieldError(
            ("proj_size",), f"proj_size is {req.proj_size}; it must be below hidden_size ({req.hidden_size})"
        )
    if req.merge_mode != "concat" and not req.bidirectional:
        raise FieldError(("merge_mode",), "merge_mode applies to a bidirectional model; set bidirectional too")
    return Architecture(
        req.cell, req.hidden_size, req.num_layers, req.bidirectional, req.proj_size, req.bias, req.merge_mode
    )


def _weights(req: TraceRequest, arch: Architecture, input_size: int) -> dict[str, np.ndarray]:
    shapes = arch.shapes(input_size)
    if req.weights is None:
        return P.init_params(req.cell, input_size, req.hidden_size, req.num_layers, req.seed, arch)
    given = req.weights
    for name in given:
        if name not in shapes and name not in HEAD_PARAMS and name != EMBEDDING:
            kind = " ".join(
                w
                for w, on in (
                    ("bidirectional", arch.bidirectional),
                    (f"projected (proj_size {arch.proj_size})", arch.proj_size),
                    ("bias-free", not arch.bias),
                )
                if on
            )
            raise FieldError(
                ("weights", name),
                f"unknown tensor {name!r}; a {req.num_layers}-layer {kind + ' ' if kind else ''}{req.cell} has "
                f"{', '.join(shapes)} (and optionally {', '.join(HEAD_PARAMS)}, and {EMBEDDING} for token ids)"
                + (_hint_for(name) or ""),
            )
    missing = [n for n in shapes if n not in given]
    if missing:
        raise FieldError(("weights",), f"missing {', '.join(missing)}: give every recurrent tensor or none")
    if (HEAD_PARAMS[0] in given) != (HEAD_PARAMS[1] in given):
        raise FieldError(("weights",), f"give both {HEAD_PARAMS[0]} and {HEAD_PARAMS[1]}, or neither")
    blocks = SPECS[req.cell].blocks
    out: dict[str, np.ndarray] = {}
    for name, value in given.items():
        loc = ("weights", name)
        arr = _matrix(value, loc, name) if value and isinstance(value[0], list) else np.array(value, dtype=np.float64)
        if name in shapes:
            why = f" ({len(blocks)} blocks {','.join(blocks)} of hidden_size {req.hidden_size})"
            if name.startswith("weight_hr"):
                why = " (proj_size x hidden_size)"
            _check_shape(arr, shapes[name], loc, name, why)
        out[name] = arr
    return out


def _hint_for(name: str) -> str | None:
    """Which request setting a tensor name of another architecture needs."""
    if name.endswith("_reverse"):
        return "; a reverse direction's tensors need `bidirectional: true`"
    if name.startswith("weight_hr"):
        return "; a projection needs `proj_size`"
    if name.startswith("bias_"):
        return "; `bias: false` is set, so the layers have no biases"
    return None


def _loss(
    req: TraceRequest,
    arch: Architecture,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    next_ids: np.ndarray | None,
    vocab,
    default,
) -> Loss:
    spec = req.loss or default
    steps, width = x.shape[0], arch.output_size
    if isinstance(spec, DhLoss):
        if spec.dh is None:
            return Loss("dh", dh=np.ones((steps, width)))
        dh = _matrix(spec.dh, ("loss", "dh"), "loss.dh")
        _check_shape(dh, (steps, width), ("loss", "dh"), "loss.dh", " (steps x the top layer's output width)")
        return Loss("dh", dh=dh)

    head_rows = params[HEAD_PARAMS[0]].shape[0] if HEAD_PARAMS[0] in params else None
    if isinstance(spec, MseLoss):
        loc = ("loss", "targets")
        if not spec.targets:
            raise FieldError(loc, "loss.targets is empty; expected steps x outputs numbers")
        width = len(spec.targets[0])
        for r, row in enumerate(spec.targets):
            if len(row) != width:
                raise FieldError(
                    (*loc, r), f"row {r} of loss.targets has {len(row)} values; expected {width} like row 0"
                )
        targets = np.array([[np.nan if v is None else v for v in row] for row in spec.targets], dtype=np.float64)
        _check_shape(targets, (steps, width), loc, "loss.targets", " (one row per step)")
        if width == 0 or width > limits.MAX_OUTPUT_SIZE:
            raise FieldError(loc, f"loss.targets has {width} outputs per step; expected 1 to {limits.MAX_OUTPUT_SIZE}")
        if np.isnan(targets).all():
            raise FieldError(loc, "every target is null; give at least one number to score")
        if head_rows is not None and head_rows != width:
            raise FieldError(
                ("weights", HEAD_PARAMS[0]), f"head.weight has {head_rows} rows; the targets have {width} outputs"
            )
        return Loss("mse", targets=targets, num_classes=width)

    loc = ("loss", "targets")
    if spec.targets is None:
        if next_ids is None:
            raise FieldError(loc, "cross_entropy with numeric inputs needs targets (one class index per step)")
        targets = next_ids
    else:
        if len(spec.targets) != steps:
            raise FieldError(loc, f"loss.targets has {len(spec.targets)} entries; expected one per step ({steps})")
        targets = np.array([NO_CLASS if v is None else v for v in spec.targets], dtype=np.int64)
    scored = targets[targets != NO_CLASS]
    if scored.size == 0:
        raise FieldError(loc, "every target is null; give at least one class index to score")
    if vocab is not None and spec.num_classes is None and head_rows is None:
        classes = len(vocab)
    else:
        classes = spec.num_classes or head_rows or int(scored.max()) + 1
    if spec.num_classes is not None and head_rows is not None and spec.num_classes != head_rows:
        raise FieldError(
            ("loss", "num_classes"), f"num_classes is {spec.num_classes} but head.weight has {head_rows} rows"
        )
    if classes < 2:
        if spec.targets is None and next_ids is not None:
            # The classes are the text's own characters: the text is what to change, not the loss.
            raise FieldError(
                ("text",),
                "at least 2 different characters are needed: the next-character loss over a single "
                "character is always 0 (or choose the loss dh)",
            )
        raise FieldError(loc, "cross_entropy needs at least 2 classes; with one class the loss is always 0")
    if classes > limits.MAX_OUTPUT_SIZE:
        raise FieldError(loc, f"{classes} classes; at most {limits.MAX_OUTPUT_SIZE}")
    bad = np.flatnonzero((targets != NO_CLASS) & ((targets < 0) | (targets >= classes)))
    if bad.size:
        k = int(bad[0])
        raise FieldError(
            (*loc, k), f"target {int(targets[k])} at step {k} is out of range; expected 0..{classes - 1} or null"
        )
    return Loss("cross_entropy", targets=targets, num_classes=classes)


def _stored(req: TraceRequest, store: ModelStore) -> tuple[TraceRequest, dict[str, np.ndarray], RunConfig]:
    """A saved model's parameters and run settings, with its cell and sizes taking the request's place."""
    if req.weights is not None:
        raise FieldError(("model_id",), "give `weights` or `model_id`, not both")
    record = store.get(req.model_id)
    params = store.params(req.model_id) if record is not None else None
    if record is None or params is None:
        raise FieldError(("model_id",), f"no saved model {req.model_id}", status=404)
    config = RunConfig.from_meta(record.meta)
    arch = read(record.cell, params, record.num_layers, config.merge_mode)
    own = {
        "cell": record.cell,
        "hidden_size": record.hidden_size,
        "num_layers": record.num_layers,
        "bidirectional": arch.bidirectional,
        "merge_mode": arch.merge_mode,
        "proj_size": arch.proj_size,
        "bias": arch.bias,
    }
    for name, value in own.items():
        if name in req.model_fields_set and getattr(req, name) != value:
            raise FieldError(
                (name,), f"{name} is {getattr(req, name)!r} but the saved model has {value!r}; leave it out"
            )
    return req.model_copy(update=own), params, config


def refuse_settings_it_lacks(cell: str, given: list[str], loc: tuple = ()) -> None:
    """Refuse, by name, a setting that acts on a part this cell does not have (forget_bias, c0).

    The one check for the trace endpoints, the comparison's per-cell overrides and training.
    """
    for setting in given:
        part = missing_part(cell, setting)
        if part is not None:
            raise FieldError((*loc, setting), f"{setting} applies to the LSTM only; a {cell} has no {part}")


def _default_loss(req: TraceRequest, params: dict, config: RunConfig | None, vocab) -> DhLoss | CrossEntropyLoss:
    """Next-token cross-entropy for text (and token ids into a model that predicts its own
    vocabulary); otherwise the upstream dh of ones, the head (if any) still answering y."""
    if req.text is None and req.tokens is None:
        return DhLoss(kind="dh")
    if config is None:  # a model made for this request: text trains a character model's head
        return CrossEntropyLoss(kind="cross_entropy") if req.text is not None else DhLoss(kind="dh")
    head_rows = params[HEAD_PARAMS[0]].shape[0] if HEAD_PARAMS[0] in params else None
    predicts_vocab = config.output_kind == "logits" and vocab is not None and head_rows == len(vocab)
    return CrossEntropyLoss(kind="cross_entropy") if predicts_vocab else DhLoss(kind="dh")


def _next_ids(req: TraceRequest, x: np.ndarray, tokens, vocab) -> np.ndarray | None:
    """Each step's next token (the default targets): text steps are tokens 0..n-2, so every step
    has one; with token ids every id is a step and the last has none."""
    if req.text is not None:
        return token_ids(tokens[1:], vocab)
    if req.tokens is not None and vocab is not None:
        return np.append(np.asarray(req.tokens[1:], dtype=np.int64), NO_CLASS)
    return None


def build(req: TraceRequest, store: ModelStore) -> Problem:
    """The engine's inputs for a request; `store` holds the saved model a `model_id` names."""
    stored, config = None, None
    if req.model_id is not None:
        req, stored, config = _stored(req, store)
    table = stored.get(EMBEDDING) if stored is not None else _given_embedding(req)
    arch = architecture(req)
    x, tokens, vocab = _inputs(req, config, table)
    steps = x.shape[0]
    input_size = table.shape[1] if table is not None else x.shape[1]
    work = steps * req.hidden_size * req.num_layers * arch.directions
    if work > limits.MAX_WORK:
        dirs = " x 2 directions" if arch.bidirectional else ""
        raise FieldError(
            ("hidden_size",),
            f"steps x hidden_size x num_layers{dirs} = {steps} x {req.hidden_size} x {req.num_layers}"
            f"{' x 2' if dirs else ''} = {work}; at most {limits.MAX_WORK} (over by {work - limits.MAX_WORK}), "
            "which bounds the memory a run holds: shorten the sequence or use a smaller model",
        )
    if req.nonlinearity is not None and req.cell != "rnn":
        raise FieldError(("nonlinearity",), f"nonlinearity applies to the RNN only; a {req.cell} has gates")
    if config is not None and req.nonlinearity is not None and req.nonlinearity != config.nonlinearity:
        raise FieldError(
            ("nonlinearity",),
            f"nonlinearity is {req.nonlinearity} but the saved model computes {config.nonlinearity}; leave it out",
        )
    # forget_bias 0 is the schema's default, accepted for every cell.
    refuse_settings_it_lacks(
        req.cell, [n for n, v in (("forget_bias", req.forget_bias != 0.0), ("c0", req.c0 is not None)) if v]
    )
    if req.forget_bias != 0.0 and not arch.bias:
        raise FieldError(("forget_bias",), "forget_bias is added to bias_ih, and this model has no biases (bias false)")
    h0, c0 = _states(req, arch)

    if stored is None:
        params = _weights(req, arch, input_size)
    else:
        params = stored
        expected = params["weight_ih_l0"].shape[1]
        if input_size != expected:
            raise FieldError(
                ("text" if req.text is not None else "inputs",),
                f"the saved model takes {expected} inputs per step; this sequence has {input_size}",
            )
    if req.cell == "lstm":
        P.add_forget_bias(params, req.num_layers, req.forget_bias)
    loss = _loss(
        req, arch, params, x, _next_ids(req, x, tokens, vocab), vocab, _default_loss(req, params, config, vocab)
    )
    if loss.uses_head:
        if HEAD_PARAMS[0] in params:
            _check_shape(
                params[HEAD_PARAMS[0]],
                (loss.num_classes, arch.output_size),
                ("weights", HEAD_PARAMS[0]),
                HEAD_PARAMS[0],
                " (outputs x the top layer's output width)",
            )
            _check_shape(
                params[HEAD_PARAMS[1]], (loss.num_classes,), ("weights", HEAD_PARAMS[1]), HEAD_PARAMS[1], " (outputs)"
            )
        else:
            params.update(P.init_head(arch.output_size, loss.num_classes, req.seed))
    elif stored is None and req.weights is None:
        # A model made for this request has no head unless its loss reads one.
        params.pop(HEAD_PARAMS[0], None)
        params.pop(HEAD_PARAMS[1], None)

    head_rows = params[HEAD_PARAMS[0]].shape[0] if HEAD_PARAMS[0] in params else 0
    if head_rows and steps * head_rows > limits.MAX_HEAD_WORK:
        raise FieldError(
            ("text" if req.text is not None else "tokens" if req.tokens is not None else "inputs",),
            f"steps x head outputs = {steps} x {head_rows} = {steps * head_rows}; at most {limits.MAX_HEAD_WORK} "
            f"(the head's logits, probabilities and gradient are each a steps x outputs array): shorten the sequence "
            f"to at most {limits.MAX_HEAD_WORK // head_rows} steps",
        )
    # A model made for this request runs as the request says: no softmax read-out of its own.
    run_as = (
        config if config is not None else RunConfig(nonlinearity=req.nonlinearity or "tanh", merge_mode=req.merge_mode)
    )
    model = run_as.model(req.cell, params, req.num_layers)
    return Problem(model, arch, x, loss, h0, c0, params, tokens, vocab, req)


def _given_embedding(req: TraceRequest) -> np.ndarray | None:
    """An embedding among the request's own weights (token ids in), checked as a matrix."""
    if req.weights is None or EMBEDDING not in req.weights:
        return None
    value = req.weights[EMBEDDING]
    if not value or not isinstance(value[0], list):
        raise FieldError(("weights", EMBEDDING), f"{EMBEDDING} must be a matrix (vocabulary x input size)")
    table = _matrix(value, ("weights", EMBEDDING), EMBEDDING)
    if table.shape[0] > limits.MAX_VOCAB or table.shape[1] > limits.MAX_INPUT_SIZE or table.shape[1] == 0:
        raise FieldError(
            ("weights", EMBEDDING),
            f"{EMBEDDING} is {table.shape[0]} x {table.shape[1]}; at most {limits.MAX_VOCAB} rows of 1 to "
            f"{limits.MAX_INPUT_SIZE} numbers",
        )
    return table
