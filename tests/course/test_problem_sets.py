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
from tools import generate

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


# Realistic bugs, each planted in one function of a solved set: (set, problem, function, its text, the
# bug). The text must occur exactly once in the function.
PROBLEM_MUTANTS = {
    "one_hot float32": (
        "01_text_and_loss_problems",
        1,
        "one_hot",
        "np.eye(V)[ids]",
        "np.eye(V, dtype=np.float32)[ids]",
    ),
    "dWhy transposed": ("01_text_and_loss_problems", 2, "shapes", '"dWhy": (H, V)', '"dWhy": (V, H)'),
    "softmax without the shift": (
        "01_text_and_loss_problems",
        3,
        "softmax",
        "np.exp(Z - Z.max(axis=-1, keepdims=True))",
        "np.exp(Z)",
    ),
    "dZ without 1/B": (
        "01_text_and_loss_problems",
        4,
        "cross_entropy_backward",
        "(softmax(Z) - Y) / B",
        "softmax(Z) - Y",
    ),
    "uniform loss in bits": ("01_text_and_loss_problems", 5, "uniform_loss", "np.log(V)", "np.log2(V)"),
    "bits times ln 2": (
        "01_text_and_loss_problems",
        6,
        "bits_per_char",
        "mean_nll / np.log(2)",
        "mean_nll * np.log(2)",
    ),
    "n_params without biases": (
        "03_rnn_bptt_problems",
        1,
        "n_params",
        "V * H + H * H + H + H * V + V",
        "V * H + H * H + H * V",
    ),
    "dh0 without its batch": ("03_rnn_bptt_problems", 2, "shapes", '"dh0": (B, H)', '"dh0": (H,)'),
    "delta_1 without tanh'": (
        "03_rnn_bptt_problems",
        3,
        "grad_terms",
        "delta2 * w * (1 - h1**2)",
        "delta2 * w",
    ),
    "X reshaped across the batch": (
        "03_rnn_bptt_problems",
        4,
        "dW_one_product",
        "X.reshape(B * T, m).T",
        "X.reshape(m, B * T)",
    ),
    "no dh_next in Delta": (
        "03_rnn_bptt_problems",
        5,
        "bptt_deltas",
        "(dHs[:, t] + dh_next) * tanh_prime",
        "dHs[:, t] * tanh_prime",
    ),
    "Jacobians multiplied in the wrong order": (
        "03_rnn_bptt_problems",
        7,
        "jacobian_product",
        "P = ((1 - h**2)[:, None] * Whh.T) @ P",
        "P = P @ ((1 - h**2)[:, None] * Whh.T)",
    ),
    "gradient_errors nudges a copy": (
        "04_find_the_bug_problems",
        1,
        "gradient_errors",
        "numerical_gradient(lambda _: loss(), x)",
        "numerical_gradient(lambda _: loss(), x.copy())",
    ),
    "one name too many": (
        "04_find_the_bug_problems",
        2,
        "wrong_in_step_backward",
        '{"Whh"}',
        '{"Whh", "h_prev"}',
    ),
    "dWhh from h, as the bug": (
        "04_find_the_bug_problems",
        2,
        "fixed_step_backward",
        "h_prev.T @ delta",
        "h.T @ delta",
    ),
    "fixed without dh_next": (
        "04_find_the_bug_problems",
        3,
        "fixed_rnn_backward",
        "(dHs[:, t] + dh_next) * (1",
        "dHs[:, t] * (1",
    ),
    "Hprev shifted the wrong way": (
        "04_find_the_bug_problems",
        4,
        "fixed_rnn_backward_2",
        "[h0[:, None], Hs[:, :-1]]",
        "[Hs[:, 1:], h0[:, None]]",
    ),
    "dh0 also blamed on Whh": (
        "04_find_the_bug_problems",
        5,
        "wrong_in_rnn_backward_3",
        '{"h0"}',
        '{"h0", "Whh"}',
    ),
    "dHs divided again": (
        "04_find_the_bug_problems",
        6,
        "fixed_output_backward",
        "(dZ2d @ Why.T).reshape(B, T, H)",
        "(dZ2d @ Why.T).reshape(B, T, H) / (B * T)",
    ),
    "GRU with one bias": ("07_gru_problems", 1, "gru_layer_params", "2 * H)", "H)"),
    "budget not reached": (
        "07_gru_problems",
        1,
        "gru_units_for_budget",
        "gru_layer_params(m, H + 1) <= budget",
        "gru_layer_params(m, H + 1) < budget",
    ),
    "z and 1 - z swapped": (
        "07_gru_problems",
        2,
        "gru_step",
        "(1 - z) * n + z * h_prev",
        "z * n + (1 - z) * h_prev",
    ),
    "reset before the product": (
        "07_gru_problems",
        2,
        "gru_step",
        "n = np.tanh(a_xn + r * a_hn)",
        "n = np.tanh(a_xn + (r * h_prev) @ Wh[:, 2 * h_prev.shape[1] :] + bh[2 * h_prev.shape[1] :])",
    ),
    "copy bias in the r block": (
        "07_gru_problems",
        3,
        "switch_biases",
        "[np.zeros(H), np.full(H, 30.0), np.zeros(H)]",
        "[np.full(H, 30.0), np.zeros(H), np.zeros(H)]",
    ),
    "sigmoid applied twice": (
        "07_gru_problems",
        4,
        "sigmoid_prime",
        "s * (1 - s)",
        "sigmoid(s) * (1 - sigmoid(s))",
    ),
    "dz with the sign flipped": (
        "07_gru_problems",
        5,
        "update_gate_backward",
        "(h_prev - n)",
        "(n - h_prev)",
    ),
    "Cho's GRU resetting after the product": (
        "07_gru_problems",
        6,
        "gru_step_cho",
        "(r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :]",
        "r * (h_prev @ Wh[:, 2 * H :] + bh[2 * H :])",
    ),
    "bh not named": (
        "08_find_the_bug_problems",
        1,
        "wrong_in_1",
        '{"h_prev", "Wh", "bh"}',
        '{"h_prev", "Wh"}',
    ),
    "the n block of da_h without r": (
        "08_find_the_bug_problems",
        1,
        "fixed_step_backward_1",
        "[dg_r, dg_z, r * dg_n]",
        "[dg_r, dg_z, dg_n]",
    ),
    "dg_r without a_hn": (
        "08_find_the_bug_problems",
        2,
        "fixed_step_backward_2",
        "dg_n * a_hn * r",
        "dg_n * r",
    ),
    "the direct path with 1 - z": (
        "08_find_the_bug_problems",
        3,
        "fixed_step_backward_3",
        "+ dh * z",
        "+ dh * (1 - z)",
    ),
    "h without the tanh": ("08_lstm_and_cho_problems", 1, "lstm_step", "h = o * np.tanh(c)", "h = o * c"),
    "LSTM gates [i | f | o | g]": (
        "08_lstm_and_cho_problems",
        1,
        "lstm_step",
        "a_i, a_f, a_g, a_o",
        "a_i, a_f, a_o, a_g",
    ),
    "dc without the path through h": (
        "08_lstm_and_cho_problems",
        2,
        "lstm_step_backward",
        "dc_all = dc + dh * o * (1 - tanh_c**2)",
        "dc_all = dc",
    ),
    "cho_step resetting after the product": (
        "08_lstm_and_cho_problems",
        3,
        "cho_step",
        "(r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :]",
        "r * (h_prev @ Wh[:, 2 * H :] + bh[2 * H :])",
    ),
    "dg_r without h_prev": ("08_lstm_and_cho_problems", 4, "cho_step_backward", "ds * h_prev * r", "ds * r"),
    "m_hat not corrected": (
        "09_optimizer_problems",
        1,
        "adam_by_hand",
        '"m_hat": [2.0, 0.4211, 0.4502]',
        '"m_hat": [0.2, 0.08, 0.122]',
    ),
    "AdaGrad's sum not kept": ("09_optimizer_problems", 2, "adagrad_step", "s += g * g", "s = s + g * g"),
    "AdaGrad without the square root": (
        "09_optimizer_problems",
        2,
        "adagrad_step",
        "(np.sqrt(s) + eps)",
        "(s + eps)",
    ),
    "Nadam as Adam": (
        "09_optimizer_problems",
        3,
        "nadam_step",
        "beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)",
        "m / (1 - beta1**t)",
    ),
    "the state always carried": (
        "10_experiments_problems",
        1,
        "evaluate_windows",
        "targets, h if carry else zeros)",
        "targets, h)",
    ),
    "clip ignored": (
        "10_experiments_problems",
        2,
        "train_windows",
        "clip_grad_norm(grads, clip)",
        "clip_grad_norm(grads, 1.0)",
    ),
    "the largest r, not the largest |r|": (
        "10_experiments_problems",
        3,
        "best_unit",
        "np.argmax(np.abs(r))",
        "np.argmax(r)",
    ),
}


