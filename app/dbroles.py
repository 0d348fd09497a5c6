"""Least privilege in the database (PostgreSQL): an owner migrates, a runtime role serves.

The owner role owns the database, its schema and every table; ``flask db upgrade`` connects as
it when ``DATABASE_OWNER_URL`` is set. The runtime role (``DATABASE_URL``; named by
``AMANA_DB_RUNTIME_ROLE``, or taken from ``DATABASE_URL`` when only the owner URL is set) can
read and write rows and nothing more: it cannot drop or disable triggers, alter tables, or
change or delete audit events. After every upgrade the migration run grants it exactly
``PRIVILEGES`` on every table and sequence the owner has in the schema (re-granted from scratch,
so a new table gets its grants and a widened grant is narrowed back).

In production the app refuses to start (one line, exit 2) when its role could get round the
audit trail's triggers: a superuser, a role that can create roles, a role that owns (or may
become the owner of) the tables or the schema, a role allowed to switch triggers off
(``session_replication_role``), or one holding more than the runtime privileges on the audit
tables. SQLite has no roles: whoever can write the file can do anything, so there the
protections are the file's mode (0600, app/dbsetup.py) and the external checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy import URL, Connection, Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from app.config import ConfigError
from app.dbsetup import engine_options, server

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables whose runtime privileges are narrower than reading and writing rows.
PRIVILEGES: dict[str, str] = {
    "audit_events": "SELECT, INSERT",   # append-only: no UPDATE, DELETE or TRUNCATE
    "audit_head": "SELECT, UPDATE",     # one row, moved forward by the writer (trigger-checked)
    "alembic_version": "SELECT",        # the start-up check reads it; only the owner migrates
    # a published pledge is never edited, an acceptance never changed or removed
    "organisation_pledges": "SELECT, INSERT",
    "pledge_acceptances": "SELECT, INSERT",
}
# Privileges on the audit tables that would let the runtime role get round them.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "audit_events": ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER"),
    "audit_head": ("INSERT", "DELETE", "TRUNCATE", "TRIGGER"),
}


def runtime_role(config: Mapping[str, Any]) -> str | None:
    """The role to grant after migrating: ``DB_RUNTIME_ROLE``, else (when an owner URL is set)
    the user of ``DATABASE_URL``; None when neither says."""
    if config.get("DB_RUNTIME_ROLE"):
        return str(config["DB_RUNTIME_ROLE"])
    if config.get("DATABASE_OWNER_URL"):
        return make_url(str(config["SQLALCHEMY_DATABASE_URI"])).username
    return None


def _where(url: URL) -> tuple[str, int, str | None]:
    return (*server(url), url.database)


def migration_engine(config: Mapping[str, Any], engine: Engine) -> Engine:
    """The engine migrations run on: the owner's (``DATABASE_OWNER_URL``) when set, checked to
    name the same database as ``DATABASE_URL``; else the app's own ``engine``."""
    owner = config.get("DATABASE_OWNER_URL")
    if not owner:
        return engine
    runtime, owner_url = make_url(str(config["SQLALCHEMY_DATABASE_URI"])), make_url(str(owner))
    if runtime.get_backend_name() != "postgresql":
        raise ConfigError("DATABASE_OWNER_URL is set but DATABASE_URL is not PostgreSQL "
                          "(SQLite has no database roles).")
    if _where(runtime) != _where(owner_url):
        raise ConfigError("DATABASE_OWNER_URL must name the same server and database as "
                          "DATABASE_URL (only the user and password differ).")
    options = engine_options(str(owner), {"poolclass": NullPool},
                             int(config.get("DB_CONNECT_TIMEOUT", 5)))
    return create_engine(owner_url, **options)


def _scalar(conn: Connection, sql: str, **params: Any) -> Any:
    return conn.execute(text(sql), params).scalar()


def grant_runtime(conn: Connection, role: str) -> int:
    """Give ``role`` exactly the runtime privileges on every table and sequence the connected
    (owner) role owns in the current schema; returns how many tables. Idempotent."""
    if conn.dialect.name != "postgresql":
        raise ConfigError("AMANA_DB_RUNTIME_ROLE is for PostgreSQL (SQLite has no database roles).")
    if not _scalar(conn, "SELECT count(*) FROM pg_roles WHERE rolname = :r", r=role):
        raise ConfigError(f"The runtime role '{role}' does not exist; create it first "
                          "(CREATE ROLE ... LOGIN, see the README).")
    if role == _scalar(conn, "SELECT current_user"):
        raise ConfigError(f"The runtime role '{role}' is the role running the migrations; "
                          "set DATABASE_OWNER_URL to the owner and DATABASE_URL to another role.")
    quote = conn.dialect.identifier_preparer.quote
    schema = str(_scalar(conn, "SELECT current_schema()"))
    who = quote(role)
    tables = conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tableowner = current_user ORDER BY tablename")).scalars().all()
    for table in tables:
        name = f"{quote(schema)}.{quote(table)}"
        conn.exec_driver_sql(f"REVOKE ALL ON TABLE {name} FROM {who}")
        conn.exec_driver_sql(f"GRANT {PRIVILEGES.get(table, ROW_PRIVILEGES)} ON TABLE {name} "
                             f"TO {who}")
    sequences = conn.execute(text(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
        "AND sequenceowner = current_user ORDER BY sequencename")).scalars().all()
    for seq in sequences:
        name = f"{quote(schema)}.{quote(seq)}"
        conn.exec_driver_sql(f"REVOKE ALL ON SEQUENCE {name} FROM {who}")
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {name} TO {who}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}")
    return len(tables)


def privilege_problems(conn: Connection) -> list[str]:
    """What lets the connected role get round the audit trail's protections (empty when
    nothing does). PostgreSQL only."""
    flags = conn.execute(text(
        "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")).one()
    if flags.rolsuper:
        return ["it is a superuser"]
    problems: list[str] = []
    if flags.rolcreaterole:
        problems.append("it can create roles (and so make itself the owner)")
    owned = _scalar(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                          "AND pg_has_role(current_user, tableowner, 'MEMBER')")
    if owned:
        problems.append(f"it owns {owned} of the app's tables (or may act as their owner)")
    if _scalar(conn, "SELECT pg_has_role(current_user, nspowner, 'MEMBER') FROM pg_namespace "
                     "WHERE nspname = current_schema()"):
        problems.append("it owns the schema (and so may drop its tables)")
    if int(_scalar(conn, "SHOW server_version_num")) >= 150000 and _scalar(
            conn, "SELECT has_parameter_privilege('session_replication_role', 'SET')"):
        problems.append("it may set session_replication_role (which switches triggers off)")
    for table, privileges in FORBIDDEN.items():
        if not _scalar(conn, "SELECT to_regclass(:t) IS NOT NULL", t=table):
            continue
        held = [p for p in privileges
                if _scalar(conn, "SELECT has_table_privilege(:t, :p)", t=table, p=p)]
        if held:
            problems.append(f"it has {', '.join(held)} on {table}")
    return problems


def check_runtime_role(app: Flask) -> None:
    """Production on PostgreSQL: refuse (one line) a database role that could get round the
    audit triggers. Nothing to check on SQLite."""
    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.connect() as conn:
            role = str(_scalar(conn, "SELECT current_user"))
            problems = privilege_problems(conn)
    if problems:
        raise ConfigError(
            f"The database role '{role}' could get round the audit trail's protections: "
            f"{'; '.join(problems)}. Connect as a runtime role that owns nothing and grant it "
            "with 'flask --app app db upgrade' (DATABASE_OWNER_URL, AMANA_DB_RUNTIME_ROLE).")
