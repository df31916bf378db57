"""The checks of lesson 03, notebooks/03_rnn_forward.ipynb: Exercises 3.1-3.3 (rnnlib/rnn.py).

The RNN's forward pass: one step, a window of steps, the output layer.
"""

import math

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_equal, expect_shape, expect_true
from . import exercise
from .shared import as_float32, expect_dtype, expect_onehot_input, rng_for, rnn_inputs


@exercise("3.1", "rnn_step_forward")
def _rnn_step_forward():
    from ..rnn import rnn_step_forward

    x, h_prev = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.5], [-1.0]])
    h, _ = call(
        "rnn_step_forward",
        rnn_step_forward,
        x,
        h_prev,
        np.array([[0.1], [0.2]]),
        np.array([[0.4]]),
        np.array([0.3]),
    )
    expect_close("rnn_step_forward on the worked example: h", h, np.tanh([[0.6], [0.3]]))
    X, h_prev, Wxh, Whh, bh = rnn_inputs(rng_for("3.1"))
    x = X[:, 0]
    h, cache = call("rnn_step_forward", rnn_step_forward, x, h_prev, Wxh, Whh, bh)
    expect_shape("rnn_step_forward: h for B=3, H=6", h, (3, 6))
    transposed = np.tanh(x @ Wxh + h_prev @ Whh.T + bh)  # the square W_hh fits either way round
    expect_true(
        "rnn_step_forward: h for B=3, H=6",
        not np.allclose(h, transposed),
        "equals tanh(x Wxh + h_prev Whh.T + bh): the recurrent product is h_prev @ Whh, not Whh's transpose",
    )
    expect_close("rnn_step_forward: h", h, reference("rnn").rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0])
    expect_close("rnn_step_forward: the h in its cache (cache[4])", cache[4], h)
    h32, _ = rnn_step_forward(*as_float32(x, h_prev, Wxh, Whh, bh))
    expect_dtype("rnn_step_forward: h for float32 inputs", h32, np.float32)
    expect_onehot_input(
        "rnn_step_forward",
        "h",
        lambda x: rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0],
        lambda x: reference("rnn").rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0],
        rng_for("3.1.1").integers(4, size=3),
        4,
    )


@exercise("3.2", "rnn_forward")
def _rnn_forward():
    from ..rnn import rnn_forward

    echo = [math.tanh(1.0)]  # one unit, W_xh = 1, W_hh = 0.5: the first input fades step by step
    for _ in range(3):
        echo.append(math.tanh(0.5 * echo[-1]))
    Hs, _ = call(
        "rnn_forward",
        rnn_forward,
        np.array([[[1.0], [0.0], [0.0], [0.0]]]),
        np.zeros((1, 1)),
        np.array([[1.0]]),
        np.array([[0.5]]),
        np.array([0.0]),
    )
    expect_close("rnn_forward on the echo: Hs", Hs, np.array(echo).reshape(1, 4, 1))
    inputs = rnn_inputs(rng_for("3.2"))
    Hs, cache = call("rnn_forward", rnn_forward, *inputs)
    expected, expected_cache = reference("rnn").rnn_forward(*inputs)
    expect_shape("rnn_forward: Hs for B=3, T=5, H=6", Hs, (3, 5, 6))
    for t in range(5):
        expect_close(f"rnn_forward: Hs[:, {t}], the state after step {t + 1}", Hs[:, t], expected[:, t])
    expect_equal("rnn_forward: len(cache)", len(cache), 5)
    expect_close("rnn_forward: Hs in the cache (cache[4])", cache[4], expected_cache[4])
    X, h0, *weights = inputs
    first, _ = rnn_forward(X[:, :2], h0, *weights)
    rest, _ = rnn_forward(X[:, 2:], first[:, -1], *weights)
    expect_close(
        "rnn_forward: two windows, the state carried", np.concatenate([first, rest], axis=1), expected
    )
    Hs32, _ = rnn_forward(*as_float32(*inputs))
    expect_dtype("rnn_forward: Hs for float32 inputs", Hs32, np.float32)
    expect_onehot_input(
        "rnn_forward",
        "Hs",
        lambda X: rnn_forward(X, h0, *weights)[0],
        lambda X: reference("rnn").rnn_forward(X, h0, *weights)[0],
        rng_for("3.2.1").integers(4, size=(3, 5)),
        4,
    )


@exercise("3.3", "output_forward")
def _output_forward():
    from ..rnn import output_forward

    Hs = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # h_1 = (1, 0), h_2 = (0, 1) pick the rows of W_hy
    Why, by = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([0.5, 0.0, -0.5])
    Z, _ = call("output_forward", output_forward, Hs, Why, by)
    expect_close("output_forward on the worked example: Z", Z, np.array([[[1.5, 2.0, 2.5], [4.5, 5.0, 5.5]]]))
    rng = rng_for("3.3")
    Hs, Why, by = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    Z, _ = call("output_forward", output_forward, Hs, Why, by)
    expect_shape("output_forward: Z for B=2, T=3, V=5", Z, (2, 3, 5))
    for t in range(3):
        expect_close(f"output_forward: Z[:, {t}], the logits of step {t + 1}", Z[:, t], Hs[:, t] @ Why + by)
    expect_dtype(
        "output_forward: Z for float32 inputs", output_forward(*as_float32(Hs, Why, by))[0], np.float32
    )
