"""Notifications about cases: where a case named by one opens, who is told of what happens on a
case (``tell_workers``), what workers taken off a case lose (``left``), and the urgent clinical
windows about to close (``clinical_windows_closing``, run by the notification timer).

Every notification is a kind and a case id (``app.notifications``): nothing of the survivor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from sqlalchemy import select

from app.auth.models import User
from app.cases import gbvims
from app.cases.models import Case, CaseTransfer, Incident
from app.cases.scopes import case_scope, incoming_scope
from app.cases.workflow import CaseStatus
from app.core import hooks
from app.db import db
from app.directory.models import Organisation
from app.localtime import zone
from app.notifications import service as notifications
from app.notifications.kinds import Kind, Target

CASE = "case"

#: How long before an urgent clinical window closes its case's workers are told.
WINDOW_WARNING = timedelta(hours=12)


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


@hooks.notification_targets.subscribe
def transfer_targets(user: User, targets: list[tuple[str, Any]]) -> dict[tuple[str, Any],
                                                                          tuple[str, str]]:
    """The transfer requests among ``targets`` the user may still decide on: their page and
    the sending organisation's name (never anything of the survivor)."""
    ids = [object_id for kind, object_id in targets if kind == Target.CASE_TRANSFER]
    if not ids:
        return {}
    rows = db.session.execute(
        select(CaseTransfer.id, Organisation.name)
        .join(Organisation, Organisation.id == CaseTransfer.from_organisation_id)
        .where(CaseTransfer.id.in_(ids), incoming_scope(user))).all()
    return {(str(Target.CASE_TRANSFER), tid): (url_for("cases.transfer_decide", transfer_id=tid),
                                               name)
            for tid, name in rows}


def workers(case: Case) -> list[uuid.UUID | None]:
    """The case's caseworkers (primary, secondary; None where there is none)."""
    return [case.primary_worker_id, case.secondary_worker_id]


def tell_workers(case: Case, kind: Kind, actor: User | None,
                 users: Iterable[uuid.UUID | None] | None = None) -> int:
    """Tell the case's workers (or just ``users``; never ``actor``) that ``kind`` happened on
    it, in the caller's transaction."""
    return notifications.notify(workers(case) if users is None else users,
                                organisation_id=case.organisation_id, kind=kind,
                                target=Target.CASE, object_id=case.id,
                                actor=actor.id if actor is not None else None)


def left(case: Case, users: Iterable[uuid.UUID | None]) -> None:
    """``users`` were taken off ``case``: discard what they were told about it and (through
    ``hooks.case_left``) about its other records, in the caller's transaction."""
    gone = sorted({u for u in users if u is not None}, key=str)
    if not gone:
        return
    notifications.discard(Target.CASE, [case.id], users=gone)
    hooks.case_left.emit(case=case, users=gone)


def erased(case_id: uuid.UUID) -> None:
    """The case is being erased: discard every notification about it (its other records'
    go with ``hooks.case_erased``)."""
    notifications.discard(Target.CASE, [case_id])


def _candidates(now: datetime) -> list[Any]:
    """Rape incidents of open cases, of every organisation, whose 72-hour window may end within
    ``WINDOW_WARNING`` of ``now`` whatever the organisation's zone: one query, by incident date.

    The window ends 72 hours after the latest moment the incident can have happened, which is
    between the start of its date and the end of the next day's morning in UTC for any zone
    (offsets from -12 to +14 hours); the range below is a little wider on both ends, and
    ``clinical_windows_closing`` keeps only the windows that truly end in time."""
    first = (now - gbvims.URGENT_CLINICAL_WINDOW - timedelta(days=2)).date()
    last = (now - gbvims.URGENT_CLINICAL_WINDOW + WINDOW_WARNING + timedelta(days=1)).date()
    return list(db.session.execute(
        select(Incident.id, Incident.incident_date, Incident.incident_time,
               Incident.time_of_day, Case.id, Case.organisation_id, Case.primary_worker_id,
               Case.secondary_worker_id, Organisation.time_zone)
        .join(Case, Case.id == Incident.case_id)
        .join(Organisation, Organisation.id == Case.organisation_id)
        .where(Incident.core_type == gbvims.CoreType.RAPE,
               Incident.incident_date.between(first, last),
               Case.status != CaseStatus.CLOSED)).all())


@hooks.notification_due.subscribe
def clinical_windows_closing(now: datetime) -> int:
    """Tell the workers of each case with a rape whose 72-hour clinical window ends within
    ``WINDOW_WARNING`` (and has not ended), counted in the zone of the case's organisation;
    once per incident and worker (``occasion``), however often the timer runs. Returns how
    many notifications were added (in the caller's transaction)."""
    added = 0
    for (incident_id, day, at, part, case_id, org_id, primary, secondary,
         zone_name) in _candidates(now):
        ends = gbvims.clinical_window_end(day, at=at, part=part, zone=zone(zone_name))
        if now < ends <= now + WINDOW_WARNING:
            added += notifications.notify(
                [primary, secondary], organisation_id=org_id, kind=Kind.CLINICAL_WINDOW_CLOSING,
                target=Target.CASE, object_id=case_id, occasion=f"window:{incident_id}")
    return added
