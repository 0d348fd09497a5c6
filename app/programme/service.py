"""Writes of the programme logs: logging and correcting awareness sessions and staff trainings,
each audited in its own transaction (optimistic locking on corrections, a one-time token on new
logs).

Each write takes a typed command (``ActivityEntry``) that the route builds from a validated
form. Every rule is checked here again (``rules``), whatever the form said: a log is saved only
at a site in the user's scope. A log holds codes, a date and counts, never a name.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.core.versioning import Stale, check_version, saving
from app.db import db
from app.directory.models import Site
from app.localtime import today, user_zone
from app.programme import rules
from app.programme.models import ActivityLog
from app.programme.rules import Kind
from app.programme.scopes import object_type, site_scope
from app.submissions.service import Submission, claim

CREATE_ACTIONS = {"awareness": Action.AWARENESS_SESSION_CREATE,
                  "trainings": Action.TRAINING_CREATE}
UPDATE_ACTIONS = {"awareness": Action.AWARENESS_SESSION_UPDATE,
                  "trainings": Action.TRAINING_UPDATE}


@dataclass(frozen=True)
class ActivityEntry:
    """What a coordinator says about one activity: where, when, the topic code, and the counts
    of the kind's cells (never who took part). ``None`` stands for a value not given."""

    site_id: uuid.UUID | None
    held_on: date | None
    topic: str | None
    counts: Mapping[str, int | None] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The entry keyed as ``rules.log_errors`` reads it."""
        return {"site_id": self.site_id, "held_on": self.held_on, "topic": self.topic,
                **self.counts}


class ActivityInvalid(ValueError):
    """A log that breaks the rules; ``errors`` maps fields to messages safe to show."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class ProgrammeStale(Stale):
    """Someone else saved the log since this form was loaded (``app.core.versioning``);
    nothing was saved."""


def _site(user: User, site_id: uuid.UUID | None) -> Site | None:
    if site_id is None:
        return None
    found: Site | None = db.session.execute(
        select(Site).where(Site.id == site_id, site_scope(user))).scalar_one_or_none()
    return found


def save_log(user: User, kind: Kind, entry: ActivityEntry, current: ActivityLog | None = None,
             version: int | None = None, once: Submission | None = None) -> ActivityLog:
    """Log a new activity of ``kind``, or correct ``current`` (refused if ``version`` is
    stale). Audited. ``once``, a new log's one-time form token, is claimed with it
    (``AlreadySaved``).

    Raises ``ActivityInvalid`` with every broken rule (nothing saved; a site outside the
    user's scope is audited as denied) or ``ProgrammeStale``.
    """
    action = (CREATE_ACTIONS if current is None else UPDATE_ACTIONS)[kind.code]
    if current is not None:
        check_version(current, version, ProgrammeStale)
    site = _site(user, entry.site_id)
    errors = rules.log_errors(kind, entry.values(), site, today(user_zone(user)),
                              current_site_id=current.site_id if current else None,
                              current_date=current.held_on if current else None)
    if site is None and entry.site_id is not None:
        audit.denied(action, ObjectType.SITE, entry.site_id)
    if errors or site is None or entry.held_on is None or entry.topic is None:
        raise ActivityInvalid(errors)
    with saving(current, ProgrammeStale):
        log = current or kind.model(recorded_by_id=user.id)
        log.site_id, log.held_on, log.topic = site.id, entry.held_on, entry.topic
        for name in kind.cells:
            setattr(log, name, int(entry.counts[name] or 0))
        db.session.add(log)
        db.session.flush()
        record(action, object_type=object_type(kind), object_id=log.id)
        claim(once, object_type(kind), log.id)
    return log
