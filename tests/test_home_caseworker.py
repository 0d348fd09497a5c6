"""The caseworker's home page (issue 16, item 1): urgent clinical windows with hours left,
follow-ups due today and overdue, referrals past their answer deadline, closures sent back with
the request's reason, plans awaiting approval, cases with no contact for N days
(``AMANA_NO_CONTACT_DAYS``). Each panel against a hand-counted fixture; other caseworkers',
sites' and organisations' cases never counted; no survivor data on the page; the page audited.

The clock is frozen at 2026-11-24 10:00 UTC, 12:00 in Tripoli (the world's zone): today is the
24th, and with 14 days a case is "quiet" when its last contact was on the 10th or before.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.cases.home_queries import HOME_LIST
from app.clock import utcnow
from app.config import ConfigError, build_config
from app.db import db
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.home import HOME_CANARY, Fixture, numbers, panel, panel_keys

CASEWORKER_PANELS = ["clinical-windows", "due-work", "late-referrals", "sent-back",
                     "plans-waiting", "no-contact"]
OCT_1 = date(2026, 10, 1)


def build(app, world):
    """The caseworker's fixture (counts in each test), and three busy cases they must never
    see: a colleague's at their site, one at another site, one of another organisation still
    naming them as its caseworker (an assignment left behind)."""
    with app.app_context():
        f = Fixture(world)
        now = utcnow()
        # Clinical windows: two open (one referred, one not), one closed, one in a closed case.
        f.case("cw1", "caseworker")
        f.rape("cw1", date(2026, 11, 23), at=time(20, 0))    # ends 26th 18:00 UTC
        f.referral("cw1", respond_by=now + timedelta(hours=4), urgency="urgent", clinical=True)
        f.case("cw2", "caseworker")
        f.rape("cw2", date(2026, 11, 22), at=time(14, 0))    # ends 25th 12:00 UTC
        f.case("cw3", "caseworker")
        f.rape("cw3", date(2026, 11, 18), at=time(14, 0))    # closed on the 21st
        # Follow-ups and goals.
        f.case("cw4", "caseworker")
        f.follow_up("cw4", date(2026, 11, 24))               # due today
        f.follow_up("cw4", date(2026, 11, 20))               # overdue
        f.goal("cw4", date(2026, 11, 1))                     # overdue
        f.goal("cw4", date(2026, 11, 1), status="done")      # done
        f.goal("cw4", date(2026, 11, 24))                    # due today: not overdue yet
        f.case("cw5", "caseworker")
        f.follow_up("cw5", date(2026, 11, 10))               # overdue
        f.follow_up("cw5", date(2026, 11, 15), done_on=date(2026, 11, 15))
        f.follow_up("cw5", date(2026, 11, 25))               # tomorrow
        # Referrals: two late, one answered, one not due yet.
        f.case("cw6", "caseworker")
        f.referral("cw6", respond_by=datetime(2026, 11, 23, 10, tzinfo=UTC))
        f.referral("cw6", respond_by=datetime(2026, 11, 22, 10, tzinfo=UTC), status="accepted")
        f.case("cw7", "caseworker")
        f.referral("cw7", respond_by=now - timedelta(hours=1), urgency="high")
        f.referral("cw7", respond_by=now + timedelta(days=1))
        # Closures: one sent back; one sent back then asked again; one sent back, then closed
        # and reopened.
        f.case("cw8", "caseworker", status="follow_up")
        f.step("cw8", "closure_requested", datetime(2026, 11, 20, 9, tzinfo=UTC),
               reason="needs_met")
        f.step("cw8", "follow_up", datetime(2026, 11, 21, 9, tzinfo=UTC), reason="sent_back",
               from_status="closure_requested", by="supervisor")
        f.case("cw9", "caseworker", status="closure_requested")
        f.step("cw9", "closure_requested", datetime(2026, 11, 9, 9, tzinfo=UTC),
               reason="relocated")
        f.step("cw9", "follow_up", datetime(2026, 11, 10, 9, tzinfo=UTC), reason="sent_back",
               from_status="closure_requested", by="supervisor")
        f.step("cw9", "closure_requested", datetime(2026, 11, 12, 9, tzinfo=UTC),
               reason="relocated")
        f.case("cw10", "caseworker", status="assessment")
        f.step("cw10", "follow_up", datetime(2026, 11, 5, 9, tzinfo=UTC), reason="sent_back",
               from_status="closure_requested", by="supervisor")
        f.step("cw10", "closed", datetime(2026, 11, 8, 9, tzinfo=UTC), reason="needs_met",
               from_status="closure_requested", by="supervisor")
        f.step("cw10", "assessment", datetime(2026, 11, 9, 9, tzinfo=UTC), reason="new_needs",
               from_status="closed")
        # Plans: cw4's goals wait for approval; cw11's are approved; cw12 is closed.
        f.case("cw11", "caseworker", plan_approved=True)
        f.goal("cw11", date(2026, 12, 1))
        f.case("cw12", "caseworker", status="closed", opened_on=OCT_1)
        f.goal("cw12", date(2026, 11, 1))
        f.follow_up("cw12", date(2026, 11, 1))
        f.rape("cw12", date(2026, 11, 23), at=time(20, 0))
        # Contact: what counts (intake, a follow-up done, an incident reported, a consent) and
        # what does not (a note).
        f.case("q1", "caseworker", opened_on=OCT_1)                       # quiet since Oct 1
        f.case("q2", "caseworker", opened_on=OCT_1)
        f.follow_up("q2", date(2026, 11, 5), done_on=date(2026, 11, 5))   # quiet since Nov 5
        f.case("q3", "caseworker", opened_on=OCT_1)
        f.follow_up("q3", date(2026, 11, 11), done_on=date(2026, 11, 11))  # 13 days ago
        f.case("q4", "caseworker", opened_on=date(2026, 11, 10))          # exactly 14 days
        f.case("q5", "caseworker", opened_on=OCT_1)
        # 23:00 UTC on the 10th is 01:00 on the 11th in Tripoli: 13 days ago there.
        f.consent("q5", datetime(2026, 11, 10, 23, 0, tzinfo=UTC))
        f.case("q6", "caseworker", opened_on=OCT_1)
        f.incident("q6", date(2026, 11, 18), reported=date(2026, 11, 20))
        f.case("q7", "caseworker", opened_on=OCT_1)
        f.note("q7", datetime(2026, 11, 20, 9, tzinfo=UTC))               # a note is no contact
        f.case("q8", "caseworker", opened_on=OCT_1, status="closed")
        # Another case closed after cw8 was sent back: cw8's closure is still sent back.
        f.step("q8", "closed", datetime(2026, 11, 22, 9, tzinfo=UTC), reason="needs_met",
               from_status="closure_requested", by="supervisor")
        f.case("q9", "caseworker2", opened_on=OCT_1, secondary="caseworker")  # second worker
        # Never the caseworker's.
        f.busy("s_other", "caseworker2")
        f.busy("s_far", "caseworker_b", site="benghazi")
        f.busy("s_org", "caseworker", site="partner_site", org="other_org")
        db.session.commit()
        return f


@pytest.fixture
def home(app, auth, world):
    build(app, world)
    c = auth.login("caseworker")
    return c


def _page(c):
    r = c.get("/")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_the_caseworker_sees_their_panels_urgent_first(home):
    html = _page(home)
    keys = panel_keys(html)
    assert [k for k in keys if k in CASEWORKER_PANELS] == CASEWORKER_PANELS
    for key in ("approvals", "team-caseload", "no-safety-plan", "break-glass",
                "urgent-referrals"):
        assert key not in keys


def test_clinical_windows_show_hours_left_and_the_referral(home, frozen):
    part = panel(_page(home), "clinical-windows")
    assert part is not None
    # Soonest first: cw2 (25th 12:00 UTC) before cw1 (26th 18:00 UTC); cw3's window closed,
    # cw12 is closed, s_other is a colleague's.
    assert numbers(part) == ["HOME-cw2", "HOME-cw1"]
    left = {h: int((datetime(2026, 11, d, h, tzinfo=UTC) - frozen.now).total_seconds() // 3600)
            for d, h in ((25, 12), (26, 18))}
    assert f"{left[12]} hours left" in part and f"{left[18]} hours left" in part
    cw2, cw1 = part.split("HOME-cw1")
    assert "refer for clinical care now" in cw2
    assert "clinical referral sent: awaiting answer" in cw1
    assert "(Africa/Tripoli)" in part


def test_follow_ups_due_today_and_overdue(home):
    part = panel(_page(home), "due-work")
    assert part is not None
    assert ("Follow-ups due today: 1. Overdue follow-ups: 2. Overdue goals: 1." in part)
    # Oldest first: cw4's goal (Nov 1), cw5's visit (Nov 10), cw4's visits (Nov 20, Nov 24).
    assert numbers(part) == ["HOME-cw4", "HOME-cw5", "HOME-cw4", "HOME-cw4"]
    assert part.count("Overdue</span>") == 3
    assert 'href="/cases/tasks"' in part


def test_referrals_past_their_deadline(home):
    part = panel(_page(home), "late-referrals")
    assert part is not None
    assert numbers(part) == ["HOME-cw6", "HOME-cw7"]
    assert part.count("no answer from") == 2


def test_closures_sent_back_with_the_requests_reason(home):
    part = panel(_page(home), "sent-back")
    assert part is not None
    assert numbers(part) == ["HOME-cw8"]
    assert "1 case" in part and "Needs met, goals achieved" in part
    assert 'href="/cases/?need=sent_back"' in part


def test_plans_awaiting_approval(home):
    part = panel(_page(home), "plans-waiting")
    assert part is not None
    assert numbers(part) == ["HOME-cw4"]
    assert 'href="/cases/?need=plan_waiting"' in part


def test_no_contact_counts_what_only_happens_with_the_survivor(home):
    part = panel(_page(home), "no-contact")
    assert part is not None
    # q1 (Oct 1), q2 (Nov 5), q4 (Nov 10, 14 days), q7 (a note is no contact), q9 (second
    # worker); not q3 (13 days), q5 (consent on the 11th in Tripoli), q6 (incident reported),
    # q8 (closed), nor cases opened today.
    assert sorted(numbers(part)) == ["HOME-q1", "HOME-q2", "HOME-q4", "HOME-q7", "HOME-q9"]
    assert "5 cases" in part and "14 days or more" in part
    q2 = part.split("HOME-q2")[1].split("</li>")[0]
    assert "last contact Nov 5, 2026" in q2


def test_the_no_contact_days_are_configurable(app, home):
    app.config["NO_CONTACT_DAYS"] = 20    # quiet since Nov 4
    part = panel(_page(home), "no-contact")
    assert part is not None
    assert sorted(numbers(part)) == ["HOME-q1", "HOME-q7", "HOME-q9"]
    assert "20 days or more" in part
    app.config["NO_CONTACT_DAYS"] = 7     # quiet since Nov 17
    part = panel(_page(home), "no-contact")
    assert part is not None
    assert sorted(numbers(part)) == ["HOME-q1", "HOME-q2", "HOME-q3", "HOME-q4", "HOME-q5",
                                     "HOME-q7", "HOME-q9"]
    assert "7 days or more" in part


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("AMANA_NO_CONTACT_DAYS", raising=False)
    assert build_config("testing", tmp_path, keys=False)["NO_CONTACT_DAYS"] == 14
    monkeypatch.setenv("AMANA_NO_CONTACT_DAYS", "30")
    assert build_config("testing", tmp_path, keys=False)["NO_CONTACT_DAYS"] == 30
    monkeypatch.setenv("AMANA_NO_CONTACT_DAYS", "0")
    with pytest.raises(ConfigError):
        build_config("testing", tmp_path, keys=False)


def test_long_lists_are_cut_and_link_to_the_same_list(app, auth, world):
    with app.app_context():
        f = Fixture(world)
        for i in range(HOME_LIST + 2):
            f.case(f"many{i:02d}", "caseworker", opened_on=OCT_1 + timedelta(days=i))
        f.case("many_other", "caseworker2", opened_on=OCT_1)
        db.session.commit()
    c = auth.login("caseworker")
    part = panel(_page(c), "no-contact")
    assert part is not None
    assert numbers(part) == [f"HOME-many{i:02d}" for i in range(HOME_LIST)]   # oldest first
    assert "12 cases" in part and "and 2 more" in part
    listed = c.get("/cases/?need=no_contact")
    assert listed.status_code == 200
    page = listed.get_data(as_text=True)
    assert "12 cases" in page
    assert sorted(numbers(page)) == [f"HOME-many{i:02d}" for i in range(HOME_LIST + 2)]


def test_no_survivor_data_reaches_the_home_page(home):
    html = _page(home)
    for canary in (HOME_CANARY, *CANARY.values()):
        assert canary not in html


def test_other_caseworkers_sites_and_organisations_are_never_counted(home):
    html = _page(home)
    assert not [n for n in numbers(html) if n.startswith("HOME-s_")]
    # The counts agree with the hand count above, with the busy cases left out.
    assert "Follow-ups due today: 1. Overdue follow-ups: 2. Overdue goals: 1." in html


def test_the_home_page_is_audited(app, world, home):
    me = uuid.UUID(world.users["caseworker"])
    before = len(events(app, "home.view", actor_id=me))
    _page(home)
    assert len(events(app, "home.view", actor_id=me)) == before + 1


def test_empty_panels_say_so(auth):
    c = auth.login("caseworker")
    html = _page(c)
    for key, line in (("clinical-windows", "No clinical window is open."),
                      ("due-work", "Nothing due today or overdue."),
                      ("late-referrals", "No referral waiting too long."),
                      ("sent-back", "No closure was sent back."),
                      ("plans-waiting", "No plan is waiting for approval."),
                      ("no-contact", "Every case had contact recently.")):
        part = panel(html, key)
        assert part is not None and line in part, key


def test_roles_without_cases_get_no_case_panels(auth):
    for username in ("service_provider", "auditor", "admin"):
        keys = panel_keys(_page(auth.login(username)))
        assert not set(keys) & set(CASEWORKER_PANELS), username
