"""A student's clone made before the course machinery moved out of rnnlib/ (into course/rnnlib/) takes the
update with `git pull` and keeps every answer.

The student clones the course as it was (BEFORE_THE_MOVE), writes the answer to every exercise in
rnnlib/ and to a problem set, and pulls the course as it is now (this repository's HEAD): once with the
work committed (a merge), once with it uncommitted (``git pull --autostash``), and runs ``make generate``.
Each answer must be there afterwards, the course's old copies gone from rnnlib/, nothing left in
conflict, and the answers must pass their checks with the course as it is now, but Exercise 5.3's,
whose function has taken one more argument since (its check says what to change).
"""

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from rnnlib import PROJECT_ROOT

# The last commit at which rnnlib/ held a copy of every course module (checks, command line, ...).
BEFORE_THE_MOVE = "072b01cbee103a49e73f379da7baa1de5c8e303e"
PROBLEM_SET = "exercises/01_text_and_loss_problems.ipynb"
MY_ANSWER = "_My own words: the softmax is invariant to adding a constant to every logit._"


def _git(folder, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "student", "GIT_AUTHOR_EMAIL": "student@example.org"}
    env |= {"GIT_COMMITTER_NAME": "student", "GIT_COMMITTER_EMAIL": "student@example.org"}
    done = subprocess.run(["git", "-C", str(folder), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _head():
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("the course is not a git clone here")
    head = _git(PROJECT_ROOT, "rev-parse", "HEAD").strip()
    if subprocess.run(["git", "-C", str(PROJECT_ROOT), "cat-file", "-e", BEFORE_THE_MOVE]).returncode:
        pytest.skip("a shallow clone: the commit before the move is not in it")
    return head


def _old_clone(tmp_path):
    """The course at BEFORE_THE_MOVE, with every exercise of rnnlib/ answered as its reference then did."""
    clone = tmp_path / "course"
    _git(tmp_path, "clone", "-q", "--no-checkout", str(PROJECT_ROOT), str(clone))
    _git(clone, "checkout", "-q", "-b", "mine", BEFORE_THE_MOVE)
    answered = subprocess.run(
        [sys.executable, "-c", ANSWER_EVERYTHING],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert answered.returncode == 0, answered.stderr
    notebook = nbformat.read(clone / PROBLEM_SET, as_version=4)
    cell = next(cell for cell in notebook.cells if cell.source == "_Your answer here._")
    cell.source = MY_ANSWER
    nbformat.write(notebook, clone / PROBLEM_SET)
    return clone


# Run inside the old clone: its own generator writes rnnlib/ with every exercise solved, which is what a
# student who has done them all has (their answers between the old stubs' lines).
ANSWER_EVERYTHING = """
import sys
from pathlib import Path
sys.path.insert(0, "tools")
import generate
stubs = generate.expected_files(Path.cwd())
for name, text in generate.expected_files(Path.cwd(), solved_through=99).items():
    if name.startswith("rnnlib/") and text != stubs[name]:
        Path(name).write_text(text)
"""


def _answers(clone):
    """{module: the lines of the student's answers}, read off the regions of the clone's (old) reference."""
    answers = {}
    for module in sorted((clone / "solutions" / "rnnlib").glob("*.py")):
        inside, lines = False, []
        for line in module.read_text().splitlines():
            marker = line.strip()
            if marker in ("### BEGIN SOLUTION", "### END SOLUTION"):
                inside = marker == "### BEGIN SOLUTION"
            elif inside and marker:
                lines.append(line)
        if lines:
            answers[module.name] = lines
    return answers


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "uncommitted"])
def test_a_git_pull_across_the_move_keeps_every_answer(tmp_path, committed):
    head = _head()
    clone = _old_clone(tmp_path)
    answers = _answers(clone)
    assert len(answers) == 9, f"the old clone's answered modules: {sorted(answers)}"
    sources = "".join(path.read_text() for path in (clone / "solutions" / "rnnlib").glob("*.py"))
    exercises = re.findall(r'"""Exercise (\d+\.\d+):', sources)  # those the student answered
    if committed:
        _git(clone, "commit", "-q", "-am", "my answers")
        _git(clone, "pull", "-q", "--no-rebase", "--no-edit", "origin", head)
    else:
        _git(clone, "pull", "-q", "--no-rebase", "--no-edit", "--autostash", "origin", head)

    assert not _git(clone, "diff", "--name-only", "--diff-filter=U"), "files left in conflict"
    generate = [sys.executable, "tools/generate.py"]  # make generate: nothing left to resolve
    generated = subprocess.run(generate, cwd=clone, capture_output=True, text=True)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "<<<<<<<" not in "".join(path.read_text() for path in (clone / "rnnlib").glob("*.py"))
    course_modules = {path.stem for path in (PROJECT_ROOT / "course" / "rnnlib").iterdir()}
    assert not course_modules & {path.stem for path in (clone / "rnnlib").glob("*.py")}
    assert MY_ANSWER in (clone / PROBLEM_SET).read_text()
    for name, lines in answers.items():
        now = (clone / "rnnlib" / name).read_text().splitlines()
        missing = [line for line in lines if line not in now]
        assert not missing, f"rnnlib/{name} lost {len(missing)} lines of its answers, e.g. {missing[:3]}"

    checked = subprocess.run(  # make check's exercises (the problem set's answer was checked above)
        [sys.executable, "-c", CHECK_EXERCISES],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RNNLIB": str(clone / "rnnlib")},
        capture_output=True,
        text=True,
    )
    failed = set(re.findall(r"^✗ Exercise (\d+\.\d+):", checked.stdout, re.M)) & set(exercises)
    assert failed == {"5.3"}, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert "got 0 (call update, the rule given, not sgd_step)" in checked.stdout


CHECK_EXERCISES = """
from tools.check import run_exercises
for title, message in run_exercises(None):
    print(f"{'✗' if message else '✓'} {title}: {message}")
"""


def test_the_commit_before_the_move_held_the_course_modules_in_rnnlib():
    """The test above starts where it says: rnnlib/ then held the course's modules beside the answers."""
    _head()
    listed = _git(PROJECT_ROOT, "ls-tree", "--name-only", BEFORE_THE_MOVE, "rnnlib/").split()
    assert {"rnnlib/checks.py", "rnnlib/cli.py", "rnnlib/lesson_checks.py"} <= set(listed)
