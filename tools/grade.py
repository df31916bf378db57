"""Grade a class's submissions with the instructor's own checks (docs/instructors.md).

    make grade SUBMISSIONS=dir OUT=dir        (python tools/grade.py SUBMISSIONS OUT)
    python tools/grade.py --one SUBMISSION RESULTS_JSON     (one submission: the Gradescope autograder)

SUBMISSIONS holds one folder per student: a copy or clone of their edition, or just their files. Only what
a student writes is read from it: the modules of rnnlib/ that hold exercises, and their problem sets
(exercises/NN_*.ipynb). Every check, the reference and rnnlib/__init__.py are the instructor's. Each
exercise and each problem is judged in a process of its own with a time limit (tools/grading/judge.py),
the student's code running in a sandbox that sees nothing but their own files (tools/grading/sandbox.py).

The points of each exercise and problem come from one table, tools/grading/points.csv (--points for
another): a row per item with its points (1 each, as it comes) and the points of its hidden check (the
same check on other random inputs, counted in the score and named in the feedback, its result not shown).
An item the table leaves out or gives no points is not graded, so a table is also an assignment.

OUT gets grades.csv (a row per student, a column per item, the total), and a folder per student with
feedback.txt (the lines ``make check`` prints, with points) and results.json (Gradescope's format).
OUT must be new or empty: grades already written are never overwritten.
"""

import argparse
import concurrent.futures
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POINTS = ROOT / "tools" / "grading" / "points.csv"
MODULE_LIMIT, NOTEBOOK_LIMIT = 1 << 20, 32 << 20  # bytes: larger files are not taken (nor read)


@dataclass(frozen=True)
class Item:
    key: str  # "3.2", or "07_gru_problems:2"
    title: str  # "Exercise 3.2: rnn_forward", "Problem 2 of 07_gru_problems: gru_step"
    points: float
    hidden_points: float


def course_items():
    """{key: title} of every exercise and problem, in the order of the lessons and problem sets."""
    from rnnlib.lesson_checks import EXERCISES
    from rnnlib.problem_checks import PROBLEMS
    from tools.grading.judge import check_cell

    items = {number: title for number, (title, _) in EXERCISES.items()}
    for path in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            title, call = check_cell("".join(cell["source"]), "#NBVAL_CHECK_OUTPUT")
            if call and (call[0], call[1]) in PROBLEMS:
                problem, _, what = title.partition(": ")
                items[f"{call[0]}:{call[1]}"] = f"{problem} of {call[0]}: {what}"
    return items


def read_points(path):
    """The items to grade, in the course's order, from the points table at ``path``."""
    titles = course_items()
    table = {}
    with open(path, newline="", encoding="utf-8") as file:
        for line, row in enumerate(csv.DictReader(file), start=2):
            key = (row.get("item") or "").strip()
            if key not in titles:
                raise SystemExit(f"{path}, line {line}: {key!r} is no exercise or problem of the course")
            try:
                points, hidden = float(row.get("points") or 0), float(row.get("hidden_points") or 0)
            except ValueError:
                raise SystemExit(f"{path}, line {line}: points must be numbers") from None
            if points < 0 or hidden < 0:
                raise SystemExit(f"{path}, line {line}: points cannot be negative")
            table[key] = (points, hidden)
    items = [Item(key, title, *table[key]) for key, title in titles.items() if any(table.get(key, ()))]
    if not items:
        raise SystemExit(f"{path} gives no item any points: there is nothing to grade")
    return items


def stage(submission, into):
    """Copy what the student writes from ``submission`` into ``into`` (rnnlib/ and exercises/), with the
    instructor's rnnlib/__init__.py; return notes on what was not taken. Symbolic links are not followed
    (one could point at the reference), large files are not read."""
    from tools.grading.judge import STUDENT_MODULES

    base = _course_folder(submission)
    notes = []
    (into / "rnnlib").mkdir(parents=True)
    (into / "exercises").mkdir()
    shutil.copyfile(ROOT / "rnnlib" / "__init__.py", into / "rnnlib" / "__init__.py")
    wanted = [(f"{name}.py", "rnnlib", MODULE_LIMIT) for name in STUDENT_MODULES]
    wanted += [
        (p.name, "exercises", NOTEBOOK_LIMIT) for p in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    ]
    for name, folder, limit in wanted:
        found = next((p for p in (base / folder / name, base / name) if os.path.lexists(p)), None)
        if found is None:
            continue
        if not _plain_file(found, base):
            notes.append(f"{folder}/{name} is not a plain file: not taken")
        elif found.stat().st_size > limit:
            notes.append(f"{folder}/{name} is larger than {limit >> 20} MB: not taken")
        else:
            shutil.copyfile(found, into / folder / name, follow_symlinks=False)
    return notes


def _plain_file(path, base):
    """Whether ``path`` is a file reached from ``base`` without a symbolic link on the way."""
    real = Path(os.path.realpath(path))
    return path.is_file() and real == Path(os.path.realpath(base)) / path.relative_to(base)


def _course_folder(submission):
    """The folder of the submission that holds rnnlib/: itself, or the one folder it holds (a zip of the
    course's folder); files uploaded loose are looked for in the submission itself."""
    if (submission / "rnnlib").is_dir():
        return submission
    inner = [
        p for p in submission.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    ]
    if len(inner) == 1 and (inner[0] / "rnnlib").is_dir():
        return inner[0]
    return submission


