"""OneHot is one_hot's matrix to every layer that uses it, and the language models gain speed and memory
from it without changing a single number."""

import numpy as np
import pytest

from rnnlib import gru, reference, rnn
from rnnlib.onehot import OneHot

one_hot = reference("data").one_hot  # the full matrix, to compare with (yours may be a stub)
V = 7


@pytest.fixture
def ids():
    return np.random.default_rng(0).integers(V, size=(3, 5))


def test_shape_dtype_and_the_full_array_are_one_hots(ids):
    X = OneHot(ids, V, dtype=np.float32)
    assert X.shape == (3, 5, V) and X.ndim == 3 and len(X) == 3 and X.dtype == np.float32
    assert np.shape(X) == (3, 5, V)
    full = np.asarray(X)
    assert full.dtype == np.float32 and np.array_equal(full, one_hot(ids, V))


def test_reshape_and_slices_stay_onehots_and_equal_the_full_arrays(ids):
    X, full = OneHot(ids, V), one_hot(ids, V)
    for made, expected in [
        (X.reshape(15, V), full.reshape(15, V)),
        (X.reshape(-1, V), full.reshape(-1, V)),
        (X.reshape((15, -1)), full.reshape((15, -1))),
        (X[:, 2], full[:, 2]),
        (X[:, 2, :], full[:, 2, :]),
        (X[1], full[1]),
    ]:
        assert isinstance(made, OneHot)
        assert made.shape == expected.shape and np.array_equal(np.asarray(made), expected)
    # An index into the characters' axis, or a reshape across it, gives numbers: the full array's.
    assert np.array_equal(X[:, 2, 3], full[:, 2, 3])
    assert np.array_equal(X[..., 0], full[..., 0])
    assert np.array_equal(X.reshape(3, 5 * V), full.reshape(3, 5 * V))


def test_products_equal_the_full_arrays_bit_for_bit(ids):
    rng = np.random.default_rng(1)
    W, G = rng.standard_normal((V, 4)), rng.standard_normal((15, 4))
    X, full = OneHot(ids, V), one_hot(ids, V)
    assert np.array_equal(X @ W, full @ W)  # 3-D times 2-D, as matmul broadcasts
    assert np.array_equal(X.reshape(15, V) @ W, full.reshape(15, V) @ W)
    assert np.array_equal(X.reshape(15, V).T @ G, full.reshape(15, V).T @ G)
    assert (OneHot(ids, V, dtype=np.float32) @ W.astype(np.float32)).dtype == np.float32
    assert (OneHot(ids, V, dtype=np.float64) @ W.astype(np.float32)).dtype == np.float64
    with pytest.raises(ValueError, match="matmul"):
        X @ rng.standard_normal((V + 1, 4))  # NumPy's own error for mismatched shapes


def test_what_onehot_does_not_define_the_full_array_answers(ids):
    X, full = OneHot(ids, V), one_hot(ids, V)
    assert np.array_equal(X.swapaxes(0, 1), full.swapaxes(0, 1))
    assert np.array_equal(np.einsum("btv,vh->bth", X, np.eye(V)), full)
    assert X.sum() == ids.size
    assert np.array_equal(X.astype(np.float32) @ np.eye(V, dtype=np.float32), full.astype(np.float32))


def _student_style_rnn_forward(X, h0, Wxh, Whh, bh):
    """A correct rnn_forward that multiplies inside the loop and stacks: OneHot must not mind."""
    Hs, h = [], h0
    for t in range(X.shape[1]):
        h = np.tanh(X[:, t, :] @ Wxh + h @ Whh + bh)
        Hs.append(h)
    Hs = np.stack(Hs, axis=1)
    return Hs, (X, h0, Wxh, Whh, Hs)


