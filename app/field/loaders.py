"""Which field intakes a user may touch: only those they review, in their organisation.

An intake is visible to, and decided by, its reviewer and no one else: the colleague a
supervisor handed it over to (``assignee_id``), else the caseworker who captured it
(``user_id``). Another user's intake (the uploader's too, once handed over), another
organisation's, and a made-up id are answered alike (404, audited as denied). A GET records the
view before anything is shown.
"""

from __future__ import annotations

import uuid

from flask import has_request_context, request
from sqlalchemy import ColumnElement, and_, func, or_, select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.db import db
from app.field.models import FieldIntake, IntakeStatus


def reviewer_id() -> ColumnElement[object]:
    """SQL expression of an intake's reviewer: whom it was handed to, else its uploader."""
    return func.coalesce(FieldIntake.assignee_id, FieldIntake.user_id)


def own(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the intakes ``user`` reviews, in their organisation: handed to
    them, or uploaded by them and never handed over (written as two indexable arms, one per
    column, rather than on ``reviewer_id()``). The one place this rule is written: the list,
    the count, the review page, every decision and the sync's ``pending`` all use it."""
    return and_(or_(FieldIntake.assignee_id == user.id,
                    and_(FieldIntake.assignee_id.is_(None), FieldIntake.user_id == user.id)),
                FieldIntake.organisation_id == user.organisation_id)


def pending_of(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the intakes waiting for ``user``'s review."""
    return and_(own(user), FieldIntake.status == IntakeStatus.PENDING)


def waiting(user: User) -> int:
    """How many intakes wait for ``user``'s review (a COUNT; nothing opened): the home panel
    and the sync's ``pending``."""
    return int(db.session.execute(
        select(func.count()).select_from(FieldIntake).where(pending_of(user))).scalar_one())


def load_intake(user: User, intake_id: uuid.UUID, *,
                action: Action = Action.FIELD_INTAKE_VIEW) -> FieldIntake:
    """An intake the user reviews (pending or decided) or 404, audited as denied with ``action``.
    A GET records ``FIELD_INTAKE_VIEW``; writes record their own event."""
    found: FieldIntake | None = db.session.execute(
        select(FieldIntake).where(FieldIntake.id == intake_id, own(user))
    ).scalar_one_or_none()
    if found is None:
        audit.deny_404(action, ObjectType.FIELD_INTAKE, intake_id)
    if has_request_context() and request.method == "GET":
        audit.read(Action.FIELD_INTAKE_VIEW, ObjectType.FIELD_INTAKE, found.id)
    return found
