"""The programme manager's home panel: each indicator against a fixture counted by hand, with
nothing withheld (``STATS_MIN_COUNT = 0``) and with the real k; consented records of the
manager's organisation only; the statistics grid never counted by the home page; no sealed
value opened; the page audited; the chart mirrored for Arabic.

The clock is frozen on 24 November 2026 (Tripoli, UTC+2): the twelve months run from
December 2025 (last year's grids) to November 2026 (this year's).

The fixture (consented cases unless said otherwise):

- A (Tripoli): opened 5 March 2026, plan approved 15 March (10 days), closed 30 June 23:30
  UTC, which is 1 July in Tripoli; a rape reported within 72 hours and referred for clinical
  care at once (that referral never answered); an MHPSS referral answered in time.
- B (Benghazi): opened 10 December 2025, plan approved 9 January 2026 (30 days), closed
  20 March; an MHPSS referral answered late; a legal referral answered in time.
- C (Tripoli): opened 20 March, plan approved 24 March (4 days); a rape reported within 72
  hours, not referred; an MHPSS referral never answered (deadline passed) and one sent this
  morning (not due yet).
- E (Tripoli): opened 15 November 2025 (before the twelve months), plan approved 20 November
  2025 (before them too), closed 10 February 2026.
- D (refused consent to statistics) and X (another organisation): opened in March, plan
  approved after 1 and 100 days, closed in April, a rape reported within 72 hours without a
  referral, an MHPSS referral answered in time: counted nowhere. Counted, D would make the
  median 7, X would make it 20; either would change the shares.
- Safe spaces: 15 attendances on 10 December 2025 (Camp WGSS), 15 on 20 November 2026 (Camp
  WGSS) and 17 on 21 November (Benghazi WGSS); 15 at another organisation's space in November.

By hand: opened Dec 1, Mar 2 (else 0); closed Feb 1 (E), Mar 1 (B), Jul 1 (A); attendance
Dec 15, Nov 32; median of 10, 30, 4 = 10 days; 2026: clinical care 1 of 2 = 50 %; MHPSS
answered in time 1 of 3 due = 33 %; legal 1 of 1 = 100 %; health 0 of 1 = 0 %.
"""

from __future__ import annotations

import re
import types
import uuid
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import update

from app.audit.actions import Action
from app.cases.models import Case
from app.db import db
from app.directory.models import SafeSpace
from app.referrals.models import Referral
from app.reports import home, impact, indicators, queries
from app.safe_space import figures as wgss
from tests.helpers.audit import events
from tests.helpers.crypto import forbid_decryption
from tests.helpers.factories import CANARY, World
from tests.helpers.login import Auth
from tests.helpers.safe_space import insert_session
from tests.helpers.statistics import decide, incident, refer, survivor

HOME = "/"
MONTHS = ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _dates(case: Case, opened: date, approved: datetime | None, closed: datetime | None) -> None:
    db.session.execute(update(Case).where(Case.id == case.id).values(
        opened_on=opened, plan_approved_at=approved, closed_at=closed,
        status="closed" if closed else "implementation"))
    db.session.commit()


def _answered(referral: Referral, at: datetime) -> None:
    db.session.execute(update(Referral).where(Referral.id == referral.id).values(
        status="accepted", responded_at=at))
    db.session.commit()


def _uncounted(world: World, *, days: int, reporting: bool = True) -> Case:
    """A case opened in March with everything the counted ones have (approved after ``days``
    days, closed in April, a rape reported in time without referral, an MHPSS referral
    answered in time)."""
    case = survivor(world)
    incident(world, case, core="rape", occurred=date(2026, 3, 1), reported=date(2026, 3, 2))
    _answered(refer(world, case, "mhpss", at=_utc(2026, 3, 5, 9)), _utc(2026, 3, 5, 10))
    if not reporting:
        decide(world, case, False)
    _dates(case, date(2026, 3, 1), _utc(2026, 3, 1 + days, 10) if days < 30 else
           _utc(2026, 6, 9, 10), _utc(2026, 4, 1, 9))
    return case


