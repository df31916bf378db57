"""Checkpoints: a training run in one .npz file, to resume it, evaluate it or sample from it later.

Lesson: notebooks/10_shakespeare.ipynb (and ``python -m rnnlib``). A checkpoint holds everything the
run's next step depends on: the configuration, the vocabulary, the parameters, the optimiser's state,
the step, the position in the training text and the carried state (rnnlib.training.RunState), and the
state of the generator that draws the samples. A run stopped, saved, loaded and resumed therefore
computes exactly what the uninterrupted run computes, bit for bit, provided it reads the same text: saved
with that text, a checkpoint also holds its fingerprint (sha256 and length), so that a corpus file edited
since is refused rather than read on from a position in another text.

Only arrays, numbers and strings go in, and ``np.load(..., allow_pickle=False)`` reads them: loading a
checkpoint never runs code from the file. The vocabulary is stored as the characters' code points, so
every character comes back, NUL included. ``load`` checks every entry (its type, its shape, its range,
that the lengths agree with each other) and refuses a file that is wrong anywhere with one
CheckpointError naming the entry, so that a damaged file is refused when it is loaded, not by an
IndexError minutes into a resumed run.

What keeps a checkpoint safe while it is written:

- ``save`` writes a temporary file beside the target, reads it back with ``load``'s own code, and only
  then renames it into place (``os.replace`` is atomic): an interrupted save, or one that would give a
  file ``load`` refuses, leaves the previous checkpoint whole.
- ``lock(path)`` makes its holder the only writer of ``path``: a second run that would write the same
  file is refused at its start, naming the first. The lock is the operating system's, on a small file
  beside the checkpoint, so a run that is killed never leaves it stuck. ``save`` called without it
  takes it for the length of the save. Taking it also removes the temporary files that a run killed in
  the middle of a save left behind.
- ``check_room(path, size_estimate(...))`` tells before training whether the folder can take the file.
"""

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from . import validate
from .config import Config
from .data import Vocabulary, train_val_test_split
from .optimizers import OPTIMIZERS
from .training import HISTORY, RunState

try:
    import fcntl  # POSIX (Linux, macOS)
except ImportError:  # Windows
    fcntl = None
    import msvcrt

# Format 2 stores the vocabulary as code points (format 1: as a NumPy string array, which loses NUL).
# An rnnlib that reads only format 1 refuses a format 2 file, saying it comes from a newer rnnlib,
# rather than misreading it.
FORMAT_VERSION = 2
# The bit generators a checkpoint may name: the name picks a class of np.random, so only these are looked up.
BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
ZIP_MAGIC = b"PK\x03\x04"  # how every .npz file, a zip archive, begins
# The entries a checkpoint has: these names, and names under these prefixes ("params/Wx").
ENTRIES = ("format_version", "config", "vocab", "rng", "step", "window", "seconds", "h")
GROUPS = ("params", "optimizer", "history", "text")
# A temporary file of a save is this old (seconds untouched) before lock() counts it as left behind.
STALE_AFTER = 60


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


# Saving


def save(path, *, config, vocab, params, state, rng, text=None):
    """Write the run to ``path`` (an .npz file) atomically; one CheckpointError if it cannot be saved.

    config: the run's Config; vocab: its Vocabulary; params: the model's parameters; state: the run's
    RunState; rng: the np.random.Generator that draws the samples; text: the corpus the run reads, whose
    fingerprint is stored so that ``load(..., text=...)`` can tell it is still that text (None: not stored).

    Parameters that are not finite are refused; so is a file that ``load`` would refuse (it is read back
    before it replaces anything). Another process holding ``lock(path)`` is refused too: a caller that
    holds the lock itself saves under it, any other save takes the lock for its own duration. Whatever
    is refused, the checkpoint already at ``path`` is left as it was.
    """
    path = Path(path)
    bad = [name for name, P in params.items() if not np.all(np.isfinite(P))]
    if bad:
        raise CheckpointError(
            f"not saving {path}: the parameters {bad} hold NaN or inf, so the model has diverged; the "
            "last checkpoint saved before is left as it was"
        )
    arrays = _arrays(config, vocab, params, state, rng, text)
    held = _lock_file(path) in _HELD
    with contextlib.nullcontext() if held else lock(path):
        _write(path, arrays, lambda written: _check_written(path, written, vocab, params, state, text))


