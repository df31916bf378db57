"""Unit tests of rnnlib.data (lesson 01): the corpus loader and the text-to-arrays pipeline.

The loader tests use a tiny made-up corpus, a temporary cache and mirror, and a fake urlopen; they
never touch the network.
"""

import hashlib
import io
import itertools
import urllib.error
import urllib.request

import numpy as np
import pytest

from rnnlib import data
from rnnlib.data import Vocabulary, make_streams, one_hot, train_val_split, windows

TINY = "to be, or not to be — that is the question\n".encode()  # not ASCII: utf-8 matters


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A corpus "tiny" whose cache is tmp_path/cache and whose mirror variable is unset."""
    sha256 = hashlib.sha256(TINY).hexdigest()
    source = data.Source("tiny.txt", "https://example.org/tiny.txt", sha256, len(TINY))
    monkeypatch.setitem(data.CORPORA, "tiny", source)
    monkeypatch.setenv("RNNLIB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNLIB_DATA_MIRROR", raising=False)
    return tmp_path


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download fails unless a test serves one itself."""

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)


def write_mirror(tmp_path, content):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.txt").write_bytes(content)
    return mirror


def cached(tmp_path):
    cache = tmp_path / "cache"
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# The loader.


def test_the_corpora_are_the_ones_the_course_uses():
    assert data.CORPORA["tinyshakespeare"].size == 1_115_394
    assert data.CORPORA["names"].url.endswith("/names.txt")


def test_an_unknown_corpus_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="'shakespeare'.*names, tinyshakespeare"):
        data.load_corpus("shakespeare")


def test_a_cached_file_is_read_without_mirror_or_network(tiny):
    (tiny / "cache").mkdir()
    (tiny / "cache" / "tiny.txt").write_bytes(TINY)
    assert data.load_corpus("tiny") == TINY.decode()


def test_a_wrong_file_put_in_the_cache_by_hand_is_refused(tiny):
    (tiny / "cache").mkdir()
    (tiny / "cache" / "tiny.txt").write_bytes(TINY[:10])
    with pytest.raises(ValueError, match=r"tiny.txt from the cache .* not the expected file.*Delete it"):
        data.load_corpus("tiny")


def test_a_file_from_the_mirror_is_verified_and_cached(tiny, monkeypatch):
    monkeypatch.setenv("RNNLIB_DATA_MIRROR", str(write_mirror(tiny, TINY)))
    assert data.load_corpus("tiny") == TINY.decode()
    assert cached(tiny) == ["tiny.txt"]
    (tiny / "mirror" / "tiny.txt").unlink()
    assert data.load_corpus("tiny") == TINY.decode()  # from the cache now


def test_a_wrong_file_in_the_mirror_is_refused_and_never_cached(tiny, monkeypatch):
    mirror = write_mirror(tiny, TINY.replace(b"be", b"BE"))
    monkeypatch.setenv("RNNLIB_DATA_MIRROR", str(mirror))
    with pytest.raises(ValueError) as error:
        data.load_corpus("tiny")
    message = str(error.value)
    assert data.CORPORA["tiny"].sha256 in message  # expected
    assert hashlib.sha256(TINY.replace(b"be", b"BE")).hexdigest() in message  # got
    assert str(mirror / "tiny.txt") in message  # which source
    assert cached(tiny) == []


def test_without_network_or_mirror_the_error_says_what_failed_and_what_to_do(tiny):
    with pytest.raises(FileNotFoundError) as error:
        data.load_corpus("tiny")
    message = str(error.value)
    for part in ("https://example.org/tiny.txt", "network disabled", "RNNLIB_DATA_MIRROR", "tiny.txt"):
        assert part in message
    assert str(tiny / "cache" / "tiny.txt") in message
    assert cached(tiny) == []


def test_a_mirror_without_the_file_falls_back_to_the_download_and_says_so(tiny, monkeypatch):
    monkeypatch.setenv("RNNLIB_DATA_MIRROR", str(tiny))
    with pytest.raises(FileNotFoundError, match="has no tiny.txt"):
        data.load_corpus("tiny")


def serve(monkeypatch, content):
    urls = []

    def urlopen(url, *args, **kwargs):
        urls.append(url)
        return io.BytesIO(content)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return urls


def test_a_download_is_verified_and_cached(tiny, monkeypatch):
    urls = serve(monkeypatch, TINY)
    assert data.load_corpus("tiny") == TINY.decode()
    assert urls == ["https://example.org/tiny.txt"]
    assert (tiny / "cache" / "tiny.txt").read_bytes() == TINY
    assert cached(tiny) == ["tiny.txt"]


def test_a_wrong_download_is_refused_and_never_cached(tiny, monkeypatch):
    serve(monkeypatch, b"<html>404: Not Found</html>")
    with pytest.raises(ValueError, match="tiny.txt from https://example.org/tiny.txt is not the expected"):
        data.load_corpus("tiny")
    assert cached(tiny) == []


