"""The check of every exercise, one function each, run by a lesson's check cell and by ``make check``.

A lesson's check cell is one line, ``check_exercise("3.2")``; it prints ``✓ Exercise 3.2: rnn_forward``
or stops with one line that names the exercise, the function, the quantity that is wrong, what was
expected and what came back. This is course infrastructure, not an exercise: read it to see exactly
what is checked.

Three rules make a check blame the right exercise:

- expected values come from the reference (solutions/rnnlib, through ``rnnlib.reference``) or from
  numbers computed here, never from your other functions: check 3.2 does not compare your rnn_forward
  with your rnn_step_forward, and a backward check builds its cache with the reference's forward pass;
- every call goes through ``call``, which fails when your function changes an argument in place;
- gradients are compared part by part, closest to the bug first: a GRU gate's block of the weight
  gradients (dW_xz is columns H:2H of dWx) before the mixed dx.
"""

import itertools
import math

import numpy as np

from . import reference
from .checks import (
    CheckFailed,
    _describe,
    call,
    check,
    expect_close,
    expect_equal,
    expect_gradient,
    expect_raises,
    expect_shape,
    expect_true,
)
from .onehot import OneHot

EXERCISES = {}  # "3.2" -> (title, check function), in the order of the lessons


def exercise(number, title):
    """Register the decorated function as the check of Exercise ``number``."""

    def register(function):
        EXERCISES[number] = (f"Exercise {number}: {title}", function)
        return function

    return register


def check_exercise(number):
    """Run the check of Exercise ``number`` (a str such as "3.2"); prints one ✓ line or stops."""
    if number not in EXERCISES:
        raise KeyError(f"there is no Exercise {number}; the exercises are {', '.join(EXERCISES)}")
    title, function = EXERCISES[number]
    with check(title):
        function()


def _rng(number):
    """A generator seeded by the exercise number, so each check draws the same numbers every time."""
    return np.random.default_rng([int(part) for part in number.split(".")])


def _expect_dtype(name, array, dtype):
    expect_equal(f"{name}.dtype", np.asarray(array).dtype, np.dtype(dtype))


def _float32(*arrays):
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def _expect_float32_gradients(function, names, gradients):
    """Every gradient a backward pass returns for float32 inputs is float32: no silent upcast."""
    for name, gradient in zip(names, gradients, strict=False):  # their number was checked before
        _expect_dtype(f"{function}: {name} for float32 inputs", gradient, np.float32)


# Lesson 01: text as data.


@exercise("1.1", "Vocabulary")
def _vocabulary():
    from .data import Vocabulary

    v = Vocabulary("hello")
    expect_true("Vocabulary('hello').chars", isinstance(v.chars, list), "chars must be a list of characters")
    expect_equal("Vocabulary('hello').chars", v.chars, ["e", "h", "l", "o"])
    expect_equal("Vocabulary('hello').stoi", v.stoi, {"e": 0, "h": 1, "l": 2, "o": 3})
    expect_equal("len(Vocabulary('hello'))", len(v), 4)
    v = Vocabulary("b a\nab\n")
    expect_equal("Vocabulary('b a\\nab\\n').chars", v.chars, ["\n", " ", "a", "b"])
    expect_equal("Vocabulary('b a\\nab\\n').stoi", v.stoi, {"\n": 0, " ": 1, "a": 2, "b": 3})
    expect_raises("Vocabulary('')", ValueError, Vocabulary, "")


@exercise("1.2", "Vocabulary.encode and decode")
def _encode_decode():
    from .data import Vocabulary

    v = Vocabulary.from_chars(["\n", " ", "a", "b", "c"])
    ids = v.encode("cab a\n")
    expect_true("encode('cab a\\n')", isinstance(ids, np.ndarray), "encode must return a NumPy array")
    expect_equal("encode('cab a\\n')", ids, np.array([4, 2, 3, 1, 2, 0]))
    expect_equal("encode('cab a\\n').dtype", ids.dtype, np.dtype(np.int64))
    expect_equal("encode('').shape", v.encode("").shape, (0,))
    expect_equal(
        "decode([4, 2, 3, 1, 2, 0])", call("decode", v.decode, np.array([4, 2, 3, 1, 2, 0])), "cab a\n"
    )
    expect_equal("decode([3, 2, 3]) of a list", v.decode([3, 2, 3]), "bab")
    text = "abc cab\nbca ba\n"
    expect_equal("decode(encode(text))", v.decode(v.encode(text)), text)
    expect_raises("encode('abz')", ValueError, v.encode, "abz")
    expect_raises("decode([5])", ValueError, v.decode, [5])


@exercise("1.3", "one_hot")
def _one_hot():
    from .data import one_hot

    X = call("one_hot", one_hot, np.array([2, 0, 3]), 4)
    expect_close(
        "one_hot([2, 0, 3], 4)", X, np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    )
    _expect_dtype("one_hot([2, 0, 3], 4)", X, np.float64)
    _expect_dtype(
        "one_hot([1], 3, dtype=np.float32)", one_hot(np.array([1]), 3, dtype=np.float32), np.float32
    )
    batch = np.array([[1, 0, 4], [4, 4, 2]])
    expect_shape("one_hot(ids of shape (2, 3), 5)", one_hot(batch, 5), (2, 3, 5))
    expect_close(
        "one_hot(ids of shape (2, 3), 5)[1, 2]", one_hot(batch, 5)[1, 2], np.array([0, 0, 1, 0, 0.0])
    )
    W = np.arange(15.0).reshape(5, 3)
    expect_close("one_hot(ids, 5) @ W", one_hot(batch, 5) @ W, W[batch])
    expect_raises("one_hot([0, 4], 4)", ValueError, one_hot, np.array([0, 4]), 4)


