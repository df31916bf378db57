"""Lesson 10's checkpoints: round trip, exact resume, atomic write, one clear error per bad file."""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rnnlib import checkpoint
from rnnlib.checkpoint import CheckpointError
from rnnlib.config import Config
from rnnlib.data import Vocabulary
from rnnlib.progress import Progress
from rnnlib.training import RunState, run_steps

TEXT = "the cat sat on the mat. the dog sat on the log. " * 20


def _config(**overrides):
    settings = dict(
        corpus="unused",
        hidden_size=8,
        steps=40,
        warmup=5,
        lr=1e-2,
        final_lr=1e-4,
        batch_size=4,
        seq_len=8,
        eval_every=10,
        sample_every=15,
    )
    return Config(**(settings | overrides))


def _run(config, stop_at=None, params=None, state=None, rng=None):
    """Train ``config`` on TEXT; stop after step ``stop_at`` if given. Returns params, state, rng, history."""
    vocab = Vocabulary(TEXT)
    ids = vocab.encode(TEXT)
    params = config.init_params(len(vocab)) if params is None else params
    state = RunState() if state is None else state
    rng = np.random.default_rng(1) if rng is None else rng
    model, settings = config.module(), config.settings()
    # As the command line drives the loop: the samples drawn from rng, then the stop after the step.
    with Progress(model, params, settings, vocab, rng, start=state.step, plot=False, bar=False) as show:
        for _ in run_steps(model, params, ids[:800], ids[800:], settings, vocab=vocab, state=state):
            show(state)
            if state.step == stop_at:
                break
    return params, state, rng, state.results()


def _save(path, config, params, state, rng):
    checkpoint.save(path, config=config, vocab=Vocabulary(TEXT), params=params, state=state, rng=rng)


@pytest.mark.parametrize("model", ["rnn", "gru"])
def test_a_checkpoint_gives_back_everything_it_was_given(tmp_path, model):
    config = _config(model=model)
    params, state, rng, _ = _run(config, stop_at=13)
    _save(tmp_path / "run.npz", config, params, state, rng)
    loaded = checkpoint.load(tmp_path / "run.npz")
    assert loaded.config == config and loaded.vocab.chars == Vocabulary(TEXT).chars
    assert loaded.params.keys() == params.keys()
    for name, P in params.items():
        assert loaded.params[name].dtype == P.dtype and np.array_equal(loaded.params[name], P)
    assert (loaded.state.step, loaded.state.window) == (13, state.window)
    assert np.array_equal(loaded.state.h, state.h) and loaded.state.h.dtype == state.h.dtype
    assert loaded.state.history == state.history
    assert loaded.state.optimizer["step"] == 13 and type(loaded.state.optimizer["step"]) is int
    for part in ("m", "v"):
        for name in params:
            assert np.array_equal(loaded.state.optimizer[part][name], state.optimizer[part][name])
    assert loaded.rng().bit_generator.state == rng.bit_generator.state
    assert loaded.model is config.module()


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "sgd"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_run_stopped_saved_loaded_and_resumed_equals_the_uninterrupted_run_bit_for_bit(
    tmp_path, dtype, optimizer
):
    config = _config(dtype=dtype, optimizer=optimizer, lr=1e-2 if optimizer == "adam" else 0.3)
    whole_params, whole_state, whole_rng, whole_history = _run(config)

    params, state, rng, _ = _run(config, stop_at=17)  # stops mid-epoch, between a validation and a sample
    assert state.step == 17
    _save(tmp_path / "run.npz", config, params, state, rng)
    loaded = checkpoint.load(tmp_path / "run.npz")
    params, state, rng, history = _run(config, params=loaded.params, state=loaded.state, rng=loaded.rng())

    for name, P in whole_params.items():
        assert P.dtype == np.dtype(dtype)
        assert np.array_equal(params[name], P), f"{name} differs after the resume"
    assert np.array_equal(state.h, whole_state.h)
    for key, values in whole_history.items():
        assert np.array_equal(history[key], values) or key == "seconds", f"history {key} differs"
    assert rng.bit_generator.state == whole_rng.bit_generator.state  # the same samples were drawn


