"""Check your work: run the lessons' check cells on your rnnlib/ and report each exercise.

    python tools/check.py        # every lesson and problem set   (make check)
    python tools/check.py 02     # lesson 02 and its problem set  (make check L=02)

Runs nbval (pytest --nbval-lax) on the notebooks as they are committed, so your own edits to a lesson
notebook do not change what is checked; only your rnnlib/ and exercises/ answers do.
"""

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TITLE = re.compile(r'with check\("([^"]+)"\)')
PROBLEM = re.compile(r"print\(\"✓ ([^\"]+)\"\)")
MESSAGE = re.compile(r"^\w+(?:Error|Exception|NotDone|Failed): .*$", re.M)


class Report:
    """A pytest plugin that keeps the outcome of each check cell (nbval items carry their cell)."""

    def __init__(self):
        self.sources = {}  # test id -> the cell's source
        self.results = []  # (notebook, title, passed, message)
        self.other_errors = 0

    def pytest_collection_modifyitems(self, items):
        self.sources = {item.nodeid: getattr(getattr(item, "cell", None), "source", "") for item in items}

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        title = _title(self.sources.get(report.nodeid, ""))
        if title is None:
            self.other_errors += report.failed
            return
        message = ""
        if report.failed:
            found = MESSAGE.findall(_strip_ansi(str(report.longrepr)))
            message = found[-1] if found else "failed: see the notebook for details"
        self.results.append((report.nodeid.split("::")[0], title, report.passed, message))


def _title(source):
    """The check's title, or None for a cell that is not a check."""
    if not source.startswith("#NBVAL_CHECK_OUTPUT"):
        return None
    found = TITLE.search(source) or PROBLEM.search(source)
    return found[1] if found else source.splitlines()[1] if "\n" in source else "check"


def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _notebooks(lesson):
    pattern = f"{int(lesson):02d}_*.ipynb" if lesson else "[0-9][0-9]_*.ipynb"
    found = sorted((ROOT / "notebooks").glob(pattern)) + sorted((ROOT / "exercises").glob(pattern))
    if not found:
        sys.exit(f"No lesson matches {lesson!r}: use a lesson number such as 02 (see notebooks/).")
    return found


def main(argv):
    if len(argv) > 1 or (argv and not argv[0].isdigit()):
        sys.exit(__doc__)
    report = Report()
    paths = [str(p.relative_to(ROOT)) for p in _notebooks(argv[0] if argv else None)]
    os.chdir(ROOT)
    pytest.main(["-q", "--tb=no", "-rN", "--no-header", "-p", "no:warnings", *paths], plugins=[report])
    print()
    print("Your exercises")
    for notebook, title, passed, message in report.results:
        print(f"  {'✓' if passed else '✗'} {Path(notebook).stem:<32} {title}")
        if message:
            print(f"      {message}")
    done = sum(passed for *_, passed, _ in report.results)
    print(f"\n{done} of {len(report.results)} checks pass.")
    if report.other_errors:
        print(f"{report.other_errors} other cells raised errors: usually they use an exercise not done yet.")
    return 0 if done == len(report.results) and not report.other_errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
