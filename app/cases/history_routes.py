"""The case's history of changes and its printable summary. ``register`` puts them on the cases
blueprint (``routes``)."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit.actions import Action
from app.auth.policy import Permission, require
from app.cases import history_views, views
from app.cases.scopes import load_case
from app.core.ids import parse_uuid
from app.printing import printable


@require(Permission.CASE_READ)
def history(case_id: uuid.UUID) -> str:
    """Who changed what in the case, newest first (recorded as a view of the case)."""
    access = load_case(current_user, case_id)
    page = history_views.history_page(current_user, access.case,
                                      after=parse_uuid(request.args.get("after")),
                                      before=parse_uuid(request.args.get("before")))
    return render_template("cases/history.html", case=access.case, page=page)


@require(Permission.CASE_READ)
def print_summary(case_id: uuid.UUID) -> Response:
    """The case summary to print: what the case page shows its reader (recorded as a print)."""
    access = load_case(current_user, case_id, shown_as=Action.CASE_PRINT)
    context = views.case_context(current_user, access)
    # The summary offers nothing to do: the page's sections show no form and no edit link.
    context.update(writable=False, can_act=False, can_approve_plan=False, can_reopen=False,
                   can_request_closure=False, can_decide_closure=False)
    return printable("cases/print.html", **context)


def register(bp: Blueprint) -> None:
    """Add the history and print screens to the cases blueprint (called once, where it is made)."""
    bp.add_url_rule("/<uuid:case_id>/history", view_func=history, methods=["GET"])
    bp.add_url_rule("/<uuid:case_id>/print", view_func=print_summary, methods=["GET"])