@exercise("1.4", "make_streams and windows")
def _streams_and_windows():
    from .data import make_streams, windows

    S = call("make_streams", make_streams, np.arange(23), 3)  # 23 ids, B = 3: L = 7, the last 2 dropped
    expect_equal("make_streams(np.arange(23), 3)", S, np.arange(21).reshape(3, 7))
    expect_raises("make_streams(np.arange(5), 3)", ValueError, make_streams, np.arange(5), 3)
    pairs = list(call("windows", windows, S, 2))
    expect_equal("the number of windows(S, 2) of streams of length 7", len(pairs), 3)
    inputs, targets = pairs[0]
    expect_equal("window 0 inputs", inputs, np.array([[0, 1], [7, 8], [14, 15]]))
    expect_equal("window 0 targets", targets, np.array([[1, 2], [8, 9], [15, 16]]))
    for w, (inputs, targets) in enumerate(pairs):
        expect_shape(f"window {w} inputs", inputs, (3, 2))
        expect_equal(f"window {w} targets, the characters after the inputs", targets, inputs + 1)
    for w in range(len(pairs) - 1):
        expect_equal(
            f"window {w + 1} inputs[:, 0], where window {w} stopped",
            pairs[w + 1][0][:, 0],
            pairs[w][1][:, -1],
        )
    # (L - 1) // T windows: every input needs the character after it as its target.
    for L, T in ((7, 3), (7, 4), (7, 6), (8, 4), (9, 1), (12, 4)):
        count = len(list(windows(np.arange(2 * L).reshape(2, L), T)))
        expect_equal(f"the number of windows of T = {T} in streams of length L = {L}", count, (L - 1) // T)
    # A generator function raises only when it is iterated, so the too-long T is looked for there too.
    expect_raises("windows(S, 7) (no room for the targets)", ValueError, lambda: list(windows(S, 7)))


# Lesson 02: softmax and the loss.


@exercise("2.1", "softmax")
def _softmax():
    from .losses import softmax

    expected = reference("losses").softmax
    expect_close(
        "softmax([0, ln 2, ln 5])", softmax(np.array([0.0, math.log(2), math.log(5)])), [1 / 8, 2 / 8, 5 / 8]
    )
    Z = _rng("2.1").normal(size=(2, 3, 5))
    P = call("softmax", softmax, Z)
    expect_shape("softmax(Z) for Z of shape (2, 3, 5)", P, (2, 3, 5))
    expect_close("softmax(Z) for Z of shape (2, 3, 5)", P, expected(Z))
    expect_close("softmax(Z).sum(axis=-1) (each row summed)", P.sum(axis=-1), np.ones((2, 3)))
    shifts = np.array([[[-50.0], [3.0], [700.0]], [[0.5], [-700.0], [20.0]]])  # one constant per row
    expect_close("softmax(Z + c), a constant c added to each row", softmax(Z + shifts), expected(Z))
    z = np.array([1000.0, 1001.0, 1002.0])
    expect_close(
        "softmax([1000, 1001, 1002])", softmax(z), np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    )
    _expect_dtype("softmax of float32 logits", softmax(Z.astype(np.float32)), np.float32)


@exercise("2.2", "cross_entropy")
def _cross_entropy():
    from .losses import cross_entropy

    Z = np.array(
        [[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]]
    )  # probabilities (1/4, 3/4), (1/2, 1/2)
    loss = call("cross_entropy", cross_entropy, Z, np.array([1, 0]))
    expect_true(
        "cross_entropy(Z, y)", isinstance(loss, float), f"must return a float, got {type(loss).__name__}"
    )
    expect_close("cross_entropy(Z, [1, 0])", loss, -(math.log(3 / 4) + math.log(1 / 2)) / 2)
    rng = _rng("2.2")
    Z, y = 3 * rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    expect_close(
        "cross_entropy(Z, y) for Z (6, 5)",
        call("cross_entropy", cross_entropy, Z, y),
        -np.log(P[np.arange(6), y]).mean(),
    )
    expect_close(
        "cross_entropy(zeros (4, 65), y)",
        cross_entropy(np.zeros((4, 65)), np.array([0, 9, 64, 3])),
        math.log(65),
    )
    expect_close(
        "cross_entropy([[0, 1000]], [0])", cross_entropy(np.array([[0.0, 1000.0]]), np.array([0])), 1000.0
    )


@exercise("2.3", "cross_entropy_backward")
def _cross_entropy_backward():
    from .losses import cross_entropy_backward

    Z = np.array(
        [[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]]
    )  # probabilities (1/4, 3/4), (1/2, 1/2)
    expect_close(
        "cross_entropy_backward(Z, [1, 0])",
        call("cross_entropy_backward", cross_entropy_backward, Z, np.array([1, 0])),
        np.array([[1 / 4, 3 / 4 - 1], [1 / 2 - 1, 1 / 2]]) / 2,
    )
    rng = _rng("2.3")
    Z, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    dZ = call("cross_entropy_backward", cross_entropy_backward, Z, y)
    expect_close("cross_entropy_backward(Z, y).sum(axis=1)", dZ.sum(axis=1), np.zeros(6), atol=1e-12)
    expect_gradient("Z", lambda Z: reference("losses").cross_entropy(Z, y), Z, dZ)


@exercise("2.4", "numerical_gradient")
def _numerical_gradient():
    from .gradcheck import numerical_gradient

    x = _rng("2.4").normal(size=(2, 3, 4))
    x_before = x.copy()
    grad = numerical_gradient(lambda x: np.sum(x**3), x)
    expect_close("numerical_gradient of sum(x**3)", grad, 3 * x_before**2, rtol=1e-6, atol=1e-8)
    expect_close("x after numerical_gradient (every element restored)", x, x_before, rtol=1e-12, atol=0)
    # The central difference of x**3 is exactly 3 x**2 + h**2: with h = 0.1 the step shows.
    grad = numerical_gradient(lambda x: np.sum(x**3), x, h=0.1)
    expect_close("numerical_gradient of sum(x**3) with h=0.1 (3 x**2 + h**2)", grad, 3 * x_before**2 + 0.01)
    # f reads the array it closes over, as the docstring allows: x must be changed in place.
    W, v = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, -2.0]])
    expect_close(
        "numerical_gradient of v W v^T, f reading W itself",
        numerical_gradient(lambda _: (v @ W @ v.T).item(), W),
        v.T @ v,
        rtol=1e-6,
    )


