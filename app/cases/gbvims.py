"""GBVIMS reference data and rules (shared/GBVIMS.md): stored codes, the ordered classification
questions, derived case contexts and bands. Each list of codes is a ``StrEnum`` (its members
are the stored strings, so nothing in the database changes); their translated labels are in
``app.cases.labels``, one mapping per domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class CoreType(StrEnum):
    """The one core type of an incident (the first "yes" of ``CLASSIFICATION``)."""

    RAPE = "rape"
    SEXUAL_ASSAULT = "sexual_assault"
    PHYSICAL_ASSAULT = "physical_assault"
    FORCED_MARRIAGE = "forced_marriage"
    DENIAL_OF_RESOURCES = "denial_of_resources"
    PSYCHOLOGICAL_ABUSE = "psychological_abuse"
    NON_GBV = "non_gbv"


class Context(StrEnum):
    """Derived case contexts (several may apply)."""

    INTIMATE_PARTNER_VIOLENCE = "intimate_partner_violence"
    CHILD_SEXUAL_ABUSE = "child_sexual_abuse"
    EARLY_MARRIAGE = "early_marriage"
    POSSIBLE_SEXUAL_EXPLOITATION = "possible_sexual_exploitation"
    POSSIBLE_SEXUAL_SLAVERY = "possible_sexual_slavery"
    HARMFUL_TRADITIONAL_PRACTICE = "harmful_traditional_practice"


class ReportBand(StrEnum):
    """Time from incident to first report."""

    DAYS_0_3 = "0_3_days"
    DAYS_4_5 = "4_5_days"
    DAYS_6_14 = "6_14_days"
    WEEKS_2_MONTH_1 = "2_weeks_1_month"
    OVER_1_MONTH = "over_1_month"


class AgeGroup(StrEnum):
    """Survivor and perpetrator age groups."""

    AGE_0_11 = "0_11"
    AGE_12_17 = "12_17"
    AGE_18_25 = "18_25"
    AGE_26_40 = "26_40"
    AGE_41_60 = "41_60"
    AGE_61_PLUS = "61_plus"
    UNKNOWN = "unknown"


class PerpetratorCount(StrEnum):
    """Number of perpetrators ("more than 3" is a count, not a fourth record)."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    MORE_THAN_3 = "more_than_3"


class Relationship(StrEnum):
    """The perpetrator's relationship to the survivor."""

    INTIMATE_PARTNER = "intimate_partner"
    PRIMARY_CAREGIVER = "primary_caregiver"
    FAMILY_OTHER = "family_other"
    EMPLOYER_SUPERVISOR = "employer_supervisor"
    SCHOOLMATE = "schoolmate"
    TEACHER_SCHOOL_OFFICIAL = "teacher_school_official"
    SERVICE_PROVIDER = "service_provider"
    COTENANT_HOUSEMATE = "cotenant_housemate"
    FAMILY_FRIEND_NEIGHBOUR = "family_friend_neighbour"
    OTHER_DISPLACED_PERSON = "other_displaced_person"
    OTHER_COMMUNITY_MEMBER = "other_community_member"
    ARMED_ACTOR = "armed_actor"
    NO_RELATION = "no_relation"
    OTHER = "other"
    UNKNOWN = "unknown"


class PerpetratorSex(StrEnum):
    """A perpetrator's sex."""

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class Occupation(StrEnum):
    """A perpetrator's occupation."""

    ARMED_FORCES_GROUP = "armed_forces_group"
    POLICE_SECURITY = "police_security"
    TEACHER_EDUCATION = "teacher_education"
    HEALTH_WORKER = "health_worker"
    HUMANITARIAN_WORKER = "humanitarian_worker"
    RELIGIOUS_LEADER = "religious_leader"
    COMMUNITY_LEADER = "community_leader"
    GOVERNMENT_OFFICIAL = "government_official"
    BUSINESS_OWNER_TRADER = "business_owner_trader"
    FARMER_HERDER = "farmer_herder"
    STUDENT = "student"
    UNEMPLOYED = "unemployed"
    OTHER = "other"
    UNKNOWN = "unknown"


