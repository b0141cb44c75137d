"""Open anywhere (issue 25): a built wheel, installed without -e away from the clone, carries the images, the
shipped networks and the notebooks, and the notebooks run from a folder of their own.

The wheel is built from a copy of the project (so no build/ lands in the clone) and installed with --no-deps
into a fresh venv whose site-packages reaches the project venv's through a .pth line: the dependencies come
from there, in seconds, while `stylelib` itself is the wheel's (the project venv's editable hook lives in a
.pth file of its own folder, which Python reads only for its own site-packages).
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import stylelib as sl
from stylelib import resources

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("pyproject.toml", "README.md", "stylelib", "data", "notebooks")
NOTEBOOK = "04_total_variation.ipynb"  # short at the quick tier, and it loads images and optimises


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in PROJECT_FILES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                            if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out)], check=True)
    return next(out.glob("stylelib-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The python of a fresh venv holding the wheel (and reaching the project venv's dependencies)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", purelib, str(wheel)], check=True)
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STYLELIB_DATA")}
    return subprocess.run([str(python), *args], cwd=cwd, env={**env, "STYLELIB_MODE": "quick", "MPLBACKEND": "Agg"},
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_the_data_the_networks_and_the_notebooks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"stylelib/data/{p.relative_to(ROOT / 'data')}" for p in (ROOT / "data").rglob("*") if p.is_file()}
    notebooks = {f"stylelib/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert shipped - names == set() and notebooks - names == set()
    assert "stylelib/notebooks/TEACHING.md" in names and "stylelib/data/ATTRIBUTION.md" in names


def test_installed_away_from_the_clone_it_finds_its_images_and_networks(installed, tmp_path):
    where = run(installed, "-c", "import stylelib, stylelib.images as i; print(stylelib.__file__); print(i.DATA_DIR)",
                cwd=tmp_path)
    package, data = where.stdout.split()
    assert not package.startswith(str(ROOT)) and data == str(Path(package).parent / "data"), where.stderr
    listed = run(installed, "-m", "stylelib", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for kind, names in sl.catalog().items():
        assert f"{kind}: {', '.join(names)}" in listed.stdout
    assert "starry_night" in listed.stdout.split("trained networks")[1]
    made = run(installed, "-m", "stylelib", "fast", "cat", "--model", "starry_night", "-o", "out.png", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert sl.load_image(tmp_path / "out.png").shape[-2:] == sl.load_image(sl.images.find("cat")).shape[-2:]


def test_the_copied_notebooks_run_with_nothing_around_them(installed, tmp_path):
    copied = run(installed, "-m", "stylelib", "notebooks", "nb", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert sorted(p.name for p in (tmp_path / "nb").iterdir()) == sorted(
        [p.name for p in (ROOT / "notebooks").glob("*.ipynb")] + ["TEACHING.md"])
    again = run(installed, "-m", "stylelib", "notebooks", "nb", cwd=tmp_path)
    assert again.returncode == 1 and "already in nb" in again.stderr and again.stderr.count("\n") == 1
    # the kernel is this venv's python (the native kernel runs the client's own interpreter)
    executed = run(installed, "-c", "import nbformat, sys; from nbclient import NotebookClient\n"
                   f"nb = nbformat.read('nb/{NOTEBOOK}', as_version=4)\n"
                   "nb.cells.append(nbformat.v4.new_code_cell('import stylelib; print(stylelib.__file__)'))\n"
                   "NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': 'nb'}})"
                   ".execute()\n"
                   "print(nb.cells[-1].outputs[0].text)", cwd=tmp_path)
    assert executed.returncode == 0, executed.stderr[-2000:]
    assert not executed.stdout.strip().startswith(str(ROOT))  # the kernel ran the wheel's stylelib


def test_notebooks_are_never_copied_over_a_users_files(tmp_path):
    mine = tmp_path / NOTEBOOK
    mine.write_text(json.dumps({"mine": True}))
    with pytest.raises(sl.ImageError, match="already in .*--overwrite"):
        resources.copy_notebooks(tmp_path)
    assert json.loads(mine.read_text()) == {"mine": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == [NOTEBOOK]  # nothing else was written either
    copied = resources.copy_notebooks(tmp_path, overwrite=True)
    assert json.loads(mine.read_text())["cells"] and len(copied) == len(list(tmp_path.iterdir()))