def _arrays(config, vocab, params, state, rng, text):
    """The entries of the .npz file: names -> arrays of numbers or strings, never objects."""
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "config": np.array(config.to_json()),
        "vocab": np.array([ord(c) for c in vocab.chars], dtype=np.uint32),  # "\x00" stays a character
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
    return arrays


def _write(path, arrays, verify):
    """Write ``arrays`` to a temporary file beside ``path``, ``verify(temporary)``, rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary is ".NAME.<random>.part": hidden, and recognisable by lock() if a kill leaves it.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rename makes it the checkpoint
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; a checkpoint is ordinary data
        verify(Path(temporary))  # a file load would refuse must never replace one it accepts
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_written(path, written, vocab, params, state, text):
    """The file just ``written`` for ``path`` loads, with load's code, and gives back what was saved."""
    try:
        arrays = _read(written)
        loaded = _checkpoint(arrays, _format_version(written, arrays))
        _check_text(written, loaded, text)
        differ = [name for name, P in params.items() if not _identical(loaded.params[name], P)]
        if differ:
            raise ValueError(f"its parameters {differ} read back differently")
        if loaded.vocab.chars != list(vocab.chars):
            raise ValueError("its vocabulary reads back differently")
        if (loaded.state.step, loaded.state.window) != (state.step, state.window):
            raise ValueError("its step and window read back differently")
    except (KeyError, ValueError, TypeError) as error:  # CheckpointError is a ValueError
        raise CheckpointError(
            f"not saving {path}: the file written would not load back ({_reason(error)}); {path} is left "
            "as it was"
        ) from None


def _identical(A, B):
    return A.dtype == B.dtype and A.shape == B.shape and np.array_equal(A, B)


# Loading


def load(path, *, model=None, vocab=None, text=None):
    """The Checkpoint saved at ``path``; one CheckpointError if it cannot be used.

    model: "rnn" or "gru" to insist on that architecture; vocab: a Vocabulary the checkpoint's must
    equal (the text it will read); text: the corpus it will read, which must be the text it was trained
    on if the checkpoint holds that text's fingerprint (one saved without it cannot tell: not checked),
    and in which the saved position, its window, must lie.
    A missing, truncated or corrupt file, a newer format, an entry that is wrong (a negative step, a
    history shorter than the steps, ...), another architecture, another vocabulary or another text each
    give an error that says so and what to do.
    """
    path = Path(path)
    checkpoint = _load_file(path)
    if model is not None and model != checkpoint.config.model:
        saved = checkpoint.config.model
        raise CheckpointError(
            f"{path} holds {_with_article(saved)}, not {_with_article(model)}: {_with_article(model)} "
            f"cannot use its parameters. Load it as {_with_article(saved)} (model={saved!r}), or train "
            f"{_with_article(model)}"
        )
    if vocab is not None and vocab.chars != checkpoint.vocab.chars:
        raise CheckpointError(f"{path}: {_vocabulary_difference(checkpoint.vocab, vocab)}")
    _check_text(path, checkpoint, text)
    return checkpoint


def _load_file(path):
    """The checkpoint in the file at ``path``, every entry checked; what both load and save use."""
    arrays = _read(path)
    version = _format_version(path, arrays)
    try:
        checkpoint = _checkpoint(arrays, version)
    except (KeyError, ValueError, TypeError) as error:
        reason = _reason(error)
        raise CheckpointError(f"{path} is not a usable checkpoint: {reason}; use an earlier one") from None
    return checkpoint


