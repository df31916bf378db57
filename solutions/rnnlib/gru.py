"""The gated recurrent unit (lessons 07-08): forward and backpropagation through time, in row-vector form.

This is the GRU of PyTorch's nn.GRU and cuDNN. One step for a batch of B rows::

    r_t = sigmoid(x_t W_xr + b_xr + h_{t-1} W_hr + b_hr)        reset gate       (B, H)
    z_t = sigmoid(x_t W_xz + b_xz + h_{t-1} W_hz + b_hz)        update gate      (B, H)
    n_t = tanh(x_t W_xn + b_xn + r_t * (h_{t-1} W_hn + b_hn))   candidate state  (B, H)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                       new state        (B, H)

The reset gate multiplies h_{t-1} W_hn + b_hn, after the product (Cho et al. 2014 reset h_{t-1} before
it), so the recurrent product of all three gates is one matmul, h_{t-1} W_h.

GATE ORDER. The three gates' weights are fused along the columns in the order [r | z | n] (PyTorch's):

    Wx (m, 3H) = [W_xr | W_xz | W_xn]      bx (3H,) = [b_xr | b_xz | b_xn]
    Wh (H, 3H) = [W_hr | W_hz | W_hn]      bh (3H,) = [b_hr | b_hz | b_hn]

so a_x = x_t Wx + bx and a_h = h_{t-1} Wh + bh are (B, 3H), and columns [0:H], [H:2H], [2H:3H] of
each belong to r, z and n.

Arrays are batch-first, as in rnnlib.rnn: X (B, T, m), Hs (B, T, H), steps t = 1..T, with X[:, t-1] the input
X_t and Hs[:, t-1] the state H_t after step t (h0 is H_0). The input projection and every weight gradient are
one matrix product over all B*T rows; only the recurrence runs step by step. Each forward function returns a
cache with the layout given in its docstring. The output layer is rnnlib.rnn's, and the language model at
the end (init_params, lm_forward, lm_backward, lm_step) is rnnlib.language_model's around this layer, with
the same names as rnnlib.rnn's, so rnnlib.train takes either module. (In lessons 03-05 z_t named the
logits; here z_t is the update gate, as in PyTorch.)
"""

import numpy as np

