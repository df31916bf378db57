"""Softmax and cross-entropy: from a row of logits to a probability for the next character, and its score.

Lesson: notebooks/02_softmax_and_loss.ipynb. A batch is rows: logits Z are (N, V), one row per
prediction, and y (N,) holds the index of the right character for each row.
"""

import math

import numpy as np


def softmax(Z):
    """Exercise 2.1: row-wise softmax of logits.

    Z: (..., V) logits, any leading shape (a row (V,), a batch (N, V), a sequence batch (B, T, V)).
    Returns P (the probabilities Y_hat of the lessons) of Z's shape:
    P[..., j] = exp(Z[..., j]) / sum_k exp(Z[..., k]), so every row (the last axis) is positive and sums
    to one.

    Subtract each row's max before exp: the result is the same (softmax(z - c) = softmax(z)), but the
    largest exponent becomes exp(0) = 1, so large logits cannot overflow to inf and make inf / inf = nan.
    """
    Z = _logits(Z, "Z")
    ### BEGIN SOLUTION
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)
    ### END SOLUTION


def cross_entropy(Z, y):
    """Exercise 2.2: mean negative log-likelihood of the right characters, from logits.

    Z: (N, V) logits, one row per prediction.
    y: (N,) integer targets, 0 <= y[n] < V.
    Returns the float L = -(1/N) sum_n log softmax(Z)[n, y[n]].

    Compute the log-probabilities with log-sum-exp, log softmax(z)_j = (z_j - m) - log sum_k exp(z_k - m)
    with m the row max, rather than log(softmax(Z)): a probability below ~5e-324 (the smallest float64,
    a subnormal; a logit more than ~745 below the row max) rounds to 0 and its log to -inf, while
    log-sum-exp stays finite for any finite logits.
    """
    Z, y = _logits_and_targets(Z, y)
    ### BEGIN SOLUTION
    N = Z.shape[0]
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_P = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_P[np.arange(N), y].mean())
    ### END SOLUTION


def cross_entropy_backward(Z, y):
    """Exercise 2.3: gradient of cross_entropy(Z, y) with respect to the logits.

    Z: (N, V) logits; y: (N,) integer targets, as for cross_entropy.
    Returns dZ (N, V) = (P - Y) / N, where P = softmax(Z) (Y_hat in the lesson) and Y is the one-hot
    (N, V) matrix of y. The 1/N is there because the loss is a mean over the N rows. Use your softmax.
    """
    Z, y = _logits_and_targets(Z, y)
    ### BEGIN SOLUTION
    N = Z.shape[0]
    P = softmax(Z)
    Y = np.zeros_like(P)
    Y[np.arange(N), y] = 1.0
    return (P - Y) / N
    ### END SOLUTION


def perplexity(mean_nll):
    """exp(mean NLL per character): the number of equally likely characters the model is as unsure as.

    A model that spreads its probability evenly over V characters has mean NLL log V and perplexity V.
    """
    return math.exp(_mean_nll(mean_nll))


def bits_per_char(mean_nll):
    """Mean NLL in bits instead of nats (mean_nll / ln 2): what an ideal coder using the model would pay."""
    return _mean_nll(mean_nll) / math.log(2)


def _logits(Z, name):
    Z = np.asarray(Z)
    if Z.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be an array of real numbers (logits), got dtype {Z.dtype}.")
    if Z.ndim == 0 or Z.shape[-1] == 0:
        raise ValueError(f"{name} must have a last axis of V >= 1 logits, got shape {Z.shape}.")
    if Z.dtype.kind in "iu":
        Z = Z.astype(np.float64)  # np.exp of a small integer type would compute in float16
    return Z


def _logits_and_targets(Z, y):
    Z = _logits(Z, "Z")
    if Z.ndim != 2:
        raise ValueError(
            f"Z must be (N, V) logits, one row per prediction; got shape {Z.shape}. "
            "Reshape a (B, T, V) batch with Z.reshape(-1, V) and its targets with y.reshape(-1)."
        )
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer character ids, got dtype {y.dtype}.")
    N, V = Z.shape
    if y.shape != (N,):
        raise ValueError(f"y must have shape (N,) = ({N},), one target per row of Z; got shape {y.shape}.")
    if N == 0:
        raise ValueError("Z has no rows: the mean loss over zero predictions is undefined.")
    if y.min() < 0 or y.max() >= V:
        raise ValueError(f"targets y must lie in [0, V) = [0, {V}); got values from {y.min()} to {y.max()}.")
    return Z, y


def _mean_nll(mean_nll):
    value = float(mean_nll)
    if not value >= 0:  # also refuses nan
        raise ValueError(f"a mean negative log-likelihood is a number >= 0, got {mean_nll!r}.")
    return value
