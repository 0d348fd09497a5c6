"""Which field intakes a user may touch: only their own, in their organisation.

An intake is visible to, and decided by, the caseworker who captured it (``user_id``) and no
one else: another user's intake, another organisation's, and a made-up id are answered alike
(404, audited as denied). A GET records the view before anything is shown.
"""

from __future__ import annotations

import uuid

from flask import has_request_context, request
from sqlalchemy import ColumnElement, and_, select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.db import db
from app.field.models import FieldIntake


def own(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the intakes ``user`` captured, in their organisation."""
    return and_(FieldIntake.user_id == user.id,
                FieldIntake.organisation_id == user.organisation_id)


def load_intake(user: User, intake_id: uuid.UUID, *,
                action: Action = Action.FIELD_INTAKE_VIEW) -> FieldIntake:
    """The user's own intake (pending or decided) or 404, audited as denied with ``action``.
    A GET records ``FIELD_INTAKE_VIEW``; writes record their own event."""
    found: FieldIntake | None = db.session.execute(
        select(FieldIntake).where(FieldIntake.id == intake_id, own(user))
    ).scalar_one_or_none()
    if found is None:
        audit.deny_404(action, ObjectType.FIELD_INTAKE, intake_id)
    if has_request_context() and request.method == "GET":
        audit.read(Action.FIELD_INTAKE_VIEW, ObjectType.FIELD_INTAKE, found.id)
    return found
