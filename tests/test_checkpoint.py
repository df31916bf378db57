"""Lesson 10's checkpoints: round trip, exact resume, atomic write, one clear error per bad file."""

import dataclasses
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from rnnlib import checkpoint
from rnnlib.checkpoint import CheckpointError
from rnnlib.config import Config
from rnnlib.data import Vocabulary
from rnnlib.train import RunState, train

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
    history = train(
        config.module(),
        params,
        ids[:800],
        ids[800:],
        vocab=vocab,
        rng=rng,
        state=state,
        plot=False,
        progress=False,
        stop=(lambda: state.step == stop_at) if stop_at else None,
        **config.train_settings(),
    )
    return params, state, rng, history


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
        train(
            diverging,
            params,
            ids[:800],
            ids[800:],
            vocab=vocab,
            rng=np.random.default_rng(1),
            state=state,
            plot=False,
            progress=False,
            checkpoint_every=5,
            on_checkpoint=save,
            **config.train_settings(),
        )
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
    with pytest.raises(CheckpointError, match="not a complete checkpoint.*parameters"):
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
    with pytest.raises(CheckpointError, match=f"not a complete checkpoint \\({message}"):
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
