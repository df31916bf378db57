"""The checks of lesson 05, notebooks/05_training.ipynb: Exercises 5.1-5.3 (rnnlib/optim.py, train.py).

SGD, clipping by the global norm, and the training step with the update rule it is given.
"""

import inspect

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_equal, expect_raises, expect_true
from . import exercise
from .shared import expect_dtype, rng_for


@exercise("5.1", "sgd_step")
def _sgd_step():
    from ..optim import sgd_step

    params = {"W": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, -0.5])}
    grads = {"W": np.array([[10.0, 0.0], [-10.0, 1.0]]), "b": np.array([1.0, 2.0])}
    W, b = params["W"], params["b"]
    expect_equal(
        "sgd_step(params, grads, 0.1) returns",
        call("sgd_step", sgd_step, params, grads, 0.1, changes="params"),
        None,
    )
    expect_close("W after sgd_step", params["W"], np.array([[0.0, 2.0], [4.0, 3.9]]))
    expect_close("b after sgd_step", params["b"], np.array([0.4, -0.7]))
    expect_true(
        "sgd_step",
        params["W"] is W and params["b"] is b,
        "update the arrays in place (P -= ...), do not put new arrays into params",
    )
    p32 = {"W": np.ones(3, dtype=np.float32)}
    sgd_step(p32, {"W": np.ones(3, dtype=np.float32)}, 0.5)
    expect_dtype("params['W'] after sgd_step on float32", p32["W"], np.float32)


@exercise("5.2", "clip_grad_norm")
def _clip_grad_norm():
    from ..optim import clip_grad_norm

    grads = {"W": np.array([[3.0, 0.0]]), "b": np.array([0.0, 4.0])}  # each array has norm < 5, together 5
    W = grads["W"]
    total = call("clip_grad_norm", clip_grad_norm, grads, 1.0, changes="grads")
    expect_close("clip_grad_norm returns the norm before clipping", total, 5.0)
    expect_close("W after clipping to norm 1", grads["W"], np.array([[0.6, 0.0]]))
    expect_close("b after clipping to norm 1", grads["b"], np.array([0.0, 0.8]))
    expect_true("clip_grad_norm", grads["W"] is W, "scale the arrays in place (dP *= ...)")
    small = {"W": np.array([[0.3, 0.0]]), "b": np.array([0.0, 0.4])}
    expect_close("clip_grad_norm of a gradient below the threshold", clip_grad_norm(small, 1.0), 0.5)
    expect_close("W below the threshold (unchanged)", small["W"], np.array([[0.3, 0.0]]))
    expect_close("b below the threshold (unchanged)", small["b"], np.array([0.0, 0.4]))
    expect_raises("clip_grad_norm(grads, 0)", ValueError, clip_grad_norm, small, 0.0)


@exercise("5.3", "train_step")
def _train_step():
    from ..train import train_step

    rnn = reference("rnn")  # the model: this checks the training step, not lessons 03-04
    rng = rng_for("5.3")
    p = rnn.init_params(4, 16, rng)
    before = {k: v.copy() for k, v in p.items()}
    x, y, h = rng.integers(4, size=(2, 8)), rng.integers(4, size=(2, 8)), rng.normal(size=(2, 16))
    # The step as lesson 05 takes it, with the default update (a stub stops here: not done yet). What it
    # gave is compared after the update rule's checks, which name a wrong clip or lr better than params can.
    step_loss, h_last, grad_norm = call("train_step", train_step, rnn, p, x, y, h, 0.5, 0.2, changes="params")
    _expect_the_update_given(train_step)

    ref_loss, ref_h, ref_cache = rnn.lm_forward(before, x, y, h)
    ref_grads, _ = rnn.lm_backward(ref_cache)
    ref_norm = np.sqrt(sum(np.sum(g**2) for g in ref_grads.values()))
    expect_close("loss returned by train_step", step_loss, ref_loss)
    expect_close("h_last returned by train_step", h_last, ref_h)
    expect_close("grad_norm returned by train_step (before clipping)", grad_norm, ref_norm)
    for k in p:
        expect_close(
            f"params[{k!r}] after train_step", p[k], before[k] - 0.5 * ref_grads[k] * min(1, 0.2 / ref_norm)
        )

    streams = np.tile(np.arange(4), (2, 41))  # two streams of "abcdabcd...", 164 ids each
    losses = []
    for _ in range(10):
        h = np.zeros((2, 16))
        for s in range(0, 160, 8):
            step_loss, h, _ = train_step(
                rnn, p, streams[:, s : s + 8], streams[:, s + 1 : s + 9], h, 0.5, 1.0
            )
            losses.append(step_loss)
    expect_true(
        "train_step on 'abcdabcd...'",
        np.mean(losses[-20:]) < 0.05,
        f"200 steps should learn the cycle (mean loss < 0.05); the last 20: {np.mean(losses[-20:]):.3f}",
    )


def _expect_the_update_given(train_step):
    """train_step makes its step with the update rule it is given (lesson 09's optimisers are passed in
    that way), once, with the clipped gradients and its lr. The rule given here records what it receives
    and changes nothing, so that any change to params is train_step's own."""
    expect_true(
        "train_step",
        "update" in inspect.signature(train_step).parameters,
        "takes no update argument: its first line must be def train_step(model, params, inputs, targets, h, "
        "lr, clip, update=sgd_step), and it must call update(params, grads, lr), not sgd_step",
    )
    rnn, optim = reference("rnn"), reference("optim")
    rng = rng_for("5.3.1")
    p = rnn.init_params(4, 16, rng)
    before = {k: v.copy() for k, v in p.items()}
    x, y, h = rng.integers(4, size=(2, 8)), rng.integers(4, size=(2, 8)), rng.normal(size=(2, 16))
    lr, clip = 0.5, 0.2
    _, _, cache = rnn.lm_forward(before, x, y, h)
    clipped, _ = rnn.lm_backward(cache)
    unclipped = {k: g.copy() for k, g in clipped.items()}
    norm = optim.clip_grad_norm(clipped, clip)
    calls = []

    def update(params, grads, lr):
        calls.append((params, {k: np.copy(g) for k, g in grads.items()}, lr))

    call("train_step", train_step, rnn, p, x, y, h, lr, clip, update, changes="params")
    expect_true(
        "train_step",
        len(calls) > 0,
        "the update it was given was not applied: expected 1 call of update(params, grads, lr), got 0 "
        "(call update, the rule given, not sgd_step)",
    )
    expect_equal("train_step: the number of calls of the update it was given", len(calls), 1)
    given, grads, given_lr = calls[0]
    expect_equal("train_step: the names of the grads given to update", sorted(grads), sorted(clipped))
    expect_true("train_step", given is p, "must give update the params dict it was given, to update in place")
    expect_true(
        "train_step: the grads given to update",
        not all(np.allclose(grads[k], unclipped[k]) for k in unclipped),
        f"are the gradients before clipping (their norm {norm:.3f} > clip {clip}): clip them first, then "
        "call update",
    )
    for k in clipped:
        expect_close(
            f"train_step: grads[{k!r}] given to update (clipped to norm {clip})", grads[k], clipped[k]
        )
    expect_equal("train_step: the lr given to update", given_lr, lr)
    expect_true(
        "train_step",
        all(np.array_equal(p[k], before[k]) for k in p),
        "changed params itself, besides calling update: the update it is given makes the step, alone",
    )
