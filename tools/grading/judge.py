"""The judge: runs one check with the instructor's checks and reference, and decides its verdict.

    python -m tools.grading.judge STAGE ITEM [--variant N]

ITEM is an exercise ("3.2") or a problem ("07_gru_problems:2"). The judge starts the worker in the
sandbox on the student's files in STAGE and runs the very check ``make check`` runs, in this process, with
the student's modules standing in as proxies (``rnnlib.rnn`` here is the worker's module, reached through
the wire): every call the check makes to the student's code runs in the worker, every expectation is
decided here. So nothing the student's code does, patching the checks, printing a ✓ line, writing files,
reaches the verdict. It prints one line of JSON: {"verdict": "pass" | "fail" | "not done", "message": ...}.

``--variant N`` (N > 0) runs the check on other random inputs (the hidden checks, tools/grading/points.csv).
"""

import argparse
import ast
import contextlib
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

from tools.grading import sandbox, wire

ROOT = sandbox.ROOT
STUDENT_MODULES = tuple(
    sorted(p.stem for p in (ROOT / "solutions" / "rnnlib").glob("*.py") if p.stem != "__init__")
)
# The packages whose functions and classes the worker may be handed: the reference's and the course's.
_OURS = ("_rnnlib_reference", "rnnlib")


class RemoteModule(types.ModuleType):
    """``rnnlib.<name>`` in the judge: the student's module in the worker, imported there on first use (so a
    module that does not import fails only the checks that use it, with the student's error)."""

    def __init__(self, name, peer):
        super().__init__(f"rnnlib.{name}")
        self.__dict__["_peer"], self.__dict__["_remote"] = peer, None
        self.__dict__["__file__"] = (
            f"rnnlib/{name}.py"  # as an error names it ("cannot import name ... from")
        )

    def _module(self):
        if self.__dict__["_remote"] is None:
            peer = self.__dict__["_peer"]
            self.__dict__["_remote"] = peer.request("import", self.__name__.split(".", 1)[1])[0]
        return self.__dict__["_remote"]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._module(), name)

    def __setattr__(self, name, value):  # a check that swaps in a reference function (12.7's tape)
        setattr(self._module(), name, value)


def _guard(owner, name, value):
    """Refuse to hand the worker anything but the reference's and the course's own functions, classes and
    their objects, and data: no private attribute (``__globals__``, ``__code__``), no module, nothing of
    another package (``np.load``, which would read the reference's files from this process)."""
    if name.startswith("_"):
        raise AttributeError(f"{name} is not handed to a submission")
    if name == "[]":
        value = owner
    if isinstance(value, types.ModuleType):
        raise AttributeError(f"the module {name} is not handed to a submission")
    if not _ours_or_data(value):
        raise AttributeError(f"{name} is not handed to a submission")


def _ours_or_data(value):
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_ours_or_data(v) for v in value)
    if isinstance(value, dict):
        return all(_ours_or_data(k) and _ours_or_data(v) for k, v in value.items())
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic, np.dtype, np.random.Generator)):
        return not getattr(value, "dtype", np.dtype(float)).hasobject
    if isinstance(value, type) and issubclass(value, np.generic):
        return True
    function = getattr(value, "__func__", value)  # a bound method: its function
    module = getattr(function, "__module__", None) if callable(value) else type(value).__module__
    return isinstance(module, str) and module.split(".")[0] in _OURS


