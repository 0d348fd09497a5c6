"""An incident form as a caseworker fills it in tests: every question answered (nothing is
chosen in advance any more), one perpetrator, the age given."""

from __future__ import annotations

from typing import Any

from app.cases import gbvims

PERPETRATOR_KEYS = ("sex", "age_group", "relationship", "occupation")


def perpetrator_fields(n: int, sex: str = "unknown", age_group: str = "unknown",
                       relationship: str = "unknown", occupation: str = "unknown") -> dict[str, str]:
    """The form fields of perpetrator ``n`` (0, 1 or 2)."""
    values = (sex, age_group, relationship, occupation)
    return {f"perpetrators-{n}-{k}": v for k, v in zip(PERPETRATOR_KEYS, values, strict=True)}


def incident_form(*yes: str, **over: Any) -> dict[str, Any]:
    """The incident form's answers: the classification questions in ``yes`` answered yes, the
    others no; no exchange, abduction or harmful practice; age 30; one unknown perpetrator;
    ``over`` replaces any field (``perpetrators-0-relationship``...)."""
    data: dict[str, Any] = {
        "incident_date": "2026-11-02", "reported_date": "2026-11-20",
        "location_type": "camp_settlement", "location_detail": "",
        **{k: "yes" if k in yes else "no" for k in gbvims.answered(*yes)},
        "exchange": "no", "abducted": "no", "harmful_practice": "no", "harmful_practice_type": "",
        "survivor_age_at_incident": "30", "perpetrator_count": "1", **perpetrator_fields(0),
        "time_of_day": "unknown", "displacement_stage": "during_refuge", "narrative": "",
        "perpetrator_details": ""}
    data.update(over)
    return data
