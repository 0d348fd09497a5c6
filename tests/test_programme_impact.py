"""The programme impact page: every figure is a protected cell, counted from consented records,
for programme managers; bad years get a message and nothing is computed."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask

from app.reports import suppression
from tests.helpers.factories import World
from tests.helpers.login import Auth
from tests.helpers.statistics import incident, survivor

PAGE = "/statistics/impact?year=2026"


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'<td data-cell="([a-z_]+)"[^>]*>([^<]*)<', page))


def _add(app: Flask, world: World) -> None:
    """Three consented survivors with GBV incidents, one with a not-GBV incident, and one who
    refused consent to statistics (counted nowhere)."""
    with app.app_context():
        for _ in range(3):
            incident(world, survivor(world), core="physical_assault",
                     occurred=date(2026, 3, 1), reported=date(2026, 3, 10))
        incident(world, survivor(world), core="non_gbv", occurred=date(2026, 3, 2),
                 reported=date(2026, 3, 11))
        incident(world, survivor(world, reporting=False), core="rape",
                 occurred=date(2026, 3, 3), reported=date(2026, 3, 12))


def test_each_figure_counts_consented_records_only(app: Flask, auth: Auth, world: World) -> None:
    app.config["STATS_MIN_COUNT"] = 0   # a test-only value: nothing is withheld
    c = auth.login("program_manager")
    before = _figures(c.get(PAGE).get_data(as_text=True))
    _add(app, world)
    suppression.forget()
    after = _figures(c.get(PAGE).get_data(as_text=True))

    def grew(code: str) -> int:
        def number(text: str) -> int:
            return int(text) if text.strip().isdigit() else 0
        return number(after[code]) - number(before.get(code, "0"))

    assert grew("cases_opened") == 4          # the refusing survivor is not counted
    assert grew("incidents_gbv") == 3
    assert grew("incidents_not_gbv") == 1
    assert set(after) >= {"referrals_completed", "wgss_sessions", "wgss_attendance",
                          "awareness_sessions", "awareness_people", "trainings",
                          "trained_people"}


def test_small_figures_are_withheld_with_the_mark(app: Flask, auth: Auth, world: World) -> None:
    _add(app, world)
    app.config["STATS_MIN_COUNT"] = 5
    page = auth.login("program_manager").get(PAGE).get_data(as_text=True)
    got = _figures(page)
    assert got["incidents_not_gbv"] == "×"        # one incident: below 5
    assert "× withheld: fewer than 5" in page and "not a measure of prevalence" in page
    # 0 only where nothing of the kind happened all year (a zero under a zero)
    assert all(v in ("×", "0") or v.strip() == "none recorded" or int(v) >= 5
               for v in got.values())


@pytest.mark.parametrize("year", ["abcd", "2019", "2027", "20266", "٢٠٢٦"])
def test_a_year_that_cannot_be_shown_gets_a_message(auth: Auth, year: str) -> None:
    page = auth.login("program_manager").get(f"/statistics/impact?year={year}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="impact-problem"' in text and "data-cell=" not in text


def test_no_figure_opens_a_sealed_value(app: Flask, auth: Auth, world: World,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.crypto import envelope, fields, sealed

    _add(app, world)
    c = auth.login("program_manager")

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("a figure decrypted a sealed value")

    for module, name in ((sealed, "open_value"), (sealed, "open_bytes"), (fields, "open_value"),
                         (envelope, "unwrap"), (envelope, "_open")):
        monkeypatch.setattr(module, name, boom)
    resp = c.get(PAGE)
    assert resp.status_code == 200 and "data-cell=" in resp.get_data(as_text=True)
