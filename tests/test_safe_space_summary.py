"""The monthly summary: figures that match a fixture computed by hand, a server-drawn chart
beside the table, a CSV export safe for spreadsheets, and every view and export audited."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.db import db
from app.directory.models import SafeSpace
from app.safe_space.models import ActivityType
from tests.helpers.safe_space import COORDINATOR, insert_session

# November 2026 at Camp WGSS, worked out by hand:
#   S1  1 Nov  life skills     girls 3, 2 | women 1, 4, 5, 0  = 15; new 5,  ret 10; dis 1; cm 2; ref 1
#   S2 10 Nov  life skills     girls 0, 0 | women 2, 3, 6, 2  = 13; new 3,  ret 10; dis 0; cm 0; ref 3
#   S3 20 Nov  psychosocial    girls 4, 6 | women 0, 0, 0, 0  = 10; new 10, ret 0;  dis 2; cm 1; ref 0
# Not counted: 31 Oct at Camp WGSS, and 15 Nov at Benghazi WGSS.
S1 = {"girls_10_14": 3, "girls_15_19": 2, "women_15_19": 1, "women_20_24": 4, "women_25_49": 5,
      "women_50_plus": 0, "new_participants": 5, "returning_participants": 10,
      "with_disabilities": 1, "case_management_requests": 2, "referrals_made": 1}
S2 = {"girls_10_14": 0, "girls_15_19": 0, "women_15_19": 2, "women_20_24": 3, "women_25_49": 6,
      "women_50_plus": 2, "new_participants": 3, "returning_participants": 10,
      "with_disabilities": 0, "case_management_requests": 0, "referrals_made": 3}
S3 = {"girls_10_14": 4, "girls_15_19": 6, "women_15_19": 0, "women_20_24": 0, "women_25_49": 0,
      "women_50_plus": 0, "new_participants": 10, "returning_participants": 0,
      "with_disabilities": 2, "case_management_requests": 1, "referrals_made": 0}
EXPECTED_TOTALS = {"sessions": "3", "attendance": "38", "new_participants": "18",
                   "returning_participants": "20", "with_disabilities": "3",
                   "case_management_requests": "3", "referrals_made": "4"}
# band: girls, women, total
EXPECTED_BANDS = {"10_14": ("7", "—", "7"), "15_19": ("8", "3", "11"), "20_24": ("—", "7", "7"),
                  "25_49": ("—", "11", "11"), "50_plus": ("—", "2", "2")}
EXPECTED_TYPES = {"life_skills": ("2", "28"), "psychosocial_support": ("1", "10")}


def _fixture(app, world) -> None:
    insert_session(app, world, held_on=date(2026, 11, 1), code="life_skills", **S1)
    insert_session(app, world, held_on=date(2026, 11, 10), code="life_skills", **S2)
    insert_session(app, world, held_on=date(2026, 11, 20), code="psychosocial_support", **S3)
    insert_session(app, world, held_on=date(2026, 10, 31), code="life_skills", **S1)
    insert_session(app, world, space="safe_space2", held_on=date(2026, 11, 15), **S2)


def _cells(html: str, attr: str, key: str) -> tuple[str, ...]:
    row = re.search(rf'data-{attr}="{key}">(.*?)</tr>', html, re.S)
    assert row, key
    return tuple(re.findall(r"<td>([^<]*)</td>", row.group(1)))


def _csv(body: bytes) -> dict[tuple[str, str], list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["section", "item", "label", "value"]
    return {(r[0], r[1]): r[2:] for r in rows[1:]}


def test_summary_matches_the_hand_computed_fixture(app, auth, world):
    _fixture(app, world)
    # The coordinator's own figures, all of them (a programme manager reads the protected
    # figures instead: tests/test_safe_space_figures.py).
    for role in (COORDINATOR,):
        html = auth.login(role).get(
            f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11").get_data(as_text=True)
        assert "November 2026" in html
        figures = dict(re.findall(r'data-figure="(\w+)">(\d+)<', html))
        assert figures == EXPECTED_TOTALS, role
        for band, expected in EXPECTED_BANDS.items():
            assert _cells(html, "band", band) == expected, band
        for code, expected in EXPECTED_TYPES.items():
            assert _cells(html, "type", code) == expected, code
        assert 'data-type="recreation"' not in html


def test_csv_export_has_the_same_figures_and_is_audited(app, auth, world):
    _fixture(app, world)
    c = auth.login(COORDINATOR)
    resp = c.get(f"/safe-spaces/{world.ids['safe_space']}/summary.csv?month=2026-11")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="wgss-summary-2026-11.csv"'
    assert resp.headers["Cache-Control"] == "no-store"
    rows = _csv(resp.data)
    assert rows[("safe_space", "name")][1] == "Camp WGSS"
    assert rows[("period", "month")][1] == "2026-11"
    for name, value in EXPECTED_TOTALS.items():
        assert rows[("totals", name)][1] == value, name
    assert rows[("totals", "duration_minutes")][1] == "180"  # 3 × 60 minutes
    assert rows[("attendance_by_age_band", "girls_15_19")] == ["Girls 15–17", "8"]
    assert rows[("attendance_by_age_band", "women_15_19")] == ["Women 18–19", "3"]
    assert rows[("attendance_by_age_band", "total_15_19")][1] == "11"
    assert rows[("sessions_by_activity_type", "life_skills")] == ["Life skills", "2"]
    assert rows[("attendance_by_activity_type", "psychosocial_support")][1] == "10"
    assert "Direct topic" not in resp.data.decode()
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "wgss_summary.export")).scalars().all()
    assert [(e.object_id, e.outcome, e.reason) for e in events] == [
        (world.ids["safe_space"], "allowed", "month:2026-11")]


def test_csv_neutralises_formula_cells(app, auth, world):
    insert_session(app, world, code="recreation")
    insert_session(app, world, code="awareness")
    insert_session(app, world, code="other")
    with app.app_context():
        db.session.get(SafeSpace, uuid.UUID(world.ids["safe_space"])).name = '=HYPERLINK("http://x")'
        for code, label in (("recreation", "+SUM(A1:A9)"), ("awareness", "@cmd|' /C calc'!A0"),
                            ("other", "-2+3")):
            kind = db.session.execute(select(ActivityType).where(ActivityType.code == code)).scalar_one()
            kind.label = label
        db.session.commit()
    c = auth.login(COORDINATOR)
    body = c.get(f"/safe-spaces/{world.ids['safe_space']}/summary.csv?month=2026-11").data
    rows = list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in cells
    assert "'+SUM(A1:A9)" in cells and "'@cmd|' /C calc'!A0" in cells and "'-2+3" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_chart_is_server_drawn_beside_the_table_without_inline_style(app, auth, world):
    _fixture(app, world)
    c = auth.login(COORDINATOR)
    resp = c.get(f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11")
    html = resp.get_data(as_text=True)
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
    assert 'class="wgss-summary"' in html and "<svg" in html and 'role="img"' in html
    assert "style=" not in html and "<style" not in html
    assert html.count("<script") == 1  # the session script of the layout, with its nonce
    # The widest band (15–19 and 25–49, 11 each) fills the bar area (400 - 96 - 40 = 264).
    bar = r'class="chart-{}" x="[\d.]+" y="(\d+)" width="([\d.]+)"'
    girls = [float(w) for y, w in re.findall(bar.format("girls"), html) if y != "4"]  # not legend
    women = [float(w) for y, w in re.findall(bar.format("women"), html) if y != "4"]
    assert round(sum(girls), 1) == round(15 * 264 / 11, 1)  # girls 7 + 8
    assert round(max(women), 1) == 264.0  # women 25–49: 11


def test_chart_is_mirrored_for_arabic(app, auth, world):
    _fixture(app, world)
    with app.app_context():
        db.session.get(User, uuid.UUID(world.users[COORDINATOR])).language = "ar"
        db.session.commit()
    html = auth.login(COORDINATOR).get(
        f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11").get_data(as_text=True)
    assert 'dir="rtl"' in html
    bars = re.findall(r'class="chart-girls" x="([\d.]+)" y="(?!4")\d+" width="([\d.]+)"', html)
    # Right to left: bars grow leftwards from the label column on the right.
    assert bars and all(abs(float(x) + float(w) - (400 - 96)) < 0.2 for x, w in bars)


def test_empty_and_invalid_months(app, auth, world):
    c = auth.login(COORDINATOR)
    space = world.ids["safe_space"]
    html = c.get(f"/safe-spaces/{space}/summary?month=2026-05").get_data(as_text=True)
    assert "No attendance to chart in this month." in html and "<svg" not in html
    assert 'data-figure="attendance">0<' in html
    resp = c.get(f"/safe-spaces/{space}/summary?month=2026-13")
    assert resp.status_code == 200 and "Not a valid" in resp.get_data(as_text=True)
    assert c.get(f"/safe-spaces/{space}/summary.csv?month=nonsense").status_code == 302
    with app.app_context():
        reasons = [e.reason for e in db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "wgss_summary.view")).scalars()]
    assert reasons == ["month:2026-05", "invalid_month"]


def test_default_month_is_the_current_one(app, auth, world):
    insert_session(app, world, held_on=date(2026, 11, 3))
    html = auth.login(COORDINATOR).get(
        f"/safe-spaces/{world.ids['safe_space']}/summary").get_data(as_text=True)
    assert "November 2026" in html and 'data-figure="sessions">1<' in html
    assert "month=2026-10" in html and "month=2026-12" not in html  # no link into the future
