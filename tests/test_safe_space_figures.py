"""The organisation's safe-space figures: every space, several months, one site or all, read
from one protection per organisation and year; the arithmetic against a fixture computed by
hand, the withheld marks, scope, bad input, and the CSV neutralised and audited."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.core import barchart
from app.db import db
from app.directory.models import Organisation, SafeSpace, Site
from app.reports import suppression
from app.safe_space import figure_charts, figures
from app.safe_space.models import ActivityType
from tests.helpers.safe_space import insert_session

CELLS = ("girls_10_14", "girls_15_19", "women_15_19", "women_20_24", "women_25_49",
         "women_50_plus")


def _c(*values: int) -> dict[str, int]:
    return dict(zip(CELLS, values, strict=True))


# Three safe spaces of the organisation: Camp WGSS (A) and a second space (C) at Tripoli,
# Benghazi WGSS (B) at Benghazi; another organisation's space (X). By hand:
#   s1 A  10 Jan 2026  life skills    3 2 | 1 4 5 0  = 15
#   s2 C  20 Jan 2026  recreation     1 0 | 0 2 3 1  =  7
#   s3 A   5 Feb 2026  life skills    0 4 | 2 0 6 2  = 14
#   s4 B  14 Feb 2026  psychosocial   5 5 | 0 1 0 0  = 11
#   s5 B   2 Apr 2026  life skills    2 2 | 2 2 2 2  = 12
#   not counted: A 31 Dec 2025 (another year), X 15 Jan 2026 (another organisation)
S = {
    "s1": ("safe_space", date(2026, 1, 10), "life_skills", _c(3, 2, 1, 4, 5, 0)),
    "s2": ("tripoli2", date(2026, 1, 20), "recreation", _c(1, 0, 0, 2, 3, 1)),
    "s3": ("safe_space", date(2026, 2, 5), "life_skills", _c(0, 4, 2, 0, 6, 2)),
    "s4": ("safe_space2", date(2026, 2, 14), "psychosocial_support", _c(5, 5, 0, 1, 0, 0)),
    "s5": ("safe_space2", date(2026, 4, 2), "life_skills", _c(2, 2, 2, 2, 2, 2)),
    "old": ("safe_space", date(2025, 12, 31), "life_skills", _c(9, 9, 9, 9, 9, 9)),
    "far": ("partner_space", date(2026, 1, 15), "life_skills", _c(9, 9, 9, 9, 9, 9)),
}
# (period, site) -> cells, girls, women, attendance, {type: sessions}, sessions
EXPECTED = {
    ("2026-Q1", "all"): (_c(9, 11, 3, 7, 14, 3), 20, 27, 47,
                         {"life_skills": 2, "recreation": 1, "psychosocial_support": 1}, 4),
    ("2026-01", "tripoli"): (_c(4, 2, 1, 6, 8, 1), 6, 16, 22,
                             {"life_skills": 1, "recreation": 1}, 2),
    ("2026", "all"): (_c(11, 13, 5, 9, 16, 5), 24, 35, 59,
                      {"life_skills": 3, "recreation": 1, "psychosocial_support": 1}, 5),
    ("2026-Q2", "benghazi"): (_c(2, 2, 2, 2, 2, 2), 4, 8, 12, {"life_skills": 1}, 1),
    ("2026-03", "all"): (_c(0, 0, 0, 0, 0, 0), 0, 0, 0, {}, 0),
}


@pytest.fixture
def fixture(app, world):
    with app.app_context():
        tripoli = uuid.UUID(world.ids["tripoli"])
        second = SafeSpace(organisation_id=uuid.UUID(world.ids["org"]), site_id=tripoli,
                           name="Second Tripoli WGSS", opened_on=date(2025, 6, 1))
        far = SafeSpace(organisation_id=uuid.UUID(world.ids["other_org"]),
                        site_id=uuid.UUID(world.ids["partner_site"]), name="Partner WGSS",
                        opened_on=date(2024, 1, 1))
        sabha = Site(organisation_id=uuid.UUID(world.ids["org"]), name="Sabha", code="SAB")
        db.session.add_all([second, far, sabha])
        db.session.commit()
        world.ids.update(tripoli2=str(second.id), partner_space=str(far.id), sabha=str(sabha.id))
    for space, held_on, code, cells in S.values():
        insert_session(app, world, space=space, held_on=held_on, code=code, **cells)
    return world


@pytest.fixture
def publish_all(monkeypatch):
    """A protection that withholds nothing, in place of the year's real one: the arithmetic
    of the pages alone (reading the grid's cells), whatever the suppression's body."""
    def everything(g, k=None):
        return suppression.Protection(
            k=1, period=g.period, site=g.site, tables={t.code: t for t in g.tables},
            values=suppression.aggregate(g.period, g.site, g.tables), withheld=set(),
            primary=set())
    monkeypatch.setattr(figures, "protect", everything)


@pytest.fixture
def k_is(monkeypatch):
    def set_k(k: int) -> None:
        monkeypatch.setattr(figures, "min_count", lambda: k)
    return set_k


def _url(world, period: str, site: str, csv_: bool = False) -> str:
    site_id = "all" if site == "all" else world.ids[site]
    return f"/safe-spaces/figures{'.csv' if csv_ else ''}?period={period}&site={site_id}"


def _cell(html: str, attr: str, key: str) -> tuple[str, ...]:
    row = re.search(rf'data-{attr}="{key}">(.*?)</tr>', html, re.S)
    assert row, key
    return tuple(re.sub(r"<[^>]+>", "", td).strip()
                 for td in re.findall(r"<td>(.*?)</td>", row.group(1), re.S))


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">(.*?)</dd>', html, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _shown_on_page(html: str) -> dict[str, str]:
    """Every figure of the page by a stable key (cells, totals, types)."""
    out: dict[str, str] = {}
    for band, girls, women in (("10_14", "girls_10_14", None),
                               ("15_19", "girls_15_19", "women_15_19"),
                               ("20_24", None, "women_20_24"), ("25_49", None, "women_25_49"),
                               ("50_plus", None, "women_50_plus")):
        g, w = _cell(html, "band", band)
        assert (g == "—") == (girls is None) and (w == "—") == (women is None), band
        if girls:
            out[girls] = g
        if women:
            out[women] = w
    out["girls"], out["women"] = _cell(html, "band", "total")
    out["attendance"], out["sessions"] = _figure(html, "attendance"), _figure(html, "sessions")
    for code in re.findall(r'data-type="(\w+)"', html):
        if code != "total":
            out[f"type:{code}"] = _cell(html, "type", code)[0]
    assert _cell(html, "type", "total") == (out["sessions"],)
    return out


def _expected(key: tuple[str, str]) -> dict[str, int]:
    cells, girls, women, attendance, types, sessions = EXPECTED[key]
    out = {**cells, "girls": girls, "women": women, "attendance": attendance,
           "sessions": sessions}
    with_types = {f"type:{c}": 0 for c in ("life_skills", "psychosocial_support", "recreation",
                                           "awareness", "skills_training", "literacy_numeracy",
                                           "mobile_outreach", "other")}
    with_types.update({f"type:{c}": n for c, n in types.items()})
    return {**out, **with_types}


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.seq)).scalars())


def _csv(body: bytes) -> dict[tuple[str, str], list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["section", "item", "label", "value"]
    return {(r[0], r[1]): r[2:] for r in rows[1:]}


def test_every_cell_matches_the_hand_computed_fixture_when_nothing_is_withheld(
        app, auth, fixture, publish_all):
    """Nothing withheld (k = 1 would withhold the zeros): the arithmetic alone."""
    client = auth.login("program_manager")
    for key in EXPECTED:
        html = client.get(_url(fixture, *key)).get_data(as_text=True)
        shown = _shown_on_page(html)
        assert shown == {name: str(v) for name, v in _expected(key).items()}, key
        assert barchart.WITHHELD not in re.sub(r"<p class=\"hint\".*?</p>|<figcaption>.*?"
                                                    r"</figcaption>|<text[^>]*>× [^<]*</text>",
                                                    "", html, flags=re.S), key


def test_with_k_1_every_zero_is_withheld_and_every_number_shown_is_right(app, auth, fixture,
                                                                        k_is):
    """k = 1 with the real protection: zeros are counts below k (withheld, unless nothing of
    the kind happened all year at any site), and every number shown is the hand-computed one."""
    k_is(1)
    client = auth.login("program_manager")
    for key in EXPECTED:
        html = client.get(_url(fixture, *key)).get_data(as_text=True)
        shown, truth = _shown_on_page(html), _expected(key)
        for name, value in shown.items():
            allowed = {"×", "0"} if truth[name] == 0 else {"×", str(truth[name])}
            assert value in allowed, (key, name)


def test_the_figures_are_the_cells_of_the_grid(app, fixture):
    """The tables themselves: leaves by month, site and cell; both families' totals agree
    with the page's arithmetic (several spaces at Tripoli add up in Tripoli's cells)."""
    with app.test_request_context():
        g = figures.build(uuid.UUID(fixture.ids["org"]), 2026, date(2026, 11, 24))
        assert g is not None
        assert g.period.leaves[-1] == "2026-11"
        assert set(g.site.leaves) == {fixture.ids["tripoli"], fixture.ids["benghazi"]}
        values = suppression.aggregate(g.period, g.site, g.tables)
        tripoli = fixture.ids["tripoli"]
        assert values[("wgss_participants", "2026-01", tripoli, "women_20_24")] == 6
        assert values[("family:wgss_participants", "2026", "*")] == 59
        assert values[("family:wgss_sessions", "2026-Q1", "*")] == 4


def test_withheld_cells_show_the_one_mark_and_the_legend(app, auth, fixture, k_is):
    """k = 5: every count below 5 is withheld, and every number shown is the true one; what
    the page shows is exactly what the year's one protection publishes."""
    k_is(5)
    client = auth.login("program_manager")
    with app.test_request_context():
        g = figures.build(uuid.UUID(fixture.ids["org"]), 2026, date(2026, 11, 24))
        assert g is not None
        protection = suppression.protect(g.period, g.site, g.tables, 5)
    for key in EXPECTED:
        html = client.get(_url(fixture, *key)).get_data(as_text=True)
        assert "× withheld: fewer than 5 (&lt;5), or withheld so that a number under 5" in html
        shown, truth = _shown_on_page(html), _expected(key)
        site = "*" if key[1] == "all" else fixture.ids[key[1]]
        with app.test_request_context():
            published = figures.read(protection, g, key[0], site)
        expected_shown = dict(zip(CELLS, (v for _c, v in published.cells()), strict=True))
        expected_shown.update(girls=published.girls, women=published.women,
                              attendance=published.attendance, sessions=published.sessions)
        expected_shown.update({f"type:{r.activity_type.code}": r.sessions for r in published.types})
        for name, value in shown.items():
            assert value == ("×" if expected_shown[name] is None else str(expected_shown[name]))
            if truth[name] < 5:
                assert value == "×" or value == "0" == str(truth[name]), (key, name)
            elif value != "×":
                assert value == str(truth[name]), (key, name)
        # The charts: one per table; withheld cells outlined boxes of one width, marked ×.
        assert html.count("<svg") == 2
        boxes = re.findall(r'<rect class="chart-withheld" x="[\d.]+" y="\d+" width="([\d.]+)" '
                           r'height="18" data-withheld="true"/>', html)
        assert len(boxes) == list(shown.values()).count("×") - sum(
            1 for n in ("girls", "women", "attendance", "sessions") if shown[n] == "×")
        assert set(boxes) <= {str(float(figure_charts.BOX_W))}


