"""The checks of lesson 09, notebooks/09_optimizers.ipynb: Exercises 9.1-9.2 (rnnlib/optim.py).

Momentum and Adam. Each step runs on params and a state of its own; the expected values come from the
same steps of the reference on copies.
"""

import itertools

import numpy as np

from .. import reference
from ..checks import CheckFailed, call, expect_close, expect_equal, expect_true
from . import exercise
from .shared import expect_dtype, rng_for


def _optimizer_problem(rng, dtype=np.float64):
    """Parameters of two shapes and a sequence of 5 gradients, entries from 1e-6 to 10 (eps matters)."""
    params = {"W": rng.normal(size=(3, 4)).astype(dtype), "b": rng.normal(size=4).astype(dtype)}
    scales = [1e-6, 1e-3, 1.0, 10.0]
    grads = [
        {
            k: (rng.normal(size=P.shape) * rng.choice(scales, size=P.shape)).astype(dtype)
            for k, P in params.items()
        }
        for _ in range(5)
    ]
    return params, grads


def _copy(arrays):
    return {k: v.copy() for k, v in arrays.items()}


def _run_step(function, step, params, grads, state, *settings):
    """``step(params, grads, state, *settings)`` through ``call``: only params and state may change. A step
    written into grads while params stayed as they were is told so, not only that grads changed."""
    params_before, grads_before = _copy(params), _copy(grads)

    def one_step(grads):
        return step(params, grads, state, *settings)

    try:
        return call(function, one_step, grads)
    except CheckFailed:
        for k in grads:
            if not np.array_equal(grads[k], grads_before[k]) and np.array_equal(params[k], params_before[k]):
                raise CheckFailed(
                    f"{function}: params[{k!r}] did not change and grads[{k!r}] did: expected the step "
                    f"subtracted from params[{k!r}] (P -= ..., with P from params.items()), got it written "
                    f"into grads[{k!r}], which a step only reads"
                ) from None
        raise


def _expect_updated_in_place(function, params, arrays, state, state_arrays):
    expect_true(
        function,
        all(params[k] is P for k, P in arrays.items()),
        "update the parameters in place (P -= ...), do not put new arrays into params",
    )
    for part, named in state_arrays.items():
        expect_true(
            function,
            all(state[part][k] is a for k, a in named.items()),
            f"update state[{part!r}] in place (e.g. v[...] = ... or v *= ...): the next step must find it "
            "in the same dict, and the caller's state must see it",
        )


@exercise("9.1", "momentum_step")
def _momentum_step():
    from ..optim import momentum_init, momentum_step

    ref = reference("optim")
    # By hand, beta = 0.5, lr = 0.1: v1 = g1 = [1, -2], W1 = [1, 2] - 0.1 v1 = [0.9, 2.2];
    # v2 = 0.5 v1 + g2 = [0.5, -1] + [1, 0] = [1.5, -1], W2 = W1 - 0.1 v2 = [0.75, 2.3].
    params = {"W": np.array([1.0, 2.0])}
    state = momentum_init(params)
    W, v = params["W"], state["velocity"]["W"]
    returned = _run_step(
        "momentum_step", momentum_step, params, {"W": np.array([1.0, -2.0])}, state, 0.1, 0.5
    )
    expect_equal("momentum_step(...) returns", returned, None)
    expect_close("velocity after one step (v = g)", state["velocity"]["W"], np.array([1.0, -2.0]))
    expect_close("W after one step (W - lr * g)", params["W"], np.array([0.9, 2.2]))
    _expect_updated_in_place("momentum_step", params, {"W": W}, state, {"velocity": {"W": v}})
    _run_step("momentum_step", momentum_step, params, {"W": np.array([1.0, 0.0])}, state, 0.1, 0.5)
    expect_close("velocity after two steps (0.5 * v + g)", state["velocity"]["W"], np.array([1.5, -1.0]))
    expect_close("W after two steps", params["W"], np.array([0.75, 2.3]))

    for dtype in (np.float64, np.float32):
        params, grad_sequence = _optimizer_problem(rng_for("9.1"), dtype)
        expected = _copy(params)
        state, expected_state = momentum_init(params), ref.momentum_init(expected)
        for step, grads in enumerate(grad_sequence, start=1):
            _run_step("momentum_step", momentum_step, params, grads, state, 0.05)  # beta: the default 0.9
            ref.momentum_step(expected, grads, expected_state, 0.05)
            tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == np.float32 else {}
            for k in params:
                expect_close(
                    f"params[{k!r}] after {step} steps ({np.dtype(dtype)})", params[k], expected[k], **tol
                )
                velocity = expected_state["velocity"][k]
                expect_close(f"velocity[{k!r}] after {step} steps", state["velocity"][k], velocity, **tol)
        for k in params:
            expect_dtype(f"params[{k!r}] after momentum steps on {np.dtype(dtype)}", params[k], dtype)
            expect_dtype(f"velocity[{k!r}] on {np.dtype(dtype)}", state["velocity"][k], dtype)


