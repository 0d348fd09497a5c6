"""What the case screens share: loading a record through its case, showing a refusal."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, render_template
from flask_login import current_user
from flask_wtf import FlaskForm

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.cases import views
from app.cases.models import Case
from app.cases.scopes import CaseAccess
from app.core.errors import CaseError, StaleError
from app.db import db


def child(model: type, case: Case, child_id: uuid.UUID, action: Action,
          object_type: ObjectType) -> Any:
    """The record ``child_id`` of ``case``, or 404 recorded as an out-of-scope denial.

    A record of another case asked for through this case's URL is refused like a missing one,
    and on the trail like any out-of-scope record (the scope was checked on ``case`` only).
    """
    obj = db.session.get(model, child_id)
    if obj is None or obj.case_id != case.id:
        audit.deny_404(action, object_type, child_id)
    return obj


def fail(exc: CaseError, form: Any = None) -> None:
    """Show a refusal. A save that lost to someone else's (``StaleError``) keeps the
    input in ``form`` and takes the record's version now, so saving again, on purpose, works."""
    flash(str(exc), "error")
    version = getattr(form, "version", None)
    if isinstance(exc, StaleError) and version is not None \
            and exc.current_version is not None:
        version.data = str(exc.current_version)


def case_page_again(access: CaseAccess, **refused: FlaskForm) -> str:
    """The case page in answer to one of its forms that was refused (by the name the page
    knows it by: ``views.CASE_FORMS``): that form as it was sent, its errors beside its fields
    and what was typed kept, the other forms blank. Nothing was saved. Like every refused
    form, it comes back with 200."""
    return render_template("cases/view.html",
                           **views.case_context(current_user, access, refused))