def test_the_charts_are_mirrored_in_arabic(app, auth, fixture, publish_all):
    client = auth.login("program_manager")
    english = client.get(_url(fixture, "2026-Q1", "all")).get_data(as_text=True)
    with app.app_context():
        db.session.get(User, uuid.UUID(fixture.users["program_manager"])).language = "ar"
        db.session.commit()
    arabic = auth.login("program_manager").get(_url(fixture, "2026-Q1", "all")).get_data(
        as_text=True)
    bars = re.compile(r'<rect class="chart-(?:girls|women|sessions)" x="([\d.]+)" y="(\d+)" '
                      r'width="([\d.]+)"')
    en, ar = bars.findall(english), bars.findall(arabic)
    assert en and len(en) == len(ar)
    for (x_en, y_en, w_en), (x_ar, y_ar, w_ar) in zip(en, ar, strict=True):
        assert (y_en, w_en) == (y_ar, w_ar)
        assert float(x_ar) == pytest.approx(figure_charts.WIDTH - float(x_en) - float(w_en))
    assert 'dir="rtl"' in arabic


def test_scope_managers_only_and_their_own_organisation(app, auth, fixture, k_is):
    k_is(5)
    for role in ("wgss_coordinator", "caseworker", "supervisor", "auditor", "admin",
                 "service_provider"):
        client = auth.login(role)
        assert client.get(_url(fixture, "2026-Q1", "all")).status_code == 403, role
        assert client.get(_url(fixture, "2026-Q1", "all", csv_=True)).status_code == 403, role
    client = auth.login("program_manager")
    before = len(_events(app, "wgss_figures.view"))
    resp = client.get(f"/safe-spaces/figures?period=2026-Q1&site={fixture.ids['partner_site']}")
    assert resp.status_code == 404
    resp = client.get(f"/safe-spaces/figures.csv?period=2026-Q1&site={uuid.uuid4()}")
    assert resp.status_code == 404
    denied = [e for e in _events(app, "wgss_figures.view") + _events(app, "wgss_figures.export")
              if e.outcome == "denied"]
    assert {str(e.object_id) for e in denied} >= {fixture.ids["partner_site"]}
    assert len(_events(app, "wgss_figures.view")) == before + 1
    # The other organisation's sessions (9s everywhere) are in no figure: checked above by the
    # exact totals, and its site is not offered.
    html = client.get(_url(fixture, "2026", "all")).get_data(as_text=True)
    assert "Partner Site" not in html and "Sabha" not in html


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "2026-01..2026-03", "26", "2026-1",
                                    "٢٠٢٦", "1999", "2026-01-01", "2026-W05"])
