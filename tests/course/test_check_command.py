"""`make check` (tools/check.py): each exercise reported with its whole message, problem sets beside;
`make nbval` (tools/nbval_lessons.py): the lessons under nbval, one line per failing cell."""

import os
import re
import shutil
import subprocess
import sys
import types

import nbformat
import pytest

from rnnlib import PROJECT_ROOT


def _check(lesson, choice):
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    env["RNNLIB"] = str(choice)
    return subprocess.run(
        [sys.executable, "tools/check.py", lesson], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )


def _copy_with(tmp_path, module, old, new):
    """A copy of the reference package with one change, used as a student's rnnlib/."""
    package = tmp_path / "rnnlib"
    shutil.copytree(
        PROJECT_ROOT / "solutions" / "rnnlib", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    path = package / module
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    return package


def test_on_the_stubs_every_exercise_is_reported_not_done():
    done = _check("02", "student")
    assert done.returncode == 1
    assert "  ✗ Exercise 2.1: softmax\n" in done.stdout
    assert (
        "ExerciseNotDone: Exercise 2.1 is not done yet: implement softmax in rnnlib/losses.py" in done.stdout
    )
    assert "\n0 of 4 exercises pass." in done.stdout


def test_on_the_reference_every_exercise_passes_and_an_unanswered_problem_set_does_not_block():
    done = _check("01", "reference")
    assert done.returncode == 0, done.stdout
    assert "  ✓ Exercise 1.4: make_streams and windows\n" in done.stdout
    assert "\n4 of 4 exercises pass." in done.stdout
    assert "Problem set 01_text_and_loss_problems" in done.stdout  # the student copy: not answered yet
    assert "  ✗ " in done.stdout.split("Problem set")[1]
    # The problem set's kernel is started with transport encryption, so ipykernel does not warn that plain
    # TCP can be eavesdropped (once per problem set), and nothing else is printed beside the report.
    assert done.stderr == "", done.stderr


def test_a_print_in_your_code_is_not_a_failure(tmp_path):
    package = _copy_with(
        tmp_path, "losses.py", "    E = np.exp(", '    print("debugging softmax")\n    E = np.exp('
    )
    done = _check("02", package)
    assert done.returncode == 0, done.stdout
    assert "  ✓ Exercise 2.1: softmax\n" in done.stdout


def test_a_wrong_answer_is_reported_whole(tmp_path):
    package = _copy_with(tmp_path, "losses.py", "return (P - Y) / N", "return P - Y")
    done = _check("02", package)
    assert done.returncode == 1
    assert (
        "      CheckFailed: Exercise 2.3: cross_entropy_backward: cross_entropy_backward(Z, [1, 0]): "
        "4 of 4 values differ; at index (0, 0) expected 0.125, got 0.25\n" in done.stdout
    )
    assert "\n3 of 4 exercises pass." in done.stdout


def test_a_lesson_without_exercises_and_an_unknown_lesson():
    done = _check("06", "reference")
    assert done.returncode == 0 and "(this lesson has no exercise)" in done.stdout
    done = _check("42", "student")
    assert done.returncode != 0
    assert "No lesson matches '42'" in done.stderr


# make nbval (tools/nbval_lessons.py): the lessons under nbval on your rnnlib/, one line per failing cell.


def _nbval(lesson, choice=None):
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    if choice is not None:
        env["RNNLIB"] = choice
    return subprocess.run(
        [sys.executable, "tools/nbval_lessons.py", lesson],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_nbval_runs_only_the_lesson_and_writes_nothing_into_it():
    lesson = PROJECT_ROOT / "notebooks" / "01_text_as_data.ipynb"
    before = (lesson.read_bytes(), lesson.stat().st_mtime_ns)
    done = _nbval("01", "reference")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = re.search(r"\nnotebooks/01_text_as_data\.ipynb: (\d+) of (\d+) code cells pass\n", done.stdout)
    assert summary and summary[1] == summary[2], done.stdout
    # pytest ran those cells and nothing else: no problem set, no test of the course.
    assert done.stdout.rstrip().splitlines()[-1].startswith(f"{summary[1]} passed in ")
    assert (lesson.read_bytes(), lesson.stat().st_mtime_ns) == before


def test_nbval_on_the_stubs_gives_one_line_per_failing_cell_naming_the_check():
    done = _nbval("02")  # RNNLIB unset: the student's own rnnlib/, all stubs
    assert done.returncode == 1
    assert re.search(
        r"\n  code cell \d+ \(check_exercise\(\"2\.1\"\)\): ExerciseNotDone: Exercise 2\.1 is not done yet: "
        r"implement softmax in rnnlib/losses\.py\n",
        done.stdout,
    ), done.stdout
    assert "Traceback" not in done.stdout and "Input:" not in done.stdout, "no wall of nbval's report"


def test_nbval_names_what_a_check_cell_printed_instead_of_its_line():
    from tools import nbval_lessons
    saved = nbformat.v4.new_output("stream", text="✓ Exercise 2.1: softmax\n")
    cell = nbformat.v4.new_code_cell('#NBVAL_CHECK_OUTPUT\ncheck_exercise("2.1")', outputs=[saved])
    printed = [nbformat.v4.new_output("stream", text="debugging softmax\n"), saved]
    item = types.SimpleNamespace(test_outputs=printed, cell=cell)
    assert nbval_lessons.what_went_wrong(item, None) == (
        "printed 'debugging softmax' where the lesson printed '✓ Exercise 2.1: softmax'"
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="the course's commands need make")
def test_make_nbval_runs_the_tool_and_an_unknown_lesson_is_one_line():
    done = subprocess.run(
        ["make", "--dry-run", "--silent", "nbval", "L=02"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.stdout.splitlines()[-1] == ".venv/bin/python tools/nbval_lessons.py 02", done.stdout
    done = _nbval("42")
    assert done.returncode == 1
    assert done.stderr == "No lesson matches '42': use a lesson number such as 02 (see notebooks/).\n"


def test_make_check_piped_to_a_reader_that_leaves_early_ends_quietly():
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"} | {"RNNLIB": "reference"}
    process = subprocess.Popen(
        [sys.executable, "tools/check.py", "01"],  # its problem set prints after a kernel ran it
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "Your exercises of lesson 01\n"
    process.stdout.close()  # as `make check | head -1` does
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == ""
