"""Lesson 09: the initialisation schemes compared with the course's N(0, 1/fan_in)."""

import numpy as np
import pytest

from rnnlib import gru, rnn
from rnnlib.init_schemes import glorot_uniform, init_params, orthogonal


@pytest.mark.parametrize("n", [1, 5, 64])
def test_orthogonal_is_orthogonal(n):
    Q = orthogonal(n, np.random.default_rng(n))
    assert Q.shape == (n, n) and Q.dtype == np.float64
    np.testing.assert_allclose(Q.T @ Q, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(Q)), 1.0, atol=1e-10)


def test_orthogonal_draws_are_not_biased_by_the_qr_sign_convention():
    # Without the sign fix Q's diagonal leans one way; uniform Q have a diagonal of mean 0.
    diagonals = np.concatenate([np.diag(orthogonal(8, np.random.default_rng(s))) for s in range(200)])
    assert abs(diagonals.mean()) < 0.05


def test_glorot_uniform_has_variance_two_over_fan_in_plus_fan_out():
    W = glorot_uniform(300, 500, np.random.default_rng(0))
    limit = np.sqrt(6 / 800)
    assert W.shape == (300, 500) and W.dtype == np.float64
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    assert W.var() == pytest.approx(2 / 800, rel=0.02)
    assert abs(W.mean()) < 0.02 * W.std()


@pytest.mark.parametrize("model, names, gates", [(rnn, ("Wxh", "Whh"), 1), (gru, ("Wx", "Wh"), 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_glorot_orthogonal_replaces_only_the_input_and_recurrent_weights(model, names, gates, dtype):
    V, H = 11, 7
    default = init_params(model, V, H, np.random.default_rng(0), dtype=dtype)
    np.testing.assert_array_equal(
        default["Why"], model.init_params(V, H, np.random.default_rng(0), dtype=dtype)["Why"]
    )
    params = init_params(model, V, H, np.random.default_rng(0), dtype=dtype, scheme="glorot_orthogonal")
    assert params.keys() == default.keys()
    for name, P in params.items():
        assert P.dtype == dtype and P.shape == default[name].shape, name
        if name not in names:
            np.testing.assert_array_equal(P, default[name])  # same generator: the same output layer
    W_in, W_rec = (params[n].astype(np.float64) for n in names)
    assert np.abs(W_in).max() <= np.sqrt(6 / (V + H))
    for g in range(gates):
        block = W_rec[:, g * H : (g + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-6 if dtype == np.float32 else 1e-12)


def test_init_params_refuses_an_unknown_scheme():
    with pytest.raises(ValueError, match="scheme must be one of"):
        init_params(rnn, 5, 3, np.random.default_rng(0), scheme="xavier")
