"""`make lab` serves the whole course, so lesson 00 can send the student to rnnlib/losses.py."""

import json
import os
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request

from rnnlib import PROJECT_ROOT

# urllib would send even a loopback request through an http_proxy from the environment; no proxies.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _lab_command():
    """The command `make lab` runs, read from the Makefile so that the test follows it.

    -o leaves the environment target alone, so only the lab recipe is printed, never an install.
    """
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "lab"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, f"make -n lab should print one command, got:\n{done.stdout}"
    return shlex.split(lines[0])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with HTTP.open(url, timeout=5) as response:
        return json.load(response)


def _wait_until_up(server, url, log, seconds=40):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()}")
        try:
            return _get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer within {seconds} s:\n{log.read_text()}")


def test_make_lab_serves_the_course_root_and_opens_lesson_00(tmp_path):
    port = _free_port()
    # For the test only: no browser, loopback on a free port, no token (urllib cannot log in).
    headless = [
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
    ]
    # The server's runtime files (connection file, open-in-browser pages) go to tmp_path.
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            _lab_command() + headless, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        api = f"http://127.0.0.1:{port}/api/contents"
        root = _wait_until_up(server, api, log)
        folders = {item["name"] for item in root["content"] if item["type"] == "directory"}
        assert {"notebooks", "rnnlib", "exercises"} <= folders, f"the server's root lists {sorted(folders)}"

        losses = _get(f"{api}/rnnlib/losses.py")
        assert losses["type"] == "file" and "def softmax" in losses["content"]
        welcome = _get(f"{api}/notebooks/00_welcome.ipynb")
        assert welcome["type"] == "notebook" and welcome["content"]["cells"]

        # What the browser is sent to: lesson 00, under the course root.
        pages = [page.read_text() for page in tmp_path.glob("jpserver-*open.html")]
        assert any(f"127.0.0.1:{port}/lab/tree/notebooks/00_welcome.ipynb" in page for page in pages), pages
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