def _planted(problem_set, function, old, new):
    """The solved set's ``function`` with ``old`` replaced by ``new`` in its source, defined beside the
    solved set's other functions (which it may call)."""
    notebook = nbformat.read(SOLVED / f"{problem_set}.ipynb", as_version=4)
    sources = [
        ast.get_source_segment(cell.source, node)
        for cell in notebook.cells
        if cell.cell_type == "code"
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    assert len(sources) == 1, f"{problem_set} defines {function} {len(sources)} times"
    assert sources[0].count(old) == 1, f"the text occurs {sources[0].count(old)} times in {function}: {old!r}"
    names = dict(getattr(problem_checks._solved(problem_set), function).__globals__)
    exec(sources[0].replace(old, new), names)
    return names


def test_every_problem_has_a_planted_bug():
    covered = {(problem_set, problem) for problem_set, problem, *_ in PROBLEM_MUTANTS.values()}
    missing = sorted(set(problem_checks.PROBLEMS) - covered)
    assert not missing, f"problems without a planted bug: {missing}"


@pytest.mark.parametrize(
    "problem_set, problem, function, old, new", PROBLEM_MUTANTS.values(), ids=PROBLEM_MUTANTS.keys()
)
def test_the_check_catches_the_planted_bug_and_blames_its_problem(problem_set, problem, function, old, new):
    title, names = _check_calls(SOLVED / f"{problem_set}.ipynb")[problem_set, problem]
    planted = _planted(problem_set, function, old, new)
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
