"""The project's shape: imports flow one way (no cycle, lazy imports included) inside stylelib (subpackages too),
inside bench/ and inside tools/, and no script there is imported by a neighbour (its body would run twice: once as
__main__, once under its name)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_FOLDERS = [ROOT / "bench", ROOT / "tools"]


def module_name(path: Path, package: Path) -> str:
    """A module's dotted name below `package` (fast.training); a subpackage is named by its __init__ (fast)."""
    parts = path.relative_to(package).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_graph(package: Path) -> dict[str, set[str]]:
    """module → the modules of `package` it imports, at the top or inside a function. The package's own __init__
    (which imports everything on purpose) is left out; importing a module runs the __init__ of each subpackage
    around it first, unless the importer is inside that subpackage already."""
    modules = {module_name(path, package): path for path in package.rglob("*.py") if path != package / "__init__.py"}
    graph = {}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]  # the importer's package
        inside = {".".join(here[:i]) for i in range(1, len(here) + 1)}
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            # the known prefixes of what it names: images of images.load, fast and fast.training of fast.training.run
            for parts in named(node, here, package.name):
                targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()
        graph[name] = targets - inside - {name}
    return graph


def named(node, here: list[str], top: str) -> list[list[str]]:
    """What an import statement names inside package `top`, as parts below it (`from ..images import load` in
    fast/training.py: images, load), for an importer in subpackage `here`."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[1:] for alias in node.names if alias.name.split(".")[0] == top]
    if not isinstance(node, ast.ImportFrom):
        return []
    module = node.module.split(".") if node.module else []
    if node.level:
        if node.level - 1 > len(here):
            return []  # above the package
        base = here[:len(here) - node.level + 1] + module
    elif module[:1] == [top]:
        base = module[1:]
    else:
        return []
    return [[*base, alias.name] for alias in node.names]


def script_graph(folder: Path) -> dict[str, set[str]]:
    """file → the files of `folder` it imports (scripts side by side: `import run`, `from common import x`)."""
    names = {path.stem for path in folder.glob("*.py")}
    graph = {}
    for path in folder.glob("*.py"):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets.add(node.module.split(".")[0])
        graph[path.stem] = (targets & names) - {path.stem}
    return graph


def scripts(folder: Path) -> set[str]:
    """The files of `folder` meant to be run (`python bench/run.py`), not imported."""
    return {path.stem for path in folder.glob("*.py") if '__name__ == "__main__"' in path.read_text()}


def cycles(graph) -> list[list[str]]:
    found, done = [], set()

    def visit(node, path):
        for target in sorted(graph.get(node, ())):
            if target in path:
                found.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, path + [target])
        done.add(node)

    for node in sorted(graph):
        visit(node, [node])
    return found


def test_stylelib_imports_flow_one_way():
    assert cycles(package_graph(ROOT / "stylelib")) == []


@pytest.mark.parametrize("folder", SCRIPT_FOLDERS, ids=lambda f: f.name)
def test_script_imports_flow_one_way(folder):
    assert cycles(script_graph(folder)) == []


@pytest.mark.parametrize("folder", SCRIPT_FOLDERS, ids=lambda f: f.name)
def test_no_script_is_imported_by_its_neighbours(folder):
    graph = script_graph(folder)
    assert {(name, target) for name, targets in graph.items() for target in targets & scripts(folder)} == set()


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"features": {"weights"}, "weights": {"features"}, "layers": set()}) == [
        ["features", "weights", "features"]]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_relative_imports_in_a_subpackage_resolve_to_their_modules(tmp_path):
    package = tmp_path / "pkg"
    write(package, {
        "__init__.py": "from . import images, fast\n",
        "images.py": "import torch\n",
        "losses.py": "from .fast.training import train\nimport pkg.images\n",
        "fast/__init__.py": "from .training import train\n",
        "fast/training.py": "from ..images import load\nfrom . import network\nfrom .. import losses\n",
        "fast/network.py": "def net():\n    from pkg import images\n",
    })
    assert package_graph(package) == {
        "images": set(),
        "losses": {"fast", "fast.training", "images"},  # importing fast.training runs fast/__init__ first
        "fast": {"fast.training"},
        "fast.training": {"images", "fast.network", "losses"},  # the own package's __init__ is running already
        "fast.network": {"images"},
    }
    assert cycles(package_graph(package)) == [["fast", "fast.training", "losses", "fast"],
                                              ["fast.training", "losses", "fast.training"]]


def test_script_imports_are_found_and_scripts_told_apart(tmp_path):
    write(tmp_path, {
        "common.py": "import torch\n",
        "run.py": 'import target\nfrom common import x\nif __name__ == "__main__":\n    main()\n',
        "target.py": "def f():\n    import run\n",
    })
    assert script_graph(tmp_path) == {"common": set(), "run": {"common", "target"}, "target": {"run"}}
    assert scripts(tmp_path) == {"run"}
    assert cycles(script_graph(tmp_path)) == [["run", "target", "run"]]


def test_no_module_of_the_library_is_a_long_read():
    """A learner opens a module after a notebook: none is over 400 lines (issue 21)."""
    package = ROOT / "stylelib"
    long = {str(path.relative_to(package)): n for path in package.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}
