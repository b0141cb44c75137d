"""The widgets as a person uses them: JupyterLab in headless Chromium runs notebook 07 and clicks.

A JupyterLab server from this Python (the project's venv) serves a temporary copy of notebooks/
on a free localhost port with a random token and STYLELIB_MODE=quick; Playwright drives Debian's
chromium (`make browser` installs it; `playwright install` cannot download here). The test fails on
any error output in the notebook or error message in a widget, and leaves screenshots of both
widgets in screenshots/ (git-ignored).
"""
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = os.environ.get("STYLELIB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SECOND = 1000  # Playwright counts milliseconds
# Settings that make the page deterministic: every cell rendered (no virtual scrolling), the notebook's
# own kernel started without a "Select Kernel" dialog, no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                   "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}
ALL_CELLS_RUN = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


@contextlib.contextmanager
def offline_page(width: int, height: int, failure: str, harmless: str | None = None):
    """Chromium with one page that refuses and records every http(s) request (a predicate, not a glob:
    Playwright's "http*://**" matches no URL of a file:// page) and collects script errors, except those
    containing `harmless`. Yields (page, refused URLs, errors); on a failure inside, saves the page as
    SCREENSHOTS/`failure` before re-raising; closes the browser either way."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(30 * SECOND)
        refused, errors = [], []
        page.route(lambda url: url.startswith(("http:", "https:")),
                   lambda route: (refused.append(route.request.url), route.abort()))
        page.on("pageerror", lambda error: None if harmless and harmless in str(error) else errors.append(str(error)))
        try:
            yield page, refused, errors
        except Exception:
            page.screenshot(path=SCREENSHOTS / failure)
            raise
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_environment(folder: Path) -> dict:
    """Quick mode, this checkout's stylelib, and Jupyter's user folders inside `folder` (no user state leaks in)."""
    env = {**os.environ, "STYLELIB_MODE": "quick", "JUPYTER_PREFER_ENV_PATH": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as for a user
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                      ("IPYTHONDIR", "ipython")):
        env[name] = str(folder / sub)
    for name, values in LAB_SETTINGS.items():
        path = folder / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab: (base URL, token, notebook folder); shut down with its kernels afterwards."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: run `make browser` (Debian: apt-get install chromium)")
    folder = tmp_path_factory.mktemp("lab")
    notebooks = folder / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "outputs"))
    port, token = free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
        env=server_environment(folder), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, token, notebooks
    finally:
        shut_down(server, url, token)
        log.close()


def shut_down(server: subprocess.Popen, url: str, token: str):
    """Ask the server to stop (it shuts its kernels down), then make sure its whole process group is gone."""
    try:
        request = urllib.request.Request(f"{url}/api/shutdown?token={token}", method="POST")
        urllib.request.urlopen(request, timeout=10)
    except OSError:
        pass
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    try:
        os.killpg(server.pid, signal.SIGKILL)  # a kernel that outlived its server
    except ProcessLookupError:
        pass


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def step_shown(text: str, total: int) -> int:
    """The N in the playground's "step N of M · loss …" line of a run of M = `total` steps, else 0."""
    words = text.split()
    return int(words[1]) if words[:1] == ["step"] and words[3:4] == [str(total)] else 0


def assert_no_errors(page):
    """No error or stderr output in any cell, and no error message in any widget."""
    outputs = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert outputs.count() == 0, "error output in the notebook:\n" + "\n---\n".join(outputs.all_inner_texts())
    messages = page.locator(".stylelib-error")
    assert messages.count() == 0, "error message in a widget: " + " | ".join(messages.all_inner_texts())
    assert page.get_by_text("Loading widget").count() == 0, "a widget was not rendered"


def test_notebook_07_widgets_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    url, token, notebooks = lab
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.set_default_timeout(60 * SECOND)
        try:
            page.goto(f"{url}/lab/tree/07_playground.ipynb?reset&token={token}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for(timeout=120 * SECOND)  # kernel ready

            # Run all cells as a person does: the Run menu
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.wait_for_function(ALL_CELLS_RUN, timeout=180 * SECOND)

            explorer, playground = page.locator(".stylelib-explorer"), page.locator(".stylelib-playground")
            explorer.locator(".stylelib-maps").wait_for()
            playground.get_by_role("button", name="Run").wait_for()
            assert_no_errors(page)

            # Explorer: a new layer redraws the maps at once
            maps = explorer.locator("img.stylelib-maps")
            before = maps.get_attribute("src")
            explorer.locator(".widget-dropdown", has_text="Layer").locator("select").select_option("relu1_1")
            wait_until(lambda: maps.get_attribute("src") != before, 60, "the explorer to redraw for relu1_1")
            assert "relu1_1" in explorer.inner_text()
            explorer.scroll_into_view_if_needed()
            explorer.screenshot(path=SCREENSHOTS / "explorer.png")

            # Playground: Run to the end; the preview changes and the progress bar fills
            preview, status = playground.locator("img.stylelib-preview"), playground.locator(".stylelib-status")
            before = preview.get_attribute("src")
            playground.get_by_role("button", name="Run").click()
            wait_until(lambda: preview.get_attribute("src") != before, 120, "a first preview")
            status.get_by_text("done:").wait_for(timeout=180 * SECOND)
            bar = playground.locator(".widget-hprogress .progress-bar")
            assert bar.evaluate("el => el.style.width") == "100%"
            steps = playground.locator(".widget-slider", has_text="Steps").locator(".widget-readout").inner_text()
            assert f"step {steps} of {steps}" in playground.locator(".stylelib-progress-text").inner_text()

            # Save writes a PNG; a second Save asks instead of overwriting
            saved = notebooks / "outputs" / "playground.png"
            playground.get_by_role("button", name="Save PNG").click()
            playground.locator(".stylelib-save-note").get_by_text("saved").wait_for()
            first = saved.read_bytes()
            assert first.startswith(b"\x89PNG")
            playground.get_by_role("button", name="Save PNG").click()
            playground.locator(".stylelib-save-note").get_by_text("already exists").wait_for()
            assert playground.get_by_role("button", name="Overwrite").is_visible()
            assert saved.read_bytes() == first
            assert_no_errors(page)
            playground.scroll_into_view_if_needed()
            playground.screenshot(path=SCREENSHOTS / "playground.png")

            # Stop: a long run ends within a step of the click and keeps the best image so far
            readout = playground.locator(".widget-slider", has_text="Steps").locator(".widget-readout")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("1000")
            page.keyboard.press("Enter")
            wait_until(lambda: readout.inner_text() == "1000", 30, "the Steps slider to read 1000")
            before = preview.get_attribute("src")
            playground.get_by_role("button", name="Run").click()
            progress_text = playground.locator(".stylelib-progress-text")
            wait_until(lambda: step_shown(progress_text.inner_text(), 1000) >= 2, 120, "two steps of the long run")
            kernel = page.locator(".jp-StatusBar-TextItem", has_text="Python 3")
            assert "| Idle" in kernel.inner_text()  # the run is in a thread: the kernel still takes requests
            playground.get_by_role("button", name="Stop").click()
            status.get_by_text("stopped after").wait_for(timeout=60 * SECOND)
            stopped_at = int(status.inner_text().split("stopped after ")[1].split()[0])
            assert 2 <= stopped_at < 1000
            wait_until(lambda: preview.get_attribute("src") != before, 30, "the best image after Stop")
            assert_no_errors(page)
            playground.screenshot(path=SCREENSHOTS / "playground_stopped.png")

            # Uploads: a text file gives a message in the picker, a photo becomes the content image
            def upload(name: str, data: bytes):
                with page.expect_file_chooser() as chooser:
                    playground.get_by_role("button", name="Upload").first.click()
                chooser.value.set_files(files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])

            upload("notes.txt", b"not a picture")
            playground.locator(".stylelib-error", has_text="notes.txt").wait_for()
            photo = next((ROOT / "data" / "content").glob("cat.*"))
            upload(photo.name, photo.read_bytes())
            playground.locator(".stylelib-done", has_text=f"uploaded {photo.name}").wait_for()
            chosen = playground.locator("select").first.evaluate("el => el.options[el.selectedIndex].text")
            assert chosen.replace("\xa0", " ") == f"upload: {photo.name}"  # ipywidgets shows spaces as nbsp
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        except Exception:
            page.screenshot(path=SCREENSHOTS / "failure.png", full_page=True)
            raise
        finally:
            browser.close()
