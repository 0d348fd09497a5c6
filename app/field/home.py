"""The field intakes' home panels: how many of the user's field intakes wait for a decision (a
COUNT; nothing opened), with the way to the list, shown to caseworkers, and to anyone else who
may open cases while they have intakes waiting; and for supervisors, how many wait in their
team (one COUNT, shown only when some do), with the way to the hand-over page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases.home import is_caseworker
from app.core import hooks
from app.core.home import Panel
from app.field.handover import team_waiting
from app.field.loaders import waiting

#: After the urgent clinical windows, before the follow-ups due (``app.cases.home``).
ORDER = 15


@hooks.home_panels.subscribe
def field_panels(user: User) -> list[Panel]:
    """The panel of ``user``'s home page (none for roles that do not open cases)."""
    if not can(user, Permission.CASE_CREATE):
        return []
    count = waiting(user)
    if count == 0 and not is_caseworker(user):
        return []
    return [Panel("field-intakes", _l("Field intakes"), "field/home_intakes.html",
                  {"waiting": count}, ORDER)]


@hooks.home_panels.subscribe
def team_panels(user: User) -> list[Panel]:
    """The supervisor's panel: the team's waiting intakes (none when nothing waits)."""
    if not can(user, Permission.CASE_ASSIGN):
        return []
    count, urgent = team_waiting(user)
    if count == 0:
        return []
    return [Panel("field-team-intakes", _l("Field intakes in your team"),
                  "field/home_team.html", {"waiting": count, "urgent": urgent}, ORDER + 1)]
