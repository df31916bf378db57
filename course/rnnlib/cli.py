"""The command line: ``python -m rnnlib train | evaluate | sample``, lesson 10's run from a terminal.

    python -m rnnlib train                      # lesson 10's GRU on tinyshakespeare, checkpointed
    python -m rnnlib train --resume             # go on from the last checkpoint (after Ctrl-C)
    python -m rnnlib evaluate checkpoints/tinyshakespeare_gru.npz --split test
    python -m rnnlib sample checkpoints/tinyshakespeare_gru.npz --prompt "ROMEO:" --temperature 0.8

It runs the rnnlib that ``import rnnlib`` selects (yours, or the reference with RNNLIB=reference): on an
exercise that is not done yet it says which, and what runs meanwhile, in one line. Errors are one line
too, and exit with 1; every option is checked before anything is loaded. Ctrl-C before training starts,
or during evaluate, changes nothing and exits with 130; during sample it keeps what was printed. During
training, Ctrl-C (SIGINT), SIGTERM (a job scheduler, kill) and SIGHUP (the terminal closed) each save a
checkpoint after the current step and stop, with the shell's status for that signal, 128 + its number:
130, 143 and 129.
"""

import argparse
import contextlib
import dataclasses
import math
import os
import re
import signal
import sys
from pathlib import Path

import numpy as np

from . import PROJECT_ROOT, checkpoint, data
from .baselines import bigram_perplexity, unigram_perplexity
from .checks import not_done
from .config import DTYPES, MODELS, Config
from .memory import keep_freed_memory, release_freed_memory
from .optimizers import OPTIMIZERS
from .progress import Progress
from .sample import generate, prime
from .sampling import prompt_ids
from .training import RunState, Settings, TrainingDiverged, measure, run_steps

