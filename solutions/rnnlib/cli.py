"""The command line: ``python -m rnnlib train | evaluate | sample``, lesson 10's run from a terminal.

    python -m rnnlib train                      # lesson 10's GRU on tinyshakespeare, checkpointed
    python -m rnnlib train --resume             # go on from the last checkpoint (after Ctrl-C)
    python -m rnnlib evaluate checkpoints/tinyshakespeare_gru.npz --split test
    python -m rnnlib sample checkpoints/tinyshakespeare_gru.npz --prompt "ROMEO:" --temperature 0.8

It runs the rnnlib that ``import rnnlib`` selects (yours, or the reference with RNNLIB=reference): on an
exercise that is not done yet it says which, and what runs meanwhile, in one line. Errors are one line
too, and exit with 1; Ctrl-C before training starts, or during evaluate or sample, changes nothing and
exits with 130.
"""

import argparse
import dataclasses
import math
import re
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import PROJECT_ROOT, checkpoint, data
from .baselines import bigram_perplexity, unigram_perplexity
from .checks import _not_done
from .config import DTYPES, MODELS, OPTIMIZER_DEFAULTS, OPTIMIZERS, Config
from .sample import sample
from .train import RunState, measure, train

CHECKPOINTS = PROJECT_ROOT / "checkpoints"
# What --resume may change: how the run goes on, not what the saved arrays mean.
CHANGEABLE_ON_RESUME = {"steps", "lr", "warmup", "final_lr", "clip", "eval_every", "sample_every"}
INTERRUPTED = 130  # the shell's exit status for a program stopped by Ctrl-C (128 + SIGINT)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except NotImplementedError as error:
        not_done = _not_done(error)
        if not_done is None:
            raise
        print(f"rnnlib {args.name}: {not_done}; {_meanwhile(not_done, args)}", file=sys.stderr)
    except (checkpoint.CheckpointError, ValueError, OSError, FloatingPointError) as error:
        print(f"rnnlib {args.name}: error: {error}", file=sys.stderr)
    except KeyboardInterrupt:  # during training, _StopOnCtrlC and train_command handle it
        print(f"rnnlib {args.name}: stopped by Ctrl-C; nothing was changed", file=sys.stderr)
        return INTERRUPTED
    return 1


def _meanwhile(not_done, args):
    """What the student can run until the exercise that ``not_done`` names is done: a new run without
    lessons 07-09 (the GRU, momentum and Adam), if that exercise is one of theirs, else the reference."""
    reference = f"RNNLIB=reference python -m rnnlib {args.name} ..."
    number = re.match(r"Exercise (\d+)\.", str(not_done))
    lesson = int(number[1]) if number else None
    if args.name == "train" and not args.resume and lesson in (7, 8, 9):  # a resumed run keeps both
        options = "--optimizer sgd" if lesson == 9 else "--model rnn"
        # Lesson 09 comes after the GRU's lessons: without the GRU, momentum and Adam are not done either.
        if lesson != 9 and (args.optimizer or Config.optimizer) != "sgd":
            options += " --optimizer sgd"
        return f"until then train with {options} (lesson 05's exercises), or run the reference: {reference}"
    return f"{reference} runs the course's reference meanwhile"


# train


