"""Outages fail clearly: with Redis unreachable logins still answer and still lock accounts (an
alert says the counting fell back to the process); /healthz says 503 when the database or Redis
is down; an unreachable database at start is one line without the password; the SQLite file is
private."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from app.audit import alerts
from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.config import ConfigError
from app.db import db
from app.dbsetup import require_current_schema
from tests.helpers.apps import make_app
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD

REDIS_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1
PG_DOWN = "postgresql+psycopg://amana:s3cret-pw@127.0.0.1:1/amana"


def _login(client, username: str, password: str):
    page = client.get("/auth/login").get_data(as_text=True)
    return client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": csrf_from(page)})


def _fallback_events(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == Action.RATE_LIMIT_FALLBACK.value))
        db.session.remove()
    return int(n or 0)


def test_login_with_redis_down_answers_and_still_locks(db_uri, instance_dir, world, frozen):
    app = make_app(db_uri, instance_dir, RATELIMIT_STORAGE_URI=REDIS_DOWN)
    client = app.test_client()
    r = _login(client, "supervisor", PASSWORD)
    assert r.status_code == 302 and r.location.endswith("/auth/mfa")  # a login still works

    other = app.test_client()
    for _ in range(app.config["LOGIN_ACCOUNT_MAX_FAILURES"]):
        r = _login(other, "caseworker", f"wrong {uuid.uuid4()}")
        assert r.status_code == 200 and "did not work" in r.get_data(as_text=True)
    r = _login(other, "caseworker", PASSWORD)  # the right password, but locked now
    assert r.status_code == 200 and "did not work" in r.get_data(as_text=True)

    # The fallback is in the audit trail once for this outage, and is an auditor alert.
    assert _fallback_events(app) == 1
    with app.app_context():
        found = alerts.compute()
        db.session.remove()
    assert len(found["outages"]) == 1


def test_healthz_is_503_when_redis_is_down(db_uri, instance_dir, frozen):
    app = make_app(db_uri, instance_dir, RATELIMIT_STORAGE_URI=REDIS_DOWN)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_data(as_text=True) == "unavailable\n"


def test_healthz_is_503_when_the_database_server_is_unreachable(instance_dir, frozen):
    app = make_app(PG_DOWN, instance_dir)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_data(as_text=True) == "unavailable\n"


def test_unreachable_database_at_start_is_one_line_without_password(instance_dir, frozen):
    app = make_app(PG_DOWN, instance_dir)
    with pytest.raises(ConfigError) as err:
        require_current_schema(app)
    message = err.value.message
    assert message.startswith("The database at 127.0.0.1:1 is not reachable")
    assert "\n" not in message and "s3cret-pw" not in message and "amana:" not in message


def test_sqlite_database_is_created_private(tmp_path: Path, instance_dir, frozen):
    folder = tmp_path / "data"  # made by 'flask db upgrade'
    path = folder / "amana.db"
    old = os.umask(0o022)  # a usual umask: files 0644, folders 0755 unless made otherwise
    try:
        app = make_app(f"sqlite:///{path}", instance_dir)
        with app.app_context():
            upgrade()
            db.session.remove()
            with db.engine.connect() as conn:  # WAL and shared-memory files exist while open
                conn.exec_driver_sql("SELECT 1")
                modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
            db.engine.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert modes["amana.db"] == 0o600 and modes.get("amana.db-wal", 0o600) == 0o600
    assert modes.get("amana.db-shm", 0o600) == 0o600 and "amana.db-shm" in modes


def test_production_narrows_an_existing_sqlite_file_to_0600(tmp_path: Path):
    import sqlalchemy as sa

    from app.dbsetup import install_sqlite_pragmas

    path = tmp_path / "amana.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    engine = sa.create_engine(f"sqlite:///{path}")
    install_sqlite_pragmas(engine, production=True)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