def test_bad_periods_are_refused_with_a_message_and_nothing_computed(app, auth, fixture,
                                                                      k_is, monkeypatch, period):
    k_is(5)
    called = []
    monkeypatch.setattr(figures, "build", lambda *a, **kw: called.append(a))
    client = auth.login("program_manager")
    resp = client.get(f"/safe-spaces/figures?period={period}&site=all")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Other ranges cannot be shown" in html and "figures-attendance" not in html
    resp = client.get(f"/safe-spaces/figures.csv?period={period}&site=all")
    assert resp.status_code == 302 and resp.mimetype != "text/csv"
    assert called == []
    assert [e.reason for e in _events(app, "wgss_figures.export")][-1] == "invalid_filter"


@pytest.mark.parametrize(("query", "message", "reason"), [
    ("period=2026-12&site=all", "This period has not started yet.", "future_period"),
    ("period=2027&site=all", "This period has not started yet.", "future_period"),
    ("period=2024-Q2&site=all", "No safe-space session was logged in 2024", "nothing_logged"),
    ("period=2026&site={sabha}", "This site had no safe space open in 2026", "no_safe_space_at_site"),
    ("period=2026&site=nonsense", "Choose a site from the list.", "invalid_filter"),
])
def test_periods_and_sites_without_figures_get_a_clear_message(app, auth, fixture, k_is,
                                                               query, message, reason):
    k_is(5)
    client = auth.login("program_manager")
    html = client.get("/safe-spaces/figures?" + query.format(**fixture.ids)).get_data(as_text=True)
    assert message in html and "figures-attendance" not in html
    assert _events(app, "wgss_figures.view")[-1].reason == reason
    resp = client.get("/safe-spaces/figures.csv?" + query.format(**fixture.ids))
    assert resp.status_code == 302
    assert _events(app, "wgss_figures.export")[-1].reason == reason


