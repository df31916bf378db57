"""Gradient checking: compare a backward pass with central differences of the forward pass.

Lesson: notebooks/02_softmax_and_loss.ipynb. Every backward pass of the course is checked this way
(rnnlib.checks.expect_gradient uses the reference copy of this module).
"""

import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """Exercise 2.4: gradient of a scalar function by central differences.

    f: function called as f(x), returning a float. x is changed in place between calls, so f must
       compute from x itself (or from arrays that share its memory), never from a copy made earlier.
    x: float64 array of any shape; each element in turn is set to x[i] + h and x[i] - h, then restored,
       so x holds its original values again on return.
    h: the step. Central differences are off by O(h^2) and rounding adds about eps * |f| / h, so
       h = 1e-6 in float64 gives gradients good to ~1e-9 absolute for f of order one.
    Returns grad, the shape of x: grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h).
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "x must be a float64 numpy array, changed in place while f reads it; got "
            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}. Use x.astype(np.float64) and let f "
            "read that array."
        )
    if not h > 0:
        raise ValueError(f"the step h must be positive, got {h!r}.")
    ### BEGIN SOLUTION
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old  # restore before moving on, so each element is nudged from the original point
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


def relative_error(a, b):
    """How far apart two gradients are, relative to their size: 0 when equal, 1 when unrelated.

    relative_error(a, b) = max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), tiny)

    The worst absolute difference over all elements, divided by the largest magnitude present. Dividing
    each element by its own magnitude instead (|a_i - b_i| / (|a_i| + |b_i|)) blows up wherever the
    true gradient is zero or tiny: central differences only resolve a gradient to ~1e-9 absolute, so
    an entry of 1e-10 would look 100% wrong. Scaling by the largest entry keeps the measure meaningful
    for such entries, and any real bug still shows up: a wrong entry differs by about the size of the
    gradients around it. The floor `tiny` makes two all-zero arrays agree (error 0) instead of 0 / 0.
    For a correct backward pass in float64, expect < 1e-7: about 1e-9, between a few times 1e-10 and a
    few times 1e-9 in the lessons' checks.

    a, b: arrays of the same shape.
    Returns a float.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error compares arrays of the same shape, got {a.shape} and {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), np.finfo(np.float64).tiny))
