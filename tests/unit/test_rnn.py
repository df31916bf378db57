"""The vanilla RNN (rnnlib.rnn): forward values, every gradient against central differences, the state
carried across windows, bad input, and dtypes."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlib import rnn
from rnnlib.gradcheck import numerical_gradient, relative_error

TOL = 1e-7
ATOL = 1e-8
small = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


def _weights(rng, m, H):
    """Wxh, Whh, bh scaled by fan-in, so pre-activations stay of order one. A saturated tanh would make
    every gradient tiny next to the rounding noise of central differences, and the check meaningless."""
    return (
        rng.normal(scale=0.5 / np.sqrt(m), size=(m, H)),
        rng.normal(scale=0.5 / np.sqrt(H), size=(H, H)),
        rng.normal(scale=0.1, size=H),
    )


def _params(rng, V, H):
    """Parameters with non-zero biases and larger weights than init_params, so no gradient is trivial."""
    params = rnn.init_params(V, H, rng)
    return {k: v + 0.3 * rng.normal(size=v.shape) for k, v in params.items()}


def _assert_gradient(analytic, f, x):
    """analytic must match central differences of f at x: to TOL relative error, or to ATOL absolute.

    Central differences resolve a gradient only to about 1e-10 absolute (rounding of f, |f| ~ 1, over
    the step h = 1e-6). When every entry of a gradient is tiny (a saturated tanh, terms that cancel),
    its relative error measures that noise rather than the gradient, so agreement to ATOL also passes;
    a wrong gradient is off by about its own size, far more than ATOL whenever it matters.
    """
    numeric = numerical_gradient(f, x)
    error, worst = relative_error(analytic, numeric), np.max(np.abs(analytic - numeric), initial=0.0)
    assert error < TOL or worst < ATOL, f"relative error {error:.1e}, absolute error {worst:.1e}"


# Forward.


def test_step_forward_on_hand_computable_numbers():
    x = np.array([[1.0, 0.0], [0.0, 2.0]])
    h_prev = np.array([[0.5], [-1.0]])
    Wxh, Whh, bh = np.array([[0.1], [0.2]]), np.array([[0.4]]), np.array([0.3])
    h, cache = rnn.rnn_step_forward(x, h_prev, Wxh, Whh, bh)
    # row 0: 0.1 + 0.5 * 0.4 + 0.3 = 0.6;  row 1: 0.4 - 0.4 + 0.3 = 0.3
    np.testing.assert_allclose(h, np.tanh([[0.6], [0.3]]), rtol=1e-15)
    assert cache[-1] is h


def test_sequence_forward_is_the_step_applied_in_a_loop():
    rng = np.random.default_rng(0)
    B, T, m, H = 3, 5, 4, 6
    X, h0 = rng.normal(size=(B, T, m)), rng.normal(size=(B, H))
    Wxh, Whh, bh = _weights(rng, m, H)
    Hs, _ = rnn.rnn_forward(X, h0, Wxh, Whh, bh)
    assert Hs.shape == (B, T, H)
    h = h0
    for t in range(T):
        h, _ = rnn.rnn_step_forward(X[:, t], h, Wxh, Whh, bh)
        np.testing.assert_allclose(Hs[:, t], h, rtol=1e-13, atol=1e-15)


def test_output_layer_is_the_same_product_at_every_step():
    rng = np.random.default_rng(1)
    Hs, Why, by = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    Z, _ = rnn.output_forward(Hs, Why, by)
    assert Z.shape == (2, 3, 5)
    for t in range(3):
        np.testing.assert_allclose(Z[:, t], Hs[:, t] @ Why + by, rtol=1e-13)


def test_the_initial_loss_is_close_to_that_of_a_uniform_guess():
    rng = np.random.default_rng(0)
    V, H, B, T = 65, 128, 8, 32
    params = rnn.init_params(V, H, rng)
    loss, _, _ = rnn.lm_forward(params, rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T)), None)
    assert abs(loss - math.log(V)) < 0.1


def test_init_params_shapes_zero_biases_and_the_same_model_in_both_dtypes():
    p64 = rnn.init_params(7, 3, np.random.default_rng(5))
    p32 = rnn.init_params(7, 3, np.random.default_rng(5), dtype=np.float32)
    shapes = {"Wxh": (7, 3), "Whh": (3, 3), "bh": (3,), "Why": (3, 7), "by": (7,)}
    assert {k: v.shape for k, v in p64.items()} == shapes
    assert not p64["bh"].any() and not p64["by"].any()
    for k in shapes:
        assert p32[k].dtype == np.float32
        np.testing.assert_allclose(p32[k], p64[k], rtol=1e-6)


def test_sampling_steps_reproduce_the_window_loss_and_state():
    rng = np.random.default_rng(2)
    V, H, B, T = 6, 5, 3, 4
    params = _params(rng, V, H)
    inputs, targets, h0 = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T)), rng.normal(size=(B, H))
    loss, h_last, _ = rnn.lm_forward(params, inputs, targets, h0)
    h, nll = h0, 0.0
    for t in range(T):
        logits, h = rnn.lm_step(params, inputs[:, t], h)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        nll -= log_p[np.arange(B), targets[:, t]].sum()
    np.testing.assert_allclose(h, h_last, rtol=1e-13)
    assert loss == pytest.approx(nll / (B * T), rel=1e-12)


def test_h0_none_means_zeros():
    rng = np.random.default_rng(3)
    params = _params(rng, 5, 4)
    inputs, targets = rng.integers(5, size=(2, 3)), rng.integers(5, size=(2, 3))
    assert (
        rnn.lm_forward(params, inputs, targets, None)[0]
        == rnn.lm_forward(params, inputs, targets, np.zeros((2, 4)))[0]
    )


# Backward: every gradient against central differences, over random small shapes.


@settings(max_examples=25, deadline=None)
@given(small, small, small, small, seeds)
def test_step_backward_matches_numerical_gradients(B, m, H, _, seed):
    rng = np.random.default_rng(seed)
    x, h_prev, dh = rng.normal(size=(B, m)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    Wxh, Whh, bh = _weights(rng, m, H)
    _, cache = rnn.rnn_step_forward(x, h_prev, Wxh, Whh, bh)
    dx, dh_prev, dWxh, dWhh, dbh = rnn.rnn_step_backward(dh, cache)

    def f(_):
        return float(np.sum(rnn.rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0] * dh))

    for analytic, x_ in ((dx, x), (dh_prev, h_prev), (dWxh, Wxh), (dWhh, Whh), (dbh, bh)):
        _assert_gradient(analytic, f, x_)


@settings(max_examples=25, deadline=None)
@given(small, small, small, small, seeds)
def test_rnn_backward_matches_numerical_gradients(B, T, m, H, seed):
    rng = np.random.default_rng(seed)
    X, h0, dHs = rng.normal(size=(B, T, m)), rng.normal(size=(B, H)), rng.normal(size=(B, T, H))
    Wxh, Whh, bh = _weights(rng, m, H)
    _, cache = rnn.rnn_forward(X, h0, Wxh, Whh, bh)
    dX, dh0, dWxh, dWhh, dbh = rnn.rnn_backward(dHs, cache)

    def f(_):
        return float(np.sum(rnn.rnn_forward(X, h0, Wxh, Whh, bh)[0] * dHs))

    for analytic, x in ((dX, X), (dh0, h0), (dWxh, Wxh), (dWhh, Whh), (dbh, bh)):
        _assert_gradient(analytic, f, x)


@settings(max_examples=25, deadline=None)
@given(small, small, small, small, seeds)
def test_output_backward_matches_numerical_gradients(B, T, H, V, seed):
    rng = np.random.default_rng(seed)
    Hs, Why, by, dZ = (
        rng.normal(size=(B, T, H)),
        rng.normal(size=(H, V)),
        rng.normal(size=V),
        rng.normal(size=(B, T, V)),
    )
    _, cache = rnn.output_forward(Hs, Why, by)
    dHs, dWhy, dby = rnn.output_backward(dZ, cache)

    def f(_):
        return float(np.sum(rnn.output_forward(Hs, Why, by)[0] * dZ))

    for analytic, x in ((dHs, Hs), (dWhy, Why), (dby, by)):
        _assert_gradient(analytic, f, x)


@settings(max_examples=20, deadline=None)
@given(small, small, st.integers(1, 5), st.integers(2, 6), seeds)
def test_lm_backward_matches_numerical_gradients(B, T, H, V, seed):
    rng = np.random.default_rng(seed)
    params = _params(rng, V, H)
    inputs, targets, h0 = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T)), rng.normal(size=(B, H))
    _, _, cache = rnn.lm_forward(params, inputs, targets, h0)
    grads, dh0 = rnn.lm_backward(cache)
    assert grads.keys() == params.keys()

    def f(_):
        return rnn.lm_forward(params, inputs, targets, h0)[0]

    for k in params:
        _assert_gradient(grads[k], f, params[k])
    _assert_gradient(dh0, f, h0)


def test_sequence_backward_is_the_step_backward_applied_in_reverse():
    rng = np.random.default_rng(4)
    B, T, m, H = 2, 4, 3, 5
    X, h0, dHs = rng.normal(size=(B, T, m)), rng.normal(size=(B, H)), rng.normal(size=(B, T, H))
    Wxh, Whh, bh = _weights(rng, m, H)
    _, cache = rnn.rnn_forward(X, h0, Wxh, Whh, bh)
    dX, dh0, *dW = rnn.rnn_backward(dHs, cache)

    caches, h = [], h0
    for t in range(T):
        h, step_cache = rnn.rnn_step_forward(X[:, t], h, Wxh, Whh, bh)
        caches.append(step_cache)
    dh_next, total = np.zeros_like(h0), [np.zeros_like(w) for w in (Wxh, Whh, bh)]
    for t in reversed(range(T)):
        dx, dh_next, *dw = rnn.rnn_step_backward(dHs[:, t] + dh_next, caches[t])
        np.testing.assert_allclose(dX[:, t], dx, rtol=1e-12, atol=1e-14)
        total = [a + b for a, b in zip(total, dw, strict=True)]
    np.testing.assert_allclose(dh0, dh_next, rtol=1e-12, atol=1e-14)
    for ours, summed in zip(dW, total, strict=True):
        np.testing.assert_allclose(ours, summed, rtol=1e-12, atol=1e-14)


@settings(max_examples=15, deadline=None)
@given(small, small, st.integers(1, 5), st.integers(2, 6), seeds)
def test_two_windows_with_the_state_carried_have_the_gradient_of_one_long_window(B, T, H, V, seed):
    """Window 2 starts from window 1's h_last. Feeding window 2's dh0 back into window 1 (dh_last) and
    adding the two windows' gradients gives the exact gradient of one window of length 2T, whose mean
    loss is the average of the two windows' means."""
    rng = np.random.default_rng(seed)
    params = _params(rng, V, H)
    inputs, targets, h0 = (
        rng.integers(V, size=(B, 2 * T)),
        rng.integers(V, size=(B, 2 * T)),
        rng.normal(size=(B, H)),
    )

    loss1, h1, cache1 = rnn.lm_forward(params, inputs[:, :T], targets[:, :T], h0)
    loss2, h2, cache2 = rnn.lm_forward(params, inputs[:, T:], targets[:, T:], h1)
    grads2, dh1 = rnn.lm_backward(cache2)
    grads1, dh0 = rnn.lm_backward(cache1, dh_last=dh1)

    loss, h_last, cache = rnn.lm_forward(params, inputs, targets, h0)
    grads, dh0_long = rnn.lm_backward(cache)
    assert loss == pytest.approx((loss1 + loss2) / 2, rel=1e-13)
    np.testing.assert_allclose(h2, h_last, rtol=1e-13)
    for k in params:
        np.testing.assert_allclose((grads1[k] + grads2[k]) / 2, grads[k], rtol=1e-10, atol=1e-13, err_msg=k)
    np.testing.assert_allclose(dh0 / 2, dh0_long, rtol=1e-10, atol=1e-13)


