"""The one audit writer.

``record()`` appends an event to the chain inside the caller's transaction: if the action's
transaction rolls back, so does its event, and if the event cannot be written the action fails.
Each event's MAC is HMAC-SHA256 over the previous MAC and the event's canonical form, under an
audit key held outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import select, update

from app.audit.actions import Action, Outcome
from app.audit.models import AuditEvent, AuditHead
from app.clock import utcnow
from app.db import db

GENESIS_MAC = b"\x00" * 32
CANONICAL_FIELDS = (
    "seq", "occurred_at", "actor_id", "actor_role", "organisation_id", "action", "object_type",
    "object_id", "outcome", "reason", "request_id", "client_address",
)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return str(value)


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes an event's MAC covers: its fields as sorted, compact JSON."""
    data = {name: _text(fields.get(name)) for name in CANONICAL_FIELDS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def compute_mac(key: bytes, prev_mac: bytes, fields: dict[str, Any]) -> bytes:
    """HMAC-SHA256 over the previous MAC followed by the canonical form."""
    return hmac.new(key, prev_mac + canonical(fields), hashlib.sha256).digest()


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
) -> AuditEvent:
    """Append one event to the chain in the current transaction and flush it.

    ``reason`` is a short code or a staff-written justification; it must never carry survivor
    data. Raises whatever the database raises: callers let it propagate so the action fails.
    """
    session = db.session
    # Take the write lock on the head first (UPDATE before SELECT): on PostgreSQL concurrent
    # writers queue on this row, on SQLite the write lock is taken before anything is read.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    head = session.execute(
        select(AuditHead.seq, AuditHead.mac).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        raise RuntimeError("audit chain head is missing; run 'flask db upgrade'")
    fields: dict[str, Any] = {
        "seq": head.seq,
        "occurred_at": utcnow(),
        "action": str(action),
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "outcome": str(outcome),
        "reason": reason,
        **_context(actor),
    }
    mac = compute_mac(current_app.config["KEY_AUDIT_HMAC"], head.mac, fields)
    event = AuditEvent(prev_mac=head.mac, mac=mac, **fields)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(mac=mac))
    session.flush()
    return event
