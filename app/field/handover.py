"""Handing a pending field intake over to a colleague: the supervisors' view and the move.

A caseworker who is sick, on leave or gone must not leave a survivor's intake waiting (a rape
within the 72-hour window above all). A supervisor (``Permission.CASE_ASSIGN``, the permission
that reassigns cases) sees the pending intakes of their organisation whose reviewer shares a
site with them, from clear columns only (nothing opened, nothing identifying), and hands one
to an active colleague of a shared site who may open cases.

A reviewer with no site in the organisation (an account whose sites were taken away when it was
deactivated, or that moved to another organisation) is shown to every supervisor of the
organisation: otherwise nobody could hand their intakes on.
Another organisation's intakes are never shown nor moved.

The uploader (``user_id``) stays the envelope's binding: the sync still answers a retry by the
original device ``duplicate``. Only ``assignee_id`` changes, by a conditional update on the
intake still pending and still with the reviewer the supervisor's form was built on, so two
supervisors (or a double click) move it once and the loser changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, false, func, not_, or_, select, update

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User, user_sites
from app.auth.policy import Permission, can, roles_with
from app.clock import utcnow
from app.core import hooks
from app.core.errors import CaseError
from app.db import db, one_transaction
from app.directory.models import Site
from app.field.loaders import pending_of, reviewer_id
from app.field.models import FieldIntake, IntakeStatus
from app.localtime import deadline
from app.notifications import service as notifications
from app.notifications.kinds import Kind, Target

#: Rows per page of the supervisors' list.
PAGE_SIZE = 50


class HandoverError(CaseError):
    """A hand-over refused; nothing was changed (the message is the supervisor's to read)."""


class HandedMeanwhile(HandoverError):
    """Another request decided or moved the intake after the form was shown."""

    def __init__(self) -> None:
        super().__init__(str(_l("This field intake was dealt with or handed over meanwhile: "
                                "nothing was changed.")))


@dataclass(frozen=True)
class TeamIntake:
    """One line of the supervisors' list: clear columns and the reviewer's name only."""

    id: uuid.UUID
    reviewer_id: uuid.UUID
    reviewer_name: str
    reviewer_active: bool
    captured_at: datetime
    received_at: datetime
    urgent: bool
    window_ends_at: datetime | None
    hours_left: int | None

    @property
    def window_passed(self) -> bool:
        """Whether the intake records a rape whose 72-hour window has already closed."""
        return self.window_ends_at is not None and self.hours_left is None


def _site_ids(user: User) -> list[uuid.UUID]:
    return [s.id for s in user.sites]


def _reviewer_in_team(user: User) -> ColumnElement[bool]:
    """The intake's reviewer shares a site with ``user``, or has no site of ``user``'s
    organisation left (sites taken away, or the account moved to another organisation)."""
    reviewer = reviewer_id()
    shares = exists().where(user_sites.c.user_id == reviewer,
                            user_sites.c.site_id.in_(_site_ids(user)))
    siteless = not_(exists().where(user_sites.c.user_id == reviewer,
                                   user_sites.c.site_id == Site.id,
                                   Site.organisation_id == user.organisation_id))
    return or_(shares, siteless)


def team_scope(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the intakes ``user`` may see and hand over (pending or not: a
    decided one is answered "dealt with", not 404). Nothing without ``CASE_ASSIGN``."""
    if not can(user, Permission.CASE_ASSIGN):
        return false()
    return and_(FieldIntake.organisation_id == user.organisation_id, _reviewer_in_team(user))


def _pending_in_team(user: User) -> ColumnElement[bool]:
    return and_(team_scope(user), FieldIntake.status == IntakeStatus.PENDING)


def _hours_left(ends: datetime | None, now: datetime) -> int | None:
    if ends is None or ends <= now:
        return None
    return int((ends - now).total_seconds() // 3600)


def team_pending(user: User, page: int = 1) -> tuple[list[TeamIntake], int]:
    """A page of the team's pending intakes in the caseworkers' order (urgent clinical first,
    soonest window end; then other urgent; then the rest, oldest capture first), and how many
    there are. Two statements (the page, the count); nothing opened."""
    now = utcnow()
    clinical = and_(FieldIntake.urgent.is_(True), FieldIntake.window_ends_at > now)
    reviewer = reviewer_id()
    rows = db.session.execute(
        select(FieldIntake.id, reviewer.label("reviewer_id"), User.display_name, User.active,
               FieldIntake.captured_at, FieldIntake.received_at, FieldIntake.urgent,
               FieldIntake.window_ends_at)
        .join(User, User.id == reviewer)
        .where(_pending_in_team(user))
        .order_by(case((clinical, 0), (FieldIntake.urgent.is_(True), 1), else_=2),
                  case((clinical, FieldIntake.window_ends_at), else_=None),
                  FieldIntake.captured_at, FieldIntake.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    total, _urgent = team_waiting(user)
    return [TeamIntake(r.id, r.reviewer_id, r.display_name, bool(r.active), r.captured_at,
                       r.received_at, bool(r.urgent), r.window_ends_at,
                       _hours_left(r.window_ends_at, now)) for r in rows], total


def team_waiting(user: User) -> tuple[int, int]:
    """(waiting, of which urgent) in the team's pending intakes: one COUNT statement."""
    row = db.session.execute(
        select(func.count(), func.count(case((FieldIntake.urgent.is_(True), 1))))
        .select_from(FieldIntake).where(_pending_in_team(user))).one()
    return int(row[0]), int(row[1])


def load_team_intake(user: User, intake_id: uuid.UUID, *,
                     action: Action = Action.FIELD_INTAKE_HANDOVER) -> FieldIntake:
    """An intake of the supervisor's team (pending or decided) or 404, audited as denied.
    Only the hand-over (a POST, which records its own event) loads one: no page shows it."""
    found: FieldIntake | None = db.session.execute(
        select(FieldIntake).where(FieldIntake.id == intake_id, team_scope(user))
    ).scalar_one_or_none()
    if found is None:
        audit.deny_404(action, ObjectType.FIELD_INTAKE, intake_id)
    return found


def recipients(user: User) -> list[User]:
    """Whom ``user`` may hand intakes to: active accounts of their organisation who may open
    cases and share a site with them, by name (the caller leaves out each row's reviewer)."""
    found = db.session.execute(
        select(User).where(
            User.organisation_id == user.organisation_id, User.active.is_(True),
            User.approval_pending.is_(False), User.role.in_(roles_with(Permission.CASE_CREATE)),
            exists().where(user_sites.c.user_id == User.id,
                           user_sites.c.site_id.in_(_site_ids(user))))
        .order_by(User.display_name, User.id)).scalars()
    return [u for u in found if u.can_sign_in and can(u, Permission.CASE_CREATE)]


def hand_over(user: User, intake: FieldIntake, target_id: uuid.UUID | None,
              expected_reviewer: uuid.UUID | None) -> User:
    """Give the pending ``intake`` (loaded through ``load_team_intake``) to ``target_id``, if
    it still has ``expected_reviewer`` (the reviewer the supervisor's form was built on).

    Refused (``HandoverError``, nothing changed): a target not in ``recipients(user)`` (another
    organisation, inactive, not opening cases, no shared site) or the current reviewer; an
    intake decided or moved meanwhile (``HandedMeanwhile``). One transaction: the conditional
    update, then the event (the intake's id; the reason says only whether the uploader was
    still reviewing it)."""
    if intake.status != IntakeStatus.PENDING:
        raise HandedMeanwhile()
    current = intake.assignee_id or intake.user_id
    if expected_reviewer is None or expected_reviewer != current:
        raise HandedMeanwhile()
    chosen = next((u for u in recipients(user) if u.id == target_id), None)
    if chosen is None or chosen.id == current:
        raise HandoverError(str(_l("Choose an active colleague of your sites who may open "
                                   "cases, other than the one reviewing it now.")))
    with one_transaction():
        done = db.session.execute(
            update(FieldIntake).where(
                FieldIntake.id == intake.id, FieldIntake.status == IntakeStatus.PENDING,
                FieldIntake.organisation_id == user.organisation_id,
                reviewer_id() == expected_reviewer)
            # Not ``version``: the sealed payload is bound to it (as ``review._claim``).
            .values(assignee_id=chosen.id)
            .execution_options(synchronize_session=False))
        if getattr(done, "rowcount", 0) != 1:
            raise HandedMeanwhile()
        record(Action.FIELD_INTAKE_HANDOVER, object_type=ObjectType.FIELD_INTAKE,
               object_id=intake.id,
               reason="from_uploader" if intake.assignee_id is None else "from_assignee")
        # The new reviewer is told; the previous one's notice (if any) stops answering
        # (``notice_targets`` reads the reviewer now) and is dropped when next shown.
        notifications.notify([chosen.id], organisation_id=intake.organisation_id,
                             kind=Kind.FIELD_INTAKE_HANDED_OVER, target=Target.FIELD_INTAKE,
                             object_id=intake.id, actor=user.id)
    db.session.expire(intake)
    return chosen


@hooks.notification_targets.subscribe
def notice_targets(user: User, targets: list[tuple[str, Any]]) -> dict[tuple[str, Any],
                                                                     tuple[str, str]]:
    """The field intakes among ``targets`` still waiting for the user's review: their review page
    and their capture time (nothing of what was captured)."""
    ids = [object_id for kind, object_id in targets if kind == Target.FIELD_INTAKE]
    if not ids:
        return {}
    rows = db.session.execute(select(FieldIntake.id, FieldIntake.captured_at).where(
        FieldIntake.id.in_(ids), pending_of(user))).all()
    return {(str(Target.FIELD_INTAKE), intake_id):
            (url_for("field.intake", intake_id=intake_id), deadline(captured))
            for intake_id, captured in rows}
