"""The reference RNN and GRU compute exactly what torch.nn.RNN and torch.nn.GRU compute.

Weights are copied into PyTorch through the layout maps below; outputs, final states and every gradient
(weights, biases, inputs, h0) from autograd must agree to 1e-10 in float64 for a random upstream
gradient dHs. PyTorch stores weights transposed (column-vector form, y = W x) and fuses the GRU gates
along the rows in the same order [r | z | n] as rnnlib's columns.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip(
    "torch",
    reason="parity tests need torch; install the torch extra: pip install torch==2.13.0 (CPU build)",
)

from rnnlib import gru, rnn  # noqa: E402

TOL = 1e-10
shapes = st.tuples(
    st.integers(1, 4),  # B
    st.integers(1, 6),  # T
    st.integers(1, 5),  # m
    st.integers(1, 6),  # H
    st.integers(0, 2**32 - 1),  # seed
)


def torch_gru_from_rnnlib(Wx, Wh, bx, bh):
    """nn.GRU(batch_first=True) holding rnnlib's GRU weights.

    weight_ih_l0 = Wx.T (3H, m), rows [r; z; n]    bias_ih_l0 = bx (3H,)
    weight_hh_l0 = Wh.T (3H, H), rows [r; z; n]    bias_hh_l0 = bh (3H,)
    """
    m, H = Wx.shape[0], Wh.shape[0]
    model = torch.nn.GRU(m, H, batch_first=True, dtype=torch.float64)
    _copy(model, {"weight_ih_l0": Wx.T, "weight_hh_l0": Wh.T, "bias_ih_l0": bx, "bias_hh_l0": bh})
    return model


def torch_rnn_from_rnnlib(Wxh, Whh, bh):
    """nn.RNN(nonlinearity='tanh', batch_first=True) holding rnnlib's vanilla RNN weights.

    weight_ih_l0 = Wxh.T (H, m)    bias_ih_l0 = bh (H,)
    weight_hh_l0 = Whh.T (H, H)    bias_hh_l0 = 0 (rnnlib has one bias; PyTorch has two that add up)
    """
    m, H = Wxh.shape
    model = torch.nn.RNN(m, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    zero = np.zeros_like(bh)
    _copy(model, {"weight_ih_l0": Wxh.T, "weight_hh_l0": Whh.T, "bias_ih_l0": bh, "bias_hh_l0": zero})
    return model


def _copy(model, arrays):
    with torch.no_grad():
        for name, value in arrays.items():
            parameter = getattr(model, name)
            assert parameter.shape == value.shape, f"{name}: {tuple(parameter.shape)} != {value.shape}"
            parameter.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def _run_torch(model, X, h0, dHs):
    """Outputs, final state and autograd gradients of sum(Hs * dHs) (so dL/dHs = dHs)."""
    X_t = torch.tensor(X, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)  # torch wants (layers, B, H)
    Hs_t, h_last_t = model(X_t, h0_t)
    (Hs_t * torch.from_numpy(dHs)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in model.named_parameters()}
    return Hs_t.detach().numpy(), h_last_t.detach().numpy()[0], X_t.grad.numpy(), h0_t.grad.numpy()[0], grads


def _close(name, ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL, err_msg=name)


def _random(seed, B, T, m, H, gates):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, T, m))
    h0 = rng.normal(size=(B, H))
    dHs = rng.normal(size=(B, T, H))
    weights = [rng.normal(scale=0.7, size=s) for s in ((m, gates * H), (H, gates * H), (gates * H,))]
    return rng, X, h0, dHs, weights


@settings(max_examples=25, deadline=None)
@given(shapes)
def test_gru_matches_torch_nn_gru(shape):
    B, T, m, H, seed = shape
    rng, X, h0, dHs, (Wx, Wh, bx) = _random(seed, B, T, m, H, gates=3)
    bh = rng.normal(scale=0.7, size=3 * H)

    Hs, cache = gru.gru_forward(X, h0, Wx, Wh, bx, bh)
    dX, dh0, dWx, dWh, dbx, dbh = gru.gru_backward(dHs, cache)
    Hs_t, h_last_t, dX_t, dh0_t, g = _run_torch(torch_gru_from_rnnlib(Wx, Wh, bx, bh), X, h0, dHs)

    _close("Hs", Hs, Hs_t)
    _close("h_last", Hs[:, -1], h_last_t)
    _close("dX", dX, dX_t)
    _close("dh0", dh0, dh0_t)
    _close("dWx", dWx, g["weight_ih_l0"].T)
    _close("dWh", dWh, g["weight_hh_l0"].T)
    _close("dbx", dbx, g["bias_ih_l0"])
    _close("dbh", dbh, g["bias_hh_l0"])


@settings(max_examples=25, deadline=None)
@given(shapes)
def test_rnn_matches_torch_nn_rnn(shape):
    B, T, m, H, seed = shape
    _, X, h0, dHs, (Wxh, Whh, bh) = _random(seed, B, T, m, H, gates=1)

    Hs, cache = rnn.rnn_forward(X, h0, Wxh, Whh, bh)
    dX, dh0, dWxh, dWhh, dbh = rnn.rnn_backward(dHs, cache)
    Hs_t, h_last_t, dX_t, dh0_t, g = _run_torch(torch_rnn_from_rnnlib(Wxh, Whh, bh), X, h0, dHs)

    _close("Hs", Hs, Hs_t)
    _close("h_last", Hs[:, -1], h_last_t)
    _close("dX", dX, dX_t)
    _close("dh0", dh0, dh0_t)
    _close("dWxh", dWxh, g["weight_ih_l0"].T)
    _close("dWhh", dWhh, g["weight_hh_l0"].T)
    _close("dbh", dbh, g["bias_ih_l0"])
    _close("dbh (torch's second bias)", dbh, g["bias_hh_l0"])


def test_gru_step_matches_torch_nn_grucell():
    """The single step too: gru_step_forward/backward against nn.GRUCell with the same layout."""
    rng = np.random.default_rng(0)
    B, m, H = 3, 4, 5
    x, h_prev, dh = rng.normal(size=(B, m)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    Wx, Wh = rng.normal(size=(m, 3 * H)), rng.normal(size=(H, 3 * H))
    bx, bh = rng.normal(size=3 * H), rng.normal(size=3 * H)

    h, cache = gru.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    dx, dh_prev, dWx, dWh, dbx, dbh = gru.gru_step_backward(dh, cache)

    cell = torch.nn.GRUCell(m, H, dtype=torch.float64)
    _copy(cell, {"weight_ih": Wx.T, "weight_hh": Wh.T, "bias_ih": bx, "bias_hh": bh})
    x_t, h_prev_t = torch.tensor(x, requires_grad=True), torch.tensor(h_prev, requires_grad=True)
    h_t = cell(x_t, h_prev_t)
    (h_t * torch.from_numpy(dh)).sum().backward()

    _close("h", h, h_t.detach().numpy())
    _close("dx", dx, x_t.grad.numpy())
    _close("dh_prev", dh_prev, h_prev_t.grad.numpy())
    _close("dWx", dWx, cell.weight_ih.grad.numpy().T)
    _close("dWh", dWh, cell.weight_hh.grad.numpy().T)
    _close("dbx", dbx, cell.bias_ih.grad.numpy())
    _close("dbh", dbh, cell.bias_hh.grad.numpy())
