"""Every exercise solution in every notebook runs standalone in quick mode and passes its own asserts.

A solution is the ```python block inside a markdown `<details><summary>Solution</summary>` cell. Each
runs in a fresh namespace with the notebook's folder as working directory, as a reader would run it.
"""
import re
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

matplotlib.use("Agg")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution\s*</summary>.*?```python\n(.*?)```.*?</details>", re.S)


def solutions():
    found = []
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        blocks = [m.group(1) for c in nb.cells if c.cell_type == "markdown" for m in SOLUTION.finditer(c.source)]
        found += [pytest.param(path, block, id=f"{path.stem}-solution{k}") for k, block in enumerate(blocks, 1)]
    return found


def test_solutions_exist():
    assert len(solutions()) >= 12, "notebooks 01-04 hold at least three solutions each"


@pytest.mark.parametrize("path, block", solutions())
def test_solution_runs_and_checks_itself(path, block, monkeypatch):
    monkeypatch.setenv("STYLELIB_QUICK", "1")
    monkeypatch.chdir(path.parent)
    assert "assert " in block
    try:
        exec(compile(block, f"{path.name} solution", "exec"), {"__name__": "__solution__"})
    finally:
        plt.close("all")
