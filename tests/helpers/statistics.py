"""Statistics fixtures: survivors and incidents recorded through the app's own services (so
every coded column is what a caseworker's form would store), with or without consent to
non-identifying statistics. Call inside an app context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from app.auth.models import User
from app.cases import consent, gbvims, records, service
from app.cases.models import Case, Incident
from app.db import db
from app.directory.models import Site
from tests.helpers.factories import World

#: The caseworker who works at each site of the test world.
WORKER = {"tripoli": "caseworker", "benghazi": "caseworker_b"}
ACTS = {"rape": "penetration", "sexual_assault": "sexual_contact",
        "physical_assault": "physical", "forced_marriage": "forced_marriage",
        "denial_of_resources": "denial", "psychological_abuse": "psychological"}


def user(world: World, name: str) -> User:
    found = db.session.get(User, uuid.UUID(world.users[name]))
    assert found is not None
    return found


def survivor(world: World, *, site: str = "tripoli", sex: str = "female",
             displacement: str = "idp", reporting: bool | None = True) -> Case:
    """A case at ``site`` with consent to services and, unless ``reporting`` is None, a
    reporting consent decision (granted or refused)."""
    worker = user(world, WORKER[site])
    place = db.session.get(Site, uuid.UUID(world.ids[site]))
    assert place is not None
    case = service.open_case(worker, place, service.IdentityInput(
        full_name="Statistic Person", sex=sex, nationality_group="national",
        displacement_status=displacement, disability="no", estimated_age=30))
    consent.record_consent(worker, case, kind="services", granted=True, given_by="survivor",
                           method="verbal")
    if reporting is not None:
        decide(world, case, reporting)
    return case


def decide(world: World, case: Case, granted: bool) -> None:
    """Record a reporting consent decision (a later one overrides an earlier one)."""
    site = "tripoli" if str(case.site_id) == world.ids["tripoli"] else "benghazi"
    consent.record_consent(user(world, WORKER[site]), case, kind="reporting", granted=granted,
                           given_by="survivor", method="verbal")


@dataclass(frozen=True)
class Perp:
    sex: str = "male"
    age_group: str = "26_40"
    relationship: str = "other_community_member"
    occupation: str = "unknown"


def incident(world: World, case: Case, *, core: str = "physical_assault",
             occurred: date = date(2026, 3, 1), reported: date = date(2026, 3, 10),
             age: int | None = 30, perps: Sequence[Perp] = (Perp(),), count: str | None = None,
             location: str = "camp_settlement", time_of_day: str = "unknown",
             at: time | None = None, stage: str = "during_refuge", exchange: bool = False,
             abducted: bool = False, harmful: str | None = None, **over: Any) -> Incident:
    """Record an incident of ``core`` type (``non_gbv``: every question answered no)."""
    site = "tripoli" if str(case.site_id) == world.ids["tripoli"] else "benghazi"
    answers = gbvims.answered(*((ACTS[core],) if core in ACTS else ()))
    values = records.IncidentInput(
        incident_date=occurred, reported_date=reported, answers=answers,
        location_type=location, perpetrator_count=count or str(len(perps)),
        perpetrators=tuple(records.PerpetratorInput(p.sex, p.age_group, p.relationship,
                                                    p.occupation) for p in perps),
        time_of_day=time_of_day, incident_time=at, displacement_stage=stage,
        survivor_age_at_incident=age, age_unknown=age is None, exchange=exchange,
        abducted=abducted, harmful_practice=harmful is not None,
        harmful_practice_type=harmful, **over)
    return records.save_incident(user(world, WORKER[site]), case, values)


def service_of(world: World, service_type: str) -> uuid.UUID:
    """The organisation's service of ``service_type`` (made once, active)."""
    from sqlalchemy import select

    from app.directory.models import Service

    org = uuid.UUID(world.ids["org"])
    found = db.session.execute(select(Service.id).where(
        Service.organisation_id == org, Service.service_type == service_type)).scalar()
    if found is None:
        made = Service(organisation_id=org, name=f"Service {service_type}",
                       service_type=service_type)
        db.session.add(made)
        db.session.commit()
        found = made.id
    return found


def refer(world: World, case: Case, service_type: str, *, at: datetime) -> Any:
    """A referral of ``case`` to the organisation's ``service_type`` service, sent at ``at``
    (the clock is moved there for the send, then put back), with consent to share."""
    from app import clock
    from app.referrals import service as referrals

    site = "tripoli" if str(case.site_id) == world.ids["tripoli"] else "benghazi"
    worker = user(world, WORKER[site])
    consent.record_consent(worker, case, kind=f"share:{service_type}", granted=True,
                           given_by="survivor", method="verbal")
    before = clock.utcnow()
    clock.freeze(at)
    try:
        return referrals.create(worker, case, referrals.NewReferral(
            service_id=service_of(world, service_type)))
    finally:
        clock.freeze(before)
