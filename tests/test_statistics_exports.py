"""The statistics as pages, charts, CSV and XLSX: the same protected cells everywhere, the
caveat and the legend on each, one × for every withheld cell (a count below k and the cells
withheld with it), text cells neutralised against formulas, every export audited with its
filter, and not one sealed value opened on the way."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from datetime import date

import pytest
from flask import Flask

from app.reports import charts, publication
from app.reports.sheets import sheet_name, workbook
from tests.helpers.audit import events
from tests.helpers.factories import World
from tests.helpers.login import Auth
from tests.helpers.statistics import incident, survivor

CAVEAT = "These figures cover reported incidents only"


@pytest.fixture
def data(app: Flask, world: World) -> None:
    """Six GBV incidents in March (four at Tripoli, two at Benghazi), one not GBV."""
    with app.app_context():
        for site, n in (("tripoli", 4), ("benghazi", 2)):
            for _ in range(n):
                case = survivor(world, site=site)
                incident(world, case, core="physical_assault", occurred=date(2026, 3, 1),
                         reported=date(2026, 3, 9))
        incident(world, survivor(world), core="non_gbv", occurred=date(2026, 3, 1),
                 reported=date(2026, 3, 9))


def _xlsx_text(body: bytes) -> tuple[str, str]:
    """The shared strings and the sheet XML of an XLSX file."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return (z.read("xl/sharedStrings.xml").decode(),
                z.read("xl/worksheets/sheet1.xml").decode())


def _csv_rows(body: str) -> dict[tuple[str, str], str]:
    """The value of each (table, item) row (the text, for the notes)."""
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["table", "item", "label", "value"]
    return {(r[0], r[1]): r[2] if r[0] == "notes" else r[3] for r in rows[1:]}


def test_with_nothing_withheld_every_figure_is_shown(app: Flask, auth: Auth, world: World,
                                                    data: None) -> None:
    app.config["STATS_MIN_COUNT"] = 0  # a test-only value: no count is small
    c = auth.login("program_manager")
    page = c.get("/statistics/?period=2026-Q1&site=all").get_data(as_text=True)
    assert CAVEAT in page and "stats-withheld" not in page and "chart-withheld" not in page
    assert re.search(r'data-cell="physical_assault">6<', page)
    assert re.search(r'data-row="2026-03"><th scope="row"><bdi dir="ltr">2026-03</bdi></th>'
                     r'<td data-cell="2026-03">6<', page)
    assert re.search(r'id="stats-non-gbv">[^<]*<strong>1</strong>', page)
    got = _csv_rows(c.get("/statistics/export.csv?period=2026-Q1&site=all").get_data(as_text=True))
    assert got[("core_type", "physical_assault")] == "6"
    assert got[("core_type", "rape")] == "0"
    assert got[("gbv_by_month", "2026-03")] == "6"
    assert got[("non_gbv", "total")] == "1"
    assert got[("survivor_sex_age", "female/26_40")] == "6"
    tri = _csv_rows(c.get(f"/statistics/export.csv?period=2026-03&site={world.ids['tripoli']}")
                    .get_data(as_text=True))
    assert tri[("core_type", "total")] == "4" and tri[("filter", "site")] == "Tripoli"


def test_withheld_cells_show_the_one_mark_everywhere(app: Flask, auth: Auth, world: World,
                                                     data: None) -> None:
    app.config["STATS_MIN_COUNT"] = 5
    c = auth.login("program_manager")
    page = c.get("/statistics/?period=2026-03&site=all").get_data(as_text=True)
    assert "× withheld: fewer than 5 (&lt;5)" in page
    # rape: withheld, or 0 when there was none all year at any site (a zero under a zero)
    assert re.search(r'data-cell="rape"( class="stats-withheld">×|>0)<', page)
    assert re.search(r'id="stats-non-gbv">[^<]*<strong>×</strong>', page)   # one: withheld
    tripoli = c.get(f"/statistics/?period=2026-03&site={world.ids['tripoli']}")
    assert 'class="chart-withheld"' in tripoli.get_data(as_text=True)   # four incidents there
    body = c.get("/statistics/export.csv?period=2026-03&site=all").get_data(as_text=True)
    rows = _csv_rows(body)
    assert rows[("core_type", "rape")] in ("×", "0") and rows[("non_gbv", "total")] == "×"
    assert rows[("notes", "legend")].startswith("× withheld")
    assert CAVEAT in rows[("notes", "caveat")]
    strings, sheet = _xlsx_text(c.get("/statistics/export.xlsx?period=2026-03&site=all").data)
    assert "×" in strings and CAVEAT in strings and "× withheld: fewer than 5" in strings


