"""The supervisor's home page (issue 16, item 2): team caseload by status and risk per
caseworker, approvals waiting (closures, plans), overdue items per caseworker, high-risk cases
without a safety plan, active break-glass grants on the team's cases, urgent referrals still
unanswered. Each panel against a hand-counted fixture; another site's and another
organisation's cases never counted; no survivor data on the page; the page audited.

The supervisor works at Tripoli. The world already holds two open Tripoli cases (the
caseworker's ``case_own`` and caseworker2's ``case_other``, risk unknown, each with a normal
and a high referral at most) and one at Benghazi. The clock is frozen at 2026-11-24 10:00 UTC.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest

from app.clock import utcnow
from app.db import db
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.home import HOME_CANARY, Fixture, numbers, panel, panel_keys

SUPERVISOR_PANELS = ["urgent-referrals", "approvals", "no-safety-plan", "team-caseload",
                     "break-glass"]
STATUS_COLUMNS = ("open", "assessment", "action_plan", "implementation", "follow_up",
                  "closure_requested")


def build(app, world):
    """The Tripoli team's fixture (hand counts in each test) and busy cases out of scope."""
    with app.app_context():
        f = Fixture(world)
        now = utcnow()
        f.case("t1", "caseworker", status="assessment", risk="high")           # no assessment
        f.case("t2", "caseworker", status="implementation", risk="high")
        f.assessment("t2", safety_plan="SafetyPlanCanary-3Z")                   # has a plan
        f.case("t3", "caseworker2", status="follow_up", risk="high")
        f.assessment("t3", safety_plan=None)                                    # plan empty
        f.case("t4", "caseworker2", status="closed", risk="high")               # closed
        f.goal("t4", date(2026, 11, 1))
        f.case("t5", "caseworker", status="closure_requested")
        f.case("t6", "caseworker2", status="action_plan", risk="medium")
        f.goal("t6", date(2026, 11, 1))                                         # plan + overdue
        f.case("t7", None, status="open", risk="high")                          # unassigned
        f.case("t8", "caseworker", status="implementation")
        f.follow_up("t8", date(2026, 11, 20))
        f.follow_up("t8", date(2026, 11, 23))
        f.follow_up("t8", date(2026, 11, 24))                                   # due today
        f.follow_up("t8", date(2026, 11, 2), done_on=date(2026, 11, 2))
        # Urgent referrals: two waiting (one late), one answered, a high one not urgent.
        f.referral("t1", respond_by=now - timedelta(hours=1), urgency="urgent")
        f.referral("t3", respond_by=now + timedelta(hours=3), clinical=True)
        f.referral("t8", respond_by=now + timedelta(hours=3), urgency="urgent",
                   status="accepted")
        f.referral("t8", respond_by=now + timedelta(hours=20), urgency="high")
        # Break-glass: a Benghazi supervisor's live grant on t1, an expired one on t3.
        other = f.supervisor("supervisor_b", "Benghazi Supervisor", "benghazi")
        f.grant("t1", other, now + timedelta(minutes=30))
        f.grant("t3", other, now - timedelta(minutes=1))
        # Never the Tripoli supervisor's (the first also holds their own live grant).
        f.busy("s_far", "caseworker_b", site="benghazi")
        f.busy("s_org", None, site="partner_site", org="other_org")
        db.session.commit()
        return f


@pytest.fixture
def home(app, auth, world):
    build(app, world)
    return auth.login("supervisor")


def _page(c):
    r = c.get("/")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _caseload(html):
    """The caseload table as {caseworker cell: [counts by status..., total, high, overdue]}."""
    part = panel(html, "team-caseload")
    assert part is not None
    rows = {}
    for row in re.findall(r"<tr data-worker=.*?</tr>", part, re.S):
        name = re.sub(r"<[^>]+>", "", re.search(r"<th scope=\"row\">(.*?)</th>", row).group(1))
        rows[name] = [int(n) for n in re.findall(r"<td>([\d,]+)</td>", row)]
    return rows


def test_the_supervisor_sees_the_team_panels_urgent_first(home):
    keys = panel_keys(_page(home))
    assert [k for k in keys if k in SUPERVISOR_PANELS] == SUPERVISOR_PANELS
    for key in ("clinical-windows", "due-work", "late-referrals", "no-contact"):
        assert key not in keys


