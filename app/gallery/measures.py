"""The mechanism each gallery model is claimed to have, measured from the engine's trace
(`stack.run`, the arrays the page draws) on sequences the model never trained on.

Training draws its sequences' seeds from 1 .. 2**31 - 1; the measures use seeds from
FRESH = 2**31 on (`base` picks a block of them), so they are never training sequences.  The
code model's are the held-out files' text.

`measure(entry, params, base, watch=None)` answers (metrics, watch): with `watch` None the
units are chosen on these sequences (the training script does so on one block, then
measures on another); given a watch list, those units are measured.  Every figure is a
plain float, rounded by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..nn import stack
from ..nn import tasks as registry
from ..nn.losses import Loss
from . import tasks

FRESH = 2**31
SEQUENCES = 1000  # fresh sequences per measure
Watch = list[dict]


def model_of(cell: str, params: dict[str, np.ndarray], softmax: bool = False) -> stack.Model:
    return stack.Model.of(cell, params, 1, softmax_head=softmax)


def trace(model: stack.Model, x: np.ndarray) -> stack.Trace:
    """Forward only; the head still answers y (and probs with a softmax head)."""
    dh = np.zeros((len(x), model.hidden_size))
    return stack.run(model, x, Loss("dh", dh=dh), backward=False)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _split(values: np.ndarray, labels: np.ndarray, threshold: float | None = None) -> tuple[float, float]:
    """How well one unit's values tell two classes apart by a threshold (the midpoint of the two
    classes' means unless given): (accuracy, threshold)."""
    if threshold is None:
        threshold = float((values[labels].mean() + values[~labels].mean()) / 2)
    above = values > threshold
    acc = max(float(np.mean(above == labels)), float(np.mean(above != labels)))
    return acc, threshold


def _state(cell: str) -> str:
    """Where the cell's memory is: an LSTM's c, a GRU's or an RNN's h."""
    return "c" if cell == "lstm" else "h"


# --- the adding problem ----------------------------------------------------------------------


def adding(cell: str, params: dict, steps: int, base: int, watch: Watch | None) -> tuple[dict, Watch]:
    """The sum held to the last step.  An LSTM writes it through its input gate i (open at the
    marked steps); a GRU keeps it through its update gate z (h_t = (1 - z) n_t + z h_{t-1}: near 1,
    the old value passes unchanged).  For every cell, the gradient that reaches the first step:
    ||dL/dh_1|| / ||dL/dh_T|| from the engine's backward trace (the loss is read at step T only),
    its median over the sequences (it vanishes when the network cannot carry the sum back)."""
    model = model_of(cell, params)
    state = _state(cell)
    finals, sums, gate_on, gate_off, preds, reach = [], [], [], [], [], []
    gate = {"lstm": "i", "gru": "z"}.get(cell)
    for k in range(SEQUENCES):
        x, y = registry.adding(steps, base + k)
        tr = stack.run(model, x, Loss("mse", targets=y))
        dh = np.linalg.norm(tr.grads[0]["h"], axis=1)
        reach.append(dh[0] / dh[-1] if dh[-1] > 0 else 0.0)
        layer = tr.layers[0]
        finals.append(layer[state][-1])
        sums.append(y[-1, 0])
        preds.append(tr.output["y"][-1, 0])
        if gate is not None:
            marked = x[:, 1] == 1.0
            gate_on.append(layer[gate][marked].mean(axis=0))
            gate_off.append(layer[gate][~marked].mean(axis=0))
    finals, sums, preds = np.array(finals), np.array(sums), np.array(preds)
    r = np.array([_corr(finals[:, u], sums) for u in range(finals.shape[1])])
    if watch is None:
        watch = [{"layer": 0, "quantity": state, "unit": int(np.argmax(np.abs(r)))}]
        if gate is not None:
            watch.append({"layer": 0, "quantity": gate, "unit": watch[0]["unit"]})
    unit = watch[0]["unit"]
    metrics = {
        "mse": float(np.mean((preds - sums) ** 2)),
        "baseline_mse": float(np.mean((sums - sums.mean()) ** 2)),  # always answering the mean
        "sum_unit_r": float(r[unit]),
        "grad_h1_over_hT": float(np.median(reach)),
    }
    if gate is not None:
        on, off = np.array(gate_on)[:, unit], np.array(gate_off)[:, unit]
        metrics[f"{gate}_marked"] = float(on.mean())
        metrics[f"{gate}_unmarked"] = float(off.mean())
    return metrics, watch