@contextlib.contextmanager
def worker(stage):
    """A running worker on ``stage``, and the judge's end of the wire to it."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    command = sandbox.worker_command(stage)
    # The worker's ends are its fds 3 and 4: bwrap hands inherited descriptors to what it runs.
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(3, 4),
        preexec_fn=lambda: _as_fds_3_and_4(to_worker_r, from_worker_w),
        env=sandbox.environment(),
    )
    os.close(to_worker_r)
    os.close(from_worker_w)
    peer = wire.Peer(from_worker_r, to_worker_w, root=ROOT, guard=_guard)
    try:
        yield peer
    finally:
        os.close(to_worker_w)
        os.close(from_worker_r)
        process.kill()
        process.wait()


def _as_fds_3_and_4(reader, writer):
    reader, writer = os.dup(reader), os.dup(writer)  # above 4, so neither dup2 below overwrites the other
    os.dup2(reader, 3)
    os.dup2(writer, 4)


def install(peer):
    """Make ``rnnlib``'s student modules in this process the worker's, before anything imports them."""
    os.environ.pop("RNNLIB", None)  # the package's own folder for its __init__: the proxies are put first
    import rnnlib

    for name in STUDENT_MODULES:
        module = RemoteModule(name, peer)
        sys.modules[module.__name__] = module
        rnnlib.__dict__[name] = module


def run_exercise(number, variant):
    from rnnlib.lesson_checks import check_exercise, shared

    shared.VARIANT = variant
    check_exercise(number)


def run_problem(peer, item):
    """A problem's check: the check cell of the instructor's copy of the problem set, read here (every one
    is ``with check(title): check_problem(set, number, answer, ...)``), run on the answers it names, looked
    up in what the student's cells before it defined in the worker."""
    from rnnlib.checks import check
    from rnnlib.problem_checks import check_problem
    from tools import check as check_tool

    problem_set, number = item.split(":")
    cells = json.loads((ROOT / "exercises" / f"{problem_set}.ipynb").read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    cells = [(i, *check_cell(source, check_tool.CHECK_MARK)) for i, source in enumerate(sources)]
    found = [(i, title, call) for i, title, call in cells if call and call[:2] == [problem_set, int(number)]]
    if not found:
        raise KeyError(f"{problem_set} has no check cell of problem {number}")
    ((index, title, call),) = found
    namespace = peer.request("problem set", f"exercises/{problem_set}.ipynb", list(range(index)))[0]

    def answer(name):
        if not namespace.has(name):
            raise NameError(f"name {name!r} is not defined")
        return namespace.lookup(name)

    with check(title):
        check_problem(problem_set, int(number), *(answer(name) for name in call[2:]))


def check_cell(source, mark):
    """(title, [set, number, answer names...]) of a problem set's check cell, (None, None) for another."""
    if not source.startswith(mark):
        return None, None
    (statement,) = ast.parse(source).body
    title = statement.items[0].context_expr.args[0].value
    arguments = statement.body[0].value.args
    return title, [arguments[0].value, arguments[1].value, *(a.id for a in arguments[2:])]


def verdict(run):
    """{"verdict", "message"} of running ``run()``: the one line ``make check`` would print."""
    from rnnlib.checks import CheckFailed, ExerciseNotDone, describe, not_done

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            run()
    except ExerciseNotDone as error:
        return {"verdict": "not done", "message": f"ExerciseNotDone: {error}"}
    except CheckFailed as error:
        return {"verdict": "fail", "message": f"CheckFailed: {error}"}
    except NotImplementedError as error:
        unfinished = not_done(error)
        if unfinished is not None:
            return {"verdict": "not done", "message": f"ExerciseNotDone: {unfinished}"}
        return {"verdict": "fail", "message": f"your code raised {describe(error)}"}
    except wire.PeerGone:
        return {"verdict": "fail", "message": "the submission's process ended while the check ran"}
    except Exception as error:  # noqa: BLE001 - whatever it is, it is this exercise's verdict
        return {"verdict": "fail", "message": f"{type(error).__name__}: {error}"}
    return {"verdict": "pass", "message": ""}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", type=Path)
    parser.add_argument("item")
    parser.add_argument("--variant", type=int, default=0)
    args = parser.parse_args(argv)
    with worker(args.stage) as peer:
        install(peer)
        if ":" in args.item:
            result = verdict(lambda: run_problem(peer, args.item))
        else:
            result = verdict(lambda: run_exercise(args.item, args.variant))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