def build(app: Flask, world: World) -> uuid.UUID:
    """The fixture above; returns case C's id (an open case)."""
    with app.app_context():
        a = survivor(world, site="tripoli")
        incident(world, a, core="rape", occurred=date(2026, 3, 1), reported=date(2026, 3, 2))
        refer(world, a, "health_medical", at=_utc(2026, 3, 2, 12))
        _answered(refer(world, a, "mhpss", at=_utc(2026, 3, 6, 9)), _utc(2026, 3, 6, 15))
        _dates(a, date(2026, 3, 5), _utc(2026, 3, 15, 10), _utc(2026, 6, 30, 23, 30))
        b = survivor(world, site="benghazi")
        incident(world, b, occurred=date(2025, 12, 1), reported=date(2025, 12, 10))
        _answered(refer(world, b, "mhpss", at=_utc(2026, 4, 1, 9)), _utc(2026, 4, 10, 9))
        _answered(refer(world, b, "legal", at=_utc(2026, 6, 1, 9)), _utc(2026, 6, 1, 11))
        _dates(b, date(2025, 12, 10), _utc(2026, 1, 9, 12), _utc(2026, 3, 20, 8))
        c = survivor(world, site="tripoli")
        incident(world, c, core="rape", occurred=date(2026, 3, 20), reported=date(2026, 3, 21))
        refer(world, c, "mhpss", at=_utc(2026, 5, 1, 9))
        refer(world, c, "mhpss", at=_utc(2026, 11, 24, 9))
        _dates(c, date(2026, 3, 20), _utc(2026, 3, 24, 9), None)
        e = survivor(world, site="tripoli")
        _dates(e, date(2025, 11, 15), _utc(2025, 11, 20, 9), _utc(2026, 2, 10, 9))
        _uncounted(world, days=1, reporting=False)
        x = _uncounted(world, days=100)
        db.session.execute(update(Case).where(Case.id == x.id).values(
            organisation_id=uuid.UUID(world.ids["other_org"]),
            site_id=uuid.UUID(world.ids["partner_site"])))
        partner = SafeSpace(organisation_id=uuid.UUID(world.ids["other_org"]),
                            site_id=uuid.UUID(world.ids["partner_site"]), name="Partner WGSS",
                            opened_on=date(2024, 1, 1))
        db.session.add(partner)
        db.session.commit()
        partner_id, c_id = str(partner.id), c.id
    insert_session(app, world, held_on=date(2025, 12, 10))
    insert_session(app, world, held_on=date(2026, 11, 20))
    insert_session(app, world, space="safe_space2", held_on=date(2026, 11, 21), women_25_49=7)
    elsewhere = types.SimpleNamespace(ids={**world.ids, "partner": partner_id}, users=world.users)
    insert_session(app, elsewhere, space="partner", held_on=date(2026, 11, 20))
    return c_id


def _panel(page: str) -> str:
    found = re.search(r'<section class="panel home-panel" id="home-indicators".*?</section>\n',
                      page, re.S)
    assert found, "no indicators panel"
    return found.group(0)


def _months(panel: str) -> dict[str, dict[str, str]]:
    out = {}
    for leaf, row in re.findall(r'<tr data-row="(\d{4}-\d{2})">(.*?)</tr>', panel, re.S):
        out[leaf] = {code: text.strip() for code, text in
                     re.findall(r'data-cell="([a-z]+)"[^>]*>([^<]*)<', row)}
    return out


def _shares(panel: str, year: int) -> dict[str, str]:
    found = re.search(rf'<table class="table" id="home-indicators-{year}">(.*?)</table>',
                      panel, re.S)
    assert found, f"no shares for {year}"
    return dict(re.findall(r'<td data-cell="([a-z0-9_]+)"[^>]*>([^<]*)<', found.group(1)))


def _median(panel: str) -> str:
    found = re.search(r'data-cell="median">([^<]*)<', panel)
    assert found
    return found.group(1)


