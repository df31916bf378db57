"""Initialisation schemes for the recurrent models' weights, compared in lesson 09 (not an exercise).

The course's ``init_params`` (rnnlib.rnn, rnnlib.gru) draws every weight matrix from N(0, 1/fan_in).
The alternative measured here follows Keras's defaults for recurrent layers, Glorot uniform input
weights and orthogonal recurrent weights, drawn for each gate on its own (Keras draws them for the fused
(m, 3H) and (H, 3H) matrices). Either scheme starts from the model's own ``init_params`` with the same
generator, so both start with the same output layer (Why, by) and differ only in the input and
recurrent weights.
"""

import numpy as np

from . import validate

SCHEMES = ("normal", "glorot_orthogonal")


def glorot_uniform(fan_in, fan_out, rng):
    """A (fan_in, fan_out) float64 matrix drawn from U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).

    U(-a, a) has variance a^2 / 3 = 2 / (fan_in + fan_out) (Glorot and Bengio 2010): the harmonic mean of
    the forward pass's 1/fan_in, which keeps the variance of x W that of x, and the backward pass's
    1/fan_out, which keeps the variance of dY W^T that of dY.
    """
    fan_in = validate.count("glorot_uniform", "fan_in", fan_in)
    fan_out = validate.count("glorot_uniform", "fan_out", fan_out)
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def orthogonal(n, rng):
    """An (n, n) float64 orthogonal matrix Q (Q^T Q = I), drawn uniformly among all of them.

    Q is the Q of the QR decomposition of a matrix of N(0, 1) entries, with each column's sign set by the
    sign of R's diagonal: without that, LAPACK's sign convention makes some Q more likely than others.
    Every singular value and every eigenvalue modulus of Q is 1, so h Q has the norm of h.
    """
    n = validate.count("orthogonal", "n", n)
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def init_params(model, vocab_size, hidden_size, rng, dtype=np.float64, scheme="normal"):
    """Parameters of ``model`` (rnnlib.rnn or rnnlib.gru) initialised with ``scheme``, a dict of ``dtype``.

    "normal": exactly model.init_params(vocab_size, hidden_size, rng, dtype), N(0, 1/fan_in) weights.
    "glorot_orthogonal": the same, then the input weights (V, gates*H) replaced by glorot_uniform(V, H)
    for each gate and the recurrent weights (H, gates*H) by an orthogonal (H, H) matrix for each gate
    (one gate for the RNN, [r | z | n] for the GRU). Draws are made in float64 and rounded to ``dtype``.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    params = model.init_params(vocab_size, hidden_size, rng, dtype=dtype)
    if scheme == "normal":
        return params
    input_name, recurrent_name = ("Wx", "Wh") if "Wx" in params else ("Wxh", "Whh")  # the GRU's or the RNN's
    V, H = params[input_name].shape[0], params[recurrent_name].shape[0]
    gates = params[recurrent_name].shape[1] // H
    params[input_name] = np.hstack([glorot_uniform(V, H, rng) for _ in range(gates)]).astype(dtype)
    params[recurrent_name] = np.hstack([orthogonal(H, rng) for _ in range(gates)]).astype(dtype)
    return params