class HarmfulPractice(StrEnum):
    """Which harmful traditional practice the act was."""

    FGM_C = "fgm_c"
    EARLY_MARRIAGE = "early_marriage"
    FORCED_MARRIAGE_PRACTICE = "forced_marriage_practice"
    HONOUR_VIOLENCE = "honour_violence"
    WIDOW_PRACTICES = "widow_practices"
    OTHER = "other"


class Displacement(StrEnum):
    """Displacement status at report."""

    HOST_COMMUNITY = "host_community"
    IDP = "idp"
    REFUGEE = "refugee"
    ASYLUM_SEEKER = "asylum_seeker"
    MIGRANT = "migrant"
    RETURNEE = "returnee"
    STATELESS = "stateless"
    UNKNOWN = "unknown"


class DisplacementStage(StrEnum):
    """Stage of displacement at the incident."""

    NOT_DISPLACED = "not_displaced"
    PRE_FLIGHT = "pre_flight"
    DURING_FLIGHT = "during_flight"
    DURING_REFUGE = "during_refuge"
    DURING_RETURN = "during_return"
    POST_RETURN = "post_return"


class TimeOfDay(StrEnum):
    """Time of day of the incident."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING_NIGHT = "evening_night"
    UNKNOWN = "unknown"


class LocationType(StrEnum):
    """Type of place of the incident."""

    HOME_SURVIVOR = "home_survivor"
    HOME_PERPETRATOR = "home_perpetrator"
    ROAD_STREET = "road_street"
    FIELD_BUSH = "field_bush"
    MARKET = "market"
    SCHOOL = "school"
    WORKPLACE = "workplace"
    HEALTH_FACILITY = "health_facility"
    DETENTION_CENTRE = "detention_centre"
    CHECKPOINT = "checkpoint"
    CAMP_SETTLEMENT = "camp_settlement"
    SEA_CROSSING = "sea_crossing"
    OTHER = "other"
    UNKNOWN = "unknown"


class ServiceType(StrEnum):
    """Referral and consent service types (also the needs of an assessment)."""

    HEALTH_MEDICAL = "health_medical"
    MHPSS = "mhpss"
    PSYCHIATRY = "psychiatry"
    SAFETY_SECURITY = "safety_security"
    LEGAL = "legal"
    SHELTER_SAFE_HOUSE = "shelter_safe_house"
    LIVELIHOODS = "livelihoods"
    PROTECTION_CHILD_PROTECTION = "protection_child_protection"
    WGSS = "wgss"
    OTHER = "other"


@dataclass(frozen=True)
class Question:
    """One question of the classification tool; the first "yes" decides the core type."""

    key: str
    code: CoreType
    text: object


# Order matters: the first question answered "yes" gives the core type.
CLASSIFICATION = (
    Question("penetration", CoreType.RAPE, _l(
        "Was there penetration, however slight, of the vagina, anus or mouth by a body part or "
        "an object, without consent?")),
    Question("sexual_contact", CoreType.SEXUAL_ASSAULT, _l(
        "Was there unwanted sexual contact without penetration (attempted rape, unwanted touching "
        "or kissing, female genital cutting)?")),
    Question("physical", CoreType.PHYSICAL_ASSAULT, _l(
        "Was there physical violence that is not sexual (hitting, choking, burning, use of a "
        "weapon)?")),
    Question("forced_marriage", CoreType.FORCED_MARRIAGE, _l(
        "Was the survivor married against her or his will?")),
    Question("denial", CoreType.DENIAL_OF_RESOURCES, _l(
        "Was rightful access to resources, livelihood, education, health or other services "
        "denied?")),
    Question("psychological", CoreType.PSYCHOLOGICAL_ABUSE, _l(
        "Was there psychological or emotional abuse (threats, humiliation, isolation, "
        "harassment)?")),
)
NON_GBV = CoreType.NON_GBV
SEXUAL_TYPES = frozenset({CoreType.RAPE, CoreType.SEXUAL_ASSAULT})

REPORT_BANDS = (  # (band, first day, last day or None)
    (ReportBand.DAYS_0_3, 0, 3), (ReportBand.DAYS_4_5, 4, 5), (ReportBand.DAYS_6_14, 6, 14),
    (ReportBand.WEEKS_2_MONTH_1, 15, 30), (ReportBand.OVER_1_MONTH, 31, None),
)
# The codes of each list, in their order (select options, checks of posted values).
AGE_GROUPS = tuple(AgeGroup)
PERPETRATOR_COUNTS = tuple(PerpetratorCount)
RELATIONSHIPS = tuple(Relationship)
PERPETRATOR_SEXES = tuple(PerpetratorSex)
OCCUPATIONS = tuple(Occupation)
HARMFUL_PRACTICES = tuple(HarmfulPractice)
# Up to three perpetrators are recorded; "more than 3" is a count, not a fourth record.
MAX_PERPETRATORS = 3
# How far a recorded age at the incident may differ from the date of birth's (whole years).
AGE_TOLERANCE_YEARS = 1
DISPLACEMENT = tuple(Displacement)
DISPLACEMENT_STAGES = tuple(DisplacementStage)
TIMES_OF_DAY = tuple(TimeOfDay)
LOCATION_TYPES = tuple(LocationType)
SERVICE_TYPES = tuple(ServiceType)
URGENT_CLINICAL_WINDOW = timedelta(hours=72)


def answered(*yes: str) -> dict[str, bool]:
    """Every classification question answered: the keys in ``yes`` yes, the others no (for
    seeds and imports that know the act, not the form)."""
    unknown = set(yes) - {q.key for q in CLASSIFICATION}
    if unknown:
        raise ValueError(f"not classification questions: {sorted(unknown)}")
    return {q.key: q.key in yes for q in CLASSIFICATION}


def classify(answers: Mapping[str, bool]) -> CoreType:
    """The core type: the code of the first question answered yes, else ``non_gbv``."""
    for question in CLASSIFICATION:
        if answers.get(question.key):
            return question.code
    return NON_GBV


def contexts(core_type: str, *, survivor_age: int | None, relationships: Iterable[str],
             exchange: bool = False, abducted: bool = False,
             harmful_practice: bool = False) -> set[Context]:
    """Derived case contexts (several may apply). Unknown age never counts as a child."""
    if core_type == NON_GBV:
        return set()
    found: set[Context] = set()
    child = survivor_age is not None and survivor_age < 18
    if Relationship.INTIMATE_PARTNER in set(relationships):
        found.add(Context.INTIMATE_PARTNER_VIOLENCE)
    if core_type in SEXUAL_TYPES:
        if child:
            found.add(Context.CHILD_SEXUAL_ABUSE)
        if exchange:
            found.add(Context.POSSIBLE_SEXUAL_EXPLOITATION)
        if abducted:
            found.add(Context.POSSIBLE_SEXUAL_SLAVERY)
    if core_type == CoreType.FORCED_MARRIAGE and child:
        found.add(Context.EARLY_MARRIAGE)
    if harmful_practice:
        found.add(Context.HARMFUL_TRADITIONAL_PRACTICE)
    return found


def child_contexts_unsure(core_type: str, survivor_age: int | None) -> bool:
    """True when the survivor's age at the incident is unknown and the core type is one whose
    child context (child sexual abuse, early marriage) therefore cannot be ruled out."""
    return survivor_age is None and (core_type in SEXUAL_TYPES
                                     or core_type == CoreType.FORCED_MARRIAGE)


def perpetrators_fit_count(count: str, recorded: int) -> bool:
    """Whether ``recorded`` perpetrator records agree with the GBVIMS count band: exactly that
    many for 1 to 3, one to three records for "more than 3"."""
    if count == PerpetratorCount.MORE_THAN_3:
        return 1 <= recorded <= MAX_PERPETRATORS
    return count in PERPETRATOR_COUNTS and recorded == int(count)


def whole_years(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end`` (negative when ``end`` comes first)."""
    if end < start:
        return -whole_years(end, start)
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def age_on(day: date, *, date_of_birth: date | None = None, estimated_age: int | None = None,
           estimated_on: date | None = None) -> int | None:
    """The survivor's age in whole years on ``day``: from the date of birth, else from an
    age estimated on ``estimated_on`` (moved by the whole years between the two days); None
    when neither is known or the day is before the birth."""
    if date_of_birth is not None:
        years = whole_years(date_of_birth, day)
    elif estimated_age is not None:
        years = estimated_age - whole_years(day, estimated_on or day)
    else:
        return None
    return years if years >= 0 else None


