"""A live training curve: one figure in the notebook, redrawn in place while the model trains.

Lesson: notebooks/05_training.ipynb (rnnlib.progress shows it while rnnlib.training.train runs).
``display(fig, display_id=True)`` shows the figure once and returns a handle; ``handle.update(fig)``
redraws that same output, so the cell holds one picture that changes, not a new picture per evaluation.
"""

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.ticker import FuncFormatter, LogLocator


class TrainingCurve:
    """Left: the training loss of every step, raw and smoothed. Right: validation perplexity, log scale,
    with the count baselines (e.g. {"bigram": 11.3}) as dashed lines to beat."""

    def __init__(self, baselines=None, smooth=50):
        self.smooth = smooth
        self.fig, (self.ax_loss, self.ax_val) = plt.subplots(1, 2, figsize=(10, 3.4))
        (self.raw,) = self.ax_loss.plot([], [], color="tab:blue", alpha=0.25, lw=0.8)
        (self.smoothed,) = self.ax_loss.plot([], [], color="tab:blue", label=f"mean of {smooth} steps")
        self.ax_loss.set(xlabel="step", ylabel="training loss (nats/char)")
        self.ax_loss.legend(loc="upper right")
        (self.val,) = self.ax_val.plot([], [], "o-", color="tab:orange", ms=3, label="validation")
        for (name, value), style in zip((baselines or {}).items(), ("--", "-.", ":"), strict=False):
            self.ax_val.axhline(value, color="gray", ls=style, lw=1, label=f"{name} {value:.1f}")
        self.ax_val.set(xlabel="step", ylabel="validation perplexity", yscale="log")
        plain = FuncFormatter(lambda y, _: f"{y:g}")  # 5, 10, 20 rather than 5x10^0, 10^1, 2x10^1
        self.ax_val.yaxis.set_major_formatter(plain)
        self.ax_val.yaxis.set_minor_locator(LogLocator(subs=(1.5, 2, 3, 5, 7)))
        self.ax_val.yaxis.set_minor_formatter(plain)
        self.ax_val.legend(loc="upper right")
        self.fig.tight_layout()
        self.handle = display(self.fig, display_id=True)  # None outside IPython: nothing to redraw

    def update(self, losses, val_steps, val_perplexities):
        """Redraw with ``losses`` (one per step, steps 1..n) and the validation points so far."""
        losses = np.asarray(losses)
        steps = np.arange(1, len(losses) + 1)
        self.raw.set_data(steps, losses)
        w = max(1, min(self.smooth, len(losses)))
        # Running mean through cumulative sums: one vectorised pass, however long the run.
        csum = np.cumsum(np.concatenate([[0.0], losses]))
        self.smoothed.set_data(steps[w - 1 :], (csum[w:] - csum[:-w]) / w)
        self.val.set_data(val_steps, val_perplexities)
        for ax in (self.ax_loss, self.ax_val):
            ax.relim()
            ax.autoscale_view()
        if self.handle:
            self.handle.update(self.fig)

    def close(self):
        """Release the figure, so that pyplot does not show it a second time at the end of the cell."""
        plt.close(self.fig)
