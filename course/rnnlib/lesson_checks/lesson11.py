"""The checks of lesson 11, notebooks/11_sampling.ipynb: Exercises 11.1-11.4 (rnnlib/sample.py).

Temperature, top-k, priming and generating. Models are the reference GRU with small random parameters,
or a stand-in whose lm_step returns fixed logits (to count draws against probabilities computed here);
draws are compared with the reference's from the same seed.
"""

import contextlib
import itertools

import numpy as np

from .. import reference
from ..checks import call, expect_close, expect_equal, expect_raises, expect_shape, expect_true
from . import exercise
from .shared import expect_dtype, no_float_warnings, rng_for


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
    from ..sample import probabilities

    logits = np.array([[1.0, 2.0, 3.0]])
    for T in (1.0, 0.5, 2.0):  # by hand: exp(z / T) / sum exp(z / T)
        e = np.exp(logits / T)
        got = call("probabilities", probabilities, logits, T)
        expect_close(f"probabilities([[1, 2, 3]], temperature={T})", got, e / e.sum(), rtol=1e-12)
    rng = rng_for("11.1")
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
    # Logits near +-1000 and temperatures down to 1e-300, in float64 and float32: subtracted first and
    # computed in float64 nothing overflows (2000 / 1e-300 is 2e303, below float64's 1.8e308); float32
    # arithmetic turns 1e-300 into 0 and gives NaN.
    extreme = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -999.5, -1001.0], [-1000.0, 1000.0, 0.0]])
    for dtype, T in itertools.product((np.float64, np.float32), (1.0, 1e-3, 1e-30, 1e-300)):
        label = f"probabilities of {np.dtype(dtype)} logits near +-1000 at temperature={T:g}"
        with no_float_warnings(label):
            got = call("probabilities", probabilities, extreme.astype(dtype), T)
        with np.errstate(under="ignore"):
            expected = _softmax_here(extreme.astype(dtype), T)
        expect_close(label, got, expected, rtol=1e-12)
    # Rows far apart and a small T: exp(logits / T) overflows unless each row's own max is subtracted.
    far = np.array([[1000.0, 999.0, 990.0], [0.0, -1.0, -2.0]], dtype=np.float32)
    expect_close(
        "probabilities of float32 logits [[1000, 999, 990], [0, -1, -2]] at temperature=0.5 (subtract each "
        "row's max before exp)",
        call("probabilities", probabilities, far, 0.5),
        _softmax_here(far, 0.5),
        rtol=1e-12,
    )
    expect_dtype(
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
    from ..sample import top_k_logits

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
    rng = rng_for("11.2")
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
    expect_dtype("top_k_logits of float32 logits", got, np.float32)
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
    from ..sample import prime

    ref, gru = reference("sample"), reference("gru")
    rng = rng_for("11.3")
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
    expect_dtype("prime: the logits for float32 parameters", logits32, np.float32)
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


@contextlib.contextmanager
def _reference_filters():
    """generate with the reference's probabilities and top_k_logits (Exercises 11.1 and 11.2) in place of
    yours, so that a bug in those fails their own checks and is not blamed on 11.4 as well."""
    from .. import sample

    ref = reference("sample")
    yours = sample.probabilities, sample.top_k_logits
    sample.probabilities, sample.top_k_logits = ref.probabilities, ref.top_k_logits
    try:
        yield
    finally:
        sample.probabilities, sample.top_k_logits = yours


@exercise("11.4", "generate")
def _generate():
    with _reference_filters():
        _generate_with_reference_filters()


def _generate_with_reference_filters():
    from ..sample import generate

    ref, gru = reference("sample"), reference("gru")
    rng = rng_for("11.4")
    params = _small_gru(rng)
    logits, h = ref.prime(gru, params, np.zeros((4, 3), dtype=np.int64))  # 4 texts from one prompt
    model = _CountingModel()
    draws = np.random.default_rng(11)
    got = call("generate", generate, model, params, logits, h, 30, draws, 1.0)
    expect_shape("generate(..., length=30) for 4 texts", got, (4, 30))
    expect_dtype("generate: the ids", got, np.int64)
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
