"""Text as data: the corpora, a character vocabulary, one-hot rows, and the batches of truncated BPTT.

Lesson: notebooks/01_text_as_data.ipynb. A corpus is one long string. ``Vocabulary`` numbers its
characters; ``encode`` turns the text into a vector of integer ids (N,); ``one_hot`` turns ids into
rows (row-vector convention: a character is a 1×V row x_t, a batch of B characters is a B×V matrix
X_t). ``make_streams`` cuts the ids into B parallel streams (B, L) and ``windows`` walks along them
T steps at a time, so that the hidden state at the end of one window is the state to start the next.
"""

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import PROJECT_ROOT, validate


class Source(NamedTuple):
    """Where a corpus comes from and how to recognise the right file."""

    file: str  # the name in the cache directory and in a mirror directory
    url: str  # the canonical address
    sha256: str
    size: int  # bytes


CORPORA = {
    "tinyshakespeare": Source(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        1_115_394,
    ),
    "names": Source(
        "names.txt",
        "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
        "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
        228_145,
    ),
}


def data_dir():
    """The corpus cache: ``data/`` in the project, or the directory named by ``RNNLIB_DATA_DIR``."""
    return Path(os.environ.get("RNNLIB_DATA_DIR") or PROJECT_ROOT / "data")


def load_corpus(name):
    """The text of the corpus ``name`` ("tinyshakespeare" or "names"), a str.

    The file is read from the cache ``data/<file>``. The first time, it is copied there from the mirror
    directory named by the environment variable ``RNNLIB_DATA_MIRROR`` if that directory holds it, else
    downloaded from its canonical address. Its sha256 is verified before it enters the cache, so the
    cache never holds a wrong or half-written file, and again at every read (a millisecond), which
    catches a wrong file put into ``data/`` by hand.
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; the known corpora are: {', '.join(sorted(CORPORA))}")
    source = CORPORA[name]
    path = data_dir() / source.file
    if not path.is_file():
        _fetch(source, path)
    data = path.read_bytes()
    _verify(data, source, f"the cache {path}", "Delete it, and it will be fetched again on the next load.")
    return data.decode("utf-8")


def _fetch(source, path):
    """Put a verified copy of ``source`` at ``path``: from the mirror if it has the file, else the web."""
    mirror = os.environ.get("RNNLIB_DATA_MIRROR")
    mirrored = Path(mirror) / source.file if mirror else None
    if mirrored is not None and mirrored.is_file():
        fix = f"Replace it with the original from {source.url}."
        with open(mirrored, "rb") as stream:
            _store(stream, source, path, f"the mirror {mirrored}", fix)
        return
    try:
        with urllib.request.urlopen(source.url, timeout=60) as stream:
            fix = "A proxy or login page may have answered; put the original in RNNLIB_DATA_MIRROR."
            _store(stream, source, path, source.url, fix)
    except OSError as error:  # urllib.error.URLError, timeouts, refused connections
        no_mirror = f"the mirror {mirror} has no {source.file}" if mirror else "RNNLIB_DATA_MIRROR is not set"
        raise FileNotFoundError(
            f"could not get {source.file}: downloading {source.url} failed ({error}) and {no_mirror}. "
            f"Download that file by hand and save it as {path}, or set the environment variable "
            f"RNNLIB_DATA_MIRROR to a directory that holds {source.file}."
        ) from None


def _store(stream, source, path, origin, remedy):
    """Copy the bytes of ``stream`` (from ``origin``) to ``path`` if their sha256 is ``source.sha256``.

    The bytes go to a temporary file next to ``path`` and are renamed into place only once verified;
    the rename is atomic, so an interrupted copy or a wrong file never lands in the cache.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{source.file}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(stream, out)
        _verify(Path(temporary).read_bytes(), source, origin, remedy)
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; the cache is ordinary data
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _verify(data, source, origin, remedy):
    """Refuse ``data`` unless its sha256 is ``source.sha256``; the error names both digests and the origin."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise ValueError(
            f"{source.file} from {origin} is not the expected file: expected sha256 {source.sha256} "
            f"({source.size:,} bytes), got sha256 {digest} ({len(data):,} bytes). {remedy}"
        )


class Vocabulary:
    """The distinct characters of a text, numbered in sorted order.

    ``chars[i]`` is the character with id ``i`` and ``stoi[c]`` is the id of character ``c``.
    Sorting makes the numbering depend only on which characters occur, so the same corpus always
    gives the same ids.
    """

    def __init__(self, text):
        """Exercise 1.1: number the distinct characters of ``text``.

        Sets ``self.chars``, the sorted list of the distinct characters of ``text`` (each a str of one
        character), and ``self.stoi``, the dict that maps each of them to its index in ``self.chars``.
        Example: ``Vocabulary("hello").chars == ["e", "h", "l", "o"]`` and its ``stoi["l"] == 2``.
        """
        if not isinstance(text, str):
            raise TypeError(f"Vocabulary(text): text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("Vocabulary(text): the text is empty, so there are no characters to number")
        ### BEGIN SOLUTION
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ### END SOLUTION

    @classmethod
    def from_chars(cls, chars):
        """The vocabulary whose character with id ``i`` is ``chars[i]``, in that order (for checkpoints).

        ``chars`` is a list of distinct one-character strings, e.g. a saved ``vocab.chars``.
        """
        chars = list(chars)
        if not chars or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("Vocabulary.from_chars: expected a non-empty list of one-character strings")
        if len(set(chars)) != len(chars):
            raise ValueError("Vocabulary.from_chars: the characters must be distinct")
        vocab = cls.__new__(cls)
        vocab.chars = chars
        vocab.stoi = {c: i for i, c in enumerate(chars)}
        return vocab

    def __len__(self):
        return len(self.chars)

    def __repr__(self):
        shown = "".join(self.chars)
        shown = repr(shown if len(shown) <= 40 else shown[:37] + "...")
        return f"Vocabulary({len(self)} characters: {shown})"

    def encode(self, text):
        """Exercise 1.2: the ids of the characters of ``text``, an int64 array of shape (len(text),).

        Example: with ``chars == ["e", "h", "l", "o"]``, ``encode("hello")`` is ``[1, 0, 2, 2, 3]``.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode(text): text must be a str, got {type(text).__name__}")
        unknown = set(text) - self.stoi.keys()
        if unknown:
            position = min(text.index(c) for c in unknown)
            c = text[position]
            raise ValueError(
                f"encode: the character {c!r} (U+{ord(c):04X}) at position {position} is not in the "
                f"vocabulary of {len(self)} characters; build the Vocabulary from a text that contains it"
            )
        ### BEGIN SOLUTION
        return np.array([self.stoi[c] for c in text], dtype=np.int64)
        ### END SOLUTION

    def decode(self, ids):
        """Exercise 1.2: the text whose ids are ``ids`` (integers, shape (n,)); the inverse of ``encode``.

        Example: with ``chars == ["e", "h", "l", "o"]``, ``decode([1, 0, 2, 2, 3])`` is ``"hello"``.
        """
        ids = _int_array("decode", ids, ndim=1)
        _check_range("decode", ids, len(self))
        ### BEGIN SOLUTION
        return "".join(self.chars[i] for i in ids)
        ### END SOLUTION


