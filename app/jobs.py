"""The periodic jobs' common ground: one run at a time across every host, progress by hand.

The timers (``deploy/*.timer``, README *Deployment*) start the same commands on every app host:
``flask audit checkpoint --if-due``, ``flask audit alerts``, ``flask cases purge-expired --apply``
and ``flask notify send``. Each job's work is idempotent by itself (a second run finds nothing
left to do), and ``job_lock`` makes sure two hosts never do it at the same moment:

- PostgreSQL (the engine for several hosts): a session-level advisory lock with a fixed key per
  job (``pg_try_advisory_lock``), taken on a connection of its own and held for the whole run,
  so the job's own transactions commit as they go. It is released at the end, and also by the
  server when the connection goes (a job that crashes or is killed cannot leave it behind); a
  connection whose unlock failed is thrown away instead of going back to the pool still
  holding it.
- SQLite (one host: its file cannot safely be shared over a network): ``flock`` on a lock file
  beside the database file, released by the kernel when the process ends however it ends.
  A lock row or ``BEGIN IMMEDIATE`` would either outlive a crash or block every writer for the
  length of the job.

Neither waits: the loser prints one line (``skipped``) and the command exits 0, since the work
is being done. ``finished`` remembers each job's last result (counts only, never personal data)
in ``job_results``, one row per job, read back with ``last_result``: the auditor's home page
reads the alert counts from there, and an operator sees when each job last completed.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import current_app
from sqlalchemy import String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Model, UTCDateTime, db, transaction

T = TypeVar("T")

#: Each job, its advisory-lock key (fixed: every host must compute the same one) and the words
#: of the one line printed when another run holds it.
JOBS: dict[str, tuple[int, str]] = {
    "audit-checkpoint": (1, "the audit checkpoint"),
    "audit-alerts": (2, "the alert evaluation"),
    "cases-purge": (3, "the retention purge"),
    "notify-send": (4, "the notification sending"),
}
KEY_BASE = 0x414D414E41000000  # "AMANA" in the high bytes: clear of other users' small keys


class JobResult(Model):
    """The last completed run of each periodic job: when, and what it counted."""

    __tablename__ = "job_results"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # JSON object of counts (numbers keyed by short codes): never a name, a note or an address
    summary: Mapped[str] = mapped_column(Text, nullable=False)


def lock_key(name: str) -> int:
    """The advisory-lock key of job ``name`` (a signed 64-bit number)."""
    return KEY_BASE + JOBS[name][0]


def lock_file(engine: Engine, name: str) -> Path:
    """SQLite: the file locked for job ``name``, beside the database file (or, for a database
    in memory, in the instance folder)."""
    database = engine.url.database or ""
    if database and database != ":memory:" and not database.startswith("file::memory:"):
        base = Path(database)
        return base.with_name(f"{base.name}.job-{name}.lock")
    return Path(current_app.instance_path) / f"job-{name}.lock"


@contextmanager
def _pg_lock(engine: Engine, key: int) -> Iterator[bool]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = bool(conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar())
    except BaseException:
        conn.close()
        raise
    try:
        yield got
    finally:
        try:
            if got:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
        except Exception:  # noqa: BLE001 - the connection is dropped below, and the lock with it
            conn.invalidate()
        conn.close()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def job_lock(name: str) -> AbstractContextManager[bool]:
    """``with job_lock("notify-send") as got:`` - ``got`` is False when another run (this host
    or another) holds the job; the lock is released when the block ends, exception or not."""
    key = lock_key(name)
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return _pg_lock(engine, key)
    return _file_lock(lock_file(engine, name))


def skipped(name: str) -> None:
    """The one line of a run that found the job taken (exit status stays 0)."""
    click.echo(f"Another host or process is running {JOBS[name][1]}; nothing done.")


def interactive() -> bool:
    """Whether a person is watching (standard output is a terminal): only then a progress bar;
    under a timer each job prints its one-line summary alone."""
    return sys.stdout.isatty()


def progress(items: Iterable[T], label: str, length: int | None = None
             ) -> AbstractContextManager[Iterable[T]]:
    """A click progress bar over ``items`` when run by hand, the items alone otherwise."""
    if interactive():
        return click.progressbar(items, length=length, label=label)
    return nullcontext(items)


def finished(name: str, summary: dict[str, int]) -> None:
    """Remember the result of a completed run of job ``name`` (its own transaction)."""
    if name not in JOBS:
        raise KeyError(name)
    text = json.dumps({k: int(v) for k, v in sorted(summary.items())}, separators=(",", ":"))
    with transaction():
        row = db.session.get(JobResult, name, with_for_update=True)
        if row is None:
            db.session.add(JobResult(name=name, finished_at=utcnow(), summary=text))
        else:
            row.finished_at, row.summary = utcnow(), text


def last_result(name: str) -> tuple[datetime, dict[str, Any]] | None:
    """When job ``name`` last completed and what it counted, or None if it never has."""
    row = db.session.execute(select(JobResult.finished_at, JobResult.summary)
                             .where(JobResult.name == name)).first()
    if row is None:
        return None
    try:
        found = json.loads(row.summary)
    except ValueError:
        return None
    return row.finished_at, found if isinstance(found, dict) else {}