# Lesson 03: the RNN forward pass.


def _rnn_inputs(rng, B=3, T=5, m=4, H=6):
    X, h0 = rng.normal(size=(B, T, m)), rng.normal(size=(B, H))
    return X, h0, rng.normal(size=(m, H)), rng.normal(scale=0.5, size=(H, H)), rng.normal(size=H)


def _expect_onehot_input(function, quantity, run, reference_run, ids, m):
    """``run(X)`` with X = OneHot(ids, m), the one-hot rows lm_forward gives a layer (rnnlib/onehot.py),
    against ``reference_run`` on the full array: a layer that works on arrays but not on those would pass
    its check and then fail in the lessons' training, far from the exercise at fault."""
    X = OneHot(ids, m)
    label = f"{function}: given X = OneHot(ids, V), the one-hot rows lm_forward gives it"
    try:
        got = run(X)
    except Exception as error:
        raise CheckFailed(f"{label}: your code raised {_describe(error)}") from None
    expect_close(f"{label}: {quantity}", got, reference_run(np.asarray(X)))


@exercise("3.1", "rnn_step_forward")
def _rnn_step_forward():
    from .rnn import rnn_step_forward

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
    X, h_prev, Wxh, Whh, bh = _rnn_inputs(_rng("3.1"))
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
    h32, _ = rnn_step_forward(*_float32(x, h_prev, Wxh, Whh, bh))
    _expect_dtype("rnn_step_forward: h for float32 inputs", h32, np.float32)
    _expect_onehot_input(
        "rnn_step_forward",
        "h",
        lambda x: rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0],
        lambda x: reference("rnn").rnn_step_forward(x, h_prev, Wxh, Whh, bh)[0],
        _rng("3.1.1").integers(4, size=3),
        4,
    )


@exercise("3.2", "rnn_forward")
def _rnn_forward():
    from .rnn import rnn_forward

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
    inputs = _rnn_inputs(_rng("3.2"))
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
    Hs32, _ = rnn_forward(*_float32(*inputs))
    _expect_dtype("rnn_forward: Hs for float32 inputs", Hs32, np.float32)
    _expect_onehot_input(
        "rnn_forward",
        "Hs",
        lambda X: rnn_forward(X, h0, *weights)[0],
        lambda X: reference("rnn").rnn_forward(X, h0, *weights)[0],
        _rng("3.2.1").integers(4, size=(3, 5)),
        4,
    )


@exercise("3.3", "output_forward")
def _output_forward():
    from .rnn import output_forward

    Hs = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # h_1 = (1, 0), h_2 = (0, 1) pick the rows of W_hy
    Why, by = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([0.5, 0.0, -0.5])
    Z, _ = call("output_forward", output_forward, Hs, Why, by)
    expect_close("output_forward on the worked example: Z", Z, np.array([[[1.5, 2.0, 2.5], [4.5, 5.0, 5.5]]]))
    rng = _rng("3.3")
    Hs, Why, by = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    Z, _ = call("output_forward", output_forward, Hs, Why, by)
    expect_shape("output_forward: Z for B=2, T=3, V=5", Z, (2, 3, 5))
    for t in range(3):
        expect_close(f"output_forward: Z[:, {t}], the logits of step {t + 1}", Z[:, t], Hs[:, t] @ Why + by)
    _expect_dtype(
        "output_forward: Z for float32 inputs", output_forward(*_float32(Hs, Why, by))[0], np.float32
    )


# Lesson 04: backpropagation through time. The caches come from the reference's forward pass.


def _expect_gradients(function, names, got, expected, numerical=None):
    """Compare each gradient with the reference's, in the order given; then, if ``numerical`` is given
    ({name: (f, x)}), with central differences too, so that the check does not trust the reference alone."""
    expect_equal(f"{function}: the number of gradients returned", len(got), len(expected))
    for name, g, e in zip(names, got, expected, strict=True):
        expect_close(f"{function}: {name}", g, e, rtol=1e-6, atol=1e-9)
    for name, (f, x) in (numerical or {}).items():
        expect_gradient(name, f, x, got[names.index(f"d{name}")])


# A backward pass through time is first checked on a window of one step, where the gradient arriving from
# step t+1 is still zero: a bug in the lines of one step fails there, and one in what carries the gradient
# back (dh_next) shows in dh0. Only then the longer window, whose failure names the carrying.
CARRYING = "a window of T = 1 is right, so look at what carries the gradient from step t+1 back to step t"


def _one_step_window(X, dHs):
    return X[:, :1].copy(), dHs[:, :1].copy()


def _blaming_the_carrying(expectations):
    """Run ``expectations()``; a failure, after the one-step window passed, says where to look."""
    try:
        expectations()
    except CheckFailed as error:
        raise CheckFailed(f"{error} ({CARRYING})") from None


@exercise("4.1", "rnn_step_backward")
def _rnn_step_backward():
    from .rnn import rnn_step_backward

    ref = reference("rnn")
    rng = _rng("4.1")
    X, h_prev, Wxh, Whh, bh = _rnn_inputs(rng)
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
    got32 = rnn_step_backward(*_float32(dh), tuple(_float32(*cache)))
    _expect_float32_gradients("rnn_step_backward", ("dx", "dh_prev", "dWxh", "dWhh", "dbh"), got32)


