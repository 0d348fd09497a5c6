"""The models and the migrations never disagree, migrations run on the test backend, go down
one step and up again on both engines, and stand alone: they do not import the app (two named
exceptions that need the instance's keys) and the seed rows they insert agree with the app."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import db
from app.dbsetup import schema_status
from tests.helpers.apps import make_app
from tests.helpers.databases import empty_database


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations disagree; run 'flask db migrate': {diff}"


def test_database_is_at_head(app):
    current, head = schema_status(app)
    assert current == head and head is not None


def test_audit_head_row_exists(app):
    from app.audit.models import AuditHead

    with app.app_context():
        assert db.session.get(AuditHead, 0) is not None


# --- Migrations stand alone -----------------------------------------------------------------

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"

# Migrations that must reach app code, and why; each import sits inside ``upgrade()`` (never at
# module level) and names exactly these modules. Schema, types and seed data are never imported:
# a migration holds a frozen copy of what it needs.
NEEDS_THE_INSTANCE = {
    # The KEK check values are made with the KEKs, held only by the instance's key provider.
    "0003_encryption.py": {"app.crypto.keyring"},
    # Re-sealing every value opens and seals with the instance's data keys (unwrapped by its
    # KEKs) and records each record's baseline in the audit chain, whose writer and hash chain
    # must not exist twice.
    "0011_sealed_versions.py": {"app.db", "app.audit.actions", "app.audit.writer",
                                "app.crypto.envelope", "app.crypto.failures",
                                "app.crypto.sealed"},
}


def _migration(name: str) -> ModuleType:
    """A migration file loaded as a module (the migrations folder is not a package)."""
    path = next(VERSIONS.glob(f"{name}_*.py"))
    spec = importlib.util.spec_from_file_location(f"_migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _app_imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(module, at module level?) of every import of ``app`` or a module under it."""
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0
                 else [])
        found += [(n, id(node) in top) for n in names if n == "app" or n.startswith("app.")]
    return found


def test_no_migration_imports_the_app():
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) >= 11
    problems, used = [], {}
    for path in files:
        imports = _app_imports(ast.parse(path.read_text(encoding="utf-8")))
        allowed = NEEDS_THE_INSTANCE.get(path.name, set())
        used[path.name] = {m for m, _top in imports}
        problems += [f"{path.name}: {m}" + (" (at module level)" if top else "")
                     for m, top in imports if top or m not in allowed]
    assert not problems, ("migrations import app code; copy what they need into the migration "
                          f"(frozen), or say why in NEEDS_THE_INSTANCE: {problems}")
    stale = {n: m - used.get(n, set()) for n, m in NEEDS_THE_INSTANCE.items()
             if m - used.get(n, set())}
    assert not stale, f"no longer imported; remove from NEEDS_THE_INSTANCE: {stale}"


def test_frozen_key_check_agrees_with_the_app():
    """0010 computes key check values with its own copy of the function. If the app's check
    values change on purpose, the databases need a new migration that recomputes them (and this
    test then compares the app with that migration's copy); 0010 itself never changes."""
    from app.crypto.keychecks import CHECKED, check_value

    frozen = _migration("0010")
    assert tuple(frozen.CHECKED) == tuple(CHECKED)
    for name in CHECKED:
        key = os.urandom(32)
        assert frozen.check_value(name, key) == check_value(name, key), name


def test_seeded_activity_types_are_the_apps_defaults():
    """0006 seeds the default activity types (frozen); app/safe_space/labels.py holds their
    translations, keyed by code and the seeded English label, which must be the same."""
    from app.safe_space.labels import DEFAULT_TYPES

    seeded = _migration("0006").DEFAULT_TYPES
    assert list(seeded) == [(code, english) for code, english, _translated in DEFAULT_TYPES]


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_upgrade_down_one_step_and_up_again(engine_name, tmp_path, instance_dir):
    from flask_migrate import downgrade, upgrade

    from app.audit.canonical import GENESIS_MAC

    for uri in empty_database(engine_name, tmp_path):
        app = make_app(uri, instance_dir)
        with app.app_context():
            current, head = schema_status(app)
            assert current is None and head is not None
            upgrade()
            assert schema_status(app) == (head, head)
            # The genesis rows of the audit chains, as the app's verifier starts from them.
            rows = db.session.execute(sa.text("SELECT id, seq, mac FROM audit_head ORDER BY id")
                                      ).all()
            assert [(r.id, r.seq, bytes(r.mac)) for r in rows] == [
                (c, 0, GENESIS_MAC) for c in range(16)]
            db.session.remove()
            downgrade(revision="-1")
            previous, _ = schema_status(app)
            assert previous is not None and previous != head
            upgrade()
            assert schema_status(app) == (head, head)
            with db.engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(ctx, db.metadata) == []
            db.session.remove()
            db.engine.dispose()
