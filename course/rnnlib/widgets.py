"""A panel of controls that samples from a model again whenever one of them moves.

Lesson: notebooks/11_sampling.ipynb. Course scaffolding, not an exercise::

    panel = sampling_panel(model, params, vocab, prompt="ROMEO:\\n")
    panel                             # shows the controls and the sample
    panel.temperature.value = 0.5     # samples again, as the slider would
    sample(model, params, vocab, **panel.settings()) == panel.shown   # what the panel shows

The text comes from rnnlib.sampling.sample, which runs your lesson 11 exercises (rnnlib/sample.py), so
the panel shows what your sampling code does. Bad settings (a character the model never saw, an empty
prompt) give one line in the panel instead of a sample, never a traceback. The sample is written into
the Output widget as a <pre> block (its ``outputs``), not printed, so it stays in the panel wherever the
code that moved a control ran. The prompt box holds several lines (Enter is a newline), and ``\\n``
typed in it is a newline too, as in ``python -m rnnlib sample --prompt``.

Widgets live only as long as their kernel: a notebook saved with a widget's output and reopened later
shows "Error displaying widget: model not found" in its place. So the panel displays as a live widget
only for a front end a student works in, and everywhere else (``jupyter nbconvert --execute``, nbval:
the runs that save the lessons' outputs) as a still, HTML that needs no kernel: the settings and the
sample, with a note to run the cell. A live panel's display carries the same still for a front end
that cannot show widgets.
"""

import html

import ipywidgets as widgets
import numpy as np

from .checks import describe, not_done
from .sampling import sample

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
        # A Textarea, so that a prompt can end a speaker's line ("ROMEO:" and a newline) with Enter.
        self.prompt = widgets.Textarea(
            value=prompt,
            description="prompt",
            placeholder="Enter or \\n: a new line",
            rows=2,
            style=style,
            layout=wide,
        )
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
        """The keyword arguments of rnnlib.sampling.sample for the controls' current values (a fresh
        generator from the seed, so that every call draws the same text)."""
        if self.seed.value < 0:
            raise ValueError(f"the seed must be an int >= 0, got {self.seed.value}")
        return {
            "prompt": self.prompt.value.replace("\\n", "\n"),  # "\\n" typed: a newline, as the CLI reads it
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

    def still(self):
        """The panel as HTML that needs no kernel: each control's value, then the sample (or its message)."""
        rows = [
            _slider_row("temperature", self.temperature, f"{self.temperature.value:.2f}"),
            _slider_row("top-k", self.top_k, str(self.top_k.value) if self.top_k.value else "off"),
            _row("prompt", f"<code>{html.escape(_one_line(self.prompt.value))}</code>"),
            _slider_row("length", self.length, str(self.length.value)),
            _row("seed", str(self.seed.value)),
        ]
        if self.error is None:
            shown = f'<pre style="{_BOX}">{html.escape(self.shown)}</pre>'
        else:
            shown = f"<p><b>No sample:</b> {html.escape(self.error)}</p>"
        return (
            f'<div style="{_BOX}">'
            "<p><b>Sampling panel</b>, a still of it as it was shown. "
            "<i>Run the cell to use the panel.</i></p>"
            f'<table style="border-collapse: collapse">{"".join(rows)}</table>{shown}</div>'
        )

    def _repr_mimebundle_(self, **kwargs):
        settings = (
            f"temperature {self.temperature.value:.2f}, top-k {self.top_k.value or 'off'}, "
            f"prompt {self.prompt.value!r}, length {self.length.value}, seed {self.seed.value}"
        )
        plain = f"Sampling panel ({settings}). Run the cell to use the panel.\n{self.shown or self.error}"
        bundle = {"text/html": self.still(), "text/plain": plain}
        if _front_end_shows_widgets():
            bundle["application/vnd.jupyter.widget-view+json"] = self.widget._repr_mimebundle_(**kwargs)[
                "application/vnd.jupyter.widget-view+json"
            ]
        return bundle


def sampling_panel(model, params, vocab, **initial):
    """A SamplingPanel for ``model`` (rnnlib.rnn or rnnlib.gru) with ``params`` and ``vocab``; the
    keywords set the controls' first values: prompt, temperature, top_k (0: off), length, seed."""
    return SamplingPanel(model, params, vocab, **initial)


def _front_end_shows_widgets():
    """True when the code runs for a front end a student works in (JupyterLab, Notebook, VS Code).

    Those let a cell read input(), so their requests to run a cell say allow_stdin; the runners that
    execute a notebook and save it without anyone watching (nbconvert, nbval, papermill) cannot answer
    input() and say so. Outside a kernel (a script, the tests) there is no front end either.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return False
    request = kernel.get_parent("shell") or {}
    return bool(request.get("content", {}).get("allow_stdin", False))


_BOX = "border: 1px solid #ddd; padding: 2px 8px; margin: 4px 0"
_TRACK = 24  # characters of a slider's track drawn in the still


def _row(label, value):
    label = f'<td style="text-align: right; padding-right: 10px">{label}</td>'
    return f'<tr>{label}<td style="text-align: left">{value}</td></tr>'


def _slider_row(label, slider, shown):
    """A row with the slider drawn as text, its knob where the value is: ━━━━●──── 1.00"""
    span = slider.max - slider.min
    knob = round(_TRACK * (slider.value - slider.min) / span) if span else 0
    track = "━" * knob + "●" + "─" * (_TRACK - knob)
    return _row(label, f"<code>{track}</code>&nbsp; {html.escape(shown)}")


def _one_line(text):
    """A prompt on one line, its newlines shown as ↵."""
    return text.replace("\n", "↵")


def _message(error):
    """One line for the panel: the argument that is wrong, an exercise not done yet, or where code broke."""
    if isinstance(error, NotImplementedError) and (unfinished := not_done(error)) is not None:
        return str(unfinished)
    if isinstance(error, (ValueError, TypeError)):
        return str(error)
    return f"sample raised {describe(error)}"
