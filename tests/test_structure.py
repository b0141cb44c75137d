"""The package's shape: imports inside stylelib flow one way (no cycle, lazy imports included)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stylelib"


def import_graph() -> dict[str, set[str]]:
    """module → the stylelib modules it imports, at the top or inside a function."""
    graph = {}
    for path in PACKAGE.glob("*.py"):
        if path.stem == "__init__":
            continue
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                targets |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        graph[path.stem] = targets - {path.stem}
    return graph


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


def test_imports_flow_one_way():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"features": {"weights"}, "weights": {"features"}, "layers": set()}) == [
        ["features", "weights", "features"]]
