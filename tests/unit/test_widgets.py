"""Lesson 11's sampling panel, in-process: move the controls as a hand would and read the Output widget."""

import ipywidgets as widgets
import numpy as np
import pytest

from rnnlib import gru
from rnnlib import widgets as panel_module
from rnnlib.data import Vocabulary
from rnnlib.sampling import sample
from rnnlib.widgets import sampling_panel

TEXT = "the cat sat on the mat. <b> & co.\n" * 20


@pytest.fixture
def model():
    vocab = Vocabulary(TEXT)
    params = gru.init_params(len(vocab), 8, np.random.default_rng(0), np.float32)
    params["Why"] = params["Why"] * 3
    return gru, params, vocab


def _output(panel):
    """What the Output widget holds: (its HTML, its plain text)."""
    (shown,) = panel.output.outputs
    assert shown["output_type"] == "display_data"
    return shown["data"]["text/html"], shown["data"]["text/plain"]


def test_the_controls_are_the_named_widgets(model):
    panel = sampling_panel(*model)
    assert (
        isinstance(panel.temperature, widgets.FloatSlider) and panel.temperature.description == "temperature"
    )
    assert isinstance(panel.top_k, widgets.IntSlider) and panel.top_k.value == 0
    assert isinstance(panel.prompt, widgets.Textarea)  # it holds a newline: "ROMEO:" then a new line
    assert isinstance(panel.length, widgets.IntSlider)
    assert isinstance(panel.seed, widgets.IntText)
    assert isinstance(panel.output, widgets.Output)


def test_the_panel_shows_what_sample_gives_in_a_pre_block(model):
    panel = sampling_panel(*model, prompt="the ", length=60, temperature=0.8, seed=4)
    expected = sample(*model, **panel.settings())
    assert panel.shown == expected and panel.error is None
    html, text = _output(panel)
    assert text == expected and html.startswith("<pre>") and html.endswith("</pre>")


def test_moving_any_control_samples_again_into_the_output_without_printing(model, capsys):
    panel = sampling_panel(*model, prompt="the ", length=50)
    seen = {panel.shown}
    for control, value in (
        (panel.temperature, 1.6),
        (panel.top_k, 3),
        (panel.seed, 7),
        (panel.length, 120),
        (panel.prompt, "a cat "),
    ):
        control.value = value
        assert panel.shown == sample(*model, **panel.settings()) == _output(panel)[1]
        seen.add(panel.shown)
    assert len(seen) == 6
    assert panel.shown.startswith("a cat ") and len(panel.shown) == len("a cat ") + 120
    assert capsys.readouterr() == ("", "")


def test_settings_are_samples_keyword_arguments_with_top_k_zero_off(model):
    panel = sampling_panel(*model, prompt="the ", temperature=0.5, top_k=0, length=30, seed=2)
    settings = panel.settings()
    assert {k: v for k, v in settings.items() if k != "rng"} == {
        "prompt": "the ",
        "length": 30,
        "temperature": 0.5,
        "top_k": None,
    }
    assert isinstance(settings["rng"], np.random.Generator) and settings["rng"] is not panel.settings()["rng"]
    panel.top_k.value = 4
    assert panel.settings()["top_k"] == 4


def test_temperature_zero_and_the_clamped_slider_give_the_greedy_text(model):
    panel = sampling_panel(*model, prompt="the ", length=40)
    panel.temperature.value = -0.5  # the slider stops at 0
    assert panel.temperature.value == 0.0
    greedy = sample(*model, "the ", 40, np.random.default_rng(123), temperature=0)
    assert panel.shown == greedy and panel.error is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prompt": "the dog"}, "outside the model's vocabulary: 'd', 'g'"),
        ({"prompt": ""}, "the prompt is empty"),
        ({"seed": -1}, "the seed must be an int >= 0"),
    ],
)
def test_bad_settings_show_one_message_and_no_sample(model, change, message):
    panel = sampling_panel(*model, prompt="the ", length=30)
    for name, value in change.items():
        getattr(panel, name).value = value
    assert panel.shown is None and message in panel.error
    html, text = _output(panel)
    assert text == panel.error and "\n" not in text and "Traceback" not in html
    assert html.startswith("<p>") and "<pre>" not in html
    panel.prompt.value, panel.seed.value = "the ", 0  # put right, it samples again
    assert panel.error is None and panel.shown == sample(*model, **panel.settings())


