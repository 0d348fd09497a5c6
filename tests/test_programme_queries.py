"""The programme logs as leaf counts of the publication grid, against a hand-computed fixture:
counted by month of the activity's date and by site, for one organisation (another
organisation's site and other years left out), with months after ``through`` left out; and
the tables work with the suppression's interface (its totals are the fixture's sums)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from app.programme import queries
from app.reports.grid import cell_key, months, places
from app.reports.suppression import protect
from tests.helpers.programme import insert_log


@pytest.fixture
def fixture(app, world):
    """Logs of the test world's organisation (Tripoli, Benghazi) and of the partner's site."""
    aw = lambda **kw: insert_log(app, world, "awareness", **kw)  # noqa: E731
    tr = lambda **kw: insert_log(app, world, "trainings", **kw)  # noqa: E731
    aw(held_on=date(2026, 1, 15), topic="gbv_basics", female_15_19=4, male_15_19=2)
    aw(held_on=date(2026, 1, 20), topic="gbv_basics", female_25_49=3)
    aw(held_on=date(2026, 1, 20), topic="early_marriage", female_10_14=1, female_15_19=2)
    aw(site="benghazi", held_on=date(2026, 3, 31), topic="other", male_50_plus=7)
    aw(site="benghazi", held_on=date(2026, 4, 1), topic="safety_planning", female_20_24=5,
       male_20_24=5)
    tr(held_on=date(2026, 2, 10), topic="case_management", female_own=6, male_own=1)
    tr(held_on=date(2026, 2, 11), topic="case_management", female_partner=3)
    tr(site="benghazi", held_on=date(2026, 11, 24), topic="safe_referrals", male_partner=2,
       female_own=4)
    # Left out: another organisation's site, and other years.
    aw(site="partner_site", held_on=date(2026, 1, 15), topic="gbv_basics", female_15_19=9)
    tr(site="partner_site", held_on=date(2026, 2, 10), topic="case_management", male_own=9)
    aw(held_on=date(2025, 12, 31), topic="gbv_basics", female_15_19=8)
    tr(held_on=date(2027, 1, 1), topic="case_management", female_own=8)
    return uuid.UUID(world.ids["org"]), world.ids["tripoli"], world.ids["benghazi"]


def _by_code(app, org, through=12):
    with app.app_context():
        return {t.code: t for t in queries.tables(org, 2026, through)}


def test_every_table_against_the_hand_computed_counts(app, fixture):
    org, tri, ben = fixture
    tables = _by_code(app, org)
    people = tables[queries.AWARENESS_PEOPLE]
    assert (people.family, [d.name for d in people.dims]) == ("awareness_people",
                                                              ["sex", "age_band"])
    assert dict(people.counts) == {
        ("2026-01", tri, "female", "15_19"): 6, ("2026-01", tri, "male", "15_19"): 2,
        ("2026-01", tri, "female", "25_49"): 3, ("2026-01", tri, "female", "10_14"): 1,
        ("2026-03", ben, "male", "50_plus"): 7, ("2026-04", ben, "female", "20_24"): 5,
        ("2026-04", ben, "male", "20_24"): 5}
    sessions = tables[queries.AWARENESS_SESSIONS]
    assert sessions.family == "awareness_sessions"
    assert dict(sessions.counts) == {
        ("2026-01", tri, "gbv_basics"): 2, ("2026-01", tri, "early_marriage"): 1,
        ("2026-03", ben, "other"): 1, ("2026-04", ben, "safety_planning"): 1}
    trained = tables[queries.TRAINING_PEOPLE]
    assert (trained.family, [d.name for d in trained.dims]) == ("training_people",
                                                               ["sex", "organisation_kind"])
    assert dict(trained.counts) == {
        ("2026-02", tri, "female", "own"): 6, ("2026-02", tri, "male", "own"): 1,
        ("2026-02", tri, "female", "partner"): 3, ("2026-11", ben, "male", "partner"): 2,
        ("2026-11", ben, "female", "own"): 4}
    trainings = tables[queries.TRAININGS]
    assert trainings.family == "trainings"
    assert dict(trainings.counts) == {("2026-02", tri, "case_management"): 2,
                                      ("2026-11", ben, "safe_referrals"): 1}


def test_the_categories_are_every_code_in_order(app, fixture):
    org, _tri, _ben = fixture
    tables = _by_code(app, org)
    assert tables[queries.AWARENESS_PEOPLE].dims[1].leaves == (
        "10_14", "15_19", "20_24", "25_49", "50_plus")
    assert tables[queries.AWARENESS_SESSIONS].dims[0].leaves == (
        "gbv_basics", "services_referral_pathway", "early_marriage", "psychosocial_wellbeing",
        "safety_planning", "other")
    assert tables[queries.TRAININGS].dims[0].leaves == (
        "gbv_core_concepts", "case_management", "clinical_management_of_rape",
        "psychological_first_aid", "gbvims_data_protection", "safe_referrals", "other")
    assert tables[queries.TRAINING_PEOPLE].dims[1].leaves == ("own", "partner")


def test_months_after_through_are_left_out(app, fixture):
    org, tri, ben = fixture
    tables = _by_code(app, org, through=3)
    assert {k[0] for k in tables[queries.AWARENESS_PEOPLE].counts} == {"2026-01", "2026-03"}
    assert dict(tables[queries.TRAININGS].counts) == {("2026-02", tri, "case_management"): 2}
    with pytest.raises(ValueError):
        _by_code(app, org, through=13)


def test_an_organisation_with_nothing_logged_has_empty_tables(app, world, fixture):
    with app.app_context():
        empty = queries.tables(uuid.UUID(world.ids["other_org"]), 2025)
    assert [t.code for t in empty] == [queries.AWARENESS_PEOPLE, queries.AWARENESS_SESSIONS,
                                       queries.TRAINING_PEOPLE, queries.TRAININGS]
    assert all(dict(t.counts) == {} for t in empty)


def test_the_tables_sit_on_the_grid_and_add_up_under_protection(app, fixture):
    org, tri, ben = fixture
    with app.app_context():
        sites = queries.site_leaves(org)
        tables = queries.tables(org, 2026, through=11)
    assert sites == [ben, tri]  # by site code: BEN, TRI; the partner's site is not one
    grid = protect(months(2026, 11), places(sites), tables, k=5)
    by_code = {t.code: t for t in tables}

    def value(code: str, period: str, site: str, *cats: str) -> int:
        """The cell's true value, as the protection holds it (published or not)."""
        return grid.values[cell_key(by_code[code], period, site, cats)]

    assert value(queries.AWARENESS_PEOPLE, "2026", "*", "*", "*") == 29
    assert value(queries.AWARENESS_SESSIONS, "2026", "*", "*") == 5
    assert value(queries.AWARENESS_PEOPLE, "2026-Q1", tri, "female", "*") == 10
    assert value(queries.AWARENESS_PEOPLE, "2026", "*", "*", "20_24") == 10
    assert value(queries.TRAINING_PEOPLE, "2026", "*", "*", "*") == 16
    assert value(queries.TRAINING_PEOPLE, "2026-Q4", ben, "*", "partner") == 2
    assert value(queries.TRAININGS, "2026-Q1", tri, "case_management") == 2
    assert value(queries.TRAININGS, "2026", "*", "*") == 3
    # A count below k (here the year's 3 trainings) is withheld.
    assert grid.value(queries.TRAININGS, "2026", "*", "*") is None