def report_band(incident: date, reported: date) -> ReportBand:
    """Time from incident to first report, in GBVIMS bands (whole days)."""
    days = (reported - incident).days
    if days < 0:
        raise ValueError("report before incident")
    for code, first, last in REPORT_BANDS:
        if days >= first and (last is None or days <= last):
            return code
    raise AssertionError("unreachable")


def age_group(age: int | None) -> AgeGroup:
    """GBVIMS age group of an age in whole years (``unknown`` when not known)."""
    if age is None:
        return AgeGroup.UNKNOWN
    if age < 0:
        raise ValueError("negative age")
    for group, top in ((AgeGroup.AGE_0_11, 11), (AgeGroup.AGE_12_17, 17),
                       (AgeGroup.AGE_18_25, 25), (AgeGroup.AGE_26_40, 40),
                       (AgeGroup.AGE_41_60, 60)):
        if age <= top:
            return group
    return AgeGroup.AGE_61_PLUS


# When each part of the day ends (local wall time): a part of day known without a time means
# the incident happened at the latest then. "Evening or night" and "unknown" run to the end
# of the incident's date (night after midnight belongs to the next date).
PART_OF_DAY_ENDS: dict[str, time] = {TimeOfDay.MORNING: time(12), TimeOfDay.AFTERNOON: time(18)}


