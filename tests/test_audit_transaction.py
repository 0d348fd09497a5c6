"""The same-transaction guarantee: an action and its audit event commit together. When the
event cannot be written, the action fails (500), no data is served and nothing is committed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.audit import writer
from app.audit.models import AuditEvent
from app.auth.models import AuthSession, User
from app.db import db
from tests.helpers.audit import break_audit_inserts
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD


def _count(app, model, *where) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def test_a_read_is_not_served_when_its_event_cannot_be_written(app, auth, world):
    admin = auth.login("admin")
    assert "caseworker2" in admin.get("/admin/users").get_data(as_text=True)  # works before
    events = _count(app, AuditEvent)
    break_audit_inserts(app)
    resp = admin.get("/admin/users")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "caseworker2" not in body and "Test newbie" not in body
    assert _count(app, AuditEvent) == events


def test_a_write_is_rolled_back_when_its_event_cannot_be_written(app, auth, world):
    admin = auth.login("admin")
    token = auth.csrf(admin, f"/admin/users/{world.users['caseworker2']}")
    break_audit_inserts(app)
    resp = admin.post(f"/admin/users/{world.users['caseworker2']}/deactivate",
                      data={"csrf_token": token})
    assert resp.status_code == 500
    assert _count(app, User, User.username == "caseworker2", User.active.is_(True)) == 1


def test_a_login_fails_when_its_event_cannot_be_written(app, client, world):
    user_id = uuid.UUID(world.users["caseworker"])
    sessions_before = _count(app, AuthSession, AuthSession.user_id == user_id)
    break_audit_inserts(app)
    page = client.get("/auth/login")
    resp = client.post("/auth/login", data={"username": "caseworker", "password": PASSWORD,
                                            "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 500
    assert _count(app, AuthSession, AuthSession.user_id == user_id) == sessions_before
    follow = client.get("/auth/mfa")
    assert follow.status_code == 302 and "/auth/login" in follow.location


def test_an_auditor_sees_nothing_when_the_search_cannot_be_recorded(app, auth, monkeypatch):
    auditor = auth.login("auditor")
    assert "auth.login" in auditor.get("/audit/events").get_data(as_text=True)

    def refuse(*_args, **_kwargs):
        raise RuntimeError("the audit key is unavailable")

    monkeypatch.setattr(writer, "compute_mac", refuse)
    events = _count(app, AuditEvent)
    resp = auditor.get("/audit/events")
    assert resp.status_code == 500
    assert "auth.login" not in resp.get_data(as_text=True)
    assert _count(app, AuditEvent) == events


@pytest.mark.parametrize("path", ["/audit/alerts", "/audit/users/{id}"])
def test_every_auditor_view_fails_closed(app, auth, world, path):
    auditor = auth.login("auditor")
    break_audit_inserts(app)
    resp = auditor.get(path.format(id=world.users["caseworker"]))
    assert resp.status_code == 500
