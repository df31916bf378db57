"""The vanilla RNN (lessons 03-04): forward and backpropagation through time, in row-vector form.

One step for a batch of B rows, then the output layer on every step::

    H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)      X_t (B, m), H_t (B, H)
    z_t = H_t W_hy + b_y                           z_t (B, V), y_hat_t = softmax(z_t)

Arrays are batch-first: a sequence input X is (B, T, m), the hidden states Hs are (B, T, H) and the
logits Z are (B, T, V). Steps count t = 1..T as in the formulas and arrays from 0: X[:, t-1] is X_t,
Hs[:, t-1] is H_t, the state after step t, and h0 is H_0. Everything that does not depend on
the previous state (the input projection, the output layer, every weight gradient) is one matrix
product over all B*T rows; only the recurrence itself runs step by step.

Each forward function returns a cache, the values its backward function needs, with the layout given
in its docstring. The language model at the end (init_params, lm_forward, lm_backward, lm_step) is not an
exercise: it is rnnlib.language_model's, around this layer; rnnlib.gru has the same names, so rnnlib.train
takes either module.
"""

import numpy as np

from . import validate
from .language_model import LanguageModel


def rnn_step_forward(x, h_prev, Wxh, Whh, bh):
    """Exercise 3.1: one step of the vanilla RNN for a batch of rows.

    x (B, m) inputs at this step, h_prev (B, H) previous states, Wxh (m, H), Whh (H, H), bh (H,).
    Returns h (B, H) = tanh(x Wxh + h_prev Whh + bh) and cache = (x, h_prev, Wxh, Whh, h).
    """
    m, H = _check_weights(Wxh, Whh, bh)
    validate.shape("x", x, (None, m), "(B, m)")
    validate.shape("h_prev", h_prev, (np.shape(x)[0], H), "(B, H)")
    ### BEGIN SOLUTION
    h = np.tanh(x @ Wxh + h_prev @ Whh + bh)
    ### END SOLUTION
    cache = (x, h_prev, Wxh, Whh, h)
    return h, cache


def rnn_forward(X, h0, Wxh, Whh, bh):
    """Exercise 3.2: run the RNN over a batch of sequences.

    X (B, T, m) inputs, h0 (B, H) initial states, Wxh (m, H), Whh (H, H), bh (H,).
    Returns Hs (B, T, H), where Hs[:, t-1] is H_t, the state after step t (Hs[:, -1] is H_T and starts
    the next window), and cache = (X, h0, Wxh, Whh, Hs).

    The input part of every step, A_x = X Wxh + bh (B, T, H), does not depend on the state, so it is
    one matrix product over all B*T rows before the loop; the loop does only the recurrent product and
    the tanh.
    """
    m, H = _check_weights(Wxh, Whh, bh)
    validate.shape("X", X, (None, None, m), "(B, T, m)")
    validate.steps("X", X)
    validate.shape("h0", h0, (np.shape(X)[0], H), "(B, H)")
    B, T, _ = X.shape
    ### BEGIN SOLUTION
    A_x = (X.reshape(B * T, m) @ Wxh + bh).reshape(B, T, H)
    h = h0
    Hs = []
    for t in range(T):
        h = np.tanh(A_x[:, t] + h @ Whh)
        Hs.append(h)
    Hs = np.stack(Hs, axis=1)
    ### END SOLUTION
    cache = (X, h0, Wxh, Whh, Hs)
    return Hs, cache


def output_forward(Hs, Why, by):
    """Exercise 3.3: the output layer on every step, Z = Hs Why + by.

    Hs (B, T, H) hidden states, Why (H, V), by (V,).
    Returns Z (B, T, V) logits and cache = (Hs, Why). The B*T rows of Hs are one (B*T, H) matrix, so
    the whole layer is one matrix product: reshape, multiply, reshape back.
    """
    validate.shape("Why", Why, (None, None), "(H, V)")
    H, V = Why.shape
    validate.shape("by", by, (V,), "(V,)")
    validate.shape("Hs", Hs, (None, None, H), "(B, T, H)")
    B, T, _ = Hs.shape
    ### BEGIN SOLUTION
    Z = (Hs.reshape(B * T, H) @ Why + by).reshape(B, T, V)
    ### END SOLUTION
    cache = (Hs, Why)
    return Z, cache


def rnn_step_backward(dh, cache):
    """Exercise 4.1: backward through one RNN step.

    dh (B, H) is dL/dh for the state this step produced; cache = (x, h_prev, Wxh, Whh, h) from
    rnn_step_forward. With delta = dh * (1 - h**2), the gradient at the tanh's input, returns
    dx (B, m), dh_prev (B, H), dWxh (m, H), dWhh (H, H), dbh (H,).
    """
    x, h_prev, Wxh, Whh, h = cache
    validate.shape("dh", dh, h.shape, "(B, H), the shape of h")
    ### BEGIN SOLUTION
    delta = dh * (1 - h**2)
    dx = delta @ Wxh.T
    dh_prev = delta @ Whh.T
    dWxh = x.T @ delta
    dWhh = h_prev.T @ delta
    dbh = delta.sum(axis=0)
    ### END SOLUTION
    return dx, dh_prev, dWxh, dWhh, dbh


