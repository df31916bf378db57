"""The checks of lesson 01, notebooks/01_text_as_data.ipynb: Exercises 1.1-1.4 (rnnlib/data.py).

The vocabulary, encoding and decoding, one-hot rows, streams and windows.
"""

import numpy as np

from ..checks import call, expect_close, expect_equal, expect_raises, expect_shape, expect_true
from . import exercise
from .shared import expect_dtype


@exercise("1.1", "Vocabulary")
def _vocabulary():
    from ..data import Vocabulary

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
    from ..data import Vocabulary

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
    from ..data import one_hot

    X = call("one_hot", one_hot, np.array([2, 0, 3]), 4)
    expect_close(
        "one_hot([2, 0, 3], 4)", X, np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    )
    expect_dtype("one_hot([2, 0, 3], 4)", X, np.float64)
    expect_dtype("one_hot([1], 3, dtype=np.float32)", one_hot(np.array([1]), 3, dtype=np.float32), np.float32)
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
    from ..data import make_streams, windows

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