def _reason(error):
    """What _checkpoint found wrong: its message, or the entry missing (a KeyError names only the key)."""
    return f"it has no entry {error}" if isinstance(error, KeyError) else str(error)


def _read(path):
    """Every entry of the .npz file at ``path``, name -> array; CheckpointError if it is not one."""
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
    # np.load gives a member that is not an .npy file (one added with `zip`) as its raw bytes, which
    # would fail far from here ("invalid literal for int()"): such a member is refused by name.
    foreign = [name for name, value in arrays.items() if not isinstance(value, np.ndarray)]
    if foreign:
        raise CheckpointError(
            f"{path} is not a checkpoint as rnnlib writes it: it holds {', '.join(foreign)}, which is not "
            "an array (.npy); use an earlier checkpoint, or train again"
        )
    unknown = [name for name in arrays if name not in ENTRIES and name.split("/")[0] not in GROUPS]
    if unknown and "format_version" in arrays:  # without it, not a checkpoint at all: _format_version
        raise CheckpointError(f"{path} holds entries no rnnlib checkpoint has: {', '.join(unknown)}")
    return arrays


def _format_version(path, arrays):
    if "format_version" not in arrays:
        raise CheckpointError(
            f"{path} is an .npz file but not an rnnlib checkpoint (it has no format_version)"
        )
    try:
        version = _integer(arrays, "format_version", minimum=1)
    except ValueError as error:
        raise CheckpointError(f"{path} is not a usable checkpoint: {error}") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version}, written by a newer rnnlib; this one reads format "
            f"{FORMAT_VERSION}. Update rnnlib to read it"
        )
    return version


def _checkpoint(arrays, version):
    """The Checkpoint in ``arrays``; ValueError naming the first entry that is wrong."""
    saved_config = _string(arrays, "config")
    try:
        config = Config.from_json(saved_config)
    except (ValueError, TypeError) as error:  # not JSON, not a dict of fields, or a field out of range
        raise ValueError(f"its config is not valid ({error})") from None
    vocab = _vocabulary(arrays["vocab"], version)
    params = _unflatten("params", arrays)
    # The names, shapes and dtypes come from the config's own parameters, made here. A damaged array makes
    # them differ a little, and the comparison below names it; a damaged config (hidden_size 10**6) would
    # make a model far larger than the file, which is refused by its size instead of allocated.
    stored, needed = sum(np.size(P) for P in params.values()), config.parameter_count(len(vocab))
    if needed > 2 * stored:
        raise ValueError(f"its config's model has {needed:,} parameters, but its arrays hold only {stored:,}")
    expected = config.init_params(len(vocab))
    _check_like("parameters", params, expected)
    state = RunState(
        step=_integer(arrays, "step", minimum=0, maximum=config.steps),
        window=_integer(arrays, "window", minimum=0),
        h=arrays.get("h"),
        optimizer=_unflatten("optimizer", arrays),
        history=_history(arrays),
        seconds=_real(arrays, "seconds"),
    )
    if state.window > state.step:  # a window is read once a step, and the count restarts each epoch
        raise ValueError(f"its window, {state.window}, is past its step, {state.step}")
    _check_history(state.history, state.step)
    _check_h(state.h, (config.batch_size, config.hidden_size), expected["Why"].dtype)
    _check_optimizer(config, state, expected)
    try:
        rng_state = json.loads(_string(arrays, "rng"))
    except json.JSONDecodeError as error:
        raise ValueError(f"its rng is not JSON ({error})") from None
    _generator(rng_state)  # a bad state is refused now, not when the resumed run draws its first sample
    return Checkpoint(config, vocab, params, state, rng_state, _text_fingerprint(arrays))