def train_command(args):
    if args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be an int >= 1 (steps), got {args.checkpoint_every}")
    path = Path(args.checkpoint) if args.checkpoint else None
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if getattr(args, f.name) is not None
    }
    if given.get("corpus") and given["corpus"] not in data.CORPORA:
        given["corpus"] = str(Path(given["corpus"]).resolve())  # so that evaluate finds it from anywhere
    if args.resume:
        path = path or _default_path(_config(given))
        saved = checkpoint.load(path, model=given.get("model"))
        _refuse_changes(saved.config, given, path)
        config = dataclasses.replace(saved.config, **given)
        params, state, rng = saved.params, saved.state, saved.rng()
        if state.step == config.steps:
            print(
                f"{path} is already complete, at step {state.step} of {config.steps}: nothing to train "
                "(a larger --steps goes on)"
            )
            return 0
        text = config.load_text()
        vocab, train_ids, val_ids, _ = config.splits(text)
        checkpoint.load(path, vocab=vocab, text=text)  # raises, naming what differs
        if saved.text_fingerprint is None:
            _unverified_text(path, config, state.window, train_ids)
        print(f"resuming {path} at step {state.step} of {config.steps}")
    else:
        config = _config(given)
        path = path or _default_path(config)
        if path.exists():
            raise ValueError(
                f"{path} already exists: add --resume to go on with that run, or give another --checkpoint "
                "(a new run never overwrites a saved one)"
            )
        text = config.load_text()
        vocab, train_ids, val_ids, _ = config.splits(text)
        params, state, rng = (
            config.init_params(len(vocab)),
            RunState(),
            np.random.default_rng(config.seed + 1),
        )
    _check_long_enough(config, training=train_ids, validation=val_ids)
    _check_folder(path)
    _try_one_step(config, params, train_ids, vocab)
    print(f"{_describe(config, params)}; {len(train_ids):,} training characters; checkpoints to {path}")

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
    stop = _StopOnCtrlC()
    try:
        with stop:
            train(
                config.module(),
                params,
                train_ids,
                val_ids,
                vocab=vocab,
                rng=rng,
                state=state,
                plot=False,
                stop=stop.requested,
                checkpoint_every=args.checkpoint_every,
                on_checkpoint=save,
                **config.train_settings(),
            )
    except FloatingPointError as error:
        kept = _kept(path, saved_step[0])
        raise FloatingPointError(f"{error} Nothing after the last checkpoint was saved: {kept}.") from None
    except KeyboardInterrupt:
        print(f"stopped without saving; {_kept(path, saved_step[0])}", file=sys.stderr)
        return INTERRUPTED
    history = state.history
    val_loss = history["val_loss"][-1]  # after Ctrl-C, that of an earlier step: say which
    print(
        f"step {state.step} of {config.steps}, {state.seconds / 60:.1f} min of training; validation at step "
        f"{history['val_step'][-1]}: loss {val_loss:.4f} nats/char (perplexity {math.exp(val_loss):.2f}); "
        f"saved {path}"
    )
    if stop.requested():
        print(f"stopped by Ctrl-C; go on with: python -m rnnlib train --checkpoint {path} --resume")
        return INTERRUPTED
    return 0