@exercise("4.2", "rnn_backward")
def _rnn_backward():
    from .rnn import rnn_backward

    ref = reference("rnn")
    rng = _rng("4.2")
    X, h0, Wxh, Whh, bh = inputs = _rnn_inputs(rng, B=2, T=4, m=3, H=5)
    dHs = rng.normal(size=(2, 4, 5))
    order = (2, 3, 4, 1, 0)
    names = ("dWxh", "dWhh", "dbh", "dh0", "dX")
    X1, dHs1 = _one_step_window(X, dHs)
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
    _blaming_the_carrying(
        lambda: _expect_gradients(
            "rnn_backward", names, [got[i] for i in order], [expected[i] for i in order], numerical
        )
    )
    got32 = rnn_backward(*_float32(dHs), tuple(_float32(*cache)))
    _expect_float32_gradients("rnn_backward", ("dX", "dh0", "dWxh", "dWhh", "dbh"), got32)
    _expect_onehot_input(  # the cache of the reference's forward pass on X, as lm_backward hands it over
        "rnn_backward",
        "dWxh",
        lambda X: rnn_backward(dHs, ref.rnn_forward(X, h0, Wxh, Whh, bh)[1])[2],
        lambda X: ref.rnn_backward(dHs, ref.rnn_forward(X, h0, Wxh, Whh, bh)[1])[2],
        _rng("4.2.1").integers(3, size=(2, 4)),
        3,
    )


@exercise("4.3", "output_backward")
def _output_backward():
    from .rnn import output_backward

    ref = reference("rnn")
    rng = _rng("4.3")
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
    _expect_dtype(
        "output_backward: dWhy for float32 inputs",
        output_backward(*_float32(dZ), tuple(_float32(*cache)))[1],
        np.float32,
    )


# Lesson 05: training.


@exercise("5.1", "sgd_step")
def _sgd_step():
    from .optim import sgd_step

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
    _expect_dtype("params['W'] after sgd_step on float32", p32["W"], np.float32)


@exercise("5.2", "clip_grad_norm")
def _clip_grad_norm():
    from .optim import clip_grad_norm

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
    from .train import train_step

    rnn = reference("rnn")  # the model: this checks the training step, not lessons 03-04
    rng = _rng("5.3")
    p = rnn.init_params(4, 16, rng)
    before = {k: v.copy() for k, v in p.items()}
    x, y, h = rng.integers(4, size=(2, 8)), rng.integers(4, size=(2, 8)), rng.normal(size=(2, 16))
    step_loss, h_last, grad_norm = call("train_step", train_step, rnn, p, x, y, h, 0.5, 0.2, changes="params")

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


# Lessons 07-08: the GRU. Gate order [r | z | n] along the 3H columns.

GATES = ("r", "z", "n")


def _gru_inputs(rng, B=2, T=4, m=3, H=2, scale=1.0):
    X, h0 = rng.normal(size=(B, T, m)), rng.normal(size=(B, H))
    Wx, Wh = rng.normal(scale=scale, size=(m, 3 * H)), rng.normal(scale=scale, size=(H, 3 * H))
    return X, h0, Wx, Wh, rng.normal(size=3 * H), rng.normal(size=3 * H)


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
    from .gru import gru_step_forward

    ref = reference("gru")
    X, h_prev, Wx, Wh, bx, bh = _gru_inputs(_rng("7.1"))
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
    h32, _ = gru_step_forward(*_float32(x, h_prev, Wx, Wh, bx, bh))
    _expect_dtype("gru_step_forward: h for float32 inputs", h32, np.float32)
    _expect_onehot_input(
        "gru_step_forward",
        "h",
        lambda x: gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0],
        lambda x: ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0],
        _rng("7.1.1").integers(3, size=2),
        3,
    )


@exercise("7.2", "gru_forward")
def _gru_forward():
    from .gru import gru_forward

    ref = reference("gru")
    inputs = X, h0, Wx, Wh, bx, bh = _gru_inputs(_rng("7.2"))
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
    Hs32, _ = gru_forward(*_float32(*inputs))
    _expect_dtype("gru_forward: Hs for float32 inputs", Hs32, np.float32)
    _expect_onehot_input(
        "gru_forward",
        "Hs",
        lambda X: gru_forward(X, h0, Wx, Wh, bx, bh)[0],
        lambda X: ref.gru_forward(X, h0, Wx, Wh, bx, bh)[0],
        _rng("7.2.1").integers(3, size=(2, 4)),
        3,
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
    from .gru import gru_step_backward

    ref = reference("gru")
    rng = _rng("8.1")
    X, h_prev, Wx, Wh, bx, bh = _gru_inputs(rng, B=3, m=4, H=5, scale=0.5)
    x, dh = X[:, 0], rng.normal(size=h_prev.shape)
    _, cache = ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    got = call("gru_step_backward", gru_step_backward, dh, cache)
    _gru_gradients("gru_step_backward", got, ref.gru_step_backward(dh, cache), 5, ("dx", "dh_prev"))

    def step_loss(_):
        return np.sum(dh * ref.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)[0])

    for name, value, i in (("Wh", Wh, 3), ("h_prev", h_prev, 1)):  # and by central differences
        expect_gradient(name, step_loss, value, got[i])
    got32 = gru_step_backward(*_float32(dh), tuple(_float32(*cache)))
    _expect_float32_gradients("gru_step_backward", ("dx", "dh_prev", "dWx", "dWh", "dbx", "dbh"), got32)


@exercise("8.2", "gru_backward")
def _gru_backward():
    from .gru import gru_backward

    ref = reference("gru")
    rng = _rng("8.2")
    inputs = X, h0, Wx, Wh, bx, bh = _gru_inputs(rng, B=2, T=4, m=3, H=5, scale=0.5)
    dHs = rng.normal(size=(2, 4, 5))
    X1, dHs1 = _one_step_window(X, dHs)
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

    _blaming_the_carrying(whole_window)
    got32 = gru_backward(*_float32(dHs), tuple(_float32(*cache)))
    _expect_float32_gradients("gru_backward", ("dX", "dh0", "dWx", "dWh", "dbx", "dbh"), got32)
    _expect_onehot_input(  # the cache of the reference's forward pass on X, as lm_backward hands it over
        "gru_backward",
        "dWx",
        lambda X: gru_backward(dHs, ref.gru_forward(X, h0, Wx, Wh, bx, bh)[1])[2],
        lambda X: ref.gru_backward(dHs, ref.gru_forward(X, h0, Wx, Wh, bx, bh)[1])[2],
        _rng("8.2.1").integers(3, size=(2, 4)),
        3,
    )