def _vocabulary(codes, version):
    if version == 1:  # a string array: NUL cannot have been saved, so none is lost here
        if codes.dtype.kind != "U" or codes.ndim != 1:
            raise ValueError(f"its vocab is a {codes.dtype} array of shape {codes.shape}, not of strings")
        chars = codes.tolist()
        if "" in chars:  # what np.array(vocab.chars) made of "\x00"
            raise ValueError(
                "its vocab lost the character NUL (\\x00), which checkpoints of format 1 could not hold; "
                "train again with this rnnlib, which keeps it"
            )
    else:
        if codes.dtype.kind not in "iu" or codes.ndim != 1 or not np.all((codes >= 0) & (codes < 0x110000)):
            raise ValueError("its vocab is not a 1-D array of code points (integers from 0 to 0x10FFFF)")
        chars = [chr(code) for code in codes.tolist()]
    try:
        return Vocabulary.from_chars(chars)
    except ValueError as error:
        raise ValueError(f"its vocab is not valid ({error})") from None


def _history(arrays):
    history = {}
    for name in HISTORY:
        values = arrays[f"history/{name}"]
        if values.ndim != 1 or values.dtype.kind not in "iuf" or not np.all(np.isfinite(values)):
            raise ValueError(f"its history/{name} is not a 1-D array of finite numbers")
        history[name] = values.tolist()
    if not all(float(step).is_integer() for step in history["val_step"]):
        raise ValueError("its history/val_step holds steps that are not whole numbers")
    history["val_step"] = [int(step) for step in history["val_step"]]
    return history


def _check_history(history, step):
    """One loss, gradient norm and learning rate per step; one step number per validation loss."""
    for name in ("loss", "grad_norm", "lr"):
        if len(history[name]) != step:
            raise ValueError(
                f"its history/{name} has {len(history[name])} entries, not one per step ({step})"
            )
    if len(history["val_step"]) != len(history["val_loss"]):
        raise ValueError(
            f"its history/val_step has {len(history['val_step'])} entries and its history/val_loss "
            f"{len(history['val_loss'])}; they go in pairs"
        )
    if not all(0 <= s <= step for s in history["val_step"]):
        raise ValueError(f"its history/val_step holds steps outside 0 to {step}")


def _check_h(h, shape, dtype):
    """The carried state, if saved, is (batch_size, hidden_size) of the parameters' dtype, and finite."""
    if h is not None and (h.shape != shape or h.dtype != dtype or not np.all(np.isfinite(h))):
        raise ValueError(
            f"its h is {h.dtype} {h.shape}, not a finite {np.dtype(dtype)} array of shape {shape}"
        )


def _check_optimizer(config, state, params):
    """The optimiser's state has the entries its init gives, each the shape and dtype of its parameter."""
    if state.step == 0 and not state.optimizer:
        return  # a run saved before its first step: run_steps() starts the optimiser's state itself
    expected = OPTIMIZERS[config.optimizer].init(params)
    count = state.optimizer.get("step", 0)
    if "step" in expected and not (validate.is_int(count) and count >= 0):
        raise ValueError(f"its optimizer/step, Adam's count of steps, is {count!r}, not an int >= 0")
    _check_like(f"{config.optimizer} state (optimizer/...)", state.optimizer, expected)


def _check_like(what, got, expected):
    """``got`` has the names of ``expected``, each a finite array of the same shape and dtype."""
    described = {name: _describe(value) for name, value in _flatten("", got).items()}
    wanted = {name: _describe(value) for name, value in _flatten("", expected).items()}
    if described != wanted:
        wrong = sorted(name.lstrip("/") for name in described.keys() ^ wanted.keys()) or [
            f"{name.lstrip('/')} is {described[name]}, not {wanted[name]}"
            for name in wanted
            if described[name] != wanted[name]
        ]
        raise ValueError(f"its {what} are not those of its configuration: {'; '.join(wrong)}")
    bad = [name.lstrip("/") for name, value in _flatten("", got).items() if not np.all(np.isfinite(value))]
    if bad:
        raise ValueError(f"its {what} {bad} hold NaN or inf")


def _describe(value):
    """An entry as a message shows it: "float32 (8, 24)", or "a number" (Adam's step count)."""
    return "a number" if value.ndim == 0 else f"{value.dtype} {value.shape}"


