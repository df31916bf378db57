"""The checks of lesson 07, notebooks/07_gru_forward.ipynb: Exercises 7.1-7.2 (rnnlib/gru.py).

The GRU's forward pass, gate order [r | z | n] along the 3H columns.
"""

import itertools

import numpy as np

from .. import reference
from ..checks import CheckFailed, call, expect_close, expect_equal, expect_shape
from . import exercise
from .shared import GATES, as_float32, expect_dtype, expect_onehot_input, gru_inputs, rng_for


def _permuted(order, H, *arrays):
    """The GRU weights with their gate blocks in another ``order`` (a permutation of 0, 1, 2)."""
    columns = np.concatenate([np.arange(g * H, (g + 1) * H) for g in order])
    return tuple(a[..., columns] for a in arrays)


def _expect_gru_state(function, name, got, expected, compute):
    """Like expect_close, but a wrong state is first compared with the reference run with the gates in
    every other order, so that a gate-order bug is named as one. ``compute(order)`` gives that state."""
    got = np.asarray(got)
    if got.shape == np.shape(expected) and not np.allclose(got, expected, rtol=1e-7, atol=1e-10):
        for order in itertools.permutations(range(3)):
            if order != (0, 1, 2) and np.allclose(got, compute(order), rtol=1e-7, atol=1e-10):
                read = " | ".join(GATES[g] for g in order)
                raise CheckFailed(
                    f"{function}: {name} is what the GRU gives with its gates read in the order [{read}] "
                    "along the 3H columns; the course's order is [r | z | n]: columns 0:H r, H:2H z, 2H:3H n"
                )
    expect_close(f"{function}: {name}", got, expected)


@exercise("7.1", "gru_step_forward")
def _gru_step_forward():
    from ..gru import gru_step_forward

    ref = reference("gru")
    X, h_prev, Wx, Wh, bx, bh = gru_inputs(rng_for("7.1"))
    x, H = X[:, 0], h_prev.shape[1]
    h, cache = call("gru_step_forward", gru_step_forward, x, h_prev, Wx, Wh, bx, bh)
    expected, expected_cache = ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    expect_shape("gru_step_forward: h", h, expected.shape)
    _expect_gru_state(
        "gru_step_forward",
        "h",
        h,
        expected,
        lambda order: ref.gru_step_forward(x, h_prev, *_permuted(order, H, Wx, Wh, bx, bh))[0],
    )
    expect_equal("gru_step_forward: len(cache)", len(cache), 8)
    for i, name in zip(range(4, 8), ("r", "z", "n", "a_hn"), strict=True):
        expect_close(f"gru_step_forward: {name} in the cache (cache[{i}])", cache[i], expected_cache[i])
    z_open = bx.copy()
    z_open[H : 2 * H] = 40.0  # columns H:2H are the update gate's: z = 1 keeps the old state
    expect_close(
        "gru_step_forward: h with the update gate open (z = 1)",
        gru_step_forward(x, h_prev, Wx, Wh, z_open, bh)[0],
        h_prev,
    )
    h32, _ = gru_step_forward(*as_float32(x, h_prev, Wx, Wh, bx, bh))
    expect_dtype("gru_step_forward: h for float32 inputs", h32, np.float32)
    expect_onehot_input(
        "gru_step_forward",
        "h",
        lambda x: gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0],
        lambda x: ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0],
        rng_for("7.1.1").integers(3, size=2),
        3,
    )


@exercise("7.2", "gru_forward")
def _gru_forward():
    from ..gru import gru_forward

    ref = reference("gru")
    inputs = X, h0, Wx, Wh, bx, bh = gru_inputs(rng_for("7.2"))
    H = h0.shape[1]
    Hs, cache = call("gru_forward", gru_forward, *inputs)
    expected, expected_cache = ref.gru_forward(*inputs)
    expect_shape("gru_forward: Hs", Hs, expected.shape)
    _expect_gru_state(
        "gru_forward",
        "Hs",
        Hs,
        expected,
        lambda order: ref.gru_forward(X, h0, *_permuted(order, H, Wx, Wh, bx, bh))[0],
    )
    expect_equal("gru_forward: len(cache)", len(cache), 9)
    for i, name in zip(range(4, 9), ("Hs", "Rs", "Zs", "Ns", "A_hn"), strict=True):
        expect_close(f"gru_forward: {name} in the cache (cache[{i}])", cache[i], expected_cache[i])
    first, _ = gru_forward(X[:, :1], h0, Wx, Wh, bx, bh)
    rest, _ = gru_forward(X[:, 1:], first[:, -1], Wx, Wh, bx, bh)
    expect_close(
        "gru_forward: two windows, the state carried", np.concatenate([first, rest], axis=1), expected
    )
    Hs32, _ = gru_forward(*as_float32(*inputs))
    expect_dtype("gru_forward: Hs for float32 inputs", Hs32, np.float32)
    expect_onehot_input(
        "gru_forward",
        "Hs",
        lambda X: gru_forward(X, h0, Wx, Wh, bx, bh)[0],
        lambda X: ref.gru_forward(X, h0, Wx, Wh, bx, bh)[0],
        rng_for("7.2.1").integers(3, size=(2, 4)),
        3,
    )
