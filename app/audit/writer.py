"""The one audit writer.

``record()`` appends an event to the chain inside the caller's transaction: if the action's
transaction rolls back, so does its event, and if the event cannot be written the action fails.
Each event's MAC is HMAC-SHA256 over the previous MAC and the event's canonical form
(``app.audit.canonical``), under an audit key held outside the database.

Concurrency: events form several independent chains (``AUDIT_CHAINS``: 4 on PostgreSQL, 1 on
SQLite, which has one writer anyway). The first statement locks one chain's head row and
returns it, and the lock is held until the transaction ends, so writers on one chain queue and
extend it without forks or gaps, while writers on other chains go ahead. On PostgreSQL a writer
takes the first head no one else holds (``FOR UPDATE SKIP LOCKED``), starting from the one its
connection used last (so that a transaction that records twice stays on one chain and two
transactions never wait on each other's heads); only when all are held does it wait for its
own. The event's global ``seq`` is drawn from a sequence once the head is locked, so it grows
along each chain. On SQLite the head is locked by a no-op UPDATE (BEGIN IMMEDIATE has taken the
database write lock already) and ``seq`` is the highest stored plus one. The head moves only
together with a written event: if anything fails in between and a caller still commits, the
head is as it was and the chain stays whole.

Every request writes here, so the statements are built once and the fixed SQL on the head row
goes straight to the driver's cursor; the event row itself goes through SQLAlchemy, which
converts UUIDs and times for the backend. On PostgreSQL the event and the head's new MAC are
written by one statement, one round trip less while the head lock is held.

Each appended sequence number is passed to ``app.audit.autocheckpoint``, which signs the head
outside the database every N events and every T minutes; each append's time, head lock wait
included, goes to the ``amana_audit_append_duration_seconds`` histogram.
"""

from __future__ import annotations

import itertools
import os
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
_HEADS = AuditHead.__table__
STEP_UP_MARK = "amana_step_up_mark"  # ``g`` key set by app.auth.stepup (audit imports no auth)
CHAIN_INFO = "amana_audit_chain"  # connection.info: the chain this connection appended to last
_first_choice = itertools.count(os.getpid())
# SQLite: lock the head with a no-op update, and number the event after the highest stored.
_LOCK_HEAD_SQLITE = ("UPDATE audit_head SET seq = seq WHERE id = ? RETURNING id, seq, mac, "
                     "(SELECT coalesce(max(seq), 0) + 1 FROM audit_events)")
# PostgreSQL: lock the first free head from the preferred one on, or wait for the preferred one.
# nextval() is outside the locking subquery, so it is drawn only once the head is held.
_TAKE_FREE_HEAD = ("SELECT h.id, h.seq, h.mac, nextval('audit_events_seq') FROM "
                   "(SELECT id, seq, mac FROM audit_head WHERE id < %(n)s "
                   "ORDER BY (id + %(n)s - %(first)s) %% %(n)s "
                   "LIMIT 1 FOR UPDATE SKIP LOCKED) h")
_WAIT_FOR_HEAD = ("SELECT h.id, h.seq, h.mac, nextval('audit_events_seq') FROM "
                  "(SELECT id, seq, mac FROM audit_head WHERE id = %(first)s "
                  "LIMIT 1 FOR UPDATE) h")
# SQLite: insert the event, then move the head (no INSERT inside WITH there).
_APPEND = insert(_EVENTS)
_SET_HEAD_SQLITE = "UPDATE audit_head SET seq = ?, mac = ? WHERE id = ?"
# PostgreSQL: both in one statement.
_APPENDED = (insert(_EVENTS).values({c.name: bindparam(f"ev_{c.name}", type_=c.type)
                                     for c in _EVENTS.c})
             .returning(_EVENTS.c.seq, _EVENTS.c.mac).cte("appended"))
_APPEND_AND_ADVANCE = (update(_HEADS).where(_HEADS.c.id == bindparam("ev_chain"))
                       .values(seq=select(_APPENDED.c.seq).scalar_subquery(),
                               mac=select(_APPENDED.c.mac).scalar_subquery()))


class Recorded(NamedTuple):
    """What ``record()`` appended: its place in the trail, its MAC and its chain."""

    seq: int
    occurred_at: datetime
    mac: bytes
    chain: int = 0


def chains(app: Any = None) -> int:
    """How many chains the writers use: ``AUDIT_CHAINS``, or the engine's default."""
    configured = (app or current_app).config.get("AUDIT_CHAINS")
    if configured:
        return int(configured)
    return 4 if db.engine.dialect.name == "postgresql" else 1


def _lock_head(conn: Any, cursor: Any) -> tuple[int, int, bytes, int]:
    """Lock one chain's head: (chain, its last seq, its last MAC, the new event's seq)."""
    n = chains()
    first = conn.info.get(CHAIN_INFO)
    if first is None or first >= n:
        first = next(_first_choice) % n
    if conn.dialect.name == "postgresql":
        params = {"n": n, "first": first}
        cursor.execute(_TAKE_FREE_HEAD, params)
        head = cursor.fetchone()
        if head is None:  # every head is held: queue for this connection's own
            cursor.execute(_WAIT_FOR_HEAD, params)
            head = cursor.fetchone()
    else:
        cursor.execute(_LOCK_HEAD_SQLITE, (first,))
        head = cursor.fetchone()
    if head is None:
        raise RuntimeError("audit chain head is missing; run 'flask db upgrade'")
    conn.info[CHAIN_INFO] = int(head[0])
    return int(head[0]), int(head[1]), bytes(head[2]), int(head[3])


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
    if has_request_context() and action is not Action.AUTH_STEP_UP:
        # A dangerous action's events say it ran under a fresh second factor (app.auth.stepup).
        step_up = g.get(STEP_UP_MARK)
        if step_up:
            reason = f"{reason};{step_up}" if reason else step_up
    conn = db.session.connection()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # None only after a detach
    try:
        chain, _last, prev_mac, seq = _lock_head(conn, cursor)
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
        row = {"prev_mac": prev_mac, "mac": mac, "chain": chain, **fields}
        if conn.dialect.name == "postgresql":
            conn.execute(_APPEND_AND_ADVANCE, {f"ev_{k}": v for k, v in row.items()})
        else:
            conn.execute(_APPEND, row)
            cursor.execute(_SET_HEAD_SQLITE, (seq, mac, chain))
    finally:
        cursor.close()
    appended(seq)  # every N events, a signed checkpoint once this commits
    AUDIT_APPEND_SECONDS.observe(perf_counter() - started)  # a few microseconds
    return Recorded(seq, fields["occurred_at"], mac, chain)