def test_saving_is_atomic_an_interrupted_save_leaves_the_last_checkpoint_whole(tmp_path, monkeypatch):
    config = _config()
    params, state, rng, _ = _run(config, stop_at=5)
    path = tmp_path / "run.npz"
    _save(path, config, params, state, rng)
    good = path.read_bytes()

    def interrupted_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt  # Ctrl-C in the middle of the write

    monkeypatch.setattr(np, "savez", interrupted_savez)
    params, state, rng, _ = _run(config, params=params, state=state, rng=rng, stop_at=10)
    with pytest.raises(KeyboardInterrupt):
        _save(path, config, params, state, rng)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"], "the temporary file was left behind"
    assert checkpoint.load(path).state.step == 5


def test_diverged_parameters_are_not_saved_over_a_good_checkpoint(tmp_path):
    config = _config()
    params, state, rng, _ = _run(config, stop_at=5)
    path = tmp_path / "run.npz"
    _save(path, config, params, state, rng)
    good = path.read_bytes()
    params["Wh"][0, 0] = np.nan
    with pytest.raises(CheckpointError, match=r"\['Wh'\] hold NaN or inf.*left as it was"):
        _save(path, config, params, state, rng)
    assert path.read_bytes() == good


def test_training_that_diverges_stops_with_one_error_and_never_checkpoints_what_diverged(tmp_path):
    config = _config(steps=20)
    vocab = Vocabulary(TEXT)
    ids = vocab.encode(TEXT)
    params = config.init_params(len(vocab))
    model = config.module()

    def lm_forward(params, inputs, targets, h0):  # the GRU's, until its loss turns NaN at step 8
        loss, h_last, cache = model.lm_forward(params, inputs, targets, h0)
        return (np.nan if state.step == 7 else loss), h_last, cache

    path, state = tmp_path / "run.npz", RunState()

    def save(state):
        checkpoint.save(
            path, config=config, vocab=vocab, params=params, state=state, rng=np.random.default_rng()
        )

    diverging = SimpleNamespace(lm_forward=lm_forward, lm_backward=model.lm_backward, lm_step=model.lm_step)
    with pytest.raises(FloatingPointError, match=r"diverged at step 8: the loss is nan"):
        for _, check_update in run_steps(
            diverging, params, ids[:800], ids[800:], config.settings(), vocab=vocab, state=state
        ):
            if state.step % 5 == 0:
                check_update()
                save(state)
    assert checkpoint.load(path).state.step == 5, "the checkpoint of step 5 is the last one, intact"


@pytest.fixture
def saved(tmp_path):
    config = _config()
    params, state, rng, _ = _run(config, stop_at=5)
    path = tmp_path / "run.npz"
    _save(path, config, params, state, rng)
    return path