def rnn_backward(dHs, cache):
    """Exercise 4.2: backpropagation through time over the whole sequence.

    dHs (B, T, H): dHs[:, t-1] is dH^out_t, the part of dL/dh_t that the output layer sends (the part from
    later steps is added in the loop); cache = (X, h0, Wxh, Whh, Hs) from rnn_forward. Returns dX (B, T, m),
    dh0 (B, H), dWxh (m, H), dWhh (H, H), dbh (H,).

    The loop runs backwards in time and only carries the gradient: delta_t = (dH^out_t + dh_next) *
    (1 - h_t**2), dh_next = delta_t Whh^T (in the code the loop index t counts from 0, so dHs[:, t] is
    dH^out_{t+1}). It stores every delta_t in Delta (B, T, H); after the loop,
    each weight gradient (a sum over the steps and the batch) is one matrix product over all B*T rows.
    """
    X, h0, Wxh, Whh, Hs = cache
    validate.shape("dHs", dHs, Hs.shape, "(B, T, H), the shape of Hs")
    B, T, H = Hs.shape
    ### BEGIN SOLUTION
    Delta = np.empty_like(Hs)
    Whh_T = np.ascontiguousarray(Whh.T)  # BLAS multiplies by this copy faster than by the view Whh.T
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        delta_t = (dHs[:, t] + dh_next) * (1 - Hs[:, t] ** 2)
        dh_next = delta_t @ Whh_T
        Delta[:, t] = delta_t
    dh0 = dh_next
    Hprev = np.concatenate([h0[:, None], Hs[:, :-1]], axis=1)
    X2d, Hprev2d, Delta2d = X.reshape(B * T, -1), Hprev.reshape(B * T, H), Delta.reshape(B * T, H)
    dWxh = X2d.T @ Delta2d
    dWhh = Hprev2d.T @ Delta2d
    dbh = Delta.sum(axis=(0, 1))
    dX = (Delta2d @ Wxh.T).reshape(B, T, -1)
    ### END SOLUTION
    return dX, dh0, dWxh, dWhh, dbh


def output_backward(dZ, cache):
    """Exercise 4.3: backward through the output layer Z = Hs Why + by.

    dZ (B, T, V) is dL/dZ; cache = (Hs, Why) from output_forward.
    Returns dHs (B, T, H), dWhy (H, V), dby (V,). Like the forward pass, the weight gradient is one
    matrix product over all B*T rows.
    """
    Hs, Why = cache
    validate.shape("dZ", dZ, Hs.shape[:2] + Why.shape[1:], "(B, T, V)")
    B, T, H = Hs.shape
    V = Why.shape[1]
    ### BEGIN SOLUTION
    dZ2d = dZ.reshape(B * T, V)
    dWhy = Hs.reshape(B * T, H).T @ dZ2d
    dby = dZ2d.sum(axis=0)
    dHs = (dZ2d @ Why.T).reshape(B, T, H)
    ### END SOLUTION
    return dHs, dWhy, dby


# Input checks: a wrong shape fails here, with names and shapes, rather than deep inside a matmul.


def _check_weights(Wxh, Whh, bh):
    """(m, H) from Wxh, after checking that Whh is (H, H) and bh is (H,)."""
    validate.shape("Wxh", Wxh, (None, None), "(m, H)")
    m, H = np.shape(Wxh)
    validate.shape("Whh", Whh, (H, H), "(H, H)")
    validate.shape("bh", bh, (H,), "(H,)")
    return m, H


# The language model (not an exercise): characters in, the mean cross-entropy of the next character out.
# rnnlib/language_model.py writes it once for every layer; this is the RNN's declaration of its layer.

PARAMS = ("Wxh", "Whh", "bh", "Why", "by")


def _init_layer(V, H, rng):
    """The RNN's parameters for init_params (lesson 03): Wxh (V, H), Whh (H, H), bh (H,), in float64.

    Each weight matrix is drawn from N(0, 1/fan_in), fan_in being its number of rows (as is Why). Then
    x W has the variance ||x||^2 / fan_in: 1/V for a one-hot x (x_t Wxh is one row of Wxh, spread
    1/sqrt(V)), and the mean square of h for h Whh. The pre-activations start small (spread about 0.3 on
    Shakespeare, lesson 03), where tanh is nearly linear, and the eigenvalues of Whh fill about the unit
    disk, so at the start the state neither blows up nor dies out along the sequence. The states, and
    with them the logits, have a spread of about 0.27, so the first predictions are close to uniform and
    the initial loss is close to ln V. Biases start at zero.
    """
    return {
        "Wxh": rng.standard_normal((V, H)) / np.sqrt(V),
        "Whh": rng.standard_normal((H, H)) / np.sqrt(H),
        "bh": np.zeros(H),
    }


LANGUAGE_MODEL = LanguageModel(
    "rnn",
    PARAMS,
    init_layer=_init_layer,
    check_layer=_check_weights,
    forward=rnn_forward,
    backward=rnn_backward,
    step_forward=rnn_step_forward,
    output_forward=output_forward,
    output_backward=output_backward,
)
init_params = LANGUAGE_MODEL.init_params  # (vocab_size, hidden_size, rng, dtype=np.float64) -> params
lm_forward = LANGUAGE_MODEL.lm_forward  # (params, inputs, targets, h0) -> loss, h_last, cache
lm_backward = LANGUAGE_MODEL.lm_backward  # (cache, dh_last=None) -> grads, dh0
lm_step = LANGUAGE_MODEL.lm_step  # (params, ids, h) -> logits (B, V), h_next (B, H)
