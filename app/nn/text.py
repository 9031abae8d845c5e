"""Characters as one-hot inputs."""

from __future__ import annotations

import numpy as np


def encode(text: str, vocab: list[str] | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """One-hot rows for characters 0..n-2 over the sorted set of the text's characters.

    Returns (x of shape (n-1, len(vocab)), the text's characters, the vocabulary).  The
    last character is only ever a target, but it is in the vocabulary so targets index it.
    A model trained on text brings its own `vocab`; every character must be in it.
    """
    tokens = list(text)
    if vocab is None:
        vocab = sorted(set(tokens))
    else:
        unknown = sorted(set(tokens) - set(vocab))
        if unknown:
            raise ValueError(f"characters {unknown!r} are not in the model's vocabulary {''.join(vocab)!r}")
    index = {ch: k for k, ch in enumerate(vocab)}
    x = np.zeros((len(tokens) - 1, len(vocab)))
    x[np.arange(len(tokens) - 1), [index[ch] for ch in tokens[:-1]]] = 1.0
    return x, tokens, vocab
