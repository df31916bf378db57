"""Check your work: the check of every exercise on your rnnlib/, and your answers to the problem sets.

    python tools/check.py        # every lesson's exercises and every problem set   (make check)
    python tools/check.py 02     # lesson 02's exercises and problem set 02, if any (make check L=02)

An exercise's check here is the very function its lesson's check cell calls (course/rnnlib/lesson_checks/),
so the two always agree; the lessons' demonstrations (training runs) are not run. Output printed by your
own code is not a failure. Problem sets (exercises/NN_*.ipynb, with your answers in them) are executed
and their check cells reported beside; they do not decide the exit status, which is 0 exactly when
every exercise of the selected lessons passes.
"""

import contextlib
import io
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK_MARK = "#NBVAL_CHECK_OUTPUT"
TITLE = re.compile(r'with check\("([^"]+)"\)')


def run_exercises(lesson):
    """[(title, message)] for the exercises of ``lesson`` (all if None); message is None when it passed."""
    from rnnlib.lesson_checks import EXERCISES, check_exercise

    results = []
    for number in EXERCISES:  # in the order of the lessons
        title = EXERCISES[number][0]
        if lesson is not None and int(number.split(".")[0]) != lesson:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the ✓ line, and whatever your code prints
                check_exercise(number)
            results.append((title, None))
        except Exception as error:
            results.append((title, f"{type(error).__name__}: {error}"))
    return results


def kernel_config():
    """The configuration of a notebook client whose kernel does not warn about plain TCP.

    Over plain TCP, ipykernel warns on its stderr that the connection can be eavesdropped, once per
    notebook. Asked to, the kernel manager gives the kernel CurveZMQ keys when its kernelspec declares
    support ("auto"). Older jupyter_client versions do not know the setting, and a pyzmq built without
    CurveZMQ refuses it: those keep plain TCP. The kernel's stderr is still shown, so its real errors are too.
    """
    import zmq
    from jupyter_client import KernelManager
    from traitlets.config import Config

    config = Config()
    if zmq.has("curve") and "transport_encryption" in KernelManager.class_trait_names():
        config.KernelManager.transport_encryption = "auto"
    return config


def run_problem_set(path):
    """[(title, message)] for the check cells of one problem set, executed as you left it."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        config=kernel_config(),
    )
    client.execute()
    results = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        error = next((o for o in cell.outputs if o.output_type == "error"), None)
        message = None if error is None else f"{error.ename}: {error.evalue}"
        if cell.source.startswith(CHECK_MARK):
            found = TITLE.search(cell.source)
            results.append((found[1] if found else f"cell {number}", message))
        elif message and error.ename != "ExerciseNotDone":  # a demonstration stopped by something else
            results.append((f"cell {number} (not a check) stopped", message))
    return results


def report(heading, results):
    print(heading)
    for title, message in results:
        print(f"  {'✗' if message else '✓'} {title}")
        if message:
            print(f"      {message}")
    return sum(message is None for _, message in results)


def main(argv):
    if len(argv) > 1 or (argv and not argv[0].isdigit()):
        sys.exit(__doc__)
    lesson = int(argv[0]) if argv else None
    pattern = f"{lesson:02d}_*.ipynb" if lesson is not None else "[0-9][0-9]_*.ipynb"
    if lesson is not None and not list((ROOT / "notebooks").glob(pattern)):
        sys.exit(f"No lesson matches {argv[0]!r}: use a lesson number such as 02 (see notebooks/).")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    exercises = run_exercises(lesson)
    passed = report("Your exercises" + (f" of lesson {lesson:02d}" if lesson is not None else ""), exercises)
    if not exercises:
        print("  (this lesson has no exercise)")
    for path in sorted((ROOT / "exercises").glob(pattern)):
        print()
        results = run_problem_set(path)
        report(f"Problem set {path.stem}", results)
        checks = [title for title, _ in results if not title.endswith("stopped")]
        print(f"  {sum(m is None for t, m in results if t in checks)} of {len(checks)} problem checks pass.")
    print(f"\n{passed} of {len(exercises)} exercises pass.")
    return 0 if passed == len(exercises) else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # the reader left (make check | head): what it read was all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        sys.exit(0)
