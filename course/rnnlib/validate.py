"""Input checks shared by the course's modules: a wrong shape, dtype, id, count or random generator fails
here, with the argument's name and what was expected, rather than deep inside a matrix product. Each kind
of check is written once, here. Course scaffolding, not an exercise.
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


def is_int(value):
    """True for an int or a NumPy integer, False for a bool: Python counts True as 1, but no size,
    count or index here is ever True."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value):
    """True for an int or a float, Python's or NumPy's, False for a bool (see is_int)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def count(where, name, value, minimum=1, maximum=None, meaning=None):
    """``value`` as an int from ``minimum`` to ``maximum`` (None: no limit), or one ValueError such as
    "make_streams: B must be an int >= 1 (the number of streams), got 0". ``where`` names the function
    refusing it, ``meaning`` (optional) says what the number is."""
    if is_int(value) and minimum <= value and (maximum is None or value <= maximum):
        return int(value)
    wanted = f"an int >= {minimum}" if maximum is None else f"an int from {minimum} to {maximum}"
    said = f" ({meaning})" if meaning else ""
    raise ValueError(f"{where}: {name} must be {wanted}{said}, got {value!r}")


def generator(where, name, rng):
    """Refuse anything but a np.random.Generator, the only source of random draws the course takes."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{where}: {name} must be a np.random.Generator, e.g. np.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )


def positive_int(name, value):
    """``value`` as an int >= 1. What rnn.py and gru.py called before count() existed: a student's copy
    of them generated then still calls it, and keeps working with this package."""
    return count("init_params", name, value)
