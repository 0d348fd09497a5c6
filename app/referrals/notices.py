"""Notifications about referrals: who is told (``sent``, ``answered``), what goes when the
referral or its case goes out of reach (``revoked``, and the ``case_left`` and ``case_erased``
hooks), and where a referral named by a notification opens, for a reader who may still open it:
the provider's received view (reference: service and time sent, never the case number), or the
referring side's sent view (reference: the case number)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for
from flask_babel import format_datetime
from sqlalchemy import select

from app.auth.models import User
from app.auth.policy import Permission, can, roles_with
from app.cases.labels import label
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.core import hooks
from app.db import db
from app.notifications import service as notifications
from app.notifications.kinds import Kind, Target
from app.referrals.models import Referral, Urgency

REFERRAL = "referral"


@hooks.notification_targets.subscribe
def referral_targets(user: User, targets: list[tuple[str, Any]]) -> dict[tuple[str, Any],
                                                                          tuple[str, str]]:
    """The referrals among ``targets`` the user may open now, as ``load_received`` or
    ``load_sent`` would allow them."""
    ids: list[uuid.UUID] = [object_id for kind, object_id in targets if kind == REFERRAL]
    if not ids:
        return {}
    found: dict[tuple[str, Any], tuple[str, str]] = {}
    if user.service_id is not None:
        rows = db.session.execute(select(Referral.id, Referral.service_type, Referral.sent_at)
                                  .where(Referral.id.in_(ids),
                                         Referral.service_id == user.service_id,
                                         Referral.status != "revoked")).all()
        for rid, service_type, sent_at in rows:
            ref = f"{label(service_type, 'service_type')} · {format_datetime(sent_at, 'short')}"
            found[(REFERRAL, rid)] = (url_for("referrals.received", referral_id=rid), ref)
    if not can(user, Permission.REFERRAL_CREATE):
        return found
    sent = db.session.execute(select(Referral.id, Case.case_number)
                              .join(Case, Case.id == Referral.case_id)
                              .where(Referral.id.in_(ids), case_scope(user))).all()
    for rid, number in sent:
        found.setdefault((REFERRAL, rid), (url_for("referrals.sent_view", referral_id=rid), number))
    return found


def _providers(service_id: uuid.UUID, *, active: bool) -> list[uuid.UUID]:
    """The accounts that work at the service (that receive its referrals); only those who may
    sign in with ``active``."""
    stmt = select(User.id).where(User.service_id == service_id,
                                 User.role.in_(roles_with(Permission.REFERRAL_RECEIVE)))
    if active:
        stmt = stmt.where(User.active.is_(True))
    return list(db.session.scalars(stmt))


def sent(referral: Referral, organisation_id: uuid.UUID, actor: User) -> int:
    """Tell every active account of the receiving service of a new referral (an urgent one,
    or one for urgent clinical care, as urgent); in the sending transaction."""
    urgent = referral.urgent_clinical or referral.urgency == Urgency.URGENT
    return notifications.notify(
        _providers(referral.service_id, active=True), organisation_id=organisation_id,
        kind=Kind.REFERRAL_NEW_URGENT if urgent else Kind.REFERRAL_NEW, target=Target.REFERRAL,
        object_id=referral.id, actor=actor.id)


def answered(referral: Referral, case: Case, actor: User) -> int:
    """Tell the case's workers that the service answered (accepted, declined, completed)."""
    return notifications.notify(
        [case.primary_worker_id, case.secondary_worker_id], organisation_id=case.organisation_id,
        kind=Kind.REFERRAL_ANSWERED, target=Target.REFERRAL, object_id=referral.id,
        actor=actor.id)


def revoked(referral: Referral) -> None:
    """The service can no longer open the referral: its accounts' notifications about it go
    (the referring side still opens it, revoked)."""
    notifications.discard(Target.REFERRAL, [referral.id],
                          users=_providers(referral.service_id, active=False))


def _case_referrals(case: Case) -> list[uuid.UUID]:
    return list(db.session.scalars(select(Referral.id).where(Referral.case_id == case.id)))


@hooks.case_left.subscribe
def case_left(case: Case, users: list[uuid.UUID]) -> None:
    """Workers taken off a case lose their notifications about its referrals."""
    notifications.discard(Target.REFERRAL, _case_referrals(case), users=users)


@hooks.case_erased.subscribe
def case_erased(case: Case) -> None:
    """Nobody is told of an erased case's referrals any more (the erasing transaction)."""
    notifications.discard(Target.REFERRAL, _case_referrals(case))
