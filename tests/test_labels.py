"""Labels are per domain: every GBVIMS code has one in its own domain, a code shared by two
domains is looked up in the one named, and templates always name it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cases import gbvims
from app.cases.labels import LABELS, Domain, choices, label
from app.referrals.labels import urgency_label

ENUMS = {
    Domain.CORE_TYPE: gbvims.CoreType, Domain.CONTEXT: gbvims.Context,
    Domain.REPORT_BAND: gbvims.ReportBand, Domain.AGE_GROUP: gbvims.AgeGroup,
    Domain.PERPETRATOR_COUNT: gbvims.PerpetratorCount, Domain.RELATIONSHIP: gbvims.Relationship,
    Domain.DISPLACEMENT: gbvims.Displacement, Domain.DISPLACEMENT_STAGE: gbvims.DisplacementStage,
    Domain.TIME_OF_DAY: gbvims.TimeOfDay, Domain.LOCATION_TYPE: gbvims.LocationType,
    Domain.SERVICE_TYPE: gbvims.ServiceType,
}
TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"


def test_every_gbvims_code_has_a_label_in_its_domain_in_order():
    assert set(Domain) == set(LABELS)
    for domain, enum in ENUMS.items():
        assert list(LABELS[domain]) == list(enum), domain


def test_stored_codes_are_unchanged():
    # The values in the database (shared/GBVIMS.md) stay what they were: no migration.
    assert gbvims.CoreType.NON_GBV == "non_gbv" and gbvims.NON_GBV == "non_gbv"
    assert gbvims.AGE_GROUPS == ("0_11", "12_17", "18_25", "26_40", "41_60", "61_plus", "unknown")
    assert gbvims.PERPETRATOR_COUNTS == ("1", "2", "3", "more_than_3")
    assert [b for b, _first, _last in gbvims.REPORT_BANDS] == [
        "0_3_days", "4_5_days", "6_14_days", "2_weeks_1_month", "over_1_month"]
    assert gbvims.classify({"penetration": True}) == "rape"


def test_a_code_of_two_domains_is_labelled_by_the_domain_named(app):
    with app.test_request_context():
        assert label("service_provider", Domain.RELATIONSHIP) == "Service provider"
        assert label("high", "risk") == "High" and urgency_label("high") == "High"
        assert label("urgent", "risk") == "urgent"  # not a risk level: the code itself
        assert label(None, "sex") == ""
        assert choices(Domain.RISK, ("high", "low"))[0] == ("high", LABELS[Domain.RISK]["high"])
        with pytest.raises(ValueError):
            label("rape", "core_types")  # a misspelt domain fails, never a silent fallback


def test_templates_name_the_domain_of_every_label():
    calls = re.compile(r"(?<![\w.])label\(([^()]*)\)")
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for args in calls.findall(text):
            assert re.fullmatch(r"[^,]+, '(\w+)'", args), f"{path.name}: label({args})"
            assert Domain(args.rsplit("'", 2)[1])
        for args in re.findall(r"\|\s*code_label(\([^)]*\))?", text):
            assert args, f"{path.name}: code_label without a domain"