def _check_text(path, checkpoint, text):
    """``text`` is the one the checkpoint was trained on, as far as it can tell, and its saved position,
    the window, lies in an epoch of it (rnnlib.training reads the windows data.windows gives)."""
    if text is None:
        return
    trained_on = checkpoint.text_fingerprint
    if trained_on is not None and fingerprint(text) != trained_on:
        raise CheckpointError(
            f"{path} was trained on another text: it had {trained_on['characters']:,} characters, this one "
            f"has {len(text):,}, and their sha256 differ. Put back the text it was trained on, or train a "
            "new model on this one"
        )
    config, window = checkpoint.config, checkpoint.state.window
    try:
        train_ids, _, _ = train_val_test_split(
            np.zeros(len(text), np.int8), config.val_fraction, config.test_fraction
        )
    except ValueError:
        return  # too short to split: whoever reads this text for training says so
    windows = max((len(train_ids) // config.batch_size - 1) // config.seq_len, 0)
    if window <= windows:
        return
    if trained_on is not None:  # the very text it was trained on: the file is what is wrong
        raise CheckpointError(
            f"{path} is not a usable checkpoint: its window is {window}, but an epoch of its text has "
            f"{windows} windows of {config.batch_size} x {config.seq_len}; use an earlier one"
        )
    raise CheckpointError(
        f"{path} stopped at window {window} of an epoch, but this text now gives only {windows} (windows of "
        f"{config.batch_size} x {config.seq_len}): it is no longer the text the run was trained on; put "
        "that text back, or start a new run"
    )


def _text_fingerprint(arrays):
    saved = _unflatten("text", arrays)
    if not saved:
        return None  # saved without its text
    if saved.keys() != {"sha256", "characters"}:
        raise ValueError(f"its text/ entries are {sorted(saved)}, not sha256 and characters")
    sha256 = _string(arrays, "text/sha256")
    if not re.fullmatch("[0-9a-f]{64}", sha256):
        raise ValueError("its text/sha256 is not a sha256 (64 hexadecimal digits)")
    return {"sha256": sha256, "characters": _integer(arrays, "text/characters", minimum=0)}


# One entry of a given kind, or ValueError naming it.


def _integer(arrays, name, minimum, maximum=None):
    value = arrays[name]
    if value.ndim != 0 or value.dtype.kind not in "iu":
        raise ValueError(f"its {name} is not an integer (a {value.dtype} array of shape {value.shape})")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"its {name} is {value}, not an integer {bounds}")
    return value


def _real(arrays, name):
    value = arrays[name]
    if value.ndim != 0 or value.dtype.kind not in "iuf" or not math.isfinite(value) or value < 0:
        raise ValueError(f"its {name} is {value.tolist()!r}, not a finite number >= 0")
    return float(value)


def _string(arrays, name):
    value = arrays[name]
    if value.ndim != 0 or value.dtype.kind != "U":
        raise ValueError(f"its {name} is not a string (a {value.dtype} array of shape {value.shape})")
    return str(value)


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


def _with_article(model):
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


# One writer at a time


_HELD = {}  # lock file -> its open descriptor, for the locks this process holds


@contextlib.contextmanager
def lock(path):
    """``with lock(path): ...`` makes the caller the only writer of the checkpoint ``path`` meanwhile.

    The lock is the operating system's lock on the file ``path`` + ".lock" beside the checkpoint, which
    holds the holder's process id, command line and start time. A second writer, in another process or
    in this one, gets one CheckpointError naming the first. The system releases the lock when its process
    ends however it ends, so a killed run never leaves it stuck; a lock file left behind by one is just
    taken over. On entry the temporary files of saves that a killed run left behind (".NAME.*.part",
    untouched for STALE_AFTER seconds) are removed: with the lock held, no save of another run is
    writing them. Yields the list of the files removed.

    Where fcntl does not exist (Windows) the lock is msvcrt.locking's on one byte of the lock file,
    which the system also releases with its process, and the lock file stays when released (Windows
    cannot remove a file that another process has open).
    """
    path = Path(path)
    lock_path = _lock_file(path)
    if lock_path in _HELD:  # flock would refuse too; this says that the holder is this process
        raise CheckpointError(_taken_message(path, _holder(_HELD[lock_path])))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = _acquire(path, lock_path)
    except OSError as error:  # a folder where the lock file would go, a file system without files (/proc)
        raise OSError(
            f"cannot write checkpoints at {path}: its lock file {lock_path.name} cannot be made there "
            f"({error.strerror or error}); give another path"
        ) from None
    _HELD[lock_path] = descriptor
    try:
        _write_holder(descriptor)
        yield _remove_stale_parts(path)
    finally:
        del _HELD[lock_path]
        if fcntl is not None:
            lock_path.unlink(missing_ok=True)  # while still held: see _acquire for why that is safe
        os.close(descriptor)  # releases the lock


def _write_holder(descriptor):
    """Write who holds the lock into the lock file, for the message a second writer gets."""
    holder = {"pid": os.getpid(), "command": _command_line(), "since": time.time()}
    try:
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)  # msvcrt's lock left the position past its locked byte
        os.write(descriptor, json.dumps(holder).encode())
    except OSError:
        pass  # a full disk: the lock holds all the same, and a second writer is told "another run"


