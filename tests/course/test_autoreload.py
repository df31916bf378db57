"""A saved answer takes effect in a running kernel, and a stale module is named when it does not.

Each test starts a real kernel on a copy of the course in a temporary folder (the generated stubs of
rnnlib/, the reference in solutions/rnnlib/), runs cells one at a time, and saves a file of the copy
between two cells, as a student saves rnnlib/losses.py in JupyterLab while the lesson's kernel runs.
"""

import os
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from rnnlib import PROJECT_ROOT
from tools import check as check_tool
from tools import generate

# The lines in every lesson's first code cell.
AUTORELOAD = "%load_ext autoreload\n%autoreload 2"
LESSONS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOT_DONE = "Exercise 2.1 is not done yet: implement softmax in rnnlib/losses.py"
STALE = "rnnlib/losses.py changed since this kernel imported it: restart the kernel to run what you saved"


@pytest.fixture
def course(tmp_path):
    """A copy of the course: rnnlib/ as generated (every exercise a stub), solutions/rnnlib/,
    course/rnnlib/ and the pyproject.toml that marks the course's root."""
    for name, text in generate.expected_files(PROJECT_ROOT).items():
        if name.startswith("rnnlib/"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
    for folder in ("solutions", "course"):
        shutil.copytree(
            PROJECT_ROOT / folder / "rnnlib",
            tmp_path / folder / "rnnlib",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "notebooks").mkdir()
    return tmp_path


class Kernel:
    """A kernel in the copy's notebooks/ folder that imports the copy's rnnlib; run(source) executes one
    cell and returns its outputs."""

    def __init__(self, client):
        self.client = client

    def run(self, source):
        notebook = self.client.nb
        notebook.cells.append(nbformat.v4.new_code_cell(source))
        self.client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)
        return notebook.cells[-1].outputs


def kernel(course, rnnlib=None):
    """The context of a Kernel on ``course``, with RNNLIB=``rnnlib`` (None: unset, the student's own)."""
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    env["PYTHONPATH"] = str(course)  # the copy's rnnlib before the one installed in the environment
    if rnnlib is not None:
        env["RNNLIB"] = rnnlib
    client = NotebookClient(
        nbformat.v4.new_notebook(),
        kernel_name="python3",
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(course / "notebooks")}},
        config=check_tool.kernel_config(),
    )
    return client.setup_kernel(env=env), Kernel(client)


def printed(outputs):
    return "".join(o.text for o in outputs if o.output_type == "stream")


def error(outputs):
    [found] = [o for o in outputs if o.output_type == "error"]
    assert found.traceback == [f"{found.ename}: {found.evalue}"], "one line, no traceback"
    return f"{found.ename}: {found.evalue}"


def save(path, text):
    """Write ``path`` as an editor saves it; its time moves on, as it does between two cells."""
    before = path.stat().st_mtime
    path.write_text(text)
    os.utime(path, (before + 10, before + 10))


def solved_losses():
    """rnnlib/losses.py with lesson 02's exercises answered (softmax among them)."""
    return generate.stub_module(PROJECT_ROOT, PROJECT_ROOT / "solutions" / "rnnlib" / "losses.py", 2)


def test_every_lesson_loads_autoreload_in_its_first_code_cell():
    for path in LESSONS:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert AUTORELOAD + "\n" in first.source, f"{path.name}: {first.source[:160]!r}"


def test_a_saved_answer_is_checked_in_the_same_kernel_without_a_restart(course):
    context, lesson = kernel(course)
    with context:
        assert lesson.run(f"{AUTORELOAD}\nfrom rnnlib.lesson_checks import check_exercise") == []
        assert lesson.run("from rnnlib.losses import softmax") == []
        assert error(lesson.run('check_exercise("2.1")')) == f"ExerciseNotDone: {NOT_DONE}"

        save(course / "rnnlib" / "losses.py", solved_losses())
        assert printed(lesson.run('check_exercise("2.1")')) == "✓ Exercise 2.1: softmax\n"
        # The name the lesson imported before the save runs the saved code too.
        assert printed(lesson.run("print(softmax([[0.0, 0.0]]))")) == "[[0.5 0.5]]\n"


def test_without_autoreload_a_check_names_the_file_that_changed_since_the_kernel_imported_it(course):
    losses = course / "rnnlib" / "losses.py"
    save(losses, solved_losses().replace("return E / E.sum(axis=-1, keepdims=True)", "return E"))
    context, lesson = kernel(course)
    with context:
        assert lesson.run("from rnnlib.lesson_checks import check_exercise") == []
        wrong = error(lesson.run('check_exercise("2.1")'))
        assert wrong.startswith("CheckFailed: Exercise 2.1: softmax: softmax([0, ln 2, ln 5]): 3 of 3 values")
        not_done = "ExerciseNotDone: Exercise 2.4 is not done yet: implement numerical_gradient in "
        not_done += "rnnlib/gradcheck.py"
        assert error(lesson.run('check_exercise("2.4")')) == not_done

        save(losses, solved_losses())  # right now, but this kernel still runs the wrong softmax
        assert error(lesson.run('check_exercise("2.1")')) == f"{wrong}. {STALE}"
        assert error(lesson.run('check_exercise("2.4")')) == f"{not_done}. {STALE}"


def test_autoreload_reloads_the_reference_under_both_of_its_names(course):
    """With RNNLIB=reference, rnnlib.losses and rnnlib.reference("losses") are two modules of one file."""
    context, lesson = kernel(course, rnnlib="reference")
    with context:
        assert (
            lesson.run(f"{AUTORELOAD}\nimport rnnlib\nfrom rnnlib.lesson_checks import check_exercise") == []
        )
        assert printed(lesson.run('check_exercise("2.1")')) == "✓ Exercise 2.1: softmax\n"
        reference = course / "solutions" / "rnnlib" / "losses.py"
        shown = printed(lesson.run('print(rnnlib.losses.__file__, rnnlib.reference("losses").__file__)'))
        assert shown == f"{reference} {reference}\n"

        save(reference, reference.read_text() + '\n\ndef added():\n    return "saved"\n')
        shown = printed(lesson.run('print(rnnlib.losses.added(), rnnlib.reference("losses").added())'))
        assert shown == "saved saved\n"
        assert printed(lesson.run('check_exercise("2.1")')) == "✓ Exercise 2.1: softmax\n"
