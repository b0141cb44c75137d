"""Every notebook's exercises follow the nbgrader pattern (issue 12); the files are checked here, statically.

Each exercise is a prompt (markdown, locked), an answer cell (code, `solution`, the instructor's answer
between `### BEGIN SOLUTION` and `### END SOLUTION`) and an autograded check cell (code, `grade`, with
points). The check cells RUN in nbval: `make test` executes every instructor notebook, solutions and checks
included, so an exercise whose check fails on its own solution fails the suite. tests/test_assignments.py
generates the student versions and runs them.
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CORE = ("01_", "02_", "03_", "04_")  # the core series: at least three autograded exercises each
KINDS = {  # the nbgrader metadata of each kind of exercise cell
    "prompt": ("markdown", {"grade": False, "solution": False, "locked": True}),
    "answer": ("code", {"grade": False, "solution": True, "locked": False}),
    "check": ("code", {"grade": True, "solution": False, "locked": True}),
}


def _ids(paths):
    return [p.name for p in paths]


def nbgrader_cells(path):
    """(index, cell, its nbgrader metadata) of every cell that has some."""
    nb = nbformat.read(path, as_version=4)
    return [(i, c, c.metadata["nbgrader"]) for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata]


def check_cells(path):
    return [(i, c, m) for i, c, m in nbgrader_cells(path) if m.get("grade") and c.cell_type == "code"]


def assert_messages(source: str) -> list:
    """The messages of the `assert condition, message` statements of a cell (None where one has none)."""
    return [node.msg for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert)]


CORE_NOTEBOOKS = [p for p in NOTEBOOKS if p.name.startswith(CORE)]


@pytest.mark.parametrize("path", CORE_NOTEBOOKS, ids=_ids(CORE_NOTEBOOKS))
def test_core_notebooks_have_three_autograded_exercises(path):
    checks = check_cells(path)
    assert len(checks) >= 3, f"{path.name}: {len(checks)} autograded exercises, at least 3 wanted"
    assert all(m.get("points", 0) > 0 for _, _, m in checks)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_grade_ids_are_unique_and_follow_the_pattern(path):
    prefix = path.name.split("_", 1)[0]
    ids = [m.get("grade_id") for _, _, m in nbgrader_cells(path)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{path.name}: grade_ids used twice: {duplicates}"
    wrong = [i for i in ids if not re.fullmatch(rf"{re.escape(prefix)}-ex\d+-\w+", i or "")]
    assert not wrong, f"{path.name}: grade_ids not of the form {prefix}-ex<k>-<kind>: {wrong}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_each_exercise_is_prompt_answer_check(path):
    """Prompt, answer and check cells, in this order, with nbgrader's metadata for each kind."""
    nb = nbformat.read(path, as_version=4)
    prompts = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and re.match(r"### Exercise \d+: ", c.source)]
    for i in prompts:
        k = re.match(r"### Exercise (\d+): ", nb.cells[i].source).group(1)
        for offset, kind in enumerate(("prompt", "answer", "check")):
            cell = nb.cells[i + offset] if i + offset < len(nb.cells) else None
            where = f"{path.name} exercise {k} {kind} cell"
            assert cell is not None and "nbgrader" in cell.metadata, f"{where}: missing or without nbgrader metadata"
            meta, (cell_type, flags) = cell.metadata["nbgrader"], KINDS[kind]
            assert cell.cell_type == cell_type, f"{where}: a {cell.cell_type} cell, {cell_type} expected"
            assert {key: meta.get(key) for key in flags} == flags, f"{where}: nbgrader metadata {meta}"
            assert meta.get("grade_id", "").endswith(f"-ex{k}-{kind}"), f"{where}: grade_id {meta.get('grade_id')}"
            assert meta.get("schema_version") == 3
        answer = nb.cells[i + 1].source
        assert "### BEGIN SOLUTION" in answer and "### END SOLUTION" in answer, f"{path.name} exercise {k}: no solution region"
    checks = check_cells(path)
    assert len(checks) == len(prompts), f"{path.name}: {len(checks)} check cells for {len(prompts)} exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_check_cells_have_points_and_say_what_is_wrong(path):
    """Every check cell is worth points and asserts with a message (the sentence a student alone reads)."""
    for index, cell, meta in check_cells(path):
        where = f"{path.name} cell {index} ({meta.get('grade_id')})"
        assert meta.get("points", 0) > 0, f"{where}: an autograded cell without points"
        messages = assert_messages(cell.source)
        assert messages, f"{where}: no assert"
        assert all(m is not None for m in messages), f"{where}: an assert without a message"
        assert re.search(r"print\(.*✔ Exercise \d+", cell.source), f"{where}: no '✔ Exercise k ...' pass line"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_details_solutions_remain(path):
    nb = nbformat.read(path, as_version=4)
    old = [i for i, c in enumerate(nb.cells) if re.search(r"<details>\s*<summary>\s*Solution", c.source)]
    assert not old, f"{path.name} cells {old}: <details> solutions (exercises are nbgrader cells now)"