from . import validate
from .language_model import LanguageModel
from .rnn import output_backward, output_forward


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), elementwise, without overflow: 0.5 + 0.5 * tanh(a / 2).

    exp(-a) overflows for a < -710 in float64 (a < -89 in float32), with a warning; tanh saturates at
    -1 and 1 instead. The identity 1 / (1 + e^-a) = (1 + tanh(a/2)) / 2 is exact, and it costs one
    transcendental function and three cheap passes over the array, where exp(-|a|) with a case for
    each sign costs seven: the GRU calls sigmoid twice per step, so this is a sizeable part of a
    training step. The price: 1 + tanh(a/2) cancels for very negative a, so the absolute error is
    about half a unit of the dtype's epsilon everywhere (6e-8 in float32) rather than a relative one,
    and a gate below that rounds to 0. A gate of 1e-9 or 0 shuts the same.
    """
    return 0.5 + 0.5 * np.tanh(0.5 * a)


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    """Exercise 7.1: one step of the GRU for a batch of rows.

    x (B, m) inputs at this step, h_prev (B, H) previous states, Wx (m, 3H), Wh (H, 3H), bx (3H,),
    bh (3H,), gate order [r | z | n] along the 3H columns.
    Returns h (B, H), the new states, and cache = (x, h_prev, Wx, Wh, r, z, n, a_hn), where r, z, n
    (B, H) are the gates and a_hn = h_prev W_hn + b_hn (B, H) is the part of n that r multiplies.
    """
    m, H = _check_weights(Wx, Wh, bx, bh)
    validate.shape("x", x, (None, m), "(B, m)")
    validate.shape("h_prev", h_prev, (np.shape(x)[0], H), "(B, H)")
    ### BEGIN SOLUTION
    a_xr, a_xz, a_xn = np.split(x @ Wx + bx, 3, axis=1)
    a_hr, a_hz, a_hn = np.split(h_prev @ Wh + bh, 3, axis=1)
    r = sigmoid(a_xr + a_hr)
    z = sigmoid(a_xz + a_hz)
    n = np.tanh(a_xn + r * a_hn)
    h = (1 - z) * n + z * h_prev
    ### END SOLUTION
    cache = (x, h_prev, Wx, Wh, r, z, n, a_hn)
    return h, cache


def gru_forward(X, h0, Wx, Wh, bx, bh):
    """Exercise 7.2: run the GRU over a batch of sequences.

    X (B, T, m) inputs, h0 (B, H) initial states, Wx (m, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns Hs (B, T, H), where Hs[:, t-1] is H_t, the state after step t (Hs[:, -1] starts the next window),
    and cache = (X, h0, Wx, Wh, Hs, Rs, Zs, Ns, A_hn): the gates r, z, n of every step and a_hn of
    every step, each (B, T, H).

    The input part of every gate, A_x = X Wx + bx (B, T, 3H), does not depend on the state, so it is
    one (B*T, m) x (m, 3H) matrix product before the loop; the loop does h_{t-1} Wh + bh and the gates.
    """
    m, H = _check_weights(Wx, Wh, bx, bh)
    validate.shape("X", X, (None, None, m), "(B, T, m)")
    validate.steps("X", X)
    validate.shape("h0", h0, (np.shape(X)[0], H), "(B, H)")
    ### BEGIN SOLUTION
    B, T, _ = X.shape
    A_x = (X.reshape(B * T, m) @ Wx + bx).reshape(B, T, 3 * H)
    Hs = np.empty((B, T, H), dtype=np.result_type(A_x, h0, Wh))
    Rs, Zs, Ns, A_hn = (np.empty_like(Hs) for _ in range(4))
    h = h0
    for t in range(T):
        a_xr, a_xz, a_xn = np.split(A_x[:, t], 3, axis=1)
        a_hr, a_hz, a_hn = np.split(h @ Wh + bh, 3, axis=1)
        r = sigmoid(a_xr + a_hr)
        z = sigmoid(a_xz + a_hz)
        n = np.tanh(a_xn + r * a_hn)
        h = (1 - z) * n + z * h
        Hs[:, t], Rs[:, t], Zs[:, t], Ns[:, t], A_hn[:, t] = h, r, z, n, a_hn
    ### END SOLUTION
    cache = (X, h0, Wx, Wh, Hs, Rs, Zs, Ns, A_hn)
    return Hs, cache


def gru_step_backward(dh, cache):
    """Exercise 8.1: backward through one GRU step.

    dh (B, H) is dL/dh for the state this step produced; cache = (x, h_prev, Wx, Wh, r, z, n, a_hn)
    from gru_step_forward. Returns dx (B, m), dh_prev (B, H), dWx (m, 3H), dWh (H, 3H), dbx (3H,),
    dbh (3H,).

    Work back to the gates' pre-activations g_r, g_z, g_n (the arguments of sigmoid and tanh), then to
    da_x = dL/da_x = [dg_r | dg_z | dg_n] and da_h = dL/da_h = [dg_r | dg_z | r * dg_n], both (B, 3H):
    the weight gradients and dx, dh_prev follow from those two as in the vanilla RNN.
    """
    x, h_prev, Wx, Wh, r, z, n, a_hn = cache
    validate.shape("dh", dh, np.shape(h_prev), "(B, H), the shape of h")
    ### BEGIN SOLUTION
    dg_n = dh * (1 - z) * (1 - n**2)
    dg_z = dh * (h_prev - n) * z * (1 - z)
    dg_r = dg_n * a_hn * r * (1 - r)
    da_x = np.concatenate([dg_r, dg_z, dg_n], axis=1)
    da_h = np.concatenate([dg_r, dg_z, r * dg_n], axis=1)
    dx = da_x @ Wx.T
    dh_prev = da_h @ Wh.T + dh * z
    dWx = x.T @ da_x
    dWh = h_prev.T @ da_h
    dbx = da_x.sum(axis=0)
    dbh = da_h.sum(axis=0)
    ### END SOLUTION
    return dx, dh_prev, dWx, dWh, dbx, dbh


def gru_backward(dHs, cache):
    """Exercise 8.2: backpropagation through time over the whole sequence.

    dHs (B, T, H): dHs[:, t-1] is dH^out_t, the part of dL/dh_t the output layer sends; cache = (X, h0, Wx,
    Wh, Hs, Rs, Zs, Ns, A_hn) from gru_forward. Returns dX (B, T, m), dh0 (B, H), dWx (m, 3H), dWh (H, 3H),
    dbx (3H,), dbh (3H,).

    The loop runs backwards in time and only carries the state gradient: at step t it adds dH^out_t
    (dHs[:, t-1]) to the gradient arriving from step t+1, works back to da_x and da_h as in gru_step_backward,
    stores them in dA_x and dA_h (B, T, 3H), and passes dh_prev back. After the loop each weight
    gradient (a sum over the steps and the batch) is one matrix product over all B*T rows.
    """
    X, h0, Wx, Wh, Hs, Rs, Zs, Ns, A_hn = cache
    validate.shape("dHs", dHs, np.shape(Hs), "(B, T, H), the shape of Hs")
    B, T, H = Hs.shape
    ### BEGIN SOLUTION
    Hprev = np.concatenate([h0[:, None], Hs[:, :-1]], axis=1)
    dA_x = np.empty((B, T, 3 * H), dtype=np.result_type(dHs, Hs))
    dA_h = np.empty_like(dA_x)
    Wh_T = np.ascontiguousarray(Wh.T)  # BLAS multiplies by this copy faster than by the view Wh.T
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dh = dHs[:, t] + dh_next
        r, z, n = Rs[:, t], Zs[:, t], Ns[:, t]
        dg_n = dh * (1 - z) * (1 - n**2)
        dg_z = dh * (Hprev[:, t] - n) * z * (1 - z)
        dg_r = dg_n * A_hn[:, t] * r * (1 - r)
        da_h = np.concatenate([dg_r, dg_z, r * dg_n], axis=1)
        dA_x[:, t] = np.concatenate([dg_r, dg_z, dg_n], axis=1)
        dA_h[:, t] = da_h
        dh_next = da_h @ Wh_T + dh * z
    dh0 = dh_next
    X2d, Hprev2d = X.reshape(B * T, -1), Hprev.reshape(B * T, H)
    dA_x2d, dA_h2d = dA_x.reshape(B * T, 3 * H), dA_h.reshape(B * T, 3 * H)
    dWx = X2d.T @ dA_x2d
    dWh = Hprev2d.T @ dA_h2d
    dbx = dA_x2d.sum(axis=0)
    dbh = dA_h2d.sum(axis=0)
    dX = (dA_x2d @ Wx.T).reshape(B, T, -1)
    ### END SOLUTION
    return dX, dh0, dWx, dWh, dbx, dbh


# Input checks (the shared helpers are rnnlib.validate's): a wrong shape fails here, with names and shapes.


def _check_weights(Wx, Wh, bx, bh):
    """(m, H) from Wx and Wh, after checking the fused shapes Wx (m, 3H), Wh (H, 3H), bx, bh (3H,)."""
    validate.shape("Wh", Wh, (None, None), "(H, 3H)")
    H = np.shape(Wh)[0]
    validate.shape("Wh", Wh, (H, 3 * H), "(H, 3H), the gates [r | z | n] side by side")
    validate.shape("Wx", Wx, (None, 3 * H), "(m, 3H)")
    validate.shape("bx", bx, (3 * H,), "(3H,)")
    validate.shape("bh", bh, (3 * H,), "(3H,)")
    return np.shape(Wx)[0], H


# The language model (not an exercise), rnnlib/language_model.py's around this layer: the same names and
# contract as in rnnlib.rnn.

PARAMS = ("Wx", "Wh", "bx", "bh", "Why", "by")


def _init_layer(V, H, rng):
    """The GRU's parameters for init_params (lesson 07): Wx (V, 3H), Wh (H, 3H), bx (3H,), bh (3H,), in
    float64, gate order [r | z | n].

    As in rnnlib.rnn, each weight matrix is drawn from N(0, 1/fan_in) with fan_in its number of rows, so
    x W has the variance ||x||^2 / fan_in (1/V for a one-hot x), and biases start at zero. The gate
    pre-activations start small (spread about 0.15 on random one-hot input, problem set 7, Problem 2),
    so both gates start near half open, sigmoid(0) = 0.5, and n_t depends on the input.
    """
    return {
        "Wx": rng.standard_normal((V, 3 * H)) / np.sqrt(V),
        "Wh": rng.standard_normal((H, 3 * H)) / np.sqrt(H),
        "bx": np.zeros(3 * H),
        "bh": np.zeros(3 * H),
    }


LANGUAGE_MODEL = LanguageModel(
    "gru",
    PARAMS,
    init_layer=_init_layer,
    check_layer=_check_weights,
    forward=gru_forward,
    backward=gru_backward,
    step_forward=gru_step_forward,
    output_forward=output_forward,
    output_backward=output_backward,
)
init_params = LANGUAGE_MODEL.init_params  # (vocab_size, hidden_size, rng, dtype=np.float64) -> params
lm_forward = LANGUAGE_MODEL.lm_forward  # (params, inputs, targets, h0) -> loss, h_last, cache
lm_backward = LANGUAGE_MODEL.lm_backward  # (cache, dh_last=None) -> grads, dh0
lm_step = LANGUAGE_MODEL.lm_step  # (params, ids, h) -> logits (B, V), h_next (B, H)
