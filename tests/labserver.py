"""Start JupyterLab exactly the way `make lab` does, on a temporary copy of the course.

`make -n lab` prints the command without running it. We run that command, word for word,
in a temporary folder holding the Makefile, pyproject.toml and the lesson notebooks, whose
`.venv/bin` is a link to the environment running this code (in CI, the `.venv` that
`make test` built). Only flags that a test needs are appended: a loopback address, a free
port, a token, temporary settings and workspaces, and `window.jupyterapp` for the browser.

Used by tests/test_jupyterlab.py. Run it as a script to check the environment by hand:

    .venv/bin/python tests/labserver.py

prints the seconds the server took to answer, its kernel specs, and what one cell importing
lrcourse, TensorFlow and PyTorch printed in a kernel started through the server.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
CHROMIUM = Path(os.environ.get("LRCOURSE_CHROMIUM", "/usr/bin/chromium"))
# Flags for Chromium as root on a machine without network (no sandbox, no background calls).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]

# JupyterLab settings for a test run. Windowing off: every cell stays in the page, so the
# widget is in the DOM and the screenshot shows the whole notebook. Autosave off: the run
# never writes the outputs back. No news or update checks: the machine has no network.
TEST_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}

IMPORT_CELL = (
    "import sys, lrcourse, tensorflow, torch, keras\n"
    "print(sys.executable)\n"
    "print(lrcourse.__file__)\n"
    "print(tensorflow.__version__, keras.__version__, torch.__version__)"
)


def make_environment() -> dict:
    """Our environment without what a parent `make` or a desktop session would add."""
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def course_copy(destination: Path, *, stamp_fresh: bool = True) -> Path:
    """A course folder for `make`: Makefile, pyproject.toml, the lessons, and a `.venv`.

    ``.venv/bin`` links to the running environment. ``stamp_fresh`` makes `.venv/.installed`
    newer than pyproject.toml (the state after a first `make lab`); otherwise older (the
    state after someone changed the pins).
    """
    course = destination / "course"
    (course / "notebooks").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, course / name)
    for lesson in sorted((ROOT / "notebooks").glob(LESSON_GLOB)):
        shutil.copy2(lesson, course / "notebooks" / lesson.name)
    (course / ".venv").mkdir()
    (course / ".venv" / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    stamp = course / ".venv" / ".installed"
    stamp.touch()
    pyproject_time = (course / "pyproject.toml").stat().st_mtime
    when = pyproject_time + 60 if stamp_fresh else pyproject_time - 3600
    os.utime(stamp, (when, when))
    return course


def make_dry_run(course: Path, target: str = "lab") -> list[str]:
    """The commands `make TARGET` would run in ``course``, one per line (nothing is run)."""
    if shutil.which("make") is None:
        raise FileNotFoundError("`make` is not installed (Debian/Ubuntu: apt-get install make)")
    result = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(course), target],
                            capture_output=True, text=True, env=make_environment(), check=True)
    return [line for line in result.stdout.splitlines() if line.strip()]


def split_command(line: str) -> tuple[dict, list[str]]:
    """Split ``A=1 B=2 prog args`` into ({A: 1, B: 2}, [prog, args]).

    >>> split_command("X=1 Y='a b' .venv/bin/jupyter lab --no-browser")
    ({'X': '1', 'Y': 'a b'}, ['.venv/bin/jupyter', 'lab', '--no-browser'])
    """
    words = shlex.split(line)
    env = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: its URL, token, folders and process."""

    course: Path
    command: str
    url: str
    token: str
    process: subprocess.Popen
    log: Path
    startup_seconds: float = 0.0
    extra_flags: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        """Call the server's REST API; returns the decoded JSON (or None when empty)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def page_url(self, path: str) -> str:
        """The browser URL of a JupyterLab page, with the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.url}{path}{separator}token={self.token}"

    def shutdown_sessions(self) -> None:
        """Stop every notebook session and its kernel."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def run_cell(self, code: str, kernel: str = "python3", timeout: float = 180) -> dict:
        """Start a kernel through the server, run ``code`` in it, stop the kernel.

        Returns {"status": ..., "stdout": ..., "error": ...} from the kernel's messages,
        which travel over the server's websocket as a browser's would.
        """
        import websocket  # websocket-client, a dependency of jupyter_server

        kernel_id = self.api("POST", "/api/kernels", {"name": kernel})["id"]
        try:
            socket_url = (self.url.replace("http://", "ws://")
                          + f"/api/kernels/{kernel_id}/channels?token={self.token}")
            connection = websocket.create_connection(socket_url, timeout=timeout)
            try:
                return _execute(connection, code, timeout)
            finally:
                connection.close()
        finally:
            self.api("DELETE", f"/api/kernels/{kernel_id}")

    def stop(self) -> None:
        """Stop the server and every kernel it started."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def _execute(connection, code: str, timeout: float) -> dict:
    msg_id = uuid.uuid4().hex
    connection.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    result = {"status": None, "stdout": "", "error": ""}
    idle = False
    deadline = time.monotonic() + timeout
    while (result["status"] is None or not idle) and time.monotonic() < deadline:
        message = json.loads(connection.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream" and content["name"] == "stdout":
            result["stdout"] += content["text"]
        elif kind == "error":
            result["error"] = f"{content['ename']}: {content['evalue']}"
        elif kind == "execute_reply":
            result["status"] = content["status"]
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    return result


def start_lab(workdir: Path, *, env: dict | None = None, timeout: float = 120) -> LabServer:
    """Run the `make lab` command in a fresh course copy under ``workdir``; wait until it answers.

    ``env`` is added to the server's environment (kernels inherit it, so this is where
    LRCOURSE_FAST goes).
    """
    course = course_copy(workdir)
    lines = make_dry_run(course)
    if len(lines) != 1:
        raise RuntimeError("with a fresh stamp `make -n lab` should print only the jupyter "
                           "command, but it printed:\n" + "\n".join(lines))
    command = lines[0]
    make_env, argv = split_command(command)
    settings = workdir / "lab-settings"
    for name, values in TEST_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    extra = ["--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", "--no-browser",
             "--LabApp.expose_app_in_browser=True",
             f"--LabApp.user_settings_dir={settings}",
             f"--LabApp.workspaces_dir={workdir / 'lab-workspaces'}"]
    server_env = {**make_environment(), **(env or {}), **make_env}
    log = workdir / "jupyterlab.log"
    start = time.monotonic()
    with open(log, "wb") as log_file:
        process = subprocess.Popen(argv + extra, cwd=course, env=server_env,
                                   stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(course, command, f"http://127.0.0.1:{port}", token, process, log,
                       extra_flags=extra)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            server.api("GET", "/api/status", timeout=5)
            break
        except OSError:
            if time.monotonic() - start > timeout:
                server.stop()
                raise RuntimeError(f"JupyterLab did not answer within {timeout:g} s:\n"
                                   + log.read_text(errors="replace")[-3000:]) from None
            time.sleep(0.2)
    server.startup_seconds = time.monotonic() - start
    return server


def main() -> int:
    """Start the server as `make lab` would, query it, run one cell, print what happened."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lrcourse-lab-") as workdir:
        server = start_lab(Path(workdir))
        try:
            print(f"make -n lab: {server.command}")
            print(f"server answered after {server.startup_seconds:.1f} s at {server.url}")
            specs = server.api("GET", "/api/kernelspecs")
            for name, spec in specs["kernelspecs"].items():
                print(f"kernel spec {name!r}: {spec['spec']['display_name']}"
                      f"{' (default)' if name == specs['default'] else ''}")
            start = time.monotonic()
            result = server.run_cell(IMPORT_CELL)
            print(f"one cell through a kernel ({time.monotonic() - start:.1f} s, "
                  f"status {result['status']}):\n{result['stdout']}{result['error']}")
            return 0 if result["status"] == "ok" else 1
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
