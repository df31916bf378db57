"""`make check` (tools/check.py) reports each exercise of a lesson, on the stubs and on the reference."""

import os
import subprocess
import sys

from rnnlib import PROJECT_ROOT


def _check(lesson, choice):
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB"}
    env["RNNLIB"] = choice
    return subprocess.run(
        [sys.executable, "tools/check.py", lesson], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )


def test_on_the_stubs_every_exercise_is_reported_not_done():
    done = _check("02", "student")
    assert done.returncode == 1
    assert "✗ 02_softmax_and_loss" in done.stdout
    assert (
        "ExerciseNotDone: Exercise 2.1 is not done yet: implement softmax in rnnlib/losses.py" in done.stdout
    )
    assert "\n0 of " in done.stdout


def test_on_the_reference_every_exercise_passes():
    done = _check("02", "reference")
    assert done.returncode == 0, done.stdout
    assert "✓ 02_softmax_and_loss              Exercise 2.1: softmax" in done.stdout
    assert "✗" not in done.stdout


def test_an_unknown_lesson_is_named():
    done = _check("42", "student")
    assert done.returncode != 0
    assert "No lesson matches '42'" in done.stderr