def test_the_csv_is_the_page_neutralised_and_audited(app, auth, fixture, publish_all):
    with app.app_context():
        db.session.add(ActivityType(code="formula", label="=HYPERLINK(\"x\")", active=False))
        db.session.commit()
    client = auth.login("program_manager")
    resp = client.get(_url(fixture, "2026-01", "tripoli", csv_=True))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "wgss-figures-2026-01-site.csv" in resp.headers["Content-Disposition"]
    rows = _csv(resp.data)
    assert rows[("filter", "period")][1] == "2026-01"
    assert rows[("filter", "site")][1] == "Tripoli"
    assert rows[("sessions_by_activity_type", "formula")] == ["'=HYPERLINK(\"x\")", "0"]
    truth = _expected(("2026-01", "tripoli"))
    for cell in CELLS:
        assert rows[("attendance_by_age_band", cell)][1] == str(truth[cell])
    assert rows[("attendance_by_age_band", "total")][1] == "22"
    assert rows[("sessions_by_activity_type", "total")][1] == "2"
    assert "withheld" in rows[("note", "withheld")][1]
    event = _events(app, "wgss_figures.export")[-1]
    assert event.outcome == "allowed" and event.object_type == "organisation"
    assert event.reason == f"period:2026-01;site:{fixture.ids['tripoli']}"


