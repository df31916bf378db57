"""The sandbox a submission's code runs in: bubblewrap (bwrap), the namespaces tool Flatpak runs apps in.

The worker sees a filesystem of its own, made of read-only views of what Python needs (the system's
libraries, the Python installation and the course's environment), the course's own modules, the student's
files and an empty /tmp, and nothing else: not the reference, not the instructor's checks, not another
student's submission, not the grades. It has no network, its own process tree (gone when the judge goes),
no capabilities, and limits on memory, file size and processes (set by the worker before it imports the
student's code).
"""

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSIDE = "/submission"  # the student's course inside the sandbox: rnnlib/ (theirs), course/rnnlib/ (ours)
GRADER = "/grader"  # the worker's own code inside the sandbox


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make namespaces on this machine."""


def worker_command(stage):
    """The command that starts the worker on the student's files in ``stage`` (a folder with rnnlib/ and,
    for a problem set, exercises/): bwrap's options, then the worker."""
    here = Path(__file__).resolve().parent
    python = Path(sys.executable)
    command = [_bwrap(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    # The empty /tmp first: bwrap mounts in order, so a view bound below it (an environment made in /tmp,
    # as CI's clone is) must come after it or be hidden by it.
    command += ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    command += ["--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp"]
    command += ["--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1"]
    command += ["--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    for system in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/alternatives"):
        command += ["--ro-bind-try", system, system]
    for prefix in {sys.base_prefix, sys.prefix}:  # the Python installation and the course's environment
        command += ["--ro-bind", prefix, prefix]
    if not str(python).startswith((sys.prefix, sys.base_prefix)):
        command += ["--ro-bind", str(python.parent), str(python.parent)]
    command += ["--tmpfs", INSIDE, "--ro-bind", str(Path(stage) / "rnnlib"), f"{INSIDE}/rnnlib"]
    command += ["--ro-bind-try", str(Path(stage) / "exercises"), f"{INSIDE}/exercises"]
    command += ["--ro-bind", str(ROOT / "course" / "rnnlib"), f"{INSIDE}/course/rnnlib"]
    for name in ("wire.py", "worker.py"):
        command += ["--ro-bind", str(here / name), f"{GRADER}/{name}"]
    command += ["--chdir", INSIDE, str(python), "-I", "-B", f"{GRADER}/worker.py"]
    return command


@cache
def _bwrap():
    """bwrap's path, once it has shown that it can make its namespaces here."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "grading runs each submission in a bubblewrap sandbox, and bwrap is not installed "
            "(apt-get install bubblewrap)"
        )
    trial = subprocess.run(
        [path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
        capture_output=True,
        text=True,
    )
    if trial.returncode != 0:
        raise SandboxUnavailable(
            f"bwrap cannot make its namespaces on this machine ({trial.stderr.strip() or trial.returncode}); "
            "user namespaces must be allowed (sysctl kernel.unprivileged_userns_clone=1, or run as root)"
        )
    return path


def environment():
    """The environment the judge starts the worker with (bwrap clears it inside)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
