"""Training a character-level language model with truncated backpropagation through time.

Lesson: notebooks/05_training.ipynb. ``model`` is a module with the language-model glue of
rnnlib.rnn or rnnlib.gru: ``init_params``, ``lm_forward``, ``lm_backward`` and ``lm_step``; nothing here
depends on which one it is. Parameters are a dict of arrays; float32 parameters train in float32.
Lesson 10 adds the optimisers of lesson 09, a learning-rate schedule, measuring a split, and runs that
stop and resume exactly (RunState, rnnlib.checkpoint).

Truncated BPTT: the training text is cut into B streams (rnnlib.data.make_streams) read T characters at
a time (rnnlib.data.windows). The state the network ends a window in is where it starts the next one,
so the forward pass sees the whole stream; the backward pass stops at the start of each window, so
memory and time per step stay those of T steps. NumPy keeps no graph, so "detaching" the state, the
word autograd libraries use, just means dropping lm_backward's dh0, the gradient that would flow into
the previous window.
"""

import dataclasses
import math
import sys
import time

import numpy as np
from tqdm import tqdm

from . import optim, reference, validate
from .data import make_streams, windows
from .losses import bits_per_char, perplexity
from .memory import keep_freed_memory, release_freed_memory
from .optim import clip_grad_norm, sgd_step

# name -> (the state it starts from, its in-place update); SGD has no state and is train_step's own.
OPTIMIZERS = {
    "sgd": (lambda params: {}, None),
    "momentum": (optim.momentum_init, optim.momentum_step),
    "adam": (optim.adam_init, optim.adam_step),
}


def train_step(model, params, inputs, targets, h, lr, clip):
    """Exercise 5.3: one step of truncated BPTT on one window: forward, backward, clip, update.

    model:           rnnlib.rnn or rnnlib.gru (uses model.lm_forward and model.lm_backward).
    params:          the model's parameter dict, updated in place.
    inputs, targets: (B, T) int ids of one window.
    h:               (B, H) the state the previous window ended in (zeros at the start of an epoch).
    lr, clip:        learning rate; maximum global gradient norm (np.inf: no clipping).
    Returns (loss, h_last, grad_norm): the window's mean NLL (float), the (B, H) state to start the
    next window with, and the global gradient norm before clipping.

    The gradient dh0 with respect to h is dropped: h came out of the previous window, which has
    already been trained on; backpropagating into it would mean keeping that window's cache, and the
    one before it, back to the start of the text. That is the truncation in truncated BPTT.
    """
    ### BEGIN SOLUTION
    loss, h_last, cache = model.lm_forward(params, inputs, targets, h)
    grads, _ = model.lm_backward(cache)  # dh0 dropped: the state is detached
    grad_norm = clip_grad_norm(grads, clip)
    sgd_step(params, grads, lr)
    return loss, h_last, grad_norm
    ### END SOLUTION


def _update_step(model, params, inputs, targets, h, lr, clip, update, optimizer_state):
    """train_step with another optimiser: the same forward, backward and clip, then ``update``."""
    loss, h_last, cache = model.lm_forward(params, inputs, targets, h)
    grads, _ = model.lm_backward(cache)  # dh0 dropped: the state is detached
    grad_norm = clip_grad_norm(grads, clip)
    update(params, grads, optimizer_state, lr)
    return loss, h_last, grad_norm


def evaluate(model, params, ids, batch_size, seq_len):
    """Mean NLL per character (nats) of the model on ``ids`` (N,), the state carried between windows.

    The ids are cut into ``batch_size`` streams and read ``seq_len`` at a time from a zero state, as in
    training but without any update; every window has batch_size * seq_len predictions, so the mean of
    the windows' losses is the mean over all of them. The few ids after the last full window are left
    out. ``perplexity(evaluate(...))`` is the number to compare with the count baselines.
    """
    h = _zero_state(params, batch_size)
    total, count = 0.0, 0
    for inputs, targets in windows(make_streams(ids, batch_size), seq_len):
        loss, h, _ = model.lm_forward(params, inputs, targets, h)
        total += loss
        count += 1
    return total / count