def _config(given):
    """The Config of the options given, with defaults that depend on other options: the learning rate and
    the clipping norm are the optimiser's, and the warm-up at most a tenth of the run (lesson 10's 2,800
    steps keep 100)."""
    steps = given.get("steps", Config.steps)
    if given.get("warmup", -1) >= steps >= 1:  # a steps < 1 is Config's error, which names it
        raise ValueError(f"--warmup ({given['warmup']}) must be less than --steps ({steps})")
    defaults = OPTIMIZER_DEFAULTS[given.get("optimizer", Config.optimizer)] | {
        "warmup": min(Config.warmup, steps // 10)
    }
    return Config(**(defaults | given))


def _try_one_step(config, params, train_ids, vocab):
    """One step of the run on a copy of the parameters and a window of 1 x 2 characters, so that an
    exercise the run needs and that is not done yet stops it here, in one line, rather than once the
    progress bar has started (only a step reaches the optimiser's exercise)."""
    train(
        config.module(),
        {name: P.copy() for name, P in params.items()},
        train_ids[:3],
        train_ids[:3],
        vocab=vocab,
        batch_size=1,
        seq_len=2,
        steps=1,
        lr=config.lr,
        clip=config.clip,
        eval_every=1,
        sample_every=0,
        rng=np.random.default_rng(0),
        plot=False,
        progress=False,
        optimizer=config.optimizer,
    )


class _StopOnCtrlC:
    """While active, the first Ctrl-C (SIGINT) asks the run to stop after the current step, so that the
    checkpoint it saves is the state between two steps; a second Ctrl-C stops at once, without saving."""

    def __init__(self):
        self._requested = False

    def requested(self):
        return self._requested

    def _handle(self, signum, frame):
        self._requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nCtrl-C: saving a checkpoint after this step (Ctrl-C again: quit without saving)", flush=True)

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def _kept(path, step):
    """What a run that stopped without saving its last steps leaves behind."""
    return f"{path} (step {step}) is intact" if step is not None else "nothing was saved"


def _unverified_text(path, config, window, train_ids):
    """A checkpoint saved without its text's fingerprint (by rnnlib.checkpoint.save without text=, or
    before checkpoints held one) cannot show that a corpus file still holds that text: say so, and refuse
    a text too short to be it."""
    if config.corpus in data.CORPORA:
        return  # a known corpus is checked against its sha256 whenever it is read
    windows = (len(train_ids) // config.batch_size - 1) // config.seq_len  # as many as data.windows gives
    if window > windows:
        raise ValueError(
            f"{path} stopped at window {window} of an epoch, but {config.corpus} now gives only {windows}: "
            "it is no longer the text the run was trained on; put that text back, or start a new run"
        )
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
                f"the {name} split of {config.corpus} has {len(ids):,} characters, fewer than the {need:,} "
                f"of one window of --batch-size {config.batch_size} x (--seq-len {config.seq_len} + 1): use "
                f"a smaller --batch-size or --seq-len, or {longer}"
            )


def _check_folder(path):
    """Fail now, not at the first checkpoint minutes into the run, if no checkpoint can be written there."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # writing a file is the one sure test (os.access is not)
    except OSError as error:
        in_the_way = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        reason = f"{in_the_way} is a file, not a folder" if in_the_way else error.strerror or error
        raise OSError(f"cannot save checkpoints in {folder}: {reason}; give another --checkpoint") from None


def _refuse_changes(saved, given, path):
    for name, value in given.items():
        if name not in CHANGEABLE_ON_RESUME and value != getattr(saved, name):
            raise ValueError(
                f"--{name.replace('_', '-')} {value}, but {path} was trained with {getattr(saved, name)}; "
                f"a resumed run keeps it (only {', '.join(sorted(CHANGEABLE_ON_RESUME))} may change): drop "
                "the option, or start a new run with another --checkpoint"
            )


def _default_path(config):
    name = config.corpus if config.corpus in data.CORPORA else Path(config.corpus).stem
    return CHECKPOINTS / f"{name}_{config.model}.npz"


def _describe(config, params):
    count = sum(P.size for P in params.values())
    return (
        f"{config.model.upper()}, H={config.hidden_size}, {count:,} parameters, {config.dtype}, "
        f"{config.optimizer} lr {config.lr:g}, {config.steps} steps of {config.batch_size}x{config.seq_len}"
    )


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
    print(f"{args.checkpoint}: {_describe(config, saved.params)}; trained {saved.state.step} steps")
    print(f"on {what} ({scores['characters']:,} next characters):")
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
    text = sample(
        saved.model,
        saved.params,
        saved.vocab,
        prompt,
        args.length,
        np.random.default_rng(args.seed),
        temperature=args.temperature,
        top_k=args.top_k,
    )
    print(text)
    return 0


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
            "checkpoint is saved every --checkpoint-every steps and at the end; Ctrl-C saves one after "
            "the current step and stops, and --resume goes on from it exactly where it stopped. If a "
            "checkpoint cannot be written (a full disk, say), the run stops at that step with one line; "
            "the checkpoint saved before is left intact, and --resume goes on from it."
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
    _option(group, "--optimizer", str, defaults, choices=OPTIMIZERS)
    _option(group, "--lr", float, defaults, help="peak learning rate", shown=_per_optimizer("lr"))
    _option(
        group,
        "--warmup",
        int,
        defaults,
        help="steps of linear warm-up to the peak",
        shown=f"{defaults.warmup}, or a tenth of --steps if fewer",
    )
    _option(group, "--final-lr", float, defaults, help="learning rate at the last step, after a cosine decay")
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
        description="Read the prompt, then draw each next character from the model, one at a time.",
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
    return ", ".join(
        f"{settings[name]:g} with {optimizer}" for optimizer, settings in OPTIMIZER_DEFAULTS.items()
    )


def _option(group, flag, kind, defaults, shown=None, **kwargs):
    """An option of Config: None unless given, so that --resume can tell what was asked for. ``shown``:
    the default the help gives, when it is not simply Config's."""
    name = flag[2:].replace("-", "_")
    shown = getattr(defaults, name) if shown is None else shown
    kwargs["help"] = f"{kwargs.get('help', '')} (default: {shown})".lstrip()
    if "choices" not in kwargs:  # choices show themselves: --model {gru,rnn}
        kwargs["metavar"] = name.upper()
    group.add_argument(flag, type=kind, default=None, **kwargs)