# Lesson 09: optimizers. Each step runs on params and a state of its own; the expected values come from
# the same steps of the reference on copies.


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
    """``step(params, grads, state, *settings)`` through ``call``: only params and state may change."""

    def one_step(grads):
        return step(params, grads, state, *settings)

    return call(function, one_step, grads)


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
    from .optim import momentum_init, momentum_step

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
        params, grad_sequence = _optimizer_problem(_rng("9.1"), dtype)
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
            _expect_dtype(f"params[{k!r}] after momentum steps on {np.dtype(dtype)}", params[k], dtype)
            _expect_dtype(f"velocity[{k!r}] on {np.dtype(dtype)}", state["velocity"][k], dtype)


@exercise("9.2", "adam_step")
def _adam_step():
    from .optim import adam_init, adam_step

    ref = reference("optim")
    # The first step by hand: t = 1, m = (1 - b1) g and v = (1 - b2) g^2, so the bias-corrected
    # m_hat = g and v_hat = g^2, and every parameter moves by lr * g / (|g| + eps): lr * sign(g), up to eps.
    g = np.array([[1e-3, -5.0], [100.0, -0.25]])
    params = {"W": np.array([[1.0, 2.0], [3.0, 4.0]])}
    state = adam_init(params)
    W, m, v = params["W"], state["m"]["W"], state["v"]["W"]
    returned = _run_step("adam_step", adam_step, params, {"W": g}, state, 0.01)
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
        params, grad_sequence = _optimizer_problem(_rng("9.2"), dtype)
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
                _expect_dtype(f"{name} after Adam steps on {np.dtype(dtype)}", array, dtype)
            _expect_dtype(f"v[{k!r}] after Adam steps on {np.dtype(dtype)}", state["v"][k], dtype)


# Lesson 12: automatic differentiation. Each rule is called directly (a Tensor's ``rule``), so that a check
# depends only on its own exercise; expected values are lesson 04's formulas computed here, and central
# differences.


def _expect_rule(function, node, d, expected, numerical):
    """Call ``node.rule(d)`` and compare its gradients with ``expected`` {name: array}, and, for the names
    in ``numerical`` {name: (f, x)}, with central differences of f at x."""
    grads = call(f"the rule of {function}", node.rule, d)
    expect_true(
        f"{function}: its rule",
        isinstance(grads, tuple),
        f"must return a tuple of gradients, one per parent, got {type(grads).__name__}",
    )
    expect_equal(f"{function}: the number of gradients its rule returns", len(grads), len(expected))
    for (name, value), grad in zip(expected.items(), grads, strict=True):
        expect_close(f"{function}: {name}", grad, value)
        if name in numerical:
            expect_gradient(name.split(" ")[0][1:], *numerical[name], grad)
    return grads


@exercise("12.1", "Tensor.matmul")
def _matmul():
    from .autodiff import Tensor

    rng = _rng("12.1")
    for n, k, m in ((3, 3, 3), (4, 3, 2)):  # square first: a missing transpose gives wrong values there
        A, B, dC = rng.normal(size=(n, k)), rng.normal(size=(k, m)), rng.normal(size=(n, m))
        C = call("Tensor.matmul", Tensor(A).matmul, Tensor(B))
        expect_close(f"Tensor.matmul: (A @ B).data for A {A.shape}, B {B.shape}", C.data, A @ B)

        def loss(_, A=A, B=B, dC=dC):  # L = sum(dC * (A B)), whose gradient with respect to C is dC
            return float(np.sum(dC * (A @ B)))

        dA, dB = f"dA = dC B^T for A {A.shape}, B {B.shape}", f"dB = A^T dC for A {A.shape}, B {B.shape}"
        _expect_rule("Tensor.matmul", C, dC, {dA: dC @ B.T, dB: A.T @ dC}, {dA: (loss, A), dB: (loss, B)})
    # By hand: A = [1 2], B = [[1 0 2], [0 1 3]], dC = [1 1 1]: dA = [1+0+2, 0+1+3], dB = [[1 1 1], [2 2 2]].
    C = Tensor(np.array([[1.0, 2.0]])).matmul(Tensor(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])))
    dA, dB = C.rule(np.ones((1, 3)))
    expect_close("Tensor.matmul on the worked example: dA", dA, np.array([[3.0, 4.0]]))
    expect_close("Tensor.matmul on the worked example: dB", dB, np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))
    A32, B32 = _float32(A, B)
    dA32, _ = Tensor(A32).matmul(Tensor(B32)).rule(np.ones((4, 2), dtype=np.float32))
    _expect_dtype("Tensor.matmul: dA for float32 operands", dA32, np.float32)


@exercise("12.2", "unbroadcast")
def _unbroadcast():
    from .autodiff import unbroadcast

    rng = _rng("12.2")
    G, G3 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4, 3))
    cases = (  # (what was broadcast, grad, the operand's shape, the expected gradient, computed here)
        ("b (3,) added to Z (4, 3)", G, (3,), G.sum(axis=0)),
        ("b (1, 3) added to Z (4, 3)", G, (1, 3), G.sum(axis=0, keepdims=True)),
        ("c (4, 1) added to Z (4, 3)", G, (4, 1), G.sum(axis=1, keepdims=True)),
        ("an operand of shape (4, 3), not broadcast", G, (4, 3), G),
        ("a scalar, shape (), added to Z (4, 3)", G, (), G.sum()),
        ("b (3,) added to Z (2, 4, 3)", G3, (3,), G3.sum(axis=(0, 1))),
        ("c (4, 1) added to Z (2, 4, 3)", G3, (4, 1), G3.sum(axis=(0, 2))[:, None]),
        ("d (2, 1, 3) added to Z (2, 4, 3)", G3, (2, 1, 3), G3.sum(axis=1, keepdims=True)),
    )
    for what, grad, shape, expected in cases:
        got = call("unbroadcast", unbroadcast, grad, shape)
        expect_shape(f"unbroadcast(grad {grad.shape}, {shape}) for {what}", got, shape)
        expect_close(f"unbroadcast(grad {grad.shape}, {shape}) for {what}", got, expected)
    _expect_dtype("unbroadcast of a float32 gradient", unbroadcast(G.astype(np.float32), (3,)), np.float32)


