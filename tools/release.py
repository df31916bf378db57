"""Write the student edition of the course:  make release OUT=dir   (python tools/release.py OUT)

The edition is the course as a student takes it for credit: the lessons, the student's rnnlib/ stubs, the
problem sets unsolved, the course's own modules, data loading, its README and Makefile (make lab, make
check, make nbval), and no reference and no solved problem set anywhere in it.

Its checks work as the full course's do. They compare with the reference's values, which this tool
records: it runs every check on the reference, on the solved problem sets and on every planted bug of
the mutation suite (tools/planted_bugs.py), writing down what each asked of the reference and what came
back (course/rnnlib/recorded.py), into the edition's course/recorded.pickle.gz. The few demonstrations
that need a later exercise (course/rnnlib/demonstrations.py) are run once more to save what they gave.
This takes some minutes on two cores.

--lessons 01,02 makes an edition whose checks are recorded for those lessons and their problem sets only
(the tests use it; the checks of other lessons there say that they have no record).
"""

import argparse
import concurrent.futures
import gzip
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a student's edition holds: the course's files but for the reference, the solved sets, the tests
# and the tools that need the reference (generate, notebooks, grade, release, benchmark).
COPIED = ["pyproject.toml", "environment.yml", ".gitignore", "notebooks", "exercises", "rnnlib", "course"]
TOOLS = ["__init__.py", "check.py", "nbval_lessons.py"]
EDITION = ROOT / "tools" / "edition"  # its README and Makefile

RUN_CHECKS = """
import contextlib, io, sys
from rnnlib import problem_checks
from rnnlib.checks import CheckFailed, ExerciseNotDone, check
from rnnlib.lesson_checks import EXERCISES, check_exercise
from tools import planted_bugs
from tools.grade import course_items

def run(check_one, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            check_one(*args)
        except (CheckFailed, ExerciseNotDone):  # a planted bug's verdict: recorded all the same
            pass

def problem(problem_set, number, answers):
    with check(f"Problem {number}"):
        problem_checks.check_problem(problem_set, number, *answers)

lessons, what = sys.argv[1].split(","), sys.argv[2]
if what in ("reference", "lesson"):
    for number in EXERCISES:
        if number.split(".")[0].zfill(2) in lessons:
            run(check_exercise, number)
for key in course_items() if what in ("reference", "problems") else ():
    problem_set, _, number = key.partition(":")
    if not number or problem_set[:2] not in lessons:
        continue
    answers = planted_bugs.answers(problem_set, int(number))
    if what == "reference":
        run(problem, problem_set, int(number), answers)
        continue
    for bug_set, bug_number, function, old, new in planted_bugs.PROBLEM_MUTANTS.values():
        if (bug_set, bug_number) == (problem_set, int(number)):
            names = planted_bugs.planted(problem_set, function, old, new)
            run(problem, problem_set, int(number), [names[a.__name__] for a in answers])
"""


def record(lessons, jobs):
    """The edition's record: every check of ``lessons`` run on the reference and on every planted bug."""
    from tools.planted_bugs import MUTANTS

    with tempfile.TemporaryDirectory(prefix="rnnlib-release-") as work:
        work = Path(work)
        runs = [("reference", None), ("problems", None)]
        runs += [("lesson", bug) for bug in MUTANTS.values() if bug[0].split(".")[0].zfill(2) in lessons]

        def run(numbered):
            number, (what, bug) = numbered
            env = {**os.environ, "RNNLIB": "reference", "RNNLIB_RECORD": str(work / f"{number}.pickle")}
            chosen = lessons
            if bug is not None:
                exercise, module, old, new = bug
                package = work / f"bug{number}" / "rnnlib"
                shutil.copytree(
                    ROOT / "solutions" / "rnnlib", package, ignore=shutil.ignore_patterns("__pycache__")
                )
                text = (package / module).read_text(encoding="utf-8")
                (package / module).write_text(text.replace(old, new), encoding="utf-8")
                env["RNNLIB"], chosen = str(package), [exercise.split(".")[0].zfill(2)]
            done = subprocess.run(
                [sys.executable, "-c", RUN_CHECKS, ",".join(chosen), what],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if done.returncode != 0:
                raise SystemExit(f"release: recording the checks failed:\n{done.stderr[-2000:]}")
            with open(work / f"{number}.pickle", "rb") as file:
                return pickle.load(file)

        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            records = list(pool.map(run, enumerate(runs)))
    from rnnlib import recorded

    return recorded.merge(records)


def demonstrations(out, lessons):
    """Run the notebooks whose demonstrations need a later exercise, saving what those gave."""
    import nbformat
    from nbclient import NotebookClient

    from tools.check import kernel_config

    folder = out / "course" / "demonstrations"
    folder.mkdir(parents=True)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    notebooks += sorted((ROOT / "solutions" / "exercises").glob("[0-9][0-9]_*.ipynb"))
    for path in notebooks:
        if path.name[:2] not in lessons or "demonstration(" not in path.read_text(encoding="utf-8"):
            continue
        notebook = nbformat.read(path, as_version=4)
        os.environ.update(RNNLIB="reference", RNNLIB_SAVE_DEMONSTRATIONS=str(folder))
        try:
            client = NotebookClient(
                notebook,
                timeout=1800,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
                config=kernel_config(),
            )
            client.execute()
        finally:
            del os.environ["RNNLIB_SAVE_DEMONSTRATIONS"]


def copy(out):
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, out / name)
    (out / "tools").mkdir()
    for name in TOOLS:
        shutil.copy(ROOT / "tools" / name, out / "tools" / name)
    from tools.planted_bugs import MUTANTS

    shutil.copy(EDITION / "Makefile", out / "Makefile")
    readme = (EDITION / "README.md").read_text(encoding="utf-8")  # PLANTED: how many planted bugs
    (out / "README.md").write_text(readme.replace("PLANTED", str(len(MUTANTS))), encoding="utf-8")
    (out / "data").mkdir()


SOLUTION = re.compile(r"###\s*(BEGIN|END) SOLUTION")


def leaks(out):
    """The files of the edition that hold a solution region, or a solved cell of a problem set."""
    found = []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".ipynb", ".md", ".toml", ".yml", ""):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if SOLUTION.search(text):
            found.append(str(path.relative_to(out)))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a new folder for the edition")
    parser.add_argument("--lessons", default="", help="only these lessons' checks (e.g. 01,02), for tests")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="checks recorded at once")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} holds files already: name a new folder")
    every = sorted({p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")})
    lessons = [n.zfill(2) for n in args.lessons.split(",")] if args.lessons else every
    if unknown := sorted(set(lessons) - set(every)):
        parser.error(f"--lessons: no lesson {', '.join(unknown)} (the lessons are {', '.join(every)})")
    print(f"Recording the checks of {len(lessons)} lessons on the reference and on every planted bug...")
    record_data = record(lessons, args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    copy(args.out)
    with gzip.open(args.out / "course" / "recorded.pickle.gz", "wb") as file:
        pickle.dump(record_data, file, protocol=pickle.HIGHEST_PROTOCOL)
    print("Running the demonstrations that need a later exercise...")
    demonstrations(args.out, lessons)
    if found := leaks(args.out):
        raise SystemExit(f"release: the edition would hold solutions in {', '.join(found)}")
    size = (args.out / "course" / "recorded.pickle.gz").stat().st_size
    print(f"The student edition is in {args.out} ({len(record_data)} checks recorded, {size >> 10} KB).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