def test_a_truncated_file_is_one_clear_error(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot be read: it is truncated or corrupt"):
        checkpoint.load(saved)


def test_a_corrupted_byte_is_caught_by_the_zip_checksum(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("params/Wx.npy")
    data[info.header_offset + 200] ^= 0xFF  # a byte inside Wx's array data
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        checkpoint.load(saved)


def test_a_file_that_is_not_a_checkpoint_is_one_clear_error(tmp_path):
    (tmp_path / "notes.npz").write_text("my notes")
    np.save(tmp_path / "array.npy", np.zeros(3))
    for name in ("notes.npz", "array.npy"):
        with pytest.raises(CheckpointError, match=r"is not an \.npz checkpoint") as error:
            checkpoint.load(tmp_path / name)
        assert "pickle" not in str(error.value), "the message must not suggest loading with pickle"
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an rnnlib checkpoint"):
        checkpoint.load(tmp_path / "other.npz")
    with pytest.raises(CheckpointError, match="there is no checkpoint at"):
        checkpoint.load(tmp_path / "missing.npz")


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays.update(changes)
    np.savez(path, **arrays)


def test_a_newer_format_is_refused_with_what_to_do(saved):
    _rewrite(saved, format_version=np.array(checkpoint.FORMAT_VERSION + 1))
    with pytest.raises(CheckpointError, match="written by a newer rnnlib.*Update rnnlib"):
        checkpoint.load(saved)


def test_a_checkpoint_of_the_other_architecture_is_refused(saved):
    with pytest.raises(CheckpointError, match="holds a GRU, not an RNN"):
        checkpoint.load(saved, model="rnn")
    assert checkpoint.load(saved, model="gru").config.model == "gru"


def test_a_checkpoint_of_another_vocabulary_is_refused_naming_the_characters(saved):
    with pytest.raises(CheckpointError, match=r"the text has 'z', which the model never saw.*another corpus"):
        checkpoint.load(saved, vocab=Vocabulary(TEXT + "z"))
    with pytest.raises(CheckpointError, match=r"lacks 'c'"):
        checkpoint.load(saved, vocab=Vocabulary(TEXT.replace("c", "")))


def test_parameters_that_do_not_fit_the_configuration_are_refused(saved):
    config = dataclasses.asdict(Config.from_json(str(np.load(saved)["config"])))
    _rewrite(saved, config=np.array(json.dumps(config | {"model": "rnn"})))
    with pytest.raises(CheckpointError, match="is not a usable checkpoint: its parameters"):
        checkpoint.load(saved)


@pytest.mark.parametrize(
    ("rng", "message"),
    [
        ({"bit_generator": "RandomState"}, "its rng names 'RandomState', not one of NumPy's"),
        ({"bit_generator": "__loader__"}, "its rng names '__loader__'"),
        ([1, 2], "its rng names None"),
        ({"bit_generator": "PCG64", "state": 5}, r"its rng state is not a valid PCG64 state \(TypeError"),
        (
            {"bit_generator": "MT19937", "state": {"key": [1, 2], "pos": 0}},
            "its rng state is not a valid MT19937 state",
        ),
        (
            {"bit_generator": "PCG64", "state": {"state": -1, "inc": 1}, "has_uint32": 0, "uinteger": 0},
            r"its rng state is not a valid PCG64 state \(OverflowError",
        ),
    ],
)
def test_a_bad_generator_state_is_refused_when_loading_not_when_resuming(saved, rng, message):
    _rewrite(saved, rng=np.array(json.dumps(rng)))
    with pytest.raises(CheckpointError, match=f"is not a usable checkpoint: {message}"):
        checkpoint.load(saved)


def test_the_text_it_was_trained_on_is_recognised_and_another_refused(tmp_path):
    config = _config()
    params, state, rng, _ = _run(config, stop_at=5)
    path = tmp_path / "run.npz"
    checkpoint.save(
        path, config=config, vocab=Vocabulary(TEXT), params=params, state=state, rng=rng, text=TEXT
    )
    assert checkpoint.load(path, text=TEXT).text_fingerprint == checkpoint.fingerprint(TEXT)
    same_characters = TEXT.replace("cat", "tac")
    assert Vocabulary(same_characters).chars == Vocabulary(TEXT).chars
    for other in (same_characters, TEXT[:-100]):
        with pytest.raises(
            CheckpointError,
            match=rf"trained on another text: it had {len(TEXT):,} characters, this one has {len(other):,}",
        ):
            checkpoint.load(path, text=other)


def test_a_checkpoint_saved_without_its_text_loads_and_cannot_tell(saved):
    loaded = checkpoint.load(saved, text="a text it was never trained on")
    assert loaded.text_fingerprint is None


def test_nothing_in_a_checkpoint_needs_pickle(saved):
    with np.load(saved, allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)


# The vocabulary: every character comes back


def _fresh(path, text, **overrides):
    """Save a model of ``text`` that has not trained yet (fast: no step is taken); returns its params."""
    config, vocab = _config(**overrides), Vocabulary(text)
    params = config.init_params(len(vocab))
    checkpoint.save(
        path, config=config, vocab=vocab, params=params, state=RunState(), rng=np.random.default_rng()
    )
    return params


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), min_size=1))
@example("\x00")
@example("a\x00b")
@example("\U0001f600\ud800\U0010ffff")  # astral characters and a lone surrogate
def test_every_character_of_the_vocabulary_round_trips(tmp_path, text):
    _fresh(tmp_path / "run.npz", text)
    assert checkpoint.load(tmp_path / "run.npz").vocab.chars == Vocabulary(text).chars


