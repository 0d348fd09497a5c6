"""A least-privilege runtime role for tests that start the app in production on PostgreSQL
(where start-up refuses a superuser or a table owner: app/dbroles.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from app.dbroles import grant_runtime
from tests.helpers.apps import BACKEND, pg_admin


@contextmanager
def runtime_role_uri(db_uri: str) -> Iterator[str]:
    """``db_uri`` as a new runtime role granted exactly its privileges (PostgreSQL); the same
    URI on SQLite, which has no roles. The role is dropped afterwards."""
    if BACKEND != "postgresql":
        yield db_uri
        return
    role = f"amana_rt_{uuid.uuid4().hex[:10]}"
    pg_admin(f"CREATE ROLE {role} LOGIN")
    engine = sa.create_engine(db_uri)
    try:
        with engine.begin() as conn:  # as the test database's owner
            grant_runtime(conn, role)
        yield sa.make_url(db_uri).set(username=role, password=None).render_as_string(
            hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
        engine.dispose()
        pg_admin(f"DROP ROLE IF EXISTS {role}")
