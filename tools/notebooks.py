"""Execute the lessons and the solved problem sets with the reference, saving their outputs in place.

    make notebooks                                         # every lesson and solved problem set
    make notebooks FILES=notebooks/10_shakespeare.ipynb    # only these (several: FILES='a.ipynb b.ipynb')
    make notebooks FORCE=1 FILES=notebooks/02_softmax_and_loss.ipynb   # also one that holds changes
    .venv/bin/python tools/notebooks.py --record [FILE ...]  # executed another way: record them as they are

make notebooks runs .venv/bin/python tools/notebooks.py, with --force for FORCE=1 and FILES as arguments.
Without FILES it executes notebooks/NN_*.ipynb and solutions/exercises/*.ipynb, in their own folders,
with RNNLIB=reference.

Executing a notebook replaces its outputs and saves it, so changes made to it since it was last executed
would be lost: a student's notes, or an instructor's edit of a lesson. tools/notebooks.json records the
sha256 of each notebook as this command last wrote it; a notebook that no longer matches its record (or
has none) holds such changes. If one of those is selected, nothing is executed and the command names it;
``--force`` (FORCE=1) executes it anyway, after copying it under backups/<time>/ as make generate does.
A notebook whose execution stops on an error is left as it was.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from tools import generate
from tools.check import kernel_config

ROOT = Path(__file__).resolve().parent.parent
RECORD = "tools/notebooks.json"
# What make notebooks executes without FILES; FILES may also name another notebook of these folders.
SELECTED = ("notebooks/[0-9][0-9]_*.ipynb", "solutions/exercises/*.ipynb")
FOLDERS = ("notebooks", "solutions/exercises")
FORCE = "make notebooks FORCE=1"


class ExecutionStopped(Exception):
    """A cell of the notebook raised; the message says which and what."""


def default_selection(root):
    return sorted(path.relative_to(root).as_posix() for pattern in SELECTED for path in root.glob(pattern))


def read_record(root):
    """{path: sha256} of every notebook as this command last wrote it."""
    path = root / RECORD
    return json.loads(path.read_text()) if path.is_file() else {}


def write_record(root, record):
    """Write ``record``, leaving out notebooks that are gone."""
    kept = {path: sha for path, sha in sorted(record.items()) if (root / path).is_file()}
    (root / RECORD).write_text(json.dumps(kept, indent=1) + "\n")


def holding_changes(root, paths):
    """{path: why} for the notebooks of ``paths`` that executing would lose changes of."""
    record, found = read_record(root), {}
    for path in paths:
        if path not in record:
            found[path] = "was never executed by make notebooks (a notebook of your own?)"
        elif generate.digest((root / path).read_bytes()) != record[path]:
            found[path] = "holds changes made since make notebooks last executed it"
    return found


def execute(root, path):
    """The text of the notebook at ``path`` executed with the reference, in its own folder; raises
    ExecutionStopped at the first cell that raises."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = nbformat.read(root / path, as_version=4)
    client = NotebookClient(
        notebook, resources={"metadata": {"path": str((root / path).parent)}}, config=kernel_config()
    )
    try:
        client.execute(env={**os.environ, "RNNLIB": "reference"})
    except CellExecutionError as error:
        number = next(
            (
                i
                for i, cell in enumerate(notebook.cells, start=1)
                if any(output.output_type == "error" for output in cell.get("outputs", []))
            ),
            "?",
        )
        raise ExecutionStopped(f"cell {number} raised {error.ename}: {error.evalue}") from None
    except (CellTimeoutError, DeadKernelError) as error:  # a cell that never ended, a kernel that died
        raise ExecutionStopped(f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}") from None
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"  # as jupyter nbconvert writes it


def save(root, path, text):
    """Replace the notebook in one step, so an interruption leaves the old one or the new one whole."""
    part = root / f"{path}.part"
    part.write_text(text, encoding="utf-8")
    os.replace(part, root / path)


def named_notebooks(root, names):
    """{name: path} for FILE names, or exit 2 naming each one that is not a notebook of FOLDERS."""
    named = {name: generate.repository_path(root, name) for name in names}
    unknown = [
        name
        for name, path in named.items()
        if path is None
        or not path.endswith(".ipynb")
        or path.rsplit("/", 1)[0] not in FOLDERS
        or not (root / path).is_file()
    ]
    for name in unknown:
        print(
            f"error: {name} is not a notebook in notebooks/ or solutions/exercises/ (name it from the "
            "repository, e.g. notebooks/02_softmax_and_loss.ipynb)",
            file=sys.stderr,
        )
    if unknown:
        sys.exit(2)
    return named


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Execute the lessons and solved problem sets with the reference, saving their outputs. "
        "A notebook that holds changes made since this command last executed it stops it (see --force)."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--force",
        action="store_true",
        help="also execute notebooks that hold changes, after copying each under backups/<time>/",
    )
    mode.add_argument(
        "--record",
        action="store_true",
        help="execute nothing: record the notebooks as they are (after executing them another way)",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="only these notebooks (default: all)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    paths = list(dict.fromkeys(named_notebooks(root, args.files).values())) or default_selection(root)

    if args.record:
        record = read_record(root)
        for path in paths:
            record[path] = generate.digest((root / path).read_bytes())
            print(f"recorded: {path}")
        write_record(root, record)
        return 0

    held = holding_changes(root, paths)
    if held and not args.force:
        for path, why in held.items():
            print(f"refused: {path} {why}")
        every = not args.files and len(held) == len(paths)
        command = FORCE if every else f"{FORCE} FILES='{' '.join(held)}'"
        print(
            "Nothing was executed: executing a notebook replaces its outputs and saves it. To execute these "
            f"anyway (each is first copied under {generate.BACKUPS}/), run\n  {command}"
        )
        return 1
    if held:
        print(f"saved the notebooks as they were under {generate.back_up(root, held).relative_to(root)}/")
    for path in paths:
        print(f"executing {path} ...", end=" ", flush=True)
        started = time.monotonic()
        try:
            text = execute(root, path)
        except ExecutionStopped as error:
            print(f"\nerror: {path}: {error}; the notebook was left as it was", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"\ninterrupted: {path} was left as it was", file=sys.stderr)
            return 130
        save(root, path, text)
        record = read_record(root)
        record[path] = generate.digest(text.encode("utf-8"))
        write_record(root, record)  # after each notebook, so an interruption loses no record
        print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