def _lock_file(path):
    """The lock file of the checkpoint ``path``, its folder resolved, so that two names of one file agree."""
    path = Path(path)
    return Path(os.path.realpath(path.parent)) / f"{path.name}.lock"


def _acquire(path, lock_path):
    """An open descriptor of ``lock_path``, locked by this process; CheckpointError if another holds it."""
    while True:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(descriptor):
            holder = _holder(descriptor)
            os.close(descriptor)
            raise CheckpointError(_taken_message(path, holder))
        # The holder before us may have removed the file (releasing it) after we opened it: then we hold
        # the lock of a file no one else will open, while a new run can lock a new file of that name.
        # The lock only counts if it is on the file that the name still gives; if not, try again.
        if fcntl is None or _same_file(descriptor, lock_path):
            return descriptor
        os.close(descriptor)


def _try_lock(descriptor):
    """True if this process now holds the lock of the open file, False if another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    # msvcrt locks bytes, which no other process may then read: lock one past the holder's details.
    os.lseek(descriptor, 1 << 20, os.SEEK_SET)
    try:
        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _same_file(descriptor, lock_path):
    try:
        named = os.stat(lock_path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(descriptor):
    """What the lock file says of the process that holds it: {"pid", "command", "since"}, or {}."""
    try:
        os.lseek(descriptor, 0, os.SEEK_SET)
        return json.loads(os.read(descriptor, 4096))
    except (ValueError, OSError):
        return {}  # not written yet (the holder has just taken it), or not by this rnnlib


def _taken_message(path, holder):
    who = "another run"
    if holder:
        this = ", this one" if holder.get("pid") == os.getpid() else ""
        since = holder.get("since", 0)
        clock = "%H:%M" if time.time() - since < 12 * 3600 else "%Y-%m-%d %H:%M"  # a day ago: the date too
        started = time.strftime(clock, time.localtime(since))
        who = f"process {holder.get('pid')} ({holder.get('command')}{this}), since {started}"
    return (
        f"{path} is being written by another run: {who}; wait for it to end or stop it, or give another "
        "--checkpoint"
    )


def _command_line():
    """The command that started this process, as typed, shortened to fit a message."""
    argv = list(getattr(sys, "orig_argv", sys.argv))  # orig_argv: "python -m rnnlib train ...", as typed
    command = " ".join(shlex.join([Path(argv[0]).name, *argv[1:]]).split())  # one line, even for -c code
    return command if len(command) <= 80 else command[:77] + "..."


def _remove_stale_parts(path):
    """Remove the temporary files a killed save of ``path`` left behind; the files removed."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[^.]+\.part")  # mkstemp's names have no "."
    removed = []
    for candidate in path.parent.iterdir():
        if not pattern.fullmatch(candidate.name) or candidate.is_symlink() or not candidate.is_file():
            continue
        # A save that does not hold the lock (an older rnnlib) may be writing one right now: only files
        # untouched for a while are left-overs.
        if time.time() - candidate.stat().st_mtime > STALE_AFTER:
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


