"""What a run shows while it trains: the live curve, a progress bar and samples.

Lessons: notebooks/05_training.ipynb to 10_shakespeare.ipynb (through rnnlib.training.train) and the
command line (rnnlib.cli), which drive rnnlib.training.run_steps and show each step with ``show(state)``.
"""

import math
import sys

from tqdm import tqdm

from . import reference
from .losses import perplexity


class Progress:
    """A context manager: ``with Progress(...) as show:``, then ``show(state)`` after every step.

    model, params: what trains (for the samples); settings: the run's rnnlib.training.Settings; vocab:
    its Vocabulary; rng: the np.random.Generator the samples draw from. start: the step the run starts
    at (a resumed run's). plot: draw the live training curve (in a notebook), with ``baselines``, a dict
    name -> perplexity, as dashed lines. bar: a text progress bar named ``label``, on stdout, with the
    samples, every settings.sample_every steps, printed above it.
    """

    def __init__(
        self, model, params, settings, vocab, rng, *, start=0, plot=True, baselines=None, bar=True,
        label="training",
    ):
        self.model, self.params, self.settings, self.vocab, self.rng = model, params, settings, vocab, rng
        self.start, self.plot, self.baselines, self.show_bar, self.label = start, plot, baselines, bar, label
        self.prompt = settings.prompt or ("\n" if "\n" in vocab.stoi else vocab.chars[0])
        self.curve = self.bar = None

    def __enter__(self):
        if self.plot:
            from .plots import TrainingCurve  # matplotlib takes a second to import; only a plot needs it

            self.curve = TrainingCurve(self.baselines)
        # A text bar, not tqdm.auto's widget: a saved notebook keeps text, so it reopens showing the
        # finished bar, where a widget shows a stale 0% or "model not found". It goes to stdout (stderr
        # is red in JupyterLab), after the figure: text printed before the figure would stay above it
        # as a stale 0% line. JupyterLab draws each "\r" update over the last; one per second keeps the
        # saved output small.
        self.bar = tqdm(
            desc=self.label,
            unit="step",
            file=sys.stdout,
            mininterval=1,
            initial=self.start,
            total=self.settings.steps,
            disable=not self.show_bar,
        )
        return self

    def __call__(self, state):
        """Show the run after its step ``state.step`` (a RunState)."""
        history, step = state.history, state.step
        val_ppl = perplexity_or_inf(history["val_loss"][-1])
        if self.curve and (step == self.start + 1 or history["val_step"][-1] == step):
            val_perplexities = [perplexity_or_inf(loss) for loss in history["val_loss"]]
            self.curve.update(history["loss"], history["val_step"], val_perplexities)
        self.bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", val_ppl=f"{val_ppl:.2f}", refresh=False)
        every = self.settings.sample_every
        if every and step % every == 0:
            text = lesson_11_sample(
                self.model, self.params, self.vocab, self.prompt, self.settings.sample_length, self.rng
            )
            text = text.lstrip("\n")
            tqdm.write(f"--- step {step}, validation perplexity {val_ppl:.2f} ---\n{text}\n", file=sys.stdout)
        self.bar.update(step - self.bar.n)

    def __exit__(self, *exc):
        self.bar.close()  # also when stopped early: the bar then shows where
        if self.curve:
            self.curve.close()


def lesson_11_sample(model, params, vocab, prefix, length, rng, temperature=1.0):
    """Lesson 11's sampler, the reference's, so that runs show samples before lesson 11's exercises are
    done; in the student edition, which has no reference, yours, once they are."""
    try:
        sampling = reference("sampling")
        return sampling.sample(model, params, vocab, prefix, length, rng, temperature=temperature)
    except NotImplementedError:
        return f"{prefix}(samples show here once lesson 11's Exercises 11.1-11.4 are done)"


def perplexity_or_inf(mean_nll):
    """e ** mean_nll; inf, rather than OverflowError, for a model that has blown up (mean NLL > 709)."""
    return perplexity(mean_nll) if mean_nll < 709 else math.inf
