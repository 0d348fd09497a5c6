"""The audit package sits below the features it audits: it never imports cases, referrals or
safe spaces, at module level or inside a function. What it must know of their records (a case
number for an id) it asks through ``app.audit.resolvers``, which those features fill."""

from __future__ import annotations

import ast
from pathlib import Path

from app.audit import resolvers

AUDIT = Path(__file__).resolve().parent.parent / "app" / "audit"
FEATURES = ("app.cases", "app.referrals", "app.safe_space")


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it (``import a.b``, ``from a.b import c``,
    ``from a import b`` as ``a.b`` too, and relative imports resolved)."""
    package = ".".join(path.relative_to(root.parent.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _upward(root: Path) -> list[str]:
    return sorted(f"{path.name}:{line} imports {name}" for path in root.rglob("*.py")
                  for line, name in _imports(path, root)
                  if any(name == f or name.startswith(f + ".") for f in FEATURES))


def test_the_audit_package_never_imports_a_feature_it_audits():
    assert not _upward(AUDIT), _upward(AUDIT)


def test_the_scan_finds_imports_of_every_shape(tmp_path):
    pkg = tmp_path / "app" / "audit"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text(
        "import app.cases.models\n"
        "from app.referrals import queries\n"
        "from app import safe_space\n"
        "from app.db import db\n"
        "def late():\n"
        "    from app.cases.scopes import load_case\n")
    assert [line.split(" imports ")[1] for line in _upward(pkg)] == [
        "app.cases.models", "app.referrals", "app.referrals.queries", "app.safe_space",
        "app.cases.scopes", "app.cases.scopes.load_case"]


def test_the_features_answer_the_audit_workspace(app):
    """The app registers what the workspace asks (the case number of a record)."""
    owners = {fn.__module__ for fn in resolvers.case_number.resolvers}
    assert {"app.cases.audit_names", "app.referrals.audit_names"} <= owners
    assert "app.cases.audit_names" in {fn.__module__ for fn in resolvers.aliases.resolvers}
