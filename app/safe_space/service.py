"""Writes of the safe-space area, each one audited in its own transaction: logging and
correcting sessions (optimistic locking), activity types, and the audited reads of the area.

Every rule is checked here again (``rules``), whatever the form said: a session is saved only
for a safe space in the user's scope, with facilitators of the user's organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.clock import utcnow
from app.core import versioning
from app.core.ids import parse_uuid
from app.core.text import blank_to_none
from app.core.versioning import Stale
from app.db import db, transaction
from app.directory.models import SafeSpace
from app.safe_space import queries, rules
from app.safe_space.models import ActivityType, WgssSession
from app.safe_space.scopes import space_scope
from app.submissions.service import Submission, claim


class SessionInvalid(ValueError):
    """A session log that breaks the rules; ``errors`` maps fields to messages safe to show."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class StaleError(Stale):
    """Someone else saved the record since this form was loaded (``app.core.versioning``)."""


def check_version(obj: WgssSession | ActivityType, expected: Any) -> None:
    """Refuse a save based on an old copy (optimistic locking across requests)."""
    versioning.check_version(obj, expected, StaleError)


def audited_read(action: Action, object_type: str, object_id: Any = None,
                 reason: str | None = None) -> None:
    """Record that something was looked at, before it is shown."""
    with transaction():
        record(action, object_type=object_type, object_id=object_id, reason=reason)


def refuse_space(action: Action, space_id: uuid.UUID) -> None:
    """Audit an attempt to log a session for a safe space outside the user's scope."""
    with transaction():
        record(action, object_type="safe_space", object_id=space_id, outcome=Outcome.DENIED,
               reason="out_of_scope")


def _uuid(value: Any) -> uuid.UUID | None:
    return parse_uuid(value)


def _resolve(user: User, values: Mapping[str, Any], current: WgssSession | None
             ) -> tuple[SafeSpace | None, ActivityType | None, list[User]]:
    space_id = _uuid(values.get("safe_space_id"))
    space = db.session.execute(select(SafeSpace).where(
        SafeSpace.id == space_id, space_scope(user, logs=True))).scalar_one_or_none()
    type_id = _uuid(values.get("activity_type_id"))
    kind = next((t for t in queries.activity_types(
        include=current.activity_type_id if current else None) if t.id == type_id), None)
    allowed = {str(u.id): u for u in queries.facilitators(
        user, include=current.facilitators if current else None)}
    chosen = [allowed.get(str(i)) for i in values.get("facilitator_ids") or []]
    return space, kind, [u for u in chosen if u is not None] if all(chosen) else []


def save_session(user: User, values: Mapping[str, Any], current: WgssSession | None = None,
                 version: Any = None, once: Submission | None = None) -> WgssSession:
    """Log a new session, or correct ``current`` (refused if ``version`` is stale). Audited.
    ``once``, a new session's one-time form token, is claimed with it (``AlreadySaved``).

    Raises ``SessionInvalid`` with every broken rule (nothing saved; an out-of-scope safe space
    is audited as denied) or ``StaleError``.
    """
    action = Action.WGSS_SESSION_CREATE if current is None else Action.WGSS_SESSION_UPDATE
    if current is not None:
        check_version(current, version)
    space, kind, people = _resolve(user, values, current)
    errors = rules.session_errors(values, space, utcnow().date(),
                                  current_space_id=current.safe_space_id if current else None)
    if kind is None:
        errors["activity_type"] = str(_l("Choose an activity."))
    if not people:
        errors["facilitators"] = str(_l("Choose at least one facilitator from your "
                                        "organisation's staff."))
    if space is None and (space_id := _uuid(values.get("safe_space_id"))) is not None:
        refuse_space(action, space_id)
    if errors or space is None or kind is None:
        raise SessionInvalid(errors)
    with versioning.saving(current, StaleError):
        entry = current or WgssSession(recorded_by_id=user.id)
        entry.safe_space_id, entry.activity_type_id = space.id, kind.id
        entry.held_on = values["held_on"]
        entry.topic = values["topic"].strip()
        entry.duration_minutes = int(values["duration_minutes"])
        entry.outreach_area = blank_to_none(values.get("outreach_area"))
        for name in rules.ALL_COUNTS:
            setattr(entry, name, int(values[name]))
        entry.facilitators = people
        entry.notes = blank_to_none(values.get("notes"))  # type: ignore[assignment]
        db.session.add(entry)
        db.session.flush()
        record(action, object_type="wgss_session", object_id=entry.id)
        claim(once, ObjectType.WGSS_SESSION, entry.id)
    return entry


def save_activity_type(values: Mapping[str, Any], current: ActivityType | None = None,
                       version: Any = None, once: Submission | None = None) -> ActivityType:
    """Add an activity type, or rename or switch off ``current`` (its code never changes).
    ``once``: a new type's one-time form token, claimed with it."""
    if current is not None:
        check_version(current, version)
    label = str(values.get("label") or "").strip()
    try:
        with versioning.saving(current, StaleError):
            kind = current or ActivityType(code=str(values["code"]).strip())
            kind.label = label
            kind.active = bool(values.get("active"))
            db.session.add(kind)
            db.session.flush()
            record(Action.ACTIVITY_TYPE_CREATE if current is None else Action.ACTIVITY_TYPE_UPDATE,
                   object_type="activity_type", object_id=kind.id)
            claim(once, ObjectType.ACTIVITY_TYPE, kind.id)
    except IntegrityError:
        raise SessionInvalid({"code": str(_l("Another activity type has this code."))}) from None
    return kind
