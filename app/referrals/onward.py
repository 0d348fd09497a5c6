"""Onward referral: a service that accepted a referral refers the survivor on (a psychiatrist to
the national psychiatric hospital, a doctor to clinical management of rape elsewhere).

The rules, all here: only from a referral its service accepted (or completed), never to its own
service, and only within the survivor's consent. The target's type must have consent to share
on the case, and the new share holds at most what the provider received: the minimum plus the
fields both the parent referral shared and the consent for the new type lists. The values are
copied from the PARENT's sealed share (the provider never reads the case) and sealed under the
new referral's own data key. The receiving service answers it as any referral; revoking the
parent (by hand, by a withdrawn consent, by the case's erasure) revokes it, each referral
shredding its own key (``service._revoke``).

What the sending provider sees of its onward referrals: the service, the status and the outcome
codes, never the receiving service's notes (they are the case's, sealed under its key, for the
caseworker). The caseworker sees the whole chain on the case page (``chain``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth.models import User
from app.cases.consent import consent_state
from app.cases.models import Case
from app.cases.records import writable
from app.clock import utcnow
from app.core import hooks
from app.db import db, transaction
from app.directory.models import Service
from app.referrals import fields, notices, queries, service
from app.referrals.labels import field_label, not_provided_label, outcome_label
from app.referrals.models import Referral, ReferralStatus, Urgency
from app.submissions.service import Submission, claim

#: The statuses of a referral its service may refer on from.
REFERS_ON_FROM = (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)


@dataclass(frozen=True)
class NewOnward:
    """What the provider asks for: the service, how urgent, the fields to pass on beyond the
    minimum (codes of ``fields.OPTIONAL``) and a message (sealed)."""

    service_id: uuid.UUID
    urgency: Urgency = Urgency.NORMAL
    fields: tuple[str, ...] = ()
    message: str | None = None


def may_refer_on(referral: Referral) -> bool:
    """Whether the receiving service may refer on from this referral now."""
    return referral.status in REFERS_ON_FROM


def offer(parent: Referral, service_type: str) -> fields.Offer:
    """What an onward referral from ``parent`` to a service of ``service_type`` may carry: no
    consent to share with that type, nothing at all; else the fields both the parent shared and
    the consent in force lists (the minimum always goes)."""
    case = db.session.get(Case, parent.case_id)
    assert case is not None
    consent = fields.offer(consent_state(case).share.get(service_type))
    if not consent.consented:
        return consent
    received = set(fields.parse(parent.shared_fields))
    return fields.Offer(consented=True, fields=tuple(c for c in consent.fields if c in received))


def targets(parent: Referral) -> list[Service]:
    """The active services the provider may refer on to: any but its own, by name."""
    return [s for s in queries.active_services() if s.id != parent.service_id]


def still(referral: Referral, statuses: tuple[ReferralStatus, ...]) -> None:
    """Lock the referral's row for the rest of the transaction and check its status is still one
    of ``statuses``: a revocation committed meanwhile (whose cascade could not see what this
    transaction adds) refuses, and one that comes after waits for this one and then sees it.
    SQLite serialises every writing transaction anyway."""
    status = db.session.execute(select(Referral.status).where(Referral.id == referral.id)
                                .with_for_update()).scalar_one_or_none()
    if status not in statuses:
        raise service.ReferralError(str(_l("This referral changed meanwhile (revoked or no "
                                           "longer open). Nothing was saved.")))


def _refused(parent: Referral, reason: str, error: service.ReferralError) -> NoReturn:
    with transaction():
        record(Action.REFERRAL_REFER_ON, object_type=ObjectType.REFERRAL, object_id=parent.id,
               outcome=Outcome.DENIED, reason=reason)
    raise error


def _checked(parent: Referral, ask: NewOnward) -> tuple[Service, Urgency, list[str], str | None]:
    """The service, urgency, fields and message of ``ask``, each checked (refusals audited)."""
    if not may_refer_on(parent):
        _refused(parent, f"not_accepted:{parent.status}", error=service.ReferralError(str(_l(
            "Only a referral your service accepted can be referred on."))))
    target = db.session.get(Service, ask.service_id)
    if target is None or not target.active:
        _refused(parent, "service_unavailable", error=service.beside("service", _l(
            "That service does not exist or is not active.")))
    if target.id == parent.service_id:
        _refused(parent, "own_service", error=service.beside("service", _l(
            "Choose another service: this referral is already with yours.")))
    urgency = service._urgency(ask.urgency)
    if urgency is None:
        _refused(parent, "bad_urgency", error=service.beside("urgency", _l("Choose an urgency.")))
    message = (ask.message or "").strip() or None
    if message is not None and len(message) > service.MESSAGE_MAX:
        raise service.beside("message", _l("The message is too long: at most %(n)d characters.",
                                           n=service.MESSAGE_MAX))
    allowed = offer(parent, target.service_type)
    if not allowed.consented:
        _refused(parent, "no_consent_for_service_type", error=service.beside("service", _l(
            "The survivor has not consented to share with this type of service: it cannot be "
            "referred on there. Ask the caseworker.")))
    chosen = list(dict.fromkeys(ask.fields))
    outside = [c for c in chosen if c not in allowed.fields]
    if outside:
        known = [c for c in outside if c in fields.OPTIONAL]
        names = ", ".join(field_label(c) for c in known) or str(_l("an unknown field"))
        text = _l("Not covered by what your service received and the survivor's consent for this "
                  "service type: %(fields)s. Untick them.", fields=names)
        _refused(parent, "fields_outside_consent",
                 error=service.FieldsOutsideConsent(text, tuple(known)))
    return target, urgency, chosen, message


def refer_on(user: User, parent: Referral, ask: NewOnward, *,
             once: Submission | None = None) -> Referral:
    """Refer the survivor on from ``parent`` (a referral addressed to the user's service, loaded
    through ``queries.load_received``). Refused, audited, nothing stored: a parent not accepted,
    an unknown, inactive or own service, no consent for the target's type, a field outside the
    parent's share or that consent (``FieldsOutsideConsent``). ``once`` is claimed with it."""
    target, urgency, chosen, message = _checked(parent, ask)
    case = db.session.get(Case, parent.case_id)
    assert case is not None
    writable(case)
    received = service.shared_values(parent)
    share = {k: v for k, v in received.items() if k in fields.MINIMUM or k in chosen}
    share["service_requested"] = target.service_type
    deadline = (service._clinical_deadline(case) if target.service_type == "health_medical"
                else None)
    if deadline is not None:
        urgency = Urgency.URGENT
    now = utcnow()
    with transaction():
        still(parent, REFERS_ON_FROM)
        onward = Referral(case_id=case.id, parent_id=parent.id, service_id=target.id,
                          service_type=target.service_type, urgency=urgency.value,
                          urgent_clinical=deadline is not None, clinical_deadline_at=deadline,
                          status=ReferralStatus.SENT.value, shared_fields=",".join(chosen),
                          sent_by_id=user.id, sent_at=now,
                          respond_by=now + timedelta(hours=service.response_hours(urgency)))
        onward.share = json.dumps(share, ensure_ascii=False)
        onward.message = message
        db.session.add(onward)
        db.session.flush()
        service._event(onward, case, ReferralStatus.SENT, user, None, None)
        record(Action.REFERRAL_REFER_ON, object_type=ObjectType.REFERRAL, object_id=onward.id,
               reason=f"{target.service_type}:{urgency}")
        claim(once, ObjectType.REFERRAL, onward.id)
        notices.sent(onward, target.organisation_id, user)
    return onward


