"""The import graph of ``app/``: no cycle at module level, and feature boundaries one way.

Two rules, both read from the source (no import is executed):

- No cycle among module-level imports (imports inside functions and ``if TYPE_CHECKING`` blocks
  are the escape hatch Python offers, so they do not count for this rule).
- Boundaries count every import, inside functions too: the core and the directory import no
  feature; cases never import referrals, safe spaces or admin (referrals subscribe to the cases'
  hooks instead); the audit trail imports no feature it records; nothing below the app factory
  imports the admin screens.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# package → packages it must never import (anywhere in the package, any depth).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "app.core": ("app.admin", "app.auth", "app.audit", "app.cases", "app.referrals",
                 "app.safe_space", "app.directory", "app.crypto"),
    "app.directory": ("app.admin", "app.cases", "app.referrals", "app.safe_space"),
    "app.cases": ("app.referrals", "app.safe_space", "app.admin", "app.attachments"),
    "app.referrals": ("app.safe_space", "app.admin", "app.attachments"),
    "app.safe_space": ("app.cases", "app.referrals", "app.admin"),
    "app.programme": ("app.cases", "app.referrals", "app.admin"),
    "app.audit": ("app.cases", "app.referrals", "app.safe_space", "app.admin", "app.attachments"),
    "app.auth": ("app.cases", "app.referrals", "app.safe_space", "app.admin"),
    "app.crypto": ("app.cases", "app.referrals", "app.safe_space", "app.admin"),
    "app.notifications": ("app.cases", "app.referrals", "app.safe_space", "app.programme",
                          "app.reports", "app.admin", "app.audit.models"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {t for a in node.names if (t := _resolve(a.name)) and a.name.startswith("app")}
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        full = ".".join(base + ([node.module] if node.module else []))
    else:
        full = node.module or ""
    if not (full == "app" or full.startswith("app.")):
        return set()
    out = set()
    for alias in node.names:
        candidate = f"{full}.{alias.name}"
        target = _resolve(candidate) if candidate in MODULES else _resolve(full)
        if target:
            out.add(target)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str, *, top_level_only: bool) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update(_targets(module, path, node))
            elif isinstance(node, ast.If) and top_level_only:
                if not _is_type_checking(node):
                    walk(node.body)
                    walk(node.orelse)
            elif isinstance(node, ast.Try) and top_level_only:
                walk(node.body)
                for handler in node.handlers:
                    walk(handler.body)
                walk(node.orelse)
                walk(node.finalbody)

    if top_level_only:
        walk(tree.body)
    else:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update(_targets(module, path, node))
    found.discard(module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_at_module_level() -> None:
    graph = {m: imports(m, top_level_only=True) for m in MODULES}
    # A package's __init__ importing its own submodules is not a cycle in practice, but none
    # does here; keep the rule strict.
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    """The finder itself works: a two-module and a three-module loop are both reported."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == [["x", "y", "z"]]
    assert _cycles({"x": {"y"}, "y": set()}) == []


def test_feature_boundaries_are_one_way() -> None:
    broken = []
    for module in MODULES:
        for package, forbidden in FORBIDDEN.items():
            if module == package or module.startswith(package + "."):
                for target in imports(module, top_level_only=False):
                    if any(target == f or target.startswith(f + ".") for f in forbidden):
                        broken.append(f"{module} imports {target}")
    assert broken == []


def test_nothing_below_the_factory_imports_the_admin_screens() -> None:
    allowed = {"app", "app.cli", "app.demo"}
    offenders = sorted(
        f"{m} imports {t}" for m in MODULES if m not in allowed and not m.startswith("app.admin")
        for t in imports(m, top_level_only=False) if t.startswith("app.admin"))
    assert offenders == []
