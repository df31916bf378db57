"""The command line end to end, in subprocesses on a small corpus: train, Ctrl-C, resume, evaluate, sample.

A full disk and a Ctrl-C at a given moment are planted with monkeypatch, so those tests call cli.main here.
"""

import errno
import importlib.util
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnlib import PROJECT_ROOT, checkpoint, cli
from rnnlib.config import Config

SMALL = [
    "--hidden-size",
    "16",
    "--batch-size",
    "4",
    "--seq-len",
    "8",
    "--warmup",
    "10",
    "--eval-every",
    "100",
]
WORDS = "the cat sat on a mat and the dog ran to the park with a red ball".split()


def rnnlib(*args, cwd, package="reference", **kwargs):
    """Run ``python -m rnnlib *args`` in ``cwd`` with the ``package`` that RNNLIB selects."""
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"} | ({"RNNLIB": package} if package else {})
    command = [sys.executable, "-m", "rnnlib", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, size=8)) for _ in range(500)]
    path = tmp_path / "small.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _train(corpus, path, *extra, **kwargs):
    return rnnlib(
        "train", "--corpus", corpus, "--checkpoint", path, *SMALL, *extra, cwd=corpus.parent, **kwargs
    )


def test_train_interrupted_by_ctrl_c_saves_and_resumes_to_exactly_the_uninterrupted_run(corpus, tmp_path):
    steps = ["--steps", "1000", "--checkpoint-every", "100", "--sample-every", "500"]
    whole = _train(corpus, tmp_path / "whole.npz", *steps)
    assert whole.returncode == 0, whole.stderr
    assert "100%" in whole.stdout and "step 1000 of 1000" in whole.stdout and "--- step 500" in whole.stdout
    assert "validation at step 1000: loss" in whole.stdout

    path = tmp_path / "run.npz"
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"} | {"RNNLIB": "reference"}
    command = [
        sys.executable,
        "-m",
        "rnnlib",
        "train",
        "--corpus",
        str(corpus),
        "--checkpoint",
        str(path),
        *SMALL,
    ]
    process = subprocess.Popen(
        [*command, *steps], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:  # the first checkpoint, at step 100
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "stopped by Ctrl-C; go on with:" in out
    stopped = checkpoint.load(path)
    assert 100 <= stopped.state.step < 1000, (
        "the run should have stopped between its first checkpoint and its end"
    )
    assert f"step {stopped.state.step} of 1000" in out
    validated = stopped.state.history["val_step"][-1]  # the validation before Ctrl-C, named by its step
    assert validated < stopped.state.step and f"; validation at step {validated}: loss" in out

    resumed = _train(corpus, path, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {path} at step {stopped.state.step} of 1000" in resumed.stdout
    done, reference = checkpoint.load(path), checkpoint.load(tmp_path / "whole.npz")
    assert done.state.step == 1000
    for name, P in reference.params.items():
        assert np.array_equal(done.params[name], P), (
            f"{name}: the resumed run differs from the uninterrupted one"
        )
    assert done.state.history["val_loss"] == reference.state.history["val_loss"]


def test_evaluate_and_sample_a_trained_checkpoint(corpus, tmp_path):
    path = tmp_path / "run.npz"
    assert _train(corpus, path, "--steps", "300", "--model", "rnn").returncode == 0

    result = rnnlib("evaluate", path, "--split", "test", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line in (
        "RNN, H=16",
        "on the test split of small.txt",
        "loss ",
        "perplexity ",
        "bits per char",
        "accuracy",
    ):
        assert line in result.stdout, result.stdout
    loss = float(result.stdout.split("loss")[1].split()[0])
    bits = float(result.stdout.split("bits per char")[1].split()[0])
    assert bits == pytest.approx(loss / np.log(2), abs=2e-3)

    (tmp_path / "other.txt").write_text("the dog sat on the cat\n", encoding="utf-8")
    on_text = rnnlib("evaluate", path, "--text", tmp_path / "other.txt", cwd=tmp_path)
    assert on_text.returncode == 0 and "(22 next characters)" in on_text.stdout, on_text.stderr

    first = rnnlib("sample", path, "--prompt", "the ", "--length", "60", "--seed", "3", cwd=tmp_path)
    again = rnnlib("sample", path, "--prompt", "the ", "--length", "60", "--seed", "3", cwd=tmp_path)
    cold = rnnlib("sample", path, "--prompt", "the ", "--length", "60", "--temperature", "0.3", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout == again.stdout and first.stdout.startswith("the ")
    assert len(first.stdout) == len("the ") + 60 + 1
    assert cold.returncode == 0 and cold.stdout != first.stdout


@pytest.fixture
def trained(corpus, tmp_path):
    path = tmp_path / "run.npz"
    assert _train(corpus, path, "--steps", "20").returncode == 0
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt", "zebra?"], "--prompt has characters outside the model's vocabulary: '?', 'z'"),
        (["--prompt", ""], "--prompt is empty"),
        (["--temperature", "-1"], "--temperature must be a finite number >= 0, got -1.0"),
        (["--top-k", "0"], "--top-k must be an int >= 1, got 0"),
    ],
)
def test_sample_refuses_bad_input_with_one_line(trained, args, message):
    result = rnnlib("sample", trained, *args, cwd=trained.parent)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("rnnlib sample: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_evaluate_names_the_characters_outside_the_vocabulary(trained):
    (trained.parent / "odd.txt").write_text("the Cat sat on the mat!\n", encoding="utf-8")
    result = rnnlib("evaluate", trained, "--text", trained.parent / "odd.txt", cwd=trained.parent)
    assert result.returncode == 1
    assert "characters outside the checkpoint's vocabulary: '!', 'C'" in result.stderr


def test_train_never_overwrites_a_checkpoint_and_resume_keeps_the_architecture(corpus, trained):
    again = _train(corpus, trained)
    assert again.returncode == 1 and "already exists: add --resume" in again.stderr
    other = _train(corpus, trained, "--resume", "--model", "rnn")
    assert other.returncode == 1 and "--model rnn, but" in other.stderr and "trained with gru" in other.stderr
    bigger = _train(corpus, trained, "--resume", "--hidden-size", "32")
    assert bigger.returncode == 1 and "--hidden-size 32, but" in bigger.stderr


def test_resume_refuses_another_corpus_and_a_corpus_whose_characters_changed(corpus, trained):
    other = corpus.parent / "other.txt"
    other.write_text(corpus.read_text(encoding="utf-8") + "and more\n", encoding="utf-8")
    another = _train(other, trained, "--resume")
    assert another.returncode == 1 and "--corpus" in another.stderr and "was trained with" in another.stderr
    corpus.write_text(corpus.read_text(encoding="utf-8") + "Zebra?\n", encoding="utf-8")
    changed = _train(corpus, trained, "--resume", "--steps", "40")  # 20 more steps: the text is read
    assert changed.returncode == 1 and "the text has '?', 'Z', which the model never saw" in changed.stderr


def _one_line(result, command):
    """The command failed with exactly one error line and printed nothing else."""
    assert result.returncode == 1 and result.stdout == "", result.stdout
    assert result.stderr.startswith(f"rnnlib {command}: error: ") and result.stderr.count("\n") == 1, (
        result.stderr
    )
    return result.stderr


def test_resume_and_evaluate_refuse_a_corpus_file_edited_since_and_evaluate_names_a_missing_one(
    corpus, trained
):
    text = corpus.read_text(encoding="utf-8")
    with np.load(trained) as npz:
        assert {"text/sha256", "text/characters"} <= set(npz.files), "train stores the text's fingerprint"
    for edited in (text.replace("cat", "tac"), text[: len(text) // 2]):  # the same characters, other text
        corpus.write_text(edited, encoding="utf-8")
        error = _one_line(_train(corpus, trained, "--resume", "--steps", "40"), "train")
        assert (
            f"was trained on another text: it had {len(text):,} characters, this one has {len(edited):,}"
            in error
        )
        error = _one_line(rnnlib("evaluate", trained, cwd=trained.parent), "evaluate")
        assert "was trained on another text" in error
    corpus.unlink()
    error = _one_line(rnnlib("evaluate", trained, cwd=trained.parent), "evaluate")
    assert f"was trained on {corpus}, which is no longer there" in error and "--text FILE" in error


def test_a_checkpoint_without_the_texts_fingerprint_resumes_with_a_note_but_not_on_a_shorter_text(
    corpus, trained
):
    with np.load(trained) as npz:  # as checkpoint.save writes it without text=, or as older versions did
        arrays = {name: npz[name] for name in npz.files if not name.startswith("text/")}
    np.savez(trained, **arrays)
    text = corpus.read_text(encoding="utf-8")
    corpus.write_text("\n".join([" ".join(WORDS)] * 10), encoding="utf-8")  # every character, 18 windows
    error = _one_line(_train(corpus, trained, "--resume", "--steps", "40"), "train")
    assert "stopped at window 20 of an epoch, but" in error and "now gives only 18" in error
    corpus.write_text(text, encoding="utf-8")
    resumed = _train(corpus, trained, "--resume", "--steps", "40")
    assert resumed.returncode == 0 and "step 40 of 40" in resumed.stdout, resumed.stderr
    assert "holds no fingerprint of the text it was trained on" in resumed.stderr


def test_a_checkpoint_that_cannot_be_written_stops_training_before_it_starts(corpus):
    before = corpus.read_bytes()
    error = _one_line(_train(corpus, corpus / "run.npz", "--steps", "20"), "train")
    assert f"cannot save checkpoints in {corpus}: {corpus} is a file, not a folder" in error
    assert corpus.read_bytes() == before


def test_a_save_that_fails_during_training_stops_there_and_keeps_the_last_checkpoint(
    corpus, tmp_path, monkeypatch, capsys
):
    path, savez, saves = tmp_path / "run.npz", np.savez, []

    def disk_full_at_the_second_save(file, **arrays):
        saves.append(arrays)
        if len(saves) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        savez(file, **arrays)

    monkeypatch.setattr(np, "savez", disk_full_at_the_second_save)
    train = ["train", "--corpus", str(corpus), "--checkpoint", str(path), *SMALL]
    assert cli.main([*train, "--steps", "30", "--checkpoint-every", "10"]) == 1
    error = capsys.readouterr().err
    assert error == (
        f"rnnlib train: error: could not save {path} at step 20 (No space left on device), so the run "
        f"stopped there; {path} (step 10) is intact; once that is fixed, --resume goes on from it\n"
    )
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".txt"] == ["run.npz"], "no temporary file left"
    assert checkpoint.load(path).state.step == 10
    monkeypatch.undo()  # the disk has room again
    assert cli.main([*train, "--steps", "30", "--resume"]) == 0
    assert checkpoint.load(path).state.step == 30


def test_ctrl_c_before_training_starts_is_one_line_and_changes_nothing(corpus, tmp_path, monkeypatch, capsys):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "load", ctrl_c)
    assert cli.main(["evaluate", str(tmp_path / "run.npz")]) == cli.INTERRUPTED
    assert capsys.readouterr().err == "rnnlib evaluate: stopped by Ctrl-C; nothing was changed\n"
    monkeypatch.setattr(cli.Config, "load_text", ctrl_c)  # Ctrl-C while the corpus is read
    assert cli.main(["train", "--corpus", str(corpus), "--checkpoint", str(tmp_path / "run.npz")]) == 130
    assert capsys.readouterr().err == "rnnlib train: stopped by Ctrl-C; nothing was changed\n"
    assert not (tmp_path / "run.npz").exists()


def test_evaluate_names_a_text_it_cannot_read(trained):
    error = _one_line(rnnlib("evaluate", trained, "--text", trained.parent, cwd=trained.parent), "evaluate")
    assert f"cannot read {trained.parent}: Is a directory" in error
    (trained.parent / "latin1.txt").write_bytes("the caf\xe9\n".encode("latin-1"))
    error = _one_line(rnnlib("evaluate", trained, "--text", "latin1.txt", cwd=trained.parent), "evaluate")
    assert "latin1.txt is not UTF-8 text (invalid continuation byte at byte 7)" in error


def test_a_corpus_too_short_for_one_window_names_the_split_and_what_to_change(corpus, tmp_path):
    path = tmp_path / "run.npz"
    error = _one_line(_train(corpus, path, "--seq-len", "4000"), "train")
    assert (
        "the training split of" in error and "fewer than the 16,004 of one window of --batch-size 4" in error
    )
    assert "use a smaller --batch-size or --seq-len, or a longer corpus" in error
    error = _one_line(_train(corpus, path, "--val-fraction", "0.001"), "train")
    assert "the validation split of" in error and "has 15 characters, fewer than the 36" in error
    assert "a larger --val-fraction" in error
    assert not path.exists()


def test_checkpoint_every_must_be_positive_and_a_finished_run_is_not_saved_again(corpus, trained):
    assert "--checkpoint-every must be an int >= 1" in _one_line(
        _train(corpus, trained.parent / "new.npz", "--checkpoint-every", "0"), "train"
    )
    before = trained.read_bytes()
    again = _train(corpus, trained, "--resume")
    assert again.returncode == 0 and "is already complete, at step 20 of 20: nothing to train" in again.stdout
    assert "saved" not in again.stdout and trained.read_bytes() == before


def test_a_corrupt_checkpoint_is_one_line_and_leaves_the_file_alone(trained):
    data = trained.read_bytes()
    trained.write_bytes(data[:1000])
    result = rnnlib("evaluate", trained, cwd=trained.parent)
    assert result.returncode == 1 and "truncated or corrupt" in result.stderr
    assert result.stderr.count("\n") == 1 and trained.read_bytes() == data[:1000]


def test_help_lists_the_commands_and_the_lesson_defaults(tmp_path):
    result = rnnlib("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("train", "evaluate", "sample"):
        assert command in result.stdout
    train_help = rnnlib("train", "--help", cwd=tmp_path).stdout
    for option in ("--resume", "--model {gru,rnn}", "(default: tinyshakespeare)", "--checkpoint-every"):
        assert option in train_help, train_help
    words = " ".join(train_help.split())  # argparse wraps the help at the terminal's width
    assert "--lr LR peak learning rate (default: 1 with sgd, 0.1 with momentum, 0.003 with adam)" in words
    assert "to the peak (default: 100, or a tenth of --steps if fewer)" in words
    assert "gradient norm (default: 1 with sgd, 1 with momentum, 5 with adam)" in words
    assert "--model rnn --optimizer sgd needs only the exercises of lessons 01-05" in words


def test_on_the_stubs_the_command_says_which_exercise_to_do_in_one_line(corpus, tmp_path):
    result = _train(corpus, tmp_path / "run.npz", "--steps", "20", package=None)
    assert result.returncode == 1
    assert (
        result.stderr.startswith("rnnlib train: Exercise ") and "is not done yet: implement" in result.stderr
    )
    assert result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "run.npz").exists()


@pytest.fixture(scope="module")
def after_lesson_05(tmp_path_factory):
    """A student's rnnlib/ with the exercises of lessons 01-05 done and the later ones still stubs, made
    from solutions/ by the generator's own function."""
    spec = importlib.util.spec_from_file_location("generate", PROJECT_ROOT / "tools" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    root = tmp_path_factory.mktemp("student")
    for name, text in generate.expected_files(PROJECT_ROOT, solved_through=5).items():
        if name.startswith("rnnlib/"):
            (root / name).parent.mkdir(exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
    return root / "rnnlib"


def _not_done(result, command, exercise, meanwhile):
    """The command stopped on ``exercise`` before training started, in one line that ends ``meanwhile``."""
    assert result.returncode == 1 and "training:" not in result.stdout, result.stdout
    assert result.stderr.startswith(f"rnnlib {command}: Exercise {exercise} is not done yet: ")
    assert result.stderr.endswith(f"; {meanwhile}\n") and result.stderr.count("\n") == 1, result.stderr


def test_after_lesson_05_the_command_says_what_trains_before_the_first_step(
    corpus, tmp_path, after_lesson_05
):
    path, reference = tmp_path / "run.npz", "RNNLIB=reference python -m rnnlib train ..."
    default = _train(corpus, path, "--steps", "20", package=after_lesson_05)
    until = "until then train with {} (lesson 05's exercises), or run the reference: " + reference
    _not_done(default, "train", "7.2", until.format("--model rnn --optimizer sgd"))
    assert default.stdout == "" and not path.exists()
    adam = _train(corpus, path, "--steps", "20", "--model", "rnn", package=after_lesson_05)
    _not_done(adam, "train", "9.2", until.format("--optimizer sgd"))
    assert "implement adam_step in" in adam.stderr and adam.stdout == "" and not path.exists()
    momentum = _train(corpus, path, "--model", "rnn", "--optimizer", "momentum", package=after_lesson_05)
    _not_done(momentum, "train", "9.1", until.format("--optimizer sgd"))

    sgd = _train(
        corpus, path, "--steps", "20", "--model", "rnn", "--optimizer", "sgd", package=after_lesson_05
    )
    assert sgd.returncode == 0, sgd.stderr
    assert "RNN, H=16" in sgd.stdout and ", sgd lr 1, 20 steps" in sgd.stdout
    saved = checkpoint.load(path).config
    assert (saved.lr, saved.clip) == (1.0, 1.0), "lesson 05's settings"
    sample = rnnlib("sample", path, cwd=tmp_path, package=after_lesson_05)  # lesson 11's exercises
    meanwhile = "RNNLIB=reference python -m rnnlib sample ... runs the course's reference meanwhile"
    _not_done(sample, "sample", "11.3", meanwhile)


def test_a_resumed_run_keeps_its_optimiser_so_only_the_reference_is_offered(
    corpus, tmp_path, after_lesson_05
):
    path = tmp_path / "run.npz"
    assert _train(corpus, path, "--steps", "20", "--model", "rnn").returncode == 0  # Adam, by the reference
    resumed = _train(corpus, path, "--resume", "--steps", "40", package=after_lesson_05)
    meanwhile = "RNNLIB=reference python -m rnnlib train ... runs the course's reference meanwhile"
    _not_done(resumed, "train", "9.2", meanwhile)
    assert checkpoint.load(path).state.step == 20


def test_without_lr_and_clip_each_optimiser_takes_its_own_and_lesson_10s_run_is_unchanged():
    assert cli._config({}) == Config()
    assert repr(Config()) == (  # as lesson 10 prints it, and its committed checkpoint holds it
        "Config(corpus='tinyshakespeare', model='gru', hidden_size=256, dtype='float32', optimizer='adam', "
        "lr=0.003, warmup=100, final_lr=0.0001, steps=2800, batch_size=64, seq_len=64, clip=5.0, "
        "val_fraction=0.05, test_fraction=0.05, eval_every=250, sample_every=500, seed=0)"
    )
    for optimizer, lr, clip in (("sgd", 1.0, 1.0), ("momentum", 0.1, 1.0), ("adam", 3e-3, 5.0)):
        config = cli._config({"optimizer": optimizer})
        assert (config.lr, config.clip) == (lr, clip) and config.final_lr <= config.lr
        given = cli._config({"optimizer": optimizer, "lr": 0.5, "clip": 2.0})
        assert (given.lr, given.clip) == (0.5, 2.0)


def test_the_default_warm_up_shrinks_for_a_short_run_and_a_given_one_must_fit(corpus, tmp_path, capsys):
    warmups = [cli._config({"steps": steps}).warmup for steps in (5, 10, 300, 1000, 2800)]
    assert warmups == [0, 1, 30, 100, 100]
    assert cli._config({"steps": 10, "warmup": 3}).warmup == 3
    path = tmp_path / "run.npz"
    small = ["--hidden-size", "16", "--batch-size", "4", "--seq-len", "8", "--sample-every", "0"]
    train = ["train", "--corpus", str(corpus), "--checkpoint", str(path), *small, "--steps", "10"]
    assert cli.main([*train, "--warmup", "10"]) == 1
    assert capsys.readouterr().err == "rnnlib train: error: --warmup (10) must be less than --steps (10)\n"
    assert not path.exists()
    assert cli.main(train) == 0
    assert "step 10 of 10" in capsys.readouterr().out and checkpoint.load(path).config.warmup == 1


def test_train_saves_every_checkpoint_every_steps_at_the_end_and_where_a_signal_stops_it(
    corpus, tmp_path, monkeypatch
):
    saved, asked = [], []

    def requested(self):  # the stop signal arrives during step 13
        asked.append(1)
        if len(asked) == 13:
            self.signal = signal.SIGTERM
        return self.signal is not None

    monkeypatch.setattr(checkpoint, "save", lambda path, **run: saved.append(run["state"].step))
    options = ["train", "--corpus", str(corpus), *SMALL, "--steps", "25", "--checkpoint-every", "10"]
    assert cli.main([*options, "--checkpoint", str(tmp_path / "whole.npz")]) == 0
    assert saved == [10, 20, 25]
    saved.clear()
    monkeypatch.setattr(cli._StopOnSignals, "requested", requested)
    assert cli.main([*options, "--checkpoint", str(tmp_path / "stopped.npz")]) == 128 + signal.SIGTERM
    assert saved == [10, 13]