def _expect_elementwise_rule(function, method, x, forward, slope):
    """Check the Tensor method ``method`` (e.g. "tanh") at ``x``: its value forward(x) and its rule,
    dx = dy * slope."""
    from .autodiff import Tensor

    y = call(f"Tensor.{method}", getattr(Tensor(x), method))
    expect_close(f"{function}: the value {method}(x)", y.data, forward(x))
    dy = np.random.default_rng(12).normal(size=x.shape)

    def loss(_):
        return float(np.sum(dy * forward(x)))

    _expect_rule(function, y, dy, {"dx": dy * slope}, {"dx": (loss, x)})
    x32, dy32 = _float32(x, dy)
    _expect_dtype(f"{function}: dx for float32", getattr(Tensor(x32), method)().rule(dy32)[0], np.float32)


@exercise("12.3", "Tensor.tanh")
def _tanh():
    x = np.array([[-3.0, -1.2, -0.3, 0.0], [0.3, 0.8, 1.5, 2.5]])  # away from 0 the input is not the output
    _expect_elementwise_rule("Tensor.tanh", "tanh", x, np.tanh, 1 - np.tanh(x) ** 2)


@exercise("12.4", "Tensor.sigmoid")
def _sigmoid():
    x = np.array([[-4.0, -1.5, -0.4, 0.0], [0.4, 1.0, 2.0, 5.0]])
    s = 1 / (1 + np.exp(-x))
    _expect_elementwise_rule("Tensor.sigmoid", "sigmoid", x, lambda x: 1 / (1 + np.exp(-x)), s * (1 - s))


def _expect_topological(order, root, label):
    """``order`` holds every Tensor reachable from ``root`` once, each after its parents, ``root`` last."""
    reachable, stack = {}, [root]
    while stack:
        node = stack.pop()
        if id(node) not in reachable:
            reachable[id(node)] = node
            stack.extend(node.parents)
    expect_true(f"topological_order({label})", isinstance(order, list), f"must return a list, got {order!r}")
    ids = [id(node) for node in order]
    expect_equal(
        f"topological_order({label}): the number of Tensors (each Tensor once, however many paths reach it)",
        len(order),
        len(reachable),
    )
    expect_true(
        f"topological_order({label})",
        set(ids) == set(reachable),
        "must hold the loss and every Tensor it was computed from, down to the leaves",
    )
    position = {i: k for k, i in enumerate(ids)}
    late = [(node.op, p.op) for node in order for p in node.parents if position[id(p)] > position[id(node)]]
    expect_true(
        f"topological_order({label})",
        not late,
        "every Tensor must come after its parents, the loss last; "
        + (f"a {late[0][0]!r} Tensor comes before its parent made by {late[0][1]!r}" if late else ""),
    )


@exercise("12.5", "topological_order")
def _topological_order():
    from .autodiff import Tensor, concatenate, topological_order

    # A diamond: a = exp(x) feeds b = log(a) and the concatenation, so x reaches the loss by two paths.
    x_data = _rng("12.5").normal(size=(2, 3))
    x = Tensor(x_data)
    a = x.exp()
    loss = concatenate([a, a.log()]).sum()
    order = call("topological_order", topological_order, loss)
    _expect_topological(order, loss, "the loss of sum([exp(x) | log(exp(x))])")
    loss.backward()
    expect_close(
        "x.grad after loss.backward() (exp(x) + 1: each rule run once, in your order)",
        x.grad,
        np.exp(x_data) + 1,
    )
    chain = Tensor(np.array([0.5]))
    for _ in range(1500):  # 3,000 Tensors deep, like an RNN of 600 steps
        chain = chain.exp().log()
    try:
        order = topological_order(chain)
    except RecursionError:
        raise CheckFailed(
            "topological_order on a chain of 3,000 Tensors: RecursionError; a recursive walk goes one Python "
            "call deeper per Tensor, so walk with a list as your own stack"
        ) from None
    _expect_topological(order, chain, "a chain of 3,000 Tensors")


# Lesson 11: sampling. Models are the reference GRU with small random parameters, or a stand-in whose
# lm_step returns fixed logits (to count draws against probabilities computed here); draws are compared
# with the reference's from the same seed.


def _softmax_here(logits, temperature):
    """softmax(logits / T) in float64 with each row's max subtracted, computed here (not by your code)."""
    Z = np.asarray(logits, dtype=np.float64) / temperature
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


class _FixedLogits:
    """A stand-in model whose lm_step always gives the same (V,) logits to every row, counting its calls."""

    def __init__(self, logits):
        self.logits, self.calls = np.asarray(logits, dtype=np.float64), []

    def lm_step(self, params, ids, h):
        ids = np.asarray(ids)
        self.calls.append(ids.shape)
        return np.tile(self.logits, (len(ids), 1)), h


class _CountingModel:
    """The reference GRU, counting the batch size of every lm_step call."""

    def __init__(self):
        self.calls = []

    def lm_step(self, params, ids, h):
        self.calls.append(np.shape(ids))
        return reference("gru").lm_step(params, ids, h)


def _small_gru(rng, V=6, H=8, dtype=np.float64):
    params = reference("gru").init_params(V, H, rng, dtype)
    params["Why"] = (
        params["Why"] * 3
    )  # logits spread over a few units, so that draws are neither sure nor uniform
    return params