@exercise("9.2", "adam_step")
def _adam_step():
    from ..optim import adam_init, adam_step

    ref = reference("optim")
    # The first step by hand: s = 1, m = (1 - b1) g and v = (1 - b2) g^2, so the bias-corrected
    # m_hat = g and v_hat = g^2, and every parameter moves by lr * g / (|g| + eps): lr * sign(g), up to eps.
    g = np.array([[1e-3, -5.0], [100.0, -0.25]])
    params = {"W": np.array([[1.0, 2.0], [3.0, 4.0]])}
    state = adam_init(params)
    W, m, v = params["W"], state["m"]["W"], state["v"]["W"]
    try:  # s = 0 makes 1 - beta1**s zero: a ZeroDivisionError for Python floats, a NumPy warning for arrays
        with np.errstate(divide="raise", invalid="raise"):
            returned = _run_step("adam_step", adam_step, params, {"W": g}, state, 0.01)
    except (ZeroDivisionError, FloatingPointError) as error:
        raise CheckFailed(
            f"adam_step: the bias correction 1 - beta1**s at the first step: expected s = 1 (add 1 to "
            f"state['step'] before s is read: adam_init starts it at 0), got a division by zero ({error}), "
            "which is what s = 0 gives"
        ) from None
    expect_equal("adam_step(...) returns", returned, None)
    expect_equal("state['step'] after the first step", state["step"], 1)
    expect_close("m after the first step ((1 - beta1) g)", state["m"]["W"], 0.1 * g)
    expect_close("v after the first step ((1 - beta2) g^2)", state["v"]["W"], 0.001 * g**2)
    expect_close(
        "W after the first step (W - lr * g / (|g| + eps), i.e. lr * sign(g) up to eps: bias-corrected)",
        params["W"],
        np.array([[1.0, 2.0], [3.0, 4.0]]) - 0.01 * g / (np.abs(g) + 1e-8),
    )
    _expect_updated_in_place("adam_step", params, {"W": W}, state, {"m": {"W": m}, "v": {"W": v}})

    settings = {"default betas": (0.02,), "beta1 = 0.8, beta2 = 0.95, eps = 1e-4": (0.02, 0.8, 0.95, 1e-4)}
    for dtype, (label, args) in itertools.product((np.float64, np.float32), settings.items()):
        params, grad_sequence = _optimizer_problem(rng_for("9.2"), dtype)
        expected = _copy(params)
        state, expected_state = adam_init(params), ref.adam_init(expected)
        tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {}
        for step, grads in enumerate(grad_sequence, start=1):
            _run_step("adam_step", adam_step, params, grads, state, *args)
            ref.adam_step(expected, grads, expected_state, *args)
            expect_equal(f"state['step'] after {step} steps", state["step"], step)
            where = f"after {step} steps ({label}, {np.dtype(dtype)})"
            for k in params:
                expect_close(f"m[{k!r}] {where}", state["m"][k], expected_state["m"][k], **tol)
                expect_close(f"v[{k!r}] {where}", state["v"][k], expected_state["v"][k], **tol)
                expect_close(f"params[{k!r}] {where}", params[k], expected[k], **tol)
        for k in params:
            for name, array in ((f"params[{k!r}]", params[k]), (f"m[{k!r}]", state["m"][k])):
                expect_dtype(f"{name} after Adam steps on {np.dtype(dtype)}", array, dtype)
            expect_dtype(f"v[{k!r}] after Adam steps on {np.dtype(dtype)}", state["v"][k], dtype)
