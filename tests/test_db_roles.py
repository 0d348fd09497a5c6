"""Least privilege on PostgreSQL: the owner migrates, the runtime role cannot drop or disable the
audit triggers, change or delete audit events, or rewind the audit head, yet the app's own path
writes events; production refuses to start as a role that owns the tables or is a superuser.

One database and two roles (unique names) for the module; both are dropped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app.audit.actions import Action
from app.audit.writer import record
from app.config import ConfigError, _owner_url_env, _role_env
from app.db import db, transaction
from app.dbroles import check_runtime_role, migration_engine
from tests.helpers.apps import BACKEND, PG_URL, make_app, pg_admin, pg_url

postgresql_only = pytest.mark.skipif(BACKEND != "postgresql",
                                     reason="database roles are PostgreSQL's; SQLite has none")


@dataclass
class Roles:
    owner: str
    runtime: str
    database: str
    owner_url: str
    runtime_url: str
    app: Flask  # testing settings, connected as the runtime role


def _as(user: str, database: str) -> str:
    url = sa.make_url(pg_url(PG_URL, database)).set(username=user, password=None)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def roles(instance_dir: Path) -> Iterator[Roles]:
    tag = uuid.uuid4().hex[:8]
    owner, runtime, database = f"amana_own_{tag}", f"amana_run_{tag}", f"amana_roles_{tag}"
    try:
        # What the README tells an operator to run (as a superuser), with test names.
        pg_admin(f"CREATE ROLE {owner} LOGIN")
        pg_admin(f"CREATE ROLE {runtime} LOGIN")
        pg_admin(f"CREATE DATABASE {database} OWNER {owner}")
        app = make_app(_as(runtime, database), instance_dir,
                       DATABASE_OWNER_URL=_as(owner, database))
        with app.app_context():
            upgrade()  # as the owner, then grants the runtime role (DATABASE_URL's user)
            db.session.remove()
        yield Roles(owner, runtime, database, _as(owner, database), _as(runtime, database), app)
        with app.app_context():
            db.engine.dispose()
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        for role in (runtime, owner):
            pg_admin(f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
                      f"THEN EXECUTE 'DROP OWNED BY {role} CASCADE'; "
                      f"EXECUTE 'DROP ROLE {role}'; END IF; END $$")


def _refused(url: str, sql: str) -> str:
    """Run ``sql`` on a connection as ``url``'s role; return the error it must raise."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as err:
            conn.exec_driver_sql(sql)
        return str(err.value.orig)
    finally:
        engine.dispose()


