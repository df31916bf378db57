"""Checkpoints: a training run in one .npz file, to resume it, evaluate it or sample from it later.

Lesson: notebooks/10_shakespeare.ipynb (and ``python -m rnnlib``). A checkpoint holds everything the
run's next step depends on: the configuration, the vocabulary, the parameters, the optimiser's state,
the step, the position in the training text and the carried state (rnnlib.train.RunState), and the
state of the generator that draws the samples. A run stopped, saved, loaded and resumed therefore
computes exactly what the uninterrupted run computes, bit for bit, provided it reads the same text: saved
with that text, a checkpoint also holds its fingerprint (sha256 and length), so that a corpus file edited
since is refused rather than read on from a position in another text.

Only arrays, numbers and strings go in, and ``np.load(..., allow_pickle=False)`` reads them: loading a
checkpoint never runs code from the file. Saving writes a temporary file beside the target and renames
it into place (``os.replace`` is atomic), so an interrupted save leaves the previous checkpoint whole.
"""

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .config import Config
from .data import Vocabulary
from .train import HISTORY, RunState

FORMAT_VERSION = 1  # the text's fingerprint is an optional entry, which format 1 readers ignore
# The bit generators a checkpoint may name: the name picks a class of np.random, so only these are looked up.
BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
ZIP_MAGIC = b"PK\x03\x04"  # how every .npz file, a zip archive, begins


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as asked; the message says what is wrong and what to do."""


@dataclasses.dataclass
class Checkpoint:
    """A loaded checkpoint: ``config``, ``vocab``, ``params`` and the run's ``state`` (a RunState);
    ``text_fingerprint``, the fingerprint of the text it was trained on, or None if it was saved without."""

    config: Config
    vocab: Vocabulary
    params: dict
    state: RunState
    rng_state: dict
    text_fingerprint: dict | None = None

    def rng(self):
        """The samples' generator, in the state it was saved in."""
        return _generator(self.rng_state)

    @property
    def model(self):
        """The model's module, rnnlib.rnn or rnnlib.gru."""
        return self.config.module()


def fingerprint(text):
    """What identifies a text: the sha256 of its UTF-8 bytes and its length in characters."""
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "characters": len(text)}


