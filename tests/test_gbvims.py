"""GBVIMS classification (first yes decides), contexts and bands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.cases import gbvims

KEYS = [q.key for q in gbvims.CLASSIFICATION]


@pytest.mark.parametrize("key,code", [(q.key, q.code) for q in gbvims.CLASSIFICATION])
def test_each_core_type_alone(key, code):
    assert gbvims.classify({key: True}) == code


def test_none_is_not_gbv():
    assert gbvims.classify({}) == "non_gbv"
    assert gbvims.classify(dict.fromkeys(KEYS, False)) == "non_gbv"


@pytest.mark.parametrize("answers,code", [
    ({"penetration": True, "physical": True, "psychological": True}, "rape"),
    ({"sexual_contact": True, "forced_marriage": True}, "sexual_assault"),
    ({"physical": True, "denial": True}, "physical_assault"),
    ({"forced_marriage": True, "psychological": True}, "forced_marriage"),
    ({"denial": True, "psychological": True}, "denial_of_resources"),
])
def test_combinations_first_yes_decides(answers, code):
    assert gbvims.classify(answers) == code


@given(st.dictionaries(st.sampled_from(KEYS), st.booleans()))
def test_classification_is_the_first_yes(answers):
    yes = [q.code for q in gbvims.CLASSIFICATION if answers.get(q.key)]
    assert gbvims.classify(answers) == (yes[0] if yes else "non_gbv")


@pytest.mark.parametrize("core,age,rels,kw,expected", [
    ("physical_assault", 30, ["intimate_partner"], {}, {"intimate_partner_violence"}),
    ("rape", 15, ["family_other"], {}, {"child_sexual_abuse"}),
    ("rape", 15, ["intimate_partner"], {}, {"child_sexual_abuse", "intimate_partner_violence"}),
    ("forced_marriage", 16, ["family_other"], {}, {"early_marriage"}),
    ("forced_marriage", 19, ["family_other"], {}, set()),
    ("sexual_assault", 25, ["armed_actor"], {"exchange": True}, {"possible_sexual_exploitation"}),
    ("rape", 22, ["armed_actor"], {"abducted": True}, {"possible_sexual_slavery"}),
    ("sexual_assault", 9, ["family_other"], {"harmful_practice": True},
     {"child_sexual_abuse", "harmful_traditional_practice"}),
    ("physical_assault", 15, ["other"], {"exchange": True, "abducted": True}, set()),
    ("non_gbv", 15, ["intimate_partner"], {"harmful_practice": True}, set()),
    ("rape", None, ["unknown"], {}, set()),
])
def test_contexts(core, age, rels, kw, expected):
    assert gbvims.contexts(core, survivor_age=age, relationships=rels, **kw) == expected


@pytest.mark.parametrize("days,band", [(0, "0_3_days"), (3, "0_3_days"), (4, "4_5_days"),
                                       (5, "4_5_days"), (6, "6_14_days"), (14, "6_14_days"),
                                       (15, "2_weeks_1_month"), (30, "2_weeks_1_month"),
                                       (31, "over_1_month"), (400, "over_1_month")])
def test_report_bands(days, band):
    d = date(2026, 1, 1)
    assert gbvims.report_band(d, d + timedelta(days=days)) == band


def test_report_before_incident_refused():
    with pytest.raises(ValueError):
        gbvims.report_band(date(2026, 1, 2), date(2026, 1, 1))


@pytest.mark.parametrize("age,group", [(0, "0_11"), (11, "0_11"), (12, "12_17"), (17, "12_17"),
                                       (18, "18_25"), (26, "26_40"), (41, "41_60"),
                                       (60, "41_60"), (61, "61_plus"), (None, "unknown")])
def test_age_groups(age, group):
    assert gbvims.age_group(age) == group


def test_urgent_clinical_window():
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert gbvims.urgent_clinical("rape", now - timedelta(hours=71), now)
    assert not gbvims.urgent_clinical("rape", now - timedelta(hours=73), now)
    assert not gbvims.urgent_clinical("sexual_assault", now - timedelta(hours=1), now)
    assert round(gbvims.hours_left(now - timedelta(hours=10), now)) == 62


def test_window_with_only_a_date_never_closes_early():
    # Rape at 22:00 local on the 21st (date only known), now 14:00 UTC on the 24th: 64 hours.
    now = datetime(2026, 11, 24, 14, tzinfo=UTC)
    assert gbvims.urgent_clinical("rape", date(2026, 11, 21), now)
    assert gbvims.hours_left(date(2026, 11, 21), now) == 10
    assert not gbvims.urgent_clinical("rape", date(2026, 11, 20), now)
