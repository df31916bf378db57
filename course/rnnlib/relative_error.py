"""The measure of a gradient check: how far apart two gradients are (lesson 02, rnnlib.gradcheck).

The course's own, not an exercise: rnnlib.gradcheck hands it to the lessons, and the checks compare with
it, so a check's verdict never rests on a copy a student may have changed.
"""

import numpy as np


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
