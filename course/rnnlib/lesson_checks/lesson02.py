"""The checks of lesson 02, notebooks/02_softmax_and_loss.ipynb: Exercises 2.1-2.4.

Softmax, the loss and its gradient (rnnlib/losses.py), gradient checking (rnnlib/gradcheck.py).
"""

import math

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_gradient, expect_shape, expect_true
from . import exercise
from .shared import expect_dtype, rng_for


@exercise("2.1", "softmax")
def _softmax():
    from ..losses import softmax

    expected = reference("losses").softmax
    expect_close(
        "softmax([0, ln 2, ln 5])", softmax(np.array([0.0, math.log(2), math.log(5)])), [1 / 8, 2 / 8, 5 / 8]
    )
    Z = rng_for("2.1").normal(size=(2, 3, 5))
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
    expect_dtype("softmax of float32 logits", softmax(Z.astype(np.float32)), np.float32)


@exercise("2.2", "cross_entropy")
def _cross_entropy():
    from ..losses import cross_entropy

    Z = np.array(
        [[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]]
    )  # probabilities (1/4, 3/4), (1/2, 1/2)
    loss = call("cross_entropy", cross_entropy, Z, np.array([1, 0]))
    expect_true(
        "cross_entropy(Z, y)", isinstance(loss, float), f"must return a float, got {type(loss).__name__}"
    )
    expect_close("cross_entropy(Z, [1, 0])", loss, -(math.log(3 / 4) + math.log(1 / 2)) / 2)
    rng = rng_for("2.2")
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
    from ..losses import cross_entropy_backward

    Z = np.array(
        [[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]]
    )  # probabilities (1/4, 3/4), (1/2, 1/2)
    expect_close(
        "cross_entropy_backward(Z, [1, 0])",
        call("cross_entropy_backward", cross_entropy_backward, Z, np.array([1, 0])),
        np.array([[1 / 4, 3 / 4 - 1], [1 / 2 - 1, 1 / 2]]) / 2,
    )
    rng = rng_for("2.3")
    Z, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    dZ = call("cross_entropy_backward", cross_entropy_backward, Z, y)
    expect_close("cross_entropy_backward(Z, y).sum(axis=1)", dZ.sum(axis=1), np.zeros(6), atol=1e-12)
    expect_gradient("Z", lambda Z: reference("losses").cross_entropy(Z, y), Z, dZ)


@exercise("2.4", "numerical_gradient")
def _numerical_gradient():
    from ..gradcheck import numerical_gradient

    x = rng_for("2.4").normal(size=(2, 3, 4))
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
