"""The one audit writer.

``record()`` appends an event to the chain inside the caller's transaction: if the action's
transaction rolls back, so does its event, and if the event cannot be written the action fails.
Each event's MAC is HMAC-SHA256 over the previous MAC and the event's canonical form
(``app.audit.canonical``), under an audit key held outside the database.

Concurrency: the first statement increments the head row and returns it, which takes the head's
row lock (PostgreSQL) or runs under the write lock taken at BEGIN IMMEDIATE (SQLite). The lock is
held until the transaction ends, so writers queue and extend one chain without forks or gaps.

Every request writes here, so the two statements on the head row go straight to the driver's
cursor (they are fixed SQL, the same on both databases); the event row itself is inserted
through SQLAlchemy, which converts UUIDs and times for the backend.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from app.audit.actions import Action, Outcome
from app.audit.canonical import compute_mac
from app.audit.models import AuditEvent
from app.clock import utcnow
from app.db import db

_APPEND = insert(AuditEvent.__table__)  # built once; executed with a parameter dict
_LOCK_HEAD = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, mac"
_SET_MAC = {"qmark": "UPDATE audit_head SET mac = ? WHERE id = 1",
            "numeric": "UPDATE audit_head SET mac = :1 WHERE id = 1"}
_SET_MAC_DEFAULT = "UPDATE audit_head SET mac = %s WHERE id = 1"  # format / pyformat drivers


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

    ``reason`` is a short code or a staff-written justification; it must never carry survivor
    data. Raises whatever the database raises (and ``CanonicalError`` for a value holding NUL
    or U+001F): callers let it propagate so the action fails.
    """
    conn = db.session.connection()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_LOCK_HEAD)
        head = cursor.fetchone()
        if head is None:
            raise RuntimeError("audit chain head is missing; run 'flask db upgrade'")
        seq, prev_mac = int(head[0]), bytes(head[1])
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
        conn.execute(_APPEND, {"prev_mac": prev_mac, "mac": mac, **fields})
        cursor.execute(_SET_MAC.get(conn.dialect.paramstyle, _SET_MAC_DEFAULT), (mac,))
    finally:
        cursor.close()
    return Recorded(seq, fields["occurred_at"], mac)
