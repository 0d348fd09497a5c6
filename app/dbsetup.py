"""Engine tuning and schema checks shared by the app, the CLI and the tests."""

from __future__ import annotations

from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from app.config import ConfigError


def install_sqlite_pragmas(engine: Engine) -> None:
    """SQLite: enforce foreign keys, use WAL, wait for locks, and take the write lock at BEGIN.

    BEGIN IMMEDIATE makes concurrent writers queue instead of failing when a reader tries to
    become a writer, which the audit chain relies on.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed: shredded keys leave no trace
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _script(app: Flask) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(cfg)


def schema_status(app: Flask) -> tuple[str | None, str | None]:
    """(current revision of the database, head revision of the code)."""
    from app.extensions import db

    head = _script(app).get_current_head()
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except SQLAlchemyError as exc:
            raise ConfigError(f"The database cannot be reached ({exc.__class__.__name__}).") from None
    return current, head


def require_current_schema(app: Flask) -> None:
    """Refuse to go on, with one line, when the database is behind the code's migrations."""
    current, head = schema_status(app)
    if current != head:
        raise ConfigError(
            f"The database is at migration {current or 'none'} but the code needs {head}; "
            "run 'flask --app app db upgrade' first."
        )
