"""Translated labels for stored codes (codes stay stable; only labels are translated)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l

from app.cases.gbvims import CONTEXTS, CORE_TYPES

LABELS: dict[str, object] = {
    **CORE_TYPES, **CONTEXTS,
    "female": _l("Female"), "male": _l("Male"), "other": _l("Other"), "unknown": _l("Unknown"),
    "national": _l("National"), "foreign": _l("Foreign national"), "stateless": _l("Stateless"),
    "yes": _l("Yes"), "no": _l("No"),
    "low": _l("Low"), "medium": _l("Medium"), "high": _l("High"),
    "host_community": _l("Host community"), "idp": _l("Internally displaced"),
    "refugee": _l("Refugee"), "asylum_seeker": _l("Asylum seeker"), "migrant": _l("Migrant"),
    "returnee": _l("Returnee"),
    "not_displaced": _l("Not displaced"), "pre_flight": _l("Before flight"),
    "during_flight": _l("During flight"), "during_refuge": _l("During refuge"),
    "during_return": _l("During return"), "post_return": _l("After return"),
    "morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening_night": _l("Evening or night"),
    "home_survivor": _l("Survivor's home"), "home_perpetrator": _l("Perpetrator's home"),
    "road_street": _l("Road or street"), "field_bush": _l("Field or bush"), "market": _l("Market"),
    "school": _l("School"), "workplace": _l("Workplace"), "health_facility": _l("Health facility"),
    "detention_centre": _l("Detention centre"), "checkpoint": _l("Checkpoint"),
    "camp_settlement": _l("Camp or settlement"), "sea_crossing": _l("Sea crossing"),
    "intimate_partner": _l("Intimate partner (current or former)"),
    "primary_caregiver": _l("Primary caregiver"), "family_other": _l("Other family member"),
    "employer_supervisor": _l("Employer or supervisor"), "schoolmate": _l("Schoolmate"),
    "teacher_school_official": _l("Teacher or school official"),
    "service_provider": _l("Service provider"), "cotenant_housemate": _l("Co-tenant or housemate"),
    "family_friend_neighbour": _l("Family friend or neighbour"),
    "other_displaced_person": _l("Other displaced person"),
    "other_community_member": _l("Other community member"), "armed_actor": _l("Armed actor"),
    "no_relation": _l("No relation"),
    "1": "1", "2": "2", "3": "3", "more_than_3": _l("More than 3"),
    "0_11": _l("0–11"), "12_17": _l("12–17"), "18_25": _l("18–25"), "26_40": _l("26–40"),
    "41_60": _l("41–60"), "61_plus": _l("61 and over"),
    "0_3_days": _l("0–3 days"), "4_5_days": _l("4–5 days"), "6_14_days": _l("6–14 days"),
    "2_weeks_1_month": _l("2 weeks to 1 month"), "over_1_month": _l("Over 1 month"),
    "health_medical": _l("Health / medical"), "mhpss": _l("Mental health and psychosocial support"),
    "psychiatry": _l("Psychiatry"), "safety_security": _l("Safety and security"),
    "legal": _l("Legal assistance"), "shelter_safe_house": _l("Shelter / safe house"),
    "livelihoods": _l("Livelihoods"), "protection_child_protection": _l("Protection / child protection"),
    "wgss": _l("Women and girls safe space"),
    "planned": _l("Planned"), "in_progress": _l("In progress"), "done": _l("Done"),
    "cancelled": _l("Cancelled"),
    "sent": _l("Sent"), "accepted": _l("Accepted"), "declined": _l("Declined"),
    "completed": _l("Completed"), "revoked": _l("Revoked"), "urgent": _l("Urgent"),
    "normal": _l("Normal"),
    "services": _l("Case management services"), "reporting": _l("Non-identifying statistics"),
}


def label(code: str | None) -> str:
    """The translated label of a stored code (the code itself when unknown)."""
    if code is None:
        return ""
    return str(LABELS.get(code, code))


def choices(codes: Iterable[str]) -> list[tuple[str, object]]:
    """(code, label) pairs for a select field."""
    return [(c, LABELS.get(c, c)) for c in codes]
