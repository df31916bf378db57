"""Every check can fail, and every lesson stands alone.

The passing half is nbval itself: the suite collects notebooks/ and solutions/exercises/ with
--nbval-lax, so every cell runs and every check cell's line must match the committed one; and the
conftest runs lesson N as a student who has done the exercises of lessons up to N and none after, so
each lesson also stands alone. This file runs the lessons on the student's stubbed rnnlib/ and asserts
that every check cell stops, with a one-line message naming the exercise and the file to edit (the
problem sets: tests/course/test_problem_sets.py).
"""

import re
from pathlib import Path

import nbformat
import pytest
from student_run import error_of, run_as_student

from rnnlib import PROJECT_ROOT

CHECK_MARK = "#NBVAL_CHECK_OUTPUT"
LESSONS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOT_DONE = re.compile(r"Exercise (\d+\.\d+) is not done yet: implement [\w.]+ in rnnlib/\w+\.py")
TITLE = re.compile(r'(?:with check\("Exercise |check_exercise\(")(\d+\.\d+)')


def _check_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(CHECK_MARK + "\n")]


def _name(path):
    return path.name


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_every_check_cell_of_a_lesson_fails_on_the_stubs_with_a_one_line_message(path):
    for cell in _check_cells(run_as_student(path)):
        error = error_of(cell)
        assert error is not None, f"{path.name}: this check passed on the stubs:\n{cell.source}"
        assert error.ename == "ExerciseNotDone", f"{path.name}: {error.ename}: {error.evalue}"
        assert NOT_DONE.fullmatch(error.evalue), error.evalue
        assert error.traceback == [f"ExerciseNotDone: {error.evalue}"]


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_each_check_cell_is_one_check_that_printed_one_line_on_the_reference(path):
    for cell in _check_cells(nbformat.read(path, as_version=4)):
        assert cell.source.count("with check(") + cell.source.count("check_exercise(") == 1, cell.source
        printed = [o for o in cell.outputs if o.output_type == "stream"]
        assert len(printed) == 1 and printed[0].text.startswith("✓ ") and printed[0].text.count("\n") == 1, (
            f"{path.name}: a check cell must be committed with its one ✓ line:\n{cell.source}"
        )


def _exercises_in_solutions():
    """{"2.1": "losses.py", ...} from the docstrings that open each exercise function."""
    found = {}
    for module in (PROJECT_ROOT / "solutions" / "rnnlib").glob("*.py"):
        for number in re.findall(r'"""Exercise (\d+\.\d+)', module.read_text()):
            found[number] = module.name
    return found


def test_every_exercise_of_the_package_has_a_check_in_its_lesson():
    checked = {}
    for path in LESSONS:
        for cell in _check_cells(nbformat.read(path, as_version=4)):
            for number in TITLE.findall(cell.source):
                checked.setdefault(number, []).append(path.name[:2])
    exercises = _exercises_in_solutions()
    assert exercises, "no exercise found in solutions/rnnlib"
    for number, module in sorted(exercises.items()):
        lesson = f"{int(number.split('.')[0]):02d}"
        missing = f"Exercise {number} ({module}) has no check cell in lesson {lesson}"
        assert lesson in checked.get(number, []), missing


def test_lessons_are_numbered_from_00_without_gaps():
    numbers = [int(Path(p).name[:2]) for p in LESSONS]
    assert numbers == list(range(len(numbers)))


def test_nbval_runs_each_lesson_as_a_student_who_is_there():
    """The conftest hands lesson N's kernel a package with the exercises of lessons <= N solved."""
    from conftest import student_package

    package = student_package(3)
    rnn = (package / "rnn.py").read_text()
    assert 'raise NotImplementedError("Exercise 3' not in rnn, "Exercises 3.x are solved"
    assert 'raise NotImplementedError("Exercise 4.1' in rnn
    assert 'raise NotImplementedError("Exercise 2.1' not in (package / "losses.py").read_text()
    assert (package / "__init__.py").is_file()
