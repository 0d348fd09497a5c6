"""The one audit writer.

``record()`` appends an event to the chain inside the caller's transaction: if the action's
transaction rolls back, so does its event, and if the event cannot be written the action fails.
Each event's MAC is HMAC-SHA256 over the previous MAC and the event's canonical form
(``app.audit.canonical``), under an audit key held outside the database.

Concurrency: the first statement is a no-op UPDATE of the head row that returns it, which takes
the head's row lock (PostgreSQL) and the database write lock (SQLite, where BEGIN IMMEDIATE has
taken it already). The lock is held until the transaction ends, so writers queue and extend one
chain without forks or gaps. The head moves only together with a written event: if anything
fails in between and a caller still commits, the head is as it was and the chain stays whole.

Every request writes here, so the statements are built once and the fixed SQL on the head row
goes straight to the driver's cursor; the event row itself goes through SQLAlchemy, which
converts UUIDs and times for the backend. On PostgreSQL the event and the head's new MAC are
written by one statement, one round trip less while the head lock is held.

Each appended sequence number is passed to ``app.audit.autocheckpoint``, which signs the head
outside the database every N events and every T minutes; each append's time, head lock wait
included, goes to the ``amana_audit_append_duration_seconds`` histogram.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from time import perf_counter
from typing import Any, NamedTuple

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import bindparam, insert, select, update

from app.audit.actions import Action, Outcome
from app.audit.autocheckpoint import appended
from app.audit.canonical import compute_mac
from app.audit.models import AuditEvent, AuditHead
from app.clock import utcnow
from app.db import db
from app.observability.metrics import AUDIT_APPEND_SECONDS

_EVENTS = AuditEvent.__table__
_LOCK_HEAD = "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, mac"
# SQLite: insert the event, then move the head (no INSERT inside WITH there).
_APPEND = insert(_EVENTS)
_SET_HEAD_SQLITE = "UPDATE audit_head SET seq = ?, mac = ? WHERE id = 1"
# PostgreSQL: both in one statement.
_APPENDED = (insert(_EVENTS).values({c.name: bindparam(f"ev_{c.name}", type_=c.type)
                                     for c in _EVENTS.c})
             .returning(_EVENTS.c.seq, _EVENTS.c.mac).cte("appended"))
_APPEND_AND_ADVANCE = (update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                       .values(seq=select(_APPENDED.c.seq).scalar_subquery(),
                               mac=select(_APPENDED.c.mac).scalar_subquery()))


class Recorded(NamedTuple):
    """What ``record()`` appended: its place in the chain and its MAC."""

    seq: int
    occurred_at: datetime
    mac: bytes


def _context(actor: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {"actor_id": None, "actor_role": None, "organisation_id": None,
                           "request_id": None, "client_address": None}
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    if actor is not None:
        ctx.update(actor_id=actor.id, actor_role=actor.role,
                   organisation_id=actor.organisation_id)
    if has_request_context():
        ctx["request_id"] = g.get("request_id")
        ctx["client_address"] = request.remote_addr
    return ctx


def record(
    action: Action,
    *,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    outcome: Outcome = Outcome.ALLOWED,
    reason: str | None = None,
    actor: Any = None,
) -> Recorded:
    """Append one event to the chain in the current transaction.

    ``reason`` is a short code (a justification is recorded as its reason code and the length of
    its text, never the text); it must never carry survivor data. Raises whatever the database
    raises (and ``CanonicalError`` for a value holding NUL or U+001F): callers let it propagate
    so the action fails.
    """
    started = perf_counter()
    conn = db.session.connection()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # None only after a detach
    try:
        cursor.execute(_LOCK_HEAD)
        head = cursor.fetchone()
        if head is None:
            raise RuntimeError("audit chain head is missing; run 'flask db upgrade'")
        seq, prev_mac = int(head[0]) + 1, bytes(head[1])
        fields: dict[str, Any] = {
            "seq": seq,
            "occurred_at": utcnow(),
            "action": str(action),
            "object_type": object_type,
            "object_id": str(object_id) if object_id is not None else None,
            "outcome": str(outcome),
            "reason": reason,
            **_context(actor),
        }
        mac = compute_mac(current_app.config["KEY_AUDIT_HMAC"], prev_mac, fields)
        row = {"prev_mac": prev_mac, "mac": mac, **fields}
        if conn.dialect.name == "postgresql":
            conn.execute(_APPEND_AND_ADVANCE, {f"ev_{k}": v for k, v in row.items()})
        else:
            conn.execute(_APPEND, row)
            cursor.execute(_SET_HEAD_SQLITE, (seq, mac))
    finally:
        cursor.close()
    appended(seq)  # every N events, a signed checkpoint once this commits
    AUDIT_APPEND_SECONDS.observe(perf_counter() - started)  # a few microseconds
    return Recorded(seq, fields["occurred_at"], mac)
