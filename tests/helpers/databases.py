"""Fresh PostgreSQL databases for tests, without making one per test.

``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE`` cost about a third of a second together on
CI's machine, for each of some 1,800 tests: a third of the PostgreSQL run. :class:`PgCopies`
keeps one copy of the template and, before handing it to the next test, puts it back exactly as
the template was: the rows of every table (deleted, then copied back from a snapshot taken of
the template once), every sequence's position, and no other connection left open. A test that
changed anything but rows and sequences (a table, column, trigger, grant, policy, function or
setting: anything the catalogue fingerprint below covers) gets its copy dropped, and the next test
a new one made from the template, as before.

The URL handed out differs for each test (its ``application_name``), so what the app keeps
outside the database per URL (the audit checkpoint file) is never shared between two tests.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.helpers.apps import PG_URL, pg_admin, pg_url

# Everything a test could change in a database besides rows and sequence positions. Object
# identifiers are kept in: a table dropped and made again under the same name differs.
FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
  SELECT format('class %s %s %s %s %s %s %s %s', c.oid, c.relname, n.nspname, c.relkind,
                c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity) AS item
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL
  SELECT format('column %s %s %s %s %s %s', a.attrelid, a.attname, a.atttypid, a.attnotnull,
                a.attacl, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s %s %s %s', oid, conname, conrelid, convalidated) FROM pg_constraint
   WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  UNION ALL
  SELECT format('trigger %s %s %s %s', oid, tgname, tgrelid, tgenabled) FROM pg_trigger
  UNION ALL
  SELECT format('function %s %s %s %s %s', oid, proname, proowner, proacl, md5(prosrc))
    FROM pg_proc
   WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  UNION ALL
  SELECT format('schema %s %s %s %s', oid, nspname, nspowner, nspacl) FROM pg_namespace
  UNION ALL
  SELECT format('policy %s %s %s', oid, polname, polrelid) FROM pg_policy
  UNION ALL
  SELECT format('default acl %s', defaclacl) FROM pg_default_acl
  UNION ALL
  SELECT format('extension %s %s', extname, extversion) FROM pg_extension
  UNION ALL
  SELECT format('database %s %s %s', datname, datacl, datconnlimit) FROM pg_database
   WHERE datname = current_database()
  UNION ALL
  SELECT format('setting %s %s', setrole, setconfig) FROM pg_db_role_setting
   WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) AS everything
"""

TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
SEQUENCES = ("SELECT schemaname, sequencename, last_value FROM pg_sequences "
             "WHERE schemaname = 'public' ORDER BY sequencename")
OTHERS = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def connect(url: str) -> psycopg.Connection:
    """An autocommit psycopg connection to a test database's SQLAlchemy ``url``."""
    u = sa.make_url(url)
    params = {"host": u.host, "port": u.port, "user": u.username, "password": u.password,
              "dbname": u.database, **{k: v for k, v in u.query.items() if isinstance(v, str)}}
    return psycopg.connect(make_conninfo(**{k: v for k, v in params.items() if v is not None}),
                           autocommit=True)


def _connect(name: str) -> psycopg.Connection:
    return connect(pg_url(PG_URL, name))


class PgCopies:
    """One reusable copy of the PostgreSQL template for the tests of this process."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.rows: dict[str, bytes] = {}
        self.sequences: list[tuple[str, str, int | None]] = []
        with _connect(template) as conn:
            for (table,) in conn.execute(TABLES).fetchall():
                with conn.cursor().copy(sql.SQL("COPY public.{} TO STDOUT (FORMAT binary)")
                                        .format(sql.Identifier(table))) as copy:
                    self.rows[table] = b"".join(bytes(chunk) for chunk in copy)
            self.sequences = [tuple(r) for r in conn.execute(SEQUENCES).fetchall()]
        self.current: str | None = None
        self.fingerprint = ""
        self.names = itertools.count(1)
        self.made = self.reused = 0

    def take(self) -> str:
        """The URL of a database holding exactly what the template holds."""
        if self.current is None or not self._restored(self.current):
            self.discard()
            name = f"amana_t_{uuid.uuid4().hex[:10]}"
            pg_admin(f"CREATE DATABASE {name} TEMPLATE {self.template}")
            self.current = name
            self.made += 1
            with _connect(name) as conn:
                self.fingerprint = self._fingerprint(conn)
        else:
            self.reused += 1
        url = sa.make_url(pg_url(PG_URL, self.current))
        return url.update_query_dict({"application_name": f"amana-test-{next(self.names)}"}) \
            .render_as_string(hide_password=False)

    def discard(self) -> None:
        """Drop the copy (at the end of the run, or when a test changed more than rows)."""
        if self.current is not None:
            pg_admin(f"DROP DATABASE IF EXISTS {self.current} WITH (FORCE)")
            self.current = None

    @staticmethod
    def _fingerprint(conn: psycopg.Connection) -> str:
        row = conn.execute(FINGERPRINT).fetchone()
        assert row is not None
        return str(row[0])

    def _restored(self, name: str) -> bool:
        """Put the template's rows and sequence positions back in ``name``; False (nothing
        restored) when the test changed the database in any other way."""
        with _connect(name) as conn:
            conn.execute(OTHERS)
            if self._fingerprint(conn) != self.fingerprint:
                return False
            with conn.transaction():
                # Triggers (the audit trail's guards, foreign keys) are for the app, not for
                # putting the template back.
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute("SET LOCAL lock_timeout = '10s'")  # fail, never hang
                for table in self.rows:
                    conn.execute(sql.SQL("DELETE FROM public.{}").format(sql.Identifier(table)))
                for table, data in self.rows.items():
                    with conn.cursor().copy(sql.SQL("COPY public.{} FROM STDIN (FORMAT binary)")
                                            .format(sql.Identifier(table))) as copy:
                        copy.write(data)
                for schema, seq, last in self.sequences:
                    name_ = sql.Literal(f"{schema}.{seq}")
                    if last is None:  # never used: the next value is the start
                        conn.execute(sql.SQL("SELECT setval({}, (SELECT start_value FROM "
                                             "pg_sequences WHERE schemaname = {} AND "
                                             "sequencename = {}), false)").format(
                            name_, sql.Literal(schema), sql.Literal(seq)))
                    else:
                        conn.execute(sql.SQL("SELECT setval({}, {}, true)").format(
                            name_, sql.Literal(last)))
        return True


def empty_database(engine_name: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of ``engine_name`` for one test (PostgreSQL: made and dropped)."""
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'roundtrip.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL")
    name = f"amana_roundtrip_{uuid.uuid4().hex[:8]}"
    pg_admin(f"CREATE DATABASE {name}")
    try:
        yield pg_url(PG_URL, name)
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