def test_each_indicator_as_counted_by_hand(app: Flask, auth: Auth, world: World) -> None:
    app.config["STATS_MIN_COUNT"] = 0   # a test-only value: nothing is withheld
    build(app, world)
    c = auth.login("program_manager")
    panel = _panel(c.get(HOME).get_data(as_text=True))
    got = _months(panel)
    assert list(got) == MONTHS
    opened = dict.fromkeys(MONTHS, "0") | {"2025-12": "1", "2026-03": "2"}
    closed = dict.fromkeys(MONTHS, "0") | {"2026-02": "1", "2026-03": "1", "2026-07": "1"}
    attendance = dict.fromkeys(MONTHS, "0") | {"2025-12": "15", "2026-11": "32"}
    assert {m: r["opened"] for m, r in got.items()} == opened
    assert {m: r["closed"] for m, r in got.items()} == closed
    assert {m: r["attendance"] for m, r in got.items()} == attendance
    assert _median(panel) == "10"
    # The statistics grids are not counted by the home page: counted on the statistics page.
    assert 'id="home-indicators-2026-not-counted"' in panel
    assert c.get("/statistics/?period=2026&site=all").status_code == 200
    panel = _panel(c.get(HOME).get_data(as_text=True))
    shares = _shares(panel, 2026)
    assert shares["clinical72"] == "50%"
    assert shares["mhpss"] == "33%" and shares["legal"] == "100%"
    assert shares["health_medical"] == "0%"
    assert shares["psychiatry"] == "×"           # nothing was due: no share
    assert 'id="home-indicators-2025-not-counted"' in panel


def test_with_the_real_k_small_numbers_and_the_median_are_withheld(
        app: Flask, auth: Auth, world: World) -> None:
    build(app, world)
    app.config["STATS_MIN_COUNT"] = 5
    c = auth.login("program_manager")
    c.get("/statistics/?period=2026&site=all")
    panel = _panel(c.get(HOME).get_data(as_text=True))
    got = _months(panel)
    assert _median(panel) == "×"                  # three cases: fewer than 5
    assert "withheld: fewer than 5 cases" in panel and "× withheld: fewer than 5" in panel
    assert all(v == "×" for v in _shares(panel, 2026).values())   # every count below 5
    with app.app_context():
        org = uuid.UUID(world.ids["org"])
        now = date(2026, 11, 24)
        for leaf, row in got.items():
            year = int(leaf[:4])
            cases = impact.cases_year(org, year)
            assert cases is not None
            spaces = wgss.protect(wgss.build(org, year, now))
            # every number shown is the very cell of the one protection of its year
            for code, table in (("opened", impact.CASES_OPENED),
                                ("closed", impact.CASES_CLOSED)):
                cell = cases.value.value(table, leaf, "*", "*")
                assert row[code] == ("×" if cell is None else str(cell)), (leaf, code)
                assert cell is None or cell == 0 or cell >= 5
            cell = spaces.value(wgss.PARTICIPANTS, leaf, "*", "*")
            assert row["attendance"] == ("×" if cell is None else str(cell)), leaf
    assert got["2026-03"]["opened"] == "×" and got["2025-12"]["opened"] == "×"


def test_another_organisations_records_are_never_counted(app: Flask, auth: Auth,
                                                         world: World) -> None:
    """Only X (the other organisation's case) and its space: nothing of ours in the year."""
    app.config["STATS_MIN_COUNT"] = 0
    with app.app_context():
        x = _uncounted(world, days=5)
        db.session.execute(update(Case).where(Case.id == x.id).values(
            organisation_id=uuid.UUID(world.ids["other_org"]),
            site_id=uuid.UUID(world.ids["partner_site"])))
        db.session.commit()
    panel = _panel(auth.login("program_manager").get(HOME).get_data(as_text=True))
    got = _months(panel)
    assert all(r["opened"] == "0" and r["closed"] == "0" for r in got.values())
    assert _median(panel) == "×"                  # no case at all


