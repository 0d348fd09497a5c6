"""The models and the migrations never disagree, and migrations run on the test backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import db
from app.dbsetup import schema_status


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
        assert db.session.get(AuditHead, 1) is not None
