"""Every statistics table against a fixture counted by hand: the consent filter (granted,
refused, withdrawn, granted again, never asked), the year, the sites, the organisation's zone
for referrals, the 72-hour window, and the families' shared totals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete

from app.cases import gbvims
from app.cases.models import IncidentPerpetrator
from app.db import db
from app.reports import definitions, grid, queries
from tests.helpers.factories import World
from tests.helpers.statistics import Perp, decide, incident, refer, survivor

YEAR = 2026


def build(world: World) -> dict[str, str]:
    """The fixture (see each line); returns the incidents' ids by name."""
    ids: dict[str, str] = {}
    a = survivor(world, site="tripoli", sex="female", displacement="idp")
    ids["A1"] = str(incident(
        world, a, core="rape", occurred=date(2026, 3, 1), reported=date(2026, 3, 2), age=15,
        perps=[Perp("male", "26_40", "intimate_partner", "unknown")], location="home_survivor",
        time_of_day="evening_night").id)
    ids["A2"] = str(incident(
        world, a, core="physical_assault", occurred=date(2026, 2, 20),
        reported=date(2026, 3, 10), age=30,
        perps=[Perp("female", "unknown", "family_other", "unemployed"),
               Perp("male", "41_60", "family_other", "unknown")],
        location="market", time_of_day="morning").id)
    refer(world, a, "health_medical", at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    b = survivor(world, site="benghazi", sex="male", displacement="refugee")
    incident(world, b, core="sexual_assault", occurred=date(2026, 4, 1),
             reported=date(2026, 4, 1), age=None, perps=[Perp("unknown")], exchange=True,
             time_of_day="afternoon")
    incident(world, b, core="non_gbv", occurred=date(2026, 4, 2), reported=date(2026, 4, 5))
    # Sent 23:30 UTC on 31 January: already 1 February in Tripoli (UTC+2).
    refer(world, b, "legal", at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    refused = survivor(world, reporting=False)
    incident(world, refused, core="rape", reported=date(2026, 3, 3), occurred=date(2026, 3, 2))
    refer(world, refused, "mhpss", at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    withdrawn = survivor(world)
    incident(world, withdrawn, core="rape", reported=date(2026, 3, 3), occurred=date(2026, 3, 2))
    decide(world, withdrawn, False)
    never = survivor(world, reporting=None)
    incident(world, never, core="rape", reported=date(2026, 3, 3), occurred=date(2026, 3, 2))
    last_year = survivor(world, site="benghazi")
    incident(world, last_year, occurred=date(2025, 12, 20), reported=date(2025, 12, 30))
    g = survivor(world, reporting=False)
    decide(world, g, True)  # refused, then granted: counted
    incident(world, g, core="forced_marriage", occurred=date(2026, 5, 1),
             reported=date(2026, 5, 5), age=16, harmful="early_marriage",
             perps=[Perp("male", "18_25", "intimate_partner", "unknown")])
    refer(world, g, "mhpss", at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    h = survivor(world, site="benghazi", displacement="host_community")
    incident(world, h, core="rape", occurred=date(2026, 6, 10), reported=date(2026, 6, 12),
             age=22, location="road_street", stage="not_displaced")
    # An incident recorded before perpetrators had records: "not recorded".
    old = survivor(world, site="benghazi")
    ids["old"] = str(incident(world, old, core="psychological_abuse", occurred=date(2026, 7, 1),
                              reported=date(2026, 7, 1), time_of_day="morning").id)
    db.session.execute(delete(IncidentPerpetrator).where(
        IncidentPerpetrator.incident_id == uuid.UUID(ids["old"])))
    db.session.commit()
    return ids


def _leaves(world: World, rows: list[tuple[str, str, str, int]]) -> dict[tuple[str, ...], int]:
    """(month, site name, category..., count) rows as grid leaves."""
    out: dict[tuple[str, ...], int] = {}
    for month, site, *rest in rows:
        *cats, n = rest
        out[(f"{YEAR}-{month}", world.ids[site], *cats)] = n
    return out


T, B = "tripoli", "benghazi"
EXPECTED: dict[str, list[tuple]] = {
    "core_type": [("03", T, "rape", 1), ("03", T, "physical_assault", 1),
                  ("04", B, "sexual_assault", 1), ("05", T, "forced_marriage", 1),
                  ("06", B, "rape", 1), ("07", B, "psychological_abuse", 1)],
    "survivor_sex_age": [("03", T, "female", "12_17", 1), ("03", T, "female", "26_40", 1),
                         ("04", B, "male", "unknown", 1), ("05", T, "female", "12_17", 1),
                         ("06", B, "female", "18_25", 1), ("07", B, "female", "26_40", 1)],
    "displacement": [("03", T, "idp", 2), ("04", B, "refugee", 1), ("05", T, "idp", 1),
                     ("06", B, "host_community", 1), ("07", B, "idp", 1)],
    "displacement_stage": [("03", T, "during_refuge", 2), ("04", B, "during_refuge", 1),
                           ("05", T, "during_refuge", 1), ("06", B, "not_displaced", 1),
                           ("07", B, "during_refuge", 1)],
    "location_type": [("03", T, "home_survivor", 1), ("03", T, "market", 1),
                      ("04", B, "camp_settlement", 1), ("05", T, "camp_settlement", 1),
                      ("06", B, "road_street", 1), ("07", B, "camp_settlement", 1)],
    "time_of_day": [("03", T, "evening_night", 1), ("03", T, "morning", 1),
                    ("04", B, "afternoon", 1), ("05", T, "unknown", 1), ("06", B, "unknown", 1),
                    ("07", B, "morning", 1)],
    "report_band": [("03", T, "0_3_days", 1), ("03", T, "2_weeks_1_month", 1),
                    ("04", B, "0_3_days", 1), ("05", T, "4_5_days", 1), ("06", B, "0_3_days", 1),
                    ("07", B, "0_3_days", 1)],
    "perpetrator_count": [("03", T, "1", 1), ("03", T, "2", 1), ("04", B, "1", 1),
                          ("05", T, "1", 1), ("06", B, "1", 1), ("07", B, "1", 1)],
    "perpetrator_sex": [("03", T, "male", 1), ("03", T, "female_and_male", 1),
                        ("04", B, "unknown", 1), ("05", T, "male", 1), ("06", B, "male", 1),
                        ("07", B, "not_recorded", 1)],
    "perpetrator_age": [("03", T, "26_40", 1), ("03", T, "unknown", 1), ("04", B, "26_40", 1),
                        ("05", T, "18_25", 1), ("06", B, "26_40", 1), ("07", B, "not_recorded", 1)],
    "perpetrator_relationship": [
        ("03", T, "intimate_partner", 1), ("03", T, "family_other", 1),
        ("04", B, "other_community_member", 1), ("05", T, "intimate_partner", 1),
        ("06", B, "other_community_member", 1), ("07", B, "not_recorded", 1)],
    "perpetrator_occupation": [("03", T, "unknown", 1), ("03", T, "unemployed", 1),
                               ("04", B, "unknown", 1), ("05", T, "unknown", 1),
                               ("06", B, "unknown", 1), ("07", B, "not_recorded", 1)],
    "non_gbv": [("04", B, 1)],
    "referrals": [("03", T, "health_medical", "not_answered_in_time", 1),
                  ("02", B, "legal", "not_answered_in_time", 1),
                  ("11", T, "mhpss", "awaiting_answer", 1)],
    "referral_timeliness": [("03", T, "health_medical", "not_in_time", 1),
                            ("02", B, "legal", "not_in_time", 1),
                            ("11", T, "mhpss", "not_due", 1)],
    "clinical72": [("03", T, "referred", 1), ("06", B, "not_referred", 1)],
}
# Each context: the incidents it applies to (month, site); every other GBV incident does not.
GBV_LEAVES = [("03", T, 2), ("04", B, 1), ("05", T, 1), ("06", B, 1), ("07", B, 1)]
CONTEXTS = {
    "intimate_partner_violence": [("03", T, 1), ("05", T, 1)],
    "child_sexual_abuse": [("03", T, 1)],
    "early_marriage": [("05", T, 1)],
    "possible_sexual_exploitation": [("04", B, 1)],
    "possible_sexual_slavery": [],
    "harmful_traditional_practice": [("05", T, 1)],
}


def _context_expected(world: World, ctx: str) -> dict[tuple[str, ...], int]:
    applies = {(m, s): n for m, s, n in CONTEXTS[ctx]}
    rows = []
    for m, s, n in GBV_LEAVES:
        rows.append((m, s, "applies", applies.get((m, s), 0)))
        rows.append((m, s, "does_not_apply", n - applies.get((m, s), 0)))
    return _leaves(world, rows)


@pytest.fixture
def counted(app: Flask, world: World) -> dict[str, grid.Table]:
    with app.app_context():
        build(world)
        found = queries.tables(uuid.UUID(world.ids["org"]), YEAR)
    return {t.code: t for t in found}


def test_every_table_is_counted_as_by_hand(counted: dict[str, grid.Table], world: World) -> None:
    assert set(counted) == {t.code for t in definitions.TABLES}
    for code, rows in EXPECTED.items():
        got = {k: v for k, v in counted[code].counts.items() if v}
        assert got == _leaves(world, rows), code
    for ctx in CONTEXTS:
        got = dict(counted[f"context_{ctx}"].counts)
        want = _context_expected(world, ctx)
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}, ctx


def test_every_table_of_a_family_sums_to_the_family_total(counted: dict[str, grid.Table]) -> None:
    totals: dict[str, set[int]] = {}
    for table in counted.values():
        totals.setdefault(table.family, set()).add(sum(table.counts.values()))
    assert totals == {"gbv": {6}, "non_gbv": {1}, "referrals": {3}, "clinical72": {2}}


def test_the_tables_dimensions_are_the_definitions(counted: dict[str, grid.Table]) -> None:
    for table in definitions.TABLES:
        dims = counted[table.code].dims
        assert [d.leaves for d in dims] == [c.codes for c in table.cats]
        for key in counted[table.code].counts:
            assert all(code in d.leaves for code, d in zip(key[2:], dims, strict=True))


def test_a_withdrawal_removes_the_incidents_from_the_next_count(app: Flask, world: World) -> None:
    with app.app_context():
        case = survivor(world)
        incident(world, case, core="rape", occurred=date(2026, 8, 1), reported=date(2026, 8, 2))
        org = uuid.UUID(world.ids["org"])
        before = {t.code: sum(t.counts.values()) for t in queries.tables(org, YEAR)}
        decide(world, case, False)
        after = {t.code: sum(t.counts.values()) for t in queries.tables(org, YEAR)}
        assert before["core_type"] == 1 and after["core_type"] == 0
        assert before["clinical72"] == 1 and after["clinical72"] == 0
        assert queries.has_incidents(queries.tables(org, YEAR)) is False


def test_has_incidents_counts_consented_incidents_of_the_year_only(app: Flask,
                                                                   world: World) -> None:
    with app.app_context():
        org = uuid.UUID(world.ids["org"])
        def has(organisation: uuid.UUID, year: int) -> bool:
            return queries.has_incidents(queries.tables(organisation, year))

        assert has(org, YEAR) is False  # the world's incident: no consent
        case = survivor(world, site="benghazi")
        incident(world, case, core="non_gbv", occurred=date(2025, 5, 1),
                 reported=date(2025, 5, 2))
        assert has(org, 2025) is True
        assert has(org, YEAR) is False
        assert has(uuid.UUID(world.ids["other_org"]), 2025) is False


def test_the_sql_age_groups_agree_with_gbvims(app: Flask, world: World) -> None:
    from sqlalchemy import literal, select

    with app.app_context():
        for age in [*range(0, 121), None]:
            sql = db.session.execute(select(queries._age_group(
                literal(age, type_=db.Integer)))).scalar_one()
            assert sql == gbvims.age_group(age), age


def test_a_referral_month_is_the_organisations_month() -> None:
    starts = queries.month_starts(2026, ZoneInfo("Africa/Tripoli"))
    assert starts[0] == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)
    assert starts[12] == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    assert len(starts) == 13 and starts == sorted(starts)


def test_the_72_hours_count_from_the_latest_moment_known(app: Flask, world: World) -> None:
    with app.app_context():
        case = survivor(world)
        # At 00:00 on the 1st: the window closes at 00:00 on the 4th, so a report on the 4th
        # is too late. With only the date, the incident may have been at 23:59 on the 1st:
        # the window runs to the end of the 4th, and a report on the 4th is within it.
        incident(world, case, core="rape", occurred=date(2026, 9, 1), at=time(0, 0),
                 reported=date(2026, 9, 4))
        incident(world, case, core="rape", occurred=date(2026, 9, 2), reported=date(2026, 9, 5))
        pop = queries._Population(uuid.UUID(world.ids["org"]), YEAR)
        table = queries.clinical_table(pop, ZoneInfo("Africa/Tripoli"))
        assert table.counts == {(f"{YEAR}-09", world.ids["tripoli"], "not_referred"): 1}