def save(path, *, config, vocab, params, state, rng, text=None):
    """Write the run to ``path`` (an .npz file) atomically; parameters that are not finite are refused.

    config: the run's Config; vocab: its Vocabulary; params: the model's parameters; state: the run's
    RunState; rng: the np.random.Generator that draws the samples; text: the corpus the run reads, whose
    fingerprint is stored so that ``load(..., text=...)`` can tell it is still that text (None: not stored).
    """
    bad = [name for name, P in params.items() if not np.all(np.isfinite(P))]
    if bad:
        raise CheckpointError(
            f"not saving {path}: the parameters {bad} hold NaN or inf, so the model has diverged; the "
            "last checkpoint saved before is left as it was"
        )
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "config": np.array(config.to_json()),
        "vocab": np.array(vocab.chars),
        "rng": np.array(json.dumps(rng.bit_generator.state)),
        "step": np.array(state.step),
        "window": np.array(state.window),
        "seconds": np.array(state.seconds),
        **_flatten("params", params),
        **_flatten("optimizer", state.optimizer),
        **{f"history/{name}": np.array(state.history[name], dtype=np.float64) for name in HISTORY},
    }
    if state.h is not None:
        arrays["h"] = state.h
    if text is not None:
        arrays.update(_flatten("text", fingerprint(text)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rename makes it the checkpoint
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; a checkpoint is ordinary data
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path, *, model=None, vocab=None, text=None):
    """The Checkpoint saved at ``path``; one CheckpointError if it cannot be used.

    model: "rnn" or "gru" to insist on that architecture; vocab: a Vocabulary the checkpoint's must
    equal (the text it will read); text: the corpus it will read, which must be the text it was trained
    on if the checkpoint holds that text's fingerprint (one saved without it cannot tell: not checked).
    A missing, truncated or corrupt file, a newer format, another architecture, another vocabulary or
    another text each give an error that says so and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"there is no checkpoint at {path}; train one with: python -m rnnlib train")
    with open(path, "rb") as file:
        # Checked first: np.load gives an .npy file as one array, and tries pickle on anything else, its
        # refusal suggesting allow_pickle=True, which a checkpoint never needs.
        if file.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise CheckpointError(
                f"{path} is not an .npz checkpoint (an .npz file is a zip archive, and this is not one); "
                "give a file saved by python -m rnnlib train or rnnlib.checkpoint.save"
            )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise CheckpointError(
            f"{path} cannot be read: it is truncated or corrupt ({type(error).__name__}: {error}). Use an "
            "earlier checkpoint, or train again"
        ) from None
    if "format_version" not in arrays:
        raise CheckpointError(
            f"{path} is an .npz file but not an rnnlib checkpoint (it has no format_version)"
        )
    version = int(arrays["format_version"])
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version}, written by a newer rnnlib; this one reads format "
            f"{FORMAT_VERSION}. Update rnnlib to read it"
        )
    try:
        checkpoint = _checkpoint(arrays)
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path} is not a complete checkpoint ({error}); use an earlier one") from None
    if model is not None and model != checkpoint.config.model:
        saved = checkpoint.config.model
        raise CheckpointError(
            f"{path} holds {_a(saved)}, not {_a(model)}: {_a(model)} cannot use its parameters. Load it as "
            f"{_a(saved)} (model={saved!r}), or train {_a(model)}"
        )
    if vocab is not None and vocab.chars != checkpoint.vocab.chars:
        raise CheckpointError(f"{path}: {_vocabulary_difference(checkpoint.vocab, vocab)}")
    trained_on = checkpoint.text_fingerprint
    if text is not None and trained_on is not None and fingerprint(text) != trained_on:
        raise CheckpointError(
            f"{path} was trained on another text: it had {trained_on['characters']:,} characters, this one "
            f"has {len(text):,}, and their sha256 differ. Put back the text it was trained on, or train a "
            "new model on this one"
        )
    return checkpoint


def _checkpoint(arrays):
    config = Config.from_json(str(arrays["config"]))
    vocab = Vocabulary.from_chars(arrays["vocab"].tolist())
    params = _unflatten("params", arrays)
    expected = config.init_params(len(vocab))  # the names, shapes and dtypes this config has
    got = {name: (P.shape, P.dtype) for name, P in params.items()}
    want = {name: (P.shape, P.dtype) for name, P in expected.items()}
    if got != want:
        raise ValueError(f"its parameters {got} are not those of its configuration, {want}")
    history = {name: arrays[f"history/{name}"].tolist() for name in HISTORY}
    history["val_step"] = [int(step) for step in history["val_step"]]
    state = RunState(
        step=int(arrays["step"]),
        window=int(arrays["window"]),
        h=arrays.get("h"),
        optimizer=_unflatten("optimizer", arrays),
        history=history,
        seconds=float(arrays["seconds"]),
    )
    rng_state = json.loads(str(arrays["rng"]))
    _generator(rng_state)  # a bad state is refused now, not when the resumed run draws its first sample
    return Checkpoint(config, vocab, params, state, rng_state, _unflatten("text", arrays) or None)


def _generator(rng_state):
    """A np.random.Generator in the state ``bit_generator.state`` returned; ValueError if it is not one."""
    name = rng_state.get("bit_generator") if isinstance(rng_state, dict) else None
    if name not in BIT_GENERATORS:
        raise ValueError(f"its rng names {name!r}, not one of NumPy's {', '.join(BIT_GENERATORS)}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = rng_state
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as error:
        raise ValueError(
            f"its rng state is not a valid {name} state ({type(error).__name__}: {error})"
        ) from None
    return np.random.Generator(bit_generator)


def _a(model):
    """The architecture's name with its article: "an RNN", "a GRU"."""
    return {"rnn": "an RNN", "gru": "a GRU"}.get(model, f"a {model!r} model")


def _vocabulary_difference(saved, other):
    only_saved = sorted(set(saved.chars) - set(other.chars))
    only_other = sorted(set(other.chars) - set(saved.chars))
    if not only_saved and not only_other:
        return "its vocabulary numbers the same characters in another order; it belongs to another text"
    parts = [f"the checkpoint's vocabulary has {len(saved)} characters, the text's {len(other)}"]
    if only_other:
        parts.append(f"the text has {', '.join(map(repr, only_other))}, which the model never saw")
    if only_saved:
        parts.append(f"the text lacks {', '.join(map(repr, only_saved))}")
    return "; ".join(parts) + ". It was trained on another corpus: use that corpus, or train a new model"


# Nested dicts of arrays and numbers (the optimiser's state) as flat "optimizer/m/Wx" entries, and back.


def _flatten(prefix, tree):
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}/{key}"
        flat.update(_flatten(name, value) if isinstance(value, dict) else {name: np.asarray(value)})
    return flat


def _unflatten(prefix, arrays):
    tree = {}
    for name, value in arrays.items():
        if not name.startswith(prefix + "/"):
            continue
        *parents, leaf = name.split("/")[1:]
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        # A 0-d entry was a Python number (Adam's step count): give back the number, so that the
        # resumed arithmetic (beta1 ** step) is the same Python arithmetic as before the save.
        node[leaf] = value.item() if value.ndim == 0 else value
    return tree