def test_truncated_bptt_drops_what_window_2_owes_to_window_1():
    rng = np.random.default_rng(6)
    B, T, H, V = 2, 3, 4, 5
    params = _params(rng, V, H)
    inputs, targets, h0 = (
        rng.integers(V, size=(B, 2 * T)),
        rng.integers(V, size=(B, 2 * T)),
        rng.normal(size=(B, H)),
    )
    _, h1, cache1 = rnn.lm_forward(params, inputs[:, :T], targets[:, :T], h0)
    _, _, cache2 = rnn.lm_forward(params, inputs[:, T:], targets[:, T:], h1)
    grads2, _ = rnn.lm_backward(cache2)
    truncated, _ = rnn.lm_backward(cache1)
    grads, _ = rnn.lm_backward(rnn.lm_forward(params, inputs, targets, h0)[2])
    for k in (
        "Wxh",
        "Whh",
        "bh",
    ):  # they act through the state, so window 2's loss reaches window 1 through them
        assert relative_error((truncated[k] + grads2[k]) / 2, grads[k]) > 1e-3, k
    for k in ("Why", "by"):  # they do not
        np.testing.assert_allclose((truncated[k] + grads2[k]) / 2, grads[k], rtol=1e-10, atol=1e-13)


# Bad input gets a clear error.