# Vocabulary, encode, decode.


def test_the_vocabulary_is_the_sorted_distinct_characters():
    vocab = Vocabulary("hello")
    assert vocab.chars == ["e", "h", "l", "o"]
    assert vocab.stoi == {"e": 0, "h": 1, "l": 2, "o": 3}
    assert len(vocab) == 4
    assert "4 characters" in repr(vocab)


def test_an_empty_text_has_no_vocabulary():
    with pytest.raises(ValueError, match="empty"):
        Vocabulary("")


def test_encode_and_decode_are_inverse():
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    vocab = Vocabulary(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text
    assert vocab.decode(list(ids)) == text
    assert vocab.encode("").shape == (0,) and vocab.decode([]) == ""


def test_encode_names_an_unknown_character_and_where_it_is():
    vocab = Vocabulary("abc")
    with pytest.raises(ValueError, match=r"'é' \(U\+00E9\) at position 2 .* 3 characters"):
        vocab.encode("abéz")


def test_decode_refuses_ids_outside_the_vocabulary():
    vocab = Vocabulary("abc")
    with pytest.raises(ValueError, match="id 3 at index"):
        vocab.decode([0, 3])
    with pytest.raises(TypeError):
        vocab.decode([0.0, 1.0])


def test_from_chars_keeps_the_given_order():
    vocab = Vocabulary.from_chars(["b", "a"])
    assert vocab.encode("ab").tolist() == [1, 0]
    with pytest.raises(ValueError):
        Vocabulary.from_chars(["a", "a"])


# One-hot rows.


def test_one_hot_rows():
    X = one_hot(np.array([2, 0, 3]), 4)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    assert one_hot(np.zeros((2, 3), dtype=int), 5).shape == (2, 3, 5)
    assert one_hot(1, 3).tolist() == [0, 1, 0]
    assert one_hot([1], 3, dtype=np.float32).dtype == np.float32


def test_a_one_hot_row_times_a_matrix_is_a_row_lookup():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 4))
    ids = rng.integers(0, 6, size=(3, 5))
    np.testing.assert_array_equal(one_hot(ids, 6) @ W, W[ids])


def test_one_hot_refuses_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="id 4"):
        one_hot(np.array([0, 4]), 4)
    with pytest.raises(ValueError, match="id -1"):
        one_hot(np.array([-1]), 4)
    with pytest.raises(ValueError):
        one_hot(np.array([0]), 0)


# Split, streams, windows.


def test_the_split_is_one_cut_with_the_validation_part_last():
    ids = np.arange(100)
    train, val = train_val_split(ids, 0.1)
    np.testing.assert_array_equal(train, np.arange(90))
    np.testing.assert_array_equal(val, np.arange(90, 100))
    with pytest.raises(ValueError):
        train_val_split(ids, 0.0)
    with pytest.raises(ValueError):
        train_val_split(np.arange(5), 0.1)


def test_streams_are_contiguous_pieces_of_the_corpus():
    S = make_streams(np.arange(23), 3)
    np.testing.assert_array_equal(S, np.arange(21).reshape(3, 7))
    with pytest.raises(ValueError, match="too few"):
        make_streams(np.arange(5), 3)
    with pytest.raises(ValueError):
        make_streams(np.arange(5), 0)


@pytest.mark.parametrize("B, L, T", [(3, 7, 2), (3, 7, 3), (2, 10, 9), (4, 50, 1), (1, 100, 7)])
def test_windows_follow_each_other_so_the_state_carries_over(B, L, T):
    streams = make_streams(np.arange(B * L), B)
    pairs = list(windows(streams, T))
    assert len(pairs) == (L - 1) // T
    for inputs, targets in pairs:
        assert inputs.shape == targets.shape == (B, T)
        np.testing.assert_array_equal(targets, inputs + 1)  # the next character of the corpus
    for (_, before), (after, _) in itertools.pairwise(pairs):
        np.testing.assert_array_equal(after[:, 0], before[:, -1])  # window w+1 resumes where w stopped
    np.testing.assert_array_equal(np.concatenate([x for x, _ in pairs], axis=1), streams[:, : len(pairs) * T])


def test_windows_refuse_a_length_that_does_not_fit():
    streams = make_streams(np.arange(14), 2)
    with pytest.raises(ValueError, match="T must be"):
        windows(streams, 7)
    with pytest.raises(ValueError):
        windows(streams, 0)


def test_the_reference_caches_corpora_in_the_projects_data_folder(monkeypatch):
    # The reference is loaded from solutions/rnnlib/ as a package of its own; its cache must still be
    # the project's data/, not a second copy of every corpus under solutions/.
    from rnnlib import PROJECT_ROOT, reference

    monkeypatch.delenv("RNNLIB_DATA_DIR", raising=False)
    assert reference("data").data_dir() == data.data_dir() == PROJECT_ROOT / "data"
