"""Build the Gradescope autograder of the course:  make autograder OUT=autograder.zip

The zip holds, at its top, the two files Gradescope's autograder specification asks for, and the course's
grading code beside them (Gradescope unpacks the zip into /autograder/source):

- setup.sh, run once when Gradescope builds the image: installs Python, bubblewrap (the sandbox) and the
  course's package into /autograder/source/.venv;
- run_autograder, run for each submission: grades /autograder/submission with tools/grade.py --one, the
  very code ``make grade`` runs, and writes /autograder/results/results.json.

What goes in: the course's modules, the reference and the solved problem sets (the checks compare with
them), the problem sets' check cells, the points table and the tools. Lessons, tests and data stay out.
"""

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDED = ("pyproject.toml", "README.md", "rnnlib/__init__.py", "course", "solutions", "exercises", "tools")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip bubblewrap
cd /autograder/source
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check .
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission. AUTOGRADER and PYTHON let a test run it outside Gradescope.
set -euo pipefail
AUTOGRADER="${AUTOGRADER:-/autograder}"
PYTHON="${PYTHON:-$AUTOGRADER/source/.venv/bin/python}"
cd "$AUTOGRADER/source"
mkdir -p "$AUTOGRADER/results"
exec "$PYTHON" tools/grade.py --one "$AUTOGRADER/submission" "$AUTOGRADER/results/results.json"
"""


def files():
    """(path inside the zip, path on disk) of every file the autograder needs."""
    for name in INCLUDED:
        path = ROOT / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                yield str(file.relative_to(ROOT)), file


def build(out):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable once unpacked
            archive.writestr(info, text)
        for name, path in files():
            archive.write(path, name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the zip to write (a new file)")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists: name a new file")
    if args.out.suffix != ".zip":
        parser.error(f"{args.out} must end in .zip (Gradescope takes a zip)")
    build(args.out)
    print(f"Gradescope autograder written to {args.out}: upload it as the assignment's autograder.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
