"""The checks of lesson 08, notebooks/08_gru_bptt.ipynb: Exercises 8.1-8.2 (rnnlib/gru.py).

The GRU's backward pass, compared gate by gate.
"""

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_equal, expect_gradient, expect_shape
from . import exercise
from .shared import (
    GATES,
    as_float32,
    blaming_the_carrying,
    expect_float32_gradients,
    expect_onehot_input,
    gru_inputs,
    one_step_window,
    rng_for,
)


def _gru_gradients(function, got, expected, H, data_names, where=""):
    """Compare a GRU backward's gradients with the reference's: each gate's block of dWx, dWh, dbx, dbh
    first (dW_xr, dW_xz, ...: the block nearest the bug), then the data gradients; ``where`` ends every
    label (" on a window of T = 1")."""
    dx, dh, dWx, dWh, dbx, dbh = got
    expect_equal(f"{function}: the number of gradients returned", len(got), 6)
    for name, g, e in (
        ("dWx", dWx, expected[2]),
        ("dWh", dWh, expected[3]),
        ("dbx", dbx, expected[4]),
        ("dbh", dbh, expected[5]),
    ):
        expect_shape(f"{function}: {name}", g, e.shape)
        for k, gate in enumerate(GATES):
            block = slice(k * H, (k + 1) * H)
            symbol = f"d{name[1:-1]}_{name[-1]}{gate}"  # dW_xr, db_hz, ...
            label = f"{name}[..., {k * H}:{(k + 1) * H}] ({symbol}, the {gate} gate's block){where}"
            expect_close(
                f"{function}: {label}", np.asarray(g)[..., block], e[..., block], rtol=1e-6, atol=1e-9
            )
    expect_close(f"{function}: {data_names[1]}{where}", dh, expected[1], rtol=1e-6, atol=1e-9)
    expect_close(f"{function}: {data_names[0]}{where}", dx, expected[0], rtol=1e-6, atol=1e-9)


@exercise("8.1", "gru_step_backward")
def _gru_step_backward():
    from ..gru import gru_step_backward

    ref = reference("gru")
    rng = rng_for("8.1")
    X, h_prev, Wx, Wh, bx, bh = gru_inputs(rng, B=3, m=4, H=5, scale=0.5)
    x, dh = X[:, 0], rng.normal(size=h_prev.shape)
    _, cache = ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    got = call("gru_step_backward", gru_step_backward, dh, cache)
    _gru_gradients("gru_step_backward", got, ref.gru_step_backward(dh, cache), 5, ("dx", "dh_prev"))

    def step_loss(_):
        return np.sum(dh * ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0])

    for name, value, i in (("Wh", Wh, 3), ("h_prev", h_prev, 1)):  # and by central differences
        expect_gradient(name, step_loss, value, got[i])
    got32 = gru_step_backward(*as_float32(dh), tuple(as_float32(*cache)))
    expect_float32_gradients("gru_step_backward", ("dx", "dh_prev", "dWx", "dWh", "dbx", "dbh"), got32)


@exercise("8.2", "gru_backward")
def _gru_backward():
    from ..gru import gru_backward

    ref = reference("gru")
    rng = rng_for("8.2")
    inputs = X, h0, Wx, Wh, bx, bh = gru_inputs(rng, B=2, T=4, m=3, H=5, scale=0.5)
    dHs = rng.normal(size=(2, 4, 5))
    X1, dHs1 = one_step_window(X, dHs)
    _, cache1 = ref.gru_forward(X1, h0, Wx, Wh, bx, bh)
    got1, expected1 = call("gru_backward", gru_backward, dHs1, cache1), ref.gru_backward(dHs1, cache1)
    _gru_gradients("gru_backward", got1, expected1, 5, ("dX", "dh0"), " on a window of T = 1")
    _, cache = ref.gru_forward(*inputs)
    got = call("gru_backward", gru_backward, dHs, cache)

    def window_loss(_):
        return np.sum(dHs * ref.gru_forward(X, h0, Wx, Wh, bx, bh)[0])

    def whole_window():
        _gru_gradients("gru_backward", got, ref.gru_backward(dHs, cache), 5, ("dX", "dh0"))
        for name, value, i in (("Wh", Wh, 3), ("h0", h0, 1)):  # and by central differences too
            expect_gradient(name, window_loss, value, got[i])

    blaming_the_carrying(whole_window)
    got32 = gru_backward(*as_float32(dHs), tuple(as_float32(*cache)))
    expect_float32_gradients("gru_backward", ("dX", "dh0", "dWx", "dWh", "dbx", "dbh"), got32)
    expect_onehot_input(  # the cache of the reference's forward pass on X, as lm_backward hands it over
        "gru_backward",
        "dWx",
        lambda X: gru_backward(dHs, ref.gru_forward(X, h0, Wx, Wh, bx, bh)[1])[2],
        lambda X: ref.gru_backward(dHs, ref.gru_forward(X, h0, Wx, Wh, bx, bh)[1])[2],
        rng_for("8.2.1").integers(3, size=(2, 4)),
        3,
    )
