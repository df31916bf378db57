"""Lesson 05's progress bar is text: a saved notebook shows the finished bar, never a widget."""

import re

import nbformat
from nbclient import NotebookClient

STEPS = 30
TRAIN = f"""\
import numpy as np
from rnnlib import rnn
from rnnlib.data import Vocabulary
from rnnlib.training import Settings, train

text = "the cat sat on the mat. " * 40
vocab = Vocabulary(text)
ids = vocab.encode(text)
params = rnn.init_params(len(vocab), 16, np.random.default_rng(0))
settings = Settings(
    batch_size=4, seq_len=8, steps={STEPS}, lr=0.5, clip=5.0, eval_every=10, sample_every=15, sample_length=20
)
history = train(rnn, params, ids[:800], ids[800:], settings, vocab=vocab, rng=np.random.default_rng(1))"""
FINAL = "print(f\"loss={history['loss'][-1]:.3f}, val_ppl={history['val_perplexity'][-1]:.2f}\")"
WIDGET = "application/vnd.jupyter.widget-view+json"


def _shown(outputs):
    """What JupyterLab shows for stored outputs, as (kind, text) pairs: it joins consecutive stream
    outputs of one name, and of each line shows what follows the last carriage return (tqdm redraws
    its bar with "\\r")."""
    shown = []
    for out in outputs:
        if out.output_type == "stream" and shown and shown[-1][0] == out.name:
            shown[-1] = (out.name, shown[-1][1] + out.text)
        else:
            shown.append((out.get("name", out.output_type), out.get("text", "")))
    return [(kind, "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))) for kind, text in shown]


def test_a_saved_training_run_shows_the_finished_bar_as_text(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (TRAIN, FINAL)])
    NotebookClient(
        notebook, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    # What the student sees on reopening: the notebook as saved.
    nbformat.write(notebook, tmp_path / "run.ipynb")
    saved = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    outputs = saved.cells[0].outputs

    assert not [out for out in outputs if WIDGET in out.get("data", {})], "the bar is a widget"
    assert "widgets" not in saved.metadata
    # The figure first, then the bar and samples below it: text printed before the figure would stay
    # above it, a stale 0% line.
    shown = _shown(outputs)
    assert [kind for kind, _ in shown] == ["display_data", "stdout"], f"not the figure, then stdout: {shown}"
    assert "image/png" in outputs[0].data
    text = shown[1][1]

    lines = text.strip("\n").split("\n")
    assert "--- step 15, validation perplexity" in text and "--- step 30, validation perplexity" in text
    assert [line for line in lines if line.startswith("training:")] == [lines[-1]], "one bar, at the end"
    bar, final = lines[-1], saved.cells[1].outputs[0].text.strip()
    assert "100%" in bar and f" {STEPS}/{STEPS} [" in bar, bar
    assert re.search(r"\[\d\d:\d\d<00:00, ", bar), f"no elapsed time in {bar}"
    assert f"{final}]" in bar, f"the bar should end with the final {final}: {bar}"
