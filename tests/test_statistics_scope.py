"""Who reads which statistics: programme managers their organisation (each site and all
sites), supervisors their own sites one at a time, nobody else; a site outside the scope
answers 404 like a missing one and the attempt is audited. A filter that cannot be answered
shows why, computes nothing and exports nothing."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from flask import Flask

from app.core import barchart
from app.reports import suppression
from tests.helpers.audit import events
from tests.helpers.factories import World
from tests.helpers.login import Auth
from tests.helpers.statistics import incident, survivor


@pytest.fixture
def data(app: Flask, world: World) -> None:
    with app.app_context():
        for site in ("tripoli", "benghazi"):
            case = survivor(world, site=site)
            incident(world, case, core="rape", occurred=date(2026, 3, 1),
                     reported=date(2026, 3, 2))


def test_a_manager_reads_all_sites_and_each_site(app: Flask, auth: Auth, world: World,
                                                 data: None) -> None:
    c = auth.login("program_manager")
    for site in ("all", world.ids["tripoli"], world.ids["benghazi"]):
        page = c.get(f"/statistics/?period=2026-03&site={site}")
        assert page.status_code == 200, site
        text = page.get_data(as_text=True)
        assert 'id="stats-core_type"' in text and 'id="stats-caveat"' in text
    seen = events(app, "stats.view")
    assert [e.reason for e in seen][-3:] == [
        "period:2026-03;site:all_sites", f"period:2026-03;site:{world.ids['tripoli']}",
        f"period:2026-03;site:{world.ids['benghazi']}"]
    assert seen[-3].object_type == "organisation" and seen[-3].object_id == world.ids["org"]
    assert seen[-2].object_type == "site" and seen[-2].object_id == world.ids["tripoli"]


def test_a_supervisor_reads_their_site_only(app: Flask, auth: Auth, world: World,
                                            data: None) -> None:
    c = auth.login("supervisor")
    page = c.get("/statistics/?period=2026-03")
    assert page.status_code == 200
    assert 'id="stats-core_type"' in page.get_data(as_text=True)
    assert events(app, "stats.view")[-1].object_id == world.ids["tripoli"]
    assert 'value="all"' not in page.get_data(as_text=True)
    for site in ("all", world.ids["benghazi"], world.ids["partner_site"], str(uuid.uuid4())):
        before = len(events(app, "stats.view"))
        assert c.get(f"/statistics/?period=2026-03&site={site}").status_code == 404, site
        assert c.get(f"/statistics/export.csv?period=2026-03&site={site}").status_code == 404
        denied = [e for e in events(app) if e.outcome == "denied"][-2:]
        assert [e.action for e in denied] == ["stats.view", "stats.export"]
        assert len(events(app, "stats.view")) == before + 1  # the denial only


def test_another_organisations_site_is_404_for_a_manager(app: Flask, auth: Auth, world: World,
                                                        data: None) -> None:
    c = auth.login("program_manager")
    assert c.get(f"/statistics/?site={world.ids['partner_site']}").status_code == 404
    last = events(app, "stats.view")[-1]
    assert last.outcome == "denied" and last.object_id == world.ids["partner_site"]


@pytest.mark.parametrize("role", ["caseworker", "service_provider", "wgss_coordinator",
                                  "auditor", "admin"])
def test_other_roles_are_refused(auth: Auth, role: str) -> None:
    c = auth.login(role)
    for path in ("/statistics/", "/statistics/export.csv", "/statistics/export.xlsx"):
        assert c.get(path).status_code == 403, (role, path)


BAD = {
    "2026-13": "Choose a month, a quarter or a year.",
    "2026-Q5": "Choose a month, a quarter or a year.",
    "March": "Choose a month, a quarter or a year.",
    "2026-01..2026-03": "a custom range",
    "2026-01-01/2026-02-15": "a custom range",
    "2026-12": "has not begun yet",
    "2027": "has not begun yet",
    "2024": "No incident with consent to statistics was reported in 2024",
}


@pytest.mark.parametrize("period", list(BAD))
def test_a_filter_that_cannot_be_answered_says_why_and_computes_nothing(
        app: Flask, auth: Auth, data: None, monkeypatch: pytest.MonkeyPatch,
        period: str) -> None:
    computed: list[object] = []
    real = suppression.protect
    monkeypatch.setattr(suppression, "protect", lambda *a, **k: computed.append(a) or real(*a, **k))
    c = auth.login("program_manager")
    page = c.get("/statistics/", query_string={"period": period, "site": "all"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="stats-problem"' in text and BAD[period] in text
    assert 'id="stats-core_type"' not in text
    assert events(app, "stats.view")[-1].reason == "invalid_filter"
    for fmt in ("csv", "xlsx"):
        got = c.get(f"/statistics/export.{fmt}", query_string={"period": period, "site": "all"})
        assert got.status_code == 302 and "/statistics/" in got.location
    assert computed == []
    assert events(app, "stats.export") == []


def test_an_unknown_site_says_so(auth: Auth, data: None, app: Flask) -> None:
    c = auth.login("program_manager")
    text = c.get("/statistics/?period=2026-03&site=nowhere").get_data(as_text=True)
    assert "Choose a site from the list." in text
    assert c.get("/statistics/export.csv?period=2026-03&site=nowhere").status_code == 302
    assert events(app, "stats.export") == []


def test_the_filter_reads_every_kind_of_period() -> None:
    from app.reports.filters import parse_period

    today = date(2026, 11, 24)
    assert parse_period("2026-11", today).months == ("2026-11",)
    # the grid stops at the current month: December is not a cell yet (zero by necessity)
    assert parse_period("2026-Q4", today).months == ("2026-10", "2026-11")
    assert parse_period("2025-Q4", today).months == ("2025-10", "2025-11", "2025-12")
    assert len(parse_period("2025", today).months) == 12
    assert barchart.legend(5).startswith("× withheld: fewer than 5 (<5)")


def test_the_smallest_count_is_a_setting_refused_below_three(
        monkeypatch: pytest.MonkeyPatch, instance_dir: object, app: Flask) -> None:
    from app.config import ConfigError, build_config
    from app.reports.settings import min_count

    monkeypatch.delenv("AMANA_STATS_MIN_COUNT", raising=False)
    assert build_config("testing", instance_dir, keys=False)["STATS_MIN_COUNT"] == 5
    monkeypatch.setenv("AMANA_STATS_MIN_COUNT", "10")
    assert build_config("testing", instance_dir, keys=False)["STATS_MIN_COUNT"] == 10
    for bad in ("2", "0", "-5", "five"):
        monkeypatch.setenv("AMANA_STATS_MIN_COUNT", bad)
        with pytest.raises(ConfigError, match="AMANA_STATS_MIN_COUNT"):
            build_config("testing", instance_dir, keys=False)
    with app.app_context():
        assert min_count() == 5
        app.config["STATS_MIN_COUNT"] = 7
        assert min_count() == 7