# Room for a checkpoint

# What an .npz file adds to each array: the .npy header (64 to 128 bytes) and the zip's entries for it
# (a local header, a data descriptor and a central directory record, with its name twice), rounded up.
ENTRY_OVERHEAD = 512
# Config, rng state (MT19937's is 7 kB of JSON), step, window, seconds, text fingerprint, rounded up.
SMALL_ENTRIES = 16 * 1024


def size_estimate(params, optimizer_state, config=None):
    """The bytes of a checkpoint of these parameters and this optimiser state, an upper bound.

    optimizer_state: the state as RunState.optimizer holds it, or the optimiser's name ("sgd",
    "momentum", "adam") for a run that has not started (its state will have 0, 1 or 2 arrays the size of
    each parameter). config: the run's Config, to count the carried state h and the history of
    config.steps steps too; without it they are left out (for lesson 10's run, 64 kB and 70 kB).

    A save writes the new file beside the old one before replacing it: a folder that is to take the
    first save and all later ones needs room for twice this; the caller chooses the margin.
    """
    arrays = list(params.values())
    if isinstance(optimizer_state, str):
        copies = OPTIMIZERS[optimizer_state].copies
        arrays += [P for P in params.values() for _ in range(copies)]
        arrays += [np.array(0)] if optimizer_state == "adam" else []  # Adam's count of steps
    else:
        arrays += list(_flatten("optimizer", optimizer_state).values())
    V = params["Why"].shape[1]
    total = sum(np.asarray(A).nbytes for A in arrays) + 4 * V + SMALL_ENTRIES
    entries = len(arrays) + len(ENTRIES) + len(HISTORY) + 2
    if config is not None:
        total += config.batch_size * config.hidden_size * params["Why"].dtype.itemsize
        validations = config.steps // config.eval_every + 2
        total += 8 * (len(("loss", "grad_norm", "lr")) * config.steps + 2 * validations)
    return total + entries * ENTRY_OVERHEAD


def check_room(path, nbytes):
    """Raise OSError, in one line, if a checkpoint of ``nbytes`` cannot be saved at ``path``.

    The folder is created if it does not exist; then it must be writable and have ``nbytes`` free
    (shutil.disk_usage). No file is written: a test file is written on a full disk too (an empty file
    takes no room), so it would let a run start that fails at its first save.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise OSError(f"{path} is a folder; give a file name for the checkpoint, e.g. {path / 'run.npz'}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        reason = f"{in_the_way} is a file, not a folder" if in_the_way else error.strerror or error
        raise OSError(f"cannot save checkpoints in {folder}: {reason}; give another --checkpoint") from None
    # os.access asks the system, which also answers no for a read-only file system.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OSError(f"cannot save checkpoints in {folder}: it is not writable; give another --checkpoint")
    free = shutil.disk_usage(folder).free
    if free < nbytes:
        raise OSError(
            f"cannot save checkpoints in {folder}: it has {_megabytes(free)} free, and the checkpoints need "
            f"{_megabytes(nbytes)}; free some space, or give another --checkpoint"
        )


def _megabytes(nbytes):
    return f"{nbytes / 1e6:,.1f} MB"


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
            if not isinstance(node, dict):
                raise ValueError(f"its {name} lies under an entry that is an array")
        # A 0-d entry was a Python number (Adam's step count): give back the number, so that the
        # resumed arithmetic (beta1 ** step) is the same Python arithmetic as before the save.
        node[leaf] = value.item() if value.ndim == 0 else value
    return tree
