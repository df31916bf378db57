"""rnnlib: the recurrent networks you build in this course, one exercise at a time.

``import rnnlib`` gives your own package, ``rnnlib/``. With the environment variable
``RNNLIB=reference`` set before the first import, it gives the reference in ``solutions/rnnlib/``
instead, so a later lesson can run before the earlier exercises are done.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_choice = os.environ.get("RNNLIB", "") or "student"
if _choice not in ("student", "reference"):
    raise ImportError(f"RNNLIB={_choice!r}: set it to 'reference' or 'student' (or leave it unset).")
USING_REFERENCE = _choice == "reference"

if USING_REFERENCE:
    # Submodules (rnnlib.rnn, rnnlib.gru, ...) are looked up along __path__, so pointing it at the
    # reference swaps every module of the package while `import rnnlib` stays the same line.
    __path__ = [str(PROJECT_ROOT / "solutions" / "rnnlib")]
