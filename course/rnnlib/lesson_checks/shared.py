"""Helpers shared by the checks of several lessons: seeds, dtypes, the inputs of the RNN and the GRU.

Each says which lessons use it. A helper used by one lesson's checks lives in that lesson's module.
"""

import contextlib
import warnings

import numpy as np

from ..checks import CheckFailed, describe, expect_close, expect_equal
from ..onehot import OneHot

# 0 in the course. The grader's hidden checks (tools/grading/points.csv) set it to run every check once
# more on other random inputs, which a submission tuned to the course's own cannot pass by luck.
VARIANT = 0


def rng_for(number):
    """A generator seeded by the exercise number, so each check draws the same numbers every time."""
    return np.random.default_rng([int(part) for part in number.split(".")] + ([VARIANT] if VARIANT else []))


def expect_dtype(name, array, dtype):
    """Expect ``array`` of exactly ``dtype``: float32 in gives float32 out, without a silent upcast."""
    expect_equal(f"{name}.dtype", np.asarray(array).dtype, np.dtype(dtype))


@contextlib.contextmanager
def no_float_warnings(label):
    """Run the block with NumPy's overflow, division-by-zero and invalid-value warnings as failures naming
    ``label`` (lessons 11-12, extreme inputs): an overflow that happens to give the right answer in one
    case gives inf or NaN in the next. Underflow to 0 stays allowed, as NumPy allows it by default."""
    with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            yield
        except (RuntimeWarning, FloatingPointError) as warning:
            raise CheckFailed(
                f"{label}: expected no overflow or NaN, got NumPy's warning '{warning}'"
            ) from None


def as_float32(*arrays):
    """The arrays in float32, to run a function on float32 inputs (lessons 03-04, 07-08, 12)."""
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def expect_float32_gradients(function, names, gradients):
    """Every gradient a backward pass returns for float32 inputs is float32: no silent upcast."""
    for name, gradient in zip(names, gradients, strict=False):  # their number was checked before
        expect_dtype(f"{function}: {name} for float32 inputs", gradient, np.float32)


def rnn_inputs(rng, B=3, T=5, m=4, H=6):
    """X (B, T, m), h0 (B, H), Wxh (m, H), Whh (H, H), bh (H,): the vanilla RNN's inputs (lessons 03-04)."""
    X, h0 = rng.normal(size=(B, T, m)), rng.normal(size=(B, H))
    return X, h0, rng.normal(size=(m, H)), rng.normal(scale=0.5, size=(H, H)), rng.normal(size=H)


def expect_onehot_input(function, quantity, run, reference_run, ids, m):
    """``run(X)`` with X = OneHot(ids, m), the one-hot rows lm_forward gives a layer (rnnlib/onehot.py),
    against ``reference_run`` on the full array: a layer that works on arrays but not on those would pass
    its check and then fail in the lessons' training, far from the exercise at fault."""
    X = OneHot(ids, m)
    label = f"{function}: given X = OneHot(ids, V), the one-hot rows lm_forward gives it"
    try:
        got = run(X)
    except Exception as error:
        raise CheckFailed(f"{label}: your code raised {describe(error)}") from None
    expect_close(f"{label}: {quantity}", got, reference_run(np.asarray(X)))


# A backward pass through time (lessons 04 and 08) is first checked on a window of one step, where the
# gradient arriving from step t+1 is still zero: a bug in the lines of one step fails there, and one in
# what carries the gradient back (dh_next) shows in dh0. Only then the longer window, whose failure names
# the carrying.
CARRYING = "a window of T = 1 is right, so look at what carries the gradient from step t+1 back to step t"


def one_step_window(X, dHs):
    """The first step of X (B, T, m) and of dHs (B, T, H): a window of T = 1."""
    return X[:, :1].copy(), dHs[:, :1].copy()


def blaming_the_carrying(expectations):
    """Run ``expectations()``; a failure, after the one-step window passed, says where to look."""
    try:
        expectations()
    except CheckFailed as error:
        raise CheckFailed(f"{error} ({CARRYING})") from None


# The GRU (lessons 07-08): gate order [r | z | n] along the 3H columns.
GATES = ("r", "z", "n")


def gru_inputs(rng, B=2, T=4, m=3, H=2, scale=1.0):
    """X (B, T, m), h0 (B, H), Wx (m, 3H), Wh (H, 3H), bx (3H,), bh (3H,): the GRU's inputs."""
    X, h0 = rng.normal(size=(B, T, m)), rng.normal(size=(B, H))
    Wx, Wh = rng.normal(scale=scale, size=(m, 3 * H)), rng.normal(scale=scale, size=(H, 3 * H))
    return X, h0, Wx, Wh, rng.normal(size=3 * H), rng.normal(size=3 * H)