def _as_format_1(path, chars):
    """Rewrite ``path`` as rnnlib wrote checkpoints before format 2: the vocabulary as a string array."""
    _rewrite(path, format_version=np.array(1), vocab=np.array(chars))


def test_a_checkpoint_of_format_1_still_loads(tmp_path):
    path = tmp_path / "run.npz"
    _fresh(path, TEXT)
    _as_format_1(path, Vocabulary(TEXT).chars)
    assert checkpoint.load(path).vocab.chars == Vocabulary(TEXT).chars


def test_a_checkpoint_of_format_1_that_lost_nul_says_so(tmp_path):
    path = tmp_path / "run.npz"
    _fresh(path, TEXT + "\x00")
    _as_format_1(path, Vocabulary(TEXT + "\x00").chars)  # NumPy keeps "" for "\x00"
    with pytest.raises(CheckpointError, match=r"its vocab lost the character NUL.*format 1.*train again"):
        checkpoint.load(path)


def test_new_checkpoints_are_format_2_which_an_older_rnnlib_refuses_rather_than_misreads(tmp_path):
    path = tmp_path / "run.npz"
    _fresh(path, TEXT)
    with np.load(path) as npz:  # format 1 readers refuse anything above 1, saying it is newer
        assert int(npz["format_version"]) == checkpoint.FORMAT_VERSION == 2
        assert npz["vocab"].dtype.kind == "u"


# A save never writes what load refuses


