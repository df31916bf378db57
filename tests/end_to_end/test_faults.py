"""The fault matrix of the command line (issue 17): each way a run could be lost, or a mistake could end in a
traceback or a silent surprise, gets one clear line, and nothing saved is lost.

Small and fast: a corpus of a few thousand characters, a GRU of 16 units, runs of tens of steps, cli.main
in this process; a subprocess only where a real process is needed (signals, a second writer, imports).
"""

import math
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from rnnlib import checkpoint, cli, sampling
from rnnlib import config as config_module
from rnnlib.config import Config
from rnnlib.training import RunState, evaluate

SMALL = ["--hidden-size", "16", "--batch-size", "4", "--seq-len", "8", "--warmup", "5", "--sample-every", "0"]
WORDS = "the cat sat on a mat and the dog ran to the park with a red ball".split()


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "small.txt"
    path.write_text(
        "\n".join(" ".join(rng.choice(WORDS, size=8)) for _ in range(300)) + "\n", encoding="utf-8"
    )
    return path


def _train(corpus, path, *extra):
    """``python -m rnnlib train`` on the small corpus, in this process; its exit status."""
    return cli.main(["train", "--corpus", str(corpus), "--checkpoint", str(path), *SMALL, *map(str, extra)])


def _one_line(capsys, command="train"):
    """The single error line the command printed on stderr."""
    err = capsys.readouterr().err
    assert err.startswith(f"rnnlib {command}: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def trained(corpus, tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert _train(corpus, path, "--steps", 40, "--eval-every", 10) == 0
    capsys.readouterr()
    return path


def _environment():
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    return env | {"RNNLIB": "reference", "PYTHONUNBUFFERED": "1"}


def _start(*args, cwd):
    """``python -m rnnlib *args`` in a process of its own, its stdout and stderr piped."""
    command = [sys.executable, "-m", "rnnlib", *map(str, args)]
    return subprocess.Popen(
        command, cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process):
    """(stdout, stderr) of the rest of the process, once it has ended. Read through the streams, not with
    communicate(), which reads the pipes underneath them and would miss what they have read ahead."""
    out, err = process.stdout.read(), process.stderr.read()
    process.wait(timeout=60)
    return out, err


def _read_until(stream, marker, timeout=60):
    """Read ``stream`` until ``marker`` has appeared; what was read."""
    read, deadline = "", time.monotonic() + timeout
    while marker not in read:
        assert time.monotonic() < deadline, f"{marker!r} never came; read: {read!r}"
        character = stream.read(1)
        assert character, f"the process ended before {marker!r}; read: {read!r}"
        read += character
    return read


# 1. Divergence that stays finite


def test_resume_at_lr_100_stops_at_once_and_leaves_the_only_checkpoint_as_it_was(corpus, trained, capsys):
    before = trained.read_bytes()
    assert _train(corpus, trained, "--resume", "--steps", 80, "--lr", 100) == 1
    error = _one_line(capsys)
    assert error.startswith("rnnlib train: error: training diverged at step 42: ")  # the second step
    assert f"that state was not saved: {trained} (step 40) is intact" in error and "a smaller --lr" in error
    assert trained.read_bytes() == before
    assert sorted(p.name for p in trained.parent.iterdir()) == ["run.npz", "small.txt"], "nothing beside it"


def test_adam_at_lr_10_stops_with_one_line_and_saves_nothing(corpus, tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert _train(corpus, path, "--steps", 80, "--lr", 10) == 1
    error = _one_line(capsys)
    assert "training diverged at step" in error and "above ln V, the loss of guessing uniformly" in error
    assert "nothing was saved: start again with a smaller --lr (this run's: 10)" in error
    assert not path.exists()


@pytest.mark.parametrize(
    ("late_lr", "seen", "step"),
    [(100.0, "the mean training loss of the last 20", 47), (math.inf, "the loss is nan", 47)],
)
def test_a_run_that_diverges_midway_names_the_last_good_checkpoint_which_is_near_its_best(
    corpus, tmp_path, monkeypatch, capsys, late_lr, seen, step
):
    def healthy_then(lr, steps, warmup, final_lr):  # the schedule the run gets instead of lesson 10's
        return lambda step: 0.01 if step <= 45 else late_lr

    monkeypatch.setattr(config_module, "warmup_cosine", healthy_then)
    path = tmp_path / "run.npz"
    with np.errstate(invalid="ignore"):
        assert _train(corpus, path, "--steps", 100, "--checkpoint-every", 20, "--eval-every", 20) == 1
    error = _one_line(capsys)
    assert f"training diverged at step {step}: " in error and seen in error
    assert f"{path} (step 40) is intact" in error
    kept = checkpoint.load(path)
    assert kept.state.step == 40
    _, _, val_ids, _ = kept.config.splits(corpus.read_text(encoding="utf-8"))
    loss = evaluate(kept.model, kept.params, val_ids, 4, 8)
    best = min(kept.state.history["val_loss"])
    assert loss == pytest.approx(best, abs=1e-9) and loss < np.log(len(kept.vocab)) - 0.5, (loss, best)


@pytest.mark.parametrize("steps", [41, 80])
def test_a_save_right_after_the_update_that_blew_up_the_model_is_refused(corpus, trained, capsys, steps):
    # The diverging update is step 41's; saving after every step (or at the end, --steps 41) used to write
    # its parameters over step 40's before any loss had shown them: the save itself checks them now.
    before = trained.read_bytes()
    blow_up = ["--lr", 100, "--final-lr", 100, "--checkpoint-every", 1]
    assert _train(corpus, trained, "--resume", "--steps", steps, *blow_up) == 1
    error = _one_line(capsys)
    assert "training diverged at step 41: its update took the loss of the window it trained on" in error
    assert f"{trained} (step 40) is intact" in error
    assert trained.read_bytes() == before


def test_a_first_update_that_blows_up_the_model_saves_nothing(corpus, tmp_path, capsys):
    path = tmp_path / "run.npz"
    sgd = ["--model", "rnn", "--optimizer", "sgd", "--lr", 1e6, "--clip", 1e30, "--checkpoint-every", 1]
    with np.errstate(all="ignore"):
        assert _train(corpus, path, "--steps", 50, *sgd) == 1
    error = _one_line(capsys)
    assert "training diverged at step 1" in error and "nothing was saved" in error
    assert not path.exists()


def test_the_part_file_of_a_save_killed_midway_is_removed_by_the_next_run_and_named(corpus, trained, capsys):
    part = trained.parent / f".{trained.name}.k1ll3d.part"  # the name checkpoint.save's temporary file has
    part.write_bytes(trained.read_bytes()[:1000])
    os.utime(part, (time.time() - 3600,) * 2)  # an hour old: no save is writing it now
    assert _train(corpus, trained, "--resume", "--steps", 50) == 0
    note = f"note: removed {part.name} beside {trained}, left by a save that was killed"
    assert note in capsys.readouterr().err
    assert not part.exists()


# 2. Two runs on one checkpoint, and 3. SIGTERM and SIGHUP


def _training(corpus, path):
    """A long run in a process of its own, returned once it is training (its signal handlers are set)."""
    process = _start("train", "--corpus", corpus, "--checkpoint", path, *SMALL, "--steps", 10**6,
                     "--checkpoint-every", 10**6, cwd=corpus.parent)  # fmt: skip
    _read_until(process.stdout, "training:")  # the progress bar, drawn once train() has begun
    return process


def test_a_second_run_on_a_checkpoint_is_refused_naming_the_first_and_sigterm_saves(corpus, tmp_path, capsys):
    path = tmp_path / "run.npz"
    first = _training(corpus, path)
    try:
        assert _train(corpus, path, "--steps", 20) == 1
        error = _one_line(capsys)
        assert f"{path} is being written by another run: process {first.pid} (" in error
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = _finish(first)
    assert first.returncode == 128 + signal.SIGTERM == 143, err
    assert "SIGTERM: saving a checkpoint after this step" in out and "Traceback" not in err
    assert f"stopped by SIGTERM; go on with: python -m rnnlib train --checkpoint {path} --resume" in out
    assert checkpoint.load(path).state.step >= 1
    with checkpoint.lock(path):  # released when the first run ended
        pass


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this system")
def test_sighup_the_terminal_closing_saves_after_the_current_step(corpus, tmp_path):
    path = tmp_path / "run.npz"
    process = _training(corpus, path)
    process.send_signal(signal.SIGHUP)
    out, err = _finish(process)
    assert process.returncode == 128 + signal.SIGHUP == 129, err
    assert "SIGHUP: saving a checkpoint after this step" in out and "Traceback" not in err
    assert checkpoint.load(path).state.step >= 1


# 4. Tracebacks and silent surprises, each one line


def test_the_final_line_of_a_run_whose_validation_loss_is_above_709_says_inf():
    state = RunState(step=5, history={"val_step": [5], "val_loss": [800.0]})
    line = cli._summary(Config(steps=5, warmup=0), state, "run.npz")
    assert "loss 800.0000 nats/char (perplexity inf); saved run.npz" in line


def test_a_model_too_large_for_memory_is_refused_before_anything_is_allocated(corpus, tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert _train(corpus, path, "--hidden-size", 100_000, "--steps", 20) == 1
    error = _one_line(capsys)
    assert "--hidden-size 100000, --batch-size 4 and --seq-len 8 need about" in error
    assert "GB of memory" in error and "this machine has" in error and "make them smaller" in error
    assert not path.exists()


def test_parameter_count_is_the_models_without_making_it():
    for model in ("rnn", "gru"):
        config = Config(model=model, hidden_size=7)
        assert config.parameter_count(11) == sum(P.size for P in config.init_params(11).values())


def test_ctrl_c_while_python_m_rnnlib_imports_is_one_line(tmp_path):
    # Ctrl-C arriving while NumPy loads: KeyboardInterrupt raised by that import, in a real process.
    script = (
        "import builtins, runpy\n"
        "real_import = builtins.__import__\n"
        "def ctrl_c_at_numpy(name, *args, **kwargs):\n"
        "    if name == 'numpy':\n"
        "        raise KeyboardInterrupt\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = ctrl_c_at_numpy\n"
        "runpy.run_module('rnnlib', run_name='__main__', alter_sys=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, "train"], cwd=tmp_path, env=_environment(),
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 130 and result.stdout == ""
    assert result.stderr == "rnnlib: stopped by Ctrl-C while starting; nothing was changed\n"


def test_a_checkpoint_that_names_a_folder_is_refused(corpus, tmp_path, capsys):
    assert _train(corpus, f"{tmp_path / 'runs'}/", "--steps", 20) == 1
    assert f"--checkpoint {tmp_path / 'runs'}/ names a folder; give a file in it, e.g. --checkpoint " in (
        _one_line(capsys)
    )
    assert not (tmp_path / "runs").exists()
    assert _train(corpus, tmp_path, "--steps", 20) == 1
    assert (
        f"--checkpoint {tmp_path} is a folder; give a file in it, e.g. --checkpoint {tmp_path}/small_gru.npz"
        in (_one_line(capsys))
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample", "none.npz", "--seed", "-1"], "--seed must be an int >= 0, got -1"),
        (["sample", "none.npz", "--length", "-1"], "--length must be an int >= 0, got -1"),
        (
            ["sample", "none.npz", "--temperature", "inf"],
            "--temperature must be a finite number >= 0, got inf",
        ),
        (
            ["sample", "none.npz", "--temperature", "nan"],
            "--temperature must be a finite number >= 0, got nan",
        ),
        (["train", "--lr", "inf"], "--lr must be a finite number > 0, got inf"),
        (["train", "--lr", "nan"], "--lr must be a finite number > 0, got nan"),
        (["train", "--clip", "inf"], "--clip must be a finite number > 0, got inf"),
        (["train", "--final-lr", "nan"], "--final-lr must be a finite number > 0, got nan"),
        (["train", "--val-fraction", "1.5"], "--val-fraction must be a number between 0 and 1, got 1.5"),
        (["train", "--test-fraction", "nan"], "--test-fraction must be a number between 0 and 1, got nan"),
        (["train", "--hidden-size", "0"], "--hidden-size must be an int >= 1, got 0"),
        (["train", "--steps", "-3"], "--steps must be an int >= 1, got -3"),
        (["train", "--warmup", "-1"], "--warmup must be an int >= 0, got -1"),
        (["train", "--sample-every", "-1"], "--sample-every must be an int >= 0, got -1"),
        (["train", "--seed", "-1"], "--seed must be an int >= 0, got -1"),
    ],
)
def test_every_option_is_checked_before_anything_is_loaded(tmp_path, capsys, args, message):
    if args[0] == "train":  # a corpus and a checkpoint folder that do not exist: never reached
        args += ["--corpus", str(tmp_path / "none.txt"), "--checkpoint", str(tmp_path / "no" / "run.npz")]
    assert cli.main(args) == 1
    assert _one_line(capsys, args[0]) == f"rnnlib {args[0]}: error: {message}\n"
    assert sorted(tmp_path.iterdir()) == []


def test_a_small_lr_takes_the_final_lr_down_with_it_and_a_final_lr_above_the_peak_names_both(
    corpus, tmp_path, capsys
):
    assert cli._config({"lr": 1e-5}).final_lr == 1e-5  # a constant rate after the warm-up
    assert cli._config({}).final_lr == 1e-4 == Config().final_lr  # lesson 10's run is unchanged
    assert _train(corpus, tmp_path / "run.npz", "--lr", 1e-5, "--steps", 10) == 0
    capsys.readouterr()
    assert _train(corpus, tmp_path / "other.npz", "--lr", 1e-3, "--final-lr", 1e-2) == 1
    assert "--final-lr (0.01) must not exceed the peak --lr (0.001)" in _one_line(capsys)
    assert _train(corpus, tmp_path / "other.npz", "--optimizer", "sgd", "--final-lr", 2) == 1
    assert "--final-lr (2) must not exceed the peak --lr (1, the default)" in _one_line(capsys)


def test_one_is_singular(tmp_path, corpus, capsys):
    (tmp_path / "one.txt").write_text("a", encoding="utf-8")
    assert _train(tmp_path / "one.txt", tmp_path / "one.npz") == 1
    assert "holds 1 character; a language model needs text" in _one_line(capsys)
    assert _train(corpus, tmp_path / "run.npz", "--steps", 1, "--warmup", 0) == 0
    assert "1 step of 4x8" in capsys.readouterr().out


def test_a_full_disk_is_refused_before_the_first_step_and_nothing_is_written(
    corpus, tmp_path, monkeypatch, capsys
):
    def almost_full(folder):
        return SimpleNamespace(total=10**9, used=10**9 - 1000, free=1000)

    monkeypatch.setattr(checkpoint.shutil, "disk_usage", almost_full)
    assert _train(corpus, tmp_path / "runs" / "run.npz", "--steps", 20) == 1
    captured = capsys.readouterr()
    assert "cannot save checkpoints in" in captured.err and "0.0 MB free" in captured.err
    assert captured.out == "" and captured.err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["runs", "small.txt"], "not a file written"


def test_resume_with_another_steps_announces_the_new_schedule(corpus, trained, capsys):
    assert _train(corpus, trained, "--resume", "--steps", 60) == 0
    out = capsys.readouterr().out
    assert f"resuming {trained} at step 40 of 60, with changed settings: steps 40 -> 60; the learning" in out
    assert _train(corpus, trained, "--resume", "--steps", 50) == 1
    assert f"--steps 50, but {trained} has already trained 60 steps" in _one_line(capsys)
    assert _train(corpus, trained, "--resume", "--steps", 70, "--lr", 1e-5) == 0  # below the final lr
    changed = "changed settings: final_lr 0.0001 -> 1e-05, lr 0.003 -> 1e-05, steps 60 -> 70"
    assert changed in capsys.readouterr().out and checkpoint.load(trained).config.final_lr == 1e-5


@pytest.mark.parametrize(("seed", "temperature", "top_k"), [(3, 1.0, None), (0, 0.5, 3), (1, 0.0, None)])
def test_sample_streams_the_text_sample_gives_for_the_seed(trained, capsys, seed, temperature, top_k):
    options = ["--prompt", "the ", "--length", "80", "--seed", str(seed), "--temperature", str(temperature)]
    options += ["--top-k", str(top_k)] if top_k else []
    assert cli.main(["sample", str(trained), *options]) == 0
    saved = checkpoint.load(trained)
    rng = np.random.default_rng(seed)
    text = sampling.sample(
        saved.model, saved.params, saved.vocab, "the ", 80, rng, temperature=temperature, top_k=top_k
    )
    assert capsys.readouterr().out == text + "\n"


def test_ctrl_c_during_a_long_sample_keeps_what_was_printed(trained):
    options = ["--prompt", "the ", "--length", 10**7, "--seed", 5]
    process = _start("sample", trained, *options, cwd=trained.parent)
    early = process.stdout.read(300)  # the prompt and the first characters, as they are generated
    process.send_signal(signal.SIGINT)
    rest, err = _finish(process)
    printed = (early + rest).removesuffix("\n")
    assert process.returncode == 130
    count = len(printed) - len("the ")
    assert err == (
        f"rnnlib sample: stopped by Ctrl-C after {count:,} characters of 10,000,000; "
        "what was printed is kept\n"
    )
    saved = checkpoint.load(trained)
    rng = np.random.default_rng(5)
    assert printed == sampling.sample(saved.model, saved.params, saved.vocab, "the ", count, rng)


def test_a_checkpoint_whose_lock_file_cannot_be_made_is_one_line(corpus, tmp_path, capsys):
    path = tmp_path / "run.npz"
    (tmp_path / "run.npz.lock").mkdir()  # a folder where the lock file would go
    assert _train(corpus, path, "--steps", 10) == 1
    error = _one_line(capsys)
    assert f"cannot write checkpoints at {path}: its lock file run.npz.lock cannot be made there" in error


def test_evaluating_a_text_of_one_character_names_the_file(trained, tmp_path, capsys):
    text = tmp_path / "one.txt"
    text.write_text("a", encoding="utf-8")
    assert cli.main(["evaluate", str(trained), "--text", str(text)]) == 1
    assert f"{text} holds 1 character; evaluating needs at least 2" in _one_line(capsys, "evaluate")


def test_resuming_as_another_model_names_the_flag(corpus, trained, capsys):
    assert _train(corpus, trained, "--resume", "--model", "rnn") == 1
    error = _one_line(capsys)
    assert "--model rnn, but" in error and "drop the option" in error


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_output_into_a_pipe_whose_reader_has_gone_ends_quietly(trained, command):
    # `| head`: the reader closes the pipe before all is written. Here it is closed before anything is.
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnlib", command, str(trained)],
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()
    err = process.stderr.read()
    assert (process.wait(timeout=60), err) == (0, "")


def test_a_moved_corpus_is_named_with_corpus_and_its_sha256_vouches_for_it(corpus, trained, capsys):
    moved = corpus.parent / "moved" / "small.txt"
    moved.parent.mkdir()
    corpus.rename(moved)
    assert _train(corpus, trained, "--resume", "--steps", 60) == 1
    error = _one_line(capsys)
    assert "which is no longer there" in error and "give its new path with --corpus" in error
    assert _train(moved, trained, "--resume", "--steps", 60) == 0
    assert "is now read from" in capsys.readouterr().err
    assert checkpoint.load(trained).state.step == 60