def test_team_caseload_by_status_and_risk_per_caseworker(home):
    rows = _caseload(_page(home))
    #                              open assess plan impl follow closure total high overdue
    assert rows["Test caseworker"] == [1, 1, 0, 2, 0, 1, 5, 2, 2]    # case_own t1 t2 t8 t5
    assert rows["Test caseworker2"] == [1, 0, 1, 0, 1, 0, 3, 1, 1]   # case_other t6 t3
    assert rows["Unassigned"] == [1, 0, 0, 0, 0, 0, 1, 1, 0]                # t7
    # Every active caseworker of the supervisor's site has a row, even with nothing.
    assert rows["Test newbie"] == [0] * 9
    # Not Benghazi's caseworker, nor the deactivated one.
    assert "Test caseworker_b" not in rows and "Test gone" not in rows
    assert len(STATUS_COLUMNS) + 3 == len(rows["Test caseworker"])


def test_approvals_waiting(home):
    part = panel(_page(home), "approvals")
    assert part is not None
    closures, plans = part.split("Action plans")
    assert numbers(closures) == ["HOME-t5"]
    assert 'href="/cases/?status=closure_requested"' in closures and "1 case" in closures
    assert numbers(plans) == ["HOME-t6"]                  # not t4 (closed)
    assert 'href="/cases/?need=plan_waiting"' in plans


def test_high_risk_cases_without_a_safety_plan(home):
    part = panel(_page(home), "no-safety-plan")
    assert part is not None
    # t1 (no assessment), t3 (assessment, plan empty), t7 (unassigned); not t2 (a plan), t4.
    assert sorted(numbers(part)) == ["HOME-t1", "HOME-t3", "HOME-t7"]
    assert "3 cases" in part


def test_the_safety_plan_list_agrees_with_its_count(home):
    page = home.get("/cases/?need=no_safety_plan").get_data(as_text=True)
    assert "3 cases" in page
    assert sorted(numbers(page)) == ["HOME-t1", "HOME-t3", "HOME-t7"]


def test_active_break_glass_grants_on_the_teams_cases(home):
    part = panel(_page(home), "break-glass")
    assert part is not None
    # The live grant on t1 (who holds it, why, until when); not the expired one on t3, nor
    # the supervisor's own grant on a Benghazi case.
    assert numbers(part) == ["HOME-t1"]
    assert "Benghazi Supervisor" in part and "Urgent medical care is needed" in part
    assert "(Africa/Tripoli)" in part


def test_urgent_referrals_not_answered(home):
    part = panel(_page(home), "urgent-referrals")
    assert part is not None
    # Soonest deadline first: t1 (late), t3 (urgent clinical); not the accepted one nor the
    # high one on t8, nor the world's normal and high referrals.
    assert numbers(part) == ["HOME-t1", "HOME-t3"]
    assert "2 referrals" in part and part.count(">Late</span>") == 1
    assert "urgent clinical referral" in part.split("HOME-t3")[1]


def test_other_sites_and_organisations_are_never_counted(home):
    html = _page(home)
    assert not [n for n in numbers(html) if n.startswith("HOME-s_")]
    rows = _caseload(html)
    assert sum(r[6] for r in rows.values()) == 9   # 5 + 3 + 1: the hand count above


def test_no_survivor_data_reaches_the_home_page(home):
    html = _page(home)
    for canary in (HOME_CANARY, "SafetyPlanCanary-3Z", *CANARY.values()):
        assert canary not in html


def test_the_home_page_is_audited(app, world, home):
    me = uuid.UUID(world.users["supervisor"])
    before = len(events(app, "home.view", actor_id=me))
    _page(home)
    assert len(events(app, "home.view", actor_id=me)) == before + 1


def test_empty_panels_say_so(auth):
    html = _page(auth.login("supervisor"))
    for key, line in (("urgent-referrals", "No urgent referral is waiting for an answer."),
                      ("no-safety-plan", "Every high-risk case has a safety plan."),
                      ("break-glass", "Nobody has break-glass access to your cases.")):
        part = panel(html, key)
        assert part is not None and line in part, key
    approvals = panel(html, "approvals")
    assert approvals is not None
    assert "No closure request is waiting." in approvals
    assert "No plan is waiting for approval." in approvals
