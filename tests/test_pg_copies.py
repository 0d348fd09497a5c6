"""The PostgreSQL run hands each test the same database, put back as the template was
(tests/helpers/databases.py). These tests check that the putting back is complete: rows,
sequence positions and open connections; and that a test that changed anything more gets a new
copy of the template instead."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from tests.helpers.apps import BACKEND
from tests.helpers.databases import PgCopies, connect

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")


def _state(url: str) -> tuple:
    """Every row of every table and every sequence position, as text."""
    with connect(url) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall()))
                for t in tables}
        seqs = conn.execute("SELECT sequencename, last_value FROM pg_sequences "
                            "WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return rows, seqs


@pytest.fixture
def pool(template):
    copies = PgCopies(sa.make_url(template[0]).database or "")
    yield copies
    copies.discard()


def test_rows_and_sequences_are_put_back(pool):
    first = pool.take()
    fresh = _state(first)
    assert any(fresh[0].values()), "the template holds the test world"
    with connect(first) as conn:
        conn.execute("SET session_replication_role = replica")  # past the audit guards
        for table in fresh[0]:
            conn.execute(f'DELETE FROM "{table}"')
        for (seq,) in conn.execute("SELECT sequencename FROM pg_sequences "
                                   "WHERE schemaname = 'public'").fetchall():
            conn.execute(f"SELECT nextval('{seq}'), nextval('{seq}')")
    assert _state(first) != fresh
    second = pool.take()
    assert (pool.made, pool.reused) == (1, 1)
    assert second != first  # a URL of its own (the app keeps files per URL)
    assert _state(second) == fresh


def test_an_open_connection_is_closed_before_the_next_test(pool):
    first = pool.take()
    left_open = connect(first)
    left_open.autocommit = False
    left_open.execute("SELECT * FROM users FOR UPDATE")  # a transaction holding row locks
    pool.take()  # would wait forever on the locks if the connection were left
    assert pool.reused == 1
    assert left_open.closed or left_open.broken or _closed(left_open)


def _closed(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


@pytest.mark.parametrize("change", [
    "ALTER TABLE users ADD COLUMN extra text",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "CREATE TABLE public.extra (id int)",
    "REVOKE ALL ON cases FROM PUBLIC; GRANT SELECT ON cases TO PUBLIC",
    "ALTER DATABASE {db} SET work_mem = '8MB'",
    "DROP INDEX IF EXISTS ix_audit_events_actor_id",
    "CREATE FUNCTION public.extra() RETURNS int LANGUAGE sql AS 'SELECT 1'",
])
def test_a_changed_database_is_replaced_by_a_new_copy(pool, change):
    first = pool.take()
    name = sa.make_url(first).database
    with connect(first) as conn:
        conn.execute(change.format(db=name))
    second = pool.take()
    assert (pool.made, pool.reused) == (2, 0), change
    assert sa.make_url(second).database != name
    with connect(second) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() == (0,)
