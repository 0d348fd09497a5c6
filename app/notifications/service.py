"""Creating, counting, showing and pruning notifications: every rule about them is here.

``notify`` adds rows in the caller's transaction (the change it announces and its notifications
commit or roll back together). What a notification says is built when it is shown
(``shown``): the kind's text with the reference the reader may see now, from
``hooks.notification_targets``; a notification whose record the reader can no longer open is
deleted instead of shown, so it never hints at what it was about.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import g, has_app_context
from sqlalchemy import delete, func, select, update

from app.auth import sessions
from app.clock import utcnow
from app.core import hooks
from app.db import db
from app.notifications import email
from app.notifications.kinds import TEXTS, URGENT, Kind, Target
from app.notifications.models import Notification

PAGE_SIZE = 25
KEEP_READ_DAYS = 30      # a read notification is deleted after this many days
KEEP_DAYS = 90           # any notification is deleted after this many days
KEEP_PER_USER = 200      # and no reader keeps more than this many
UNREAD = "unread_notifications"  # ``g`` key of the bell's number (``app.ui``)


def _unread_of(user_id: Any) -> Any:
    """The bell's number as a subquery on a user id column."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .scalar_subquery())


# Every page shows the bell: its number is read with the session, in the same statement.
sessions.READ_WITH_SESSION[UNREAD] = _unread_of


def _changed() -> None:
    """Notifications were added, read or deleted in this request: the bell counts again."""
    if has_app_context():
        g.pop(UNREAD, None)


@dataclass(frozen=True)
class Shown:
    """One notification as its reader sees it."""

    id: uuid.UUID
    kind: str
    text: str           # what happened (the kind's text)
    ref: str            # on which record: a case number or referral reference
    url: str
    urgent: bool
    created_at: datetime
    read: bool


def notify(users: Iterable[uuid.UUID | None], *, organisation_id: uuid.UUID, kind: Kind,
           target: Target, object_id: uuid.UUID, occasion: str | None = None,
           actor: uuid.UUID | None = None) -> int:
    """Tell each of ``users`` (not ``actor``: nobody is told of their own act) about
    ``object_id``. With ``occasion`` a reader already told of it is not told again. Added to
    the current transaction, not committed, with the email of those who opted in queued
    (``email.announce``); returns how many were added."""
    readers = {u for u in users if u is not None and u != actor}
    if occasion is not None and readers:
        told = set(db.session.scalars(select(Notification.user_id).where(
            Notification.occasion == occasion, Notification.user_id.in_(readers))))
        readers -= told
    for user_id in sorted(readers):
        db.session.add(Notification(user_id=user_id, organisation_id=organisation_id,
                                    kind=str(kind), object_type=str(target),
                                    object_id=object_id, occasion=occasion,
                                    created_at=utcnow()))
    # Those who asked for it get an email saying only that there is something new (queued
    # here, sent by the timer: nothing is sent inside the request).
    email.announce(readers)
    if readers:
        _changed()
    return len(readers)


def discard(target: Target, object_ids: Iterable[uuid.UUID], *,
            users: Iterable[uuid.UUID] | None = None) -> None:
    """Delete the notifications about ``object_ids`` (of ``users`` only, when given): the
    record was reassigned, revoked or erased. In the caller's transaction."""
    ids = list(object_ids)
    if not ids:
        return
    stmt = delete(Notification).where(Notification.object_type == str(target),
                                      Notification.object_id.in_(ids))
    if users is not None:
        stmt = stmt.where(Notification.user_id.in_(list(users)))
    db.session.execute(stmt)
    _changed()


def unread_count(user_id: uuid.UUID) -> int:
    """The bell's number: one indexed count (a page has it from the session's statement)."""
    return db.session.scalar(select(_unread_of(user_id))) or 0


def _openings(user: Any, rows: list[Notification]) -> dict[tuple[str, uuid.UUID], tuple[str, str]]:
    """Where each record the rows name opens for ``user``, and its reference, when the user may
    still open it (what the features answered through ``hooks.notification_targets``)."""
    targets = sorted({(r.object_type, r.object_id) for r in rows}, key=str)
    found: dict[tuple[str, uuid.UUID], tuple[str, str]] = {}
    if targets:
        for answer in hooks.notification_targets.collect(user=user, targets=targets):
            found.update(answer or {})
    return found


def shown(user: Any, page: int = 1) -> tuple[list[Shown], int]:
    """A page of ``user``'s notifications, newest first, and how many there are. Those about
    records the user may no longer open are deleted first (in the caller's transaction)."""
    rows = list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id).order_by(Notification.created_at.desc(),
                                                  Notification.id)))
    openings = _openings(user, rows)
    gone = [r.id for r in rows if (r.object_type, r.object_id) not in openings]
    if gone:
        db.session.execute(delete(Notification).where(Notification.id.in_(gone)))
        _changed()
    kept = [r for r in rows if (r.object_type, r.object_id) in openings]
    start = (page - 1) * PAGE_SIZE
    out = []
    for r in kept[start:start + PAGE_SIZE]:
        url, ref = openings[(r.object_type, r.object_id)]
        text = TEXTS.get(Kind(r.kind)) if r.kind in Kind._value2member_map_ else None
        out.append(Shown(r.id, r.kind, str(text or r.kind), ref, url, r.kind in URGENT,
                         r.created_at, r.read_at is not None))
    return out, len(kept)


def open_one(user: Any, notification_id: uuid.UUID) -> str | None:
    """Mark one of ``user``'s notifications read and give where it leads; ``None`` when it is
    not theirs, or its record is out of their reach (then it is deleted)."""
    row = db.session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user.id))
    if row is None:
        return None
    opening = _openings(user, [row]).get((row.object_type, row.object_id))
    _changed()
    if opening is None:
        db.session.delete(row)
        return None
    if row.read_at is None:
        row.read_at = utcnow()
    return opening[0]


def mark_all_read(user_id: uuid.UUID) -> int:
    """Mark every unread notification of the user read; returns how many."""
    _changed()
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).values(
        read_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def prune(now: datetime | None = None) -> int:
    """Delete read notifications older than ``KEEP_READ_DAYS``, any older than ``KEEP_DAYS``,
    and each reader's beyond the newest ``KEEP_PER_USER``. Returns how many went."""
    now = now or utcnow()
    removed = 0
    result = db.session.execute(delete(Notification).where(
        ((Notification.read_at.is_not(None))
         & (Notification.created_at < now - timedelta(days=KEEP_READ_DAYS)))
        | (Notification.created_at < now - timedelta(days=KEEP_DAYS))))
    removed += int(getattr(result, "rowcount", 0) or 0)
    crowded = db.session.execute(select(Notification.user_id).group_by(
        Notification.user_id).having(func.count() > KEEP_PER_USER)).scalars().all()
    for user_id in crowded:
        keep = select(Notification.id).where(Notification.user_id == user_id).order_by(
            Notification.created_at.desc(), Notification.id).limit(KEEP_PER_USER)
        result = db.session.execute(delete(Notification).where(
            Notification.user_id == user_id, Notification.id.not_in(keep)))
        removed += int(getattr(result, "rowcount", 0) or 0)
    _changed()
    return removed
