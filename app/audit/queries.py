"""Reads of the trail for the auditor's workspace: filtered pages, exports, recent runs.

Pages use keyset pagination on the sequence number (newest first): a page is "the 50 events
before seq N" or "the 50 after seq N", so every page costs the same on a trail of millions of
events. Only metadata is read; the MAC columns are left to verification.

Events name a case by its internal id, while people know it by its number; so a case number
typed by the auditor is resolved to the case's id (also for an erased case, whose tombstone
keeps the number and whose erase event keeps the id), and a record history shows the number of
the case a record belongs to. Both are asked of the features that own those records
(``app.audit.resolvers``): this module reads the trail and the accounts only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select

from app.audit import resolvers
from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.audit.resolvers import CaseNumber
from app.auth.models import User
from app.core.ids import parse_uuid
from app.db import db

PAGE_SIZE = 50
EXPORT_BATCH = 2_000

COLUMNS = (
    AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor_id, AuditEvent.actor_role,
    AuditEvent.organisation_id, AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id,
    AuditEvent.outcome, AuditEvent.reason, AuditEvent.request_id, AuditEvent.client_address,
)


@dataclass(frozen=True)
class EventFilter:
    """What the auditor narrowed the trail to; every value is an id, a code or a time.

    ``same_as`` holds the ids ``object_id`` also stands for (a case number's case id): events
    naming any of them match.
    """

    actor_id: uuid.UUID | None = None
    object_type: str | None = None
    object_id: str | None = None
    same_as: tuple[str, ...] = ()
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions for this filter."""
        out: list[ColumnElement[bool]] = []
        if self.actor_id is not None:
            out.append(AuditEvent.actor_id == self.actor_id)
        if self.object_type:
            out.append(AuditEvent.object_type == self.object_type)
        if self.object_id:
            out.append(AuditEvent.object_id.in_((self.object_id, *self.same_as)))
        if self.action:
            out.append(AuditEvent.action == self.action)
        if self.outcome:
            out.append(AuditEvent.outcome == self.outcome)
        if self.since is not None:
            out.append(AuditEvent.occurred_at >= self.since)
        if self.until is not None:
            out.append(AuditEvent.occurred_at < self.until)
        return out

    def summary(self) -> str | None:
        """The filter as a short code for the audit row of the search itself."""
        parts = [f"{name}={value}" for name, value in (
            ("actor", self.actor_id), ("type", self.object_type), ("object", self.object_id),
            ("action", self.action), ("outcome", self.outcome),
            ("since", self.since.isoformat(timespec="minutes") if self.since else None),
            ("until", self.until.isoformat(timespec="minutes") if self.until else None),
        ) if value]
        return ";".join(parts)[:500] or None


@dataclass(frozen=True)
class Page:
    """One page of events (newest first) and the keys of the pages around it."""

    rows: list[Row[Any]]
    newer: int | None   # show events after this seq
    older: int | None   # show events before this seq


def _base(f: EventFilter) -> Select[*tuple[Any, ...]]:
    return (select(*COLUMNS, User.username)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(*f.conditions()))


def events_page(f: EventFilter, *, before: int | None = None, after: int | None = None,
                size: int = PAGE_SIZE) -> Page:
    """Events matching ``f``: the newest, those before ``before``, or those after ``after``."""
    if after is not None:
        found = list(db.session.execute(
            _base(f).where(AuditEvent.seq > after).order_by(AuditEvent.seq.asc()).limit(size + 1)))
        more_newer = len(found) > size
        rows = found[:size][::-1]
        return Page(rows, rows[0].seq if more_newer and rows else None,
                    rows[-1].seq if rows else after + 1)
    stmt = _base(f)
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    found = list(db.session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(size + 1)))
    rows = found[:size]
    return Page(rows, rows[0].seq if before is not None and rows else None,
                rows[-1].seq if len(found) > size else None)


def export_batches(f: EventFilter, batch: int = EXPORT_BATCH) -> Iterator[list[Row[Any]]]:
    """Every event matching ``f``, newest first, in batches.

    Each batch is its own short read (no transaction is held between batches, so a long export
    never blocks writers); events appended meanwhile are newer than the first batch and left out.
    """
    before: int | None = None
    while True:
        stmt = _base(f)
        if before is not None:
            stmt = stmt.where(AuditEvent.seq < before)
        rows = list(db.session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(batch)))
        db.session.rollback()
        if not rows:
            return
        yield rows
        before = rows[-1].seq


def resolve_actor(text: str) -> uuid.UUID | None:
    """An account id from what the auditor typed: an id, or an exact username."""
    parsed = parse_uuid(text)
    if parsed is not None:
        return parsed
    return db.session.execute(
        select(User.id).where(func.lower(User.username) == text.strip().casefold())
    ).scalar_one_or_none()


def case_ids(text: str) -> tuple[str, ...]:
    """The ids ``text`` also stands for (the case numbered ``text``, live or erased), or ()."""
    if parse_uuid(text) is not None:
        return ()
    return tuple(dict.fromkeys(i for ids in resolvers.aliases.collect(text) for i in ids))


def case_number_of(object_type: str, object_id: str) -> CaseNumber | None:
    """The number of the case ``object_id`` is (or belongs to), for the record history."""
    return resolvers.case_number.first(object_type, object_id)


def username(user_id: uuid.UUID) -> str | None:
    """The username of an account, if it exists."""
    return db.session.execute(select(User.username).where(User.id == user_id)).scalar_one_or_none()


def recent_runs(limit: int = 10) -> list[Row[Any]]:
    """The latest verification and checkpoint runs (newest first)."""
    stmt = _base(EventFilter()).where(
        AuditEvent.action.in_((Action.AUDIT_VERIFY.value, Action.AUDIT_CHECKPOINT.value))
    ).order_by(AuditEvent.seq.desc()).limit(limit)
    return list(db.session.execute(stmt))
