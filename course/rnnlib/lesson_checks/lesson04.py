"""The checks of lesson 04, notebooks/04_rnn_bptt.ipynb: Exercises 4.1-4.3 (rnnlib/rnn.py).

Backpropagation through time. The caches come from the reference's forward pass.
"""

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_equal, expect_gradient
from . import exercise
from .shared import (
    as_float32,
    blaming_the_carrying,
    expect_dtype,
    expect_float32_gradients,
    expect_onehot_input,
    one_step_window,
    rng_for,
    rnn_inputs,
)


def _expect_gradients(function, names, got, expected, numerical=None):
    """Compare each gradient with the reference's, in the order given; then, if ``numerical`` is given
    ({name: (f, x)}), with central differences too, so that the check does not trust the reference alone."""
    expect_equal(f"{function}: the number of gradients returned", len(got), len(expected))
    for name, g, e in zip(names, got, expected, strict=True):
        expect_close(f"{function}: {name}", g, e, rtol=1e-6, atol=1e-9)
    for name, (f, x) in (numerical or {}).items():
        expect_gradient(name, f, x, got[names.index(f"d{name}")])


@exercise("4.1", "rnn_step_backward")
def _rnn_step_backward():
    from ..rnn import rnn_step_backward

    ref = reference("rnn")
    rng = rng_for("4.1")
    X, h_prev, Wxh, Whh, bh = rnn_inputs(rng)
    x, dh = X[:, 0], rng.normal(size=h_prev.shape)
    _, cache = ref.rnn_step_forward(x, h_prev, Wxh, Whh, bh)
    got = call("rnn_step_backward", rnn_step_backward, dh, cache)
    names = ("dWxh", "dWhh", "dbh", "dx", "dh_prev")
    order = (2, 3, 4, 0, 1)  # the weights first: the closest to the local equations
    expected = ref.rnn_step_backward(dh, cache)

    def step_loss(_):  # L = sum(dh * h), whose gradient with respect to h is dh
        return np.sum(dh * ref.rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0])

    numerical = {name: (step_loss, value) for name, value in (("Whh", Whh), ("h_prev", h_prev))}
    _expect_gradients(
        "rnn_step_backward", names, [got[i] for i in order], [expected[i] for i in order], numerical
    )
    got32 = rnn_step_backward(*as_float32(dh), tuple(as_float32(*cache)))
    expect_float32_gradients("rnn_step_backward", ("dx", "dh_prev", "dWxh", "dWhh", "dbh"), got32)


@exercise("4.2", "rnn_backward")
def _rnn_backward():
    from ..rnn import rnn_backward

    ref = reference("rnn")
    rng = rng_for("4.2")
    X, h0, Wxh, Whh, bh = inputs = rnn_inputs(rng, B=2, T=4, m=3, H=5)
    dHs = rng.normal(size=(2, 4, 5))
    order = (2, 3, 4, 1, 0)
    names = ("dWxh", "dWhh", "dbh", "dh0", "dX")
    X1, dHs1 = one_step_window(X, dHs)
    _, cache1 = ref.rnn_forward(X1, h0, Wxh, Whh, bh)
    got1, expected1 = call("rnn_backward", rnn_backward, dHs1, cache1), ref.rnn_backward(dHs1, cache1)
    one_step = [f"{name} on a window of T = 1" for name in names]
    _expect_gradients("rnn_backward", one_step, [got1[i] for i in order], [expected1[i] for i in order])
    _, cache = ref.rnn_forward(*inputs)
    got = call("rnn_backward", rnn_backward, dHs, cache)
    expected = ref.rnn_backward(dHs, cache)

    def window_loss(_):
        return np.sum(dHs * ref.rnn_forward(X, h0, Wxh, Whh, bh)[0])

    numerical = {name: (window_loss, value) for name, value in (("Whh", Whh), ("h0", h0))}
    blaming_the_carrying(
        lambda: _expect_gradients(
            "rnn_backward", names, [got[i] for i in order], [expected[i] for i in order], numerical
        )
    )
    got32 = rnn_backward(*as_float32(dHs), tuple(as_float32(*cache)))
    expect_float32_gradients("rnn_backward", ("dX", "dh0", "dWxh", "dWhh", "dbh"), got32)
    expect_onehot_input(  # the cache of the reference's forward pass on X, as lm_backward hands it over
        "rnn_backward",
        "dWxh",
        lambda X: rnn_backward(dHs, ref.rnn_forward(X, h0, Wxh, Whh, bh)[1])[2],
        lambda X: ref.rnn_backward(dHs, ref.rnn_forward(X, h0, Wxh, Whh, bh)[1])[2],
        rng_for("4.2.1").integers(3, size=(2, 4)),
        3,
    )


@exercise("4.3", "output_backward")
def _output_backward():
    from ..rnn import output_backward

    ref = reference("rnn")
    rng = rng_for("4.3")
    Hs, Why, by, dZ = (
        rng.normal(size=(2, 3, 4)),
        rng.normal(size=(4, 5)),
        rng.normal(size=5),
        rng.normal(size=(2, 3, 5)),
    )
    _, cache = ref.output_forward(Hs, Why, by)
    got = call("output_backward", output_backward, dZ, cache)
    order = (1, 2, 0)
    expected = ref.output_backward(dZ, cache)

    def output_loss(_):
        return np.sum(dZ * ref.output_forward(Hs, Why, by)[0])

    numerical = {name: (output_loss, value) for name, value in (("Why", Why), ("Hs", Hs))}
    names = ("dWhy", "dby", "dHs")
    _expect_gradients(
        "output_backward", names, [got[i] for i in order], [expected[i] for i in order], numerical
    )
    expect_dtype(
        "output_backward: dWhy for float32 inputs",
        output_backward(*as_float32(dZ), tuple(as_float32(*cache)))[1],
        np.float32,
    )
