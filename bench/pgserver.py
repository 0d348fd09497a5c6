"""The PostgreSQL server the benchmarks use: the one of ``TEST_DATABASE_URL`` (or the local
default), a throw-away database on it for one run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def url(base: str, name: str | None) -> str:
    """``base`` for psycopg, pointed at database ``name`` (None: as given)."""
    u = sa.make_url(base).set(drivername="postgresql+psycopg")
    if name is not None:
        u = u.set(database=name)
    return u.render_as_string(hide_password=False)


def reachable() -> tuple[str | None, str]:
    """The server URL to use, or None and why it cannot be reached."""
    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT
    try:
        engine = sa.create_engine(url(base, None), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # unreachable for whatever reason: skip the PostgreSQL part
        return None, exc.__class__.__name__
    return base, ""


def admin(base: str, sql: str) -> None:
    engine = sa.create_engine(url(base, None), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@contextmanager
def scratch(base: str) -> Iterator[str]:
    """A new empty database on the server for the block (its URL), dropped afterwards."""
    name = f"amana_bench_{uuid.uuid4().hex[:8]}"
    admin(base, f"CREATE DATABASE {name}")
    try:
        yield url(base, name)
    finally:
        admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
