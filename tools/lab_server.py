"""Start the exact command `make lab` runs, headless on a free loopback port, and stop it reliably.

Shared by the tests that talk to JupyterLab (test_lab.py over HTTP, test_browser.py through Chromium)
and by tools/screenshots.py.
"""

import contextlib
import json
import os
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# urllib would send even a loopback request through an http_proxy from the environment; no proxies.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Settings a test's JupyterLab starts with, in a settings folder of its own (never the user's):
# nothing is ever saved into the course's notebooks, every cell is laid out in the page (JupyterLab's
# default, content-visibility, skips the layout of cells out of view, so their equations measure wrong),
# a notebook's kernel stops when it is closed, and no notification asks about news over the picture.
TEST_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "kernelShutdown": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def lab_command():
    """The command `make lab` runs, read from the Makefile so that the tests follow it.

    -o leaves the environment target alone, so only the lab recipe is printed, never an install.
    """
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "lab"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, f"make -n lab should print one command, got:\n{done.stdout}"
    return shlex.split(lines[0])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with HTTP.open(url, timeout=5) as response:
        return json.load(response)


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen
    log: Path
    runtime_dir: Path  # the server's connection file and open-in-browser pages


def _write_settings(folder):
    for plugin, values in TEST_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_until_up(lab, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {lab.process.returncode}:\n{lab.log.read_text()}")
        try:
            return get_json(f"{lab.url}/api/status")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)
    raise AssertionError(f"JupyterLab did not answer within {seconds} s:\n{lab.log.read_text()}")


@contextlib.contextmanager
def running_lab(workdir, args=(), env=None, seconds=60):
    """`make lab`'s server on 127.0.0.1 with no token, its files under `workdir`; stopped on exit.

    For tests only: no browser, a free loopback port, no token (the test's clients do not log in).
    `args` are added to the command line, `env` to the environment.
    """
    workdir = Path(workdir)
    port = free_port()
    headless = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
    ]
    settings, workspaces = workdir / "lab-settings", workdir / "lab-workspaces"
    _write_settings(settings)
    workspaces.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **(env or {}),
        "JUPYTER_RUNTIME_DIR": str(workdir),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
    }
    log = workdir / "lab.log"
    with log.open("w") as out:
        command = lab_command() + headless + list(args)
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", process, log, workdir)
    try:
        _wait_until_up(lab, seconds)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