def measure(model, params, ids, seq_len=1000):
    """The model on the whole of ``ids`` (N,), read as one stream from a zero state, the state carried.

    Every one of the N - 1 next characters is predicted once (the last window may be shorter), and the
    numbers are means over all of them, each window weighted by its number of predictions:
    loss (mean NLL, nats/char), perplexity = e ** loss, bits_per_char = loss / ln 2, accuracy (how
    often the likeliest character is the right one), and characters, the number of predictions.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) < 2:
        raise ValueError(f"measure: ids must be a 1-D array of at least 2 ids, got shape {ids.shape}")
    h = _zero_state(params, 1)
    nll, correct = 0.0, 0
    for start in range(0, len(ids) - 1, seq_len):
        inputs = ids[None, start : start + seq_len]
        targets = ids[None, start + 1 : start + seq_len + 1]
        inputs = inputs[:, : targets.shape[1]]
        loss, h, cache = model.lm_forward(params, inputs, targets, h)
        nll += loss * targets.size  # the window's mean times its count: its sum
        correct += int(np.sum(_logits(cache).argmax(axis=1) == targets.ravel()))
    count = len(ids) - 1
    loss = nll / count
    return {
        "loss": loss,
        "perplexity": _perplexity(loss),
        "bits_per_char": bits_per_char(loss) if math.isfinite(loss) else math.inf,
        "accuracy": correct / count,
        "characters": count,
    }


def sample(model, params, vocab, prefix, length, rng, temperature=1.0):
    """Text generated by the model: ``prefix`` followed by ``length`` sampled characters, a str.

    Lesson 11's sampler (rnnlib/sample.py), the reference's, so that training shows samples in lessons
    05-10, before lesson 11's exercises are done. ``rng`` is a np.random.Generator: the same seed gives
    the same text. temperature: 1 samples the model as it is, below 1 sharpens the distribution towards
    the likeliest characters (0: always the likeliest), above 1 flattens it towards uniform.
    """
    return reference("sample").sample(model, params, vocab, prefix, length, rng, temperature=temperature)


HISTORY = ("loss", "grad_norm", "lr", "val_step", "val_loss")

# Divergence that stays finite: a loss that climbs to tens of nats per character need never become NaN,
# and a run that went on from there would save parameters worse than guessing. The run stops when the mean
# training loss of its last DIVERGENCE_WINDOW steps is more than DIVERGENCE_MARGIN above the best such mean
# so far, or, before it has one, above ln V, the loss of guessing uniformly (where every run starts).
# A mean over 20 windows is moved only 0.05 by one window 1 nat off, so a noisy window cannot stop a run,
# while a window that has blown up (lr 100 on a trained model: tens of nats) stops it at once. 1 nat is
# the perplexity multiplied by e. Measured rises of that mean above its best in healthy runs: at most
# 0.26 (the RNN with SGD on names, which spikes at the end of its warm-up), at most 0.14 in lessons 05,
# 08, 09 and 10's runs.
DIVERGENCE_WINDOW = 20
DIVERGENCE_MARGIN = 1.0


class TrainingDiverged(FloatingPointError):
    """The run stopped at ``step`` because its loss blew up: not finite, or far above the run's best.
    ``reason`` says what was seen; the message adds what to do in a notebook."""

    def __init__(self, step, reason):
        super().__init__(
            f"training diverged at step {step}: {reason}. The parameters are no longer usable: create them "
            "again with init_params and train with a smaller lr, or clip the gradients (a smaller clip)."
        )
        self.step, self.reason = step, reason


class _DivergenceWatch:
    """The finite-divergence rule above, over the run's per-step losses (a resumed run's included)."""

    def __init__(self, vocab_size, losses):
        self.uniform = math.log(vocab_size)
        self.best = math.inf
        if len(losses) >= DIVERGENCE_WINDOW:
            means = np.convolve(losses, np.ones(DIVERGENCE_WINDOW) / DIVERGENCE_WINDOW, mode="valid")
            self.best = float(means.min())

    def check(self, step, loss, losses):
        """Raise TrainingDiverged if ``loss``, the loss of ``step``, after ``losses``, ends a divergence."""
        recent = [*losses[len(losses) - DIVERGENCE_WINDOW + 1 :], loss]
        mean = math.fsum(recent) / len(recent)
        reference, what = self._reference()
        if mean > reference + DIVERGENCE_MARGIN:
            seen = "the training loss"
            if len(recent) > 1:
                seen = f"the mean training loss of the last {len(recent)} steps"
            raise TrainingDiverged(
                step,
                f"{seen}, {mean:.4g} nats/char, is more than {DIVERGENCE_MARGIN:g} nat above {what}, "
                f"{reference:.2f}",
            )
        if len(recent) == DIVERGENCE_WINDOW:
            self.best = min(self.best, mean)

    def check_update(self, step, loss_before, loss_after):
        """Raise TrainingDiverged if step ``step``'s update left the window it trained on with a loss more
        than the margin above both its loss before and the run's best (or ln V), so that parameters an
        update has just blown up are never saved, though no later step has shown it yet. Either bound
        alone trips healthy runs: early on an update can raise its window's loss by a nat (a GRU with
        SGD at lr 5), and some windows sit 2 nats above the run's best."""
        reference, what = self._reference()
        if not loss_after <= max(loss_before, reference) + DIVERGENCE_MARGIN:  # NaN fails it too
            raise TrainingDiverged(
                step,
                f"its update took the loss of the window it trained on from {loss_before:.4g} to "
                f"{loss_after:.4g} nats/char, more than {DIVERGENCE_MARGIN:g} nat above {what}, "
                f"{reference:.2f}",
            )

    def _reference(self):
        """What a loss is compared with: the run's best 20-step mean, or ln V before it has one below it."""
        if self.best < self.uniform:
            return self.best, "the run's best"
        return self.uniform, "ln V, the loss of guessing uniformly"