@exercise("11.1", "probabilities")
def _probabilities():
    from .sample import probabilities

    logits = np.array([[1.0, 2.0, 3.0]])
    for T in (1.0, 0.5, 2.0):  # by hand: exp(z / T) / sum exp(z / T)
        e = np.exp(logits / T)
        got = call("probabilities", probabilities, logits, T)
        expect_close(f"probabilities([[1, 2, 3]], temperature={T})", got, e / e.sum(), rtol=1e-12)
    rng = _rng("11.1")
    Z = rng.normal(size=(3, 6)) * 2
    for T in (1.0, 0.3, 1.7):
        got = call("probabilities", probabilities, Z, T)
        expect_close(f"probabilities(logits (3, 6), temperature={T})", got, _softmax_here(Z, T), rtol=1e-12)
        expect_close(f"the row sums of probabilities at temperature={T}", np.sum(got, axis=1), np.ones(3))
    expect_close(
        "probabilities(logits) with the default temperature (1)", probabilities(Z), _softmax_here(Z, 1)
    )
    ties = np.array([[1.0, 3.0, 3.0, 0.0], [-2.0, -1.0, -5.0, -1.5]])
    expect_close(
        "probabilities at temperature=0 (all on each row's largest logit, the first of equal ones)",
        call("probabilities", probabilities, ties, 0),
        np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]),
    )
    expect_close(
        "probabilities at temperature=0.0 of logits (3, 6)", probabilities(Z, 0.0), np.eye(6)[Z.argmax(1)]
    )
    # Rows far apart and a small T: exp(logits / T) overflows unless each row's own max is subtracted.
    far = np.array([[1000.0, 999.0, 990.0], [0.0, -1.0, -2.0]], dtype=np.float32)
    expect_close(
        "probabilities of float32 logits [[1000, 999, 990], [0, -1, -2]] at temperature=0.5 (subtract each "
        "row's max before exp)",
        call("probabilities", probabilities, far, 0.5),
        _softmax_here(far, 0.5),
        rtol=1e-12,
    )
    _expect_dtype(
        "probabilities of float32 logits (float64, for rng.choice's tolerance)",
        probabilities(far),
        np.float64,
    )
    filtered = np.array([[-np.inf, 1.0, 2.0]])
    expect_close("probabilities([[-inf, 1, 2]])", probabilities(filtered, 1.0), _softmax_here(filtered, 1.0))
    expect_close(
        "probabilities(logits (3, 6)) like the reference's",
        probabilities(Z, 0.8),
        reference("sample").probabilities(Z, 0.8),
    )
    for bad in (-0.5, float("nan")):
        expect_raises(f"probabilities(logits, temperature={bad})", ValueError, probabilities, Z, bad)