def one_hot(ids, V, dtype=np.float64):
    """Exercise 1.3: one-hot rows for integer ids, shape ids.shape + (V,).

    The row of id i is all zeros except a one in column i (it is row i of the V×V identity). A batch
    of ids (B,) gives the B×V matrix X_t; a sequence batch (B, T) gives X of shape (B, T, V).
    Multiplying a one-hot row by a matrix picks a row: ``one_hot(i, V) @ W == W[i]``.
    """
    validate.count("one_hot", "V", V, meaning="the vocabulary size")
    ids = _int_array("one_hot", ids)
    _check_range("one_hot", ids, V)
    ### BEGIN SOLUTION
    return np.eye(V, dtype=dtype)[ids]
    ### END SOLUTION


def train_val_split(ids, val_fraction=0.1):
    """Split the ids of a corpus (N,) into ``(train, val)``: the first part and the last ``val_fraction``.

    The split is one cut, not a random sample. Neighbouring text repeats itself (the same speaker, the
    same phrase, the same scene), so a validation character drawn from between training characters has
    been half seen in training and its loss flatters the model. A contiguous block at the end is text
    the model has never read, which is what "how well does it generalise" asks. Both parts are views.
    """
    ids = _int_array("train_val_split", ids, ndim=1)
    if not 0 < val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be between 0 and 1, got {val_fraction!r}")
    n_val = int(len(ids) * val_fraction)
    if not 0 < n_val < len(ids):
        raise ValueError(
            f"train_val_split: {len(ids)} ids with val_fraction={val_fraction} leave an empty part; "
            "use a longer corpus or another fraction"
        )
    return ids[:-n_val], ids[-n_val:]


