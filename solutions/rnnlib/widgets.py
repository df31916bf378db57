"""A panel of controls that samples from a model again whenever one of them moves.

Lesson: notebooks/11_sampling.ipynb. Course scaffolding, not an exercise::

    panel = sampling_panel(model, params, vocab, prompt="ROMEO:\\n")
    panel                             # shows the controls and the sample
    panel.temperature.value = 0.5     # samples again, as the slider would
    sample(model, params, vocab, **panel.settings()) == panel.shown   # what the panel shows

The text comes from rnnlib.sample.sample (yours), so the panel shows what your sampling code does. Bad
settings (a character the model never saw, an empty prompt) give one line in the panel instead of a
sample, never a traceback. The sample is written into the Output widget as a <pre> block (its
``outputs``), not printed, so it stays in the panel wherever the code that moved a control ran.
"""

import html

import ipywidgets as widgets
import numpy as np

from .checks import _describe, _not_done
from .sample import sample

MAX_LENGTH = 2000


class SamplingPanel:
    """The controls (temperature, top_k, prompt, length, seed), the ``output`` they fill, and the model.

    Every control's value is observed: a change samples again and replaces what ``output`` shows.
    ``shown`` is that text; ``error`` the message shown instead of a sample (None after a sample).
    """

    def __init__(self, model, params, vocab, *, prompt="\n", temperature=1.0, top_k=0, length=300, seed=0):
        self.model, self.params, self.vocab = model, params, vocab
        style = {"description_width": "90px"}
        wide = widgets.Layout(width="420px")
        # continuous_update=False: a drag samples once, where it is let go, not at every pixel.
        self.temperature = widgets.FloatSlider(
            value=temperature,
            min=0.0,
            max=2.0,
            step=0.05,
            description="temperature",
            continuous_update=False,
            readout_format=".2f",
            style=style,
            layout=wide,
        )
        self.top_k = widgets.IntSlider(
            value=top_k,
            min=0,
            max=len(vocab),
            description="top-k (0: off)",
            continuous_update=False,
            style=style,
            layout=wide,
        )
        self.prompt = widgets.Text(value=prompt, description="prompt", style=style, layout=wide)
        self.length = widgets.IntSlider(
            value=length,
            min=0,
            max=MAX_LENGTH,
            step=10,
            description="length",
            continuous_update=False,
            style=style,
            layout=wide,
        )
        self.seed = widgets.IntText(value=seed, description="seed", style=style, layout=wide)
        self.output = widgets.Output(layout=widgets.Layout(border="1px solid #ddd", padding="0 8px"))
        self.shown, self.error = None, None
        self.controls = (self.temperature, self.top_k, self.prompt, self.length, self.seed)
        for control in self.controls:
            control.observe(self._sample_again, names="value")
        self.widget = widgets.VBox([*self.controls, self.output])
        self._sample_again()

    def settings(self):
        """The keyword arguments of rnnlib.sample.sample for the controls' current values (a fresh
        generator from the seed, so that every call draws the same text)."""
        if self.seed.value < 0:
            raise ValueError(f"the seed must be an int >= 0, got {self.seed.value}")
        return {
            "prompt": self.prompt.value,
            "length": self.length.value,
            "rng": np.random.default_rng(self.seed.value),
            "temperature": self.temperature.value,
            "top_k": self.top_k.value or None,  # 0 on the slider: no filtering
        }

    def close(self):
        """Close every widget of the panel (a notebook then keeps no state for them)."""
        for widget in (*self.controls, self.output, self.widget):
            for part in (widget, getattr(widget, "layout", None), getattr(widget, "style", None)):
                if part is not None:
                    part.close()

    def _sample_again(self, change=None):
        try:
            text = sample(self.model, self.params, self.vocab, **self.settings())
        except Exception as error:  # one line in the panel: a callback's traceback would go to the log
            self._show(None, _message(error))
        else:
            self._show(text, None)

    def _show(self, text, error):
        self.shown, self.error = text, error
        if error is None:
            data = {"text/html": f"<pre>{html.escape(text)}</pre>", "text/plain": text}
        else:
            data = {"text/html": f"<p><b>No sample:</b> {html.escape(error)}</p>", "text/plain": error}
        self.output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def sampling_panel(model, params, vocab, **initial):
    """A SamplingPanel for ``model`` (rnnlib.rnn or rnnlib.gru) with ``params`` and ``vocab``; the
    keywords set the controls' first values: prompt, temperature, top_k (0: off), length, seed."""
    return SamplingPanel(model, params, vocab, **initial)


def _message(error):
    """One line for the panel: the argument that is wrong, an exercise not done yet, or where code broke."""
    if isinstance(error, NotImplementedError) and (not_done := _not_done(error)) is not None:
        return str(not_done)
    if isinstance(error, (ValueError, TypeError)):
        return str(error)
    return f"sample raised {_describe(error)}"
