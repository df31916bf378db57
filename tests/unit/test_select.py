"""`import rnnlib` gives the student's package by default and the reference when RNNLIB=reference."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from rnnlib import PROJECT_ROOT

STUDENT = str(PROJECT_ROOT / "rnnlib" / "rnn.py")
REFERENCE = str(PROJECT_ROOT / "solutions" / "rnnlib" / "rnn.py")
# The course's own modules are one copy, whichever exercises are chosen.
COURSE = str(PROJECT_ROOT / "course" / "rnnlib" / "checks.py")
PROBE = "import rnnlib.checks, rnnlib.rnn; print(rnnlib.rnn.__file__, rnnlib.checks.__file__)"


def _environment(choice):
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    if choice is not None:
        env["RNNLIB"] = choice
    return env


def _in_python(choice):
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=_environment(choice), capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _in_kernel(choice):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute(env=_environment(choice))
    return notebook.cells[0].outputs[0]["text"].strip()


@pytest.mark.parametrize("run", [_in_python, _in_kernel], ids=["python", "kernel"])
@pytest.mark.parametrize(
    "choice, expected", [(None, STUDENT), ("student", STUDENT), ("reference", REFERENCE)]
)
def test_rnnlib_resolves_to_the_selected_package(run, choice, expected):
    assert run(choice) == f"{expected} {COURSE}"


def test_the_suite_itself_runs_on_the_reference():
    import rnnlib.rnn

    assert rnnlib.USING_REFERENCE
    assert rnnlib.rnn.__file__ == REFERENCE


def test_an_unknown_choice_is_refused_with_a_clear_message():
    done = subprocess.run(
        [sys.executable, "-c", "import rnnlib"], env=_environment("refrence"), capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "RNNLIB='refrence': set it to 'reference' or 'student'" in done.stderr
