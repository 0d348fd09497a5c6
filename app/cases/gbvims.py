"""GBVIMS reference data and rules (shared/GBVIMS.md): stored codes, the ordered classification
questions, derived case contexts and bands. Labels are translated; codes never change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Question:
    """One question of the classification tool; the first "yes" decides the core type."""

    key: str
    code: str
    text: object


# Order matters: the first question answered "yes" gives the core type.
CLASSIFICATION = (
    Question("penetration", "rape", _l(
        "Was there penetration, however slight, of the vagina, anus or mouth by a body part or "
        "an object, without consent?")),
    Question("sexual_contact", "sexual_assault", _l(
        "Was there unwanted sexual contact without penetration (attempted rape, unwanted touching "
        "or kissing, female genital cutting)?")),
    Question("physical", "physical_assault", _l(
        "Was there physical violence that is not sexual (hitting, choking, burning, use of a "
        "weapon)?")),
    Question("forced_marriage", "forced_marriage", _l(
        "Was the survivor married against her or his will?")),
    Question("denial", "denial_of_resources", _l(
        "Was rightful access to resources, livelihood, education, health or other services "
        "denied?")),
    Question("psychological", "psychological_abuse", _l(
        "Was there psychological or emotional abuse (threats, humiliation, isolation, "
        "harassment)?")),
)
NON_GBV = "non_gbv"
CORE_TYPES = {
    "rape": _l("Rape"),
    "sexual_assault": _l("Sexual assault"),
    "physical_assault": _l("Physical assault"),
    "forced_marriage": _l("Forced marriage"),
    "denial_of_resources": _l("Denial of resources, opportunities or services"),
    "psychological_abuse": _l("Psychological / emotional abuse"),
    NON_GBV: _l("Not GBV"),
}
SEXUAL_TYPES = frozenset({"rape", "sexual_assault"})

CONTEXTS = {
    "intimate_partner_violence": _l("Intimate partner violence"),
    "child_sexual_abuse": _l("Child sexual abuse"),
    "early_marriage": _l("Early marriage"),
    "possible_sexual_exploitation": _l("Possible sexual exploitation"),
    "possible_sexual_slavery": _l("Possible sexual slavery"),
    "harmful_traditional_practice": _l("Harmful traditional practice"),
}

REPORT_BANDS = (  # (code, first day, last day or None)
    ("0_3_days", 0, 3), ("4_5_days", 4, 5), ("6_14_days", 6, 14),
    ("2_weeks_1_month", 15, 30), ("over_1_month", 31, None),
)
AGE_GROUPS = ("0_11", "12_17", "18_25", "26_40", "41_60", "61_plus", "unknown")
PERPETRATOR_COUNTS = ("1", "2", "3", "more_than_3")
RELATIONSHIPS = (
    "intimate_partner", "primary_caregiver", "family_other", "employer_supervisor", "schoolmate",
    "teacher_school_official", "service_provider", "cotenant_housemate",
    "family_friend_neighbour", "other_displaced_person", "other_community_member", "armed_actor",
    "no_relation", "other", "unknown",
)
DISPLACEMENT = ("host_community", "idp", "refugee", "asylum_seeker", "migrant", "returnee",
                "stateless", "unknown")
DISPLACEMENT_STAGES = ("not_displaced", "pre_flight", "during_flight", "during_refuge",
                       "during_return", "post_return")
TIMES_OF_DAY = ("morning", "afternoon", "evening_night", "unknown")
LOCATION_TYPES = (
    "home_survivor", "home_perpetrator", "road_street", "field_bush", "market", "school",
    "workplace", "health_facility", "detention_centre", "checkpoint", "camp_settlement",
    "sea_crossing", "other", "unknown",
)
SERVICE_TYPES = (
    "health_medical", "mhpss", "psychiatry", "safety_security", "legal", "shelter_safe_house",
    "livelihoods", "protection_child_protection", "wgss", "other",
)
URGENT_CLINICAL_WINDOW = timedelta(hours=72)


def classify(answers: Mapping[str, bool]) -> str:
    """The core type: the code of the first question answered yes, else ``non_gbv``."""
    for question in CLASSIFICATION:
        if answers.get(question.key):
            return question.code
    return NON_GBV


def contexts(core_type: str, *, survivor_age: int | None, relationships: Iterable[str],
             exchange: bool = False, abducted: bool = False,
             harmful_practice: bool = False) -> set[str]:
    """Derived case contexts (several may apply). Unknown age never counts as a child."""
    if core_type == NON_GBV:
        return set()
    found: set[str] = set()
    child = survivor_age is not None and survivor_age < 18
    if "intimate_partner" in set(relationships):
        found.add("intimate_partner_violence")
    if core_type in SEXUAL_TYPES:
        if child:
            found.add("child_sexual_abuse")
        if exchange:
            found.add("possible_sexual_exploitation")
        if abducted:
            found.add("possible_sexual_slavery")
    if core_type == "forced_marriage" and child:
        found.add("early_marriage")
    if harmful_practice:
        found.add("harmful_traditional_practice")
    return found


def report_band(incident: date, reported: date) -> str:
    """Time from incident to first report, in GBVIMS bands (whole days)."""
    days = (reported - incident).days
    if days < 0:
        raise ValueError("report before incident")
    for code, first, last in REPORT_BANDS:
        if days >= first and (last is None or days <= last):
            return code
    raise AssertionError("unreachable")


def age_group(age: int | None) -> str:
    """GBVIMS age group of an age in whole years (``unknown`` when not known)."""
    if age is None:
        return "unknown"
    if age < 0:
        raise ValueError("negative age")
    for code, top in (("0_11", 11), ("12_17", 17), ("18_25", 25), ("26_40", 40), ("41_60", 60)):
        if age <= top:
            return code
    return "61_plus"


def clinical_window_end(incident: datetime | date) -> datetime:
    """When the 72-hour window for post-exposure prophylaxis and emergency contraception closes.

    With only a date, the incident may have happened as late as the end of that day, so the
    window runs from the end of the day (UTC midnight, which is after the end of the day in
    Libya): it may flag a case a few hours too long, never too short.
    """
    if isinstance(incident, datetime):
        return incident + URGENT_CLINICAL_WINDOW
    day_end = datetime(incident.year, incident.month, incident.day, tzinfo=UTC) + timedelta(days=1)
    return day_end + URGENT_CLINICAL_WINDOW


def urgent_clinical(core_type: str, incident: datetime | date, now: datetime) -> bool:
    """Rape within the last 72 hours needs clinical care now (PEP, emergency contraception)."""
    return core_type == "rape" and now <= clinical_window_end(incident)


def hours_left(incident: datetime | date, now: datetime) -> float:
    """Hours left in the 72-hour clinical window (negative once past)."""
    return (clinical_window_end(incident) - now).total_seconds() / 3600
