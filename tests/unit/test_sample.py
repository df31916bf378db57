"""Lesson 11: temperature, top-k, priming with a prompt and generating a batch (rnnlib.sample)."""

from types import SimpleNamespace

import numpy as np
import pytest

from rnnlib import gru, rnn
from rnnlib.data import Vocabulary
from rnnlib.sample import generate, prime, probabilities, top_k_logits
from rnnlib.sampling import sample, samples
from rnnlib.training import sample as train_sample

TEXT = "the cat sat on the mat. " * 40


def _model(module=gru, H=8, seed=0, dtype=np.float64):
    vocab = Vocabulary(TEXT)
    params = module.init_params(len(vocab), H, np.random.default_rng(seed), dtype)
    params["Why"] = params["Why"] * 3  # logits a few units apart: draws neither sure nor uniform
    return vocab, params


def _fixed(logits):
    """A stand-in model whose lm_step gives every row the same logits."""
    logits = np.asarray(logits, dtype=np.float64)
    return SimpleNamespace(lm_step=lambda params, ids, h: (np.tile(logits, (len(ids), 1)), h))


# probabilities


def test_temperature_scaling_is_exactly_a_softmax_of_the_scaled_logits():
    Z = np.random.default_rng(0).normal(size=(4, 7)) * 3
    for T in (0.1, 0.5, 1.0, 2.0, 10.0):
        e = np.exp(Z / T)  # by hand: no overflow for these logits
        np.testing.assert_allclose(probabilities(Z, T), e / e.sum(axis=1, keepdims=True), rtol=1e-13)


