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
    exercises = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and re.match(r"### Exercise \d+: ", c.source)]
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, at least 3 wanted"
    for i in exercises:  # each is followed by its answer cell and its autograded check (tests/test_exercises.py)
        following = [c.metadata.get("nbgrader", {}) for c in nb.cells[i + 1 : i + 3]]
        assert [m.get("solution") for m in following] == [True, False] and following[1].get("grade"), \
            f"{path.name}: exercise without an nbgrader answer and check cell after it: {nb.cells[i].source[:60]!r}"
    text = "\n".join(markdown)
    assert "## Summary" in text and "## References" in text
    references = text.split("## References", 1)[1]
    assert len(re.findall(r"\((?:19|20)\d\d\)", references)) >= 3, "references need authors and years"
    assert "$$" in text, "math in LaTeX next to the code"


# --- the notebooks use only the public surface of stylelib ----------------------------------------

def _code_cells(path) -> list[str]:
    """Code cells (exercise answers and checks included), without IPython magics (so that `ast` can read them)."""
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    return ["\n".join(line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))) for cell in code]


def _private_uses(tree, sl) -> list[str]:
    """Names reached through stylelib that are not in `sl.__all__` or their public module's `__all__`."""
    import ast

    public = {name: getattr(sl, name) for name in sl.__all__ if type(getattr(sl, name)).__name__ == "module"}
    bound, wrong = {}, []  # local name → the stylelib namespace it stands for (the package or a module)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update({a.asname or a.name: sl for a in node.names if a.name == "stylelib"})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stylelib"):
            space = sl if node.module == "stylelib" else public.get(node.module.split(".")[1])
            for alias in node.names:
                if space is None or alias.name not in space.__all__:
                    wrong.append(f"{node.module}.{alias.name}")
                elif space is sl and alias.name in public:
                    bound[alias.asname or alias.name] = public[alias.name]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            space = bound[node.value.id]
            if node.attr not in space.__all__:
                wrong.append(f"{node.value.id}.{node.attr}")
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and bound.get(node.value.value.id) is sl
                and node.value.attr in public and node.attr not in public[node.value.attr].__all__):
            wrong.append(f"{node.value.value.id}.{node.value.attr}.{node.attr}")
    return wrong


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebooks_use_only_the_public_surface(path):
    """`sl.X` for X in stylelib.__all__, `module.X` for a public module and X in its __all__ (issue 10)."""
    import ast

    import stylelib as sl

    tree = ast.parse("\n".join(_code_cells(path)))
    wrong = _private_uses(tree, sl)
    assert not wrong, f"{path.name} uses names outside stylelib's public surface: {sorted(set(wrong))}"


def test_the_surface_check_catches_private_names():
    import ast

    import stylelib as sl

    code = ("import stylelib as sl\nfrom stylelib import transfer, measure\nfrom stylelib.multiscale import _x\n"
            "sl.stylize\nsl._secret\nsl.images.resize_tensor\nsl.images.open_rgb\nmeasure.psnr\nmeasure._y\n")
    assert sorted(_private_uses(ast.parse(code), sl)) == ["measure._y", "sl._secret", "sl.images.open_rgb",
                                                         "stylelib.multiscale._x", "stylelib.transfer"]
