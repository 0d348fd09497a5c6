"""The suite's own shape: shared helpers live in tests/helpers/ (no test module imports another
test module or the conftest), and every test asserts what it means."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Modules besides the helpers package that tests may import: the route matrix (data, kept
# where the route-authorization tests and CONTRIBUTING.md point) and the month-long journey.
SHARED_MODULES = {"authz_matrix.py", "journey.py"}
# Helpers whose purpose is to assert (a test that only calls one of these asserts through it):
#   one_line_error (tests/helpers/cli.py): the command failed with one line and no traceback.
ASSERTING_HELPERS = {"one_line_error"}
# pytest's own ways of failing a test on purpose.
PYTEST_CHECKS = {"raises", "warns", "fail", "deprecated_call"}


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(TESTS.parent).as_posix()


def _imported(tree: ast.AST) -> list[str]:
    """Every module an import statement names, at any depth (``from tests import x`` as
    ``tests.x``)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append("." * node.level + (node.module or ""))
            elif node.module in ("tests", "tests.browser", "tests.helpers"):
                found += [f"{node.module}.{a.name}" for a in node.names]
            elif node.module:
                found.append(node.module)
    return found


def _forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith(".") or (module.startswith("tests.")
                                      and (last.startswith("test_") or last == "conftest"))


def test_no_test_module_imports_another_test_module_or_a_conftest():
    offenders = [f"{_rel(p)} imports {m}" for p in _modules()
                 for m in _imported(ast.parse(p.read_text())) if _forbidden(m)]
    assert offenders == [], ("move what is shared to tests/helpers/ and import it from there: "
                             f"{offenders}")


def test_shared_helpers_live_in_tests_helpers():
    stray = [_rel(p) for p in _modules()
             if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py")
             and "helpers" not in p.relative_to(TESTS).parts and p.name not in SHARED_MODULES]
    assert stray == [], f"helper modules belong in tests/helpers/: {stray}"


def test_helper_modules_hold_no_tests():
    helpers = [p for p in _modules() if not p.name.startswith("test_") and p.name != "conftest.py"]
    tests = [f"{_rel(p)}:{node.name}" for p in helpers for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
             and node.name.startswith("test_")]
    assert tests == [], f"tests in helper modules are never collected: {tests}"


def _called(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def _checks(node: ast.AST) -> bool:
    """Whether ``node``'s body asserts: an ``assert`` or one of pytest's checks."""
    return any(isinstance(sub, ast.Assert) for sub in ast.walk(node)) \
        or bool(_called(node) & PYTEST_CHECKS)


def silent_tests(path: Path, root: Path = TESTS.parent) -> list[str]:
    """The test functions of ``path`` that assert nothing: no ``assert``, no ``pytest.raises``
    (``warns``, ``fail``), no call to a function of the same module that asserts (followed
    through the module's own functions) and none to an ``ASSERTING_HELPERS`` helper."""
    tree = ast.parse(path.read_text())
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    asserting = set(ASSERTING_HELPERS) | {name for name, fn in functions.items() if _checks(fn)}
    changed = True
    while changed:  # a local helper calling a local helper that asserts also asserts
        grown = asserting | {name for name, fn in functions.items() if _called(fn) & asserting}
        changed, asserting = grown != asserting, grown
    return [f"{path.relative_to(root).as_posix()}:{fn.lineno} {name}" for name, fn in functions.items()
            if name.startswith("test_") and name not in asserting]


def test_every_test_asserts_something():
    silent = [found for p in _modules() if p.name.startswith("test_")
              for found in silent_tests(p)]
    assert silent == [], f"tests that assert nothing (say what they check): {silent}"


def test_the_assertion_scan_finds_a_silent_test(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "def _check(x):\n    assert x\n\n\ndef _helper(x):\n    _check(x)\n\n\n"
        "def test_silent(client):\n    client.get('/')\n\n\n"
        "def test_through_helpers():\n    _helper(1)\n\n\n"
        "def test_raises():\n    import pytest\n    with pytest.raises(ValueError):\n        int('x')\n")
    assert silent_tests(sample, root=tmp_path) == ["test_sample.py:9 test_silent"]
