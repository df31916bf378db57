"""A class on JupyterHub: the edition handed out with nbgitpuller to two users, each checking lesson 01.

A local JupyterHub (dummy logins, each user's server a process of this machine) serves alice and bob. The
instructor's edition is a git repository; each user's nbgitpuller link clones it into their home; alice
answers lesson 01 and bob does not; each runs `tools/check.py 01` in a kernel of their own server. Then the
instructor publishes a correction to a file alice edited, and her next pull keeps her answers
(docs/instructors.md). Run it with `make test-hub`, which installs jupyterhub, nbgitpuller and JupyterHub's
proxy, configurable-http-proxy, from npm; without them (as in make test) the test skips.
"""

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from rnnlib import PROJECT_ROOT

pytest.importorskip("jupyterhub")
pytest.importorskip("nbgitpuller")
PROXY = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
if not PROXY.exists():
    pytest.skip(
        "JupyterHub's proxy (configurable-http-proxy, from npm) is not installed", allow_module_level=True
    )

TOKEN = secrets.token_hex(16)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    edition = root / "edition"
    done = subprocess.run(
        [sys.executable, "tools/release.py", str(edition), "--lessons", "01"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    _git(edition, "init", "-q", "-b", "main")
    _git(edition, "add", "-A")
    _git(edition, "-c", "user.name=instructor", "-c", "user.email=i@example.org", "commit", "-qm", "edition")
    port = _free_port()
    config = root / "jupyterhub_config.py"
    config.write_text(
        f"""
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_port = {_free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.JupyterHub.db_url = "sqlite:///{root}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "{root}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{root}/home/{{username}}"
c.Spawner.cmd = [{str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")!r}]
c.Spawner.args = ["--allow-root"]
c.Spawner.environment = {{"RNNLIB": "", "OPENBLAS_NUM_THREADS": "1"}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "course-test", "api_token": "{TOKEN}"}}]
c.JupyterHub.load_roles = [{{
    "name": "course-test", "services": ["course-test"],
    "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
}}]
"""
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=root,
        env=env,
        stdout=open(root / "hub.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _api(url, "GET", "/hub/api/") is not None, 60, root)
        yield url, edition, root
    finally:
        for user in ("alice", "bob"):
            try:
                _api(url, "DELETE", f"/hub/api/users/{user}/server")
            except Exception:  # noqa: BLE001, S110 - the hub goes down next in any case
                pass
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def _api(url, method, path, body=None):
    request = urllib.request.Request(
        url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
            return json.loads(text) if text else {}
    except urllib.error.URLError:
        return None


def _wait(ready, seconds, root):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    raise AssertionError(f"JupyterHub did not get ready: {(root / 'hub.log').read_text()[-3000:]}")


def _start(url, user, root):
    _api(url, "POST", f"/hub/api/users/{user}")
    _api(url, "POST", f"/hub/api/users/{user}/server")
    _wait(
        lambda: (
            (_api(url, "GET", f"/hub/api/users/{user}") or {}).get("servers", {}).get("", {}).get("ready")
        ),
        120,
        root,
    )


def _git_pull(url, user, edition):
    """What the user's nbgitpuller link does: its API streams the pull's progress until it is done."""
    query = urllib.parse.urlencode({"repo": f"file://{edition}", "branch": "main", "targetpath": "course"})
    request = urllib.request.Request(
        f"{url}/user/{user}/git-pull/api?{query}", headers={"Authorization": f"token {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=300) as stream:
        events = [
            json.loads(line[5:]) for line in stream.read().decode().splitlines() if line.startswith("data:")
        ]
    assert events and events[-1].get("phase") == "finished", events[-3:]


def _run_in_kernel(url, user, code):
    """Run ``code`` in a new kernel of the user's server; return what it printed."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    kernel = _api(url, "POST", f"/user/{user}/api/kernels", {"name": "python3"})
    session, msg_id = uuid.uuid4().hex, uuid.uuid4().hex

    async def talk():
        socket_url = url.replace("http", "ws") + f"/user/{user}/api/kernels/{kernel['id']}/channels"
        headers = {"Authorization": f"token {TOKEN}"}
        connection = await websocket_connect(HTTPRequest(socket_url, headers=headers, connect_timeout=60))
        header = {
            "msg_id": msg_id,
            "session": session,
            "username": user,
            "msg_type": "execute_request",
            "version": "5.3",
        }
        content = {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        await connection.write_message(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                }
            )
        )
        printed = []
        while True:
            message = json.loads(await asyncio.wait_for(connection.read_message(), 300))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            if message["msg_type"] == "error":
                printed.append(f"{message['content']['ename']}: {message['content']['evalue']}")
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                connection.close()
                return "".join(printed)

    try:
        return asyncio.run(talk())
    finally:
        _api(url, "DELETE", f"/user/{user}/api/kernels/{kernel['id']}")


CHECK_LESSON_01 = """
import os, subprocess, sys
done = subprocess.run([sys.executable, "tools/check.py", "01"], cwd=os.path.expanduser("~/course"),
                      capture_output=True, text=True)
print(done.stdout)
"""


def test_two_students_on_jupyterhub_each_check_their_own_lesson_01(hub):
    url, edition, root = hub
    for user in ("alice", "bob"):
        _start(url, user, root)
        _git_pull(url, user, edition)
        assert (root / "home" / user / "course" / "notebooks" / "01_text_as_data.ipynb").is_file()
    answer = PROJECT_ROOT / "solutions" / "rnnlib" / "data.py"
    shutil.copy(answer, root / "home" / "alice" / "course" / "rnnlib" / "data.py")  # alice answers lesson 01
    alice = _run_in_kernel(url, "alice", CHECK_LESSON_01)
    bob = _run_in_kernel(url, "bob", CHECK_LESSON_01)
    assert "4 of 4 exercises pass." in alice, alice
    assert "0 of 4 exercises pass." in bob and "Exercise 1.1 is not done yet" in bob, bob


def test_an_update_from_the_instructor_keeps_a_students_answers(hub):
    url, edition, root = hub
    data = edition / "rnnlib" / "data.py"
    data.write_text(data.read_text() + "\n# A correction the instructor publishes.\n")
    (edition / "README.md").write_text((edition / "README.md").read_text() + "\nUpdated.\n")
    _git(edition, "-c", "user.name=instructor", "-c", "user.email=i@example.org", "commit", "-qam", "update")
    _git_pull(url, "alice", edition)
    home = root / "home" / "alice" / "course"
    assert (home / "README.md").read_text().endswith("Updated.\n")
    # nbgitpuller merges with the student's side winning where both changed a line: her answers stay
    assert "sorted(set(text))" in (home / "rnnlib" / "data.py").read_text()
    assert "4 of 4 exercises pass." in _run_in_kernel(url, "alice", CHECK_LESSON_01)
