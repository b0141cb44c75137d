"""environment.yml (conda, Binder) and the Makefile install what pyproject.toml's extras say."""
import re
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # Python: the same lower bound as requires-python
    python = next(d for d in conda if d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]
    # Every package comes from pyproject through `pip install -e .[extra]`; conda adds only python and pip.
    # Binder and conda users are learners and teachers: the teach extra (which holds lab's).
    assert set(conda) == {python, "pip"}
    assert pip == ["-e .[teach]"]


def test_each_kind_of_user_has_an_extra_and_each_extra_holds_the_one_before():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert list(extras) == ["lab", "teach", "dev"]
    assert "stylelib[lab]" in extras["teach"] and "stylelib[teach]" in extras["dev"]
    assert any(d.startswith("jupyterlab>=") for d in extras["lab"])


def test_the_makefile_installs_the_extras_by_name():
    """Each target asks for an extra of pyproject.toml (.venv/.installed-EXTRA), and only for those."""
    makefile = (ROOT / "Makefile").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    asked = set(re.findall(r"\$\(VENV\)/\.installed-([a-z]+)", makefile))
    assert asked == set(extras)
    assert "pip install --quiet --disable-pip-version-check -e '.[$*]'" in makefile