@dataclasses.dataclass
class RunState:
    """Where a run is: with the parameters and the samples' generator, everything its next step uses.

    step: steps done; window: windows of the current epoch done; h (B, H): the state carried into the
    next window (None: zeros); optimizer: the optimiser's state (adam_init's m, v and step; {} for SGD);
    history: lists of the per-step loss, grad_norm and lr and of the validations' val_step and val_loss;
    seconds: training time so far. ``train`` updates it after every step, so a run stopped between steps
    and saved (rnnlib.checkpoint) resumes exactly where it was.
    """

    step: int = 0
    window: int = 0
    h: np.ndarray | None = None
    optimizer: dict = dataclasses.field(default_factory=dict)
    history: dict = dataclasses.field(default_factory=lambda: {name: [] for name in HISTORY})
    seconds: float = 0.0


def train(
    model,
    params,
    train_ids,
    val_ids,
    *,
    vocab,
    batch_size,
    seq_len,
    steps,
    lr,
    clip,
    eval_every,
    sample_every,
    rng,
    plot=True,
    baselines=None,
    prompt=None,
    sample_length=200,
    optimizer="sgd",
    state=None,
    stop=None,
    checkpoint_every=None,
    on_checkpoint=None,
    progress=True,
    label="training",
    stop_on_divergence=True,
):
    """Train ``params`` (in place) for ``steps`` windows of truncated BPTT; returns the history.

    train_ids, val_ids: 1-D int ids of the two splits; vocab: their Vocabulary (for samples).
    batch_size B streams, seq_len T steps per window. lr: the learning rate, a number or a function of
    the step (1, 2, ...; rnnlib.schedule). clip: maximum global gradient norm, or None for no clipping.
    optimizer: "sgd" (train_step), "momentum" or "adam" (rnnlib.optim). Every ``eval_every`` steps (and
    before the first and after the last) the validation loss is computed; every ``sample_every`` steps
    (0 or None: never) a sample of ``sample_length`` characters starting from ``prompt`` is printed
    (default: a newline if the vocabulary has one, else the first training character). ``rng`` draws
    the samples. plot: draw the live training curve (in a notebook), with ``baselines``, a dict name ->
    perplexity, as dashed lines; the progress bar (progress=False: none) and the samples are printed
    below it, on stdout. When an epoch of the training streams is used up, reading starts again at their
    beginning from a zero state.

    Stopping and resuming: ``state``, a RunState, is updated after every step (pass RunState() to keep
    it; a saved one to resume: the run goes on from its step, to ``steps`` in all). ``stop``, a function
    of no argument, is asked after every step and ends the run early when it returns True (Ctrl-C in
    the command line). ``on_checkpoint(state)`` is called every ``checkpoint_every`` steps, after the
    last step and when stopped early, always between two steps. ``label`` names the run on its progress
    bar, so that two runs in one notebook tell themselves apart.

    Returns a dict of arrays: loss, grad_norm and lr (one per step), val_step, val_loss and
    val_perplexity (one per evaluation), and seconds, the training time of the whole run.
    Stops with TrainingDiverged, a FloatingPointError naming the step, if the loss or a gradient stops
    being finite, or if the loss climbs far above the run's best (DIVERGENCE_MARGIN; stop_on_divergence=
    False lets a run that is meant to diverge go on), before that step is offered to on_checkpoint; and
    before offering a step to on_checkpoint, it checks that the step's update did not raise the loss of
    the window it trained on by more than that margin, so that diverged parameters are never saved.
    """
    counts = {"batch_size": batch_size, "seq_len": seq_len, "steps": steps, "eval_every": eval_every}
    for name, value in counts.items():
        validate.count("train", name, value)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"train: optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    state = RunState() if state is None else state
    if state.step > steps:
        raise ValueError(f"train: the run is already at step {state.step}, past steps={steps}")
    init, update = OPTIMIZERS[optimizer]
    if not state.optimizer:
        state.optimizer = init(params)
    if state.h is None:
        state.h = _zero_state(params, batch_size)
    max_norm = np.inf if clip is None else clip
    learning_rate = lr if callable(lr) else (lambda step: lr)
    if prompt is None:
        prompt = "\n" if "\n" in vocab.stoi else vocab.decode(train_ids[:1])
    watch = _DivergenceWatch(len(vocab), state.history["loss"]) if stop_on_divergence else None

    # All windows of an epoch, as views: a resumed run picks up at window state.window.
    epoch = list(windows(make_streams(train_ids, batch_size), seq_len))
    history = state.history

    def val_perplexity(step):
        val_loss = evaluate(model, params, val_ids, batch_size, seq_len)
        _stop_unless_finite(step, "validation loss", val_loss)
        history["val_step"].append(step)
        history["val_loss"].append(val_loss)
        return _perplexity(val_loss)

    def val_perplexities():
        return [_perplexity(loss) for loss in history["val_loss"]]

    bar = curve = None
    keep_freed_memory()  # each step's arrays reuse the last step's memory (rnnlib/memory.py)
    start = time.perf_counter()
    seconds_before = state.seconds
    try:
        val_ppl = val_perplexity(0) if not history["val_step"] else _perplexity(history["val_loss"][-1])
        if plot:
            from .plots import TrainingCurve  # matplotlib takes a second to import; only a plot needs it

            curve = TrainingCurve(baselines)
            curve.update(history["loss"], history["val_step"], val_perplexities())
        # A text bar, not tqdm.auto's widget: a saved notebook keeps text, so it reopens showing the
        # finished bar, where a widget shows a stale 0% or "model not found". It goes to stdout (stderr
        # is red in JupyterLab), after the figure: text printed before the figure would stay above it
        # as a stale 0% line. JupyterLab draws each "\r" update over the last; one per second keeps the
        # saved output small.
        bar = tqdm(
            range(state.step + 1, steps + 1),
            desc=label,
            unit="step",
            file=sys.stdout,
            mininterval=1,
            initial=state.step,
            total=steps,
            disable=not progress,
        )
        for step in bar:
            if state.window == len(epoch):  # end of the epoch: back to the start of every stream, from zero
                state.window, state.h = 0, _zero_state(params, batch_size)
            inputs, targets = epoch[state.window]
            h_start = state.h
            step_lr = learning_rate(step)
            if update is None:
                loss, h, grad_norm = train_step(model, params, inputs, targets, state.h, step_lr, max_norm)
            else:
                loss, h, grad_norm = _update_step(
                    model, params, inputs, targets, state.h, step_lr, max_norm, update, state.optimizer
                )
            _stop_unless_finite(step, "loss", loss)
            _stop_unless_finite(step, "gradient norm", grad_norm)
            if watch:
                watch.check(step, loss, history["loss"])
            state.step, state.window, state.h = step, state.window + 1, h
            history["loss"].append(loss)
            history["grad_norm"].append(grad_norm)
            history["lr"].append(step_lr)
            if step % eval_every == 0 or step == steps:
                val_ppl = val_perplexity(step)
                if curve:
                    curve.update(history["loss"], history["val_step"], val_perplexities())
            bar.set_postfix(loss=f"{loss:.3f}", val_ppl=f"{val_ppl:.2f}", refresh=False)
            if sample_every and step % sample_every == 0:
                text = sample(model, params, vocab, prompt, sample_length, rng).lstrip("\n")
                tqdm.write(
                    f"--- step {step}, validation perplexity {val_ppl:.2f} ---\n{text}\n", file=sys.stdout
                )
            state.seconds = seconds_before + time.perf_counter() - start
            stopping = stop is not None and stop()
            if on_checkpoint and (
                stopping or step == steps or (checkpoint_every and step % checkpoint_every == 0)
            ):
                if watch:  # parameters are offered for saving only if this last update did not blow them up
                    loss_after = model.lm_forward(params, inputs, targets, h_start)[0]
                    watch.check_update(step, loss, loss_after)
                on_checkpoint(state)
            if stopping:
                break
    finally:
        release_freed_memory()  # what training kept goes back to the system, even after an error
        if bar is not None:
            bar.close()  # also when stopped early: the bar then shows where
        if curve is not None:
            curve.close()
    return {
        **{name: np.array(values) for name, values in history.items()},
        "val_perplexity": np.array(val_perplexities()),
        "seconds": state.seconds,
    }


def _stop_unless_finite(step, what, value):
    """Stop the run, naming the step, when a loss or gradient norm is nan or inf."""
    if not math.isfinite(value):
        raise TrainingDiverged(step, f"the {what} is {value}")


def _perplexity(mean_nll):
    """e ** mean_nll; inf, rather than OverflowError, for a model that has blown up (mean NLL > 709)."""
    return perplexity(mean_nll) if mean_nll < 709 else math.inf


def _zero_state(params, batch_size):
    """A (B, H) zero state in the parameters' dtype; H is the rows of Why for either model."""
    H = params["Why"].shape[0]
    return np.zeros((batch_size, H), dtype=params["Why"].dtype)


def _logits(cache):
    """The (B*T, V) logits of the window lm_forward read: rnnlib.rnn's and rnnlib.gru's caches hold them
    third, beside the targets (lm_backward starts from them)."""
    return cache[2]
