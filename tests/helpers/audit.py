"""The audit trail in tests: record and read events, fill the trail, break its writes, and
tamper with it the way someone with database access would, below the application and with the
triggers switched off."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from app.audit.actions import Action, Outcome
from app.audit.canonical import compute_mac
from app.audit.models import AuditEvent
from app.audit.verify import VerifyResult, verify_chain
from app.audit.writer import record
from app.auth.models import User
from app.db import db, transaction
from tests.helpers.factories import World

FIELDS = ("occurred_at", "actor_id", "actor_role", "organisation_id", "action", "object_type",
          "object_id", "outcome", "reason", "request_id", "client_address", "prev_mac", "mac")


def fill(app: Flask, n: int, *, username: str = "caseworker") -> int:
    """Append ``n`` varied events through the real writer; returns the last sequence number."""
    with app.app_context():
        actor = db.session.execute(select(User).where(User.username == username)).scalar_one()
        last = 0
        for i in range(n):
            with transaction():
                last = record(
                    (Action.AUTH_LOGIN, Action.USER_VIEW, Action.ACCESS_DENIED)[i % 3],
                    object_type=("user", None, "endpoint")[i % 3],
                    object_id=(uuid.uuid4(), None, "admin.users")[i % 3],
                    outcome=(Outcome.ALLOWED, Outcome.ALLOWED, Outcome.DENIED)[i % 3],
                    reason=(None, "", "role — دور ✓")[i % 3],
                    actor=actor if i % 4 else None,
                ).seq
        return last


def verify(app: Flask, **kwargs: Any) -> VerifyResult:
    """Verify the test database's trail."""
    with app.app_context():
        return verify_chain(db.engine, app.config["KEY_AUDIT_HMAC"], **kwargs)


@contextmanager
def unlocked(app: Flask) -> Iterator[sa.Connection]:
    """A connection on which the append-only and head triggers do not fire, as the tables'
    owner could arrange (test databases only)."""
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                for name in ("audit_events_no_update", "audit_events_no_delete",
                             "audit_head_forward", "audit_head_no_delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            else:
                conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
                conn.exec_driver_sql("ALTER TABLE audit_head DISABLE TRIGGER USER")
            yield conn
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")
                conn.exec_driver_sql("ALTER TABLE audit_head ENABLE TRIGGER USER")


def row(conn: sa.Connection, seq: int) -> dict[str, Any]:
    """One stored event as a dict of its columns."""
    found = conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq == seq)).mappings().one()
    return dict(found)


def put(conn: sa.Connection, seq: int, values: dict[str, Any]) -> None:
    """Overwrite columns of event ``seq`` (raw UPDATE, triggers off)."""
    table = AuditEvent.__table__
    conn.execute(sa.update(table).where(table.c.seq == seq).values(**values))


def delete(conn: sa.Connection, seq: int) -> None:
    """Remove event ``seq``."""
    table = AuditEvent.__table__
    conn.execute(sa.delete(table).where(table.c.seq == seq))


def renumber_after(conn: sa.Connection, seq: int, last: int) -> None:
    """Close the gap left at ``seq`` by moving every later event down by one."""
    for s in range(seq + 1, last + 1):
        put(conn, s, {"seq": s - 1})


def set_head(conn: sa.Connection, seq: int, mac: bytes, chain: int | None = None) -> None:
    """Point the head row of ``chain`` (by default event ``seq``'s, chain 0 for 0) at ``seq`` /
    ``mac``."""
    if chain is None:
        chain = row(conn, seq)["chain"] if seq else 0
    conn.execute(sa.text("UPDATE audit_head SET seq = :s, mac = :m WHERE id = :c")
                 .bindparams(sa.bindparam("s", seq), sa.bindparam("c", chain),
                             sa.bindparam("m", mac, type_=sa.LargeBinary)))


def rewrite_from(conn: sa.Connection, app: Flask, seq: int, last: int) -> None:
    """What someone holding the audit key could do: edit ``seq`` and re-seal everything after."""
    key = app.config["KEY_AUDIT_HMAC"]
    prev = row(conn, seq)["prev_mac"]
    for s in range(seq, last + 1):
        values = row(conn, s)
        if s == seq:
            values["reason"] = "rewritten"
        values["prev_mac"] = prev
        values["mac"] = compute_mac(key, prev, values)
        put(conn, s, {"reason": values["reason"], "prev_mac": prev, "mac": values["mac"]})
        prev = values["mac"]
    set_head(conn, last, prev)


def random_mac() -> bytes:
    """32 random bytes, which nobody without the key can tell from a MAC, but which never verify."""
    return os.urandom(32)


def add(app: Flask, world: World, action: str, *, actor: str | None = "caseworker",
        **fields: Any) -> int:
    """Record one event (any action code) as ``actor``; returns its sequence number."""
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users[actor])) if actor else None
        with transaction():
            return record(action, actor=user, **fields).seq  # type: ignore[arg-type]


def events(app: Flask, action: str | None = None, **where: Any) -> list[AuditEvent]:
    """Audit events with ``action`` (any if None) and the given column values, oldest first."""
    with app.app_context():
        stmt = select(AuditEvent).where(*(getattr(AuditEvent, k) == v for k, v in where.items()))
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        rows = list(db.session.execute(stmt.order_by(AuditEvent.seq)).scalars())
        db.session.expunge_all()
        return rows


def seqs_on(page: str) -> list[int]:
    """The sequence numbers listed on an audit page."""
    return [int(s) for s in re.findall(r'<td class="audit-seq">(\d+)</td>', page)]


def break_audit_inserts(app: Flask) -> None:
    """From now on every INSERT into the trail fails inside the database."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("CREATE TRIGGER audit_down BEFORE INSERT ON audit_events "
                                 "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END")
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$")
            conn.exec_driver_sql("CREATE TRIGGER audit_down BEFORE INSERT ON audit_events "
                                 "FOR EACH ROW EXECUTE FUNCTION audit_down()")