def test_a_temperature_below_zero_is_a_message_if_the_slider_allows_it(model):
    panel = sampling_panel(*model, prompt="the ", length=30)
    panel.temperature.min = -1.0
    panel.temperature.value = -0.5
    assert panel.shown is None and "the temperature must be a number >= 0" in panel.error


def test_the_text_is_escaped_for_html(model):
    panel = sampling_panel(*model, prompt="<b> & ", length=20)
    html, text = _output(panel)
    assert text.startswith("<b> & ") and html.startswith("<pre>&lt;b&gt; &amp; ")


def test_an_exercise_not_done_and_a_crash_are_one_line_each(model, monkeypatch):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise 11.3: implement prime, see notebooks/11_sampling.ipynb")

    monkeypatch.setattr(panel_module, "sample", stub)
    panel = sampling_panel(*model, prompt="the ")
    assert panel.error.startswith("Exercise 11.3 is not done yet: implement prime in ")

    def broken(*args, **kwargs):
        return [][1]

    monkeypatch.setattr(panel_module, "sample", broken)
    panel.seed.value = 3
    assert panel.error.startswith("sample raised IndexError: list index out of range")
    assert "\n" not in panel.error


def test_close_closes_every_widget_of_the_panel(model):
    panel = sampling_panel(*model, prompt="the ")
    parts = [
        p
        for w in (*panel.controls, panel.output, panel.widget)
        for p in (w, w.layout, getattr(w, "style", None))
    ]
    assert all(p.comm is not None for p in parts if p is not None)
    panel.close()
    assert all(p.comm is None for p in parts if p is not None)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_a_newline_typed_in_the_prompt_box_or_as_backslash_n_starts_a_new_line(model):
    panel = sampling_panel(*model, prompt="the cat.\nthe ", length=30, seed=3)
    typed = panel.shown
    assert typed.startswith("the cat.\nthe ")
    panel.prompt.value = "the cat.\\nthe "  # \n typed as two characters, as on the command line
    assert panel.settings()["prompt"] == "the cat.\nthe " and panel.shown == typed


def test_without_a_front_end_the_panel_displays_as_a_still_that_needs_no_kernel(model):
    """nbconvert and nbval save this display in the lessons: it must not name a widget model, which no
    reopened notebook would find."""
    panel = sampling_panel(*model, prompt="<b> & ", temperature=0.5, top_k=3, length=40, seed=2)
    bundle = panel._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    still = bundle["text/html"]
    note = "Run the cell to use the panel."
    assert note in still and note in bundle["text/plain"]
    assert f'<pre style="{panel_module._BOX}">&lt;b&gt; &amp; ' in still  # the sample, escaped
    assert html_text(still).count(panel.shown) == 1
    for shown in ("temperature", "0.50", "top-k", "3", "length", "40", "seed", "2"):
        assert f">{shown}<" in still or f" {shown}<" in still, shown
    assert "●" in still and "<script" not in still


def html_text(still):
    """The text of the still's <pre>, unescaped, as a browser shows it."""
    import html as html_module
    import re

    return html_module.unescape(re.search(r"<pre[^>]*>(.*?)</pre>", still, re.S)[1])


def test_the_still_shows_a_message_instead_of_a_sample_for_bad_settings(model):
    panel = sampling_panel(*model, prompt="the dog")
    still = panel._repr_mimebundle_()["text/html"]
    assert "<b>No sample:</b>" in still and "&#x27;d&#x27;" in still and "<pre" not in still


def test_a_front_end_gets_the_live_widget_with_the_still_beside_it(model, monkeypatch):
    monkeypatch.setattr(panel_module, "_front_end_shows_widgets", lambda: True)
    panel = sampling_panel(*model, prompt="the ")
    bundle = panel._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == panel.widget.model_id
    assert "Run the cell to use the panel." in bundle["text/html"]


@pytest.mark.parametrize(("allow_stdin", "live"), [(True, True), (False, False)])
def test_a_front_end_is_a_kernel_request_that_allows_input(monkeypatch, allow_stdin, live):
    """JupyterLab, Notebook and VS Code run cells with allow_stdin; nbconvert, nbval and papermill without."""

    class Kernel:
        def get_parent(self, channel):
            assert channel == "shell"
            return {"content": {"code": "panel", "allow_stdin": allow_stdin}}

    class Shell:
        kernel = Kernel()

    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert panel_module._front_end_shows_widgets() is live
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # a script: no kernel
    assert panel_module._front_end_shows_widgets() is False