def test_the_home_page_never_counts_the_statistics_year(
        app: Flask, auth: Auth, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting the statistics grid takes seconds: the home page shows what the statistics
    page counted, says when, and says when it is not counted (or no longer valid)."""
    app.config["STATS_MIN_COUNT"] = 0
    app.config["STATS_RECOUNT_MINUTES"] = 0   # any change: the count is no longer current
    c_id = build(app, world)
    c = auth.login("program_manager")
    assert c.get("/statistics/?period=2026&site=all").status_code == 200

    def refuse(*_a: object) -> None:
        raise AssertionError("the home page counted the statistics year")

    monkeypatch.setattr(queries, "tables", refuse)
    panel = _panel(c.get(HOME).get_data(as_text=True))
    assert _shares(panel, 2026)["mhpss"] == "33%" and "Records have changed" not in panel
    with app.app_context():   # an ordinary change (no consent): still shown, flagged
        case = db.session.get(Case, c_id)
        assert case is not None
        case.risk_level = "high"
        db.session.commit()
    panel = _panel(c.get(HOME).get_data(as_text=True))
    assert _shares(panel, 2026)["mhpss"] == "33%" and "Records have changed since" in panel
    with app.app_context():   # a withdrawal: the count is never shown again
        case = db.session.get(Case, c_id)
        assert case is not None
        decide(world, case, False)
    panel = _panel(c.get(HOME).get_data(as_text=True))
    assert 'id="home-indicators-2026-not-counted"' in panel
    assert 'id="home-indicators-2026"' not in panel


def test_no_indicator_opens_a_sealed_value(app: Flask, auth: Auth, world: World,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    app.config["STATS_MIN_COUNT"] = 0
    build(app, world)
    c = auth.login("program_manager")   # the login itself opens the account's second factor
    forbid_decryption(monkeypatch)
    assert c.get("/statistics/?period=2026&site=all").status_code == 200
    page = c.get(HOME)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert _median(_panel(text)) == "10"
    assert not any(canary in text for canary in CANARY.values())


def test_only_readers_of_programme_figures_get_the_panel_and_the_page_is_audited(
        app: Flask, auth: Auth, world: World) -> None:
    app.config["STATS_MIN_COUNT"] = 0
    for name in ("supervisor", "caseworker", "auditor", "wgss_coordinator"):
        page = auth.login(name).get(HOME).get_data(as_text=True)
        assert 'id="home-indicators"' not in page, name
    before = len(events(app, Action.HOME_VIEW))
    page = auth.login("program_manager").get(HOME).get_data(as_text=True)
    assert 'id="home-indicators"' in page
    seen = events(app, Action.HOME_VIEW)
    assert len(seen) == before + 1 and str(seen[-1].actor_id) == world.users["program_manager"]


def test_the_trend_chart_mirrors_for_arabic_and_draws_withheld_months_as_outlines(
        app: Flask, auth: Auth) -> None:
    months = [indicators.Month(leaf, None if i % 3 == 0 else i, i % 2, None, True)
              for i, leaf in enumerate(MONTHS)]
    with app.test_request_context():
        series = (("chart-bar", "Opened", [m.opened for m in months]),
                  ("chart-women", "Closed", [m.closed for m in months]))
        ltr = home.trend_chart("cases", "Cases", months, series, rtl=False)
        rtl = home.trend_chart("cases", "Cases", months, series, rtl=True)
    for a, b in zip(ltr.columns, rtl.columns, strict=True):
        assert a.month == b.month and a.withheld == b.withheld
        assert round(a.x + a.width + b.x, 1) == pytest.approx(home.WIDTH, abs=0.2)  # mirrored
        if a.withheld:
            assert a.height == home.WITHHELD_H and a.value is None   # its size tells nothing
    def xs(chart: home.Trend) -> list[float]:
        return [col.x for col in chart.columns if col.series == "chart-bar"]

    assert xs(ltr) == sorted(xs(ltr)) and xs(rtl) == sorted(xs(rtl), reverse=True)
    c = auth.login("program_manager")
    c.post("/language", data={"lang": "ar", "csrf_token": auth.csrf(c)})
    page = c.get(HOME).get_data(as_text=True)
    assert 'dir="rtl"' in page and 'id="home-chart-cases"' in page
    assert 'id="home-indicators-months"' in page   # the table for screen readers
