"""Append-only, twice over: database triggers refuse UPDATE, DELETE (and TRUNCATE on
PostgreSQL) of audit rows whatever the client, and the ORM refuses them before they are sent."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from app.audit.models import AppendOnlyError, AuditEvent
from app.db import db
from tests.helpers.audit import fill, verify


def _raw(app, sql: str) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET reason = 'covered up' WHERE seq = {seq}",
    "UPDATE audit_events SET outcome = 'allowed'",
    "DELETE FROM audit_events WHERE seq = {seq}",
    "DELETE FROM audit_events",
])
def test_triggers_refuse_changes_from_any_client(app, sql):
    last = fill(app, 5)
    with pytest.raises(DBAPIError) as refused:
        _raw(app, sql.format(seq=last - 2))
    assert "append-only" in str(refused.value.orig)
    result = verify(app)
    assert result.ok and result.count == last


def test_truncate_is_refused_on_postgresql(app):
    last = fill(app, 3)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE; DELETE is refused above")
    with pytest.raises(DBAPIError) as refused:
        _raw(app, "TRUNCATE audit_events")
    assert "append-only" in str(refused.value.orig)
    assert verify(app).count == last


def test_orm_refuses_changing_a_loaded_event(app):
    last = fill(app, 3)
    with app.app_context():
        event = db.session.get(AuditEvent, last)
        event.reason = "covered up"
        with pytest.raises(AppendOnlyError):
            db.session.flush()
        db.session.rollback()
        event = db.session.get(AuditEvent, last)
        db.session.delete(event)
        with pytest.raises(AppendOnlyError):
            db.session.flush()
        db.session.rollback()
    assert verify(app).ok


@pytest.mark.parametrize("stmt", [
    update(AuditEvent).values(reason="covered up"),
    delete(AuditEvent),
    update(AuditEvent.__table__).values(reason="covered up"),
    delete(AuditEvent.__table__).where(AuditEvent.__table__.c.seq > 0),
], ids=["orm-update", "orm-delete", "core-update", "core-delete"])
def test_orm_refuses_bulk_statements(app, stmt):
    last = fill(app, 3)
    with app.app_context():
        with pytest.raises(AppendOnlyError):
            db.session.execute(stmt)
        db.session.rollback()
        assert db.session.execute(select(sa.func.count()).select_from(AuditEvent)).scalar() == last
