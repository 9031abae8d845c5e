"""Framework weight layouts, to and from this engine's (PyTorch's) layout.

The most common confusion in the field is which block of a weight matrix is which gate.
Each layout here says, per tensor, the gate order of its blocks and whether it is stored
transposed; `to_pytorch` and `from_pytorch` reorder blocks and transpose accordingly and
report every mapping they applied, so the page can show it.

| layout  | LSTM blocks | GRU blocks | per layer                          | biases          |
|---------|-------------|------------|------------------------------------|-----------------|
| pytorch | i f g o     | r z n      | weight_ih (kH x D), weight_hh      | bias_ih, bias_hh|
| keras   | i f c o     | z r h      | kernel (D x kH), recurrent_kernel  | bias (kH) / (2, kH) for GRU reset_after |
| onnx    | i o f c     | z r h      | W (1 x kH x D), R (1 x kH x H)     | B (1 x 2kH): Wb then Rb |
| book    | f g i o     | -          | Wx (D x kH), Wh (H x kH)           | b (kH)          |

Keras' c and ONNX's c / h are the candidate PyTorch calls g (LSTM) and n (GRU).

Beyond one direction with biases (app/nn/architecture.py names the tensors): a reverse
direction is PyTorch's `_reverse` tensors, Keras' backward layer (a name part `backward...`
beside its `forward...` twin) and ONNX's direction 1 (W, R, B of num_directions = 2); an LSTM's
projection is PyTorch's `weight_hr_l{k}` (no other layout has one); a bias-free layer has no
bias tensors at all, in every layer or in none (never zeros in their place: zeros could be
trained, an absent bias cannot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .architecture import MERGE_MODES, Architecture
from .architecture import read as read_architecture
from .spec import EMBEDDING, PROJECTION, SPECS, param_name

LAYOUTS = ("pytorch", "keras", "onnx", "book")

# Gate order of the blocks in each layout, written in PyTorch's names (PyTorch's own is the
# engine's, from spec.py; the others are each framework's documented order).
BLOCK_ORDER: dict[str, dict[str, tuple[str, ...]]] = {
    "pytorch": {name: spec.blocks for name, spec in SPECS.items()},
    "keras": {"lstm": ("i", "f", "g", "o"), "gru": ("z", "r", "n"), "rnn": ("a",)},
    "onnx": {"lstm": ("i", "o", "f", "g"), "gru": ("z", "r", "n"), "rnn": ("a",)},
    "book": {"lstm": ("f", "g", "i", "o"), "rnn": ("a",)},
}
# How each layout names the candidate block, for the mapping table.
BLOCK_LABEL = {"keras": {"g": "c", "n": "h"}, "onnx": {"g": "c", "n": "h"}}


class LayoutError(ValueError):
    """A tensor set that does not fit the layout; `tensor` names the culprit."""

    def __init__(self, tensor: str | None, msg: str):
        super().__init__(msg)
        self.tensor = tensor


@dataclass
class Mapping:
    """One source tensor and where it went."""

    source: str
    shape: tuple[int, ...]
    target: str
    blocks: list[str] = field(default_factory=list)  # source block order, in PyTorch gate names
    note: str = ""
    source_blocks: list[str] = field(default_factory=list)  # the same, as the source layout names them

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "shape": list(self.shape),
            "target": self.target,
            "blocks": self.blocks,
            "source_blocks": self.source_blocks or self.blocks,
            "note": self.note,
        }


@dataclass
class Imported:
    cell: str
    params: dict[str, np.ndarray]  # PyTorch layout
    mapping: list[Mapping]
    input_size: int
    hidden_size: int
    num_layers: int
    output_size: int | None
    layout: str = "pytorch"
    vocab_size: int | None = None  # rows of the embedding, when the model has one
    merge_mode: str = "concat"  # a bidirectional stack's (Keras may sum, average or multiply)
    architecture: Architecture | None = None  # directions, projection, biases (set by _validated)


def _reorder(arr: np.ndarray, src: tuple[str, ...], dst: tuple[str, ...], axis: int = 0) -> np.ndarray:
    """Permute equal blocks along `axis` from order `src` to order `dst`."""
    blocks = np.split(arr, len(src), axis=axis)
    return np.concatenate([blocks[src.index(g)] for g in dst], axis=axis)


def _gates_in(name: str, arr: np.ndarray, hidden: int, src: tuple[str, ...], dst: tuple[str, ...]) -> np.ndarray:
    """`_reorder` of an imported tensor whose gate axis (axis 0 here) must be k·H long.

    Checked first: np.split would raise a bare ValueError on any other length, and a
    length that splits evenly but is not k·H would map the wrong rows to each gate.
    """
    rows = len(src) * hidden
    if arr.ndim < 1 or arr.shape[0] != rows:
        got = arr.shape[0] if arr.ndim else "no"
        raise LayoutError(
            name,
            f"{name} has a gate axis of {got} rows; expected {len(src)}·H = {rows} "
            f"({len(src)} blocks {' '.join(src)} of hidden size {hidden})",
        )
    return _reorder(arr, src, dst)


_LAYER = re.compile(r"(\d+)")


def _layer_key(prefix: str) -> tuple[list[tuple[int, str]], str]:
    """Sort key: the numbers in a prefix compared as numbers, without int().

    int() refuses strings over 4300 digits; (digit count, digits) orders the same way.
    """
    numbers = [d.lstrip("0") or "0" for d in _LAYER.findall(prefix)]
    return [(len(n), n) for n in numbers], prefix


_PYTORCH = re.compile(r"(?:(?:weight|bias)_(?:ih|hh)|weight_hr)_l\d+(?:_reverse)?")


def _leaf(name: str) -> str:
    """The last component of a tensor name, without a TensorFlow ':0' suffix."""
    return re.split(r"[/.]", re.sub(r":\d+$", "", name))[-1]


def detect_layout(names: list[str]) -> str | None:
    """Guess the layout from tensor names alone (shapes are checked afterwards)."""
    leaves = {_leaf(n) for n in names}
    if any(_PYTORCH.fullmatch(leaf) for leaf in leaves):
        return "pytorch"
    if "recurrent_kernel" in leaves:
        return "keras"
    if {"Wx", "Wh"} <= leaves:
        return "book"
    if {"W", "R"} <= leaves:
        return "onnx"
    return None


def _cell_from_ratio(rows: int, hidden: int, tensor: str, layout: str) -> str:
    ratio = rows // hidden if hidden and rows % hidden == 0 else 0
    for name, spec in SPECS.items():
        if spec.num_blocks == ratio and name in BLOCK_ORDER[layout]:
            return name
    raise LayoutError(
        tensor, f"{tensor}: {rows} rows for hidden size {hidden} is not 4 (LSTM), 3 (GRU) or 1 (RNN) blocks"
    )


def _check_2d(name: str, arr: np.ndarray, ndim: int) -> None:
    if arr.ndim != ndim:
        raise LayoutError(name, f"{name} has {arr.ndim} dimensions {arr.shape}; expected {ndim}")


def _group(
    tensors: dict[str, np.ndarray], tokens: dict[str, str]
) -> tuple[dict[int, dict[str, tuple[str, np.ndarray]]], dict[str, np.ndarray]]:
    """Sort tensors into layers by role; tensors with no role are returned apart.

    A layer is everything sharing a name prefix ('lstm_1/lstm_cell/', 'layer0.', '');
    layers are numbered by the numbers in their prefixes, so 'lstm/' < 'lstm_1/' <
    'lstm_10/' and 'sequential_3/lstm/' < 'sequential_3/lstm_1/'.
    """
    by_prefix: dict[str, dict[str, tuple[str, np.ndarray]]] = {}
    rest: dict[str, np.ndarray] = {}
    for name, arr in tensors.items():
        leaf = _leaf(name)
        role = tokens.get(leaf)
        if role is None or name.startswith("head."):
            rest[name] = arr
            continue
        prefix = re.sub(r":\d+$", "", name)[: -len(leaf)]
        slot = by_prefix.setdefault(prefix, {})
        if role in slot:
            raise LayoutError(name, f"{name} and {slot[role][0]} both look like the {role} of one layer")
        slot[role] = (name, arr)
    order = sorted(by_prefix, key=_layer_key)
    return {k: by_prefix[p] for k, p in enumerate(order)}, rest


def _pytorch_in(
    tensors: dict[str, np.ndarray], merge_mode: str = "concat"
) -> tuple[str, dict[str, np.ndarray], list[Mapping], dict[str, np.ndarray]]:
    """A state dict, bare (weight_ih_l0) or from a module holding the RNN (rnn.weight_ih_l0):
    both directions (`_reverse`), an LSTM's projection (weight_hr_l{k}), with or without biases.

    A module's read-out (fc.weight / fc.bias, any one prefix) becomes the head.
    """
    params, mapping, rest, sources = {}, [], {}, {}
    for name, arr in tensors.items():
        leaf = _leaf(name)
        if _PYTORCH.fullmatch(leaf):
            if leaf in params:
                raise LayoutError(name, f"{name} and {sources[leaf]} are both {leaf}: one recurrent module per file")
            params[leaf], sources[leaf] = arr, name
        else:
            rest[name] = arr
    if "weight_hh_l0" not in params:
        raise LayoutError(
            "weight_hh_l0", "a PyTorch state dict needs weight_hh_l0 (and weight_ih_l0, biases) for layer 0"
        )
    _check_2d(sources["weight_hh_l0"], params["weight_hh_l0"], 2)
    proj = params.get(param_name(PROJECTION, 0))
    if proj is not None:
        _check_2d(sources[param_name(PROJECTION, 0)], proj, 2)
    # H: the cell's units (a projection's W_hr is P x H; W_hh then reads the P numbers of h).
    units = proj.shape[1] if proj is not None else params["weight_hh_l0"].shape[-1]
    cell = _cell_from_ratio(params["weight_hh_l0"].shape[0], units, "weight_hh_l0", "pytorch")
    for name, arr in params.items():
        if name.startswith(PROJECTION):
            if cell != "lstm":
                raise LayoutError(
                    name,
                    f"{name} is a projection (PyTorch's proj_size), which only an LSTM has; this is a {cell.upper()}",
                )
            mapping.append(Mapping(sources[name], arr.shape, name, [], "projection: h = W_hr (o * tanh c)"))
            continue
        mapping.append(Mapping(sources[name], arr.shape, name, list(BLOCK_ORDER["pytorch"][cell])))
    input_size = params["weight_ih_l0"].shape[-1] if "weight_ih_l0" in params else None
    # What the top layer hands the head: h (P with a projection, else H), both directions' side by side.
    width = params["weight_hh_l0"].shape[-1]
    if param_name("weight_ih", 0, 1) in params and merge_mode == "concat":
        width *= 2
    _pytorch_modules_around(rest, input_size, width, mapping)
    return cell, params, mapping, rest


# Names a state dict gives its embedding (nn.Embedding) by convention: word_language_model's
# `encoder`, GPT-2's `wte`, and the many `embed*`, `emb*`, `tok*`.
_EMBEDDING_NAME = re.compile(r"(^|[._])(emb\w*|encoder|wte|tok\w*|lookup\w*)$", re.IGNORECASE)


def _pytorch_modules_around(rest: dict[str, np.ndarray], input_size: int | None, hidden: int, mapping) -> None:
    """A module's other tensors (in place): an nn.Embedding before the RNN, an nn.Linear after.

    An embedding is a weight without bias whose width is the RNN's input size; a head is a
    weight (bias optional) whose width is the hidden size. When one tensor could be either
    (a bias-free head of a model whose input size equals its hidden size), the name decides,
    and a name that does not is refused rather than guessed.
    """
    modules: dict[str, dict[str, str]] = {}
    for name in rest:
        if name.endswith((".weight", ".bias")) and name != EMBEDDING and not name.startswith("head."):
            prefix, kind = name.rsplit(".", 1)
            modules.setdefault(prefix, {})[kind] = name
    embeddings, heads = [], []
    for prefix, kinds in modules.items():
        weight = rest.get(kinds.get("weight", ""))
        if weight is None or weight.ndim != 2:
            continue
        may_embed = "bias" not in kinds and weight.shape[1] == input_size
        may_head = weight.shape[1] == hidden
        if may_embed and may_head:
            (embeddings if _EMBEDDING_NAME.search(prefix) else heads).append(prefix)
        elif may_embed:
            embeddings.append(prefix)
        elif may_head:
            heads.append(prefix)
    if len(embeddings) > 1 or len(heads) > 1:
        names = ", ".join(f"{p}.weight" for p in embeddings + heads)
        raise LayoutError(
            None,
            f"{names}: more than one tensor could be the embedding or the head; name them embedding.weight and head.weight",
        )
    if embeddings and EMBEDDING not in rest:
        prefix = embeddings[0]
        rest[EMBEDDING] = rest.pop(f"{prefix}.weight")
        mapping.append(
            Mapping(f"{prefix}.weight", rest[EMBEDDING].shape, EMBEDDING, [], "an nn.Embedding: token ids in")
        )
    if heads and "head.weight" not in rest:
        prefix = heads[0]
        for kind in ("weight", "bias"):
            if f"{prefix}.{kind}" in rest:
                arr = rest.pop(f"{prefix}.{kind}")
                rest[f"head.{kind}"] = arr
                if prefix != "head":
                    mapping.append(Mapping(f"{prefix}.{kind}", arr.shape, f"head.{kind}"))


# A Keras Bidirectional layer's halves: a part of the name `forward...` or `backward...`
# ('bidirectional/forward_lstm/lstm_cell/', Keras 3's 'bidirectional/backward_layer/cell/').
_DIRECTION_PART = re.compile(r"(forward|backward)(?:_layer)?(?:_(.*))?")
_DIRECTION_WORDS = ("forward", "backward")


def _direction(prefix: str, tensor: str) -> tuple[str, int]:
    """(the layer's prefix with its direction part taken out, 0 forward or 1 backward)."""
    parts = re.split(r"([/.])", prefix)
    found = [(k, m) for k, part in enumerate(parts) if (m := _DIRECTION_PART.fullmatch(part))]
    if not found:
        return prefix, 0
    if len(found) > 1:
        raise LayoutError(tensor, f"{tensor}: its name has two direction parts ({found[0][1][0]}, {found[1][1][0]})")
    k, m = found[0]
    parts[k] = m.group(2) or ""
    return "".join(parts), _DIRECTION_WORDS.index(m.group(1))


def _paired(
    groups: list[dict[str, tuple[str, np.ndarray]]], role: str
) -> list[list[dict[str, tuple[str, np.ndarray]]]]:
    """Recurrent layers, bottom first, each [forward] or [forward, backward]: the two halves of a
    bidirectional layer are the groups whose names differ only in their direction part."""
    pairs: dict[str, list] = {}
    for group in groups:
        name = group[role][0]
        prefix = re.sub(r":\d+$", "", name)[: -len(_leaf(name))]
        key, d = _direction(prefix, name)
        pair = pairs.setdefault(key, [None, None])
        if pair[d] is not None:
            raise LayoutError(
                name, f"{name} and {pair[d][role][0]} are both the {_DIRECTION_WORDS[d]} direction of one layer"
            )
        pair[d] = group
    layers = []
    for key in sorted(pairs, key=_layer_key):
        forward, backward = pairs[key]
        if forward is None:
            name = backward[role][0]
            raise LayoutError(name, f"{name} is a backward (reverse) direction without its forward twin")
        layers.append([forward] if backward is None else [forward, backward])
    both = [len(pair) == 2 for pair in layers]
    if any(both) and not all(both):
        one, other = layers[both.index(True)][0][role][0], layers[both.index(False)][0][role][0]
        raise LayoutError(
            other,
            f"{one} is in a bidirectional layer and {other} is not; the engine's stack runs both directions in "
            "every layer or in none",
        )
    return layers


def _biases_everywhere_or_nowhere(slots: list[dict[str, tuple[str, np.ndarray]]], role: str, bias: str) -> bool:
    """Whether the layers have biases: all of them, or none (a mix is a broken file, not a bias-free model)."""
    has = [bias in slot for slot in slots]
    if any(has) and not all(has):
        one, other = slots[has.index(True)][role][0], slots[has.index(False)][role][0]
        raise LayoutError(
            other,
            f"{other}'s layer has no {bias} but {one}'s has; a bias-free model has no biases in any layer "
            "(and absent biases are never read as zeros)",
        )
    return all(has)


def _keras_in(tensors, merge_mode="concat"):
    # Layers told apart by what they hold, not by their names: a recurrent layer has a
    # recurrent_kernel; a Dense read-out ('dense/kernel', 'sequential/out/kernel:0') only a
    # kernel and a bias.
    groups, rest = _group(tensors, {"kernel": "kernel", "recurrent_kernel": "recurrent_kernel", "bias": "bias"})
    ordered = [groups[k] for k in sorted(groups)]
    head = [g for g in ordered if "recurrent_kernel" not in g]
    if not any("recurrent_kernel" in g for g in ordered):
        names = ", ".join(sorted(tensors)[:6])
        raise LayoutError(None, f"no Keras recurrent layer (a tensor named …/recurrent_kernel) among {names}")
    layers = _paired([g for g in ordered if "recurrent_kernel" in g], "recurrent_kernel")
    params, mapping = {}, []
    first = layers[0][0]
    _check_2d(*first["recurrent_kernel"], 2)
    hidden = first["recurrent_kernel"][1].shape[0]
    cell = _cell_from_ratio(first["recurrent_kernel"][1].shape[-1], hidden, first["recurrent_kernel"][0], "keras")
    src, dst = BLOCK_ORDER["keras"][cell], BLOCK_ORDER["pytorch"][cell]
    has_bias = _biases_everywhere_or_nowhere([s for pair in layers for s in pair], "recurrent_kernel", "bias")
    for k, pair in enumerate(layers):
        for d, slot in enumerate(pair):
            for role in ("kernel", "recurrent_kernel"):
                if role not in slot:
                    raise LayoutError(None, f"layer {k} ({slot['recurrent_kernel'][0]}) has no {role}")
            (kn, kernel), (rn, rec) = slot["kernel"], slot["recurrent_kernel"]
            _check_2d(kn, kernel, 2)
            _check_2d(rn, rec, 2)
            side = f"{_DIRECTION_WORDS[d]} direction: " if len(pair) == 2 else ""
            params[param_name("weight_ih", k, d)] = _gates_in(kn, kernel.T, hidden, src, dst)
            params[param_name("weight_hh", k, d)] = _gates_in(rn, rec.T, hidden, src, dst)
            mapping.append(Mapping(kn, kernel.shape, param_name("weight_ih", k, d), list(src), side + "transposed"))
            mapping.append(Mapping(rn, rec.shape, param_name("weight_hh", k, d), list(src), side + "transposed"))
            if not has_bias:
                continue
            bn, bias = slot["bias"]
            b_ih, b_hh = param_name("bias_ih", k, d), param_name("bias_hh", k, d)
            if cell == "gru":
                if bias.ndim != 2 or bias.shape[0] != 2:
                    raise LayoutError(
                        bn,
                        f"{bn} has shape {bias.shape}; a GRU with reset_after=True (Keras' default, and what PyTorch "
                        "computes) has a (2, 3H) bias. reset_after=False applies the reset gate before the recurrent "
                        "product, which PyTorch's GRU cannot express",
                    )
                params[b_ih] = _gates_in(bn, bias[0], hidden, src, dst)
                params[b_hh] = _gates_in(bn, bias[1], hidden, src, dst)
                mapping.append(
                    Mapping(bn, bias.shape, f"{b_ih} + {b_hh}", list(src), side + "row 0 input, row 1 recurrent")
                )
            else:
                _check_2d(bn, bias, 1)
                params[b_ih] = _gates_in(bn, bias, hidden, src, dst)
                params[b_hh] = np.zeros_like(bias)
                mapping.append(Mapping(bn, bias.shape, b_ih, list(src), side + f"{b_hh} set to 0 (Keras has one bias)"))
    if len(head) > 1:
        raise LayoutError(
            None,
            "more than one Dense layer found ("
            + ", ".join(next(iter(g.values()))[0] for g in head)
            + "); expected at most one head",
        )
    if head:
        if "kernel" not in head[0]:
            raise LayoutError(None, "the Dense head has no kernel")
        (kn, kernel), (bn, bias) = head[0]["kernel"], head[0].get("bias", (None, None))
        _check_2d(kn, kernel, 2)
        rest["head.weight"] = kernel.T
        mapping.append(Mapping(kn, kernel.shape, "head.weight", [], "transposed"))
        if bias is not None:
            rest["head.bias"] = bias
            mapping.append(Mapping(bn, bias.shape, "head.bias"))
    return cell, params, mapping, rest


def _onnx_in(tensors, merge_mode="concat"):
    layers, rest = _group(tensors, {"W": "W", "R": "R", "B": "B"})
    if not layers:
        raise LayoutError(None, "no ONNX W / R / B initialisers found")
    params, mapping = {}, []
    first = layers[0]
    if "R" not in first or "W" not in first:
        raise LayoutError(None, "layer 0 needs both W and R")
    rn, r0 = first["R"]
    if r0.ndim != 3 or r0.shape[0] not in (1, 2):
        raise LayoutError(
            rn,
            f"{rn} has shape {r0.shape}; expected (num_directions, kH, H): 1 direction, or 2 (bidirectional)",
        )
    directions, hidden = r0.shape[0], r0.shape[2]
    cell = _cell_from_ratio(r0.shape[1], hidden, rn, "onnx")
    src, dst = BLOCK_ORDER["onnx"][cell], BLOCK_ORDER["pytorch"][cell]
    rows = SPECS[cell].num_blocks * hidden
    has_bias = _biases_everywhere_or_nowhere([layers[k] for k in sorted(layers)], "R", "B")
    for k in sorted(layers):
        slot = layers[k]
        for role in ("W", "R"):
            if role not in slot:
                raise LayoutError(None, f"layer {k} has no {role}")
            name, arr = slot[role]
            if arr.ndim != 3 or arr.shape[0] != directions:
                raise LayoutError(
                    name,
                    f"{name} has shape {arr.shape}; expected ({directions}, {rows}, ...): {directions} direction(s), "
                    f"as {rn}",
                )
        (wn, w), (rn_k, r) = slot["W"], slot["R"]
        if has_bias:
            bn, b = slot["B"]
            if b.shape != (directions, 2 * rows):
                raise LayoutError(bn, f"{bn} has shape {b.shape}; expected ({directions}, {2 * rows}): Wb then Rb")
        for d in range(directions):
            params[param_name("weight_ih", k, d)] = _gates_in(wn, w[d], hidden, src, dst)
            params[param_name("weight_hh", k, d)] = _gates_in(rn_k, r[d], hidden, src, dst)
            mapping.append(Mapping(wn, w.shape, param_name("weight_ih", k, d), list(src), f"direction {d}"))
            mapping.append(Mapping(rn_k, r.shape, param_name("weight_hh", k, d), list(src), f"direction {d}"))
            if has_bias:
                b_ih, b_hh = param_name("bias_ih", k, d), param_name("bias_hh", k, d)
                params[b_ih] = _reorder(b[d, :rows], src, dst)
                params[b_hh] = _reorder(b[d, rows:], src, dst)
                mapping.append(
                    Mapping(bn, b.shape, f"{b_ih} + {b_hh}", list(src), f"direction {d}: first half Wb, second Rb")
                )
    return cell, params, mapping, rest


def _book_in(tensors, merge_mode="concat"):
    layers, rest = _group(tensors, {"Wx": "Wx", "Wh": "Wh", "b": "b"})
    if not layers:
        raise LayoutError(None, "no Wx / Wh / b tensors found")
    first = layers[0]
    if "Wh" not in first:
        raise LayoutError(None, "layer 0 needs Wh")
    hn, wh = first["Wh"]
    _check_2d(hn, wh, 2)
    hidden = wh.shape[0]
    cell = _cell_from_ratio(wh.shape[1], hidden, hn, "book")
    src, dst = BLOCK_ORDER["book"][cell], BLOCK_ORDER["pytorch"][cell]
    params, mapping = {}, []
    for k in sorted(layers):
        slot = layers[k]
        for role in ("Wx", "Wh", "b"):
            if role not in slot:
                raise LayoutError(None, f"layer {k} has no {role}")
        (xn, wx), (hn, wh), (bn, b) = slot["Wx"], slot["Wh"], slot["b"]
        _check_2d(xn, wx, 2)
        _check_2d(hn, wh, 2)
        _check_2d(bn, b, 1)
        params[param_name("weight_ih", k)] = _gates_in(xn, wx.T, hidden, src, dst)
        params[param_name("weight_hh", k)] = _gates_in(hn, wh.T, hidden, src, dst)
        params[param_name("bias_ih", k)] = _gates_in(bn, b, hidden, src, dst)
        params[param_name("bias_hh", k)] = np.zeros_like(b)
        mapping.append(Mapping(xn, wx.shape, param_name("weight_ih", k), list(src), "transposed"))
        mapping.append(Mapping(hn, wh.shape, param_name("weight_hh", k), list(src), "transposed"))
        mapping.append(
            Mapping(bn, b.shape, param_name("bias_ih", k), list(src), "bias_hh set to 0 (the book has one bias)")
        )
    return cell, params, mapping, rest


def _head_in(layout: str, rest: dict[str, np.ndarray], mapping: list[Mapping]) -> dict[str, np.ndarray]:
    head = {}
    names = {
        "pytorch": ("head.weight", "head.bias"),
        "onnx": ("head.weight", "head.bias"),
        "keras": ("head.weight", "head.bias"),
        "book": ("head.W", "head.b"),
    }[layout]
    for name in list(rest):
        if name == names[0]:
            arr = rest.pop(name)
            head["head.weight"] = arr.T if layout == "book" else arr
            if layout != "keras":
                mapping.append(Mapping(name, arr.shape, "head.weight", [], "transposed" if layout == "book" else ""))
        elif name == names[1]:
            head["head.bias"] = rest.pop(name)
            if layout != "keras":
                mapping.append(Mapping(name, head["head.bias"].shape, "head.bias"))
    if rest:
        first = sorted(rest)[0]
        raise LayoutError(first, f"tensor {first!r} is not part of a {layout} model (unknown name)")
    return head


def to_pytorch(tensors: dict[str, np.ndarray], layout: str | None = None, merge_mode: str | None = None) -> Imported:
    """Any supported layout -> PyTorch layout, with the mapping applied; checks every shape.

    `merge_mode` is how a bidirectional stack's two directions become one, as the file's
    configuration says (Keras' merge_mode), or None when the file says nothing: PyTorch and
    ONNX concatenate, and a Keras weights-only file is read as concatenated only where the
    layer above each bidirectional one (or the head) shows it, reading both directions side by side."""
    layout = layout or detect_layout(list(tensors))
    if layout is None:
        raise LayoutError(None, "could not tell the layout from the tensor names; choose one of " + ", ".join(LAYOUTS))
    if layout not in LAYOUTS:
        raise LayoutError(None, f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if merge_mode is not None and merge_mode not in MERGE_MODES:
        raise LayoutError(None, f"unknown merge_mode {merge_mode!r}; expected one of {', '.join(MERGE_MODES)}")
    stated, merge_mode = merge_mode, merge_mode or "concat"
    reader = {"pytorch": _pytorch_in, "keras": _keras_in, "onnx": _onnx_in, "book": _book_in}[layout]
    tensors = dict(tensors)
    embedding = tensors.pop(EMBEDDING, None)
    cell, params, mapping, rest = reader(tensors, merge_mode)
    if embedding is None:
        embedding = rest.pop(EMBEDDING, None)  # the PyTorch reader finds nn.Embedding by its shape
    head = _head_in(layout, rest, mapping)
    if "head.weight" in head and "head.bias" not in head and head["head.weight"].ndim == 2:
        # A bias-free head (nn.Linear(bias=False), Dense(use_bias=False)) computes W h + 0.
        head["head.bias"] = np.zeros(head["head.weight"].shape[0])
        mapping.append(Mapping("(none)", (head["head.weight"].shape[0],), "head.bias", [], "no bias: zeros"))
    if embedding is not None:
        head[EMBEDDING] = embedding
    labels = BLOCK_LABEL.get(layout, {})
    for m in mapping:
        m.source_blocks = [labels.get(b, b) for b in m.blocks]
    if stated is None and layout == "keras":
        _concat_shown(params | head)
    imported = _validated(cell, params | head, mapping, merge_mode)
    imported.layout = layout
    return imported


_FORWARD_HH = re.compile(r"weight_hh_l\d+")


def _concat_shown(params: dict[str, np.ndarray]) -> None:
    """A bidirectional Keras stack whose merge_mode nothing states: concat when what reads each
    layer (the next layer, the top one's head) takes both directions side by side; else refused
    (Keras may sum, average or multiply them, and each Bidirectional layer may do otherwise)."""
    if param_name("weight_ih", 0, 1) not in params:
        return
    state = params["weight_hh_l0"].shape[1]
    layers = sum(1 for n in params if _FORWARD_HH.fullmatch(n))
    for k in range(layers):
        above = param_name("weight_ih", k + 1) if k + 1 < layers else "head.weight"
        arr = params.get(above)
        if arr is None:
            raise LayoutError(
                param_name("weight_hh", k, 1),
                f"layer {k} is bidirectional, and nothing in the file says how its two directions merge (Keras' "
                "merge_mode: concat, sum, ave or mul), nor reads it above: upload the .keras file, or the model "
                "with its head",
            )
        if arr.ndim == 2 and arr.shape[1] == state:
            raise LayoutError(
                above,
                f"{above} reads {state} numbers from bidirectional layer {k}: its two directions are summed, "
                "averaged or multiplied (Keras' merge_mode), and the file does not say which: upload the .keras file",
            )


def describe(arch: Architecture) -> str:
    """'a 2-layer bidirectional LSTM (concatenated) with proj_size 3, without biases', for a message."""
    parts = [f"a {arch.num_layers}-layer"]
    if arch.bidirectional:
        parts.append(f"bidirectional ({arch.merge_mode})")
    text = " ".join(parts) + f" {arch.cell.upper()}"
    if arch.proj_size:
        text += f" with proj_size {arch.proj_size}"
    return text + ("" if arch.bias else ", without biases")


def _validated(
    cell: str, params: dict[str, np.ndarray], mapping: list[Mapping], merge_mode: str = "concat"
) -> Imported:
    """Every tensor checked against the architecture the names say (architecture.Architecture):
    directions, a projection, biases in every layer or in none; nothing missing, nothing extra."""
    from .params import head_shapes

    recurrent = [n for n in params if _PYTORCH.fullmatch(n)]
    proj_name = next((n for n in sorted(recurrent) if n.startswith(PROJECTION)), None)
    proj = params.get(proj_name) if proj_name else None
    if proj is not None and proj.ndim != 2:
        raise LayoutError(proj_name, f"{proj_name} has {proj.ndim} dimensions {proj.shape}; expected 2 (P x H)")
    hidden = proj.shape[1] if proj is not None else params["weight_hh_l0"].shape[1]
    bidirectional = any(n.endswith("_reverse") for n in recurrent)
    arch = Architecture(
        cell=cell,
        hidden_size=hidden,
        num_layers=sum(1 for n in params if _FORWARD_HH.fullmatch(n)),
        bidirectional=bidirectional,
        proj_size=proj.shape[0] if proj is not None else 0,
        bias=any(n.startswith(("bias_ih_l", "bias_hh_l")) for n in recurrent),
        merge_mode=merge_mode if bidirectional else "concat",
    )
    num_layers = arch.num_layers
    input_size = (
        params["weight_ih_l0"].shape[1]
        if params.get("weight_ih_l0") is not None and params["weight_ih_l0"].ndim == 2
        else 0
    )
    expected = arch.shapes(input_size)
    vocab_size = None
    if EMBEDDING in params:
        table = params[EMBEDDING]
        if table.ndim != 2 or table.shape[1] != input_size or table.shape[0] < 1:
            raise LayoutError(
                EMBEDDING,
                f"{EMBEDDING} has shape {table.shape}; expected (vocabulary, {input_size}): one row per token",
            )
        vocab_size = table.shape[0]
    what = describe(arch)
    for name in params:
        # e.g. weight_ih_l7 in a 1-layer file: refused rather than stored unused.
        if name not in expected and not name.startswith("head.") and name != EMBEDDING:
            raise LayoutError(name, f"{name} is not part of {what} (layers 0 to {num_layers - 1})")
    for name, shape in expected.items():
        if name not in params:
            why = ""
            if name.startswith("bias_"):
                why = (
                    "; a bias-free model (PyTorch's bias=False) has no biases in any layer, a biased one in every layer"
                )
            elif name.endswith("_reverse"):
                why = "; a bidirectional model has both directions in every layer"
            elif name.startswith(PROJECTION):
                why = "; an LSTM with proj_size projects every layer's h"
            raise LayoutError(name, f"missing {name} (shape {shape}) for {what}{why}")
        if params[name].shape != shape:
            below = ""
            if name.startswith("weight_ih_l") and not name.startswith("weight_ih_l0"):
                below = f" (the layer below hands up {arch.output_size} numbers per step)"
            raise LayoutError(
                name,
                f"{name} has shape {params[name].shape}; expected {shape} for {what} of hidden size {hidden}{below}",
            )
    output_size = None
    if "head.weight" in params or "head.bias" in params:
        if "head.weight" not in params or "head.bias" not in params:
            raise LayoutError("head.weight", "a head needs both its weight and its bias")
        output_size = params["head.weight"].shape[0] if params["head.weight"].ndim == 2 else 0
        for name, shape in head_shapes(arch.output_size, output_size).items():
            if params[name].shape != shape:
                raise LayoutError(
                    name,
                    f"{name} has shape {params[name].shape}; expected {shape} (the top layer hands up "
                    f"{arch.output_size} numbers per step)",
                )
    for name, arr in params.items():
        if not np.all(np.isfinite(arr)):
            raise LayoutError(name, f"{name} holds NaN or infinite values")
    return Imported(
        cell,
        params,
        mapping,
        input_size,
        hidden,
        num_layers,
        output_size,
        vocab_size=vocab_size,
        merge_mode=arch.merge_mode,
        architecture=arch,
    )


def from_pytorch(cell: str, params: dict[str, np.ndarray], layout: str) -> dict[str, np.ndarray]:
    """PyTorch layout -> `layout`, named as `to_pytorch` reads it back (both directions, no biases
    when the model has none; a projection only in PyTorch's own layout)."""
    if layout not in LAYOUTS:
        raise LayoutError(None, f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if cell not in BLOCK_ORDER[layout]:
        raise LayoutError(None, f"the {layout} layout has no {cell.upper()}")
    if layout == "pytorch":
        return {k: v.copy() for k, v in params.items()}
    num_layers = sum(1 for n in params if _FORWARD_HH.fullmatch(n))
    arch = read_architecture(cell, params, num_layers)
    if arch.proj_size:
        raise LayoutError(
            param_name(PROJECTION, 0),
            f"the {layout} layout has no projection (PyTorch's proj_size); export this LSTM in the pytorch layout",
        )
    if layout == "book" and (arch.bidirectional or not arch.bias):
        raise LayoutError(
            None, "the book layout has one forward direction with a bias per layer; export this model as pytorch"
        )
    src, dst = BLOCK_ORDER["pytorch"][cell], BLOCK_ORDER[layout][cell]
    out: dict[str, np.ndarray] = {}
    head = {k: v for k, v in params.items() if k.startswith("head.")}
    if EMBEDDING in params:
        out[EMBEDDING] = params[EMBEDDING].copy()
    for k in range(num_layers):
        per_direction = []
        for d in range(arch.directions):
            w_ih, w_hh = (_reorder(params[param_name(n, k, d)], src, dst) for n in ("weight_ih", "weight_hh"))
            biases = (
                tuple(_reorder(params[param_name(n, k, d)], src, dst) for n in ("bias_ih", "bias_hh"))
                if arch.bias
                else None
            )
            per_direction.append((w_ih, w_hh, biases))
            if layout == "keras":
                if arch.bidirectional:
                    prefix = f"bidirectional_{k}/{_DIRECTION_WORDS[d]}_{cell}/{cell}_cell"
                else:
                    prefix = f"{cell}_{k}/{cell}_cell"
                out[f"{prefix}/kernel"] = w_ih.T.copy()
                out[f"{prefix}/recurrent_kernel"] = w_hh.T.copy()
                if biases is not None:
                    b_ih, b_hh = biases
                    out[f"{prefix}/bias"] = np.stack([b_ih, b_hh]) if cell == "gru" else b_ih + b_hh
            elif layout == "book":
                b_ih, b_hh = biases
                out[f"layer{k}.Wx"] = w_ih.T.copy()
                out[f"layer{k}.Wh"] = w_hh.T.copy()
                out[f"layer{k}.b"] = b_ih + b_hh
        if layout == "onnx":
            out[f"{cell}_{k}.W"] = np.stack([w for w, _, _ in per_direction])
            out[f"{cell}_{k}.R"] = np.stack([r for _, r, _ in per_direction])
            if arch.bias:
                out[f"{cell}_{k}.B"] = np.stack([np.concatenate(b) for _, _, b in per_direction])
    if head:
        if layout == "keras":
            out["dense/kernel"] = head["head.weight"].T.copy()
            out["dense/bias"] = head["head.bias"].copy()
        elif layout == "book":
            out["head.W"] = head["head.weight"].T.copy()
            out["head.b"] = head["head.bias"].copy()
        else:
            out["head.weight"] = head["head.weight"].copy()
            out["head.bias"] = head["head.bias"].copy()
    return out