CHECKPOINTS = PROJECT_ROOT / "checkpoints"
# What --resume may change: how the run goes on, not what the saved arrays mean.
CHANGEABLE_ON_RESUME = {"steps", "lr", "warmup", "final_lr", "clip", "eval_every", "sample_every"}
INTERRUPTED = 130  # the shell's exit status for a program stopped by Ctrl-C (128 + SIGINT)
# The signals that stop training after the current step, with a checkpoint: Ctrl-C, kill and job schedulers'
# SIGTERM, and SIGHUP, sent when the terminal closes (Windows has no SIGHUP).
STOP_SIGNALS = {
    signal.SIGINT: "Ctrl-C",
    signal.SIGTERM: "SIGTERM",
    **({signal.SIGHUP: "SIGHUP"} if hasattr(signal, "SIGHUP") else {}),
}
# Each int option's smallest value.
INT_MINIMUM = {
    "hidden_size": 1, "steps": 1, "batch_size": 1, "seq_len": 1, "eval_every": 1, "checkpoint_every": 1,
    "warmup": 0, "sample_every": 0, "seed": 0, "length": 0, "top_k": 1,
}  # fmt: skip
FLOAT_RANGE = {  # name: (whether a value is in range, which NaN never is; the range in words)
    "lr": (lambda x: 0 < x < math.inf, "a finite number > 0"),
    "final_lr": (lambda x: 0 < x < math.inf, "a finite number > 0"),
    "clip": (lambda x: 0 < x < math.inf, "a finite number > 0"),
    "val_fraction": (lambda x: 0 < x < 1, "a number between 0 and 1"),
    "test_fraction": (lambda x: 0 < x < 1, "a number between 0 and 1"),
    "temperature": (lambda x: 0 <= x < math.inf, "a finite number >= 0"),
}


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        _check_options(args)
        status = args.command(args)
        sys.stdout.flush()  # here, not at exit: a reader that has gone (| head) is then caught below
        return status
    except NotImplementedError as error:
        unfinished = not_done(error)
        if unfinished is None:
            raise
        print(f"rnnlib {args.name}: {unfinished}; {_meanwhile(unfinished, args)}", file=sys.stderr)
    except KeyboardInterrupt:  # during training, _StopOnSignals and train_command handle it
        print(f"rnnlib {args.name}: stopped by Ctrl-C; nothing was changed", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader has gone (| head, say), with all it wanted
        _reader_gone()
        return 0
    # MemoryError: what _check_memory's estimate missed (NumPy's says how much it could not allocate).
    except (checkpoint.CheckpointError, ValueError, OSError, FloatingPointError, MemoryError) as error:
        print(f"rnnlib {args.name}: error: {error}", file=sys.stderr)
    return 1


def _reader_gone():
    """Send what is left of stdout nowhere, so that exiting does not fail flushing it into a closed pipe."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _meanwhile(unfinished, args):
    """What the student can run until the exercise that ``unfinished`` names is done: a new run without
    lessons 07-09 (the GRU, momentum and Adam), if that exercise is one of theirs, else the reference."""
    reference = f"RNNLIB=reference python -m rnnlib {args.name} ..."
    number = re.match(r"Exercise (\d+)\.", str(unfinished))
    lesson = int(number[1]) if number else None
    if args.name == "train" and not args.resume and lesson in (7, 8, 9):  # a resumed run keeps both
        options = "--optimizer sgd" if lesson == 9 else "--model rnn"
        # Lesson 09 comes after the GRU's lessons: without the GRU, momentum and Adam are not done either.
        if lesson != 9 and (args.optimizer or Config.optimizer) != "sgd":
            options += " --optimizer sgd"
        return f"until then train with {options} (lesson 05's exercises), or run the reference: {reference}"
    return f"{reference} runs the course's reference meanwhile"


def _check_options(args):
    """Every numeric option in its range, before anything is loaded: one ValueError naming the flag."""
    for name, minimum in INT_MINIMUM.items():
        value = getattr(args, name, None)
        if value is not None and value < minimum:
            raise ValueError(f"{_flag(name)} must be an int >= {minimum}, got {value}")
    for name, (in_range, words) in FLOAT_RANGE.items():
        value = getattr(args, name, None)
        if value is not None and not in_range(value):
            raise ValueError(f"{_flag(name)} must be {words}, got {value}")


def _flag(name):
    return "--" + name.replace("_", "-")


# train


def train_command(args):
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if getattr(args, f.name) is not None
    }
    if given.get("corpus") and given["corpus"] not in data.CORPORA:
        given["corpus"] = str(Path(given["corpus"]).resolve())  # so that evaluate finds it from anywhere
    # Before the lock, which needs the folder: a folder that cannot be made or written stops the run here.
    path = _checkpoint_path(args.checkpoint, given)
    checkpoint.check_room(path, 0)
    with checkpoint.lock(path) as removed:  # a second run on this checkpoint stops here, naming this one
        if removed:
            names = ", ".join(part.name for part in removed)
            print(f"note: removed {names} beside {path}, left by a save that was killed", file=sys.stderr)
        return _train_locked(args, path, given)


def _train_locked(args, path, given):
    if args.resume:
        run = checkpoint.load(path)  # a --model it was not trained with: _resumed_config says so
        config, state = _resumed_config(run, given, path), run.state
        if state.step == config.steps:
            print(
                f"{path} is already complete, at step {state.step} of {config.steps}: nothing to train "
                "(a larger --steps goes on)"
            )
            return 0
        text = _resumed_text(config, path)
        vocab, train_ids, val_ids, _ = config.splits(text)
        checkpoint.load(path, vocab=vocab, text=text)  # raises, naming what differs
        if run.text_fingerprint is None:
            _unverified_text(path, config)
        params, rng = run.params, run.rng()
        print(f"resuming {path} at step {state.step} of {config.steps}{_changes(run.config, config)}")
    else:
        if path.exists():
            raise ValueError(
                f"{path} already exists: add --resume to go on with that run, or give another --checkpoint "
                "(a new run never overwrites a saved one)"
            )
        config = _config(given)
        text = config.load_text()
        vocab, train_ids, val_ids, _ = config.splits(text)
        _check_memory(config, len(vocab))
        params, state, rng = (
            config.init_params(len(vocab)),
            RunState(),
            np.random.default_rng(config.seed + 1),
        )
    _check_long_enough(config, training=train_ids, validation=val_ids)
    # Twice a checkpoint: a save writes the new file beside the old one before replacing it.
    size = checkpoint.size_estimate(params, state.optimizer or config.optimizer, config)
    checkpoint.check_room(path, 2 * size)
    _try_one_step(config, params, train_ids, vocab)
    print(f"{_describe_model(config, params)}; {len(train_ids):,} training characters; checkpoints to {path}")

    def save(state):
        try:
            checkpoint.save(path, config=config, vocab=vocab, params=params, state=state, rng=rng, text=text)
        except OSError as error:  # a full disk, say: stop now, rather than train on with nothing saved
            then = "; once that is fixed, --resume goes on from it" if saved_step[0] is not None else ""
            raise OSError(
                f"could not save {path} at step {state.step} ({error.strerror or error}), so the run stopped "
                f"there; {_kept(path, saved_step[0])}{then}"
            ) from None
        saved_step[0] = state.step

    saved_step = [state.step if args.resume else None]
    model, settings, stop = config.module(), config.settings(), _StopOnSignals()
    run = run_steps(model, params, train_ids, val_ids, settings, vocab=vocab, state=state)
    keep_freed_memory()  # each step's arrays reuse the last step's memory (rnnlib/memory.py)
    try:
        with stop, Progress(model, params, settings, vocab, rng, start=state.step, plot=False) as show:
            for _, check_update in run:
                show(state)
                stopping = stop.requested()  # asked once: a signal from here on is seen after the next step
                if stopping or state.step == config.steps or state.step % args.checkpoint_every == 0:
                    check_update()  # parameters that this very update has blown up are never saved
                    save(state)
                if stopping:
                    break
    except TrainingDiverged as error:  # raised before the diverged step could be saved
        raise FloatingPointError(_diverged(error, config, path, saved_step[0])) from None
    except KeyboardInterrupt:
        print(f"stopped without saving; {_kept(path, saved_step[0])}", file=sys.stderr)
        return stop.exit_status()
    finally:
        release_freed_memory()  # what training kept goes back to the system, even after an error
    print(_summary(config, state, path))
    if stop.requested():
        print(f"stopped by {stop.name}; go on with: python -m rnnlib train --checkpoint {path} --resume")
        return stop.exit_status()
    return 0


def _checkpoint_path(given_path, given):
    """The checkpoint file: --checkpoint, or checkpoints/CORPUS_MODEL.npz; never a folder."""
    if given_path is None:
        return _default_path(given)
    example = f"--checkpoint {Path(given_path) / _default_path(given).name}"
    # Path("runs/") is Path("runs"): the slash, which says "a folder", has to be seen in the string.
    if given_path.endswith(("/", os.sep)):
        raise ValueError(f"--checkpoint {given_path} names a folder; give a file in it, e.g. {example}")
    if Path(given_path).is_dir():
        raise ValueError(f"--checkpoint {given_path} is a folder; give a file in it, e.g. {example}")
    return Path(given_path)


def _resumed_config(saved, given, path):
    """The Config of the run saved at ``path`` (a loaded Checkpoint), going on with the options ``given``."""
    moved = _moved_corpus(saved, given.get("corpus"))
    if moved:
        saved = dataclasses.replace(saved, config=dataclasses.replace(saved.config, corpus=given["corpus"]))
    _refuse_changes(saved.config, given, path)
    if "lr" in given and "final_lr" not in given:  # a lower peak takes the end of the decay down with it
        given = given | {"final_lr": min(saved.config.final_lr, given["lr"])}
    fields = dataclasses.asdict(saved.config) | given
    _check_schedule(fields, given, otherwise="the checkpoint's")
    if saved.state.step > fields["steps"]:
        raise ValueError(
            f"--steps {fields['steps']}, but {path} has already trained {saved.state.step} steps: give a "
            "--steps of at least that"
        )
    config = Config(**fields)
    if moved:
        note = f"note: the text {path} was trained on is now read from {given['corpus']} (the same sha256)"
        print(note, file=sys.stderr)
    return config


def _resumed_text(config, path):
    """The text a resumed run reads; if its file is gone, say how to name the file it was moved to."""
    try:
        return config.load_text()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} was trained on {config.corpus}, which is no longer there: put it back, or, if you moved "
            "it, give its new path with --corpus (the checkpoint checks that it is the same text)"
        ) from None


def _moved_corpus(saved, corpus):
    """True if ``corpus``, a --corpus given on resuming, is another file holding the very text the run was
    trained on (its fingerprint in the checkpoint says so): the corpus file was moved, not changed."""
    if corpus is None or corpus == saved.config.corpus or saved.text_fingerprint is None:
        return False
    if corpus in data.CORPORA or not Path(corpus).is_file():
        return False
    return checkpoint.fingerprint(_read_text(corpus)) == saved.text_fingerprint


def _changes(saved, config):
    """What a resumed run changes of the saved settings, to announce: ", with steps 2800 -> 4000"."""
    names = [name for name in sorted(CHANGEABLE_ON_RESUME) if getattr(saved, name) != getattr(config, name)]
    if not names:
        return ""
    changed = ", ".join(f"{name} {getattr(saved, name):g} -> {getattr(config, name):g}" for name in names)
    schedule = {"steps", "lr", "warmup", "final_lr"}.intersection(names)
    then = "; the learning rate follows the new warm-up and cosine from here" if schedule else ""
    return f", with changed settings: {changed}{then}"


def _config(given):
    """The Config of the options given, with defaults that depend on other options: the learning rate and
    the clipping norm are the optimiser's, the warm-up at most a tenth of the run (lesson 10's 2,800 steps
    keep 100), and the final learning rate 1e-4, or the peak if that is lower (a constant rate then)."""
    steps = given.get("steps", Config.steps)
    optimizer = OPTIMIZERS[given.get("optimizer", Config.optimizer)]
    defaults = {"lr": optimizer.lr, "clip": optimizer.clip, "warmup": min(Config.warmup, steps // 10)}
    defaults["final_lr"] = min(Config.final_lr, given.get("lr", defaults["lr"]))
    fields = dataclasses.asdict(Config()) | defaults | given
    _check_schedule(fields, given)
    return Config(**fields)


def _check_schedule(fields, given, otherwise="the default"):
    """The schedule's options must fit together; the error names the flags, given or not."""

    def named(name):
        return f"{_flag(name)} ({fields[name]:g}{'' if name in given else ', ' + otherwise})"

    if fields["warmup"] >= fields["steps"]:
        raise ValueError(f"{named('warmup')} must be less than {named('steps')}")
    if fields["final_lr"] > fields["lr"]:
        raise ValueError(f"{named('final_lr')} must not exceed the peak {named('lr')}")


