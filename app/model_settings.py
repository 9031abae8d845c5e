"""The settings a saved model runs with, and the upload form fields that give them.

A file states some settings (a Keras config, an ONNX node's attributes), cannot carry others
(a PyTorch state dict knows nothing of an RNN's nonlinearity or of the vocabulary's order),
and the user may give them with the upload (`FORM_FIELDS`). `resolve` puts the three
together into the `config` a saved model keeps (`RunConfig`): a setting given that
contradicts the file is refused; a setting that changes the numbers and is neither read nor
given is refused when there is no safe default (an RNN's tanh or relu), and otherwise
assumed at a default that the response and the page state.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass

import numpy as np

from . import limits
from .model_source import ModelSource
from .nn.layouts import Imported
from .nn.rnn import NONLINEARITIES
from .nn.spec import EMBEDDING
from .nn.stack import Model

# Upload form field -> what it gives (also the OpenAPI description of the field).
FORM_FIELDS = {
    "nonlinearity": "RNN only: tanh or relu (PyTorch's nonlinearity, Keras' SimpleRNN activation). Needed for a "
    "file that cannot say (a state dict, a .weights.h5).",
    "vocab": "The tokens in the model's order (index = one-hot position or embedding row): a JSON list of "
    'strings (["a", "b", " "]) or, for characters, the characters themselves ("ab "). Needed to run text.',
    "output": "What the head's outputs are: logits (a softmax gives the model's probabilities: a classifier, "
    "a character model) or values (read as they are: regression).",
    "labels": 'The head\'s output names, as a JSON list of strings (["neg", "pos"]).',
}
OUTPUTS = ("logits", "values")


class SettingError(ValueError):
    """A setting refused; `field` names the form field (or "file" when the file is the problem)."""

    def __init__(self, field: str, msg: str):
        super().__init__(msg)
        self.field = field


@dataclass
class RunConfig:
    """What the engine needs, beyond the weights, to run a saved model as its framework does."""

    nonlinearity: str = "tanh"  # RNN
    input_kind: str = "numbers"  # numbers | onehot | tokens (through the embedding)
    output_kind: str | None = None  # logits | values; None without a head
    output_steps: str = "all"  # all | last (the framework answers at the last step only)
    vocab: list[str] | None = None
    labels: list[str] | None = None
    merge_mode: str = "concat"  # a bidirectional model's (Keras may sum, average or multiply)

    def as_dict(self) -> dict:
        return asdict(self)

    def model(self, cell: str, params: dict[str, np.ndarray], num_layers: int) -> Model:
        """The engine's model of these parameters, run as this config says (the one place both
        the trace endpoints and the parity check build it)."""
        return Model.of(
            cell,
            params,
            num_layers,
            self.merge_mode,
            nonlinearity=self.nonlinearity,
            softmax_head=self.output_kind == "logits",
        )

    @classmethod
    def from_meta(cls, meta: dict) -> RunConfig:
        """A saved model's config; models saved before configs existed ran as numbers, tanh."""
        config = meta.get("config") or {}
        return (
            cls(**{k: v for k, v in config.items() if k in cls.__dataclass_fields__})
            if config
            else cls(vocab=meta.get("vocab"), input_kind="onehot" if meta.get("vocab") else "numbers")
        )