def judge(staged, item, variant, timeout):
    """{"verdict", "message"} of one item, judged in a process of its own, stopped after ``timeout`` s."""
    command = [sys.executable, "-m", "tools.grading.judge", str(staged), item.key, "--variant", str(variant)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so that a timeout stops the worker too
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "RNNLIB": ""},
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"verdict": "fail", "message": f"{item.title}: stopped after {timeout:g} s (an endless loop?)"}
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print(f"grade: the judge of {item.key} failed: {err.strip().splitlines()[-1:]}", file=sys.stderr)
        return {"verdict": "fail", "message": f"{item.title}: the grader could not judge it (see its log)"}


def grade(submissions, items, jobs, timeout):
    """{student: [(item, hidden?, verdict)]} for every student folder of ``submissions``."""
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise SystemExit(f"{submissions} holds no folder: it must hold one folder per student")
    with tempfile.TemporaryDirectory(prefix="rnnlib-grade-") as work:
        staged = {}
        notes = {}
        for number, student in enumerate(students):
            staged[student.name] = Path(work) / str(number)
            notes[student.name] = stage(student, staged[student.name])
        tasks = [
            (student.name, item, variant)
            for student in students
            for item in items
            for variant in ((0, 1) if item.hidden_points else (0,))
            if (item.points if variant == 0 else item.hidden_points)
        ]
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            verdicts = list(pool.map(lambda t: judge(staged[t[0]], t[1], t[2], timeout), tasks))
    results = {student.name: [] for student in students}
    for (name, item, variant), result in zip(tasks, verdicts, strict=True):
        results[name].append((item, bool(variant), result))
    return results, notes


def scored(item, hidden, result):
    """(score, max score) of one verdict."""
    most = item.hidden_points if hidden else item.points
    return (most if result["verdict"] == "pass" else 0.0), most


def feedback(student, results, notes):
    """The feedback file: the lines make check prints, each with its points; hidden checks named only."""
    total = sum(scored(*r)[0] for r in results)
    most = sum(scored(*r)[1] for r in results)
    lines = [f"Grades of {student}: {_number(total)} of {_number(most)} points", ""]
    lines += [f"  Note: {note}" for note in notes] + ([""] if notes else [])
    for item, hidden, result in results:
        score, top = scored(item, hidden, result)
        if hidden:
            lines.append(f"  • {item.title}, hidden check on other inputs: {_number(top)} points, not shown")
            continue
        lines.append(
            f"  {'✓' if result['verdict'] == 'pass' else '✗'} {item.title}  {_number(score)}/{_number(top)}"
        )
        if result["verdict"] != "pass":
            lines.append(f"      {result['message']}")
    return "\n".join(lines) + "\n"


def gradescope(results, seconds):
    """Gradescope's results.json (its autograder specification): the score, and a test per item."""
    tests = []
    for item, hidden, result in results:
        score, top = scored(item, hidden, result)
        tests.append(
            {
                "name": f"{item.title} (hidden check)" if hidden else item.title,
                "number": item.key,
                "score": score,
                "max_score": top,
                "status": "passed" if result["verdict"] == "pass" else "failed",
                "output": "" if hidden else result["message"],
                "visibility": "after_published" if hidden else "visible",
            }
        )
    return {
        "score": sum(t["score"] for t in tests),
        "execution_time": round(seconds),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _number(x):
    return f"{x:g}"


def write(out, results, notes, seconds):
    items = [item for item, hidden, _ in next(iter(results.values())) if not hidden]
    hidden_items = [item for item, hidden, _ in next(iter(results.values())) if hidden]
    columns = [i.key for i in items] + [f"{i.key} hidden" for i in hidden_items]
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", *columns, "total", "out of"])
        for student, rows in results.items():
            by_column = {(f"{i.key} hidden" if h else i.key): scored(i, h, r)[0] for i, h, r in rows}
            total, most = sum(scored(*r)[0] for r in rows), sum(scored(*r)[1] for r in rows)
            writer.writerow(
                [student, *(_number(by_column[c]) for c in columns), _number(total), _number(most)]
            )
    for student, rows in results.items():
        folder = out / student
        folder.mkdir()
        (folder / "feedback.txt").write_text(feedback(student, rows, notes[student]), encoding="utf-8")
        report = gradescope(rows, seconds / len(results))
        (folder / "results.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "submissions", type=Path, help="a folder with one folder per student (or, with --one, one submission)"
    )
    parser.add_argument(
        "out", type=Path, help="a new folder for the grades (with --one, the results.json to write)"
    )
    parser.add_argument("--one", action="store_true", help="grade one submission into one results.json")
    parser.add_argument("--points", type=Path, default=POINTS, help="the points table (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="items judged at once")
    parser.add_argument("--timeout", type=float, default=120, help="seconds an item may take")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.jobs < 1 or args.timeout <= 0:
        parser.error("--jobs and --timeout must be positive")
    if not args.points.is_file():
        parser.error(f"the points table {args.points} does not exist")
    from tools.grading import sandbox

    try:
        sandbox.worker_command(ROOT)  # bubblewrap must work before anything is graded
    except sandbox.SandboxUnavailable as error:
        sys.exit(f"grade: {error}")
    items = read_points(args.points)
    start = time.monotonic()
    if args.one:
        if args.out.exists():
            parser.error(f"{args.out} exists: results are never overwritten")
        with tempfile.TemporaryDirectory(prefix="rnnlib-grade-") as holder:
            (Path(holder) / "submission").symlink_to(args.submissions.resolve())
            results, _ = grade(Path(holder), items, args.jobs, args.timeout)
        report = gradescope(results["submission"], time.monotonic() - start)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"{_number(report['score'])} points written to {args.out}")
        return 0
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} holds files already: name a new folder (grades are never overwritten)")
    results, notes = grade(args.submissions, items, args.jobs, args.timeout)
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = time.monotonic() - start
    write(args.out, results, notes, seconds)
    print(f"{len(results)} students graded in {seconds:.0f} s: {args.out / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
