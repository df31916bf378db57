"""Lesson 02 reference: softmax, cross-entropy and its gradient, gradient checking, count baselines."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from rnnlib.baselines import bigram_perplexity, unigram_perplexity
from rnnlib.gradcheck import numerical_gradient, relative_error
from rnnlib.losses import bits_per_char, cross_entropy, cross_entropy_backward, perplexity, softmax

logits = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@st.composite
def batches(draw, max_rows=6, max_vocab=8):
    """(Z, y): a batch of N rows of V float64 logits and one valid target per row."""
    N = draw(st.integers(1, max_rows))
    V = draw(st.integers(1, max_vocab))
    Z = draw(arrays(np.float64, (N, V), elements=logits))
    y = draw(arrays(np.int64, (N,), elements=st.integers(0, V - 1)))
    return Z, y


def reference_log_softmax(Z):
    """An independent formulation: log-sum-exp in extended precision, one row at a time."""
    out = np.empty_like(Z)
    for n, z in enumerate(np.asarray(Z, dtype=np.longdouble)):
        out[n] = z - np.logaddexp.reduce(z)
    return out


# softmax


def test_softmax_of_a_known_row():
    P = softmax(np.array([0.0, math.log(2.0), math.log(5.0)]))
    np.testing.assert_allclose(P, [1 / 8, 2 / 8, 5 / 8], rtol=1e-12)


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=6), elements=logits))
def test_softmax_rows_are_probabilities_for_any_leading_shape(Z):
    P = softmax(Z)
    assert P.shape == Z.shape
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=1e-12)


@given(
    arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=6), elements=logits),
    st.floats(-1e3, 1e3, allow_nan=False),
)
def test_softmax_ignores_a_constant_added_to_every_logit_of_a_row(Z, c):
    np.testing.assert_allclose(softmax(Z + c), softmax(Z), rtol=1e-9, atol=1e-300)


@given(batches())
def test_softmax_matches_exp_of_an_independent_log_softmax(batch):
    Z, _ = batch
    np.testing.assert_allclose(softmax(Z), np.exp(reference_log_softmax(Z)).astype(np.float64), rtol=1e-12)


def test_softmax_does_not_overflow_on_large_logits():
    P = softmax(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]]))
    np.testing.assert_allclose(P[0], softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-12)
    np.testing.assert_allclose(P[1], 1 / 3, rtol=1e-12)


def test_softmax_keeps_float32_and_accepts_integers():
    assert softmax(np.zeros((2, 3), np.float32)).dtype == np.float32
    np.testing.assert_allclose(softmax(np.array([1, 1])), [0.5, 0.5])


@pytest.mark.parametrize(
    "Z, error", [(np.float64(1.0), ValueError), (np.zeros((2, 0)), ValueError), (np.array(["a"]), TypeError)]
)
def test_softmax_refuses_what_are_not_logits(Z, error):
    with pytest.raises(error):
        softmax(Z)


# cross-entropy


def test_cross_entropy_of_uniform_logits_is_log_V():
    assert cross_entropy(np.zeros((4, 65)), np.array([0, 7, 64, 3])) == pytest.approx(math.log(65), rel=1e-12)


def test_cross_entropy_by_hand():
    Z = np.array([[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]])  # rows: (1/4, 3/4), (1/2, 1/2)
    y = np.array([1, 0])
    assert cross_entropy(Z, y) == pytest.approx(-(math.log(3 / 4) + math.log(1 / 2)) / 2, rel=1e-12)


@given(batches())
def test_cross_entropy_matches_an_independent_formulation(batch):
    Z, y = batch
    expected = -reference_log_softmax(Z)[np.arange(len(y)), y].mean()
    assert cross_entropy(Z, y) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)


def test_cross_entropy_stays_finite_where_log_of_softmax_would_not():
    Z = np.array([[0.0, 1000.0]])
    with np.errstate(divide="ignore"):
        assert np.isinf(-np.log(softmax(Z)[0, 0]))
    assert cross_entropy(Z, np.array([0])) == pytest.approx(1000.0, rel=1e-12)


def test_cross_entropy_returns_a_python_float():
    assert type(cross_entropy(np.zeros((2, 3)), np.array([0, 1]))) is float


BAD_TARGETS = [
    (np.zeros(3), np.array([0]), ValueError),  # Z not 2-D
    (np.zeros((2, 3, 4)), np.zeros((2, 3), np.int64), ValueError),  # (B, T, V) not flattened
    (np.zeros((2, 3)), np.array([0]), ValueError),  # one target for two rows
    (np.zeros((2, 3)), np.array([[0, 1]]), ValueError),  # y not 1-D
    (np.zeros((2, 3)), np.array([0, 3]), ValueError),  # target == V
    (np.zeros((2, 3)), np.array([-1, 0]), ValueError),  # negative target
    (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError),  # float targets
    (np.zeros((0, 3)), np.zeros(0, np.int64), ValueError),  # no rows
]


@pytest.mark.parametrize("Z, y, error", BAD_TARGETS)
@pytest.mark.parametrize("function", [cross_entropy, cross_entropy_backward])
def test_cross_entropy_and_its_gradient_refuse_bad_input_with_a_clear_error(function, Z, y, error):
    with pytest.raises(error, match=r"\w+ must|no rows"):
        function(Z, y)


# the gradient of cross-entropy


def test_cross_entropy_backward_by_hand():
    Z = np.array([[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]])
    dZ = cross_entropy_backward(Z, np.array([1, 0]))
    np.testing.assert_allclose(dZ, np.array([[1 / 4, 3 / 4 - 1], [1 / 2 - 1, 1 / 2]]) / 2, rtol=1e-12)


@settings(deadline=None)
@given(batches(max_rows=5, max_vocab=6))
def test_cross_entropy_backward_matches_numerical_gradient(batch):
    Z, y = batch
    Z = Z / 10  # logits of a few units, where the loss is smooth enough for central differences
    numeric = numerical_gradient(lambda Z: cross_entropy(Z, y), Z)
    assert relative_error(cross_entropy_backward(Z, y), numeric) < 1e-7


@given(batches())
def test_cross_entropy_backward_rows_sum_to_zero_and_match_the_one_hot_formula(batch):
    Z, y = batch
    N, V = Z.shape
    dZ = cross_entropy_backward(Z, y)
    np.testing.assert_allclose(dZ.sum(axis=1), 0.0, atol=1e-15)
    expected = (np.exp(reference_log_softmax(Z)).astype(np.float64) - np.eye(V)[y]) / N
    np.testing.assert_allclose(dZ, expected, rtol=1e-9, atol=1e-15)


def test_cross_entropy_backward_keeps_float32():
    assert cross_entropy_backward(np.zeros((2, 3), np.float32), np.array([0, 1])).dtype == np.float32


def test_cross_entropy_backward_does_not_change_its_input():
    Z = np.arange(6.0).reshape(2, 3)
    cross_entropy_backward(Z, np.array([0, 2]))
    np.testing.assert_array_equal(Z, np.arange(6.0).reshape(2, 3))


# perplexity and bits per character


def test_perplexity_and_bits_per_char():
    assert perplexity(math.log(65)) == pytest.approx(65)
    assert perplexity(0.0) == 1.0
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert bits_per_char(math.log(65)) == pytest.approx(math.log2(65))


@pytest.mark.parametrize("function", [perplexity, bits_per_char])
@pytest.mark.parametrize("value", [-0.1, float("nan")])
def test_perplexity_and_bits_per_char_refuse_what_is_not_a_mean_nll(function, value):
    with pytest.raises(ValueError, match="negative log-likelihood"):
        function(value)


# numerical gradient and relative error


@given(arrays(np.float64, array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.floats(-3, 3)))
def test_numerical_gradient_of_sum_of_cubes_is_three_x_squared_and_restores_x(x):
    before = x.copy()
    grad = numerical_gradient(lambda x: np.sum(x**3), x)
    assert grad.shape == x.shape
    # Rounding in f(x + h) - f(x - h) costs about eps * |f| / h in the slope, so the floor grows with |f|.
    rounding = 1e-9 * max(1.0, np.sum(np.abs(before) ** 3))
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-7, atol=rounding)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_sees_changes_through_a_function_that_reads_the_array():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([1.0, -1.0])
    grad = numerical_gradient(lambda W: float(v @ W @ v), W)
    np.testing.assert_allclose(grad, np.outer(v, v), rtol=1e-8)


@pytest.mark.parametrize("x", [[1.0, 2.0], np.array([1, 2]), np.array([1.0, 2.0], np.float32)])
def test_numerical_gradient_needs_a_float64_array(x):
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda x: 0.0, x)


def test_numerical_gradient_needs_a_positive_step():
    with pytest.raises(ValueError, match="positive"):
        numerical_gradient(lambda x: 0.0, np.zeros(2), h=0.0)


def test_relative_error_values():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, -2.0], [1.0, -2.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == 1.0
    assert relative_error([3.0, 1.0], [1.0, 1.0]) == pytest.approx(2 / 4)
    assert relative_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_relative_error_does_not_blow_up_on_zero_or_tiny_entries():
    analytic = np.array([0.5, 0.0, 1e-12])
    numeric = analytic + np.array([1e-11, 3e-11, -2e-11])  # the noise central differences leave
    assert relative_error(analytic, numeric) < 1e-7


def test_relative_error_flags_one_wrong_entry_among_many():
    a = np.random.default_rng(0).normal(size=(50, 50))
    b = a.copy()
    b[17, 3] *= -1
    assert relative_error(a, b) > 1e-3


def test_relative_error_refuses_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.zeros(3), np.zeros((3, 1)))


# count baselines


def test_unigram_perplexity_by_hand():
    # train "aab" over V = 3: counts + 1 = (3, 2, 1), p = (1/2, 1/3, 1/6); val "ac"
    expected = math.exp(-(math.log(1 / 2) + math.log(1 / 6)) / 2)
    assert unigram_perplexity(np.array([0, 0, 1]), np.array([0, 2]), 3) == pytest.approx(expected)


def test_bigram_perplexity_by_hand():
    # train "aab": pairs aa, ab. Row a: counts + 1 = (2, 2, 1) -> p(a|a) = 2/5, p(b|a) = 2/5, p(c|a) = 1/5.
    # Row b and row c: no pairs, so uniform 1/3. val "abc": p(b|a) = 2/5, p(c|b) = 1/3.
    expected = math.exp(-(math.log(2 / 5) + math.log(1 / 3)) / 2)
    assert bigram_perplexity(np.array([0, 0, 1]), np.array([0, 1, 2]), 3) == pytest.approx(expected)


def test_baselines_stay_finite_on_characters_unseen_in_training():
    train, val = np.array([0, 1, 0, 1]), np.array([2, 2, 0])
    assert np.isfinite(unigram_perplexity(train, val, 3))
    assert np.isfinite(bigram_perplexity(train, val, 3))


def test_on_a_periodic_sequence_unigram_is_uniform_and_bigram_nearly_certain():
    ids = np.tile(np.arange(5), 200)  # 0 1 2 3 4 0 1 ...: each character says which comes next
    train, val = ids[:800], ids[800:]
    unigram, bigram = unigram_perplexity(train, val, 5), bigram_perplexity(train, val, 5)
    assert unigram == pytest.approx(5.0, rel=1e-3)  # every character equally frequent
    assert 1 < bigram < 1.03  # the next character is certain, up to smoothing: p = 161 / 165


@pytest.mark.parametrize("function", [unigram_perplexity, bigram_perplexity])
@pytest.mark.parametrize(
    "train, val, V, error",
    [
        (np.array([0, 1]), np.array([0, 3]), 3, ValueError),  # id outside the vocabulary
        (np.array([0, -1]), np.array([0, 1]), 3, ValueError),
        (np.array([0.0, 1.0]), np.array([0, 1]), 3, TypeError),  # float ids
        (np.array([[0, 1]]), np.array([0, 1]), 3, ValueError),  # not 1-D
        (np.array([0, 1]), np.array([], np.int64), 3, ValueError),  # empty
        (np.array([0, 1]), np.array([0, 1]), 0, ValueError),  # no vocabulary
    ],
)
def test_baselines_refuse_bad_ids(function, train, val, V, error):
    with pytest.raises(error):
        function(train, val, V)
