"""Running a course notebook as a student would: with the student's own rnnlib/, errors kept."""

import os

import nbformat
from nbclient import NotebookClient


def run_as_student(path):
    """The notebook at ``path`` executed from its own folder with rnnlib/ (the suite itself uses the
    reference), every cell run even after one stops."""
    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    return notebook


def error_of(cell):
    """The error output of a code cell, or None."""
    return next((o for o in cell.outputs if o.output_type == "error"), None)