def _check_memory(config, V):
    """Refuse, before anything is allocated, a run that cannot fit in this machine's memory."""
    available = _available_memory()
    itemsize = np.dtype(DTYPES[config.dtype]).itemsize
    # Parameters, gradients and the optimiser's copies, plus init_params' float64 draws; one step's arrays:
    # the cache (the GRU's is 5.5 B*T*H numbers, rnnlib/gru.py) and its backward pass, and the logits,
    # the probabilities and their gradient, B*T*V each. An estimate, generous rather than tight.
    copies = OPTIMIZERS[config.optimizer].copies
    weights = config.parameter_count(V) * ((2 + copies) * itemsize + 8)
    step = itemsize * config.batch_size * config.seq_len * (12 * config.hidden_size + 3 * V)
    if available is not None and weights + step > available:
        raise ValueError(
            f"--hidden-size {config.hidden_size}, --batch-size {config.batch_size} and --seq-len "
            f"{config.seq_len} need about {_gigabytes(weights + step)} of memory ({_gigabytes(weights)} for "
            f"the parameters, their gradients and the optimiser's state, {_gigabytes(step)} for a "
            f"step), and this machine has {_gigabytes(available)} available: make them smaller"
        )


def _available_memory():
    """Bytes of memory a new allocation can have: Linux's MemAvailable, else all of it; None: unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _gigabytes(nbytes):
    return f"{nbytes / 1e9:,.1f} GB"


def _try_one_step(config, params, train_ids, vocab):
    """One step of the run on a copy of the parameters and a window of 1 x 2 characters, so that an
    exercise the run needs and that is not done yet stops it here, in one line, rather than once the
    progress bar has started (only a step reaches the optimiser's exercise)."""
    # Only an exercise not done may stop it: what two characters give, NaN included, says nothing of the run.
    settings = Settings(
        batch_size=1,
        seq_len=2,
        steps=1,
        lr=config.lr,
        clip=config.clip,
        optimizer=config.optimizer,
        eval_every=1,
        stop_on_divergence=False,  # two characters say nothing about the run; only the exercises count
    )
    copy = {name: P.copy() for name, P in params.items()}
    with np.errstate(all="ignore"), contextlib.suppress(FloatingPointError):
        for _ in run_steps(config.module(), copy, train_ids[:3], train_ids[:3], settings, vocab=vocab):
            pass


class _StopOnSignals:
    """While active, the first Ctrl-C, SIGTERM or SIGHUP asks the work to stop after the current step (of
    training: so that the checkpoint it saves is the state between two steps), announcing ``doing`` then;
    a second one stops at once (KeyboardInterrupt). ``exit_status()``: the shell's for the first signal,
    128 + its number."""

    def __init__(self, doing="saving a checkpoint after this step"):
        self.signal = None
        self.doing = doing

    @property
    def name(self):
        return STOP_SIGNALS[self.signal]

    def requested(self):
        return self.signal is not None

    def exit_status(self):
        return 128 + (self.signal or signal.SIGINT)

    def _handle(self, signum, frame):
        self.signal = signum
        for other in STOP_SIGNALS:
            signal.signal(other, _interrupt)
        if self.doing is None:
            return
        again = "Ctrl-C again" if signum == signal.SIGINT else "again"
        message = f"{self.name}: {self.doing} ({again}: quit without saving)"
        try:
            print(f"\n{message}", flush=True)
        except OSError:  # after SIGHUP the terminal may be gone; the checkpoint matters, not the line
            pass
        if signum == getattr(signal, "SIGHUP", None):
            _leave_the_terminal()

    def __enter__(self):
        self._previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _leave_the_terminal():
    """After SIGHUP a terminal is closed or closing, and writing to it fails (EIO): send what the run still
    prints (its bar, a sample, the last lines) nowhere, so that no write stops it before it saves."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            if stream.isatty():
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _diverged(error, config, path, saved_step):
    """The one line for a run that diverged: what was seen, which checkpoint is intact, what to do."""
    what = f"training diverged at step {error.step}: {error.reason}"
    smaller = f"a smaller --lr (this run's: {config.lr:g})"
    if saved_step is None:
        return f"{what}; nothing was saved: start again with {smaller}"
    return (
        f"{what}; that state was not saved: {path} (step {saved_step}) is intact, go on from it with "
        f"--resume and {smaller}"
    )


def _summary(config, state, path):
    """The line a finished or stopped run ends with; after Ctrl-C the validation is an earlier step's."""
    history = state.history
    val_loss = history["val_loss"][-1]
    perplexity = math.exp(val_loss) if val_loss < 709 else math.inf  # e ** 710 overflows a float
    return (
        f"step {state.step} of {config.steps}, {state.seconds / 60:.1f} min of training; validation at step "
        f"{history['val_step'][-1]}: loss {val_loss:.4f} nats/char (perplexity {perplexity:.2f}); "
        f"saved {path}"
    )


def _kept(path, step):
    """What a run that stopped without saving its last steps leaves behind."""
    return f"{path} (step {step}) is intact" if step is not None else "nothing was saved"


def _unverified_text(path, config):
    """A checkpoint saved without its text's fingerprint (by rnnlib.checkpoint.save without text=, or
    before checkpoints held one) cannot show that a corpus file still holds that text: say so. (One that
    is too short to be it, load has refused already.)"""
    if config.corpus in data.CORPORA:
        return  # a known corpus is checked against its sha256 whenever it is read
    print(
        f"note: {path} holds no fingerprint of the text it was trained on, so it cannot be checked that "
        f"{config.corpus} has not changed since",
        file=sys.stderr,
    )


def _check_long_enough(config, **splits):
    """Each split must fill at least one window: B streams of T inputs and the character after them."""
    need = config.batch_size * (config.seq_len + 1)
    for name, ids in splits.items():
        if len(ids) < need:
            longer = "a longer corpus" if name == "training" else "a larger --val-fraction or a longer corpus"
            raise ValueError(
                f"the {name} split of {config.corpus} has {_plural(len(ids), 'character')}, fewer than the "
                f"{need:,} of one window of --batch-size {config.batch_size} x (--seq-len {config.seq_len} + "
                f"1): use a smaller --batch-size or --seq-len, or {longer}"
            )


def _refuse_changes(saved, given, path):
    for name, value in given.items():
        if name not in CHANGEABLE_ON_RESUME and value != getattr(saved, name):
            raise ValueError(
                f"{_flag(name)} {value}, but {path} was trained with {getattr(saved, name)}; "
                f"a resumed run keeps it (only {', '.join(sorted(CHANGEABLE_ON_RESUME))} may change): drop "
                "the option, or start a new run with another --checkpoint"
            )


def _default_path(given):
    corpus, model = given.get("corpus", Config.corpus), given.get("model", Config.model)
    name = corpus if corpus in data.CORPORA else Path(corpus).stem
    return CHECKPOINTS / f"{name}_{model}.npz"


def _describe_model(config, params):
    count = sum(P.size for P in params.values())
    return (
        f"{config.model.upper()}, H={config.hidden_size}, {count:,} parameters, {config.dtype}, "
        f"{config.optimizer} lr {config.lr:g}, {_plural(config.steps, 'step')} of {config.batch_size}x"
        f"{config.seq_len}"
    )


def _plural(number, noun):
    """The number and its noun, singular or plural: "1 step", "2 steps"."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# evaluate


def evaluate_command(args):
    saved = checkpoint.load(args.checkpoint)
    config = saved.config
    if args.text:
        text = _read_text(args.text)
        unknown = sorted(set(text) - saved.vocab.stoi.keys())
        if unknown:
            raise ValueError(
                f"{args.text} has characters outside the checkpoint's vocabulary: "
                f"{', '.join(map(repr, unknown))}; the model cannot read them (remove them from the text)"
            )
        if len(text) < 2:
            raise ValueError(
                f"{args.text} holds {_plural(len(text), 'character')}; evaluating needs at least 2 (one to "
                "read, one to predict)"
            )
        ids, what, baselines = saved.vocab.encode(text), args.text, None
    else:
        if config.corpus not in data.CORPORA and not Path(config.corpus).is_file():
            raise FileNotFoundError(
                f"{args.checkpoint} was trained on {config.corpus}, which is no longer there: put it back, "
                "or evaluate on another text with --text FILE"
            )
        text = config.load_text()
        vocab, train_ids, *parts = config.splits(text)
        checkpoint.load(args.checkpoint, vocab=vocab, text=text)  # still the text it was trained on?
        ids = dict(zip(("val", "test"), parts, strict=True)).get(args.split, train_ids)
        what = f"the {args.split} split of {Path(config.corpus).name}"
        V = len(vocab)
        baselines = {
            "unigram": unigram_perplexity(train_ids, ids, V),
            "bigram": bigram_perplexity(train_ids, ids, V),
        }
    scores = measure(saved.model, saved.params, ids)
    trained = _plural(saved.state.step, "step")
    print(f"{args.checkpoint}: {_describe_model(config, saved.params)}; trained {trained}")
    print(f"on {what} ({_plural(scores['characters'], 'next character')}):")
    print(f"  loss            {scores['loss']:.4f} nats/char")
    print(f"  perplexity      {scores['perplexity']:.3f}")
    print(f"  bits per char   {scores['bits_per_char']:.3f}")
    print(f"  accuracy        {scores['accuracy']:.1%}")
    for name, value in (baselines or {}).items():
        print(f"  ({name} baseline: perplexity {value:.2f})")
    return 0


def _read_text(name):
    """The UTF-8 text of the file ``name``; an error naming it if it cannot be read."""
    try:
        return Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name} is not UTF-8 text ({error.reason} at byte {error.start}); convert it to UTF-8 first"
        ) from None
    except OSError as error:
        raise OSError(f"cannot read {name}: {error.strerror or error}") from None


# sample


def sample_command(args):
    saved = checkpoint.load(args.checkpoint)
    prompt = args.prompt.replace("\\n", "\n")
    model, params, vocab = saved.model, saved.params, saved.vocab
    rng, draw = np.random.default_rng(args.seed), {"temperature": args.temperature, "top_k": args.top_k}
    logits, h = prime(model, params, prompt_ids(vocab, prompt, "--prompt", "--prompt '\\n'"))
    printed = 0
    # One character at a time, printed as it comes: what sample() draws, in the same order from the same
    # generator, so a seed gives the text it always gave; generate's lm_step for the next character is
    # prime's on the character drawn. Ctrl-C stops after the character being drawn, keeping the text.
    try:
        with _StopOnSignals(doing=None) as stop:
            while printed < args.length and not stop.requested():
                ids = generate(model, params, logits, h, 1, rng, **draw)
                if printed == 0:
                    _write(prompt)  # once a character is drawn: an exercise not done stops before any output
                _write(vocab.decode(ids[0]))
                printed += 1
                if printed < args.length:
                    logits, h = prime(model, params, ids, h)
        _write(("" if printed else prompt) + "\n")
    except BrokenPipeError:  # the reader has gone (| head, say), with all it wanted
        _reader_gone()
        return 0
    if stop.requested():
        print(
            f"rnnlib sample: stopped by {stop.name} after {_plural(printed, 'character')} of "
            f"{args.length:,}; what was printed is kept",
            file=sys.stderr,
        )
        return stop.exit_status()
    return 0


def _write(text):
    sys.stdout.write(text)
    sys.stdout.flush()  # to a pipe too: a long sample is read as it is written



def _parser():
    defaults = Config()
    parser = argparse.ArgumentParser(
        prog="python -m rnnlib",
        description="Train a character-level language model, evaluate it, sample from it.",
        epilog="Run 'python -m rnnlib COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    train_parser = commands.add_parser(
        "train",
        help="train a model, checkpointing as it goes",
        description=(
            "Train a character-level RNN or GRU with truncated BPTT. The defaults are lesson 10's run: a "
            f"GRU of {defaults.hidden_size} units on tinyshakespeare, Adam, warm-up and cosine decay; "
            "--model rnn --optimizer sgd needs only the exercises of lessons 01-05. A "
            "checkpoint is saved every --checkpoint-every steps and at the end; Ctrl-C, SIGTERM or SIGHUP "
            "saves one after the current step and stops, and --resume goes on from it exactly where it "
            "stopped. One run at a time writes a checkpoint: a second is refused, naming the first. If "
            "the loss stops being finite, or its mean over 20 steps climbs more than 1 nat per character "
            "above the run's best (a learning rate too large), or a checkpoint cannot be written (a full "
            "disk, say), the run "
            "stops with one line, and the checkpoint saved before is left intact."
        ),
    )
    group = train_parser.add_argument_group("data and model")
    _option(group, "--corpus", str, defaults, help="tinyshakespeare, names, or the path of a UTF-8 text file")
    _option(group, "--model", str, defaults, choices=sorted(MODELS))
    _option(group, "--hidden-size", int, defaults, help="H, the size of the state")
    _option(group, "--dtype", str, defaults, choices=sorted(DTYPES))
    _option(
        group,
        "--val-fraction",
        float,
        defaults,
        help="the part of the text, after training's, to validate on",
    )
    _option(
        group, "--test-fraction", float, defaults, help="the last part of the text, read by evaluate only"
    )
    _option(group, "--seed", int, defaults, help="initialises the parameters (seed + 1 draws samples)")
    group = train_parser.add_argument_group("optimisation")
    _option(group, "--optimizer", str, defaults, choices=list(OPTIMIZERS))
    _option(group, "--lr", float, defaults, help="peak learning rate", shown=_per_optimizer("lr"))
    _option(
        group,
        "--warmup",
        int,
        defaults,
        help="steps of linear warm-up to the peak",
        shown=f"{defaults.warmup}, or a tenth of --steps if fewer",
    )
    _option(
        group,
        "--final-lr",
        float,
        defaults,
        help="learning rate at the last step, after a cosine decay",
        shown=f"{defaults.final_lr:g}, or --lr if lower",
    )
    _option(group, "--steps", int, defaults, help="steps in the whole run")
    _option(group, "--batch-size", int, defaults, help="B, parallel streams")
    _option(group, "--seq-len", int, defaults, help="T, characters per window of truncated BPTT")
    _option(
        group, "--clip", float, defaults, help="maximum global gradient norm", shown=_per_optimizer("clip")
    )
    group = train_parser.add_argument_group("progress and checkpoints")
    _option(group, "--eval-every", int, defaults, help="steps between validations")
    _option(group, "--sample-every", int, defaults, help="steps between printed samples (0: never)")
    group.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="the checkpoint file (default: checkpoints/CORPUS_MODEL.npz in the course folder)",
    )
    group.add_argument(
        "--checkpoint-every",
        type=int,
        default=500,
        metavar="N",
        help="steps between checkpoints, at least 1 (default: %(default)s)",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="go on with the run saved in the checkpoint (its settings; only the optimisation schedule, "
        "--steps and the progress options may change)",
    )
    train_parser.set_defaults(command=train_command, name="train")

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="loss, perplexity, bits per character and accuracy of a checkpoint",
        description=(
            "Read a split of the checkpoint's corpus (or any text file) as one stream and print the mean "
            "loss per character, the perplexity, the bits per character and the next-character accuracy."
        ),
    )
    evaluate_parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint saved by train")
    where = evaluate_parser.add_mutually_exclusive_group()
    where.add_argument(
        "--split",
        choices=("train", "val", "test"),
        default="val",
        help="which split of its corpus (default: %(default)s)",
    )
    where.add_argument("--text", metavar="FILE", help="a UTF-8 text file instead of a split")
    evaluate_parser.set_defaults(command=evaluate_command, name="evaluate")

    sample_parser = commands.add_parser(
        "sample",
        help="generate text from a checkpoint",
        description=(
            "Read the prompt, then draw each next character from the model, one at a time, printing it as "
            "it comes; Ctrl-C stops there and keeps what was printed."
        ),
    )
    sample_parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint saved by train")
    sample_parser.add_argument(
        "--prompt", default="\\n", help="the text to start from; \\n is a newline (default: a newline)"
    )
    sample_parser.add_argument(
        "--length", type=int, default=500, help="characters to generate (default: %(default)s)"
    )
    sample_parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="below 1: safer (0: always the likeliest); above 1: wilder (default: %(default)s)",
    )
    sample_parser.add_argument(
        "--top-k", type=int, default=None, help="draw only among the k likeliest characters (default: all)"
    )
    sample_parser.add_argument(
        "--seed", type=int, default=0, help="the same seed gives the same text (default: %(default)s)"
    )
    sample_parser.set_defaults(command=sample_command, name="sample")
    return parser


def _per_optimizer(name):
    """The defaults of option ``name`` for each optimiser, as the help shows them."""
    return ", ".join(f"{getattr(optimizer, name):g} with {key}" for key, optimizer in OPTIMIZERS.items())


def _option(group, flag, kind, defaults, shown=None, **kwargs):
    """An option of Config: None unless given, so that --resume can tell what was asked for. ``shown``:
    the default the help gives, when it is not simply Config's."""
    name = flag[2:].replace("-", "_")
    shown = getattr(defaults, name) if shown is None else shown
    kwargs["help"] = f"{kwargs.get('help', '')} (default: {shown})".lstrip()
    if "choices" not in kwargs:  # choices show themselves: --model {gru,rnn}
        kwargs["metavar"] = name.upper()
    group.add_argument(flag, type=kind, default=None, **kwargs)
