"""Text in, text out: a prompt and the model give samples, with lesson 11's exercises (rnnlib/sample.py).

Lesson: notebooks/11_sampling.ipynb. Used by the training loop's samples (rnnlib.training), the panel
(rnnlib.widgets) and ``python -m rnnlib sample``.
"""

import numpy as np

from . import validate
from .sample import generate, prime


def sample(model, params, vocab, prompt, length, rng, *, temperature=1.0, top_k=None):
    """The prompt followed by ``length`` characters the model generates, one str.

    prompt: at least one character, all of them in ``vocab`` (the model's Vocabulary); length: an int
    >= 0; rng: a np.random.Generator (the same seed gives the same text); temperature >= 0 (0: always
    the likeliest character); top_k: None, or draw only among the k likeliest characters.
    """
    return samples(model, params, vocab, prompt, length, rng, 1, temperature=temperature, top_k=top_k)[0]


def samples(model, params, vocab, prompt, length, rng, count, *, temperature=1.0, top_k=None):
    """``count`` texts generated side by side from the same prompt, a list of str (see sample).

    The texts differ because every row draws its own characters; the same seed gives the same list.
    """
    ids = prompt_ids(vocab, prompt)  # generate checks the temperature, top_k and rng
    validate.count("samples", "count", count, meaning="how many texts")
    logits, h = prime(model, params, np.tile(ids, (count, 1)))
    generated = generate(model, params, logits, h, length, rng, temperature, top_k)
    return [prompt + vocab.decode(row) for row in generated]


def prompt_ids(vocab, prompt, name="the prompt", example="'\\n'"):
    """The prompt's ids as a (1, P) row, or one ValueError naming what is wrong with it; ``name`` and
    ``example`` say how the caller's user gave it (the command line: "--prompt", "--prompt '\\n'")."""
    if not isinstance(prompt, str):
        raise TypeError(f"{name} must be a str, got {type(prompt).__name__}")
    if not prompt:
        raise ValueError(f"{name} is empty; give at least one character to start from, e.g. {example}")
    unknown = sorted(set(prompt) - vocab.stoi.keys())
    if unknown:
        raise ValueError(
            f"{name} has characters outside the model's vocabulary: {', '.join(map(repr, unknown))}; "
            f"use only the {len(vocab)} characters it was trained on"
        )
    return vocab.encode(prompt)[None, :]
