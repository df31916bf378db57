"""make release: the student edition holds no solution, and its checks give the course's verdicts.

The edition is built for lessons 01-03 (tools/release.py --lessons), whose checks it records on the
reference and on their planted bugs; the whole edition is measured the same way by hand (docs/instructors.md).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from rnnlib import PROJECT_ROOT
from tools import generate
from tools.planted_bugs import MUTANTS

LESSONS = ("01", "02", "03")
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
RUN = """
import json, sys, contextlib, io
from rnnlib.lesson_checks import EXERCISES, check_exercise
verdicts = {}
for number in EXERCISES:
    if number.split(".")[0].zfill(2) in sys.argv[1].split(","):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check_exercise(number)
            verdicts[number] = None
        except Exception as error:
            verdicts[number] = f"{type(error).__name__}: {error}"
print(json.dumps(verdicts))
"""


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "edition"
    done = subprocess.run(
        [sys.executable, "tools/release.py", str(out), "--lessons", ",".join(LESSONS)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return out


def _regions():
    """(solution regions of the reference, solution regions of the solved problem sets), as text."""
    modules = [(REFERENCE / name).read_text() for name in os.listdir(REFERENCE)]
    cells = [
        "".join(c["source"])
        for path in (PROJECT_ROOT / "solutions" / "exercises").glob("*.ipynb")
        for c in json.loads(path.read_text())["cells"]
    ]
    return [_blocks(modules), _blocks(cells)]


def _blocks(texts):
    return [block.strip() for text in texts for block in REGION.findall(text) if block.strip()]


REFERENCE = PROJECT_ROOT / "solutions" / "rnnlib"


def test_the_edition_holds_no_reference_and_no_solved_cell(edition):
    assert not (edition / "solutions").exists() and not (edition / "tests").exists()
    texts = {
        path: path.read_text(errors="replace")
        for path in edition.rglob("*")
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".txt", "")
    }
    # A notebook stores a cell's lines as a JSON list: compare with its source joined again.
    for path in [p for p in texts if p.suffix == ".ipynb"]:
        texts[path] = "\n".join("".join(c["source"]) for c in json.loads(texts[path])["cells"])
    modules, cells = _regions()
    # The problem sets' answers are nowhere; the exercises' answers are not in the package, the course's
    # modules or the lessons (a later problem set may give an earlier exercise's answer as its starting
    # point, as problem set 04 gives lesson 04's backward passes to find bugs in).
    searched = [(b, ("",)) for b in cells] + [(b, ("rnnlib", "course", "notebooks")) for b in modules]
    for block, where in searched:
        holders = [
            str(p.relative_to(edition))
            for p, text in texts.items()
            if block in text and str(p.relative_to(edition)).startswith(where)
        ]
        assert not holders, f"a solution is in {holders}: {block[:80]!r}"
    assert not [p for p, text in texts.items() if "BEGIN SOLUTION" in text]


def test_the_edition_has_what_a_student_needs(edition):
    for name in ("README.md", "Makefile", "pyproject.toml", "notebooks/00_welcome.ipynb", "tools/check.py"):
        assert (edition / name).is_file(), name
    assert {"lab:", "check:", "nbval:"} <= set((edition / "Makefile").read_text().split())
    readme = " ".join((edition / "README.md").read_text().split())
    assert f"one of the {len(MUTANTS)} realistic bugs" in readme
    assert sorted(p.name for p in (edition / "rnnlib").glob("*.py")) == sorted(os.listdir(REFERENCE))
    assert sorted(p.name for p in (edition / "exercises").glob("*.ipynb")) == sorted(
        p.name for p in (PROJECT_ROOT / "exercises").glob("*.ipynb")
    )


def _verdicts(cwd, package, lessons=LESSONS):
    env = {**os.environ, "RNNLIB": str(package)}
    done = subprocess.run(
        [sys.executable, "-c", RUN, ",".join(lessons)], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# One planted bug of each exercise of the lessons built: the whole suite is the release's own measure.
ONE_EACH = {}
for _name, (_exercise, *_bug) in MUTANTS.items():
    if _exercise.split(".")[0].zfill(2) in LESSONS:
        ONE_EACH.setdefault(_exercise, (_name, *_bug))


@pytest.mark.parametrize("exercise", ONE_EACH)
def test_a_planted_bug_gets_the_same_verdicts_and_lines_in_the_edition(edition, tmp_path, exercise):
    name, module, old, new = ONE_EACH[exercise]
    package = tmp_path / "rnnlib"
    shutil.copytree(REFERENCE, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / module).write_text((package / module).read_text().replace(old, new))
    lesson = [exercise.split(".")[0].zfill(2)]
    course = _verdicts(PROJECT_ROOT, package, lesson)
    assert course[exercise], f"{name} passes in the course"
    assert _verdicts(edition, package, lesson) == course


def test_the_reference_and_the_stubs_get_the_same_verdicts_in_the_edition(edition, tmp_path):
    stubs = tmp_path / "stubs"
    for path, text in generate.expected_files(PROJECT_ROOT).items():
        if path.startswith("rnnlib/"):
            (stubs / path).parent.mkdir(parents=True, exist_ok=True)
            (stubs / path).write_text(text)
    for package in (REFERENCE, stubs / "rnnlib"):
        assert _verdicts(edition, package) == _verdicts(PROJECT_ROOT, package)
    assert set(_verdicts(edition, REFERENCE).values()) == {None}


def test_make_check_in_the_edition_reports_a_students_work(edition):
    shutil.copy(REFERENCE / "data.py", edition / "rnnlib" / "data.py")  # lesson 01 done, the rest stubs
    done = subprocess.run(
        [sys.executable, "tools/check.py", "01"], cwd=edition, capture_output=True, text=True, timeout=600,
        env={**os.environ, "RNNLIB": ""},
    )
    assert "4 of 4 exercises pass." in done.stdout, done.stdout + done.stderr
    done = subprocess.run(
        [sys.executable, "tools/check.py", "02"], cwd=edition, capture_output=True, text=True, timeout=600,
        env={**os.environ, "RNNLIB": ""},
    )
    assert "Exercise 2.1 is not done yet: implement softmax in rnnlib/losses.py" in done.stdout


def test_the_editions_makefile_builds_the_environment_as_the_courses_does():
    """tools/edition/Makefile repeats the course's rule that makes .venv/: the two must not drift apart."""

    def rule(path):
        text = path.read_text()
        start = text.index("$(VENV)/.installed: pyproject.toml")
        return text[start : text.index("touch $@", start)]

    assert rule(PROJECT_ROOT / "tools" / "edition" / "Makefile") == rule(PROJECT_ROOT / "Makefile")