def train_val_test_split(ids, val_fraction=0.05, test_fraction=0.05):
    """Split the ids of a corpus (N,) into ``(train, val, test)``, three contiguous blocks in that order.

    As in ``train_val_split``, each part is one cut: the validation block follows the training text and
    the test block closes the corpus. Validation steers the choices made while training (when to stop,
    which learning rate); the test block is read once, at the very end, so its number was never one of
    those choices. All three parts are views.
    """
    ids = _int_array("train_val_test_split", ids, ndim=1)
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"train_val_test_split: {name} must be between 0 and 1, got {fraction!r}")
    n_val, n_test = int(len(ids) * val_fraction), int(len(ids) * test_fraction)
    n_train = len(ids) - n_val - n_test
    if min(n_train, n_val, n_test) < 2:
        raise ValueError(
            f"train_val_test_split: {len(ids)} ids with val_fraction={val_fraction} and "
            f"test_fraction={test_fraction} leave a part of fewer than 2 ids; use a longer corpus or "
            "other fractions"
        )
    return ids[:n_train], ids[n_train : n_train + n_val], ids[n_train + n_val :]


def make_streams(ids, B):
    """Exercise 1.4: cut the ids (N,) into B contiguous streams, shape (B, L) with L = N // B.

    Row b is the b-th consecutive piece of the corpus, ``ids[b*L : (b+1)*L]``; the last N - B*L ids
    are dropped. Each row is read left to right by its own copy of the network, B at once.
    """
    ids = _int_array("make_streams", ids, ndim=1)
    validate.count("make_streams", "B", B, meaning="the number of streams")
    if len(ids) < 2 * B:
        raise ValueError(
            f"make_streams: {len(ids)} ids are too few for B={B} streams; each stream needs at least "
            "2 ids (an input and its target), so use a smaller B or a longer corpus"
        )
    ### BEGIN SOLUTION
    L = len(ids) // B
    return ids[: B * L].reshape(B, L)
    ### END SOLUTION


def windows(streams, T):
    """Exercise 1.4: the training windows of T steps along the streams (B, L), an iterator of pairs.

    Window w is ``(inputs, targets)``, each (B, T): inputs are columns w*T to w*T + T - 1 of the
    streams and targets are the same columns shifted by one, the character that follows each input.
    Window w+1 starts in every row where window w stopped, so the hidden state after window w is the
    state to start window w+1 with (truncated BPTT). There are (L - 1) // T windows; the last partial
    one is dropped.
    """
    streams = _int_array("windows", streams, ndim=2)
    B, L = streams.shape
    validate.count("windows", "T", T, maximum=L - 1, meaning=f"at most L - 1 for streams of length L={L}")
    ### BEGIN SOLUTION
    return ((streams[:, s : s + T], streams[:, s + 1 : s + T + 1]) for s in range(0, L - T, T))
    ### END SOLUTION


def _int_array(where, ids, ndim=None):
    """``ids`` as an integer array, or a clear error saying what is wrong with it."""
    ids = np.asarray(ids)
    if ids.size == 0 and ids.dtype == np.float64:  # np.asarray([]) is float64
        ids = ids.astype(np.int64)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{where}: expected integer ids, got an array of dtype {ids.dtype}")
    if ndim is not None and ids.ndim != ndim:
        raise ValueError(f"{where}: expected a {ndim}-d array of ids, got shape {ids.shape}")
    return ids


def _check_range(where, ids, V):
    """Refuse ids outside 0..V-1, naming the first one and where it is."""
    bad = (ids < 0) | (ids >= V)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{where}: id {int(ids[at])} at index {at} is outside the vocabulary, whose ids run from 0 "
            f"to {V - 1}"
        )
