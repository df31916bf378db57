"""Unit tests of the reference GRU (rnnlib.gru, lessons 07-08)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlib import gru
from rnnlib.gradcheck import numerical_gradient, relative_error

TOL = 1e-7
shapes = st.tuples(
    st.integers(1, 3),  # B
    st.integers(1, 4),  # T
    st.integers(1, 4),  # m
    st.integers(1, 4),  # H
    st.integers(0, 2**32 - 1),  # seed
)


def _weights(rng, m, H, scale=0.7):
    Wx, Wh = rng.normal(scale=scale, size=(m, 3 * H)), rng.normal(scale=scale, size=(H, 3 * H))
    bx, bh = rng.normal(scale=scale, size=3 * H), rng.normal(scale=scale, size=3 * H)
    return Wx, Wh, bx, bh


def _problem(seed, B, T, m, H):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(B, T, m)), rng.normal(size=(B, H)), _weights(rng, m, H)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


# Forward.


def test_step_is_the_equations_with_gate_order_r_z_n():
    """One step against the four equations written with separate per-gate weights."""
    rng = np.random.default_rng(0)
    B, m, H = 3, 4, 5
    x, h_prev = rng.normal(size=(B, m)), rng.normal(size=(B, H))
    W = {k: rng.normal(size=(m if k[1] == "x" else H, H)) for k in ("Wxr", "Wxz", "Wxn", "Whr", "Whz", "Whn")}
    b = {k: rng.normal(size=H) for k in ("bxr", "bxz", "bxn", "bhr", "bhz", "bhn")}
    r = _sigmoid(x @ W["Wxr"] + b["bxr"] + h_prev @ W["Whr"] + b["bhr"])
    z = _sigmoid(x @ W["Wxz"] + b["bxz"] + h_prev @ W["Whz"] + b["bhz"])
    n = np.tanh(x @ W["Wxn"] + b["bxn"] + r * (h_prev @ W["Whn"] + b["bhn"]))
    expected = (1 - z) * n + z * h_prev

    Wx = np.concatenate([W["Wxr"], W["Wxz"], W["Wxn"]], axis=1)
    Wh = np.concatenate([W["Whr"], W["Whz"], W["Whn"]], axis=1)
    bx = np.concatenate([b["bxr"], b["bxz"], b["bxn"]])
    bh = np.concatenate([b["bhr"], b["bhz"], b["bhn"]])
    h, _ = gru.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)


def test_update_gate_near_one_copies_the_state_and_near_zero_takes_the_candidate():
    rng = np.random.default_rng(1)
    B, m, H = 2, 3, 4
    x, h_prev = rng.normal(size=(B, m)), rng.normal(size=(B, H))
    Wx, Wh, bx, bh = _weights(rng, m, H, scale=0.1)
    keep = bx.copy()
    keep[H : 2 * H] = 50.0  # z = 1: the state passes through unchanged
    h, _ = gru.gru_step_forward(x, h_prev, Wx, Wh, keep, bh)
    np.testing.assert_allclose(h, h_prev, atol=1e-12)
    replace = bx.copy()
    replace[H : 2 * H] = -50.0  # z = 0: h is the candidate n, inside (-1, 1)
    h, _ = gru.gru_step_forward(x, h_prev, Wx, Wh, replace, bh)
    assert np.all(np.abs(h) < 1)


@settings(max_examples=30, deadline=None)
@given(shapes)
def test_forward_is_the_step_applied_along_time(shape):
    B, T, m, H, seed = shape
    _, X, h0, weights = _problem(seed, B, T, m, H)
    Hs, _ = gru.gru_forward(X, h0, *weights)
    assert Hs.shape == (B, T, H)
    h = h0
    for t in range(T):
        h, _ = gru.gru_step_forward(X[:, t], h, *weights)
        np.testing.assert_allclose(Hs[:, t], h, rtol=1e-12, atol=1e-12)


def test_state_carries_across_windows():
    """Two windows with the last state carried equal one long window: forward and backward."""
    _, X, h0, weights = _problem(2, 3, 8, 4, 5)
    dHs = np.random.default_rng(3).normal(size=(3, 8, 5))
    Hs, cache = gru.gru_forward(X, h0, *weights)
    first, cache1 = gru.gru_forward(X[:, :5], h0, *weights)
    second, cache2 = gru.gru_forward(X[:, 5:], first[:, -1], *weights)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), Hs, rtol=1e-12, atol=1e-12)

    dX, dh0, *dW = gru.gru_backward(dHs, cache)
    dX2, dh_mid, *dW2 = gru.gru_backward(dHs[:, 5:], cache2)
    dHs1 = dHs[:, :5].copy()
    dHs1[:, -1] += dh_mid  # the second window's gradient flows into the first window's last state
    dX1, dh0_1, *dW1 = gru.gru_backward(dHs1, cache1)
    np.testing.assert_allclose(np.concatenate([dX1, dX2], axis=1), dX, atol=1e-12)
    np.testing.assert_allclose(dh0_1, dh0, atol=1e-12)
    for full, a, b in zip(dW, dW1, dW2, strict=True):
        np.testing.assert_allclose(a + b, full, atol=1e-12)


def test_float32_in_float32_out():
    _, X, h0, weights = _problem(4, 2, 3, 3, 4)
    X, h0, weights = X.astype(np.float32), h0.astype(np.float32), [w.astype(np.float32) for w in weights]
    Hs, cache = gru.gru_forward(X, h0, *weights)
    assert Hs.dtype == np.float32
    assert all(g.dtype == np.float32 for g in gru.gru_backward(np.ones_like(Hs), cache))


def test_sigmoid_is_accurate_and_never_overflows():
    """0.5 + 0.5 tanh(a/2) is within half an epsilon of the exact value, absolutely (the tail below that
    cancels to 0), and within a few epsilons relatively where the gate is at least half open."""
    a = np.concatenate([[-1e4, -100.0, 100.0, 1e4], np.linspace(-40, 40, 2001)])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        s32, s64 = gru.sigmoid(a.astype(np.float32)), gru.sigmoid(a)
        expected = np.exp(-np.logaddexp(0, -a))  # 1 / (1 + e^-a), computed without overflow
    assert s32.dtype == np.float32 and s64.dtype == np.float64
    for s, dtype in ((s32, np.float32), (s64, np.float64)):
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(s, expected, rtol=0, atol=eps / 2)
        upper = expected >= 0.5
        np.testing.assert_allclose(s[upper], expected[upper], rtol=2 * eps, atol=0)
        assert np.all((s >= 0) & (s <= 1))


# Backward.


def _check_gradients(f, arrays, analytic):
    for name, x in arrays.items():
        error = relative_error(analytic[name], numerical_gradient(lambda _, x=x: f(), x))
        assert error < TOL, f"d{name}: relative error {error:.1e}"


@settings(max_examples=20, deadline=None)
@given(shapes)
def test_step_backward_matches_numerical_gradients(shape):
    B, _, m, H, seed = shape
    rng, _, h_prev, (Wx, Wh, bx, bh) = _problem(seed, B, 1, m, H)
    x, dh = rng.normal(size=(B, m)), rng.normal(size=(B, H))
    _, cache = gru.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    dx, dh_prev, dWx, dWh, dbx, dbh = gru.gru_step_backward(dh, cache)

    def loss():
        return np.sum(gru.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0] * dh)

    arrays = {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh}
    _check_gradients(loss, arrays, dict(zip(arrays, (dx, dh_prev, dWx, dWh, dbx, dbh), strict=True)))


@settings(max_examples=20, deadline=None)
@given(shapes)
def test_backward_matches_numerical_gradients(shape):
    B, T, m, H, seed = shape
    rng, X, h0, (Wx, Wh, bx, bh) = _problem(seed, B, T, m, H)
    dHs = rng.normal(size=(B, T, H))
    _, cache = gru.gru_forward(X, h0, Wx, Wh, bx, bh)
    grads = gru.gru_backward(dHs, cache)

    def loss():
        return np.sum(gru.gru_forward(X, h0, Wx, Wh, bx, bh)[0] * dHs)

    arrays = {"X": X, "h0": h0, "Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh}
    _check_gradients(loss, arrays, dict(zip(arrays, grads, strict=True)))


@settings(max_examples=20, deadline=None)
@given(shapes)
def test_backward_is_the_step_backward_applied_along_time(shape):
    B, T, m, H, seed = shape
    rng, X, h0, weights = _problem(seed, B, T, m, H)
    dHs = rng.normal(size=(B, T, H))
    _, cache = gru.gru_forward(X, h0, *weights)
    dX, dh0, *dW = gru.gru_backward(dHs, cache)

    caches, h = [], h0
    for t in range(T):
        h, step_cache = gru.gru_step_forward(X[:, t], h, *weights)
        caches.append(step_cache)
    dh_next, total = np.zeros_like(h0), [np.zeros_like(w) for w in weights]
    for t in reversed(range(T)):
        dx, dh_next, *step_dW = gru.gru_step_backward(dHs[:, t] + dh_next, caches[t])
        np.testing.assert_allclose(dX[:, t], dx, atol=1e-12)
        total = [a + b for a, b in zip(total, step_dW, strict=True)]
    np.testing.assert_allclose(dh0, dh_next, atol=1e-12)
    for got, expected in zip(dW, total, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-12)


# Language-model glue.


def test_init_params_has_the_fused_shapes():
    params = gru.init_params(11, 7, np.random.default_rng(0), dtype=np.float32)
    shapes = {"Wx": (11, 21), "Wh": (7, 21), "bx": (21,), "bh": (21,), "Why": (7, 11), "by": (11,)}
    assert {k: v.shape for k, v in params.items()} == shapes
    assert all(v.dtype == np.float32 for v in params.values())


def _lm_problem(seed=0, B=2, T=4, V=5, H=3):
    rng = np.random.default_rng(seed)
    params = gru.init_params(V, H, rng)
    params = {k: v + rng.normal(scale=0.3, size=v.shape) for k, v in params.items()}
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    return params, inputs, targets, rng.normal(size=(B, H))


def test_lm_backward_matches_numerical_gradients_of_the_loss():
    params, inputs, targets, h0 = _lm_problem()
    _, _, cache = gru.lm_forward(params, inputs, targets, h0)
    grads, dh0 = gru.lm_backward(cache)
    assert set(grads) == set(params)

    def loss():
        return gru.lm_forward(params, inputs, targets, h0)[0]

    _check_gradients(loss, {**params, "h0": h0}, {**grads, "h0": dh0})


def test_lm_step_agrees_with_lm_forward():
    params, inputs, targets, h0 = _lm_problem(seed=1)
    _, h_last, _ = gru.lm_forward(params, inputs, targets, h0)
    h = h0
    for t in range(inputs.shape[1]):
        logits, h = gru.lm_step(params, inputs[:, t], h)
    assert logits.shape == (inputs.shape[0], params["by"].shape[0])
    np.testing.assert_allclose(h, h_last, atol=1e-12)


def test_lm_loss_at_initialisation_is_near_uniform():
    V = 65
    params = gru.init_params(V, 32, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    inputs, targets = rng.integers(V, size=(4, 16)), rng.integers(V, size=(4, 16))
    loss, _, _ = gru.lm_forward(params, inputs, targets, np.zeros((4, 32)))
    assert abs(loss - np.log(V)) < 0.2


# Bad input.


def test_bad_input_is_refused_with_a_clear_error():
    rng, X, h0, (Wx, Wh, bx, bh) = _problem(5, 2, 3, 4, 5)
    x = X[:, 0]
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 3H\)"):
        gru.gru_step_forward(x, h0, Wx, Wh[:, :-1], bx, bh)
    with pytest.raises(ValueError, match=r"Wx must have shape \(m, 3H\)"):
        gru.gru_step_forward(x, h0, Wx[:, :10], Wh, bx, bh)  # Wx holds only two of the three gates
    with pytest.raises(ValueError, match="bx must have shape"):
        gru.gru_step_forward(x, h0, Wx, Wh, bx[:-1], bh)
    with pytest.raises(ValueError, match="x must have shape"):
        gru.gru_step_forward(x[:, :-1], h0, Wx, Wh, bx, bh)  # m disagrees with Wx
    with pytest.raises(ValueError, match="h_prev must have shape"):
        gru.gru_step_forward(x, h0[:1], Wx, Wh, bx, bh)  # the batch sizes differ
    with pytest.raises(ValueError, match=r"X must have shape \(B, T, m\)"):
        gru.gru_forward(x, h0, Wx, Wh, bx, bh)  # one step where a sequence is expected
    with pytest.raises(ValueError, match="T = 0"):
        gru.gru_forward(X[:, :0], h0, Wx, Wh, bx, bh)
    _, cache = gru.gru_forward(X, h0, Wx, Wh, bx, bh)
    with pytest.raises(ValueError, match="dHs must have shape"):
        gru.gru_backward(rng.normal(size=(2, 2, 5)), cache)
    _, step_cache = gru.gru_step_forward(x, h0, Wx, Wh, bx, bh)
    with pytest.raises(ValueError, match="dh must have shape"):
        gru.gru_step_backward(rng.normal(size=(2, 4)), step_cache)


def test_bad_language_model_input_is_refused():
    params, inputs, targets, h0 = _lm_problem()
    with pytest.raises(TypeError, match="integer"):
        gru.lm_forward(params, inputs.astype(np.float64), targets, h0)
    with pytest.raises(ValueError, match="vocabulary"):
        gru.lm_forward(params, inputs + 5, targets, h0)
    with pytest.raises(ValueError, match="keys"):
        gru.lm_forward({k: v for k, v in params.items() if k != "bh"}, inputs, targets, h0)
    with pytest.raises(ValueError, match="keys"):
        gru.lm_forward(params | {"Wxh": params["Wx"]}, inputs, targets, h0)  # a vanilla RNN's key
    with pytest.raises(TypeError, match="same floating dtype"):
        gru.lm_forward(params | {"Wh": params["Wh"].astype(np.float32)}, inputs, targets, h0)
    with pytest.raises(TypeError, match="Generator"):
        gru.init_params(5, 3, 0)
