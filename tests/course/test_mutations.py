"""The mutation suite: realistic bugs planted in the reference, each caught by its own exercise's check.

Each mutant is a small patch to one exercise of solutions/rnnlib: a bug a student could write. The test
copies the reference, applies the patch, runs the checks of that exercise's lesson in order on the copy
(``RNNLIB=<the copy>``, in a fresh process) and asserts that one of them fails and that the first
failure names the patched exercise. A check that lets a mutant through, or blames another exercise, is
a check to fix. The README states how many mutants there are; the last test keeps it honest.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from rnnlib import PROJECT_ROOT
from tools.planted_bugs import MUTANTS

REFERENCE = PROJECT_ROOT / "solutions" / "rnnlib"


RUN_LESSON = """
import sys
from rnnlib.lesson_checks import EXERCISES, check_exercise
for number in EXERCISES:
    if number.split(".")[0] == sys.argv[1]:
        try:
            check_exercise(number)
        except Exception as error:
            print(f"FIRST FAILURE {type(error).__name__}: {error}")
            break
"""


def _mutated_copy(tmp_path, module, old, new):
    package = tmp_path / "rnnlib"
    shutil.copytree(REFERENCE, package, ignore=shutil.ignore_patterns("__pycache__"))
    path = package / module
    text = path.read_text()
    assert text.count(old) == 1, f"the mutant's text occurs {text.count(old)} times in {module}: {old!r}"
    path.write_text(text.replace(old, new))
    return package


def _first_failure(package, lesson):
    env = {**os.environ, "RNNLIB": str(package)}
    done = subprocess.run(
        [sys.executable, "-c", RUN_LESSON, lesson], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = re.search(r"^FIRST FAILURE (.*)$", done.stdout, re.M)
    return found[1] if found else None


@pytest.mark.parametrize("exercise, module, old, new", MUTANTS.values(), ids=MUTANTS.keys())
def test_the_checks_catch_the_mutant_and_blame_its_exercise(tmp_path, exercise, module, old, new):
    package = _mutated_copy(tmp_path, module, old, new)
    failure = _first_failure(package, exercise.split(".")[0])
    assert failure is not None, f"no check of lesson {exercise.split('.')[0]} caught this bug"
    blamed = re.search(r"Exercise (\d+\.\d+)", failure)
    assert blamed and blamed[1] == exercise, f"blamed on the wrong exercise: {failure}"


def test_the_unmutated_copy_passes(tmp_path):
    package = _mutated_copy(tmp_path, "rnn.py", "def rnn_step_forward(", "def rnn_step_forward(")
    assert _first_failure(package, "3") is None


@pytest.mark.parametrize(
    "name, later",
    [
        ("temperature multiplies the logits", "11.4"),
        ("top-k keeps the smallest", "11.4"),
        ("matmul dA = dC B, the transpose missing", "12.7"),
        ("sigmoid with the tanh's slope", "12.7"),
    ],
)
def test_a_bug_in_an_earlier_exercise_is_not_blamed_on_the_one_that_uses_it(tmp_path, name, later):
    """Exercise 11.4's check runs your generate with the reference's probabilities and top_k_logits, and
    12.7's your lstm_step on the reference's tape, so a bug in 11.1, 11.2 or 12.1-12.6 fails there alone."""
    exercise, module, old, new = MUTANTS[name]
    package = _mutated_copy(tmp_path, module, old, new)
    assert _first_failure(package, exercise.split(".")[0]).startswith(f"CheckFailed: Exercise {exercise}:")
    run = f"from rnnlib.lesson_checks import check_exercise; check_exercise({later!r})"
    env = {**os.environ, "RNNLIB": str(package)}
    done = subprocess.run([sys.executable, "-c", run], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and f"✓ Exercise {later}:" in done.stdout, done.stdout + done.stderr


OLD_FIRST_LINE = "def train_step(model, params, inputs, targets, h, lr, clip):"
NEW_FIRST_LINE = "def train_step(model, params, inputs, targets, h, lr, clip, update=sgd_step):"
NO_UPDATE_ARGUMENT = (
    f"takes no update argument: its first line must be {NEW_FIRST_LINE[:-1]}, and it must call "
    "update(params, grads, lr), not sgd_step"
)
NOT_APPLIED = (
    "the update it was given was not applied: expected 1 call of update(params, grads, lr), got 0 (call "
    "update, the rule given, not sgd_step)"
)


@pytest.mark.parametrize(
    "first_line, message",
    [(OLD_FIRST_LINE, NO_UPDATE_ARGUMENT), (NEW_FIRST_LINE, NOT_APPLIED)],
    ids=["its old first line", "the new first line"],
)
def test_a_train_step_answered_before_it_took_the_update_rule_is_told_so(tmp_path, first_line, message):
    """Exercise 5.3 as students answered it before train_step took ``update`` (sgd_step called directly),
    with the first line their file kept or the one a git pull brought: one line says what to change."""
    package = _mutated_copy(
        tmp_path, "train.py", "    update(params, grads, lr)", "    sgd_step(params, grads, lr)"
    )
    path = package / "train.py"
    path.write_text(path.read_text().replace(NEW_FIRST_LINE, first_line))
    assert _first_failure(package, "5") == f"CheckFailed: Exercise 5.3: train_step: {message}"


def test_every_exercise_has_mutants_and_the_readme_counts_them():
    from rnnlib.lesson_checks import EXERCISES

    covered = {exercise for exercise, *_ in MUTANTS.values()}
    assert set(EXERCISES) <= covered, f"exercises without a mutant: {sorted(set(EXERCISES) - covered)}"
    assert len(MUTANTS) >= 50
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert f"{len(MUTANTS)} planted bugs" in readme, "the README must state how many bugs the checks catch"