@postgresql_only
def test_the_owner_owns_the_tables_and_the_runtime_role_has_exactly_its_privileges(roles):
    engine = sa.create_engine(roles.runtime_url)
    with engine.connect() as conn:
        owners = set(conn.exec_driver_sql(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").scalars())
        assert owners == {roles.owner}

        def has(table: str, privilege: str) -> bool:
            return bool(conn.exec_driver_sql(
                f"SELECT has_table_privilege('{table}', '{privilege}')").scalar())

        expected = {"audit_events": {"SELECT", "INSERT"}, "audit_head": {"SELECT", "UPDATE"},
                    "alembic_version": {"SELECT"}, "cases": {"SELECT", "INSERT", "UPDATE", "DELETE"},
                    "organisation_pledges": {"SELECT", "INSERT"},
                    "pledge_acceptances": {"SELECT", "INSERT"},
                    # a passkey's counter and last use change; removing one deletes it
                    "passkeys": {"SELECT", "INSERT", "UPDATE", "DELETE"}}
        for table, allowed in expected.items():
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
                assert has(table, privilege) == (privilege in allowed), (table, privilege)
    engine.dispose()


@postgresql_only
@pytest.mark.parametrize("sql", [
    "DROP TRIGGER audit_events_no_change ON audit_events",
    "DROP TRIGGER audit_head_forward ON audit_head",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "ALTER TABLE audit_head DISABLE TRIGGER audit_head_forward",
    "DROP FUNCTION audit_events_append_only() CASCADE",
    "DROP TABLE audit_events CASCADE",
    "UPDATE audit_events SET reason = 'x'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "DELETE FROM audit_head",
    "SET session_replication_role = replica",
])
def test_the_runtime_role_cannot_get_round_the_audit_triggers(roles, sql):
    message = _refused(roles.runtime_url, sql)
    assert "must be owner" in message or "permission denied" in message, message


@postgresql_only
def test_the_runtime_role_writes_events_but_cannot_rewind_the_head(roles):
    with roles.app.app_context():
        for _ in range(2):  # the app's own path: insert the event, move the head with it
            with transaction():
                record(Action.AUDIT_VERIFY, reason="roles_test")
        db.session.remove()
    message = _refused(roles.runtime_url,
                       "UPDATE audit_head SET seq = 0 WHERE seq > 0")
    assert "moves only forward" in message, message


def _privileges(url: str) -> dict[str, set[str]]:
    """What ``url``'s role may do on each table of the public schema."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars().all()
            return {t: {p for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
                        if conn.exec_driver_sql(f"SELECT has_table_privilege('{t}', '{p}')").scalar()}
                    for t in tables}
    finally:
        engine.dispose()


@postgresql_only
def test_migrating_again_keeps_the_grants(roles):
    before = _privileges(roles.runtime_url)
    with roles.app.app_context():
        upgrade()  # idempotent: grants re-applied from scratch
        check_runtime_role(roles.app)  # still nothing to refuse (raises ConfigError otherwise)
        db.session.remove()
    after = _privileges(roles.runtime_url)
    assert after == before and after["audit_events"] == {"SELECT", "INSERT"}


@postgresql_only
def test_migrating_as_the_runtime_role_is_refused_with_one_line_and_changes_nothing(roles,
                                                                                   instance_dir):
    from flask_migrate import downgrade

    from app.dbsetup import schema_status

    app = make_app(roles.runtime_url, instance_dir)  # no DATABASE_OWNER_URL
    before = schema_status(app)
    with app.app_context(), pytest.raises(ConfigError) as err:
        downgrade(revision="-1")
    assert f"'{roles.runtime}' may not change the schema" in err.value.message
    assert "DATABASE_OWNER_URL" in err.value.message and "\n" not in err.value.message
    assert schema_status(app) == before
    with app.app_context():
        db.engine.dispose()


@postgresql_only
def test_production_refuses_a_role_that_owns_a_table_or_is_a_superuser(roles, instance_dir):
    from app.startup import check_ready

    app = make_app(roles.runtime_url, instance_dir)
    app.config["AMANA_ENV"] = "production"
    _pg_admin_in(roles.database, f"ALTER TABLE cases OWNER TO {roles.runtime}")
    try:
        with pytest.raises(ConfigError) as err:
            check_ready(app)
        assert f"'{roles.runtime}'" in err.value.message and "owns 1 of the app's tables" in \
            err.value.message and "\n" not in err.value.message
    finally:
        _pg_admin_in(roles.database, f"ALTER TABLE cases OWNER TO {roles.owner}")
        with app.app_context():
            db.engine.dispose()
    superuser = make_app(pg_url(PG_URL, roles.database), instance_dir)
    with pytest.raises(ConfigError, match="it is a superuser"):
        check_runtime_role(superuser)
    with superuser.app_context():
        db.engine.dispose()


def _pg_admin_in(database: str, sql: str) -> None:
    engine = sa.create_engine(pg_url(PG_URL, database), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def test_owner_url_must_be_postgresql_and_name_the_same_database(monkeypatch):
    monkeypatch.setenv("DATABASE_OWNER_URL", "sqlite:////tmp/x.db")
    with pytest.raises(ConfigError, match="SQLite has no database roles"):
        _owner_url_env("DATABASE_OWNER_URL")
    monkeypatch.setenv("AMANA_DB_RUNTIME_ROLE", "amana; DROP TABLE x")
    with pytest.raises(ConfigError, match="role name"):
        _role_env("AMANA_DB_RUNTIME_ROLE")
    config = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://amana@db:5432/amana",
              "DATABASE_OWNER_URL": "postgresql+psycopg://amana_owner@db:5432/other"}
    with pytest.raises(ConfigError, match="same server and database"):
        migration_engine(config, sa.create_engine("sqlite://"))
    config["SQLALCHEMY_DATABASE_URI"] = "sqlite:////tmp/amana.db"
    with pytest.raises(ConfigError, match="not PostgreSQL"):
        migration_engine(config, sa.create_engine("sqlite://"))
