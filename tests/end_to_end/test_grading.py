"""make grade and the Gradescope autograder, on a class of submissions made for them.

Each honest submission gets the verdicts the course's own checks give the same code (run in one process,
as make check runs them); the others get the score they deserve and a readable line: an endless loop
costs its exercise, a syntax error its module's exercises. Then the submissions that attack the grader:
none raises its score, reads the reference or another student's files, writes a result, or stops the
grading of the others.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from rnnlib import PROJECT_ROOT
from tools import autograder, generate, grade
from tools.grading import sandbox

try:
    sandbox.worker_command(PROJECT_ROOT)
except sandbox.SandboxUnavailable as error:
    pytest.skip(f"no sandbox here: {error}", allow_module_level=True)

REFERENCE = PROJECT_ROOT / "solutions" / "rnnlib"
# A short assignment: an exercise of most lessons, two problems, one hidden check.
POINTS = {
    "1.1": (1, 0),
    "2.1": (2, 1),
    "2.4": (1, 0),
    "3.2": (1, 0),
    "5.3": (1, 0),
    "7.1": (1, 0),
    "12.1": (1, 0),
    "07_gru_problems:2": (1, 0),
}
MOST = sum(p + h for p, h in POINTS.values())


def _student(folder, solved_through=0, sets_solved=False, edits=None):
    """A submission: the course's files as a student at lesson ``solved_through`` has them, with
    ``edits`` ({path: (old, new)} or {path: text}) applied."""
    files = generate.expected_files(PROJECT_ROOT, solved_through)
    for path, text in files.items():
        if path.startswith("exercises/") and sets_solved:
            text = (PROJECT_ROOT / "solutions" / path).read_text(encoding="utf-8")
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    for path, edit in (edits or {}).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(edit, tuple):
            old, new = edit
            text = target.read_text(encoding="utf-8")
            assert text.count(old) == 1, f"{path}: {old!r}"
            edit = text.replace(old, new)
        target.write_text(edit, encoding="utf-8")
    return folder


ESCAPES = '''
def numerical_gradient(f, x, h=1e-5):
    """Tries to read what it must not, and says what came back."""
    found = []
    for path in (REFERENCE_FILE, OTHER_STUDENT_FILE, "/etc/shadow"):
        try:
            with open(path) as file:
                found.append("READ " + file.read(40).replace("\\n", " "))
        except OSError as error:
            found.append(type(error).__name__)
    raise ValueError("tried: " + " | ".join(found))
'''

WIRE = '''
def train_step(model, params, inputs, targets, h, lr, clip, update=sgd_step):
    """Tries to reach past the model the grader handed it (the reference's), and says what came back."""
    found = []
    names = ("__dict__", "__file__", "__loader__", "np", "validate")
    for kind, *request in [("getattr", name) for name in names] + [("setattr", "lm_forward", None)]:
        try:
            found.append(f"{request[0]}: GOT {model._peer.request(kind, model._handle, *request)!r:.40}")
        except Exception as error:
            found.append(f"{request[0]}: {type(error).__name__}")
    raise ValueError("tried: " + " | ".join(found))
'''

PATCHER = """
import os, sys
print("✓ Exercise 2.1: softmax")  # a tick of its own
for name in list(sys.modules):  # patch every check it can find
    if "checks" in name:
        module = sys.modules[name]
        for attr in ("expect_close", "expect_equal", "expect_shape", "expect_true", "call"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *a, **k: None)
try:
    import rnnlib.checks
    rnnlib.checks.CheckFailed = type("Never", (Exception,), {})
except Exception:
    pass
for path in (RESULTS, os.path.join(os.getcwd(), "results.json"), "/autograder/results/results.json"):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            file.write('{"score": 1000}')
    except OSError:
        pass
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class, graded once: (submissions, {student: {item: (verdict, message)}}, grades rows, out)."""
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    out = root / "grades"
    reference_file = str(REFERENCE / "rnn.py")
    other_file = str(subs / "complete" / "rnnlib" / "rnn.py")
    _student(subs / "complete", solved_through=99, sets_solved=True)
    _student(subs / "stubs")
    _student(subs / "partial", solved_through=2)
    _student(
        subs / "tampered",
        edits={
            "course/rnnlib/checks.py": "def check(title):\n    print('✓', title)\n",
            "rnnlib/lesson_checks.py": "def check_exercise(number):\n    print('✓ Exercise', number)\n",
            "rnnlib/checks.py": "expect_close = lambda *a, **k: None\n",
        },
    )
    _student(
        subs / "loop",
        solved_through=99,
        sets_solved=True,
        edits={
            "rnnlib/rnn.py": (
                "def rnn_forward(X, h0, Wxh, Whh, bh):\n",
                "def rnn_forward(X, h0, Wxh, Whh, bh):\n    while True:\n        pass\n",
            )
        },
    )
    _student(
        subs / "syntax",
        solved_through=99,
        sets_solved=True,
        edits={"rnnlib/gru.py": ("def gru_step_forward(", "def gru_step_forward((")},
    )
    _student(
        subs / "renamed",
        solved_through=99,
        sets_solved=True,
        edits={"rnnlib/losses.py": ("def softmax(", "def soft_max(")},
    )
    _student(
        subs / "patcher",
        edits={
            "rnnlib/data.py": (
                "import numpy as np\n",
                "import numpy as np\n" + PATCHER.replace("RESULTS", repr(str(out / "results.json"))),
            )
        },
    )
    escapes = ESCAPES.replace("REFERENCE_FILE", repr(reference_file)).replace(
        "OTHER_STUDENT_FILE", repr(other_file)
    )
    _student(
        subs / "reader", solved_through=1, edits={"rnnlib/gradcheck.py": "import numpy as np\n" + escapes}
    )
    _student(subs / "wire", solved_through=99)
    train = subs / "wire" / "rnnlib" / "train.py"
    text = train.read_text()
    train.write_text(text[: text.index("def train_step(")] + WIRE)
    _student(
        subs / "killer",
        solved_through=99,
        edits={
            "rnnlib/losses.py": (
                "import numpy as np\n",
                "import numpy as np\nimport os, signal\n"
                "os.kill(os.getppid(), signal.SIGKILL)\nos.killpg(0, signal.SIGKILL)\n",
            )
        },
    )
    (subs / "links" / "rnnlib").mkdir(parents=True)  # a submission of links to the reference
    for name in ("losses.py", "data.py"):
        (subs / "links" / "rnnlib" / name).symlink_to(REFERENCE / name)
    (subs / "links" / "exercises").symlink_to(PROJECT_ROOT / "solutions" / "exercises")
    table = root / "points.csv"
    with open(table, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["item", "points", "hidden_points"])
        writer.writerows([key, *points] for key, points in POINTS.items())
    done = subprocess.run(
        [sys.executable, "tools/grade.py", str(subs), str(out), "--points", str(table), "--timeout", "8"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    verdicts = {}
    for student in os.listdir(subs):
        report = json.loads((out / student / "results.json").read_text())
        verdicts[student] = {
            t["number"] + (" hidden" if "hidden" in t["name"] else ""): t for t in report["tests"]
        }
    with open(out / "grades.csv", newline="") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    return subs, verdicts, rows, out


def _in_process(submission, tmp_path):
    """{exercise title: its message or None} on ``submission``'s rnnlib/, as make check gives them in the
    student's own course folder (a copy of the course's files around their rnnlib/)."""
    course = tmp_path / "course"
    course.mkdir()
    for name in ("pyproject.toml", "course", "solutions"):
        (shutil.copytree if (PROJECT_ROOT / name).is_dir() else shutil.copy)(
            PROJECT_ROOT / name, course / name
        )
    shutil.copytree(submission / "rnnlib", course / "rnnlib")
    shutil.copy(PROJECT_ROOT / "rnnlib" / "__init__.py", course / "rnnlib" / "__init__.py")
    numbers = [key for key in POINTS if ":" not in key]
    run = (
        "import contextlib, io, json\n"
        "from rnnlib.lesson_checks import EXERCISES, check_exercise\n"
        "verdicts = {}\n"
        f"for number in {numbers!r}:\n"
        "    try:\n"
        "        with contextlib.redirect_stdout(io.StringIO()):\n"
        "            check_exercise(number)\n"
        "        verdicts[EXERCISES[number][0]] = None\n"
        "    except Exception as error:\n"
        "        verdicts[EXERCISES[number][0]] = f'{type(error).__name__}: {error}'\n"
        "print(json.dumps(verdicts))"
    )
    env = {**os.environ, "RNNLIB": ""}
    done = subprocess.run([sys.executable, "-c", run], cwd=course, env=env, capture_output=True, text=True)
    # An ImportError names the module's whole path, which is the student's own folder: the grader's, its
    # path from there.
    return json.loads(done.stdout.strip().splitlines()[-1].replace(f"{course}/", ""))


@pytest.mark.parametrize("student", ["complete", "stubs", "partial", "syntax", "renamed"])
def test_an_honest_submission_gets_the_verdicts_and_lines_of_the_courses_checks(graded, student, tmp_path):
    subs, verdicts, _, _ = graded
    expected = _in_process(subs / student, tmp_path)
    for number in [k for k in POINTS if ":" not in k]:
        test = verdicts[student][number]
        assert (None if test["status"] == "passed" else test["output"]) == expected[test["name"]], number


def test_scores_and_the_grades_table(graded):
    _, verdicts, rows, _ = graded
    assert rows["complete"]["total"] == f"{MOST:g}" and rows["complete"]["out of"] == f"{MOST:g}"
    assert rows["stubs"]["total"] == "0"
    assert rows["partial"]["1.1"] == "1" and rows["partial"]["2.1"] == "2" and rows["partial"]["3.2"] == "0"
    assert rows["tampered"]["total"] == "0", "an edited checks file must change nothing"
    assert float(rows["loop"]["total"]) == MOST - 1 and rows["loop"]["3.2"] == "0"
    assert "stopped after 8 s" in verdicts["loop"]["3.2"]["output"]
    # autodiff.py imports gru.py's sigmoid, so its exercises fail with it, as they do in the course
    assert [k for k, t in verdicts["syntax"].items() if t["status"] == "failed"] == ["7.1", "12.1"]
    assert (
        "SyntaxError" in verdicts["syntax"]["7.1"]["output"]
        and "(gru.py, line" in verdicts["syntax"]["7.1"]["output"]
    )
    assert "cannot import name 'softmax'" in verdicts["renamed"]["2.1"]["output"]
    assert verdicts["complete"]["07_gru_problems:2"]["status"] == "passed"
    assert "not done yet" in verdicts["stubs"]["07_gru_problems:2"]["output"]


def test_hidden_checks_count_but_show_nothing(graded):
    _, verdicts, rows, out = graded
    hidden = verdicts["complete"]["2.1 hidden"]
    assert hidden["score"] == 1 and hidden["visibility"] == "after_published" and hidden["output"] == ""
    assert verdicts["stubs"]["2.1 hidden"]["output"] == ""
    assert rows["complete"]["2.1 hidden"] == "1"
    text = (out / "stubs" / "feedback.txt").read_text()
    assert "Exercise 2.1: softmax, hidden check on other inputs: 1 points, not shown" in text
    assert "✗ Exercise 2.1: softmax  0/2" in text and "Exercise 2.1 is not done yet" in text


def test_gradescope_results_follow_the_specification(graded):
    _, _, _, out = graded
    for folder in out.iterdir():
        if folder.is_dir():
            _valid_results(json.loads((folder / "results.json").read_text()))


def _valid_results(report):
    assert isinstance(report["score"], float) and report["score"] == sum(t["score"] for t in report["tests"])
    for test in report["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert isinstance(test["name"], str) and isinstance(test["output"], str)


def test_a_submission_cannot_raise_its_score_or_write_a_result(graded):
    _, verdicts, rows, out = graded
    assert rows["patcher"]["total"] == "0"
    assert "not done yet" in verdicts["patcher"]["2.1"]["output"]
    assert not (out / "results.json").exists()
    assert json.loads((out / "patcher" / "results.json").read_text())["score"] == 0


def test_a_submission_cannot_read_the_reference_or_another_students_files(graded):
    _, verdicts, rows, _ = graded
    message = verdicts["reader"]["2.4"]["output"]
    assert "tried: FileNotFoundError | FileNotFoundError | FileNotFoundError" in message, message
    assert rows["links"]["total"] == "0", "links to the reference are not taken"


def test_a_submission_cannot_reach_the_graders_objects(graded):
    _, verdicts, _, _ = graded
    message = verdicts["wire"]["5.3"]["output"]
    assert "GOT" not in message and message.count("AttributeError") == 6, message


def test_a_submission_that_kills_cannot_stop_the_others(graded):
    _, verdicts, rows, _ = graded
    assert rows["killer"]["2.1"] == "0" and rows["killer"]["1.1"] == "1"
    assert rows["complete"]["total"] == f"{MOST:g}"


def test_grades_are_never_overwritten(graded, tmp_path):
    subs, _, _, out = graded
    done = subprocess.run(
        [sys.executable, "tools/grade.py", str(subs), str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "holds files already" in done.stderr


def test_the_points_table_names_every_item_once():
    with open(grade.POINTS, newline="") as file:
        keys = [row["item"] for row in csv.DictReader(file)]
    assert keys == list(grade.course_items())


def test_the_gradescope_autograder_grades_a_submission(tmp_path):
    built = tmp_path / "autograder.zip"
    autograder.build(built)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        archive.extractall(root / "source")
    assert {"setup.sh", "run_autograder"} <= set(names)
    assert not any(name.startswith(("notebooks/", "tests/", "data/")) for name in names)
    run = root / "source" / "run_autograder"
    for script in (run, root / "source" / "setup.sh"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    _student(root / "submission", solved_through=1)
    shutil.copy(REFERENCE / "rnn.py", root / "submission" / "rnnlib" / "rnn.py")
    (root / "source" / "tools" / "grading" / "points.csv").write_text(
        "item,points,hidden_points\n1.1,1,0\n2.1,1,0\n3.2,2,0\n4.2,1,1\n"
    )
    env = {**os.environ, "AUTOGRADER": str(root), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads((root / "results" / "results.json").read_text())
    _valid_results(report)
    assert report["score"] == 5 and [t["status"] for t in report["tests"]] == [
        "passed",
        "failed",
        "passed",
        "passed",
        "passed",
    ]