@exercise("11.2", "top_k_logits")
def _top_k_logits():
    from .sample import top_k_logits

    inf = np.inf
    cases = (  # (what, logits, k, expected): by hand
        ("the 2 largest of [1, 5, 3, 4]", [[1.0, 5.0, 3.0, 4.0]], 2, [[-inf, 5.0, -inf, 4.0]]),
        ("the largest of [1, 5, 3, 4]", [[1.0, 5.0, 3.0, 4.0]], 1, [[-inf, 5.0, -inf, -inf]]),
        ("2 of [2, 7, 7, 7, 1]: exactly 2, the lower ids of the ties", [[2.0, 7.0, 7.0, 7.0, 1.0]], 2,
         [[-inf, 7.0, 7.0, -inf, -inf]]),
        ("1 of [3, 3]: the first of equal logits", [[3.0, 3.0]], 1, [[3.0, -inf]]),
        ("2 of each row of [[0, 1, 2], [2, 1, 0]]", [[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], 2,
         [[-inf, 1.0, 2.0], [2.0, 1.0, -inf]]),
    )  # fmt: skip
    for what, logits, k, expected in cases:
        logits = np.array(logits)
        got = call("top_k_logits", top_k_logits, logits, k)
        expect_equal(f"top_k_logits, {what} (the others -inf)", np.asarray(got), np.array(expected))
    # A vocabulary-wide row of ties: NumPy's default sort is stable on a few entries only, so the short
    # rows above cannot tell argsort's default kind, or argpartition, from a stable sort.
    rng = _rng("11.2")
    tied = np.stack([rng.permutation(np.repeat([0.0, 1.0, 2.0], [20, 25, 20])) for _ in range(4)])
    got = np.asarray(call("top_k_logits", top_k_logits, tied, 10))
    for row in range(len(tied)):
        keep = np.flatnonzero(tied[row] == 2.0)[:10]
        expect_equal(
            f"top_k_logits(4 rows of 65 logits, 20 tied at the largest, 10): the ids kept in row {row}, "
            "the 10 lowest of the tied",
            np.flatnonzero(np.isfinite(got[row])),
            keep,
        )
    expected = np.where(np.isfinite(got), tied, -np.inf)
    expect_equal("top_k_logits(4 rows of 65 logits with ties, 10) (the others -inf)", got, expected)
    Z = rng.normal(size=(4, 10)).astype(np.float32)
    got = call("top_k_logits", top_k_logits, Z, 3)
    expect_equal(
        "top_k_logits(logits (4, 10), 3): entries kept in each row",
        np.isfinite(got).sum(axis=1),
        np.full(4, 3),
    )
    expect_equal("top_k_logits(logits (4, 10), 3)", np.asarray(got), reference("sample").top_k_logits(Z, 3))
    _expect_dtype("top_k_logits of float32 logits", got, np.float32)
    for k in (None, 10, 25):
        got = call("top_k_logits", top_k_logits, Z, k)
        expect_equal(f"top_k_logits(logits (4, 10), {k}) (no filtering)", np.asarray(got), Z)
        expect_true(
            f"top_k_logits(logits, {k})", got is not Z, "must return a new array, not the logits themselves"
        )
    P = reference("sample").probabilities(top_k_logits(Z, 2), 1.0)
    expect_close(
        "the probabilities after top_k_logits(logits, 2) (0 outside the 2 kept, the 2 renormalised)",
        P,
        _softmax_here(reference("sample").top_k_logits(Z, 2), 1.0),
    )
    for bad in (0, -1, 2.5, True):
        expect_raises(f"top_k_logits(logits, {bad!r})", ValueError, top_k_logits, Z, bad)


@exercise("11.3", "prime")
def _prime():
    from .sample import prime

    ref, gru = reference("sample"), reference("gru")
    rng = _rng("11.3")
    params = _small_gru(rng)
    ids = rng.integers(0, 6, size=(3, 5))
    model = _CountingModel()
    got = call("prime", prime, model, params, ids)
    whole = ref.prime(gru, params, ids)
    expect_equal("prime: the number of things returned", len(got), 2)
    logits, h = got
    expect_true("prime: the state h", h is not None, "is None: return the state the last lm_step gave back")
    expect_close("prime: the state h after reading 3 prompts of 5 characters", h, whole[1])
    expect_close("prime: the logits after the last character of each prompt", logits, whole[0])
    expect_equal(
        "prime: the lm_step calls for 3 prompts of 5 characters (the batch size of each)",
        model.calls,
        [(3,)] * 5,
    )
    h0 = rng.normal(size=(3, 8)) * 0.5
    logits, h = call("prime", prime, gru, params, ids, h0)
    expected = ref.prime(gru, params, ids, h0)
    expect_close("prime from a given state h: the state after the prompt", h, expected[1])
    expect_close("prime from a given state h: the logits", logits, expected[0])
    _, first_h = prime(gru, params, ids[:, :2])
    rest_logits, rest_h = prime(gru, params, ids[:, 2:], first_h)
    expect_close("prime of 2 characters, then of the other 3 from that state: the state", rest_h, whole[1])
    expect_close(
        "prime of 2 characters, then of the other 3 from that state: the logits", rest_logits, whole[0]
    )
    one = prime(gru, params, ids[:, :1])
    expect_close("prime of a 1-character prompt: the logits", one[0], ref.prime(gru, params, ids[:, :1])[0])
    logits32, _ = prime(gru, {k: v.astype(np.float32) for k, v in params.items()}, ids)
    _expect_dtype("prime: the logits for float32 parameters", logits32, np.float32)
    expect_raises("prime(model, params, ids of shape (5,))", ValueError, prime, gru, params, ids[0])


def _expect_frequencies(what, ids, P, draws):
    """The share of each id in ``ids`` against the probabilities P (V,), within 4 standard errors."""
    frequencies = np.bincount(np.ravel(ids), minlength=len(P)) / np.size(ids)
    tolerance = 4 * np.sqrt(P * (1 - P) / draws) + 1e-12
    worst = int(np.argmax(np.abs(frequencies - P) - tolerance))
    expect_true(
        what,
        np.all(np.abs(frequencies - P) <= tolerance),
        f"over {draws:,} draws character {worst} came {frequencies[worst]:.3f} of the time; its probability "
        f"is {P[worst]:.3f} (± {tolerance[worst]:.3f} allowed)",
    )


@exercise("11.4", "generate")
def _generate():
    from .sample import generate

    ref, gru = reference("sample"), reference("gru")
    rng = _rng("11.4")
    params = _small_gru(rng)
    logits, h = ref.prime(gru, params, np.zeros((4, 3), dtype=np.int64))  # 4 texts from one prompt
    model = _CountingModel()
    draws = np.random.default_rng(11)
    got = call("generate", generate, model, params, logits, h, 30, draws, 1.0)
    expect_shape("generate(..., length=30) for 4 texts", got, (4, 30))
    _expect_dtype("generate: the ids", got, np.int64)
    expect_true(
        "generate: 4 texts from the same prompt at temperature 1",
        len({tuple(row) for row in np.asarray(got)}) > 1,
        "all 4 rows came out the same: each row must draw its own characters (one rng.choice per row)",
    )
    expect_true(
        "generate: the lm_step calls for 4 texts of 30 characters",
        len(model.calls) in (29, 30) and set(model.calls) == {(4,)},
        f"expected one call per character for all 4 rows at once (29 or 30 calls of 4 ids), got "
        f"{len(model.calls)} calls of {sorted(set(model.calls))} ids",
    )
    # The distribution of the draws: a stand-in model with fixed logits, 200 rows of 50 draws each, against
    # the softmax at T computed here.
    fixed = np.array([2.0, 1.0, 0.5, 0.0, -1.0])
    for T, k in ((0.5, None), (2.0, None), (1.0, 2)):
        stand_in = _FixedLogits(fixed)
        ids = generate(stand_in, {}, np.tile(fixed, (200, 1)), None, 50, np.random.default_rng(4), T, k)
        kept = fixed if k is None else np.where(fixed >= np.sort(fixed)[-k], fixed, -np.inf)
        P = _softmax_here(kept[None], T)[0]
        _expect_frequencies(
            f"generate at temperature {T}, top_k {k}, from logits {fixed.tolist()}", ids, P, 10_000
        )
    expected = ref.generate(gru, params, logits, h, 30, np.random.default_rng(11), 1.0)
    expect_equal(
        "generate at temperature 1 from seed 11, against the reference's draws", np.asarray(got), expected
    )
    for T, k in ((0.6, None), (1.5, 2), (1.0, 6)):
        got = generate(gru, params, logits, h, 25, np.random.default_rng(7), T, k)
        expected = ref.generate(gru, params, logits, h, 25, np.random.default_rng(7), T, k)
        expect_equal(f"generate at temperature {T}, top_k {k}, seed 7", np.asarray(got), expected)
    draws = np.random.default_rng(3)
    before = draws.bit_generator.state
    got = generate(gru, params, logits, h, 20, draws, 0)
    expect_equal(
        "generate at temperature 0 (the argmax at every step)",
        np.asarray(got),
        ref.generate(gru, params, logits, h, 20, np.random.default_rng(0), 0),
    )
    expect_true(
        "generate at temperature 0",
        draws.bit_generator.state == before,
        "must not draw from rng (the argmax needs no randomness)",
    )
    expect_raises("generate(..., rng=0)", TypeError, generate, gru, params, logits, h, 5, 0)
    expect_raises(
        "generate(..., length=-1)", ValueError, generate, gru, params, logits, h, -1, np.random.default_rng(0)
    )
