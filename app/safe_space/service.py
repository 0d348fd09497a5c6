"""Writes of the safe-space area, each one audited in its own transaction: logging and
correcting sessions (optimistic locking), activity types, and the audited reads of the area.

Each write takes a typed command (``SessionLog``, ``ActivityTypeSpec``) that the route builds
from a validated form. Every rule is checked here again (``rules``), whatever the form said: a
session is saved only for a safe space in the user's scope, with facilitators of the user's
organisation.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.core.text import blank_to_none
from app.core.versioning import Stale, check_version, saving
from app.db import db
from app.directory.models import SafeSpace
from app.localtime import today, user_zone
from app.safe_space import queries, rules
from app.safe_space.models import AREA_MAX, NOTES_MAX, TOPIC_MAX, ActivityType, WgssSession
from app.safe_space.scopes import space_scope
from app.submissions.service import Submission, claim

CODE_MAX, LABEL_MAX = 40, 80  # an activity type's code and name (models)
CODE_FORMAT = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class SessionLog:
    """What a coordinator says about one session: where, what, when, who facilitated, and the
    counts of ``rules.ALL_COUNTS`` (never who came). ``None`` stands for a value not given."""

    safe_space_id: uuid.UUID | None
    activity_type_id: uuid.UUID | None
    held_on: date | None
    topic: str
    duration_minutes: int | None
    facilitator_ids: tuple[uuid.UUID, ...] = ()
    outreach_area: str | None = None
    notes: str | None = None
    girls_10_14: int = 0
    girls_15_19: int = 0
    women_15_19: int = 0
    women_20_24: int = 0
    women_25_49: int = 0
    women_50_plus: int = 0
    new_participants: int = 0
    returning_participants: int = 0
    with_disabilities: int = 0
    case_management_requests: int = 0
    referrals_made: int = 0

    def values(self) -> dict[str, Any]:
        """The log keyed as ``rules.session_errors`` reads it."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ActivityTypeSpec:
    """An activity type as an admin gives it: its code (new types only: a code never changes),
    its name, and whether it is offered for new sessions."""

    label: str
    active: bool = True
    code: str | None = None


class SessionInvalid(ValueError):
    """A session log that breaks the rules; ``errors`` maps fields to messages safe to show."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class SafeSpaceStale(Stale):
    """Someone else saved the session log or activity type since this form was loaded
    (``app.core.versioning``); nothing was saved."""


def _too_long(value: str | None, limit: int) -> bool:
    return value is not None and len(value.strip()) > limit


def _format_errors(log: SessionLog) -> dict[str, str]:
    """The fields' own formats (the form checks them too): a topic, and text within limits."""
    errors: dict[str, str] = {}
    if not (log.topic or "").strip():
        errors["topic"] = str(_l("Give the topic in a few words."))
    elif _too_long(log.topic, TOPIC_MAX):
        errors["topic"] = str(_l("At most %(max)d characters.", max=TOPIC_MAX))
    if _too_long(log.outreach_area, AREA_MAX):
        errors["outreach_area"] = str(_l("At most %(max)d characters.", max=AREA_MAX))
    if _too_long(log.notes, NOTES_MAX):
        errors["notes"] = str(_l("Notes can be at most %(max)d characters; shorten them.",
                                 max=NOTES_MAX))
    return errors


def _resolve(user: User, log: SessionLog, current: WgssSession | None
             ) -> tuple[SafeSpace | None, ActivityType | None, list[User]]:
    space = db.session.execute(select(SafeSpace).where(
        SafeSpace.id == log.safe_space_id, space_scope(user, logs=True))).scalar_one_or_none()
    kind = next((t for t in queries.activity_types(
        include=current.activity_type_id if current else None)
        if t.id == log.activity_type_id), None)
    allowed = {u.id: u for u in queries.facilitators(
        user, include=current.facilitators if current else None)}
    chosen = [allowed.get(i) for i in log.facilitator_ids]
    return space, kind, [u for u in chosen if u is not None] if all(chosen) else []


