"""Where a case named by a notification opens, for a reader who may still open it."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for
from sqlalchemy import select

from app.auth.models import User
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.core import hooks
from app.db import db

CASE = "case"


@hooks.notification_targets.subscribe
def case_targets(user: User, targets: list[tuple[str, Any]]) -> dict[tuple[str, Any],
                                                                      tuple[str, str]]:
    """The cases among ``targets`` in the user's scope now: their page and their number."""
    ids: list[uuid.UUID] = [object_id for kind, object_id in targets if kind == CASE]
    if not ids:
        return {}
    rows = db.session.execute(select(Case.id, Case.case_number).where(
        Case.id.in_(ids), case_scope(user))).all()
    return {(CASE, case_id): (url_for("cases.view", case_id=case_id), number)
            for case_id, number in rows}
