"""Demo statistics for ``flask demo seed``: synthetic survivors with one incident each, a few
referrals, and the coordinator's awareness sessions and staff trainings, so the statistics,
programme logs and impact pages of the demo organisation have something to show.

Everything is recorded through the app's own services (cases opened, consents, incidents and
referrals sealed, validated and audited exactly as from the forms) by the demo accounts, with a
fixed random seed: the demo is the same every time (relative to today). The people are made up:
every name is "Demo Survivor NNN", and nothing else identifying is recorded. Idempotent: no case
is added once the demo organisation has any case, no log once its sites have any log.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import select

from app.auth.models import User
from app.cases import consent, gbvims, records
from app.cases import service as cases
from app.cases.models import Case
from app.db import db
from app.directory.models import Organisation, Service, Site
from app.localtime import organisation_zone
from app.localtime import today as local_today
from app.programme import rules
from app.programme import service as programme
from app.programme.models import AwarenessSession, StaffTraining
from app.referrals import service as referrals

SEED = 107  # chosen so the demo's mix is close to the weights below
CASES = 120
T = TypeVar("T")
Weighted = Sequence[tuple[T, float]]

# Where survivors report (demo site names of ``app.demo.SITES``).
SITE_WEIGHTS: Weighted[str] = (("Tripoli", 45), ("Benghazi", 27), ("Misrata", 17), ("Sabha", 11))
CORE_TYPES: Weighted[str] = (
    ("physical_assault", 29), ("psychological_abuse", 19), ("rape", 16),
    ("denial_of_resources", 13), ("sexual_assault", 9), ("forced_marriage", 8), ("non_gbv", 6))
# The classification question answered yes for each core type (``gbvims.CLASSIFICATION``).
ACTS = {"rape": "penetration", "sexual_assault": "sexual_contact",
        "physical_assault": "physical", "forced_marriage": "forced_marriage",
        "denial_of_resources": "denial", "psychological_abuse": "psychological"}
DISPLACEMENT: Weighted[str] = (
    ("idp", 34), ("host_community", 28), ("migrant", 16), ("refugee", 9), ("returnee", 7),
    ("asylum_seeker", 3), ("stateless", 1), ("unknown", 2))
STAGES: Mapping[str, Weighted[str]] = {
    "host_community": (("not_displaced", 1),),
    "idp": (("during_refuge", 7), ("during_flight", 2), ("pre_flight", 1)),
    "refugee": (("during_refuge", 6), ("during_flight", 3), ("pre_flight", 1)),
    "asylum_seeker": (("during_flight", 5), ("during_refuge", 4)),
    "migrant": (("during_flight", 6), ("during_refuge", 3)),
    "returnee": (("post_return", 6), ("during_return", 3)),
    "stateless": (("during_refuge", 1),),
    "unknown": (("not_displaced", 1), ("during_refuge", 1)),
}
# Survivor age at report, by band (lo, hi); children are a minority.
AGES: Weighted[tuple[int, int]] = (
    ((8, 11), 2), ((12, 17), 13), ((18, 25), 31), ((26, 40), 36), ((41, 60), 15), ((61, 75), 3))
# Days from the incident to the report, long-tailed.
DELAYS: Weighted[tuple[int, int]] = (
    ((0, 3), 34), ((4, 5), 8), ((6, 14), 17), ((15, 30), 15), ((31, 120), 18), ((121, 400), 8))
TIMES: Weighted[str] = (
    ("evening_night", 38), ("afternoon", 24), ("morning", 20), ("unknown", 18))
# Perpetrators' relationship: intimate partners for domestic abuse, others for the rest.
RELATIONSHIPS: Mapping[str, Weighted[str]] = {
    "domestic": (("intimate_partner", 58), ("family_other", 18), ("primary_caregiver", 6),
                 ("cotenant_housemate", 4), ("employer_supervisor", 5), ("other", 3),
                 ("unknown", 6)),
    "sexual": (("other_community_member", 20), ("no_relation", 18), ("armed_actor", 15),
               ("intimate_partner", 12), ("family_friend_neighbour", 9), ("family_other", 7),
               ("employer_supervisor", 6), ("other_displaced_person", 5), ("unknown", 8)),
    "marriage": (("family_other", 55), ("primary_caregiver", 35), ("unknown", 10)),
    "non_gbv": (("no_relation", 40), ("other_community_member", 35), ("unknown", 25)),
}
LOCATIONS: Mapping[str, Weighted[str]] = {
    "domestic": (("home_survivor", 62), ("home_perpetrator", 14), ("camp_settlement", 10),
                 ("workplace", 5), ("road_street", 4), ("unknown", 5)),
    "sexual": (("road_street", 18), ("home_perpetrator", 16), ("home_survivor", 13),
               ("detention_centre", 12), ("camp_settlement", 11), ("field_bush", 7),
               ("workplace", 7), ("checkpoint", 5), ("market", 4), ("school", 2),
               ("unknown", 5)),
    "marriage": (("home_survivor", 80), ("other", 10), ("unknown", 10)),
    "non_gbv": (("road_street", 35), ("market", 25), ("camp_settlement", 20), ("other", 20)),
}
OCCUPATIONS: Mapping[str, Weighted[str]] = {
    "armed_actor": (("armed_forces_group", 75), ("police_security", 20), ("unknown", 5)),
    "employer_supervisor": (("business_owner_trader", 60), ("farmer_herder", 25),
                            ("other", 15)),
    "other": (("unknown", 45), ("unemployed", 18), ("business_owner_trader", 9),
              ("farmer_herder", 6), ("other", 8), ("student", 4), ("police_security", 3),
              ("community_leader", 2), ("government_official", 2), ("health_worker", 1),
              ("teacher_education", 1), ("humanitarian_worker", 1)),
}
PERPETRATOR_AGES: Weighted[str] = (
    ("26_40", 44), ("18_25", 20), ("41_60", 20), ("61_plus", 3), ("12_17", 3), ("unknown", 10))

# The demo services referred to, by name (``app.demo.OWN_SERVICES`` and ``PARTNERS``).
REFER_MHPSS = "Mental health and psychosocial support"
REFER_CLINICAL = "Clinical care for rape survivors"
REFER_LEGAL = "Legal aid"
REFER_SHELTER = "Emergency shelter"
# Partner services are offered at these demo sites only (``app.demo.PARTNERS``).
PARTNER_SITES = ("Tripoli", "Benghazi")
# The provider's answers to an MHPSS referral: (accept, complete with outcome, or decline).
ANSWERS: Weighted[str] = (
    ("completed", 38), ("accepted", 27), ("declined", 10), ("sent", 25))
OUTCOMES: Weighted[tuple[str, str | None]] = (
    (("provided", None), 75), (("partially_provided", "did_not_attend"), 15),
    (("not_provided", "survivor_declined"), 10))
DECLINE_NOTE = "Demo: no counselling slot at this site this month; please refer again."

# Community awareness sessions and staff trainings of the demo coordinator's site.
AWARENESS_TOPICS: Weighted[str] = (
    ("gbv_basics", 4), ("services_referral_pathway", 3), ("early_marriage", 2),
    ("psychosocial_wellbeing", 2), ("safety_planning", 2), ("other", 1))
TRAINING_TOPICS = ("case_management", "psychological_first_aid", "gbvims_data_protection",
                   "safe_referrals")
AWARENESS_SESSIONS = 12


def pick(rng: random.Random, options: Weighted[T]) -> T:
    """One option, drawn by weight."""
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


@dataclass(frozen=True)
class Survivor:
    """One synthetic survivor and her incident, drawn from the tables above."""

    number: int
    site: str
    sex: str
    age: int
    displacement: str
    reported: date
    occurred: date
    core: str
    time_of_day: str
    location: str
    stage: str
    perpetrators: tuple[records.PerpetratorInput, ...]
    perpetrator_count: str
    harmful: str | None
    reporting: bool


def _group(core: str) -> str:
    if core in ("rape", "sexual_assault"):
        return "sexual"
    if core == "forced_marriage":
        return "marriage"
    if core == "non_gbv":
        return "non_gbv"
    return "domestic"


def _perpetrator(rng: random.Random, group: str, core: str) -> records.PerpetratorInput:
    relationship = pick(rng, RELATIONSHIPS[group])
    occupation = pick(rng, OCCUPATIONS.get(relationship, OCCUPATIONS["other"]))
    female = 0.35 if group == "marriage" else 0.12 if core == "psychological_abuse" else 0.03
    sex = "female" if rng.random() < female else "unknown" if rng.random() < 0.04 else "male"
    return records.PerpetratorInput(sex, pick(rng, PERPETRATOR_AGES), relationship, occupation)


def _reported(rng: random.Random, today: date) -> date:
    """A report date: mostly this year up to today, some in the last quarter of last year."""
    if rng.random() < 0.12:
        start, end = date(today.year - 1, 10, 1), date(today.year - 1, 12, 31)
    else:
        start, end = date(today.year, 1, 1), today
    # A fraction of the span (not ``randint``), so the draws that follow do not depend on it.
    return start + timedelta(days=int(rng.random() * ((end - start).days + 1)))


def draw(rng: random.Random, number: int, today: date) -> Survivor:
    """The ``number``-th synthetic survivor (the draws depend only on ``rng``'s state)."""
    site = pick(rng, SITE_WEIGHTS)
    core = pick(rng, CORE_TYPES)
    sex = "female" if rng.random() < 0.92 or core == "forced_marriage" else "male"
    lo, hi = pick(rng, AGES)
    if core == "forced_marriage":
        lo, hi = 13, 24  # forced marriages are mostly of girls and young women
    age = rng.randint(lo, hi)
    displacement = pick(rng, DISPLACEMENT)
    reported = _reported(rng, today)
    low, high = pick(rng, DELAYS)
    occurred = reported - timedelta(days=rng.randint(low, high))
    group = _group(core)
    location = pick(rng, LOCATIONS[group])
    if location == "detention_centre" and displacement not in ("migrant", "asylum_seeker",
                                                                "refugee"):
        location = "road_street"
    several = rng.random()
    count = "1" if group != "sexual" or several < 0.75 else "2" if several < 0.88 else \
        "3" if several < 0.95 else "more_than_3"
    perpetrators = tuple(_perpetrator(rng, group, core)
                         for _ in range(3 if count == "more_than_3" else int(count)))
    harmful = "early_marriage" if core == "forced_marriage" and age < 18 else \
        "forced_marriage_practice" if core == "forced_marriage" and rng.random() < 0.5 else None
    return Survivor(
        number=number, site=site, sex=sex, age=age, displacement=displacement,
        reported=reported, occurred=occurred, core=core, time_of_day=pick(rng, TIMES),
        location=location, stage=pick(rng, STAGES[displacement]), perpetrators=perpetrators,
        perpetrator_count=count, harmful=harmful, reporting=rng.random() < 0.9)


def _consent(worker: User, case: Case, kind: str, granted: bool) -> None:
    """A consent decision as the form records it: a child assents with the caregiver."""
    child = case.is_child
    consent.record_consent(worker, case, kind=kind, granted=granted,
                           given_by="both" if child else "survivor", method="verbal",
                           child_assent=True if child else None)


def _record(worker: User, site: Site, who: Survivor) -> Case:
    """Open the survivor's case, record her consents and her incident."""
    case = cases.open_case(worker, site, cases.IdentityInput(
        full_name=f"Demo Survivor {who.number:03d}", estimated_age=who.age, sex=who.sex,
        nationality_group="foreign" if who.displacement in ("migrant", "refugee",
                                                             "asylum_seeker") else
        "stateless" if who.displacement == "stateless" else "national",
        displacement_status=who.displacement, disability="no" if who.number % 9 else "yes"))
    _consent(worker, case, "services", True)
    _consent(worker, case, "reporting", who.reporting)
    # Age at the incident: the age at report, a year less when the incident was long before.
    age = who.age - (1 if (who.reported - who.occurred).days > 180 else 0)
    records.save_incident(worker, case, records.IncidentInput(
        incident_date=who.occurred, reported_date=who.reported,
        answers=gbvims.answered(*((ACTS[who.core],) if who.core in ACTS else ())),
        date_is_approximate=(who.reported - who.occurred).days > 60,
        location_type=who.location, perpetrator_count=who.perpetrator_count,
        perpetrators=who.perpetrators, time_of_day=who.time_of_day,
        displacement_stage=who.stage, survivor_age_at_incident=age,
        harmful_practice=who.harmful is not None, harmful_practice_type=who.harmful))
    return case


def _services() -> dict[str, Service]:
    """The active demo services by name (the organisation's own and its partners')."""
    names = (REFER_MHPSS, REFER_CLINICAL, REFER_LEGAL, REFER_SHELTER)
    found = db.session.execute(select(Service).where(Service.name.in_(names))).scalars()
    own = {s.name: s for s in found if s.active}
    return {n: own[n] for n in names if n in own}


def _referrals(rng: random.Random, who: Survivor) -> list[str]:
    """The services (by name) this survivor is referred to, if any."""
    wanted = []
    if (who.core == "rape" and (who.reported - who.occurred).days <= 3) or \
            (who.core in ("rape", "sexual_assault") and rng.random() < 0.3):
        wanted.append(REFER_CLINICAL)
    if who.core != "non_gbv" and rng.random() < 0.3:
        wanted.append(REFER_MHPSS)
    if who.site in PARTNER_SITES and who.core != "non_gbv":
        if rng.random() < 0.08:
            wanted.append(REFER_LEGAL)
        if who.core in ("physical_assault", "forced_marriage") and rng.random() < 0.1:
            wanted.append(REFER_SHELTER)
    return wanted


def _refer(rng: random.Random, worker: User, provider: User | None, case: Case,
           service: Service) -> None:
    """Refer ``case`` to ``service`` with consent to share; the provider answers when the
    service is theirs (only a provider of the receiving service may answer a referral)."""
    _consent(worker, case, f"share:{service.service_type}", True)
    sent = referrals.create(worker, case, referrals.NewReferral(service_id=service.id))
    if provider is None or provider.service_id != service.id:
        return
    state = pick(rng, ANSWERS)
    if state == "sent":
        return
    op = referrals.AnswerOp.DECLINE if state == "declined" else referrals.AnswerOp.ACCEPT
    referrals.answer(provider, sent, referrals.ReferralAnswer(
        op=op, note=DECLINE_NOTE if state == "declined" else None, version=sent.version))
    if state == "completed":
        outcome, reason = pick(rng, OUTCOMES)
        referrals.answer(provider, sent, referrals.ReferralAnswer(
            op=referrals.AnswerOp.COMPLETE, version=sent.version, outcome=outcome,
            outcome_reason=reason))


def seed_cases(org: Organisation, sites: Mapping[str, Site], caseworker: User,
               provider: User | None = None, *, count: int | None = None, seed: int = SEED) -> int:
    """Record ``count`` (default ``CASES``) synthetic survivors, one incident each, at the
    demo ``sites`` (by name) as ``caseworker``, with referrals answered by ``provider`` where
    the service is theirs; returns how many cases were added (none when the organisation
    already has a case)."""
    if db.session.execute(select(Case.id).where(Case.organisation_id == org.id).limit(1)).first():
        return 0
    rng = random.Random(seed)
    # The provider's answers draw from their own generator, so the survivors drawn do not
    # depend on which referrals were answered (``draw`` and ``_referrals`` replay them).
    answering = random.Random(seed + 1)
    today = local_today(organisation_zone(org.id))
    services = _services()
    added = 0
    for number in range(1, (CASES if count is None else count) + 1):
        who = draw(rng, number, today)
        site = sites.get(who.site)
        if site is None:
            continue
        case = _record(caseworker, site, who)
        added += 1
        for name in _referrals(rng, who):
            if name in services:
                _refer(answering, caseworker, provider, case, services[name])
    return added


def seed_logs(sites: Sequence[Site], coordinator: User, *, seed: int = SEED) -> int:
    """Log a dozen community awareness sessions and a few staff trainings of this year as
    ``coordinator``, at the first of ``sites`` in their scope; returns how many were added
    (none when any of ``sites`` already has a log)."""
    ids = [s.id for s in sites]
    for model in (AwarenessSession, StaffTraining):
        if db.session.execute(select(model.id).where(model.site_id.in_(ids)).limit(1)).first():
            return 0
    own = {s.id for s in coordinator.sites}
    site = next((s for s in sites if s.id in own and s.active), None)
    if site is None:
        return 0
    rng = random.Random(seed)
    today = local_today(organisation_zone(site.organisation_id))
    start = date(today.year, 1, 1)
    span = (today - start).days
    added = 0
    for n in range(AWARENESS_SESSIONS):
        # Spread over the year so far, one about every month.
        held_on = start + timedelta(days=min(span, span * n // AWARENESS_SESSIONS
                                             + rng.randint(0, 10)))
        women = rng.randint(8, 35)
        counts = {
            "female_10_14": rng.randint(0, 6), "female_15_19": rng.randint(2, 10),
            "female_20_24": women // 3, "female_25_49": women, "female_50_plus": rng.randint(1, 8),
            "male_10_14": 0, "male_15_19": rng.randint(0, 4), "male_20_24": rng.randint(0, 5),
            "male_25_49": rng.randint(0, 10) if n % 3 == 0 else rng.randint(0, 3),
            "male_50_plus": rng.randint(0, 3)}
        programme.save_log(coordinator, rules.AWARENESS, programme.ActivityEntry(
            site_id=site.id, held_on=held_on, topic=pick(rng, AWARENESS_TOPICS), counts=counts))
        added += 1
    for n, topic in enumerate(TRAINING_TOPICS):
        held_on = start + timedelta(days=min(span, span * (2 * n + 1) // (2 * len(TRAINING_TOPICS))))
        programme.save_log(coordinator, rules.TRAINING, programme.ActivityEntry(
            site_id=site.id, held_on=held_on, topic=topic, counts={
                "female_own": rng.randint(6, 14), "male_own": rng.randint(1, 5),
                "female_partner": rng.randint(0, 8), "male_partner": rng.randint(0, 4)}))
        added += 1
    return added


def seed_statistics(org: Organisation, sites: Mapping[str, Site], caseworker: User,
                    provider: User | None, coordinator: User) -> int:
    """The demo's cases and programme logs (each part skipped once the organisation has any);
    returns how many cases were added."""
    added = seed_cases(org, sites, caseworker, provider)
    seed_logs(list(sites.values()), coordinator)
    return added
