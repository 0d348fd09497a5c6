"""Dumping and restoring the database itself, one pair of functions per engine.

PostgreSQL: ``pg_dump`` in its custom format (``-Fc``) and ``pg_restore``, run with the
connection parameters of the database URL; the password goes to them in ``PGPASSWORD``, never
on the command line (where ``ps`` shows it). The dump reads an exported snapshot
(``pg_export_snapshot``) of a read-only repeatable-read transaction that stays open until
``pg_dump`` has finished, so the manifest's facts (schema revision, audit heads, key checks),
read in that same transaction, describe exactly the rows dumped. ``pg_restore`` runs in a
single transaction (``--single-transaction``, which stops at the first error): if it fails
midway, PostgreSQL rolls everything back and the target database is as empty as before.

SQLite: Python's ``sqlite3`` online backup API, which copies a consistent image of the file
while the server keeps running, and restores the same way into the target file (the copy is one
write transaction on the target, rolled back if it fails).

"Empty" means no table, view or sequence at all outside the system schemas (on SQLite, no
table or view): a database that went through ``flask db upgrade`` is not empty (it has the
Amana tables, the migration stamp and the audit head), and neither is one holding anything
else. A backup is restored only into a database made for it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from psycopg.conninfo import make_conninfo
from sqlalchemy.pool import NullPool

from app.backup.archive import BackupError

TIMEOUT = 6 * 3600  # a dump or restore that takes longer than this has hung
_PG_TABLES = sa.text(
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")
_SQLITE_TABLES = ("SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') "
                  "AND name NOT LIKE 'sqlite_%'")

Facts = Callable[[sa.Connection], dict[str, object]]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (it comes with the PostgreSQL client, of "
                          "the server's version or newer).")
    return found


def _connection(url: sa.URL) -> tuple[str, dict[str, str]]:
    """(libpq connection string without the password, environment with PGPASSWORD)."""
    params: dict[str, str] = {str(k): str(v if isinstance(v, str) else v[-1])
                              for k, v in url.query.items()}
    for key, value in (("host", url.host), ("port", url.port), ("user", url.username),
                       ("dbname", url.database)):
        if value is not None:
            params[key] = str(value)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**params), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        # An argument list (no shell), built here from the URL; the password is in ``env``.
        proc = subprocess.run(args, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {TIMEOUT // 3600} hours.") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        first = lines[0] if lines else f"exit status {proc.returncode}"
        raise BackupError(f"{what} failed: {first[:200]}")


def _engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool)


def pg_version() -> str:
    """The version line of the ``pg_dump`` that makes backups."""
    proc = subprocess.run([_tool("pg_dump"), "--version"], capture_output=True,  # noqa: S603
                          text=True, timeout=30, check=False)
    return proc.stdout.strip()


def pg_create(url: sa.URL, out: Path, facts: Facts) -> dict[str, object]:
    """Dump the database at ``url`` into ``out`` (custom format); returns ``facts`` read in the
    snapshot the dump reads."""
    tool = _tool("pg_dump")
    conninfo, env = _connection(url)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
            with conn.begin():
                snapshot = str(conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one())
                found = facts(conn)
                _run([tool, "--format=custom", f"--snapshot={snapshot}", "--no-password",
                      f"--file={out}", f"--dbname={conninfo}"], env, "pg_dump")
    finally:
        engine.dispose()
    return found


def pg_is_empty(url: sa.URL) -> bool:
    """Whether the database at ``url`` has no relation outside the system schemas."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(_PG_TABLES).scalar_one()) == 0
    finally:
        engine.dispose()


def pg_restore(url: sa.URL, dump: Path) -> None:
    """Load ``dump`` into the empty database at ``url``, all or nothing (one transaction).

    Objects are owned by the connecting role (``--no-owner``) and no privileges are copied
    (``--no-privileges``): the caller grants the runtime role its privileges afterwards, as
    ``flask db upgrade`` does, so the roles of the server the backup came from need not exist.
    """
    conninfo, env = _connection(url)
    _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner",
          "--no-privileges", "--no-password", f"--dbname={conninfo}", str(dump)], env,
         "pg_restore (nothing was restored; the database is as it was)")


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def sqlite_create(source: Path, out: Path, facts: Facts) -> dict[str, object]:
    """Copy the SQLite database ``source`` into ``out`` with the online backup API; returns
    ``facts`` read from the copy (the very state that was copied)."""
    if not source.exists():
        raise BackupError(f"The database file {source} does not exist.")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    os.close(fd)
    with _sqlite(source) as src, _sqlite(out) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    engine = _engine(sa.make_url(f"sqlite:///{out}"))
    try:
        with engine.connect() as conn:
            return facts(conn)
    finally:
        engine.dispose()


def sqlite_is_empty(target: Path) -> bool:
    """Whether the SQLite file ``target`` is missing or holds no table or view."""
    if not target.exists():
        return True
    with _sqlite(target) as conn:
        return int(conn.execute(_SQLITE_TABLES).fetchone()[0]) == 0


def sqlite_restore(target: Path, dump: Path) -> None:
    """Copy the database image ``dump`` into ``target`` (created 0600 when missing)."""
    if not target.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    try:
        with _sqlite(dump) as src, _sqlite(target) as dst:
            if int(dst.execute(_SQLITE_TABLES).fetchone()[0]):
                raise BackupError(f"The database {target} is not empty; nothing was restored.")
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"The SQLite restore failed ({exc.__class__.__name__}: {exc}); the "
                          "target is as it was.") from None
