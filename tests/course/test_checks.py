"""The check helpers that lesson notebooks call: what they print, and what they say when work is wrong."""

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from rnnlib.checks import (
    CheckFailed,
    ExerciseNotDone,
    check,
    expect_close,
    expect_equal,
    expect_gradient,
    expect_raises,
    expect_shape,
    expect_true,
)


def _stub(Z):
    raise NotImplementedError("Exercise 2.1: implement softmax, see notebooks/02_softmax_and_loss.ipynb")


def test_a_passing_check_prints_one_line(capsys):
    with check("Exercise 9.9: identity"):
        expect_close("identity", np.ones(3), np.ones(3))
    assert capsys.readouterr().out == "✓ Exercise 9.9: identity\n"


def test_a_stub_becomes_exercise_not_done_naming_the_exercise_and_the_file(capsys):
    with pytest.raises(ExerciseNotDone) as raised, check("Exercise 2.1: softmax"):
        expect_shape("softmax(Z)", _stub(np.zeros((2, 3))), (2, 3))
    expected = "Exercise 2.1 is not done yet: implement softmax in tests/course/test_checks.py"
    assert str(raised.value) == expected
    assert capsys.readouterr().out == ""


def test_a_check_without_expectations_is_refused():
    with pytest.raises(RuntimeError, match="made no expectation"), check("Exercise 9.9: nothing"):
        pass


def test_an_exception_in_student_code_names_its_type_and_line():
    with pytest.raises(CheckFailed) as raised, check("Exercise 3.1: step"):
        np.zeros((2, 3)) @ np.zeros((2, 3))
    message = str(raised.value)
    assert message.startswith("Exercise 3.1: step: your code raised ValueError: matmul")
    assert "(tests/course/test_checks.py, line" in message


def test_shape_mismatch_names_expected_and_received_shapes():
    with pytest.raises(CheckFailed, match=r"softmax\(Z\): expected shape \(4, 5\), got shape \(5, 4\)"):
        expect_shape("softmax(Z)", np.zeros((5, 4)), (4, 5))


def test_a_missing_return_is_named():
    with pytest.raises(CheckFailed, match="got None"):
        expect_shape("softmax(Z)", None, (4, 5))