def test_the_export_is_audited_with_its_filter(app: Flask, auth: Auth, world: World,
                                              data: None) -> None:
    c = auth.login("supervisor")
    tri = world.ids["tripoli"]
    assert c.get(f"/statistics/export.csv?period=2026-03&site={tri}").status_code == 200
    resp = c.get(f"/statistics/export.xlsx?period=2026&site={tri}")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    assert "attachment" in resp.headers["Content-Disposition"]
    done = events(app, "stats.export")
    assert [(e.object_type, e.object_id, e.reason) for e in done] == [
        ("site", tri, f"period:2026-03;site:{tri};format:csv"),
        ("site", tri, f"period:2026;site:{tri};format:xlsx")]


def test_text_cells_are_neutralised(app: Flask, auth: Auth, world: World, data: None) -> None:
    from app.db import db
    from app.directory.models import Site

    with app.app_context():
        site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        assert site is not None
        site.name = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    c = auth.login("program_manager")
    query = f"?period=2026-03&site={world.ids['tripoli']}"
    rows = _csv_rows(c.get("/statistics/export.csv" + query).get_data(as_text=True))
    assert rows[("filter", "site")] == "'=HYPERLINK(\"http://evil\")"
    strings, sheet = _xlsx_text(c.get("/statistics/export.xlsx" + query).data)
    assert "'=HYPERLINK(\"http://evil\")" in strings
    assert "<f>" not in sheet  # no formula cell at all


def test_the_workbook_writes_numbers_as_numbers_and_text_as_text() -> None:
    body = workbook([("A/B:C", [("x", 3, None, "=1+1", "-2", 1.5)])])
    strings, sheet = _xlsx_text(body)
    assert "<f>" not in sheet and "'=1+1" in strings and "'-2" in strings
    assert '<v>3</v>' in sheet and '<v>1.5</v>' in sheet
    assert sheet_name("A/B:C" * 10, set()) == ("A B C" * 10)[:31]
    assert sheet_name("x", {"x"}) == "x (2)"


def test_no_statistic_opens_a_sealed_value(app: Flask, auth: Auth, world: World, data: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every statistics page, chart and export, for every kind of period and site, with every
    decryption in app/crypto made to raise."""
    from app.crypto import envelope, fields, sealed

    c = auth.login("program_manager")  # the login itself opens the account's second factor

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("a statistic decrypted a sealed value")

    for module, name in ((sealed, "open_value"), (sealed, "open_bytes"), (fields, "open_value"),
                         (envelope, "unwrap"), (envelope, "_open")):
        monkeypatch.setattr(module, name, boom)
    app.config["STATS_MIN_COUNT"] = 3
    for period in ("2026-03", "2026-Q1", "2026"):
        for site in ("all", world.ids["tripoli"], world.ids["benghazi"]):
            query = {"period": period, "site": site}
            page = c.get("/statistics/", query_string=query)
            assert page.status_code == 200 and 'id="stats-core_type"' in page.get_data(as_text=True)
            assert c.get("/statistics/export.csv", query_string=query).status_code == 200
            assert c.get("/statistics/export.xlsx", query_string=query).status_code == 200


def test_the_charts_mirror_for_right_to_left(app: Flask, world: World, data: None) -> None:
    with app.test_request_context():
        app.config["STATS_MIN_COUNT"] = 5
        user = _manager(world)
        f = publication.resolve(user, "2026-03", "all", action=_view_action())
        report = publication.answer(user, f)
        table = next(t for t in report.tables if t.code == "core_type")
        ltr, rtl = charts.bar_chart(table, rtl=False), charts.bar_chart(table, rtl=True)
        assert ltr is not None and rtl is not None
        for a, b in zip(ltr.bars, rtl.bars, strict=True):
            assert a.withheld == b.withheld
            assert round(a.x + a.width + b.x, 1) == charts.WIDTH  # mirrored
            if a.withheld:
                assert a.width == charts.WITHHELD_W  # one width: its length tells nothing
        assert ltr.label_anchor == "end" and rtl.label_anchor == "start"


def test_arabic_pages_show_the_tables(app: Flask, auth: Auth, data: None) -> None:
    app.config["STATS_MIN_COUNT"] = 0
    c = auth.login("program_manager")
    c.post("/language", data={"lang": "ar", "csrf_token": auth.csrf(c)})
    page = c.get("/statistics/?period=2026-03&site=all").get_data(as_text=True)
    assert 'dir="rtl"' in page and 'id="stats-core_type"' in page
    assert '<th scope="row">Rape</th>' not in page  # the categories' labels are translated
    assert 'data-row="rape"' in page


def _manager(world: World):  # noqa: ANN202 - the account, loaded in the request's session
    from app.auth.models import User
    from app.db import db

    return db.session.get(User, uuid.UUID(world.users["program_manager"]))


def _view_action():  # noqa: ANN202
    from app.audit.actions import Action

    return Action.STATS_VIEW
