"""All times are shown in the organisation's time zone (issue 14, item 5), and every "today" is
the organisation's today: the auditor's pages show times in the auditor's organisation's zone
with the zone named, and their time filters are typed in that zone; a case opened late in the
UTC evening is opened on the next day in Tripoli (and numbered in that day's year); the safe
spaces' "today" (no session in the future, the default date and month) is Tripoli's.

The clock is frozen and moved to 23:30 UTC, which is 01:30 the next day in Africa/Tripoli
(UTC+2 all year), so the UTC date and the local date differ."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, date, datetime

from flask_babel import force_locale, format_number
from sqlalchemy import select

from app.audit.actions import Outcome
from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import service
from app.cases.models import Case
from app.db import db
from app.directory.models import Organisation, Site
from tests.helpers.audit import add, seqs_on
from tests.helpers.safe_space import COORDINATOR, insert_session, post_session, session_count

ZONE = "Africa/Tripoli"


def _zone_for(app, world, *names: str, zone: str = ZONE) -> None:
    """Give the organisations of the named accounts the time zone ``zone``."""
    with app.app_context():
        for name in names:
            user = db.session.get(User, uuid.UUID(world.users[name]))
            db.session.get(Organisation, user.organisation_id).time_zone = zone
        db.session.commit()


def _to(frozen, moment: datetime) -> None:
    frozen.advance(seconds=(moment - frozen.now).total_seconds())


# --- The auditor's pages ------------------------------------------------------------------------

def test_event_times_are_shown_in_the_auditors_zone_with_the_zone_named(app, auth, world, frozen):
    _zone_for(app, world, "auditor")
    _to(frozen, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    seq = add(app, world, "access.denied", outcome=Outcome.DENIED, reason="role")
    page = auth.login("auditor").get("/audit/events").get_data(as_text=True)
    assert seq in seqs_on(page)
    assert f"Time ({ZONE})" in page and "Time (UTC)" not in page
    cell = re.search(rf'<td class="audit-seq">{seq}</td>\s*<td class="audit-time">([^<]*)</td>',
                     page)
    assert cell, "the event's row"
    # 23:30 UTC on the 24th is 01:30 on the 25th in Tripoli.
    assert "Nov 25, 2026" in cell.group(1) and "1:30:00" in cell.group(1)
    assert "Nov 24" not in cell.group(1)


def test_time_filters_are_typed_in_the_auditors_zone_and_say_so(app, auth, world, frozen):
    _zone_for(app, world, "auditor")
    _to(frozen, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))  # 01:30 on the 25th in Tripoli
    seq = add(app, world, "access.denied", outcome=Outcome.DENIED)
    c = auth.login("auditor")
    page = c.get("/audit/events").get_data(as_text=True)
    assert f"From ({ZONE})" in page and f"Before ({ZONE})" in page
    assert "From (UTC)" not in page
    # From 00:00 on the 25th in Tripoli (22:00 UTC on the 24th): the event is in; in UTC it
    # would not have been (23:30 UTC on the 24th is before 00:00 UTC on the 25th).
    found = c.get("/audit/events", query_string={"since": "2026-11-25T00:00"})
    assert seq in seqs_on(found.get_data(as_text=True))
    # Before 01:00 on the 25th in Tripoli (23:00 UTC on the 24th): the event is out.
    gone = c.get("/audit/events", query_string={"since": "2026-11-24T00:00",
                                                "until": "2026-11-25T01:00"})
    assert seq not in seqs_on(gone.get_data(as_text=True))
    with app.app_context():
        reasons = [e.reason for e in db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "audit.search").order_by(AuditEvent.seq)).scalars()]
    # The trail records the filter in UTC.
    assert "since=2026-11-24T22:00+00:00" in reasons


def test_the_export_keeps_utc_for_machines(app, auth, world, frozen):
    _zone_for(app, world, "auditor")
    _to(frozen, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    add(app, world, "access.denied", outcome=Outcome.DENIED)
    c = auth.login("auditor")
    page = c.get("/audit/events").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    resp = c.post("/audit/export", data={"csrf_token": token.group(1)} if token else {})
    assert resp.status_code == 200
    assert "Z.csv" in resp.headers["Content-Disposition"]
    assert "2026-11-24T23:30" in resp.get_data(as_text=True)


def test_alerts_and_verify_show_the_auditors_zone(app, auth, world, frozen):
    _zone_for(app, world, "auditor", zone="Asia/Tokyo")  # UTC+9: 10:00 UTC is 19:00
    add(app, world, "break_glass.open", actor="supervisor", object_type="case",
        object_id=world.ids["case_other"], reason="imminent_risk;text=40")
    c = auth.login("auditor")
    alerts = c.get("/audit/alerts").get_data(as_text=True)
    assert "When (Asia/Tokyo)" in alerts and "When (UTC)" not in alerts
    assert "Nov 24, 2026, 7:00:00" in alerts  # 10:00 UTC shown as 7:00 PM in Tokyo
    page = c.get("/audit/verify").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    verify = c.post("/audit/verify", data={"csrf_token": token.group(1)} if token else {})
    text = verify.get_data(as_text=True)
    assert "Time (Asia/Tokyo)" in text and "Time (UTC)" not in text and " UTC." not in text


# --- Cases --------------------------------------------------------------------------------------

def test_a_case_opened_late_in_the_utc_evening_opens_on_the_local_day(app, world, frozen):
    # 23:30 UTC on 31 December is 01:30 on 1 January in Tripoli: the case opens on the 1st and
    # takes a number of the new year.
    _zone_for(app, world, "caseworker")
    _to(frozen, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        case = service.open_case(user, site, service.IdentityInput(
            full_name="Late Evening", sex="female", date_of_birth=date(2009, 1, 1)))
        saved = db.session.get(Case, case.id)
        assert saved.opened_on == date(2027, 1, 1)
        assert "-2027-" in saved.case_number
        # Her 18th birthday is today in Tripoli (still the 31st in UTC): an adult.
        assert saved.is_child is False


def test_a_case_opened_in_a_zone_behind_utc_keeps_the_local_day(app, world, frozen):
    _zone_for(app, world, "caseworker", zone="America/New_York")  # UTC-5 in winter
    _to(frozen, datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # 21:00 on the 24th there
    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        case = service.open_case(user, site, service.IdentityInput(full_name="Night", sex="female"))
        assert db.session.get(Case, case.id).opened_on == date(2026, 11, 24)


# --- Safe spaces --------------------------------------------------------------------------------

def test_a_session_held_today_in_tripoli_is_not_in_the_future(app, auth, world, frozen):
    _zone_for(app, world, COORDINATOR)
    _to(frozen, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))  # the 25th in Tripoli
    c = auth.login(COORDINATOR)
    form = c.get("/safe-spaces/sessions/new").get_data(as_text=True)
    assert 'value="2026-11-25"' in form  # today's date, Tripoli's
    before = session_count(app)
    resp = post_session(c, app, world, held_on="2026-11-25")
    assert resp.status_code == 302, "the 25th is today in Tripoli"
    assert session_count(app) == before + 1
    refused = post_session(c, app, world, held_on="2026-11-26")
    assert refused.status_code == 200 and "in the future" in refused.get_data(as_text=True)
    assert session_count(app) == before + 1


def test_the_summary_opens_on_tripolis_month(app, auth, world, frozen):
    # 23:30 UTC on 30 November is 01:30 on 1 December in Tripoli.
    _zone_for(app, world, COORDINATOR)
    _to(frozen, datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    insert_session(app, world, held_on=date(2026, 12, 1))
    page = auth.login(COORDINATOR).get(
        f"/safe-spaces/{world.ids['safe_space']}/summary").get_data(as_text=True)
    assert "December 2026" in page and 'data-figure="sessions">1<' in page


# --- Figures in the user's locale ---------------------------------------------------------------

def test_summary_figures_are_formatted_for_the_locale(app, auth, world):
    # 1,234 women 25-49 in one session: a four-digit figure in the totals, the band table and
    # the chart, formatted as the user's locale writes numbers.
    insert_session(app, world, held_on=date(2026, 11, 3), women_25_49=1234)
    with app.app_context():
        db.session.get(User, uuid.UUID(world.users[COORDINATOR])).language = "ar"
        db.session.commit()
    page = auth.login(COORDINATOR).get(
        f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11").get_data(as_text=True)
    assert 'dir="rtl"' in page
    with app.test_request_context(), force_locale("ar"):
        attendance = format_number(1234 + 3 + 2 + 1 + 4 + 0)
        band = format_number(1234)
    assert f'data-figure="attendance">{attendance}<' in html.unescape(page)
    assert f"<td>{band}</td>" in html.unescape(page)


def test_summary_figures_in_english_are_grouped(app, auth, world):
    insert_session(app, world, held_on=date(2026, 11, 3), women_25_49=1234)
    page = auth.login(COORDINATOR).get(
        f"/safe-spaces/{world.ids['safe_space']}/summary?month=2026-11").get_data(as_text=True)
    with app.test_request_context(), force_locale("en"):
        band = format_number(1234)
    assert band == "1,234" and f"<td>{band}</td>" in page


def test_a_follow_up_due_today_in_tripoli_is_overdue_before_closure(app, world, frozen):
    # At 23:30 UTC on the 24th it is the 25th in Tripoli: a visit due on the 25th and not done
    # is an open item to settle before closure, not a visit still planned.
    from app.cases import closure, records

    _zone_for(app, world, "caseworker")
    _to(frozen, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    with app.test_request_context(), force_locale("en"):
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        records.add_follow_up(user, case, records.FollowUpInput(due_on=date(2026, 11, 25)))
        items = [i for i in closure.open_items(case) if i.kind == "follow_up"]
        assert items and items[-1].urgent and "not recorded as done" in items[-1].text