# --- temporal order --------------------------------------------------------------------------


def temporal_order(cell: str, params: dict, steps: int, base: int, watch: Watch | None) -> tuple[dict, Watch]:
    model = model_of(cell, params, softmax=True)
    state = _state(cell)
    final, held, firsts, seconds, right = [], [], [], [], []
    for k in range(SEQUENCES):
        x, y = registry.temporal_order(steps, base + k)
        tr = trace(model, x)
        cls = int(y[-1])
        right.append(int(tr.output["y"][-1].argmax()) == cls)
        marks = np.flatnonzero(x[:, :2].sum(axis=1))
        s = tr.layers[0][state]
        final.append(s[-1])
        held.append(s[marks[1] - 1])  # after the first choice, before the second
        firsts.append(cls >= 2)  # the first symbol was Y
        seconds.append(cls % 2 == 1)  # the second symbol was Y
    final, held = np.array(final), np.array(held)
    firsts, seconds = np.array(firsts), np.array(seconds)
    units = range(final.shape[1])
    if watch is None:
        first_unit = max(units, key=lambda u: _split(final[:, u], firsts)[0])
        second_unit = max(units, key=lambda u: _split(final[:, u], seconds)[0] if u != first_unit else 0)
        watch = [
            {"layer": 0, "quantity": state, "unit": int(first_unit)},
            {"layer": 0, "quantity": state, "unit": int(second_unit)},
        ]
    a, b = watch[0]["unit"], watch[1]["unit"]
    return {
        "accuracy": float(np.mean(right)),
        "baseline_accuracy": 0.25,  # guessing among XX, XY, YX, YY
        "first_unit_accuracy": _split(final[:, a], firsts)[0],
        "first_unit_accuracy_before_second": _split(held[:, a], firsts)[0],
        "second_unit_accuracy": _split(final[:, b], seconds)[0],
    }, watch


# --- copy / delayed recall -------------------------------------------------------------------


def _readout(train: np.ndarray, labels: np.ndarray, test: np.ndarray, truth: np.ndarray) -> float:
    """A linear read-out (least squares on one-hot targets, one block of classes per position)
    fitted on `train` states, its accuracy on `test` states."""
    classes = registry.COPY_SYMBOLS
    onehot = np.zeros((len(train), labels.shape[1] * classes))
    for pos in range(labels.shape[1]):
        onehot[np.arange(len(train)), pos * classes + labels[:, pos]] = 1.0
    ones = np.ones((len(train), 1))
    w, *_ = np.linalg.lstsq(np.hstack([train, ones]), onehot, rcond=None)
    scores = np.hstack([test, np.ones((len(test), 1))]) @ w
    guess = scores.reshape(len(test), labels.shape[1], classes).argmax(axis=2)
    return float(np.mean(guess == truth))


def copy(cell: str, params: dict, steps: int, delay: int, base: int, watch: Watch | None) -> tuple[dict, Watch]:
    model = model_of(cell, params, softmax=True)
    state = _state(cell)
    length = (steps - delay) // 2
    waiting, symbols, right = [], [], []
    for k in range(SEQUENCES):
        x, y = registry.copy(length, delay, registry.COPY_SYMBOLS, base + k)
        tr = trace(model, x)
        recall = y != -1
        right.append(tr.output["y"][recall].argmax(axis=1) == y[recall])
        waiting.append(tr.layers[0][state][length : length + delay - 1])  # the waiting steps before "go"
        symbols.append(y[recall])
    waiting, symbols = np.array(waiting), np.array(symbols)  # (N, delay - 1, H), (N, length)
    # The symbols seen, read from the state at each waiting step by a linear read-out fitted on
    # the first half of the sequences and tested on the second: what the state holds.
    half = SEQUENCES // 2
    per_step = [
        _readout(waiting[:half, s], symbols[:half], waiting[half:, s], symbols[half:]) for s in range(delay - 1)
    ]
    # The read-out fitted at the last waiting step, applied at the first: the code itself held.
    same_code = _readout(waiting[:half, -1], symbols[:half], waiting[half:, 0], symbols[half:])
    if watch is None:
        end = waiting[:, -1]
        spread = np.zeros(end.shape[1])
        for pos in range(length):
            means = np.stack([end[symbols[:, pos] == s].mean(axis=0) for s in range(registry.COPY_SYMBOLS)])
            spread += means.var(axis=0) / (end.var(axis=0) + 1e-12)
        watch = [{"layer": 0, "quantity": state, "unit": int(u)} for u in np.argsort(-spread)[:2]]
    return {
        "recall_accuracy": float(np.mean(right)),
        "baseline_accuracy": 1.0 / registry.COPY_SYMBOLS,
        "readout_accuracy_worst_waiting_step": float(min(per_step)),
        "readout_from_last_waiting_step_applied_to_first": same_code,
    }, watch