V, H, B, T = 5, 4, 2, 3
PARAMS = rnn.init_params(V, H, np.random.default_rng(0))
IDS = np.zeros((B, T), dtype=np.int64)
H0 = np.zeros((B, H))
WEIGHTS = (np.zeros((3, H)), np.zeros((H, H)), np.zeros(H))  # Wxh, Whh, bh for inputs of size m = 3


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: rnn.lm_forward(PARAMS, IDS + V, IDS, H0), ValueError, "vocabulary"),
        (lambda: rnn.lm_forward(PARAMS, IDS, IDS - 1, H0), ValueError, "vocabulary"),
        (lambda: rnn.lm_forward(PARAMS, IDS[:, :0], IDS[:, :0], H0), ValueError, "T = 0"),
        (lambda: rnn.lm_forward(PARAMS, IDS, IDS[:, :2], H0), ValueError, "shape of inputs"),
        (lambda: rnn.lm_forward(PARAMS, IDS[0], IDS[0], H0), ValueError, "(B, T)"),
        (lambda: rnn.lm_forward(PARAMS, IDS, IDS, np.zeros((B, H + 1))), ValueError, "h0"),
        (lambda: rnn.lm_forward(PARAMS, IDS.astype(float), IDS, H0), TypeError, "integer"),
        (lambda: rnn.lm_forward({**PARAMS, "Whh": PARAMS["Whh"][:, :2]}, IDS, IDS, H0), ValueError, "Whh"),
        (lambda: rnn.lm_forward({"Wxh": PARAMS["Wxh"]}, IDS, IDS, H0), ValueError, "keys"),
        (
            lambda: rnn.lm_forward({**PARAMS, "by": PARAMS["by"].astype(np.float32)}, IDS, IDS, H0),
            TypeError,
            "dtype",
        ),
        (lambda: rnn.lm_step(PARAMS, np.array([0, V]), None), ValueError, "vocabulary"),
        (
            lambda: rnn.rnn_forward(np.zeros((B, 0, 3)), H0, *WEIGHTS),
            ValueError,
            "T = 0",
        ),
        (
            lambda: rnn.rnn_forward(np.zeros((B, T, 2)), H0, *WEIGHTS),
            ValueError,
            "X must have shape (B, T, m) = (any, any, 3), got (2, 3, 2)",
        ),
        (
            lambda: rnn.rnn_step_forward(np.zeros((B, 3)), np.zeros((B + 1, H)), *WEIGHTS),
            ValueError,
            "h_prev must have shape (B, H) = (2, 4), got (3, 4)",
        ),
        (
            lambda: rnn.rnn_step_forward(
                np.zeros((B, 3)), H0, np.zeros((3, H)), np.zeros((H, H)), np.zeros(H + 1)
            ),
            ValueError,
            "bh must have shape (H,) = (4,), got (5,)",
        ),
        (lambda: rnn.output_forward(np.zeros((B, T, H + 1)), PARAMS["Why"], PARAMS["by"]), ValueError, "Hs"),
        (
            lambda: rnn.output_backward(np.zeros((B, T, V + 1)), (np.zeros((B, T, H)), PARAMS["Why"])),
            ValueError,
            "dZ",
        ),
        (
            lambda: rnn.rnn_backward(
                np.zeros((B, T + 1, H)),
                rnn.rnn_forward(np.zeros((B, T, 3)), H0, *WEIGHTS)[1],
            ),
            ValueError,
            "dHs",
        ),
        (lambda: rnn.init_params(0, H, np.random.default_rng(0)), ValueError, "vocab_size"),
        (lambda: rnn.init_params(V, H, 0), TypeError, "Generator"),
        (lambda: rnn.init_params(V, H, np.random.default_rng(0), dtype=np.int64), TypeError, "floating"),
    ],
)
def test_bad_input_is_refused_with_a_message_that_says_what_is_wrong(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


# Dtypes: float32 training stays float32.


def test_float32_stays_float32_through_the_language_model():
    rng = np.random.default_rng(0)
    params = rnn.init_params(V, H, rng, dtype=np.float32)
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    loss, h_last, cache = rnn.lm_forward(
        params, inputs, targets, np.zeros((B, H))
    )  # a float64 h0 is converted
    grads, dh0 = rnn.lm_backward(cache)
    logits, h_next = rnn.lm_step(params, inputs[:, 0], h_last)
    assert isinstance(loss, float) and math.isfinite(loss)
    for name, array in {"h_last": h_last, "dh0": dh0, "logits": logits, "h_next": h_next, **grads}.items():
        assert array.dtype == np.float32, name


def test_float32_stays_float32_through_the_layers():
    rng = np.random.default_rng(0)
    f32 = np.float32
    X, h0 = rng.normal(size=(B, T, 3)).astype(f32), rng.normal(size=(B, H)).astype(f32)
    Wxh, Whh, bh = (w.astype(f32) for w in _weights(rng, 3, H))
    Hs, cache = rnn.rnn_forward(X, h0, Wxh, Whh, bh)
    Z, out_cache = rnn.output_forward(Hs, PARAMS["Why"].astype(f32), PARAMS["by"].astype(f32))
    outputs = [
        Hs,
        Z,
        *rnn.output_backward(np.ones_like(Z), out_cache),
        *rnn.rnn_backward(np.ones_like(Hs), cache),
    ]
    h, step_cache = rnn.rnn_step_forward(X[:, 0], h0, Wxh, Whh, bh)
    outputs += [h, *rnn.rnn_step_backward(np.ones_like(h), step_cache)]
    assert all(a.dtype == f32 for a in outputs), [a.dtype for a in outputs]
