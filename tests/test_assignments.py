"""The student versions of the notebooks (`make assignments`, issue 12).

A session fixture generates them once, into tmp_path, by the Makefile's own recipe (`make assignments`
with RELEASE and COURSE pointing there), and each student notebook is executed at most once per session,
in quick mode, by the kernel of this Python (nbclient, kernel "python3", as tools/refresh_checked_outputs.py).

What is checked where:
1. no solution reaches a student (test_no_solution_in_student_notebooks);
2. every autograded check passes on the instructor version: nbval in `make test` executes every cell of
   notebooks/, answers and check cells included, so a check that fails on its own solution fails there;
   tests/test_exercises.py checks statically that every check cell has points and asserts with messages;
3. a student notebook left unanswered runs top to bottom and fails exactly its exercises: the answer
   cells with NotImplementedError, the check cells with an AssertionError of one line, nothing else
   (test_unanswered_student_notebook_fails_only_its_exercises);
4. a correct answer typed into a student notebook passes its check (test_correct_answers_pass, on the
   notebooks of FILLED_IN, to keep CI short);
5. the check says what is wrong in one sentence: the one-line AssertionError message of item 3.
"""
import functools
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
FILLED_IN = ("01_feature_maps.ipynb", "02_gram_matrices.ipynb")  # the cheapest notebooks with exercises
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def _ids(paths):
    return [p.name for p in paths]


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """The folder of student notebooks, made by `make assignments` (the venv stamp taken as up to date:
    `make test` has just made it, and this interpreter is the one to use)."""
    out = tmp_path_factory.mktemp("assignments")
    made = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed-teach", "assignments",
                           f"PY={sys.executable}", f"RELEASE={out / 'release'}", f"COURSE={out / 'course'}"],
                          cwd=ROOT, capture_output=True, text=True)
    assert made.returncode == 0, f"make assignments failed:\n{made.stdout[-2000:]}\n{made.stderr[-3000:]}"
    return out / "release"


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _execute(nb):
    """Run `nb` as nbval runs the instructor version: quick mode, Agg, this repository's stylelib, the
    notebooks folder as working directory. Errors stay in the outputs instead of stopping the run."""
    env = {"STYLELIB_MODE": "quick", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    return nb


@functools.lru_cache(maxsize=None)
def _run(student: Path, filled_in: bool):
    """A student notebook executed as released (`filled_in=False`) or with the instructor's answers typed
    into its answer cells; once per session each."""
    nb = nbformat.read(student, as_version=4)
    if filled_in:
        instructor = nbformat.read(NOTEBOOK_DIR / student.name, as_version=4)
        answers = {_meta(c)["grade_id"]: c.source for c in instructor.cells if _meta(c).get("solution")}
        for cell in nb.cells:
            if _meta(cell).get("solution"):
                cell.source = answers[_meta(cell)["grade_id"]]
    return _execute(nb)


def _errors(nb) -> dict:
    return {i: o for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs if o.output_type == "error"}


def test_every_notebook_is_released(release):
    assert sorted(p.name for p in release.glob("*.ipynb")) == _ids(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_solution_in_student_notebooks(path, release):
    """Every non-trivial line of a solution or hidden-test region is gone (unless the notebook also has
    it outside such a region), every answer cell is nbgrader's stub, and no <details> solution is left."""
    instructor = nbformat.read(path, as_version=4)
    student = nbformat.read(release / path.name, as_version=4)
    hidden, outside = set(), set()
    for cell in instructor.cells:
        hidden |= {line.strip() for m in REGION.finditer(cell.source) for line in m.group(2).splitlines()}
        outside |= {line.strip() for line in REGION.sub("", cell.source).splitlines()}
    secret = {line for line in hidden - outside if len(line) > 3}
    shown = {line.strip() for cell in student.cells for line in cell.source.splitlines()}
    assert not secret & shown, f"{path.name}: solution lines in the student version: {sorted(secret & shown)[:5]}"
    for cell in student.cells:
        if _meta(cell).get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, f"{path.name} {_meta(cell)['grade_id']}: no stub"
        assert not re.search(r"<details>\s*<summary>\s*Solution", cell.source), f"{path.name}: a <details> solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_unanswered_student_notebook_fails_only_its_exercises(path, release):
    nb = _run(release / path.name, filled_in=False)
    answers = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _meta(c).get("solution")}
    checks = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _meta(c).get("grade")}
    errors = _errors(nb)
    unexpected = {i: f"{o.ename}: {o.evalue}"[:200] for i, o in errors.items() if i not in answers | checks}
    assert not unexpected, f"{path.name}: errors outside the exercises (cell: error): {unexpected}"
    assert set(errors) == answers | checks, f"{path.name}: exercise cells that did not fail: {sorted(answers | checks - set(errors))}"
    for i in answers:
        assert errors[i].ename == "NotImplementedError", f"{path.name} cell {i}: {errors[i].ename} in an unanswered answer cell"
    for i in checks:
        error, where = errors[i], f"{path.name} cell {i} ({_meta(nb.cells[i])['grade_id']})"
        assert error.ename == "AssertionError", f"{where}: {error.ename}: {error.evalue} instead of an AssertionError"
        message = error.evalue.strip()
        assert message and "\n" not in message and len(message) <= 300, f"{where}: not a one-sentence message: {message!r}"


@pytest.mark.parametrize("name", FILLED_IN)
def test_correct_answers_pass(name, release):
    nb = _run(release / name, filled_in=True)
    errors = {i: f"{o.ename}: {o.evalue}"[:200] for i, o in _errors(nb).items()}
    assert not errors, f"{name} with the instructor's answers typed in: errors {errors}"
    checks = [c for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade")]
    assert checks, f"{name} has no exercises to fill in"
    for cell in checks:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "✔ Exercise" in printed, f"{name} {_meta(cell)['grade_id']}: no pass line printed ({printed[:100]!r})"
