"""Engine tuning and schema checks shared by the app, the CLI and the tests."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import URL, Engine, event, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from app.config import ConfigError


def engine_options(uri: str, options: Mapping[str, Any], connect_timeout: int) -> dict[str, Any]:
    """The engine options for ``uri``: on PostgreSQL a connection attempt gives up after
    ``connect_timeout`` seconds and a connection whose server stops acknowledging is dropped
    (``tcp_user_timeout``), so neither start-up nor ``/healthz`` hangs on a lost server."""
    opts = dict(options)
    if make_url(uri).get_backend_name() == "postgresql":
        args = dict(opts.get("connect_args") or {})
        args.setdefault("connect_timeout", connect_timeout)
        args.setdefault("tcp_user_timeout", 3 * connect_timeout * 1000)
        opts["connect_args"] = args
    return opts


def database_location(uri: str) -> str:
    """Where the database is, for messages: ``host:port`` of a server or the SQLite file.
    Never the user or password."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    host, port = server(url)
    return f"{host}:{port}"


def server(url: URL) -> tuple[str, int]:
    """(host, port) of a PostgreSQL URL, with libpq's defaults (a ``?host=`` socket counts)."""
    return url.host or str(url.query.get("host") or "localhost"), url.port or 5432


def _reason(exc: SQLAlchemyError, uri: str) -> str:
    """The driver's first line, shortened to what went wrong, without secrets."""
    raw = str(getattr(exc, "orig", None) or exc).strip()
    text = raw.splitlines()[0] if raw else ""
    for marker in ("failed: ", "error: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = text.removeprefix("FATAL:").strip()
    password = make_url(uri).password
    if password:
        text = text.replace(str(password), "***")
    return text[:160] or exc.__class__.__name__


def unreachable(exc: SQLAlchemyError, uri: str) -> ConfigError:
    """One line for a database that could not be used at start-up (no password in it)."""
    where = database_location(uri)
    if isinstance(exc, OperationalError):
        return ConfigError(f"The database at {where} is not reachable ({_reason(exc, uri)}).")
    return ConfigError(f"The database at {where} refused the start-up check ({_reason(exc, uri)}).")


def _private_file(path: Path, production: bool) -> None:
    """Create the SQLite file 0600 before SQLite does (SQLite gives its -wal and -shm files the
    main file's mode); in production, an existing file (and its -wal, -shm) is narrowed to 0600."""
    if not path.exists():
        if path.parent.is_dir():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    if production:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            with contextlib.suppress(FileNotFoundError):
                if stat.S_IMODE(p.stat().st_mode) & 0o077:
                    p.chmod(0o600)


def make_sqlite_folder(engine: Engine) -> None:
    """Create a missing folder for the SQLite file, 0700 (``flask db upgrade`` creates the
    database; the file itself is made 0600 when first opened)."""
    path = sqlite_path(engine)
    if path is not None and not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
        path.parent.chmod(0o700)  # whatever the umask


def sqlite_path(engine: Engine) -> Path | None:
    """The SQLite database file, or None (another backend, or an in-memory database)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def install_sqlite_pragmas(engine: Engine, *, production: bool = False) -> None:
    """SQLite: enforce foreign keys, use WAL, wait for locks, and take the write lock at BEGIN.

    BEGIN IMMEDIATE makes concurrent writers queue instead of failing when a reader tries to
    become a writer, which the audit chain relies on. The file is created 0600 (``_private_file``).
    """
    if engine.dialect.name != "sqlite":
        return
    path = sqlite_path(engine)

    @event.listens_for(engine, "do_connect")
    def _private(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        if path is not None:
            _private_file(path, production)

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
            raise unreachable(exc, str(db.engine.url.render_as_string(hide_password=False))) from None
    return current, head


def require_current_schema(app: Flask) -> None:
    """Refuse to go on, with one line, when the database is behind the code's migrations."""
    current, head = schema_status(app)
    if current != head:
        raise ConfigError(
            f"The database is at migration {current or 'none'} but the code needs {head}; "
            "run 'flask --app app db upgrade' first."
        )