def latest_moment(day: date, *, at: time | None = None, part: str | None = None,
                  zone: tzinfo) -> datetime:
    """The latest moment (UTC) the incident can have happened, from what is known of it: the
    time of day in ``zone`` (the organisation's), else the end of the part of the day, else the
    end of the date in ``zone``: never the end of the UTC day."""
    if at is not None:
        local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)
    elif part in PART_OF_DAY_ENDS:
        local = datetime.combine(day, PART_OF_DAY_ENDS[part], tzinfo=zone)
    else:
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return local.astimezone(UTC)


def clinical_window_end(incident: datetime | date, *, at: time | None = None,
                        part: str | None = None, zone: tzinfo = UTC) -> datetime:
    """When the 72-hour window for post-exposure prophylaxis and emergency contraception closes
    (UTC): 72 elapsed hours after the incident.

    With only a date (and perhaps a part of the day), the incident may have happened as late as
    the end of what is known (``latest_moment``), so the window runs from there: it may flag a
    case a few hours too long, never too short. ``zone`` is the organisation's time zone.
    """
    if isinstance(incident, datetime):
        return incident.astimezone(UTC) + URGENT_CLINICAL_WINDOW
    return latest_moment(incident, at=at, part=part, zone=zone) + URGENT_CLINICAL_WINDOW


def urgent_clinical(core_type: str, incident: datetime | date, now: datetime, *,
                    at: time | None = None, part: str | None = None, zone: tzinfo = UTC) -> bool:
    """Rape within the last 72 hours needs clinical care now (PEP, emergency contraception)."""
    return core_type == CoreType.RAPE and now <= clinical_window_end(incident, at=at, part=part,
                                                                     zone=zone)


def hours_left(incident: datetime | date, now: datetime, *, at: time | None = None,
               part: str | None = None, zone: tzinfo = UTC) -> float:
    """Hours left in the 72-hour clinical window (negative once past)."""
    end = clinical_window_end(incident, at=at, part=part, zone=zone)
    return (end - now).total_seconds() / 3600


def in_future(day: date, at: time | None, now: datetime, zone: tzinfo) -> bool:
    """Whether an incident on ``day`` (at ``at``, local time in ``zone``) is after ``now``."""
    if at is None:
        return day > now.astimezone(zone).date()
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone) > now
