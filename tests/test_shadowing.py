"""No function parameter hides a module-level function or import that the function then calls.

Issue 13's crash was this bug class: `_cached_or_fetched(name, fetch, why)` called `fetch(name)`,
meaning weights.fetch(), but got the bool parameter. The robustness suite missed it because the
line only runs on a machine with an empty cache (see tests/test_weight_sources.py); this check
reads the source instead, so it does not depend on which branches the tests happen to run.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stylelib"


def shadowed_calls(source: str) -> list[str]:
    """`function: parameter` wherever a parameter has the name of a module-level def, class or import
    and the function calls that name (`name(...)` or `name.attr(...)`) — it gets the argument instead."""
    tree = ast.parse(source)
    module_names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            module_names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module_names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        args = function.args
        parameters = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a}
        for call in ast.walk(function):
            if isinstance(call, ast.Call):
                callee = call.func
                while isinstance(callee, ast.Attribute):
                    callee = callee.value
                if isinstance(callee, ast.Name) and callee.id in parameters & module_names:
                    found.append(f"{getattr(function, 'name', 'lambda')}: {callee.id} (line {call.lineno})")
    return found


def test_the_check_catches_the_issue_13_crash():
    crashed = (
        "def fetch(name):\n    return name\n\n"
        "def _cached_or_fetched(name, fetch, why):\n    return fetch(name)\n"
    )
    assert shadowed_calls(crashed) == ["_cached_or_fetched: fetch (line 5)"]
    import_shadowed = "import torch\n\ndef f(torch):\n    return torch.zeros(1)\n"
    assert shadowed_calls(import_shadowed) == ["f: torch (line 4)"]
    fine = "def fetch(name):\n    return name\n\ndef resolve(allow_fetch):\n    return fetch('x') if allow_fetch else 0\n"
    assert shadowed_calls(fine) == []


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_parameter_hides_a_module_function_it_calls(module):
    found = shadowed_calls(module.read_text(encoding="utf-8"))
    assert not found, f"{module.name}: a parameter hides the module-level name it calls: {found}; rename it"
