"""The supervisors' view of their team's pending field intakes, and handing one over (on
``app.field.routes.bp``). Rules are in ``app.field.handover``; these views load, call, flash."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.cases.labels import CHOOSE
from app.core.ids import parse_uuid
from app.field import handover
from app.field.handover_forms import HandoverForm, TeamListForm
from app.field.routes import bp
from app.forms import fall_back


def _forms(rows: list[handover.TeamIntake]) -> dict[uuid.UUID, HandoverForm]:
    """One hand-over form per row: the colleagues offered, without the row's reviewer."""
    people = handover.recipients(current_user)
    out = {}
    for r in rows:
        form = HandoverForm(formdata=None, reviewer=str(r.reviewer_id))
        form.to.choices = [("", str(CHOOSE))] + [
            (str(u.id), u.display_name) for u in people if u.id != r.reviewer_id]
        out[r.id] = form
    return out


@bp.get("/team")
@require(Permission.CASE_ASSIGN)
def team() -> str:
    """The pending field intakes of the supervisor's team: who reviews each, and how urgent."""
    f = TeamListForm(request.args)
    fall_back(f)
    page = f.page.page
    audit.read(Action.FIELD_TEAM_LIST, ObjectType.FIELD_INTAKE)
    rows, total = handover.team_pending(current_user, page)
    return render_template("field/team.html", rows=rows, total=total, page=page,
                           page_size=handover.PAGE_SIZE, forms=_forms(rows))


@bp.post("/intakes/<uuid:intake_id>/handover")
@require(Permission.CASE_ASSIGN)
def hand_over(intake_id: uuid.UUID) -> Response:
    """Hand the intake to the colleague chosen (not a step-up action: like reassigning a case,
    it moves work within the supervisor's own team)."""
    found = handover.load_team_intake(current_user, intake_id)
    form = HandoverForm()
    if not form.validate_on_submit():
        flash(_("Choose the colleague."), "error")
        return redirect(url_for("field.team"))
    try:
        chosen = handover.hand_over(current_user, found, parse_uuid(form.to.data),
                                    parse_uuid(form.reviewer.data))
    except handover.HandoverError as exc:
        audit.denied(Action.FIELD_INTAKE_HANDOVER, ObjectType.FIELD_INTAKE, found.id,
                     reason="already_decided" if isinstance(exc, handover.HandedMeanwhile)
                     else "bad_target")
        flash(str(exc), "error")
        return redirect(url_for("field.team"))
    flash(_("The field intake was handed over to %(name)s.", name=chosen.display_name), "info")
    return redirect(url_for("field.team"))
