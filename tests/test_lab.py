"""`make lab`, the README's first command, starts a JupyterLab that serves the lab page.

It failed where the user is root (containers, cloud machines, this project's own machines): Jupyter
refuses root without --allow-root, which the Makefile now adds only then. The test runs the real
target, with the venv of this Python (the one `make` created) and its install step taken as done
(`-o` the stamp: the test must never reinstall), and passes a free port, a random token and
--no-browser through LAB_ARGS. Jupyter's user folders live in tmp_path, so no user state leaks in.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
STARTUP_TIMEOUT = 90  # seconds: the weights check, then JupyterLab, on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_lab(*options: str) -> list[str]:
    return ["make", "lab", f"VENV={VENV}", "-o", f"{VENV}/.installed-lab", *options]


def lab_environment(folder: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # under `make test`: no -B or the like from the outer make
        env.pop(name, None)
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                      ("IPYTHONDIR", "ipython")):
        env[name] = str(folder / sub)
    return env


@pytest.fixture(autouse=True)
def _make():
    if not shutil.which("make"):
        pytest.fail("`make lab` needs make: install it (Debian: apt-get install make)")


def test_make_lab_adds_allow_root_only_for_root():
    # --no-print-directory: under `make test` a nested make would add "make[1]: Leaving directory" lines
    done = subprocess.run([*make_lab("LAB_ARGS=--no-browser"), "-n", "--no-print-directory"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    command = done.stdout.strip().splitlines()[-1].split()
    assert command[:2] == [f"{VENV}/bin/jupyter", "lab"] and "--no-browser" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def test_make_lab_serves_the_lab_page(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    lab_args = (f"LAB_ARGS=--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
                f"--IdentityProvider.token={token}")
    log_path = tmp_path / "lab.log"
    with open(log_path, "w") as log:
        lab = subprocess.Popen(make_lab(lab_args), cwd=ROOT, env=lab_environment(tmp_path), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{url}/lab?token={token}", timeout=10) as response:
                    status, page = response.status, response.read().decode()
                break
            except OSError:
                if lab.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"`make lab` did not serve {url}/lab:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        assert status == 200 and "<title>JupyterLab</title>" in page and "jupyter-config-data" in page
        with pytest.raises(urllib.error.HTTPError, match="403"):  # the token from LAB_ARGS is in force
            urllib.request.urlopen(f"{url}/api/status", timeout=10)
    finally:
        stop(lab)


def stop(process: subprocess.Popen) -> None:
    """Terminate make and the JupyterLab it started (one process group); kill what is left after 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        process.poll()  # reap make, so only live processes keep the group
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
