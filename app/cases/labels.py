"""Translated labels of stored codes, one mapping per domain (codes stay stable; only labels
are translated).

A code means something only within its domain: ``other`` is a sex, a relationship, a place and
a service type; ``service_provider`` is a relationship and a role; ``high`` is a risk and an
urgency. So every lookup names its domain: ``label("rape", Domain.CORE_TYPE)``, in templates
``label(case.sex, "sex")`` or ``case.risk_level | code_label("risk")``. An unknown domain is an
error (a typo fails the page in the tests); an unknown code shows as itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.cases.gbvims import (
    AgeGroup,
    Context,
    CoreType,
    Displacement,
    DisplacementStage,
    HarmfulPractice,
    LocationType,
    Occupation,
    PerpetratorCount,
    Relationship,
    ReportBand,
    ServiceType,
    TimeOfDay,
)
from app.core.bidi import ranges_kept


class Domain(StrEnum):
    """The kinds of coded value that have labels."""

    CORE_TYPE = "core_type"
    CONTEXT = "context"
    REPORT_BAND = "report_band"
    AGE_GROUP = "age_group"
    PERPETRATOR_COUNT = "perpetrator_count"
    RELATIONSHIP = "relationship"
    DISPLACEMENT = "displacement"
    DISPLACEMENT_STAGE = "displacement_stage"
    TIME_OF_DAY = "time_of_day"
    LOCATION_TYPE = "location_type"
    SERVICE_TYPE = "service_type"
    SEX = "sex"
    NATIONALITY = "nationality"
    YES_NO_UNKNOWN = "yes_no_unknown"
    RISK = "risk"
    ACTION_STATUS = "action_status"
    OCCUPATION = "occupation"
    HARMFUL_PRACTICE = "harmful_practice"


def _ranges_kept(labels: Mapping[str, object]) -> dict[str, object]:
    """``labels`` whose numeric ranges stay in order in right-to-left text ("18–25", "0–3
    days"): each range is isolated left-to-right (LRI/PDI, ``app.core.bidi``) in the
    translated label, so it reads right in a select option and in a sentence alike."""
    return {code: ranges_kept(text) for code, text in labels.items()}


UNKNOWN = _l("Unknown")
OTHER = _l("Other")

LABELS: dict[Domain, Mapping[str, object]] = {
    Domain.CORE_TYPE: {
        CoreType.RAPE: _l("Rape"),
        CoreType.SEXUAL_ASSAULT: _l("Sexual assault"),
        CoreType.PHYSICAL_ASSAULT: _l("Physical assault"),
        CoreType.FORCED_MARRIAGE: _l("Forced marriage"),
        CoreType.DENIAL_OF_RESOURCES: _l("Denial of resources, opportunities or services"),
        CoreType.PSYCHOLOGICAL_ABUSE: _l("Psychological / emotional abuse"),
        CoreType.NON_GBV: _l("Not GBV"),
    },
    Domain.CONTEXT: {
        Context.INTIMATE_PARTNER_VIOLENCE: _l("Intimate partner violence"),
        Context.CHILD_SEXUAL_ABUSE: _l("Child sexual abuse"),
        Context.EARLY_MARRIAGE: _l("Early marriage"),
        Context.POSSIBLE_SEXUAL_EXPLOITATION: _l("Possible sexual exploitation"),
        Context.POSSIBLE_SEXUAL_SLAVERY: _l("Possible sexual slavery"),
        Context.HARMFUL_TRADITIONAL_PRACTICE: _l("Harmful traditional practice"),
    },
    Domain.REPORT_BAND: _ranges_kept({
        ReportBand.DAYS_0_3: _l("0–3 days"), ReportBand.DAYS_4_5: _l("4–5 days"),
        ReportBand.DAYS_6_14: _l("6–14 days"),
        ReportBand.WEEKS_2_MONTH_1: _l("2 weeks to 1 month"),
        ReportBand.OVER_1_MONTH: _l("Over 1 month"),
    }),
    Domain.AGE_GROUP: _ranges_kept({
        AgeGroup.AGE_0_11: _l("0–11"), AgeGroup.AGE_12_17: _l("12–17"),
        AgeGroup.AGE_18_25: _l("18–25"), AgeGroup.AGE_26_40: _l("26–40"),
        AgeGroup.AGE_41_60: _l("41–60"), AgeGroup.AGE_61_PLUS: _l("61 and over"),
        AgeGroup.UNKNOWN: UNKNOWN,
    }),
    Domain.PERPETRATOR_COUNT: {
        PerpetratorCount.ONE: "1", PerpetratorCount.TWO: "2", PerpetratorCount.THREE: "3",
        PerpetratorCount.MORE_THAN_3: _l("More than 3"),
    },
    Domain.RELATIONSHIP: {
        Relationship.INTIMATE_PARTNER: _l("Intimate partner (current or former)"),
        Relationship.PRIMARY_CAREGIVER: _l("Primary caregiver"),
        Relationship.FAMILY_OTHER: _l("Other family member"),
        Relationship.EMPLOYER_SUPERVISOR: _l("Employer or supervisor"),
        Relationship.SCHOOLMATE: _l("Schoolmate"),
        Relationship.TEACHER_SCHOOL_OFFICIAL: _l("Teacher or school official"),
        Relationship.SERVICE_PROVIDER: _l("Service provider"),
        Relationship.COTENANT_HOUSEMATE: _l("Co-tenant or housemate"),
        Relationship.FAMILY_FRIEND_NEIGHBOUR: _l("Family friend or neighbour"),
        Relationship.OTHER_DISPLACED_PERSON: _l("Other displaced person"),
        Relationship.OTHER_COMMUNITY_MEMBER: _l("Other community member"),
        Relationship.ARMED_ACTOR: _l("Armed actor"),
        Relationship.NO_RELATION: _l("No relation"),
        Relationship.OTHER: OTHER, Relationship.UNKNOWN: UNKNOWN,
    },
    Domain.DISPLACEMENT: {
        Displacement.HOST_COMMUNITY: _l("Host community"),
        Displacement.IDP: _l("Internally displaced"), Displacement.REFUGEE: _l("Refugee"),
        Displacement.ASYLUM_SEEKER: _l("Asylum seeker"), Displacement.MIGRANT: _l("Migrant"),
        Displacement.RETURNEE: _l("Returnee"), Displacement.STATELESS: _l("Stateless"),
        Displacement.UNKNOWN: UNKNOWN,
    },
    Domain.DISPLACEMENT_STAGE: {
        DisplacementStage.NOT_DISPLACED: _l("Not displaced"),
        DisplacementStage.PRE_FLIGHT: _l("Before flight"),
        DisplacementStage.DURING_FLIGHT: _l("During flight"),
        DisplacementStage.DURING_REFUGE: _l("During refuge"),
        DisplacementStage.DURING_RETURN: _l("During return"),
        DisplacementStage.POST_RETURN: _l("After return"),
    },
    Domain.TIME_OF_DAY: {
        TimeOfDay.MORNING: _l("Morning"), TimeOfDay.AFTERNOON: _l("Afternoon"),
        TimeOfDay.EVENING_NIGHT: _l("Evening or night"), TimeOfDay.UNKNOWN: UNKNOWN,
    },
    Domain.LOCATION_TYPE: {
        LocationType.HOME_SURVIVOR: _l("Survivor's home"),
        LocationType.HOME_PERPETRATOR: _l("Perpetrator's home"),
        LocationType.ROAD_STREET: _l("Road or street"),
        LocationType.FIELD_BUSH: _l("Field or bush"), LocationType.MARKET: _l("Market"),
        LocationType.SCHOOL: _l("School"), LocationType.WORKPLACE: _l("Workplace"),
        LocationType.HEALTH_FACILITY: _l("Health facility"),
        LocationType.DETENTION_CENTRE: _l("Detention centre"),
        LocationType.CHECKPOINT: _l("Checkpoint"),
        LocationType.CAMP_SETTLEMENT: _l("Camp or settlement"),
        LocationType.SEA_CROSSING: _l("Sea crossing"),
        LocationType.OTHER: OTHER, LocationType.UNKNOWN: UNKNOWN,
    },
    Domain.SERVICE_TYPE: {
        ServiceType.HEALTH_MEDICAL: _l("Health / medical"),
        ServiceType.MHPSS: _l("Mental health and psychosocial support"),
        ServiceType.PSYCHIATRY: _l("Psychiatry"),
        ServiceType.SAFETY_SECURITY: _l("Safety and security"),
        ServiceType.LEGAL: _l("Legal assistance"),
        ServiceType.SHELTER_SAFE_HOUSE: _l("Shelter / safe house"),
        ServiceType.LIVELIHOODS: _l("Livelihoods"),
        ServiceType.PROTECTION_CHILD_PROTECTION: _l("Protection / child protection"),
        ServiceType.WGSS: _l("Women and girls safe space"),
        ServiceType.OTHER: OTHER,
    },
    Domain.OCCUPATION: {
        Occupation.ARMED_FORCES_GROUP: _l("Armed forces or armed group"),
        Occupation.POLICE_SECURITY: _l("Police or security"),
        Occupation.TEACHER_EDUCATION: _l("Teacher or education staff"),
        Occupation.HEALTH_WORKER: _l("Health worker"),
        Occupation.HUMANITARIAN_WORKER: _l("Humanitarian worker"),
        Occupation.RELIGIOUS_LEADER: _l("Religious leader"),
        Occupation.COMMUNITY_LEADER: _l("Community leader"),
        Occupation.GOVERNMENT_OFFICIAL: _l("Government official"),
        Occupation.BUSINESS_OWNER_TRADER: _l("Business owner or trader"),
        Occupation.FARMER_HERDER: _l("Farmer or herder"),
        Occupation.STUDENT: _l("Student"),
        Occupation.UNEMPLOYED: _l("Unemployed"),
        Occupation.OTHER: OTHER, Occupation.UNKNOWN: UNKNOWN,
    },
    Domain.HARMFUL_PRACTICE: {
        HarmfulPractice.FGM_C: _l("Female genital mutilation/cutting"),
        HarmfulPractice.EARLY_MARRIAGE: _l("Early marriage"),
        HarmfulPractice.FORCED_MARRIAGE_PRACTICE: _l("Forced marriage (as a practice)"),
        HarmfulPractice.HONOUR_VIOLENCE: _l("So-called honour violence"),
        HarmfulPractice.WIDOW_PRACTICES: _l("Harmful widowhood practices"),
        HarmfulPractice.OTHER: OTHER,
    },
    # Domains outside GBVIMS (their codes are listed in the models that store them).
    Domain.SEX: {"female": _l("Female"), "male": _l("Male"), "other": OTHER,
                 "unknown": UNKNOWN},
    Domain.NATIONALITY: {"national": _l("National"), "foreign": _l("Foreign national"),
                         "stateless": _l("Stateless"), "unknown": UNKNOWN},
    Domain.YES_NO_UNKNOWN: {"yes": _l("Yes"), "no": _l("No"), "unknown": UNKNOWN},
    Domain.RISK: {"unknown": UNKNOWN, "low": _l("Low"), "medium": _l("Medium"),
                  "high": _l("High")},
    Domain.ACTION_STATUS: {"planned": _l("Planned"), "in_progress": _l("In progress"),
                           "done": _l("Done"), "cancelled": _l("Cancelled")},
}


def label(code: str | None, domain: str) -> str:
    """The translated label of a stored code of ``domain`` (the code itself when unknown)."""
    labels = LABELS[Domain(domain)]
    if code is None:
        return ""
    return str(labels.get(code, code))


CHOOSE = _l("Choose…")


def choices(domain: str, codes: Iterable[str] | None = None, *,
            blank: bool = False) -> list[tuple[str, object]]:
    """(code, label) pairs for a select field: every code of ``domain`` in its order, or
    ``codes`` in theirs. ``blank`` puts an empty "Choose…" first, so nothing is chosen for
    the user (a required select then refuses it beside the field)."""
    labels = LABELS[Domain(domain)]
    pairs = [(str(c), labels.get(c, c)) for c in (labels if codes is None else codes)]
    return [("", CHOOSE), *pairs] if blank else pairs
