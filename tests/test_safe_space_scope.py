"""Who sees which safe-space records: coordinators only their own spaces' logs (404, audited,
for any other), programme managers the summaries of their organisation and never a log or its
notes, every other role nothing; and the notes are sealed at rest."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import db
from app.directory.models import Organisation, SafeSpace, Site
from tests.helpers.apps import BACKEND
from tests.helpers.crypto import sqlite_bytes
from tests.helpers.safe_space import COORDINATOR, insert_session, post_session, session_count

CANARY = "WgssNotesCanary-" + uuid.uuid4().hex[:10]


def _denied(app, action):
    with app.app_context():
        return [e.object_id for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action,
                                     AuditEvent.outcome == "denied")).scalars()]


def test_coordinator_cannot_reach_another_spaces_logs(app, auth, world):
    other = insert_session(app, world, space="safe_space2", notes=CANARY)
    c = auth.login(COORDINATOR)
    for path in (f"/safe-spaces/sessions/{other}", f"/safe-spaces/sessions/{other}/edit"):
        resp = c.get(path)
        assert resp.status_code == 404 and CANARY not in resp.get_data(as_text=True)
    missing = str(uuid.uuid4())
    assert c.get(f"/safe-spaces/sessions/{missing}").status_code == 404  # same answer as other's
    assert _denied(app, "wgss_session.view") == [other, missing]
    assert _denied(app, "wgss_session.update") == [other]
    space2 = world.ids["safe_space2"]
    for path in (f"/safe-spaces/{space2}/sessions", f"/safe-spaces/{space2}/summary",
                 f"/safe-spaces/{space2}/summary.csv"):
        assert c.get(path).status_code == 404
    assert _denied(app, "wgss_session.list") == [space2]
    assert _denied(app, "wgss_summary.view") == [space2]
    assert _denied(app, "wgss_summary.export") == [space2]
    listing = c.get("/safe-spaces/").get_data(as_text=True)
    assert "Camp WGSS" in listing and "Benghazi WGSS" not in listing


def test_logging_for_another_space_is_refused_beside_the_field_and_audited(app, auth, world):
    c = auth.login(COORDINATOR)
    resp = post_session(c, app, world, safe_space=world.ids["safe_space2"])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="safe_space-error-1">You can only log sessions for your own safe spaces.' in html
    assert session_count(app) == 0
    assert _denied(app, "wgss_session.create") == [world.ids["safe_space2"]]
    # Correcting one's own session into another space is refused the same way.
    own = insert_session(app, world)
    path = f"/safe-spaces/sessions/{own}/edit"
    resp = post_session(c, app, world, path=path, safe_space=world.ids["safe_space2"], version="1")
    assert "You can only log sessions for your own safe spaces." in resp.get_data(as_text=True)
    with app.app_context():
        from app.safe_space.models import WgssSession

        assert str(db.session.get(WgssSession, uuid.UUID(own)).safe_space_id) == world.ids["safe_space"]
    assert _denied(app, "wgss_session.update") == [world.ids["safe_space2"]]


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "service_provider", "auditor", "admin"])
def test_other_roles_cannot_read_wgss_notes(app, auth, world, role):
    own = insert_session(app, world, notes=CANARY)
    c = auth.login(role)
    for path in (f"/safe-spaces/sessions/{own}", f"/safe-spaces/sessions/{own}/edit",
                 f"/safe-spaces/{world.ids['safe_space']}/sessions"):
        resp = c.get(path)
        assert resp.status_code == 403 and CANARY not in resp.get_data(as_text=True)


def test_programme_manager_sees_aggregates_only(app, auth, world):
    own = insert_session(app, world, notes=CANARY)
    insert_session(app, world, space="safe_space2", notes=CANARY)
    pm = auth.login("program_manager")
    space, space2 = world.ids["safe_space"], world.ids["safe_space2"]
    listing = pm.get("/safe-spaces/").get_data(as_text=True)
    assert "Camp WGSS" in listing and "Benghazi WGSS" in listing
    assert f"/safe-spaces/{space}/sessions" not in listing
    for path in (f"/safe-spaces/{space}/summary", f"/safe-spaces/{space2}/summary",
                 f"/safe-spaces/{space}/summary.csv", f"/safe-spaces/{space2}/summary.csv"):
        resp = pm.get(path)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and CANARY not in body
        assert "Direct topic" not in body  # no session's topic either, only counts
    assert "15" in pm.get(f"/safe-spaces/{space}/summary").get_data(as_text=True)
    for path in (f"/safe-spaces/sessions/{own}", f"/safe-spaces/{space}/sessions",
                 "/safe-spaces/sessions/new"):
        assert pm.get(path).status_code == 403


def test_programme_manager_cannot_see_another_organisations_space(app, auth, world):
    with app.app_context():
        site = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
        org = db.session.get(Organisation, uuid.UUID(world.ids["other_org"]))
        space = SafeSpace(organisation_id=org.id, site_id=site.id, name="Partner WGSS",
                          opened_on=date(2024, 1, 1))
        db.session.add(space)
        db.session.commit()
        space_id = str(space.id)
    pm = auth.login("program_manager")
    assert pm.get(f"/safe-spaces/{space_id}/summary").status_code == 404
    assert "Partner WGSS" not in pm.get("/safe-spaces/").get_data(as_text=True)
    assert _denied(app, "wgss_summary.view") == [space_id]


def test_notes_are_sealed_and_kept_out_of_the_audit_trail(app, auth, world):
    c = auth.login(COORDINATOR)
    resp = post_session(c, app, world, notes=f"Follow up the {CANARY} idea")
    assert resp.status_code == 302
    assert CANARY in c.get(resp.location).get_data(as_text=True)  # readable through the app
    with app.app_context():
        raw = db.session.execute(sa.text("SELECT notes_sealed FROM wgss_sessions")).scalar_one()
        assert raw[:1] == b"\x02" and CANARY.encode() not in bytes(raw)
        events = db.session.execute(select(AuditEvent)).scalars().all()
        text = " ".join(str(getattr(e, col.name)) for e in events for col in AuditEvent.__table__.columns)
    assert CANARY not in text and "Stress management" not in text
    assert CANARY not in resp.location


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite file bytes")
def test_notes_canary_absent_from_the_raw_sqlite_file(app, auth, world):
    c = auth.login(COORDINATOR)
    assert post_session(c, app, world, notes=f"Notes {CANARY} here").status_code == 302
    data = sqlite_bytes(app)
    assert b"wgss_sessions" in data and b"Stress management" in data  # the right file, clear topic
    assert CANARY.encode() not in data and CANARY.encode("utf-16-le") not in data


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump of the PostgreSQL test database")
def test_notes_canary_absent_from_pg_dump(app, auth, world):
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed for the PostgreSQL proof at rest")
    c = auth.login(COORDINATOR)
    assert post_session(c, app, world, notes=f"Notes {CANARY} here").status_code == 302
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", url.database or ""],
                          capture_output=True, check=True, timeout=120).stdout
    assert b"COPY public.wgss_sessions" in dump and b"Stress management" in dump
    assert CANARY.encode() not in dump
