"""rnnlib: the recurrent networks you build in this course, one exercise at a time.

``import rnnlib`` gives your own package, ``rnnlib/``. With the environment variable
``RNNLIB=reference`` set before the first import, it gives the reference in ``solutions/rnnlib/``
instead, so a later lesson can run before the earlier exercises are done. (The course's tests also set
``RNNLIB`` to the folder of another copy of the package, e.g. one with a planted bug.)

``rnnlib.reference("gru")`` is the reference's module whatever ``RNNLIB`` says: a lesson uses it, and
says so, where a demonstration needs an exercise of a later lesson; the checks take their expected
values from it.
"""

import importlib
import importlib.util
import os
import sys
from pathlib import Path

# rnnlib/ sits in the project's root, beside pyproject.toml; the reference, loaded by reference() below,
# one level deeper, in solutions/rnnlib/.
_PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = next(
    (d for d in (_PACKAGE_DIR.parent, _PACKAGE_DIR.parent.parent) if (d / "pyproject.toml").is_file()),
    _PACKAGE_DIR.parent,
)
REFERENCE_DIR = PROJECT_ROOT / "solutions" / "rnnlib"

_choice = os.environ.get("RNNLIB", "") or "student"
USING_REFERENCE = _choice == "reference"

if __name__ == "rnnlib" and _choice != "student":
    # Submodules (rnnlib.rnn, rnnlib.gru, ...) are looked up along __path__, so pointing it elsewhere
    # swaps every module of the package while `import rnnlib` stays the same line.
    _folder = REFERENCE_DIR if USING_REFERENCE else Path(_choice)
    if not (_folder / "__init__.py").is_file():
        raise ImportError(f"RNNLIB={_choice!r}: set it to 'reference' or 'student' (or leave it unset).")
    __path__ = [str(_folder.resolve())]

_REFERENCE_PACKAGE = "_rnnlib_reference"


def reference(module):
    """The reference's ``module`` (e.g. "gru"), imported as a package of its own beside yours."""
    if _REFERENCE_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            _REFERENCE_PACKAGE, REFERENCE_DIR / "__init__.py", submodule_search_locations=[str(REFERENCE_DIR)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[_REFERENCE_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{_REFERENCE_PACKAGE}.{module}")