# --- Dyck-1 ----------------------------------------------------------------------------------


def _sets_right(y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per scored step: every thresholded output (> 0.5) is the target's."""
    scored = ~np.isnan(targets).any(axis=1)
    return ((y[scored] > 0.5) == (targets[scored] > 0.5)).all(axis=1)


def dyck(cell: str, params: dict, steps: int, base: int, watch: Watch | None) -> tuple[dict, Watch]:
    model = model_of(cell, params)
    state = _state(cell)
    states, depths, step_ok, seq_ok, base_ok, deepest = [], [], [], [], [], []
    for k in range(SEQUENCES):
        d = tasks.dyck(steps, base + k)
        tr = trace(model, d.x)
        ok = _sets_right(tr.output["y"], d.targets)
        step_ok.append(ok)
        seq_ok.append(ok.all())
        # The trivial answer: always {"(", ")"} (what most steps allow).
        base_ok.append((d.depth > 0) & (d.depth < tasks.DYCK_MAX_DEPTH))
        states.append(tr.layers[0][state])
        depths.append(d.depth)
        deepest.append(d.depth.max())
    states, depths = np.concatenate(states), np.concatenate(depths)
    r = np.array([_corr(states[:, u], depths.astype(float)) for u in range(states.shape[1])])
    if watch is None:
        watch = [{"layer": 0, "quantity": state, "unit": int(np.argmax(np.abs(r)))}]
    return {
        "step_accuracy": float(np.mean(np.concatenate(step_ok))),
        "baseline_step_accuracy": float(np.mean(np.concatenate(base_ok))),
        "sequence_accuracy": float(np.mean(seq_ok)),
        "depth_unit_r": float(r[watch[0]["unit"]]),
        "sequences_reaching_depth_8": float(np.mean(np.array(deepest) == tasks.DYCK_MAX_DEPTH)),
    }, watch


# --- embedded Reber grammar --------------------------------------------------------------------


def reber(cell: str, params: dict, steps: int, base: int, watch: Watch | None) -> tuple[dict, Watch]:
    model = model_of(cell, params)
    state = _state(cell)
    seq_ok, step_ok, at_end, inner, inner_labels, choices = [], [], [], [], [], []
    for k in range(SEQUENCES):
        r = tasks.reber(base + k, steps)
        tr = trace(model, r.x)
        ok = _sets_right(tr.output["y"], r.targets)
        step_ok.append(ok)
        seq_ok.append(ok.all())
        s = tr.layers[0][state]
        at_end.append(s[r.inner_end])
        inner.append(s[2 : r.inner_end + 1])
        inner_labels.append(np.full(r.inner_end - 1, r.choice == "T"))
        choices.append(r.choice == "T")
    at_end, choices = np.array(at_end), np.array(choices)
    inner_all, inner_labels = np.concatenate(inner), np.concatenate(inner_labels)
    if watch is None:
        unit = max(range(at_end.shape[1]), key=lambda u: _split(inner_all[:, u], inner_labels)[0])
        watch = [{"layer": 0, "quantity": state, "unit": int(unit)}]
    u = watch[0]["unit"]
    return {
        "strings_all_predictions_valid": float(np.mean(seq_ok)),
        # Without the long-range memory the symbol after the inner E is a coin toss.
        "baseline_strings_without_memory": 0.5,
        "step_accuracy": float(np.mean(np.concatenate(step_ok))),
        "choice_unit_accuracy_at_inner_end": _split(at_end[:, u], choices)[0],
        "choice_unit_accuracy_inside": _split(inner_all[:, u], inner_labels)[0],
    }, watch


# --- source code -------------------------------------------------------------------------------


def code_features(text: str) -> dict[str, np.ndarray]:
    """Per character of Python source: inside a string literal (quotes included, any of ' " '''
    \"\"\", prefixes aside; comments are not strings), the column in its line, the line's
    indentation, and whether the character is one of the line's leading spaces (1 from the first
    space after a newline up to the first other character; 0 for the spaces after it).  A
    small scanner, not the tokenizer: it reads any window of text."""
    n = len(text)
    in_string = np.zeros(n)
    column = np.zeros(n)
    indent = np.zeros(n)
    leading_space = np.zeros(n)
    quote: str | None = None
    comment = False
    col, ind, leading = 0, 0, True
    k = 0
    while k < n:
        ch = text[k]
        width = 1
        if ch == "\n":
            comment = False
            if quote is not None and len(quote) == 1:
                quote = None  # an unterminated one-line string ends with its line
            col, ind, leading = 0, 0, True
            column[k], indent[k] = 0, 0
            in_string[k] = quote is not None
            k += 1
            continue
        if leading and ch == " ":
            ind += 1
            leading_space[k] = 1
        else:
            leading = False
        if quote is not None:
            if ch == "\\":
                width = 2
            elif text.startswith(quote, k):
                width = len(quote)
                in_string[k : k + width] = 1
                quote = None
                column[k : k + width] = col + np.arange(width)
                indent[k : k + width] = ind
                col += width
                k += width
                continue
            in_string[k : k + width] = 1
        elif comment:
            pass
        elif ch == "#":
            comment = True
        elif ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, k) else ch
            width = len(quote)
            in_string[k : k + width] = 1
        column[k : k + width] = col + np.arange(min(width, n - k))
        indent[k : k + width] = ind
        col += width
        k += width
    return {"in_indentation": leading_space, "in_string": in_string, "column": column, "indent": indent}


