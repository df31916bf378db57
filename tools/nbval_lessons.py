"""Run lessons under nbval on your rnnlib/, as CI runs them on the reference.

    python tools/nbval_lessons.py        # every lesson                      (make nbval)
    python tools/nbval_lessons.py 02     # lesson 02 (notebooks/02_*.ipynb)  (make nbval L=02)

nbval executes each lesson in a fresh kernel, cell after cell, and fails a cell that raises or a check
cell (#NBVAL_CHECK_OUTPUT) that does not print the line the lesson was saved with. Every cell runs,
training included: lesson 10 trains for about 4 minutes and saves its checkpoint, first renaming one
already there, as it does in JupyterLab. Your notebooks are only read: nbval runs their code in a kernel
of its own and writes nothing back.

After pytest's progress line, each failing cell gets one line: its number among the lesson's code
cells, its first line of code, and what went wrong (the check's message, or the line printed instead of
the saved one). The exit status is 0 when every cell of the selected lessons passes. Only the lessons
run: not the problem sets (make check runs yours), not the course's tests. The course's conftest.py is
left out: it runs each lesson on a package the test suite builds from the reference; this runs yours
(or the one RNNLIB names).
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK_MARK = "#NBVAL_CHECK_OUTPUT"


def first_code_line(source, limit=50):
    """The cell's first line that is code, shortened: enough to find the cell in the lesson."""
    lines = [line.strip() for line in source.splitlines()]
    code = next((line for line in lines if line and not line.startswith(("#", "%"))), "")
    return code if len(code) <= limit else code[: limit - 3] + "..."


def stream_text(outputs):
    return "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream")


def what_went_wrong(item, excinfo):
    """One line: the error the cell raised, or the line it printed where the lesson's saved one differs."""
    outputs = item.test_outputs or []
    error = next((output for output in outputs if output.get("output_type") == "error"), None)
    if error is not None:
        return f"{error['ename']}: {error['evalue']}".splitlines()[0]
    got, saved = stream_text(outputs).strip(), stream_text(item.cell.outputs).strip()
    if item.cell.source.startswith(CHECK_MARK) and got != saved:
        return f"printed {got.splitlines()[0] if got else 'nothing'!r} where the lesson printed {saved!r}"
    return str(excinfo.value).splitlines()[0]  # a timeout, or an output nbval compared otherwise


class Report:
    """A pytest plugin: one line per failing cell, grouped by lesson, after pytest's own progress."""

    def __init__(self):
        self.failures = {}  # lesson path -> [line]
        self.cells = {}  # lesson path -> number of cells run

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.when == "call" and hasattr(item, "cell_num") and not report.skipped:  # a cell nbval ran
            lesson = Path(str(item.fspath)).relative_to(ROOT).as_posix()
            self.cells[lesson] = self.cells.get(lesson, 0) + 1
            if report.failed:
                # nbval counts code cells from 0; a student counts them from 1.
                line = f"  code cell {item.cell_num + 1} ({first_code_line(item.cell.source)}): "
                self.failures.setdefault(lesson, []).append(line + what_went_wrong(item, call.excinfo))
        return report

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        for lesson, cells in self.cells.items():
            failed = self.failures.get(lesson, [])
            write("")
            write(f"{lesson}: {cells - len(failed)} of {cells} code cells pass")
            for line in failed:
                write(line)


def main(argv):
    if len(argv) > 1 or (argv and not argv[0].isdigit()):
        sys.exit(__doc__)
    pattern = f"{int(argv[0]):02d}_*.ipynb" if argv else "[0-9][0-9]_*.ipynb"
    lessons = sorted((ROOT / "notebooks").glob(pattern))
    if not lessons:
        sys.exit(f"No lesson matches {argv[0]!r}: use a lesson number such as 02 (see notebooks/).")
    options = ["--nbval-lax", "--nbval-current-env", "--noconftest", "-p", "no:cacheprovider"]
    quiet = ["-q", "--tb=no", "-rN", "--no-header", "-W", "ignore::DeprecationWarning"]
    paths = [str(path) for path in lessons]
    return int(pytest.main([*paths, "--rootdir", str(ROOT), *options, *quiet], plugins=[Report()]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
