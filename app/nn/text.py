"""Text as model inputs: tokens of a vocabulary, as one-hot rows or as embedding row ids."""

from __future__ import annotations

import numpy as np


def _shown(items: list[str], most: int = 10) -> str:
    listed = ", ".join(repr(t) for t in items[:most])
    return listed + (f" and {len(items) - most} more" if len(items) > most else "")


def split_tokens(text: str, vocab: list[str]) -> list[str]:
    """The text as tokens of `vocab`: characters when every token is one character, else words
    (split on whitespace). Every token must be in the vocabulary; the first missing are named."""
    pieces = list(text) if all(len(t) == 1 for t in vocab) else text.split()
    known = set(vocab)
    unknown = list(dict.fromkeys(p for p in pieces if p not in known))
    if unknown:
        kind = "characters" if all(len(t) == 1 for t in vocab) else "words"
        raise ValueError(f"{kind} {_shown(unknown)} are not in the model's vocabulary ({len(vocab)} tokens)")
    return pieces


def token_ids(pieces: list[str], vocab: list[str]) -> np.ndarray:
    index = {token: k for k, token in enumerate(vocab)}
    return np.array([index[p] for p in pieces], dtype=np.int64)


def one_hot(ids: np.ndarray, width: int) -> np.ndarray:
    x = np.zeros((len(ids), width))
    x[np.arange(len(ids)), ids] = 1.0
    return x


def encode(text: str | list[str], vocab: list[str] | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """One-hot rows for tokens 0..n-2 over the vocabulary (default: the sorted set of the text's characters).

    Returns (x of shape (n-1, len(vocab)), the text's tokens, the vocabulary).  The last
    token is only ever a target, but it is in the vocabulary so targets index it.  A model
    trained on text brings its own `vocab`; every token must be in it.
    """
    tokens = list(text)
    if vocab is None:
        vocab = sorted(set(tokens))
    else:
        unknown = list(dict.fromkeys(t for t in tokens if t not in set(vocab)))
        if unknown:
            raise ValueError(f"characters {_shown(unknown)} are not in the model's vocabulary ({len(vocab)} tokens)")
    return one_hot(token_ids(tokens[:-1], vocab), len(vocab)), tokens, vocab
