"""The test suite checks the course itself, so `import rnnlib` gives the reference (solutions/rnnlib).

nbval runs each lesson as a student who has done that lesson's exercises and the earlier ones, and none
after: lesson N's kernel gets ``RNNLIB=<a package with the exercises of lessons <= N solved, the rest
stubbed>``. So one run proves two things at once: every cell of the lesson runs and every check passes
(its ✓ line is compared with the committed one) with only what the student has written by then, and a
lesson that reached a later exercise would stop on its stub. Problem sets run with the reference.
Students check their own package with `make check`.
"""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

os.environ["RNNLIB"] = "reference"

# Two pytest workers share two cores: one BLAS thread each is fastest, and the notebook kernels the
# tests start inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Property tests draw the same examples on every run, so CI cannot pass one day and fail the next.
settings.register_profile("course", derandomize=True, deadline=None)
settings.load_profile("course")

ROOT = Path(__file__).resolve().parent
_packages = {}


def student_package(lesson):
    """A folder holding rnnlib as a student who has done the exercises of lessons <= ``lesson``."""
    if lesson not in _packages:
        from tools import generate

        folder = Path(tempfile.mkdtemp(prefix=f"rnnlib-through-{lesson:02d}-"))
        for name, text in generate.expected_files(ROOT, solved_through=lesson).items():
            if name.startswith("rnnlib/"):
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
        _packages[lesson] = folder / "rnnlib"
    return _packages[lesson]


def _lesson_of(item):
    """N for a cell of notebooks/NN_*.ipynb run by nbval, else None."""
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb" and path.parent == ROOT / "notebooks" and path.name[:2].isdigit():
        return int(path.name[:2])
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    # nbval starts a notebook's kernel while setting up its first cell; the kernel keeps the environment
    # it started with, and everything else in this process goes on seeing the reference.
    lesson = _lesson_of(item)
    if lesson is not None:
        os.environ["RNNLIB"] = str(student_package(lesson))
    try:
        yield
    finally:
        os.environ["RNNLIB"] = "reference"


def pytest_collection_modifyitems(items):
    """Lesson 10 first: it trains for minutes, so one pytest worker starts it at once while the other runs
    the rest (collected last, it kept the whole run waiting on it for about a minute and a half). The sort
    is stable: its cells keep their order, and so does everything else."""
    items.sort(key=lambda item: not item.nodeid.startswith("notebooks/10_"))
