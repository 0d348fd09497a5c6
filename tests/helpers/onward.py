"""Onward referrals in tests: a psychiatric hospital at the partner organisation and a clinic at
the world's, each with a provider account (service-level only: these accounts never sign in),
and the steps of a chain made through the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.auth.models import User
from app.cases import consent
from app.cases.models import Case
from app.clock import utcnow
from app.db import db
from app.directory.models import Service
from app.referrals import onward, service
from app.referrals.models import Referral
from tests.helpers.factories import World


@dataclass
class Chain:
    """Ids of the services, accounts and referrals a test builds (strings)."""

    psychiatry: str = ""
    clinic: str = ""
    psy_user: str = ""
    clinic_user: str = ""


def user(world: World, name: str) -> User:
    """A world account, loaded."""
    found = db.session.get(User, uuid.UUID(world.users[name]))
    assert found is not None
    return found


def referral(referral_id: str | uuid.UUID) -> Referral:
    """A referral, loaded afresh."""
    found = db.session.get(Referral, uuid.UUID(str(referral_id)))
    assert found is not None
    return found


def the_case(world: World, label: str = "case_own") -> Case:
    """A world case, loaded."""
    found = db.session.get(Case, uuid.UUID(world.ids[label]))
    assert found is not None
    return found


def services(world: World) -> Chain:
    """The national psychiatric hospital (partner organisation) and a clinic (the world's
    organisation), each with one provider account. Call in an app context; commits."""
    chain = Chain()
    psy = Service(organisation_id=uuid.UUID(world.ids["other_org"]),
                  name="National Psychiatric Hospital", service_type="psychiatry")
    clinic = Service(organisation_id=uuid.UUID(world.ids["org"]), name="CMR clinic",
                     service_type="health_medical")
    db.session.add_all([psy, clinic])
    db.session.flush()
    for name, svc, org in (("psy_provider", psy, world.ids["other_org"]),
                           ("clinic_provider", clinic, world.ids["org"])):
        account = User(username=f"{name}_{uuid.uuid4().hex[:6]}", display_name=name,
                       organisation_id=uuid.UUID(org), role="service_provider",
                       password_hash="x", password_changed_at=utcnow(), service_id=svc.id,
                       active=True)
        db.session.add(account)
        db.session.flush()
        setattr(chain, "psy_user" if svc is psy else "clinic_user", str(account.id))
    chain.psychiatry, chain.clinic = str(psy.id), str(clinic.id)
    db.session.commit()
    return chain


def share_consent(world: World, service_type: str, fields: list[str], granted: bool = True) -> None:
    """The survivor of the world's own case consents (or withdraws consent) to share with
    ``service_type``, listing ``fields``."""
    consent.record_consent(user(world, "caseworker"), the_case(world), kind=f"share:{service_type}",
                           granted=granted, given_by="survivor", method="verbal",
                           share_fields=fields)


def accept(account: User, referral_id: str | uuid.UUID) -> Referral:
    """The receiving service accepts the referral."""
    found = referral(referral_id)
    service.answer(account, found, service.ReferralAnswer(op=service.AnswerOp.ACCEPT,
                                                          version=found.version))
    return found


def refer_on(account: User, parent_id: str | uuid.UUID, service_id: str,
             fields: tuple[str, ...] = ()) -> Referral:
    """The parent's service refers on to ``service_id``."""
    return onward.refer_on(account, referral(parent_id), onward.NewOnward(
        service_id=uuid.UUID(service_id), fields=fields))


def depth_two(world: World) -> tuple[Chain, Referral, Referral]:
    """MHPSS (the world's provider) accepts the world's referral and refers on to the
    psychiatric hospital, which accepts and refers on to the clinic: (chain, hospital's
    referral, clinic's referral). Consent covers both types, name included."""
    chain = services(world)
    share_consent(world, "psychiatry", ["full_name", "phone"])
    share_consent(world, "health_medical", ["full_name"])
    accept(user(world, "service_provider"), world.ids["ref_mhpss"])
    to_psy = refer_on(user(world, "service_provider"), world.ids["ref_mhpss"], chain.psychiatry,
                      ("full_name",))
    psy_user = db.session.get(User, uuid.UUID(chain.psy_user))
    assert psy_user is not None
    accept(psy_user, to_psy.id)
    to_clinic = refer_on(psy_user, to_psy.id, chain.clinic, ("full_name",))
    return chain, to_psy, to_clinic
