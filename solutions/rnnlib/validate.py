"""Input checks shared by the models: a wrong shape, dtype or id fails here, with the argument's name
and what was expected, rather than deep inside a matrix product. Course scaffolding, not an exercise.
"""

import numpy as np


def shape(name, array, expected, meaning):
    """Refuse ``array`` unless its shape is ``expected`` (None: any size), described as ``meaning``."""
    got = np.shape(array)
    if len(got) != len(expected) or any(e not in (None, s) for s, e in zip(got, expected, strict=True)):
        sizes = ["any" if e is None else str(e) for e in expected]
        wanted = f"({', '.join(sizes)}{',' if len(sizes) == 1 else ''})"
        raise ValueError(f"{name} must have shape {meaning} = {wanted}, got {got}")


def steps(name, sequences):
    """Refuse a batch of sequences with no time steps: (B, 0, ...) would make an empty window."""
    if np.shape(sequences)[1] == 0:
        raise ValueError(f"{name} has T = 0 time steps, shape {np.shape(sequences)}; a window needs T >= 1")


def ids(name, ids, V, ndim):
    """``ids`` as an integer array of ``ndim`` dimensions, every id a character of a vocabulary of V."""
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer character ids, got dtype {ids.dtype}")
    if ids.ndim != ndim or 0 in ids.shape[:1]:
        wanted = "(B, T)" if ndim == 2 else "(B,)"
        raise ValueError(f"{name} must have shape {wanted} with B >= 1, got {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(
            f"{name} holds ids from {ids.min()} to {ids.max()}, but the vocabulary's ids run from 0 "
            f"to {V - 1}"
        )
    return ids


def state(name, h, B, H, dtype):
    """The (B, H) state ``h`` in the dtype of the parameters; zeros when h is None."""
    if h is None:
        return np.zeros((B, H), dtype=dtype)
    shape(name, h, (B, H), "(B, H)")
    return np.asarray(h, dtype=dtype)


def positive_int(name, value):
    """``value`` as an int, refusing anything but a whole number >= 1 (bool included)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