def test_the_csv_marks_withheld_cells_as_the_page_does(app, auth, fixture, k_is):
    k_is(5)
    client = auth.login("program_manager")
    page = _shown_on_page(client.get(_url(fixture, "2026-Q1", "all")).get_data(as_text=True))
    rows = _csv(client.get(_url(fixture, "2026-Q1", "all", csv_=True)).data)
    for cell in CELLS:
        assert rows[("attendance_by_age_band", cell)][1] == page[cell]
    assert rows[("attendance_by_age_band", "women_15_19")][1] == "×"
    assert rows[("attendance_by_age_band", "total")][1] == page["attendance"]
    assert "fewer than 5" in rows[("note", "withheld")][1]


def test_one_protection_per_organisation_and_year(app, auth, fixture, k_is, monkeypatch):
    """Whatever period and site are asked, the cells come from a protection of the whole year:
    the period and site dimensions passed to ``protect`` are the year's and all sites'."""
    k_is(5)
    seen = []
    real = suppression.protect

    def spy(period, site, tables, k):
        seen.append((period.root, period.leaves, site.leaves, [t.code for t in tables], k))
        return real(period, site, tables, k)

    monkeypatch.setattr(suppression, "protect", spy)
    client = auth.login("program_manager")
    for key in (("2026-01", "tripoli"), ("2026-Q1", "all"), ("2026", "benghazi")):
        assert client.get(_url(fixture, *key)).status_code == 200
    months = tuple(f"2026-{m:02d}" for m in range(1, 12))
    sites = {fixture.ids["tripoli"], fixture.ids["benghazi"]}
    assert len(seen) == 3
    for root, leaves, site_leaves, codes, k in seen:
        assert (root, leaves, set(site_leaves), codes, k) == (
            "2026", months, sites, ["wgss_participants", "wgss_sessions"], 5)


def test_the_figures_read_no_sealed_value(app, auth, fixture, publish_all, monkeypatch):
    """Only clear columns are counted: the page and the CSV work while every decryption
    raises (a session with notes is among those counted)."""
    from app.crypto import fields, sealed

    insert_session(app, fixture, held_on=date(2026, 3, 3), notes="SealedNotesCanary", **_c(
        1, 1, 1, 1, 1, 1))

    def refuse(*_a, **_kw):
        raise AssertionError("a sealed value was opened")

    client = auth.login("program_manager")
    for module in (sealed, fields):
        monkeypatch.setattr(module, "open_bytes", refuse)
    monkeypatch.setattr(fields, "open_value", refuse)
    html = client.get(_url(fixture, "2026-03", "all")).get_data(as_text=True)
    assert _figure(html, "attendance") == "6"
    assert client.get(_url(fixture, "2026", "all", csv_=True)).status_code == 200


def test_no_site_of_another_organisation_is_a_site_of_the_grid(app, fixture):
    with app.app_context():
        other = uuid.UUID(fixture.ids["other_org"])
        assert [s.name for s in figures.sites_in(other, 2026)] == ["Partner Site"]
        assert db.session.get(Organisation, other) is not None
        org = uuid.UUID(fixture.ids["org"])
        assert [s.name for s in figures.sites_in(org, 2026)] == ["Benghazi", "Tripoli"]
        assert figures.sites_in(org, 2023) == []


# The one-space monthly summary, read by a programme manager: only what the figures publish.
NOVEMBER = {"s1": _c(3, 2, 1, 4, 5, 0), "s2": _c(0, 0, 2, 3, 6, 2), "s3": _c(4, 6, 0, 0, 0, 0)}


def _november(app, world) -> None:
    for (name, cells), code in zip(NOVEMBER.items(),
                                   ("life_skills", "life_skills", "psychosocial_support"),
                                   strict=True):
        insert_session(app, world, held_on=date(2026, 11, int(name[1]) * 5), code=code, **cells)


