"""Translated labels of the programme logs: topics, sexes, age bands, organisation kinds, and
the names of the two kinds of log. A code shown to users always goes through one of these."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.core.bidi import ranges_kept
from app.programme.models import AwarenessTopic, TrainingTopic

AWARENESS_TOPIC_LABELS: dict[str, Any] = {
    AwarenessTopic.GBV_BASICS: _l("GBV: the basics"),
    AwarenessTopic.SERVICES_REFERRAL_PATHWAY: _l("Services and the referral pathway"),
    AwarenessTopic.EARLY_MARRIAGE: _l("Early marriage"),
    AwarenessTopic.PSYCHOSOCIAL_WELLBEING: _l("Psychosocial wellbeing"),
    AwarenessTopic.SAFETY_PLANNING: _l("Safety planning"),
    AwarenessTopic.OTHER: _l("Other"),
}
TRAINING_TOPIC_LABELS: dict[str, Any] = {
    TrainingTopic.GBV_CORE_CONCEPTS: _l("GBV core concepts"),
    TrainingTopic.CASE_MANAGEMENT: _l("GBV case management"),
    TrainingTopic.CLINICAL_MANAGEMENT_OF_RAPE: _l("Clinical management of rape"),
    TrainingTopic.PSYCHOLOGICAL_FIRST_AID: _l("Psychological first aid"),
    TrainingTopic.GBVIMS_DATA_PROTECTION: _l("GBVIMS and data protection"),
    TrainingTopic.SAFE_REFERRALS: _l("Safe referrals"),
    TrainingTopic.OTHER: _l("Other"),
}
TOPIC_LABELS: dict[str, dict[str, Any]] = {
    "awareness": AWARENESS_TOPIC_LABELS, "trainings": TRAINING_TOPIC_LABELS}
SEX_LABELS: dict[str, Any] = {"female": _l("Female"), "male": _l("Male")}
BAND_LABELS: dict[str, Any] = {
    "10_14": ranges_kept(_l("10–14")), "15_19": ranges_kept(_l("15–19")),
    "20_24": ranges_kept(_l("20–24")), "25_49": ranges_kept(_l("25–49")),
    "50_plus": _l("50 and over"),
}
ORGANISATION_KIND_LABELS: dict[str, Any] = {
    "own": _l("Own organisation"), "partner": _l("Partner organisations")}
# Each count field's accessible name (the form shows the cells in a grid).
CELL_LABELS: dict[str, Any] = {
    "female_10_14": ranges_kept(_l("Female, aged 10–14")),
    "female_15_19": ranges_kept(_l("Female, aged 15–19")),
    "female_20_24": ranges_kept(_l("Female, aged 20–24")),
    "female_25_49": ranges_kept(_l("Female, aged 25–49")),
    "female_50_plus": _l("Female, aged 50 and over"),
    "male_10_14": ranges_kept(_l("Male, aged 10–14")),
    "male_15_19": ranges_kept(_l("Male, aged 15–19")),
    "male_20_24": ranges_kept(_l("Male, aged 20–24")),
    "male_25_49": ranges_kept(_l("Male, aged 25–49")),
    "male_50_plus": _l("Male, aged 50 and over"),
    "female_own": _l("Women of your organisation"), "male_own": _l("Men of your organisation"),
    "female_partner": _l("Women of partner organisations"),
    "male_partner": _l("Men of partner organisations"),
}
KIND_TITLES: dict[str, Any] = {"awareness": _l("Awareness sessions"),
                               "trainings": _l("Staff trainings")}


def topic_label(kind: str, code: str) -> str:
    """A topic in the current language (the code itself if unknown)."""
    return str(TOPIC_LABELS.get(kind, {}).get(code, code))


def kind_title(kind: str) -> str:
    """"Awareness sessions" or "Staff trainings", translated."""
    return str(KIND_TITLES[kind])
