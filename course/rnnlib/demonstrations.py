"""Demonstrations that need a later exercise: run with the reference in the full course, shown as they ran
when the student edition was made in the edition, which has no reference (tools/release.py).

A lesson wraps such a demonstration in ``demonstration(name, run, needs)``: lesson 07 trains a GRU before
its backward pass (lesson 08) is written, problem set 04 trains with Adam before lesson 09. In the full
course ``run()`` runs; ``make release`` runs it once more and saves what it returned and printed under
course/demonstrations/, and the edition gives that back, saying so.
"""

import contextlib
import io
import os
import pickle
import re
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "demonstrations"  # course/demonstrations/


def demonstration(name, run, needs):
    """What ``run()`` returns (and prints). ``needs``: the later exercises it needs, to say so."""
    from . import REFERENCE_DIR

    path = FOLDER / f"{_slug(name)}.pickle"
    if not REFERENCE_DIR.is_dir():  # the student edition
        with open(path, "rb") as file:
            saved = pickle.load(file)
        print(
            f"[{name}: needs {needs}, so this edition shows it as it ran with the reference when the edition "
            "was made]"
        )
        sys.stdout.write(saved["printed"])
        return saved["result"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(_Both(sys.stdout, printed)):
        result = run()
    folder = os.environ.get("RNNLIB_SAVE_DEMONSTRATIONS")  # set by make release
    if folder:
        with open(Path(folder) / path.name, "wb") as file:
            pickle.dump({"result": result, "printed": printed.getvalue()}, file)
    return result


def _slug(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class _Both(io.TextIOBase):
    """Writes to two streams: the notebook's, and the copy make release saves."""

    def __init__(self, *streams):
        self.streams = streams

    @property
    def encoding(self):  # tqdm draws its bar in block characters on a UTF-8 stream
        return getattr(self.streams[0], "encoding", None) or "utf-8"

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()