def save_session(user: User, log: SessionLog, current: WgssSession | None = None,
                 version: int | None = None, once: Submission | None = None) -> WgssSession:
    """Log a new session, or correct ``current`` (refused if ``version`` is stale). Audited.
    ``once``, a new session's one-time form token, is claimed with it (``AlreadySaved``).

    Raises ``SessionInvalid`` with every broken rule (nothing saved; an out-of-scope safe space
    is audited as denied) or ``SafeSpaceStale``.
    """
    action = Action.WGSS_SESSION_CREATE if current is None else Action.WGSS_SESSION_UPDATE
    if current is not None:
        check_version(current, version, SafeSpaceStale)
    space, kind, people = _resolve(user, log, current)
    errors = rules.session_errors(log.values(), space, today(user_zone(user)),
                                  current_space_id=current.safe_space_id if current else None)
    errors.update(_format_errors(log))  # a field's own format first, as on the form
    if kind is None:
        errors["activity_type"] = str(_l("Choose an activity."))
    if not people:
        errors["facilitators"] = str(_l("Choose at least one facilitator from your "
                                        "organisation's staff."))
    if space is None and log.safe_space_id is not None:
        audit.denied(action, ObjectType.SAFE_SPACE, log.safe_space_id)
    if errors or space is None or kind is None or log.held_on is None:
        raise SessionInvalid(errors)
    with saving(current, SafeSpaceStale):
        entry = current or WgssSession(recorded_by_id=user.id)
        entry.safe_space_id, entry.activity_type_id = space.id, kind.id
        entry.held_on = log.held_on
        entry.topic = log.topic.strip()
        entry.duration_minutes = int(log.duration_minutes or 0)
        entry.outreach_area = blank_to_none(log.outreach_area)
        for name in rules.ALL_COUNTS:
            setattr(entry, name, int(getattr(log, name)))
        entry.facilitators = people
        entry.notes = blank_to_none(log.notes)
        db.session.add(entry)
        db.session.flush()
        record(action, object_type=ObjectType.WGSS_SESSION, object_id=entry.id)
        claim(once, ObjectType.WGSS_SESSION, entry.id)
    return entry


def _type_errors(spec: ActivityTypeSpec, *, new: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    code = (spec.code or "").strip()
    if new and (not CODE_FORMAT.match(code) or len(code) > CODE_MAX):
        errors["code"] = str(_l("Lower-case letters, digits and underscores, starting with a "
                                "letter.")) if len(code) <= CODE_MAX else str(
            _l("At most %(max)d characters.", max=CODE_MAX))
    label = (spec.label or "").strip()
    if not label:
        errors["label"] = str(_l("Give the activity type a name."))
    elif len(label) > LABEL_MAX:
        errors["label"] = str(_l("At most %(max)d characters.", max=LABEL_MAX))
    return errors


def save_activity_type(spec: ActivityTypeSpec, current: ActivityType | None = None,
                       version: int | None = None,
                       once: Submission | None = None) -> ActivityType:
    """Add an activity type, or rename or switch off ``current`` (its code never changes:
    ``spec.code`` is read for a new type only). ``once``: a new type's one-time form token,
    claimed with it. Raises ``SessionInvalid`` (by field) or ``SafeSpaceStale``."""
    if current is not None:
        check_version(current, version, SafeSpaceStale)
    errors = _type_errors(spec, new=current is None)
    if errors:
        raise SessionInvalid(errors)
    try:
        with saving(current, SafeSpaceStale):
            kind = current or ActivityType(code=(spec.code or "").strip())
            kind.label = spec.label.strip()
            kind.active = bool(spec.active)
            db.session.add(kind)
            db.session.flush()
            record(Action.ACTIVITY_TYPE_CREATE if current is None else Action.ACTIVITY_TYPE_UPDATE,
                   object_type=ObjectType.ACTIVITY_TYPE, object_id=kind.id)
            claim(once, ObjectType.ACTIVITY_TYPE, kind.id)
    except IntegrityError:
        raise SessionInvalid({"code": str(_l("Another activity type has this code."))}) from None
    return kind