def _summary_figures(html: str) -> dict[str, str]:
    out = {name: re.sub(r"<[^>]+>", "", value).strip()
           for name, value in re.findall(r'data-figure="(\w+)">(.*?)</dd>', html, re.S)}
    for band in ("10_14", "15_19", "20_24", "25_49", "50_plus"):
        out.update(zip((f"{band}:girls", f"{band}:women", f"{band}:total"),
                       _cell(html, "band", band), strict=True))
    for code in re.findall(r'data-type="(\w+)"', html):
        out.update(zip((f"{code}:sessions", f"{code}:attendance"), _cell(html, "type", code),
                       strict=True))
    return out


def test_a_managers_monthly_summary_shows_only_the_published_cells(app, auth, world,
                                                                   publish_all):
    """Camp WGSS is the only safe space at Tripoli: its month is Tripoli's month in the grid.
    With nothing withheld the grid's cells are shown; the figures that are not cells
    (new, returning, disabilities, requests, referrals, attendance by activity, the 15–19
    band's total) are withheld all the same."""
    _november(app, world)
    url = f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11"
    coordinator = _summary_figures(auth.login("wgss_coordinator").get(url).get_data(as_text=True))
    html = auth.login("program_manager").get(url).get_data(as_text=True)
    manager = _summary_figures(html)
    assert coordinator["attendance"] == "38" and coordinator["new_participants"] == "15"
    for name in ("sessions", "attendance", "10_14:girls", "15_19:girls", "15_19:women",
                 "20_24:women", "25_49:women", "50_plus:women", "10_14:total", "20_24:total",
                 "25_49:total", "50_plus:total", "life_skills:sessions",
                 "psychosocial_support:sessions"):
        assert manager[name] == coordinator[name], name
    for name in ("new_participants", "returning_participants", "with_disabilities",
                 "case_management_requests", "referrals_made", "15_19:total",
                 "life_skills:attendance", "psychosocial_support:attendance"):
        assert manager[name] == "×", name
    assert manager["recreation:sessions"] == "0"  # every type is listed for a manager
    assert "× withheld" in html and "/safe-spaces/figures?period=2026-11" in html
    csv_rows = _csv(auth.login("program_manager").get(
        url.replace("/summary?", "/summary.csv?")).data)
    assert csv_rows[("totals", "sessions")][1] == "3"
    assert csv_rows[("totals", "new_participants")][1] == "×"
    assert csv_rows[("attendance_by_age_band", "total_15_19")][1] == "×"
    assert "withheld" in csv_rows[("note", "withheld")][1]


def test_a_managers_monthly_summary_withholds_what_the_figures_withhold(app, auth, world, k_is):
    _november(app, world)
    k_is(5)
    with app.test_request_context():
        g = figures.build(uuid.UUID(world.ids["org"]), 2026, date(2026, 11, 24))
        assert g is not None
        protection = suppression.protect(g.period, g.site, g.tables, 5)
    url = f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11"
    manager = _summary_figures(auth.login("program_manager").get(url).get_data(as_text=True))
    tripoli = world.ids["tripoli"]
    for cell, key in (("girls_10_14", "10_14:girls"), ("women_15_19", "15_19:women"),
                      ("women_50_plus", "50_plus:women")):
        value = protection.value("wgss_participants", "2026-11", tripoli, cell)
        assert manager[key] == ("×" if value is None else str(value)), key
    value = protection.value("wgss_participants", "2026-11", tripoli, "*")
    assert manager["attendance"] == ("×" if value is None else str(value))
    assert manager["50_plus:women"] == "×"  # 2 < 5, whatever the secondary suppression does


def test_a_space_sharing_its_site_shows_a_manager_nothing_of_its_own(app, auth, fixture, k_is):
    """Camp WGSS and the second Tripoli space: each one's figures are parts of Tripoli's cells,
    so a manager sees none of them (both summaries together would give the site's cells back
    even where the figures withhold them); the coordinator still sees her own."""
    k_is(5)
    url = f"/safe-spaces/{fixture.ids['safe_space']}/summary?month=2026-01"
    html = auth.login("program_manager").get(url).get_data(as_text=True)
    manager = _summary_figures(html)
    assert set(manager.values()) == {"×", "—"}
    assert "shares its site" in html
    coordinator = _summary_figures(auth.login("wgss_coordinator").get(url).get_data(
        as_text=True))
    assert coordinator["attendance"] == "15"