def sent_on(parent: Referral) -> list[Any]:
    """The referrals the parent's service made onward from it, oldest first: clear columns only
    (id, service name, type, status, outcome codes, sent_at), what the sending provider sees."""
    return list(db.session.execute(
        select(Referral.id, Service.name, Referral.service_type, Referral.status,
               Referral.outcome, Referral.outcome_reason, Referral.sent_at)
        .join(Service, Service.id == Referral.service_id)
        .where(Referral.parent_id == parent.id).order_by(Referral.sent_at, Referral.id)).all())


def chain(referrals: list[Referral]) -> list[tuple[int, Referral]]:
    """A case's referrals as a tree, each with its depth (0: sent from the case): every referral
    followed by those referred on from it. Built from the list the case page already loaded (no
    query); a referral whose parent is not in the list is shown as a root."""
    known = {r.id for r in referrals}
    children: dict[Any, list[Referral]] = {}
    for r in referrals:
        children.setdefault(r.parent_id if r.parent_id in known else None, []).append(r)
    out: list[tuple[int, Referral]] = []

    def walk(parent_id: Any, depth: int) -> None:
        for r in children.get(parent_id, []):
            out.append((depth, r))
            walk(r.id, depth + 1)

    walk(None, 0)
    return out


@hooks.case_page.subscribe
def chain_section(case: Case, user: User) -> dict[str, Any]:
    """What the case page's referral section needs to show the chain (functions only: the
    referrals are the ones the section already loaded, so the chain costs no query)."""
    return {"referral_chain": chain, "referral_outcome_label": outcome_label,
            "referral_not_provided_label": not_provided_label}
