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

A check cell shows no answer: its body is one call, ``check_problem("<set>", N, <the functions>)``, and
the check itself, with every expected value, is in rnnlib/problem_checks.py. The tests below run each
check on the solved set's own functions, and on each function with a realistic bug planted in it, which
the check must catch and blame on its own problem.
"""

import ast
import inspect
import re
from functools import cache

import nbformat
import numpy as np
import pytest
from student_run import error_of, run_as_student

from rnnlib import PROJECT_ROOT, problem_checks
from rnnlib.checks import CheckFailed, check
from tools import generate, planted_bugs
from tools.planted_bugs import PROBLEM_MUTANTS

STUDENT_SETS = sorted((PROJECT_ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
SOLVED = PROJECT_ROOT / "solutions" / "exercises"
SOLVED_SETS = sorted(SOLVED.glob("[0-9][0-9]_*.ipynb"))
CHECK_MARK = "#NBVAL_CHECK_OUTPUT\n"
ONE_LINE_STOPS = {"ExerciseNotDone", "CheckFailed"}
NOT_DONE = re.compile(
    r"(Problem \d+) of (\w+) is not done yet: write your answer( in \w+)? where it says YOUR CODE HERE"
)
CHECK = re.compile(r'with check\("((Problem \d+): [^"]+)"\):')
PROBLEM_HEADING = re.compile(r"^#+ *(Problem \d+)\b", re.M)
CHECK_PROBLEM = "check_problem"


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


def _check_calls(path):
    """{(set, problem number): (title, [names of the functions handed over])} of the solved set's check
    cells, each ``with check(title): check_problem(set, N, f, g)``."""
    calls = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or not cell.source.startswith(CHECK_MARK):
            continue
        block = ast.parse(cell.source).body[0]
        title = ast.literal_eval(block.items[0].context_expr.args[0])
        called = block.body[0].value
        problem_set, number = (ast.literal_eval(arg) for arg in called.args[:2])
        calls[problem_set, number] = (title, [arg.id for arg in called.args[2:]])
    return calls


@pytest.mark.parametrize("path", SOLVED_SETS, ids=_name)
def test_every_check_cell_is_one_call_to_its_problems_check_with_nothing_in_view(path):
    """The expected values (and the arithmetic that reveals an answer) stay in rnnlib/problem_checks.py."""
    notebook = nbformat.read(path, as_version=4)
    for number, cell in _code_cells(notebook):
        if not cell.source.startswith(CHECK_MARK):
            continue
        where = f"{path.name}, cell {number}"
        block = ast.parse(cell.source).body[0]
        body = block.body
        is_call = len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Call)
        assert is_call and getattr(body[0].value.func, "id", None) == CHECK_PROBLEM, (
            f'{where}: the check block must be one line, check_problem("{path.stem}", N, <your functions>); '
            f"the check goes in rnnlib/problem_checks.py:\n{cell.source}"
        )
        called = body[0].value
        assert all(isinstance(arg, ast.Name) for arg in called.args[2:]) and not called.keywords, (
            f"{where}: hand the check the functions themselves, nothing computed:\n{cell.source}"
        )
        problem_set, problem = (ast.literal_eval(arg) for arg in called.args[:2])
        title = ast.literal_eval(block.items[0].context_expr.args[0])
        assert problem_set == path.stem, f"{where}: the check of another set, {problem_set}"
        assert title.startswith(f"Problem {problem}:"), (
            f"{where}: {title!r} calls the check of Problem {problem}"
        )
    for (problem_set, problem), (title, names) in _check_calls(path).items():
        parameters = list(inspect.signature(problem_checks.PROBLEMS[problem_set, problem]).parameters)
        assert names == parameters, f"{path.name}, {title}: hands over {names}, the check takes {parameters}"


def test_every_problem_check_has_its_check_cell():
    called = set().union(*(_check_calls(path) for path in SOLVED_SETS))
    registered = set(problem_checks.PROBLEMS)
    assert registered <= called, f"checks that no problem set calls: {sorted(registered - called)}"


@pytest.mark.parametrize("key", problem_checks.PROBLEMS, ids=lambda key: f"{key[0]}-{key[1]}")
def test_every_check_passes_on_the_solved_sets_own_functions(key, capsys):
    problem_set, problem = key
    title, names = _check_calls(SOLVED / f"{problem_set}.ipynb")[key]
    solved = problem_checks._solved(problem_set)
    with check(title):
        problem_checks.check_problem(problem_set, problem, *(getattr(solved, name) for name in names))
    assert capsys.readouterr().out == f"✓ {title}\n"


def test_every_problem_has_a_planted_bug():
    covered = {(problem_set, problem) for problem_set, problem, *_ in PROBLEM_MUTANTS.values()}
    missing = sorted(set(problem_checks.PROBLEMS) - covered)
    assert not missing, f"problems without a planted bug: {missing}"


@pytest.mark.parametrize(
    "problem_set, problem, function, old, new", PROBLEM_MUTANTS.values(), ids=PROBLEM_MUTANTS.keys()
)
def test_the_check_catches_the_planted_bug_and_blames_its_problem(problem_set, problem, function, old, new):
    title, names = _check_calls(SOLVED / f"{problem_set}.ipynb")[problem_set, problem]
    planted = planted_bugs.planted(problem_set, function, old, new)
    with pytest.raises(CheckFailed) as failure, np.errstate(over="ignore", invalid="ignore"):  # softmax's NaN
        with check(title):
            problem_checks.check_problem(problem_set, problem, *(planted[name] for name in names))
    message = str(failure.value)
    assert message.startswith(f"{title}: "), f"blamed on another problem: {message}"
    assert function in message, f"the message does not name {function}: {message}"
    assert "\n" not in message and "your code raised" not in message, message


def test_an_error_raised_by_an_answer_is_not_placed_in_the_checks():
    """An answer in a notebook runs from a file outside the course (the kernel's cell), so the last
    frame of the course is the check that called it: the message must not send the student there."""
    cell = "def gru_step(x, h_prev, Wx, Wh, bx, bh):\n    return x @ h_prev  # shapes that do not multiply\n"
    names = {}
    exec(compile(cell, "/tmp/ipykernel_0/0.py", "exec"), names)
    with pytest.raises(CheckFailed) as failure:
        with check("Problem 2: gru_step"):
            problem_checks.check_problem("07_gru_problems", 2, names["gru_step"])
    assert "your code raised ValueError" in str(failure.value)
    assert "problem_checks.py" not in str(failure.value), str(failure.value)
