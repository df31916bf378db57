"""The worker: inside the sandbox, imports one student's modules and answers the judge's requests.

Started by the judge as ``bwrap ... python -I -B /grader/worker.py`` with the two ends of the wire as
file descriptors 3 (requests in) and 4 (answers out). Before any of the student's code runs it limits
what the process may take, so a runaway submission costs its own exercise and nothing else.
"""

import importlib
import json
import os
import resource
import sys

import numpy as np  # noqa: F401 - loaded before the student's code, as the checks' process would have it

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # python -I leaves the script's folder out
import wire  # noqa: E402 - found only once the line above has run

SUBMISSION = "/submission"
LIMITS = {
    resource.RLIMIT_AS: 6 << 30,  # memory
    resource.RLIMIT_FSIZE: 64 << 20,  # the largest file it may write (in its /tmp)
    resource.RLIMIT_NPROC: 256,  # processes and threads
    resource.RLIMIT_CORE: 0,
}


class Worker(wire.Peer):
    def extra_request(self, kind, body):
        if kind == "import":
            return importlib.import_module(f"rnnlib.{body[0]}")
        if kind == "problem set":
            return _answers(*body)
        return super().extra_request(kind, body)


def _answers(path, cells):
    """The names a problem set's answer cells define: its code cells numbered ``cells``, run in order in one
    namespace, as the notebook runs them (the check cells are the grader's, not run here). A cell that
    fails is passed over, as a notebook run with errors allowed does: only what depends on it fails."""
    with open(os.path.join(SUBMISSION, path), encoding="utf-8") as file:
        notebook = json.load(file)
    namespace = {"__name__": "__main__"}
    code = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for number in cells:
        source = code[number].get("source", "") if number < len(code) else ""
        source = "".join(source) if isinstance(source, list) else str(source)
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            exec(compile("\n".join(lines), f"{path}, cell {number + 1}", "exec"), namespace)
        except Exception:  # noqa: BLE001, S110 - the student's cell's own failure; its check will say
            pass
    return _Namespace(namespace)


def _without_the_reference():
    """A graded submission has no reference: where the course's notebooks take a finished piece from
    ``rnnlib.reference`` (a problem set's given tools), the student's own module stands in, as in the
    student edition (docs/instructors.md)."""
    import rnnlib

    rnnlib.reference = lambda module: importlib.import_module(f"rnnlib.{module}")


class _Namespace:
    """A problem set's names, looked up one at a time by the judge."""

    def __init__(self, names):
        self.names = names

    def lookup(self, name):
        return self.names[name]

    def has(self, name):
        return name in self.names


def main():
    for limit, value in LIMITS.items():
        resource.setrlimit(limit, (value, value))
    sys.path.insert(0, SUBMISSION)
    _without_the_reference()
    sys.stdout = sys.stderr  # what the student's code prints is not an answer
    worker = Worker(3, 4, root=SUBMISSION)
    try:
        worker.serve()
    except wire.PeerGone:
        pass


if __name__ == "__main__":
    main()
