"""Checkpoints: a training run in one .npz file, to resume it, evaluate it or sample from it later.

Lesson: notebooks/10_shakespeare.ipynb (and ``python -m rnnlib``). A checkpoint holds everything the
run's next step depends on: the configuration, the vocabulary, the parameters, the optimiser's state,
the step, the position in the training text and the carried state (rnnlib.train.RunState), and the
state of the generator that draws the samples. A run stopped, saved, loaded and resumed therefore
computes exactly what the uninterrupted run computes, bit for bit.

Only arrays, numbers and strings go in, and ``np.load(..., allow_pickle=False)`` reads them: loading a
checkpoint never runs code from the file. Saving writes a temporary file beside the target and renames
it into place (``os.replace`` is atomic), so an interrupted save leaves the previous checkpoint whole.
"""

import dataclasses
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .config import Config
from .data import Vocabulary
from .train import HISTORY, RunState

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as asked; the message says what is wrong and what to do."""


@dataclasses.dataclass
class Checkpoint:
    """A loaded checkpoint: ``config``, ``vocab``, ``params`` and the run's ``state`` (a RunState)."""

    config: Config
    vocab: Vocabulary
    params: dict
    state: RunState
    rng_state: dict

    def rng(self):
        """The samples' generator, in the state it was saved in."""
        bit_generator = getattr(np.random, self.rng_state["bit_generator"])()
        bit_generator.state = self.rng_state
        return np.random.Generator(bit_generator)

    @property
    def model(self):
        """The model's module, rnnlib.rnn or rnnlib.gru."""
        return self.config.module()


def save(path, *, config, vocab, params, state, rng):
    """Write the run to ``path`` (an .npz file) atomically; parameters that are not finite are refused.

    config: the run's Config; vocab: its Vocabulary; params: the model's parameters; state: the run's
    RunState; rng: the np.random.Generator that draws the samples.
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


def load(path, *, model=None, vocab=None):
    """The Checkpoint saved at ``path``; one CheckpointError if it cannot be used.

    model: "rnn" or "gru" to insist on that architecture; vocab: a Vocabulary the checkpoint's must
    equal (the text it will read). A missing, truncated or corrupt file, a newer format, another
    architecture or another vocabulary each give an error that says so and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"there is no checkpoint at {path}; train one with: python -m rnnlib train")
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
    return Checkpoint(config, vocab, params, state, json.loads(str(arrays["rng"])))


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
