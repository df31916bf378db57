"""Gradient checking: compare a backward pass with central differences of the forward pass.

Lesson: notebooks/02_softmax_and_loss.ipynb. Every backward pass of the course is checked this way
(rnnlib.checks.expect_gradient uses the reference copy of this module). The measure a gradient check
compares with, relative_error, is the course's own (course/rnnlib/relative_error.py): the checks use it too.
"""

import numpy as np

from .relative_error import relative_error  # noqa: F401 - lesson 02's measure, rnnlib.gradcheck.relative_error


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


# The measure numerical_gradient's results are compared by, relative_error, is imported above.