CODE_FEATURES = {
    "in_indentation": "reading the line's leading spaces",
    "in_string": "inside a string literal",
    "column": "position in the line",
    "indent": "indentation",
}


def code(cell: str, params: dict, steps: int, text: str, watch: Watch | None) -> tuple[dict, Watch]:
    """Windows of `steps` characters of `text` (from a zero state, as in training)."""
    model = model_of(cell, params, softmax=True)
    state = _state(cell)
    vocab = {ch: k for k, ch in enumerate(tasks.CODE_VOCAB)}
    ids = np.array([vocab[ch] for ch in text])
    feats = code_features(text)
    eye = np.eye(len(tasks.CODE_VOCAB))
    states, logp, right = [], [], []
    windows = min(SEQUENCES, (len(ids) - 1) // steps)
    for w in range(windows):
        lo = w * steps
        tr = trace(model, eye[ids[lo : lo + steps]])
        target = ids[lo + 1 : lo + steps + 1]
        p = tr.output["probs"]
        logp.append(np.log(p[np.arange(steps), target]))
        right.append(p.argmax(axis=1) == target)
        states.append(tr.layers[0][state])
    states = np.concatenate(states)
    used = windows * steps
    counts = np.bincount(ids[1 : used + 1], minlength=len(vocab))
    freq = counts / counts.sum()
    unigram = float(-(counts[counts > 0] * np.log2(freq[counts > 0])).sum() / counts.sum())
    # A space is leading or not only by what came before it: "in_indentation" is measured over
    # the steps that read a space, where the input is the same and only the state can tell.
    space = ids[:used] == vocab[" "]
    rows = {name: space if name == "in_indentation" else slice(None) for name in CODE_FEATURES}
    r = {
        name: np.array([_corr(states[rows[name], u], feats[name][:used][rows[name]]) for u in range(states.shape[1])])
        for name in CODE_FEATURES
    }
    if watch is None:
        watch = [
            {"layer": 0, "quantity": state, "unit": int(np.argmax(np.abs(r[name]))), "tracks": name}
            for name in CODE_FEATURES
        ]
    metrics = {
        "bits_per_character": float(-np.concatenate(logp).mean() / np.log(2)),
        "baseline_bits_per_character": unigram,  # the characters' own frequencies, no context
        "next_character_accuracy": float(np.mean(np.concatenate(right))),
    }
    for entry in watch:
        metrics[f"{entry['tracks']}_unit_r"] = float(r[entry["tracks"]][entry["unit"]])
    lead = feats["in_indentation"][:used][space] == 1
    u = next(w["unit"] for w in watch if w["tracks"] == "in_indentation")
    metrics["in_indentation_unit_accuracy"] = _split(states[space, u], lead)[0]  # a threshold on it
    metrics["baseline_in_indentation_accuracy"] = float(max(lead.mean(), 1 - lead.mean()))  # always one answer
    return metrics, watch


MEASURES: dict[str, Callable[..., tuple[dict, Watch]]] = {
    "adding": adding,
    "temporal_order": temporal_order,
    "copy": copy,
    "dyck": dyck,
    "reber": reber,
    "code": code,
}