def test_a_save_that_would_not_load_back_is_refused_and_the_last_checkpoint_kept(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    _fresh(path, TEXT)
    good = path.read_bytes()
    arrays = checkpoint._arrays

    def format_1_arrays(*args):  # how rnnlib saved the vocabulary before: NUL is lost on the way
        return arrays(*args) | {"format_version": np.array(1), "vocab": np.array(args[1].chars)}

    monkeypatch.setattr(checkpoint, "_arrays", format_1_arrays)
    with pytest.raises(
        CheckpointError, match=r"not saving .*run\.npz: the file written would not load back.*NUL"
    ):
        _fresh(path, TEXT + "\x00")
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"], "the temporary file was left behind"


def test_a_save_whose_parameters_read_back_differently_is_refused(tmp_path, monkeypatch):
    savez = np.savez

    def rounding_savez(file, **arrays):  # a writer that changes the data: the read-back must notice
        savez(file, **(arrays | {"params/Wx": arrays["params/Wx"] + 1}))

    monkeypatch.setattr(np, "savez", rounding_savez)
    with pytest.raises(
        CheckpointError, match=r"its parameters \['Wx'\] read back differently.*left as it was"
    ):
        _fresh(tmp_path / "run.npz", TEXT)
    assert list(tmp_path.iterdir()) == []


# Every entry is checked on load


def _tampered(saved, **changes):
    _rewrite(saved, **{name.replace("__", "/"): value for name, value in changes.items()})
    with pytest.raises(CheckpointError) as error:
        checkpoint.load(saved)
    return str(error.value)


STEP = 5  # the step of the `saved` fixture (8 hidden units, float32, Adam, 40 steps of 4 x 8)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"step": np.array(-5)}, "its step is -5, not an integer from 0 to 40"),
        ({"step": np.array(41)}, "its step is 41, not an integer from 0 to 40"),
        ({"step": np.array(5.0)}, "its step is not an integer"),
        ({"step": np.array(6)}, r"its history/loss has 5 entries, not one per step \(6\)"),
        ({"window": np.array(-3)}, "its window is -3, not an integer >= 0"),
        ({"window": np.array(10**9)}, "its window, 1000000000, is past its step, 5"),
        ({"window": np.array([1, 2])}, "its window is not an integer"),
        ({"seconds": np.array(-1.0)}, "its seconds is -1.0, not a finite number >= 0"),
        ({"seconds": np.array(np.nan)}, "its seconds is .*nan.*, not a finite number"),
        ({"seconds": np.array("a minute")}, "its seconds is .*, not a finite number"),
        ({"format_version": np.array("1")}, "its format_version is not an integer"),
        ({"format_version": np.array(0)}, "its format_version is 0, not an integer >= 1"),
        ({"config": np.array("{not json")}, r"its config is not valid \(Expecting"),
        ({"config": np.array("[1, 2]")}, "its config is not valid"),
        ({"config": np.array(7)}, "its config is not a string"),
        ({"vocab": np.array([97, 97], np.uint32)}, "its vocab is not valid.*distinct"),
        ({"vocab": np.array([0x110000], np.uint32)}, "its vocab is not a 1-D array of code points"),
        ({"vocab": np.array(["a", "b"])}, "its vocab is not a 1-D array of code points"),
        ({"history__loss": np.zeros(4)}, r"its history/loss has 4 entries, not one per step \(5\)"),
        ({"history__lr": np.full(STEP, np.inf)}, "its history/lr is not a 1-D array of finite numbers"),
        ({"history__grad_norm": np.zeros((STEP, 1))}, "its history/grad_norm is not a 1-D array"),
        ({"history__val_loss": np.zeros(2)}, "its history/val_step has 1 entries and its history/val_loss 2"),
        ({"history__val_step": np.array([0.5])}, "its history/val_step holds steps that are not whole"),
        ({"history__val_step": np.array([6.0])}, "its history/val_step holds steps outside 0 to 5"),
        (
            {"h": np.zeros((4, 9), np.float32)},
            r"its h is float32 \(4, 9\), not a finite float32 array of shape \(4, 8\)",
        ),
        ({"h": np.zeros((4, 8))}, r"its h is float64 \(4, 8\), not a finite float32"),
        ({"h": np.full((4, 8), np.nan, np.float32)}, "its h is .*not a finite"),
        (
            {"params__Wx": np.zeros((3, 3), np.float32)},
            r"its parameters are not those of its configuration: Wx is",
        ),
        ({"params__extra": np.zeros(3)}, r"its parameters are not those of its configuration: extra"),
        (
            {"config": Config(hidden_size=10**6).to_json()},
            r"its config's model has 2?[\d,]+ parameters, but its arrays hold only",
        ),
        (
            {"optimizer__m__Wx": np.zeros((3, 3), np.float32)},
            r"its adam state \(optimizer/...\) are not those.*m/Wx",
        ),
        ({"optimizer__velocity__Wx": np.zeros(3)}, r"its adam state .* velocity/Wx"),
        ({"optimizer__step": np.array(5.0)}, "its optimizer/step, Adam's count of steps, is 5.0, not an int"),
        ({"optimizer__step": np.array(-1)}, "its optimizer/step, Adam's count of steps, is -1"),
        (
            {"optimizer__v__Wh": np.full((8, 24), np.inf, np.float32)},
            r"its adam state .* \['v/Wh'\] hold NaN or inf",
        ),
        ({"rng": np.array("{not json")}, "its rng is not JSON"),
        (
            {"text__sha256": np.array("abc"), "text__characters": np.array(3)},
            "its text/sha256 is not a sha256",
        ),
        ({"text__characters": np.array(3)}, r"its text/ entries are \['characters'\]"),
        ({"params__Wx__inner": np.zeros(3)}, "its params/Wx/inner lies under an entry that is an array"),
    ],
)
def test_every_entry_is_checked_on_load_with_one_line_naming_it(saved, changes, message):
    error = _tampered(saved, **changes)
    assert re.match(rf"{re.escape(str(saved))} is not a usable checkpoint: {message}", error), error
    assert "\n" not in error


