"""Count-based baselines: the perplexities a trained language model has to beat.

Lesson: notebooks/02_softmax_and_loss.ipynb (lesson 05 prints them beside the trained model).

- uniform: every one of the V characters equally likely; perplexity exactly V, no counting needed.
- unigram: p(c) from how often c occurs in the training text, ignoring context.
- bigram:  p(c | previous character) from counts of consecutive pairs in the training text.

Counts get add-one (Laplace) smoothing: a character (or pair) that never occurs in the training text
would otherwise get probability 0, and a single such character in the validation text would make the
mean NLL, and so the perplexity, infinite. Adding one to every count gives it a small probability.
"""

import numpy as np

from . import validate


def unigram_perplexity(train_ids, val_ids, V):
    """Perplexity on val_ids of character frequencies counted in train_ids, with add-one smoothing.

    train_ids, val_ids: 1-D integer arrays of ids in [0, V).
    Returns exp(-mean_t log p(val_ids[t])), p(c) = (count(c) + 1) / (len(train_ids) + V).
    """
    train_ids, val_ids = _ids(train_ids, V, "train_ids", 1), _ids(val_ids, V, "val_ids", 1)
    counts = np.bincount(train_ids, minlength=V) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(np.exp(-log_p[val_ids].mean()))


def bigram_perplexity(train_ids, val_ids, V):
    """Perplexity on val_ids of next-character counts from train_ids, with add-one smoothing.

    train_ids, val_ids: 1-D integer arrays of ids in [0, V), at least two each.
    p(b | a) = (count(a followed by b) + 1) / (count(a followed by anything) + V).
    The mean runs over the len(val_ids) - 1 transitions inside val_ids (the first character has no
    predecessor there).
    """
    train_ids, val_ids = _ids(train_ids, V, "train_ids", 2), _ids(val_ids, V, "val_ids", 2)
    counts = np.ones((V, V))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1.0)
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(np.exp(-log_p[val_ids[:-1], val_ids[1:]].mean()))


def _ids(ids, V, name, min_length):
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer character ids, got dtype {ids.dtype}.")
    if ids.ndim != 1 or len(ids) < min_length:
        raise ValueError(f"{name} must be a 1-D array of at least {min_length} ids, got shape {ids.shape}.")
    if not (validate.is_int(V) and V >= 1):
        raise ValueError(f"V must be the vocabulary size, a positive integer; got {V!r}.")
    if ids.min() < 0 or ids.max() >= V:
        raise ValueError(f"{name} must lie in [0, V) = [0, {V}); got ids from {ids.min()} to {ids.max()}.")
    return ids