def _token_list(field: str, text: str) -> list[str]:
    """A JSON list of strings, or (vocab only) the characters of a plain string."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise SettingError(field, f"{field} starts with '[' but is not a JSON list ({err.msg})") from None
        except RecursionError:
            raise SettingError(field, f"{field} is nested too deeply; expected a flat JSON list of strings") from None
        if not (isinstance(value, list) and all(isinstance(t, str) for t in value)):
            raise SettingError(field, f"{field} must be a JSON list of strings")
        return value
    if field != "vocab":
        raise SettingError(field, f"{field} must be a JSON list of strings")
    return list(text)  # characters, spaces and all


def _check_tokens(field: str, tokens: list[str]) -> list[str]:
    """The checks every vocabulary and label list passes, from the form or from the file."""
    if not tokens:
        raise SettingError(field, f"{field} is empty")
    if len(tokens) > limits.MAX_VOCAB:
        raise SettingError(field, f"{field} has {len(tokens)} entries; at most {limits.MAX_VOCAB}")
    chars = sum(len(t) for t in tokens)
    if chars > limits.MAX_VOCAB_CHARS:
        raise SettingError(field, f"{field} holds {chars} characters in all; at most {limits.MAX_VOCAB_CHARS}")
    seen: dict[str, int] = {}
    for k, token in enumerate(tokens):
        if token == "" or len(token) > limits.MAX_TOKEN_CHARS:
            raise SettingError(
                field, f"{field} entry {k} has {len(token)} characters; expected 1 to {limits.MAX_TOKEN_CHARS}"
            )
        if any(unicodedata.category(ch) == "Cs" for ch in token):
            raise SettingError(field, f"{field} entry {k} holds a lone surrogate")
        if token in seen:
            raise SettingError(field, f"{field} lists {token!r} twice (entries {seen[token]} and {k})")
        seen[token] = k
    return tokens


def parse_form(form: dict[str, str | None]) -> dict[str, object]:
    """The settings the upload form gives, parsed and checked on their own.

    An empty field is not given (a browser form sends every field, filled or not).
    """
    form = {k: v for k, v in form.items() if v is not None and v.strip() != ""}
    given: dict[str, object] = {}
    if form.get("nonlinearity") is not None:
        value = form["nonlinearity"].strip().lower()
        if value not in NONLINEARITIES:
            raise SettingError("nonlinearity", f"nonlinearity is {form['nonlinearity']!r}; expected tanh or relu")
        given["nonlinearity"] = value
    if form.get("output") is not None:
        value = form["output"].strip().lower()
        if value not in OUTPUTS:
            raise SettingError("output", f"output is {form['output']!r}; expected logits or values")
        given["output"] = value
    for field in ("vocab", "labels"):
        if form.get(field) is not None:
            given[field] = _check_tokens(field, _token_list(field, form[field]))
    return given


def resolve(source: ModelSource, imported: Imported, given: dict[str, object]) -> RunConfig:
    """The model's RunConfig; records in `source` what was given and what is assumed."""
    config = RunConfig(output_steps=source.output_steps, merge_mode=imported.merge_mode)
    source.given = {k: (f"{len(v)} entries" if isinstance(v, list) else v) for k, v in given.items()}

    # The RNN's nonlinearity: read, given, or asked for (tanh and relu are both common).
    if "nonlinearity" in given and imported.cell != "rnn":
        raise SettingError("nonlinearity", f"nonlinearity applies to an RNN; this model is a {imported.cell.upper()}")
    if imported.cell == "rnn":
        if source.configured:
            if "nonlinearity" in given and given["nonlinearity"] != source.nonlinearity:
                raise SettingError(
                    "nonlinearity",
                    f"nonlinearity is given as {given['nonlinearity']} but the file says {source.nonlinearity}; "
                    "leave it out",
                )
            config.nonlinearity = source.nonlinearity
        elif "nonlinearity" in given:
            config.nonlinearity = str(given["nonlinearity"])
        else:
            raise SettingError(
                "nonlinearity",
                "this file holds an RNN's weights but not whether it computes tanh or relu (PyTorch's "
                "nonlinearity, Keras' activation), and the numbers differ: give nonlinearity (tanh or relu) "
                "with the upload",
            )
        source.assumed.pop("SimpleRNN activation", None)

    # The vocabulary: tokens in the model's order; one read from the file passes the same checks.
    if source.vocab is not None:
        _check_tokens("vocab", source.vocab)
    vocab = given.get("vocab", source.vocab)
    if "vocab" in given and source.vocab is not None and given["vocab"] != source.vocab:
        raise SettingError("vocab", "vocab is given but the file has its own, in another order; leave it out")
    if EMBEDDING in imported.params:
        config.input_kind = "tokens"
        if vocab is not None and len(vocab) != imported.vocab_size:
            raise SettingError(
                "vocab", f"vocab has {len(vocab)} tokens but the embedding has {imported.vocab_size} rows"
            )
    elif vocab is not None:
        config.input_kind = "onehot"
        if len(vocab) != imported.input_size:
            raise SettingError(
                "vocab",
                f"vocab has {len(vocab)} tokens but the model takes {imported.input_size} inputs per step "
                "(one-hot: one input per token)",
            )
    config.vocab = list(vocab) if vocab is not None else None

    # The head's outputs.
    has_head = imported.output_size is not None
    if not has_head:
        for field in ("output", "labels"):
            if field in given:
                raise SettingError(field, f"{field} describes the head's outputs; this model has no head")
    else:
        # A softmax in the file says "logits"; its absence says nothing (a linear Dense trained
        # with from_logits=True, an exported classifier without its softmax).
        read_kind = source.output_kind if source.output_kind == "logits" else None
        if read_kind is not None:
            if "output" in given and given["output"] != read_kind:
                raise SettingError("output", f"output is given as {given['output']} but the file says {read_kind}")
            config.output_kind = read_kind
        elif "output" in given:
            config.output_kind = str(given["output"])
        elif config.vocab is not None and imported.output_size == len(config.vocab):
            config.output_kind = "logits"
            source.assumed["output"] = "logits: one output per vocabulary token, read through a softmax"
        else:
            config.output_kind = "values"
            source.assumed["output"] = "values: the head's outputs as they are (give output=logits for a classifier)"
        labels = given.get("labels", source.labels)
        if labels is not None and len(labels) != imported.output_size:
            raise SettingError(
                "labels", f"labels has {len(labels)} names but the head has {imported.output_size} outputs"
            )
        config.labels = list(labels) if labels is not None else None
    source.input_kind = config.input_kind
    source.output_kind = config.output_kind
    source.nonlinearity = config.nonlinearity
    return config