@pytest.mark.parametrize("entry", ["step", "window", "seconds", "config", "vocab", "history/lr", "rng"])
def test_a_missing_entry_is_named(saved, entry):
    with np.load(saved, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name != entry}
    np.savez(saved, **arrays)
    with pytest.raises(CheckpointError, match=f"is not a usable checkpoint: it has no entry '{entry}'"):
        checkpoint.load(saved)


def test_a_window_past_the_end_of_the_text_is_refused_when_the_text_is_given(saved):
    # 100 characters: 90 for training, 4 streams of 22, (22 - 1) // 8 = 2 windows of 4 x 8 an epoch
    with pytest.raises(
        CheckpointError, match=r"stopped at window 5 of an epoch, but this text now gives only 2"
    ):
        checkpoint.load(saved, text=TEXT[:100])
    assert checkpoint.load(saved, text=TEXT).state.window == 5


def test_a_window_past_the_end_of_the_very_text_it_was_trained_on_is_a_damaged_file(tmp_path):
    config = _config()
    params, state, rng, _ = _run(config, stop_at=30)  # 24 windows an epoch of ids[:800]: at window 6
    path = tmp_path / "run.npz"
    checkpoint.save(
        path, config=config, vocab=Vocabulary(TEXT), params=params, state=state, rng=rng, text=TEXT
    )
    _rewrite(path, window=np.array(27))  # TEXT's training split, 864 characters, has 26 windows of 4 x 8
    with pytest.raises(
        CheckpointError, match=r"not a usable checkpoint: its window is 27, but an epoch of its"
    ):
        checkpoint.load(path, text=TEXT)


def test_entries_that_no_checkpoint_has_are_refused(saved):
    _rewrite(saved, surprise=np.zeros(3))
    with pytest.raises(CheckpointError, match="holds entries no rnnlib checkpoint has: surprise"):
        checkpoint.load(saved)


def test_a_member_that_is_not_an_array_is_one_line_naming_the_file(saved):
    with zipfile.ZipFile(saved, "a") as archive:  # what `zip run.npz format_version` does
        archive.writestr("format_version", "1\n")
    with pytest.raises(CheckpointError) as error:
        checkpoint.load(saved)
    assert str(error.value).startswith(
        f"{saved} is not a checkpoint as rnnlib writes it: it holds format_version"
    )
    assert "invalid literal" not in str(error.value)


def test_a_run_saved_before_its_first_step_loads(tmp_path):
    path = tmp_path / "run.npz"
    _fresh(path, TEXT)  # RunState(): step 0, no optimiser state yet, no carried state
    loaded = checkpoint.load(path)
    assert (loaded.state.step, loaded.state.optimizer, loaded.state.h) == (0, {}, None)


# One writer at a time

HOLD = """
import sys
from rnnlib import checkpoint
with checkpoint.lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()  # until the test kills this process
"""


def test_a_second_writer_is_refused_naming_the_first_which_frees_the_lock_even_when_killed(saved):
    path = saved
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        since = time.strftime("%H:%M")
        pattern = rf"{re.escape(str(path))} is being written by another run: process {holder.pid} \(python"
        with pytest.raises(CheckpointError, match=pattern) as error:
            with checkpoint.lock(path):
                pass
        assert f"since {since}" in str(error.value) and "give another --checkpoint" in str(error.value)
        assert "\n" not in str(error.value)
        good = path.read_bytes()
        with pytest.raises(CheckpointError, match=f"process {holder.pid}"):
            _fresh(path, TEXT)  # a save that does not hold the lock is refused too
        assert path.read_bytes() == good
    finally:
        holder.kill()  # SIGKILL: no finally of its own runs
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    with checkpoint.lock(path):  # the system released it: the lock file it left is taken over
        _fresh(path, TEXT)
    assert not (path.parent / f"{path.name}.lock").exists()


