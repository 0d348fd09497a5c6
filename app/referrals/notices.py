"""Where a referral named by a notification opens, for a reader who may still open it: the
provider's received view (reference: service and time sent, never the case number), or the
referring side's sent view (reference: the case number)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for
from flask_babel import format_datetime
from sqlalchemy import select

from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases.labels import label
from app.cases.models import Case
from app.cases.scopes import case_scope
from app.core import hooks
from app.db import db
from app.referrals.models import Referral

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
