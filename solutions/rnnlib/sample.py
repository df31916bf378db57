"""Sampling text from a trained language model: temperature, top-k, priming with a prompt, batches.

Lesson: notebooks/11_sampling.ipynb. ``model`` is rnnlib.rnn or rnnlib.gru; only its ``lm_step(params,
ids, h)``, which returns the (B, V) logits of the next character and the (B, H) state, is used. A batch
is rows: B texts are generated side by side, one lm_step per character for all of them.

Each next character is drawn from the softmax of the logits divided by a temperature T:

    T -> 0   all the probability on the likeliest character (the argmax: no randomness left);
    T = 1    the model's own distribution;
    T > 1    flatter, towards uniform.

Top-k sampling keeps each row's k largest logits and gives every other character probability 0 before
the draw. Draws come from a np.random.Generator, in a fixed order (row 0, 1, ..., B - 1 at each step),
so the same seed gives the same texts.
"""

import math

import numpy as np

from . import validate


def probabilities(logits, temperature=1.0):
    """Exercise 11.1: the distribution of the next character at a temperature.

    logits (B, V): one row of logits per text (entries may be -inf, e.g. after top_k_logits).
    temperature: a number >= 0.
    Returns P (B, V) float64, each row summing to 1:

    - T > 0: P = softmax(logits / T), computed in float64 (rng.choice insists that p sums to 1 within
      1e-8, tighter than float32 rounding) and with each row's max subtracted before dividing by T: at
      T = 0.1 a logit of 80 becomes 800, and exp(800) overflows to inf; and at a tiny T, such as 1e-310,
      the division alone overflows. Subtracted first, the largest logit becomes 0 and the others
      negative, which a tiny T sends to -inf: probability exp(-inf) = 0, as it should be.
    - T = 0: all the probability on each row's largest logit, without dividing by zero. Where several
      are equal, the limit T -> 0 would share it among them; the course's convention is to give it all
      to the first of them, the one np.argmax picks.
    """
    logits = _check_logits(logits)
    temperature = _check_temperature(temperature)
    ### BEGIN SOLUTION
    if temperature == 0:
        P = np.zeros(logits.shape)
        P[np.arange(len(logits)), logits.argmax(axis=1)] = 1.0
        return P
    Z = logits.astype(np.float64)
    with np.errstate(over="ignore"):  # a tiny T sends (Z - max) / T to -inf: probability 0, rightly
        E = np.exp((Z - Z.max(axis=1, keepdims=True)) / temperature)
    return E / E.sum(axis=1, keepdims=True)
    ### END SOLUTION


def top_k_logits(logits, k):
    """Exercise 11.2: keep each row's k largest logits; every other entry becomes -inf.

    logits (B, V); k: an int >= 1, or None. Returns a new (B, V) array of the logits' dtype, each row
    holding its k largest logits where they were and -inf everywhere else, so that softmax gives the
    others probability exactly 0 and shares the whole probability among the k kept (it renormalises
    them). k None or k >= V: nothing is filtered (a copy of the logits).

    Ties: exactly k entries survive in every row. Among equal logits the lower ids are kept first (the
    order of a stable sort of -logits), so the same k survive every time.
    """
    logits = _check_logits(logits)
    k = _check_top_k(k)
    ### BEGIN SOLUTION
    if k is None or k >= logits.shape[1]:
        return logits.copy()
    keep = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    filtered = np.full_like(logits, -np.inf)
    np.put_along_axis(filtered, keep, np.take_along_axis(logits, keep, axis=1), axis=1)
    return filtered
    ### END SOLUTION


def prime(model, params, ids, h=None):
    """Exercise 11.3: read a prompt, to get the state and the logits of the first new character.

    model: rnnlib.rnn or rnnlib.gru; params: its parameters.
    ids (B, P) int: B prompts of P >= 1 characters each (the same prompt in every row for B samples
    of one prompt). h (B, H): the state to start from; None: zeros.
    Returns (logits (B, V), h (B, H)): the logits the model gives after the last character of the
    prompt, from which the first new character is drawn, and the state after reading the prompt.

    One model.lm_step per character, all B rows at once, the state carried from step to step: the
    prompt is read exactly as training read text.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"prime: ids must have shape (B, P) with P >= 1 characters, got shape {ids.shape}")
    ### BEGIN SOLUTION
    for t in range(ids.shape[1]):
        logits, h = model.lm_step(params, ids[:, t], h)
    return logits, h
    ### END SOLUTION


def generate(model, params, logits, h, length, rng, temperature=1.0, top_k=None):
    """Exercise 11.4: ``length`` new characters for each of B texts at once.

    logits (B, V), h (B, H): where prime left the B texts. rng: a np.random.Generator. temperature,
    top_k: as in probabilities and top_k_logits (top_k None: no filtering).
    Returns ids (B, length) int64, the characters drawn, row b for text b.

    At each of the ``length`` steps: filter the logits with top_k_logits, turn them into P with
    probabilities, pick each row's next id, then feed the B ids to one model.lm_step for the next
    logits and state (after the last step nothing reads them, so that lm_step can be skipped).

    The draws, in this order, so that a seed gives one text: for T > 0, row b's id is
    rng.choice(V, p=P[b]) for b = 0, 1, ..., B - 1, one call per row, so that every row has a draw of
    its own; for T = 0, each row's argmax, and rng is not used.
    """
    logits = _check_logits(logits)
    temperature = _check_temperature(temperature)
    _check_top_k(top_k)
    validate.generator("generate", "rng", rng)
    validate.count("generate", "length", length, minimum=0, meaning="characters to generate")
    ### BEGIN SOLUTION
    B, V = logits.shape
    ids = np.empty((B, length), dtype=np.int64)
    for t in range(length):
        P = probabilities(top_k_logits(logits, top_k), temperature)
        if temperature == 0:
            ids[:, t] = P.argmax(axis=1)
        else:
            ids[:, t] = [rng.choice(V, p=p) for p in P]
        if t < length - 1:
            logits, h = model.lm_step(params, ids[:, t], h)
    return ids
    ### END SOLUTION


# Input checks: a bad argument fails here with its name and what to do, not deep inside NumPy.


def _check_logits(logits):
    logits = np.asarray(logits)
    if logits.ndim != 2 or 0 in logits.shape:
        raise ValueError(f"logits must have shape (B, V), one row per text, got shape {logits.shape}")
    if logits.dtype.kind != "f":
        raise TypeError(f"logits must be a float array, got dtype {logits.dtype}")
    if np.isnan(logits).any() or np.isposinf(logits).any():
        raise ValueError("logits hold NaN or +inf: the model that computed them has diverged")
    if not np.isfinite(logits).any(axis=1).all():
        raise ValueError("a row of the logits is all -inf: no character is left to draw")
    return logits


def _check_temperature(temperature):
    if not validate.is_number(temperature) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"the temperature must be a number >= 0 (0: the likeliest character, 1: the model as it is), "
            f"got {temperature!r}"
        )
    return float(temperature)


def _check_top_k(k):
    if k is not None and not (validate.is_int(k) and k >= 1):
        raise ValueError(f"top_k must be None (no filtering) or an int >= 1, got {k!r}")
    return k
