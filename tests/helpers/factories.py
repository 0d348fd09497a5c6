"""The test world: two organisations with sites, safe spaces, services, one account per role
and three cases, built once per run into the template database (``build_world``); and the
canaries, unique markers of survivor data that must never leak."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import pyotp

from app.auth import mfa, passwords
from app.auth.models import User
from app.clock import utcnow
from app.db import db
from app.directory.models import Organisation, SafeSpace, Service, Site
from tests.helpers.login import PASSWORD

ROLES = ("caseworker", "supervisor", "service_provider", "wgss_coordinator", "program_manager",
         "auditor", "admin")


@dataclass
class World:
    """Ids and secrets of the accounts every test database starts with."""

    users: dict[str, str] = field(default_factory=dict)     # username -> id
    secrets: dict[str, str] = field(default_factory=dict)   # username -> TOTP secret
    ids: dict[str, str] = field(default_factory=dict)       # label -> record id
    case_numbers: dict[str, str] = field(default_factory=dict)  # label -> case number


def build_world() -> World:
    """Two organisations with sites, a safe space, services and one account per role (plus a
    second caseworker, an un-enrolled user and a deactivated one). Call in an app context."""
    world = World()
    org = Organisation(name="Test NGO")
    other = Organisation(name="Partner Org")
    db.session.add_all([org, other])
    db.session.flush()
    tripoli = Site(organisation_id=org.id, name="Tripoli", code="TRI")
    benghazi = Site(organisation_id=org.id, name="Benghazi", code="BEN")
    partner_site = Site(organisation_id=other.id, name="Partner Site", code="PAR")
    db.session.add_all([tripoli, benghazi, partner_site])
    db.session.flush()
    space = SafeSpace(organisation_id=org.id, site_id=tripoli.id, name="Camp WGSS",
                      opened_on=date(2024, 1, 1))
    space2 = SafeSpace(organisation_id=org.id, site_id=benghazi.id, name="Benghazi WGSS",
                       opened_on=date(2024, 1, 1))
    mhpss = Service(organisation_id=org.id, name="MHPSS", service_type="mhpss")
    legal = Service(organisation_id=other.id, name="Legal aid", service_type="legal")
    db.session.add_all([space, space2, mhpss, legal])
    db.session.flush()
    pw_hash = passwords.hash_password(PASSWORD)
    specs = [(role, role) for role in ROLES] + [("caseworker2", "caseworker"),
                                                ("newbie", "caseworker"),
                                                ("gone", "caseworker"),
                                                ("caseworker_b", "caseworker"),
                                                ("admin2", "admin")]
    for username, role in specs:
        user = User(username=username, display_name=f"Test {username}", organisation_id=org.id,
                    role=role, password_hash=pw_hash, password_changed_at=utcnow(),
                    service_id=mhpss.id if role == "service_provider" else None,
                    active=username != "gone")
        if role in ("caseworker", "supervisor", "wgss_coordinator"):
            user.sites = [benghazi] if username == "caseworker_b" else [tripoli]
        if role == "wgss_coordinator":
            user.safe_spaces = [space]
        db.session.add(user)
        db.session.flush()
        if username != "newbie":
            secret = pyotp.random_base32(32)
            mfa.store_secret(user, secret)
            user.mfa_enrolled_at = utcnow()
            world.secrets[username] = secret
        world.users[username] = str(user.id)
    world.ids.update(org=str(org.id), other_org=str(other.id), tripoli=str(tripoli.id),
                     benghazi=str(benghazi.id), partner_site=str(partner_site.id),
                     safe_space=str(space.id), safe_space2=str(space2.id),
                     mhpss=str(mhpss.id), legal=str(legal.id))
    db.session.commit()
    build_cases(world)
    return world


CANARY = {
    "own_name": "Zainab Canaryqx",
    "own_alias": "Zizi Canaryqx",
    "own_narrative": "NarrativeCanary-7Q1X-unique",
    "own_location": "LocationCanary-Block-Z9",
    "other_name": "Huda Othercanary",
    "far_name": "Mariam Farcanary",
    "message": "MessageCanary-Referral-44",
}


def build_cases(world: World) -> None:
    """Three cases: the caseworker's own (with consent and an incident), a colleague's at the
    same site, and one at another site (outside the supervisor's sites). Call in app context."""
    from datetime import date

    from app.auth.models import User
    from app.cases import consent, gbvims, records, service
    from app.directory.models import Site

    def user(name):
        return db.session.get(User, uuid.UUID(world.users[name]))

    tripoli = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
    benghazi = db.session.get(Site, uuid.UUID(world.ids["benghazi"]))
    base = {"sex": "female", "nationality_group": "national", "displacement_status": "idp",
            "disability": "no", "estimated_age": 30}
    own = service.open_case(user("caseworker"), tripoli, service.IdentityInput(**dict(
        base, full_name=CANARY["own_name"], alias=CANARY["own_alias"], phone="+218 91 333 0202",
        location=CANARY["own_location"])))
    consent.record_consent(user("caseworker"), own, kind="services", granted=True,
                           given_by="survivor", method="verbal")
    records.save_incident(user("caseworker"), own, records.IncidentInput(
        incident_date=date(2026, 11, 1), reported_date=date(2026, 11, 20),
        location_type="camp_settlement", answers=gbvims.answered("physical"),
        perpetrator_count="1", survivor_age_at_incident=30,
        perpetrators=(records.PerpetratorInput("unknown", "unknown", "armed_actor", "unknown"),),
        time_of_day="unknown",
        displacement_stage="during_refuge", narrative=CANARY["own_narrative"]))
    other = service.open_case(user("caseworker2"), tripoli,
                                service.IdentityInput(**base, full_name=CANARY["other_name"]))
    far = service.open_case(user("caseworker_b"), benghazi,
                              service.IdentityInput(**base, full_name=CANARY["far_name"]))
    # The survivor agreed to share her name with MHPSS; a referral to the world's MHPSS service
    # (where the service_provider account works) shares it. A second referral goes to the
    # partner's legal aid, under a supervisor override.
    from app.referrals import service as referrals

    consent.record_consent(user("caseworker"), own, kind="share:mhpss", granted=True,
                           given_by="survivor", method="verbal", share_fields=["full_name"])
    to_mhpss = referrals.create(user("caseworker"), own, referrals.NewReferral(
        service_id=uuid.UUID(world.ids["mhpss"]), fields=("full_name",),
        message=CANARY["message"]))
    to_legal = referrals.create(user("supervisor"), own, referrals.NewReferral(
        service_id=uuid.UUID(world.ids["legal"]), urgency=referrals.Urgency.HIGH,
        override_code="risk_to_life"))
    world.ids["ref_mhpss"], world.ids["ref_legal"] = str(to_mhpss.id), str(to_legal.id)
    for label, case in (("case_own", own), ("case_other", other), ("case_far", far)):
        world.ids[label] = str(case.id)
        world.case_numbers[label] = case.case_number