def test_temperature_zero_is_the_argmax_and_the_first_of_ties():
    Z = np.array([[0.0, 2.0, 2.0, 1.0], [5.0, -1.0, 0.0, 4.9]])
    P = probabilities(Z, 0)
    np.testing.assert_array_equal(P, [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert P.dtype == np.float64


def test_small_temperatures_tend_to_the_argmax_and_large_ones_to_uniform():
    Z = np.random.default_rng(1).normal(size=(3, 5))
    np.testing.assert_allclose(probabilities(Z, 1e-3), probabilities(Z, 0), atol=1e-12)
    np.testing.assert_allclose(probabilities(Z, 1e6), np.full((3, 5), 0.2), atol=1e-6)


@pytest.mark.filterwarnings("error")
def test_a_tiny_temperature_is_the_argmax_without_nan_or_warnings_and_shares_it_among_ties():
    Z = np.array([[1.0, 2.0, 0.5, -np.inf], [3.0, 3.0, 1.0, 0.0]])
    # 2 / 1e-310 overflows to inf: dividing before subtracting the max gave inf - inf = NaN
    np.testing.assert_array_equal(probabilities(Z, 1e-310), [[0, 1, 0, 0], [0.5, 0.5, 0, 0]])
    # T = 0 is the course's convention for ties, not the limit: all on the first
    np.testing.assert_array_equal(probabilities(Z, 0), [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_probabilities_are_float64_and_finite_for_huge_float32_logits():
    Z = np.array([[3000.0, 2990.0, -3000.0]], dtype=np.float32)
    P = probabilities(Z, 0.01)
    assert P.dtype == np.float64 and np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), True, "1", None])
def test_probabilities_refuse_a_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature"):
        probabilities(np.zeros((1, 3)), bad)


def test_probabilities_refuse_bad_logits():
    with pytest.raises(ValueError, match=r"shape \(B, V\)"):
        probabilities(np.zeros(3))
    with pytest.raises(TypeError, match="float"):
        probabilities(np.zeros((1, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="NaN"):
        probabilities(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="all -inf"):
        probabilities(np.array([[-np.inf, -np.inf]]))


# top_k_logits


def test_top_k_keeps_the_k_largest_and_sets_the_rest_to_minus_infinity():
    Z = np.array([[1.0, 5.0, 3.0, 4.0], [0.0, -1.0, 2.0, 1.5]], dtype=np.float32)
    got = top_k_logits(Z, 2)
    inf = np.inf
    np.testing.assert_array_equal(got, [[-inf, 5, -inf, 4], [-inf, -inf, 2, 1.5]])
    assert got.dtype == np.float32
    P = probabilities(got)
    np.testing.assert_allclose(P[0], [0, np.exp(1) / (1 + np.exp(1)), 0, 1 / (1 + np.exp(1))], rtol=1e-12)


def test_top_k_breaks_ties_towards_the_lower_ids_and_keeps_exactly_k():
    Z = np.array([[7.0, 7.0, 7.0, 7.0, 1.0]])
    for k in (1, 2, 3):
        got = top_k_logits(Z, k)
        assert np.isfinite(got).sum() == k
        np.testing.assert_array_equal(np.flatnonzero(np.isfinite(got)), np.arange(k))


def test_no_filtering_for_none_or_k_at_least_v_and_the_input_untouched():
    Z = np.random.default_rng(2).normal(size=(2, 6))
    before = Z.copy()
    for k in (None, 6, 100):
        got = top_k_logits(Z, k)
        assert got is not Z
        np.testing.assert_array_equal(got, Z)
    top_k_logits(Z, 2)
    np.testing.assert_array_equal(Z, before)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_top_k_refuses_a_bad_k(bad):
    with pytest.raises(ValueError, match="top_k"):
        top_k_logits(np.zeros((1, 3)), bad)


# prime


def test_prime_reads_the_prompt_like_lm_forward_and_carries_the_state():
    vocab, params = _model()
    ids = np.stack([vocab.encode("the cat"), vocab.encode("on the ")])
    logits, h = prime(gru, params, ids)
    # lm_forward reads the same characters; its last state and last logits are prime's.
    targets = np.zeros_like(ids)
    _, h_last, cache = gru.lm_forward(params, ids, targets, None)
    np.testing.assert_allclose(h, h_last, rtol=1e-12)
    np.testing.assert_allclose(logits, cache[2].reshape(2, 7, -1)[:, -1], rtol=1e-12)
    # In two parts, the state carried: the same as at once.
    _, h_first = prime(gru, params, ids[:, :3])
    logits_rest, h_rest = prime(gru, params, ids[:, 3:], h_first)
    np.testing.assert_allclose(h_rest, h, rtol=1e-12)
    np.testing.assert_allclose(logits_rest, logits, rtol=1e-12)


def test_prime_works_with_the_vanilla_rnn_too_and_refuses_a_flat_prompt():
    vocab, params = _model(rnn)
    logits, h = prime(rnn, params, vocab.encode("the")[None])
    assert logits.shape == (1, len(vocab)) and h.shape == (1, 8)
    with pytest.raises(ValueError, match=r"\(B, P\)"):
        prime(rnn, params, vocab.encode("the"))
    with pytest.raises(ValueError, match=r"\(B, P\)"):
        prime(rnn, params, np.zeros((1, 0), dtype=np.int64))


# generate


def test_generate_at_temperature_zero_is_greedy_and_draws_nothing():
    vocab, params = _model()
    logits, h = prime(gru, params, vocab.encode("the ")[None])
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    ids = generate(gru, params, logits, h, 30, rng, temperature=0)
    assert rng.bit_generator.state == state
    expected, step_logits, step_h = [], logits, h  # greedy by hand
    for _ in range(30):
        expected.append(int(step_logits.argmax()))
        step_logits, step_h = gru.lm_step(params, np.array(expected[-1:]), step_h)
    np.testing.assert_array_equal(ids, [expected])


def test_the_same_seed_gives_the_same_texts_and_another_seed_other_ones():
    vocab, params = _model()
    first = samples(gru, params, vocab, "the ", 40, np.random.default_rng(3), 4)
    again = samples(gru, params, vocab, "the ", 40, np.random.default_rng(3), 4)
    other = samples(gru, params, vocab, "the ", 40, np.random.default_rng(4), 4)
    assert first == again != other
    assert all(
        text.startswith("the ") and len(text) == 44 and set(text) <= set(vocab.chars) for text in first
    )


def test_batch_rows_draw_their_own_characters():
    vocab, params = _model()
    texts = samples(gru, params, vocab, "the ", 60, np.random.default_rng(0), 8)
    assert len(set(texts)) == 8
    # Row b at step t is draw number t * B + b of the generator: one draw per row, rows in order.
    logits, h = prime(gru, params, np.tile(vocab.encode("the "), (8, 1)))
    ids = generate(gru, params, logits, h, 60, np.random.default_rng(0))
    by_hand, rng, step_logits, step_h = [], np.random.default_rng(0), logits, h
    for _ in range(60):
        P = probabilities(step_logits)
        row = np.array([rng.choice(len(vocab), p=p) for p in P])
        by_hand.append(row)
        step_logits, step_h = gru.lm_step(params, row, step_h)
    np.testing.assert_array_equal(ids, np.stack(by_hand, axis=1))


def test_draws_follow_the_tempered_distribution():
    fixed = np.array([1.5, 1.0, 0.0, -0.5])
    for T, k in ((0.5, None), (1.0, None), (3.0, None), (1.0, 2)):
        ids = generate(_fixed(fixed), {}, np.tile(fixed, (400, 1)), None, 50, np.random.default_rng(9), T, k)
        kept = fixed if k is None else np.where(fixed >= 1.0, fixed, -np.inf)
        e = np.exp(kept / T)
        frequencies = np.bincount(ids.ravel(), minlength=4) / ids.size
        np.testing.assert_allclose(frequencies, e / e.sum(), atol=0.012)  # 20,000 draws: about 4 sigma


def test_generate_calls_lm_step_once_per_character_for_the_whole_batch():
    calls = []
    fixed = _fixed([0.0, 1.0])

    def counting(params, ids, h):
        calls.append(len(ids))
        return fixed.lm_step(params, ids, h)

    generate(SimpleNamespace(lm_step=counting), {}, np.zeros((5, 2)), None, 12, np.random.default_rng(0))
    assert calls == [5] * 11  # the last character needs no step after it
    assert generate(_fixed([0.0]), {}, np.zeros((3, 1)), None, 0, np.random.default_rng(0)).shape == (3, 0)


def test_generate_refuses_bad_settings():
    logits = np.zeros((1, 3))
    with pytest.raises(TypeError, match="Generator"):
        generate(_fixed([0, 0, 0]), {}, logits, None, 5, 0)
    with pytest.raises(ValueError, match="length"):
        generate(_fixed([0, 0, 0]), {}, logits, None, -1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="temperature"):
        generate(_fixed([0, 0, 0]), {}, logits, None, 5, np.random.default_rng(0), -1.0)


# sample


def test_sample_is_the_first_of_samples_and_equals_the_training_loop_sampler():
    vocab, params = _model(dtype=np.float32)
    for T in (0.7, 1.0, 1.6):
        one = sample(gru, params, vocab, "the ", 80, np.random.default_rng(2), temperature=T)
        assert one == samples(gru, params, vocab, "the ", 80, np.random.default_rng(2), 1, temperature=T)[0]
        assert one == train_sample(gru, params, vocab, "the ", 80, np.random.default_rng(2), temperature=T)


def test_sample_refuses_a_bad_prompt_or_count_with_one_clear_error():
    vocab, params = _model()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="the prompt is empty"):
        sample(gru, params, vocab, "", 5, rng)
    with pytest.raises(ValueError, match=r"outside the model's vocabulary: 'Q', 'z'; use only the 11 "):
        sample(gru, params, vocab, "zQ the", 5, rng)
    with pytest.raises(TypeError, match="prompt must be a str"):
        sample(gru, params, vocab, vocab.encode("the"), 5, rng)
    with pytest.raises(ValueError, match="count"):
        samples(gru, params, vocab, "the", 5, rng, 0)
    with pytest.raises(ValueError, match="top_k"):
        sample(gru, params, vocab, "the", 5, rng, top_k=0)
