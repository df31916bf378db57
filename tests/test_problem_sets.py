"""The problem sets check like the lessons: one line when an answer is wrong or missing, never more.

A problem set's student copy, exercises/NN_*.ipynb, runs here unanswered with the student's rnnlib (the
sets use only its infrastructure, rnnlib.checks). Every check cell must stop with one line,
``ExerciseNotDone: Problem N of <set> is not done yet: ...`` naming its own problem, and no other cell may
stop with anything else: an unanswered problem never surfaces later as a NameError or as a traceback from
inside NumPy. That holds because every code answer is the body of a function, which the static tests
below require of the solved sets in solutions/exercises/ (the source of the student copies).

nbval runs the solved sets themselves (pyproject's --nbval-lax): each check's committed ✓ line must come
out again. The static tests require that line to be the only output of a check cell, with the check's
title, and the title to name the problem the check follows.
"""

import ast
import importlib.util
import re
from functools import cache

import nbformat
import pytest
from student_run import error_of, run_as_student

from rnnlib import PROJECT_ROOT

STUDENT_SETS = sorted((PROJECT_ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
SOLVED_SETS = sorted((PROJECT_ROOT / "solutions" / "exercises").glob("[0-9][0-9]_*.ipynb"))
CHECK_MARK = "#NBVAL_CHECK_OUTPUT\n"
ONE_LINE_STOPS = {"ExerciseNotDone", "CheckFailed"}
NOT_DONE = re.compile(
    r"(Problem \d+) of (\w+) is not done yet: write your answer( in \w+)? where it says YOUR CODE HERE"
)
CHECK = re.compile(r'with check\("((Problem \d+): [^"]+)"\):')
PROBLEM_HEADING = re.compile(r"^#+ *(Problem \d+)\b", re.M)

_spec = importlib.util.spec_from_file_location("generate", PROJECT_ROOT / "tools" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


def _name(path):
    return path.name


@cache
def _run_unanswered(path):
    return run_as_student(path)


def _code_cells(notebook):
    """(number counted from 1 over all cells, cell) for every code cell."""
    return [(n, c) for n, c in enumerate(notebook.cells, start=1) if c.cell_type == "code"]


def _problem_of_each_cell(notebook):
    """{cell number: "Problem N"}, from the last "## Problem N" heading above each cell."""
    problem, found = None, {}
    for number, cell in enumerate(notebook.cells, start=1):
        heading = PROBLEM_HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        problem = heading[1] if heading else problem
        found[number] = problem
    return found


# The student copies, unanswered.


@pytest.mark.parametrize("path", STUDENT_SETS, ids=_name)
def test_every_check_stops_with_one_line_naming_its_own_unanswered_problem(path):
    notebook = _run_unanswered(path)
    problems = _problem_of_each_cell(notebook)
    checks = [(n, c) for n, c in _code_cells(notebook) if c.source.startswith(CHECK_MARK)]
    assert checks, f"{path.name} has no check cell"
    for number, cell in checks:
        where = f"{path.name}, cell {number}"
        error = error_of(cell)
        assert error is not None, f"{where}: this check passed unanswered:\n{cell.source}"
        assert error.ename in ONE_LINE_STOPS, f"{where}: {error.ename}: {error.evalue}"
        assert error.traceback == [f"{error.ename}: {error.evalue}"], f"{where}: more than one line"
        assert "\n" not in error.evalue, f"{where}: the message spans lines: {error.evalue!r}"
        # A check meets an unanswered problem as a placeholder; an error there (a NameError from a cell
        # that stopped before defining its names) would be a confusing message.
        assert "your code raised" not in error.evalue, f"{where}: {error.evalue}\n{cell.source}"
        if error.ename == "ExerciseNotDone":
            named = NOT_DONE.fullmatch(error.evalue)
            assert named, f"{where}: {error.evalue}"
            assert named[2] == path.stem, f"{where}: the message names another set: {error.evalue}"
            own = problems[number]
            assert named[1] == own, f"{where}: the check of {own} says {error.evalue}"


@pytest.mark.parametrize("path", STUDENT_SETS, ids=_name)
def test_no_cell_of_an_unanswered_set_stops_with_anything_but_one_line(path):
    for number, cell in _code_cells(_run_unanswered(path)):
        error = error_of(cell)
        if error is None:
            continue
        where = f"{path.name}, cell {number}"
        assert error.ename != "NameError" and "NameError" not in error.evalue, (
            f"{where}: {error.evalue}: a name that an unanswered cell was meant to define; put that answer "
            f"in the body of a function:\n{cell.source}"
        )
        assert error.ename in ONE_LINE_STOPS, f"{where}: {error.ename}: {error.evalue}\n{cell.source}"
        assert error.traceback == [f"{error.ename}: {error.evalue}"], f"{where}: more than one line"


# The solved sets, the source of the student copies.


@pytest.mark.parametrize("path", SOLVED_SETS, ids=_name)
def test_every_code_answer_is_the_body_of_a_function(path):
    """A placeholder at the top level of a cell would leave that cell's names undefined for later ones."""
    for number, cell in _code_cells(nbformat.read(path, as_version=4)):
        where = f"{path.name}, cell {number}"
        assert generate.SOLUTION_TAG not in cell.metadata.get("tags", []), f"{where}: a whole cell as answer"
        lines = generate.split_lines(cell.source)
        regions = generate.find_regions(lines, lambda i, where=where: f"{where}, line {i + 1}")
        functions = [node for _, node in generate.functions_in(ast.parse(cell.source))]
        for begin, end in regions:
            inside = any(generate.encloses(function, lines, begin, end) for function in functions)
            assert inside, f"{where}, line {begin + 1}: an answer outside a function:\n{cell.source}"


@pytest.mark.parametrize("path", SOLVED_SETS, ids=_name)
def test_every_check_is_one_titled_check_that_printed_its_title(path):
    notebook = nbformat.read(path, as_version=4)
    problems = _problem_of_each_cell(notebook)
    checks = [(n, c) for n, c in _code_cells(notebook) if c.source.startswith(CHECK_MARK)]
    assert checks, f"{path.name} has no check cell"
    for number, cell in checks:
        where = f"{path.name}, cell {number}"
        statements = ast.parse(cell.source).body
        assert len(statements) == 1 and isinstance(statements[0], ast.With), (
            f"{where}: a check cell is one `with check(...)` block and nothing else:\n{cell.source}"
        )
        title = CHECK.match(cell.source.removeprefix(CHECK_MARK))
        assert title, f'{where}: the block must open with check("Problem N: <what>"):\n{cell.source}'
        assert title[2] == problems[number], f"{where}: {title[2]}'s check follows {problems[number]}"
        asserts = [node for node in ast.walk(statements[0]) if isinstance(node, ast.Assert)]
        assert not asserts, f"{where}: a bare assert shows a traceback; use the expect_* helpers"
        printed = [(o.output_type, o.get("text")) for o in cell.outputs]
        assert printed == [("stream", f"✓ {title[1]}\n")], (
            f"{where}: a check cell must be committed with its one line ✓ {title[1]}"
        )