def test_a_layer_written_another_way_gets_the_same_states(ids):
    rng = np.random.default_rng(2)
    p = rnn.init_params(V, 6, rng)
    h0 = rng.standard_normal((3, 6))
    Hs, _ = _student_style_rnn_forward(OneHot(ids, V), h0, p["Wxh"], p["Whh"], p["bh"])
    expected, _ = _student_style_rnn_forward(one_hot(ids, V), h0, p["Wxh"], p["Whh"], p["bh"])
    assert np.array_equal(Hs, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("model", [rnn, gru], ids=["rnn", "gru"])
def test_the_language_models_give_what_the_full_one_hot_gives_bit_for_bit(model, dtype):
    B, T, H = 4, 9, 10
    rng = np.random.default_rng(3)
    params = model.init_params(V, H, rng, dtype=dtype)
    inputs, targets = rng.integers(V, size=(B, T)), rng.integers(V, size=(B, T))
    h0 = rng.standard_normal((B, H)).astype(dtype)
    loss, h_last, cache = model.lm_forward(params, inputs, targets, h0)
    grads, dh0 = model.lm_backward(cache)

    # The same model with the full (B, T, V) one-hot matrix handed to the layer.
    layer = rnn.rnn_forward if model is rnn else gru.gru_forward
    weights = [params[name] for name in model.PARAMS[:-2]]
    Hs, layer_cache = layer(one_hot(inputs, V, dtype=dtype), h0, *weights)
    full_grads, full_dh0 = model.lm_backward((layer_cache,) + cache[1:])
    assert np.array_equal(h_last, Hs[:, -1])
    for name in model.PARAMS:
        assert np.array_equal(grads[name], full_grads[name]), name
    assert np.array_equal(dh0, full_dh0)

    logits, h_next = model.lm_step(params, inputs[:, 0], h0)
    assert np.array_equal(h_next, layer(one_hot(inputs[:, :1], V, dtype=dtype), h0, *weights)[0][:, 0])


@pytest.mark.parametrize("model", [rnn, gru], ids=["rnn", "gru"])
def test_the_cache_holds_no_array_of_b_t_v_floats_but_the_logits(model):
    B, T, H, V_big = 8, 16, 4, 50  # H small, so a (B, T, V) array would be the cache's largest
    rng = np.random.default_rng(4)
    params = model.init_params(V_big, H, rng, dtype=np.float32)
    inputs, targets = rng.integers(V_big, size=(B, T)), rng.integers(V_big, size=(B, T))
    _, _, cache = model.lm_forward(params, inputs, targets, None)

    def arrays(value):
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, OneHot):
            yield value.ids
        elif isinstance(value, tuple):
            for item in value:
                yield from arrays(item)

    big = [a.shape for a in arrays(cache) if a.size >= B * T * V_big]
    assert big == [(B * T, V_big)], f"arrays of B*T*V entries in the cache besides the logits: {big}"


def test_arithmetic_comparisons_and_ufuncs_act_on_the_full_array(ids):
    X, full = OneHot(ids, V), one_hot(ids, V)
    W = np.random.default_rng(5).standard_normal((V, 3))
    for made, expected in [
        (X == 1, full == 1),  # without __array_ufunc__, == would compare identities and say False
        (X * 2, full * 2),
        (2 * X, 2 * full),
        (-X, -full),
        (X > 0, full > 0),
        (np.matmul(X, W), full @ W),
        (np.dot(X, W), full @ W),
        (np.ones((2, 5)) @ X[0], np.ones((2, 5)) @ full[0]),
    ]:
        assert isinstance(made, np.ndarray) and np.array_equal(made, expected)


def test_a_fortran_order_reshape_or_an_index_array_into_the_rows_get_the_full_arrays(ids):
    X, full = OneHot(ids, V), one_hot(ids, V)
    assert isinstance(X.reshape(15, V, order="C"), OneHot)
    assert np.array_equal(X.reshape(15, V, order="F"), full.reshape(15, V, order="F"))
    assert np.array_equal(X[:, 2, np.array([0, 3])], full[:, 2, np.array([0, 3])])


def test_it_keeps_its_own_copy_of_the_ids_and_never_pretends_to_be_a_view(ids):
    X = OneHot(ids, V)
    ids[0, 0] = (ids[0, 0] + 1) % V  # the caller reuses its array: the cache's gradients must not change
    assert X.ids[0, 0] != ids[0, 0]
    with pytest.raises(ValueError, match="new array"):
        np.asarray(X, copy=False)


@pytest.mark.parametrize("number, module, name", [("3.2", rnn, "rnn_forward"), ("7.2", gru, "gru_forward")])
def test_a_layer_that_refuses_onehot_rows_fails_its_own_check(monkeypatch, number, module, name):
    from rnnlib.checks import CheckFailed, check
    from rnnlib.lesson_checks import EXERCISES

    layer = getattr(module, name)

    def refuses_onehot(X, *args):  # right on arrays; np.asarray(X, copy=False) refuses a OneHot
        return layer(np.asarray(X, copy=False), *args)

    monkeypatch.setattr(module, name, refuses_onehot)
    title, run = EXERCISES[number]
    here = r"\(tests/unit/test_onehot\.py, line"
    blamed = rf"^Exercise {number}: {name}: given X = OneHot\(ids, V\).*raised.*{here}"
    with pytest.raises(CheckFailed, match=blamed):  # the layer's own line, not onehot.py's
        with check(title):
            run()