def test_the_same_process_cannot_take_the_lock_twice_and_saves_under_its_own(tmp_path):
    path = tmp_path / "run.npz"
    with checkpoint.lock(path):
        assert json.loads((tmp_path / "run.npz.lock").read_text())["pid"] == os.getpid()
        with pytest.raises(CheckpointError, match=rf"process {os.getpid()} \(.*, this one\), since"):
            with checkpoint.lock(
                tmp_path / ".." / tmp_path.name / "run.npz"
            ):  # the same file, named otherwise
                pass
        _fresh(path, TEXT)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_a_lock_file_removed_under_a_waiting_opener_is_not_trusted(tmp_path, monkeypatch):
    path, lock_file = tmp_path / "run.npz", tmp_path / "run.npz.lock"
    with checkpoint.lock(path):
        stale = os.open(lock_file, os.O_RDWR)  # opened while the first holder had it ...
    assert not lock_file.exists()  # ... which released it by removing the file, then unlocking it
    opened = []

    def open_the_stale_one_first(name, *args):
        opened.append(name)
        return stale if len(opened) == 1 else os_open(name, *args)

    os_open = os.open
    monkeypatch.setattr(checkpoint.os, "open", open_the_stale_one_first)
    with checkpoint.lock(path):  # the stale file's lock is free, but no one else would see it: try again
        held = checkpoint._HELD[checkpoint._lock_file(path)]
        assert os.fstat(held).st_ino == os.stat(lock_file).st_ino
    assert len(opened) == 2


def test_taking_the_lock_removes_temporaries_a_killed_save_left_but_not_fresh_ones(tmp_path):
    left, fresh = tmp_path / ".run.npz.k3x_9a2b.part", tmp_path / ".run.npz.p0q1r2s3.part"
    others = [tmp_path / ".other.npz.k3x_9a2b.part", tmp_path / ".run.npz.x.npz.abcdefgh.part"]
    for file in (left, fresh, *others):
        file.write_bytes(b"PK\x03\x04 half a checkpoint")
    an_hour_ago = time.time() - 3600
    for file in (left, *others):
        os.utime(file, (an_hour_ago, an_hour_ago))
    with checkpoint.lock(tmp_path / "run.npz") as removed:
        assert removed == [left]
    assert not left.exists() and fresh.exists() and all(file.exists() for file in others)


# Room for a checkpoint


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_the_size_estimate_bounds_the_file_closely(tmp_path, optimizer):
    config = _config(optimizer=optimizer, lr=1e-2 if optimizer == "adam" else 0.3, steps=40)
    params, state, rng, _ = _run(config)
    path = tmp_path / "run.npz"
    _save(path, config, params, state, rng)
    size = path.stat().st_size
    estimate = checkpoint.size_estimate(params, state.optimizer, config)
    assert size <= estimate <= size + 40_000, (size, estimate)
    assert checkpoint.size_estimate(params, optimizer) == checkpoint.size_estimate(params, state.optimizer)


def test_check_room_refuses_a_folder_without_the_space_and_writes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "new" / "run.npz"
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(checkpoint.shutil, "disk_usage", lambda folder: usage._replace(free=1_500_000))
    checkpoint.check_room(path, 1_000_000)
    with pytest.raises(
        OSError, match=r"new: it has 1\.5 MB free, and the checkpoints need 2\.0 MB; free some"
    ):
        checkpoint.check_room(path, 2_000_000)
    assert list((tmp_path / "new").iterdir()) == [], "no file is written"


def test_check_room_refuses_a_folder_it_cannot_make_or_write(tmp_path, monkeypatch):
    (tmp_path / "notes").write_text("a file")
    with pytest.raises(
        OSError, match=r"cannot save checkpoints in .*notes/sub: .*notes is a file, not a folder"
    ):
        checkpoint.check_room(tmp_path / "notes" / "sub" / "run.npz", 1)
    with pytest.raises(OSError, match=r"is a folder; give a file name for the checkpoint"):
        checkpoint.check_room(tmp_path, 1)
    monkeypatch.setattr(checkpoint.os, "access", lambda *args: False)  # as for a read-only folder (not root)
    with pytest.raises(OSError, match=r"cannot save checkpoints in .*: it is not writable; give another"):
        checkpoint.check_room(tmp_path / "run.npz", 1)
