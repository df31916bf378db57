# Generated from solutions/rnnlib/__init__.py by tools/generate.py: the course's, with nothing to write.
"""rnnlib: the recurrent networks you build in this course, one exercise at a time.

The package lives in two folders. ``rnnlib/`` holds the modules you write (data, losses, gradcheck,
rnn, train, optim, gru, schedule, sample, autodiff); ``course/rnnlib/`` holds the course's own modules (the
checks, the training loop, the command line, checkpoints, plots, the sampling panel), written once and
shared by your copy and the reference. ``import rnnlib.cli`` finds the course's module, ``import
rnnlib.rnn`` yours, as if both folders were one.

``import rnnlib`` gives your own modules. With the environment variable ``RNNLIB=reference`` set before
the first import, it gives the reference's, in ``solutions/rnnlib/``, instead, so a later lesson can
run before the earlier exercises are done. (The course's tests also set ``RNNLIB`` to the folder of
another copy of your modules, e.g. one with a planted bug.)

``rnnlib.reference("gru")`` is the reference's module whatever ``RNNLIB`` says: a lesson uses it, and
says so, where a demonstration needs an exercise of a later lesson; the checks take their expected
values from it.
"""

import importlib
import importlib.util
import os
import sys
import warnings
from pathlib import Path

# rnnlib/ sits in the project's root, beside pyproject.toml; the reference, loaded by reference() below,
# one level deeper, in solutions/rnnlib/.
_PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = next(
    (d for d in (_PACKAGE_DIR.parent, _PACKAGE_DIR.parent.parent) if (d / "pyproject.toml").is_file()),
    _PACKAGE_DIR.parent,
)
REFERENCE_DIR = PROJECT_ROOT / "solutions" / "rnnlib"
COURSE_DIR = PROJECT_ROOT / "course" / "rnnlib"

_choice = os.environ.get("RNNLIB", "") or "student"
USING_REFERENCE = _choice == "reference"


def _search_path(folder):
    """Where the submodules of a package whose exercises are in ``folder`` are found: the course's
    modules first, so that a leftover copy of one in an older rnnlib/ cannot stand in for it."""
    modules = {path.stem for path in Path(folder).glob("*.py")} - {"__init__"}
    course = {path.stem for path in COURSE_DIR.iterdir() if path.suffix == ".py" or path.is_dir()}
    leftovers = sorted(f"{name}.py" for name in modules & course)
    if leftovers:
        warnings.warn(
            f"{folder} holds {', '.join(leftovers)}, old copies of the course's own modules, which are now "
            f"in course/rnnlib/ and used from there; yours are not read (move them away to silence this)",
            stacklevel=3,
        )
    return [str(COURSE_DIR), str(Path(folder).resolve())]


if __name__ == "rnnlib":
    _folder = {"student": _PACKAGE_DIR, "reference": REFERENCE_DIR}.get(_choice, Path(_choice))
    if not (Path(_folder) / "__init__.py").is_file():
        raise ImportError(f"RNNLIB={_choice!r}: set it to 'reference' or 'student' (or leave it unset).")
    # Submodules (rnnlib.rnn, rnnlib.cli, ...) are looked up along __path__, so pointing it elsewhere swaps
    # every exercise module of the package while `import rnnlib` stays the same line.
    __path__ = _search_path(_folder)

_REFERENCE_PACKAGE = "_rnnlib_reference"


def reference(module):
    """The reference's ``module`` (e.g. "gru"), imported as a package of its own beside yours.

    In the student edition, which has no reference, a check gets the reference's answers as recorded when
    the edition was made, and a lesson's demonstration gets your own module (course/rnnlib/recorded.py)."""
    recorded = importlib.import_module(f"{__name__}.recorded")
    if recorded.mode() == "replay":
        if recorded.active():
            return recorded.wrap(("reference", module), None)
        return importlib.import_module(f"{__name__}.{module}")
    if _REFERENCE_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            _REFERENCE_PACKAGE,
            REFERENCE_DIR / "__init__.py",
            submodule_search_locations=_search_path(REFERENCE_DIR),
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[_REFERENCE_PACKAGE] = package
        spec.loader.exec_module(package)
    real = importlib.import_module(f"{_REFERENCE_PACKAGE}.{module}")
    return recorded.wrap(("reference", module), real) if recorded.mode() == "record" else real
