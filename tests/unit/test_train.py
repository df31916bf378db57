"""Lesson 05: the SGD update, clipping by global norm, one step of truncated BPTT, and the training loop."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from rnnlib import gru, rnn
from rnnlib.data import Vocabulary, train_val_test_split
from rnnlib.losses import softmax
from rnnlib.optim import clip_grad_norm, sgd_step
from rnnlib.schedule import warmup_cosine
from rnnlib.train import train_step
from rnnlib.training import (
    RunState,
    Settings,
    TrainingDiverged,
    _DivergenceWatch,
    evaluate,
    measure,
    run_steps,
    sample,
    train,
)

TEXT = "the cat sat on the mat. " * 40


def _arrays(rng, dtype=np.float64):
    return {"W": rng.standard_normal((3, 4)).astype(dtype), "b": rng.standard_normal(4).astype(dtype)}


def _corpus():
    vocab = Vocabulary(TEXT)
    ids = vocab.encode(TEXT)
    return vocab, ids[:800], ids[800:]


def _settings(**overrides):
    settings = dict(batch_size=4, seq_len=8, steps=300, lr=0.5, clip=5.0, eval_every=100)
    return Settings(**(settings | overrides))


def _train(model, params, vocab, train_ids, val_ids, state=None, plot=False, **overrides):
    return train(model, params, train_ids, val_ids, _settings(**overrides), vocab=vocab,
                 rng=np.random.default_rng(0), state=state, plot=plot)  # fmt: skip


# sgd_step


def test_sgd_step_moves_every_parameter_against_its_gradient_in_place():
    rng = np.random.default_rng(0)
    params, grads = _arrays(rng), _arrays(rng)
    before = {k: v.copy() for k, v in params.items()}
    arrays = {k: id(v) for k, v in params.items()}
    assert sgd_step(params, grads, 0.1) is None
    for k in params:
        np.testing.assert_allclose(params[k], before[k] - 0.1 * grads[k])
        assert id(params[k]) == arrays[k], f"{k} was replaced by a new array instead of updated in place"


def test_sgd_step_keeps_float32_parameters_float32():
    rng = np.random.default_rng(0)
    params, grads = _arrays(rng, np.float32), _arrays(rng, np.float32)
    sgd_step(params, grads, 0.1)
    assert all(v.dtype == np.float32 for v in params.values())


def test_sgd_step_refuses_mismatched_keys_and_a_bad_learning_rate():
    rng = np.random.default_rng(0)
    params = _arrays(rng)
    with pytest.raises(ValueError, match="same keys"):
        sgd_step(params, {"W": params["W"]}, 0.1)
    with pytest.raises(ValueError, match="learning rate"):
        sgd_step(params, _arrays(rng), -1.0)


# clip_grad_norm


def test_clip_grad_norm_scales_by_the_global_norm_of_all_arrays_in_place():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}  # global norm 5, each array < 5
    arrays = {k: id(v) for k, v in grads.items()}
    total = clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.0], [0.8]])
    assert {k: id(v) for k, v in grads.items()} == arrays
    assert math.sqrt(sum(np.sum(g**2) for g in grads.values())) == pytest.approx(1.0)


def test_clip_grad_norm_leaves_gradients_below_the_threshold_alone():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}
    total = clip_grad_norm(grads, 10.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])
    np.testing.assert_array_equal(grads["b"], [[0.0], [4.0]])
    assert clip_grad_norm(grads, np.inf) == pytest.approx(5.0)


def test_clip_grad_norm_reports_non_finite_gradients_and_float32_squares_do_not_overflow():
    with np.errstate(invalid="ignore"):  # inf * (1 / inf) is nan; the training loop stops on the norm
        assert math.isnan(clip_grad_norm({"a": np.array([1.0, np.nan])}, 1.0))
        assert math.isinf(clip_grad_norm({"a": np.array([1.0, np.inf])}, 1.0))
    big = {"a": np.full(4, 1e20, dtype=np.float32)}
    assert clip_grad_norm(big, 1.0) == pytest.approx(2e20, rel=1e-6)
    assert big["a"].dtype == np.float32
    np.testing.assert_allclose(big["a"], 0.5, rtol=1e-6)


def test_clip_grad_norm_refuses_a_non_positive_threshold():
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm({"a": np.ones(2)}, 0.0)


# train_step, evaluate, sample


def test_train_step_is_forward_backward_clip_update_and_returns_the_carried_state():
    rng = np.random.default_rng(0)
    params = rnn.init_params(5, 6, rng)
    inputs, targets = rng.integers(5, size=(2, 4)), rng.integers(5, size=(2, 4))
    h = rng.standard_normal((2, 6))
    expected = {k: v.copy() for k, v in params.items()}
    loss, h_last, cache = rnn.lm_forward(expected, inputs, targets, h)
    grads, _ = rnn.lm_backward(cache)
    norm = math.sqrt(sum(np.sum(g**2) for g in grads.values()))
    clip = norm / 2
    for k in expected:
        expected[k] -= 0.1 * grads[k] * (clip / norm)

    got_loss, got_h, got_norm = train_step(rnn, params, inputs, targets, h, 0.1, clip)
    assert got_loss == pytest.approx(loss)
    assert got_norm == pytest.approx(norm)
    np.testing.assert_allclose(got_h, h_last)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12)


def test_evaluate_is_ln_V_for_a_model_that_predicts_uniformly():
    vocab, train_ids, val_ids = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    params["Why"][:] = 0.0  # zero logits: every character gets probability 1 / V
    assert evaluate(rnn, params, val_ids, 2, 5) == pytest.approx(math.log(len(vocab)))


def test_evaluate_carries_the_state_across_windows():
    vocab, _, val_ids = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(1))
    streams = val_ids[: 4 * (len(val_ids) // 4)].reshape(4, -1)
    h, losses = np.zeros((4, 8)), []
    for s in range(0, streams.shape[1] - 5, 5):
        loss, h, _ = rnn.lm_forward(params, streams[:, s : s + 5], streams[:, s + 1 : s + 6], h)
        losses.append(loss)
    assert evaluate(rnn, params, val_ids, 4, 5) == pytest.approx(np.mean(losses))


def test_sample_is_deterministic_for_a_seed_and_emits_only_vocabulary_characters():
    vocab, _, _ = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0), dtype=np.float32)
    first = sample(rnn, params, vocab, "the ", 50, np.random.default_rng(3))
    again = sample(rnn, params, vocab, "the ", 50, np.random.default_rng(3))
    other = sample(rnn, params, vocab, "the ", 50, np.random.default_rng(4))
    assert first == again != other
    assert first.startswith("the ") and len(first) == 54
    assert set(first) <= set(vocab.chars)
    with pytest.raises(ValueError, match="the prompt is empty"):
        sample(rnn, params, vocab, "", 5, np.random.default_rng(0))


# train


def test_training_on_a_repeating_text_drives_the_loss_down_in_float32():
    vocab, train_ids, val_ids = _corpus()
    params = rnn.init_params(len(vocab), 16, np.random.default_rng(0), dtype=np.float32)
    history = _train(rnn, params, vocab, train_ids, val_ids)
    assert all(v.dtype == np.float32 for v in params.values())
    assert len(history["loss"]) == len(history["grad_norm"]) == 300
    assert list(history["val_step"]) == [0, 100, 200, 300]
    first, last = history["val_loss"][0], history["val_loss"][-1]
    assert first == pytest.approx(math.log(len(vocab)), abs=0.3)
    assert last < 0.5, f"validation loss only went from {first:.2f} to {last:.2f} on a text that repeats"
    assert history["loss"][-20:].mean() < 0.25 * history["loss"][:20].mean()


def test_training_takes_the_gru_too():
    vocab, train_ids, val_ids = _corpus()
    params = gru.init_params(len(vocab), 16, np.random.default_rng(0), dtype=np.float32)
    history = _train(gru, params, vocab, train_ids, val_ids, steps=60, eval_every=30)
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert all(v.dtype == np.float32 for v in params.values())


@pytest.mark.parametrize("broken", ["loss", "gradient norm"])
def test_training_stops_with_a_clear_error_naming_the_step_when_the_loss_or_a_gradient_is_not_finite(broken):
    vocab, train_ids, val_ids = _corpus()
    backward_calls = []

    def lm_forward(params, inputs, targets, h0):  # the RNN's, except at step 4
        loss, h_last, cache = rnn.lm_forward(params, inputs, targets, h0)
        return (np.nan if broken == "loss" and len(backward_calls) == 3 else loss), h_last, cache

    def lm_backward(cache):
        backward_calls.append(1)
        grads, dh0 = rnn.lm_backward(cache)
        if broken == "gradient norm" and len(backward_calls) == 4:
            grads["Whh"][0, 0] = np.inf
        return grads, dh0

    model = SimpleNamespace(lm_forward=lm_forward, lm_backward=lm_backward, lm_step=rnn.lm_step)
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match=rf"step 4: the {broken} is"):
        _train(model, params, vocab, train_ids, val_ids, steps=10)


def test_training_refuses_to_start_from_parameters_that_are_already_nan():
    vocab, train_ids, val_ids = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    params["by"][0] = np.nan
    with pytest.raises(FloatingPointError, match=r"step 0: the validation loss is nan"):
        _train(rnn, params, vocab, train_ids, val_ids, steps=5)


def test_training_prints_samples_and_draws_the_curve_headless(capsys):
    vocab, train_ids, val_ids = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    _train(rnn, params, vocab, train_ids, val_ids, steps=20, eval_every=10, sample_every=10, plot=True)
    printed = capsys.readouterr().out
    assert printed.count("--- step ") == 2


def test_train_refuses_a_non_positive_count():
    vocab, train_ids, val_ids = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="steps"):
        _train(rnn, params, vocab, train_ids, val_ids, steps=0)


# Lesson 10: the three-way split, the schedule, measuring a split, temperature, optimisers, stop and resume


def test_the_three_way_split_is_three_contiguous_blocks_in_order():
    ids = np.arange(1000)
    train_ids, val_ids, test_ids = train_val_test_split(ids, 0.05, 0.1)
    assert (len(train_ids), len(val_ids), len(test_ids)) == (850, 50, 100)
    np.testing.assert_array_equal(np.concatenate([train_ids, val_ids, test_ids]), ids)
    with pytest.raises(ValueError, match="test_fraction"):
        train_val_test_split(ids, 0.1, 1.0)
    with pytest.raises(ValueError, match="fewer than 2 ids"):
        train_val_test_split(np.arange(20), 0.05, 0.05)


def test_warmup_cosine_ramps_up_then_decays_to_the_final_rate():
    schedule = warmup_cosine(1.0, steps=110, warmup=10, final_lr=0.1)
    assert schedule(1) == pytest.approx(0.1) and schedule(5) == pytest.approx(0.5)
    assert schedule(10) == pytest.approx(1.0)
    assert schedule(60) == pytest.approx(0.55)  # half way down the cosine: the mean of lr and final_lr
    assert schedule(110) == pytest.approx(0.1)
    rates = [schedule(step) for step in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False)), "the decay must never go back up"
    assert warmup_cosine(0.5, 100, 0, 0.5)(1) == 0.5 == warmup_cosine(0.5, 100, 0, 0.5)(100)
    with pytest.raises(ValueError, match="warmup"):
        warmup_cosine(1.0, 10, 10, 0.1)


def test_before_exercise_10_1_a_config_follows_the_references_schedule_and_says_so(monkeypatch, capsys):
    """A run from a terminal after lesson 05, with warmup_cosine still a stub (Exercise 10.1)."""
    from rnnlib import config

    def stub(lr, steps, warmup, final_lr):
        raise NotImplementedError("Exercise 10.1: implement warmup_cosine")

    monkeypatch.setattr(config, "warmup_cosine", stub)
    schedule = config.Config(steps=200, warmup=10).settings().lr
    assert capsys.readouterr().out == (
        "Exercise 10.1 (warmup_cosine) is not done yet: this run follows the reference's schedule\n"
    )
    expected = warmup_cosine(3e-3, 200, 10, 1e-4)
    assert [schedule(step) for step in range(1, 201)] == [expected(step) for step in range(1, 201)]


def test_measure_reads_every_character_once_and_weighs_windows_by_their_length():
    vocab, _, val_ids = _corpus()
    params = gru.init_params(len(vocab), 8, np.random.default_rng(0))
    h, nll, correct = np.zeros((1, 8)), 0.0, 0
    for t in range(len(val_ids) - 1):  # one character at a time: the plainest reading of the split
        logits, h = gru.lm_step(params, val_ids[t : t + 1], h)
        p = softmax(logits[0])
        nll -= math.log(p[val_ids[t + 1]])
        correct += int(np.argmax(p) == val_ids[t + 1])
    scores = measure(gru, params, val_ids, seq_len=7)  # windows of 7 and a shorter last one
    assert scores["characters"] == len(val_ids) - 1
    assert scores["loss"] == pytest.approx(nll / (len(val_ids) - 1), rel=1e-10)
    assert scores["perplexity"] == pytest.approx(math.exp(scores["loss"]))
    assert scores["bits_per_char"] == pytest.approx(scores["loss"] / math.log(2))
    assert scores["accuracy"] == correct / (len(val_ids) - 1)


def test_sample_temperature_sharpens_and_is_checked():
    vocab, _, _ = _corpus()
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    default = sample(rnn, params, vocab, "the ", 40, np.random.default_rng(3))
    assert sample(rnn, params, vocab, "the ", 40, np.random.default_rng(3), temperature=1.0) == default
    params["by"][vocab.stoi["t"]] = 3.0  # 't' a little likelier than the rest
    cold = sample(rnn, params, vocab, "the ", 200, np.random.default_rng(3), temperature=0.1)[4:]
    warm = sample(rnn, params, vocab, "the ", 200, np.random.default_rng(3), temperature=1.0)[4:]
    assert cold.count("t") > 190 and warm.count("t") < cold.count("t")
    assert sample(rnn, params, vocab, "the ", 30, np.random.default_rng(0), temperature=0)[4:] == "t" * 30
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            sample(rnn, params, vocab, "the ", 5, np.random.default_rng(0), temperature=bad)
    with pytest.raises(ValueError, match=r"outside the model's vocabulary: 'Q', 'z'"):
        sample(rnn, params, vocab, "zQ", 5, np.random.default_rng(0))


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_training_with_the_optimisers_of_lesson_09_and_a_schedule(optimizer):
    vocab, train_ids, val_ids = _corpus()
    params = gru.init_params(len(vocab), 16, np.random.default_rng(0), dtype=np.float32)
    state = RunState()
    lr = 0.02 if optimizer == "adam" else 0.3
    history = _train(gru, params, vocab, train_ids, val_ids, steps=100, eval_every=50, optimizer=optimizer,
                     lr=warmup_cosine(lr, 100, 10, lr / 10), state=state)
    assert history["val_loss"][-1] < 0.5 * history["val_loss"][0]
    assert history["lr"][0] == pytest.approx(lr / 10) and history["lr"][-1] == pytest.approx(lr / 10)
    assert all(v.dtype == np.float32 for v in params.values())
    moments = state.optimizer["m"] if optimizer == "adam" else state.optimizer["velocity"]
    assert all(m.dtype == np.float32 and np.any(m) for m in moments.values())
    assert state.step == 100 and state.optimizer.get("step", 100) == 100


def test_a_run_left_between_two_steps_goes_on_from_its_state_as_if_it_had_never_stopped():
    vocab, train_ids, val_ids = _corpus()
    whole = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    _train(rnn, whole, vocab, train_ids, val_ids, steps=100, eval_every=30)
    params, state = rnn.init_params(len(vocab), 8, np.random.default_rng(0)), RunState()
    settings = _settings(steps=100, eval_every=30)
    for state, _ in run_steps(rnn, params, train_ids, val_ids, settings, vocab=vocab):
        if state.step == 42:
            break
    assert len(state.history["loss"]) == 42 and state.history["val_step"] == [0, 30]
    history = _train(rnn, params, vocab, train_ids, val_ids, steps=100, eval_every=30, state=state)
    assert list(history["val_step"]) == [0, 30, 60, 90, 100] and len(history["loss"]) == 100
    assert all(np.array_equal(params[name], whole[name]) for name in whole)
    with pytest.raises(ValueError, match="already at step 100"):
        _train(rnn, params, vocab, train_ids, val_ids, steps=50, state=state)
    with pytest.raises(ValueError, match="optimizer"):
        _settings(optimizer="adagrad")


# Divergence that stays finite (issue 17)


def _climbing(model, after, by):
    """``model`` whose training loss is reported ``by`` nats higher per step after step ``after``."""
    steps = []  # one per backward pass: one per training step, whatever else reads a window

    def lm_forward(params, inputs, targets, h0):
        loss, h_last, cache = model.lm_forward(params, inputs, targets, h0)
        return loss + by * max(0, len(steps) + 1 - after), h_last, cache

    def lm_backward(cache, *args):
        steps.append(1)
        return model.lm_backward(cache, *args)

    return SimpleNamespace(lm_forward=lm_forward, lm_backward=lm_backward, lm_step=model.lm_step)


def test_a_finite_loss_far_above_the_runs_best_stops_the_run_before_that_step_is_saved():
    vocab, train_ids, val_ids = _corpus()
    params, saved = rnn.init_params(len(vocab), 8, np.random.default_rng(0)), []
    climbing = _climbing(rnn, after=80, by=0.5)
    expected = r"at step 8\d: the mean training loss of the last 20 steps, .* is more than 1 nat above"
    with pytest.raises(TrainingDiverged, match=expected) as error:
        settings = _settings(steps=200, eval_every=1000)
        for state, check_update in run_steps(climbing, params, train_ids, val_ids, settings, vocab=vocab):
            check_update()  # as the command line does before every save
            saved.append(state.step)
    assert isinstance(error.value, FloatingPointError) and saved[-1] == error.value.step - 1
    params = rnn.init_params(len(vocab), 8, np.random.default_rng(0))
    climbing = _climbing(rnn, after=80, by=0.5)
    history = _train(climbing, params, vocab, train_ids, val_ids, steps=200, eval_every=1000,
                     stop_on_divergence=False)  # fmt: skip
    assert len(history["loss"]) == 200 and history["loss"][-1] > 50, "lesson 06's run, meant to diverge"


def test_the_divergence_rule_lets_spikes_and_noise_through_and_stops_a_blow_up_at_once():
    rng = np.random.default_rng(0)
    V = 65  # ln V = 4.17
    watch = _DivergenceWatch(V, [])
    losses = []
    # A healthy run: the loss falls from ln V with noise, and spikes of 2.4 nats two steps apart, as the RNN
    # with SGD at lr 1 gives at the end of its warm-up (the largest rise measured, 0.26 on the 20-step mean).
    for step in range(1, 301):
        loss = 1.5 + 2.6 * math.exp(-step / 30) + 0.1 * rng.standard_normal() + 2.4 * (step in (60, 62, 64))
        watch.check(step, loss, losses)
        losses.append(loss)
    resumed = _DivergenceWatch(V, losses)  # a resumed run's rule starts from the history's best
    assert resumed.best == pytest.approx(watch.best) and watch.best < 1.7
    blown_up = r"step 301: the mean training loss of the last 20 steps, 3\.\d+ nats/char"
    with pytest.raises(TrainingDiverged, match=blown_up):
        resumed.check(301, 40.0, losses)  # lr 100 on a trained model: one window of tens of nats
    with pytest.raises(TrainingDiverged, match=r"step 1: the training loss, 5.3 nats/char, is more than"):
        _DivergenceWatch(V, []).check(1, 5.3, [])  # a first step worse than guessing by more than 1 nat
