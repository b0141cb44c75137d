"""The stored notebooks follow the series' conventions (nbval then runs them; this checks the files).

Outputs are stripped except in `# NBVAL_CHECK_OUTPUT` cells, which must keep a text output and an
execution count: without them nbval compares nothing and passes, or fails as an unrun reference.
"""
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CORE = ("01_", "02_", "03_", "04_")  # the core series: exercises, summary and references required
MARK = "# NBVAL_CHECK_OUTPUT"
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution\s*</summary>.*?```python\n(.*?)```.*?</details>", re.S)


def _checked(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(MARK)


def _ids(paths):
    return [p.name for p in paths]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4, "the core notebooks 01-04 are missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_only_checked_cells_keep_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if _checked(cell):
            assert cell.execution_count is not None, f"{path.name} cell {index}: checked cell lost its execution count"
            assert cell.outputs, f"{path.name} cell {index}: checked cell has no stored output to compare against"
            kinds = {o.output_type for o in cell.outputs}
            assert kinds <= {"stream", "execute_result"}, f"{path.name} cell {index}: checked cell stores {kinds}"
        else:
            assert not cell.outputs, f"{path.name} cell {index}: outputs stored in an unchecked cell"
            assert cell.execution_count is None, f"{path.name} cell {index}: stray execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_header_and_quick_mode_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_md.source.startswith("# ") and "Learning objectives" in first_md.source
    assert "import stylelib as sl" in first_code.source and "print(sl.describe())" in first_code.source
    assert nb.cells.index(first_code) <= 2, "the describe() cell belongs near the top"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"\bif\s+(sl\.)?quick\b", cell.source), "use sl.pick(), not `if quick:`"


CORE_NOTEBOOKS = [p for p in NOTEBOOKS if p.name.startswith(CORE)]


@pytest.mark.parametrize("path", CORE_NOTEBOOKS, ids=_ids(CORE_NOTEBOOKS))
def test_core_notebooks_have_exercises_summary_and_references(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    exercises = [i for i, s in enumerate(markdown) if re.match(r"### Exercise \d+: ", s)]
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, at least 3 wanted"
    for i in exercises:  # each exercise is followed by its revealable, self-checking solution
        solution = SOLUTION.search(markdown[i + 1])
        assert solution, f"{path.name}: exercise without a <details> solution after it: {markdown[i][:60]!r}"
        assert "assert " in solution.group(1), f"{path.name}: solution does not check itself"
    text = "\n".join(markdown)
    assert "## Summary" in text and "## References" in text
    references = text.split("## References", 1)[1]
    assert len(re.findall(r"\((?:19|20)\d\d\)", references)) >= 3, "references need authors and years"
    assert "$$" in text, "math in LaTeX next to the code"