def test_value_mismatch_names_the_index_expected_and_received():
    got = np.array([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(CheckFailed, match=r"1 of 4 values differ; at index \(1, 1\) expected 4\.0, got 5\.0"):
        expect_close("f(x)", got, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_nan_is_reported_as_nan():
    with pytest.raises(CheckFailed, match="non-finite"):
        expect_close("f(x)", np.array([np.nan]), np.array([1.0]))


def test_equal_true_and_raises():
    expect_equal("ids", [1, 2], [1, 2])
    expect_true("rows", True, "never shown")
    expect_raises("bad input", ValueError, int, "x")
    with pytest.raises(CheckFailed, match="expected \\[1, 2\\], got \\[2, 1\\]"):
        expect_equal("ids", [2, 1], [1, 2])
    with pytest.raises(CheckFailed, match="rows must sum to one"):
        expect_true("softmax", False, "rows must sum to one")
    with pytest.raises(CheckFailed, match="expected ValueError, but nothing was raised"):
        expect_raises("bad input", ValueError, int, "3")


def test_gradient_check_accepts_the_true_gradient_and_refuses_a_wrong_one():
    x = np.random.default_rng(0).standard_normal((3, 4))
    error = expect_gradient("x", lambda x: np.sum(x**3), x, 3 * x**2)
    assert error < 1e-8
    with pytest.raises(CheckFailed, match=r"dx: relative error .* \(must be < 1e-07\)"):
        expect_gradient("x", lambda x: np.sum(x**3), x, 3 * x**2 + 1e-3)


def test_gradient_check_refuses_float32():
    x = np.ones(3, dtype=np.float32)
    with pytest.raises(CheckFailed, match="need float64"):
        expect_gradient("x", lambda x: np.sum(x), x, np.ones(3, dtype=np.float32))


def test_in_a_notebook_a_stub_shows_one_line_not_a_traceback():
    source = (
        "from rnnlib.checks import check, expect_shape\n"
        "def softmax(Z):\n"
        "    raise NotImplementedError('Exercise 2.1: implement softmax, see notebooks/02_x.ipynb')\n"
    )
    checked = "with check('Exercise 2.1: softmax'):\n    expect_shape('s', softmax(1), ())"
    cells = [source, "softmax(1)", checked, "1 / 0"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, kernel_name="python3", allow_errors=True, timeout=60).execute()
    stub, checked, other = (c.outputs[0] for c in notebook.cells[1:])
    assert stub.traceback == [f"ExerciseNotDone: {checked.evalue}"]
    assert checked.ename == "ExerciseNotDone" and len(checked.traceback) == 1
    assert checked.evalue.startswith("Exercise 2.1 is not done yet: implement softmax in ")
    assert other.ename == "ZeroDivisionError" and len(other.traceback) > 1


def test_a_library_in_the_courses_environment_is_not_called_your_line():
    """.venv/ sits under the course root: an error inside numpy there must be located in your file."""
    from rnnlib import PROJECT_ROOT, checks

    assert not checks._inside_project(
        str(PROJECT_ROOT / ".venv" / "lib" / "numpy" / "core" / "einsumfunc.py")
    )
    lesson_checks = PROJECT_ROOT / "course" / "rnnlib" / "lesson_checks"
    assert not checks._inside_project(str(lesson_checks / "lesson05.py"))
    assert not checks._inside_project(str(lesson_checks / "shared.py"))
    assert checks._inside_project(str(PROJECT_ROOT / "rnnlib" / "rnn.py"))
    with pytest.raises(CheckFailed) as raised, check("Exercise 3.1: step"):
        np.einsum("ij,jk->ik", np.zeros((2, 3)), np.zeros((2, 3)))  # fails inside numpy
    assert "(tests/course/test_checks.py, line" in str(raised.value)


def test_a_check_failure_names_its_exercise_once():
    with pytest.raises(CheckFailed) as raised, check("Exercise 3.2: rnn_forward"):
        expect_close("rnn_forward: Hs", np.zeros(2), np.ones(2))
    assert str(raised.value).startswith("Exercise 3.2: rnn_forward: Hs: 2 of 2 values differ")


def test_a_function_that_changes_its_input_in_place_is_named():
    from rnnlib.checks import call

    def shift(Z):
        Z -= Z.max()
        return Z

    with pytest.raises(CheckFailed, match=r"shift changed its argument Z in place"):
        call("shift", shift, np.arange(3.0))
    params = {"W": np.ones(2)}
    call("step", lambda params: params["W"].__isub__(1), params, changes="params")  # meant to change
    with pytest.raises(CheckFailed, match=r"changed its argument params\['W'\] in place"):
        call("step", lambda params: params["W"].__isub__(1), params)


def test_a_message_about_a_matrix_is_one_line():
    with pytest.raises(CheckFailed) as raised:
        expect_equal("make_streams(ids, 3)", np.arange(6).reshape(3, 2), np.arange(6).reshape(2, 3))
    assert "\n" not in str(raised.value) and "[[0 1 2] [3 4 5]]" in str(raised.value)


def test_the_exercises_are_in_the_order_of_the_lessons_whatever_registers_last(monkeypatch):
    from rnnlib import lesson_checks

    def in_lesson_order(numbers):
        return numbers == sorted(numbers, key=lambda number: tuple(map(int, number.split("."))))

    assert in_lesson_order(list(lesson_checks.EXERCISES)) and len(lesson_checks.EXERCISES) >= 32
    monkeypatch.setattr(lesson_checks, "EXERCISES", dict(reversed(lesson_checks.EXERCISES.items())))
    lesson_checks.exercise("10.1", "a check of lesson 10")(lambda: None)
    assert in_lesson_order(list(lesson_checks.EXERCISES)) and "10.1" in lesson_checks.EXERCISES
