"""The service provider's home panel (new referrals to the service, urgent first, with their
answer deadlines) and the count beside "Referrals received" in the navigation.

Hand-counted fixture (``_fixture``), for the world's MHPSS service:
  counted   the world's referral to MHPSS (normal, sent 24 Nov 10:00 UTC, answer due in 72 h)
            an urgent referral to MHPSS (sent an hour later, answer due in 4 h): listed first
  not       a referral to MHPSS accepted; one declined; one revoked (all answered or gone)
  not       a referral to the organisation's health service (another service)
  not       the world's referral to the partner organisation's legal aid (another organisation)
so the provider's number is 2; the partner's legal aid, with an account of its own, counts 1.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask

from app.auth.models import User
from app.cases.models import Case
from app.db import db
from app.referrals import queries
from app.referrals import service as referrals
from app.referrals.models import Referral, RevokeReason
from app.referrals.provider_home import provider_panels
from app.ui import NAV
from tests.helpers.factories import CANARY, World
from tests.helpers.notifications import account, nav_count
from tests.helpers.statistics import refer, survivor, user

PANEL = re.compile(r'<section class="panel home-panel" id="home-provider-referrals".*?</section>',
                   re.S)


def _send(world: World, urgency: referrals.Urgency = referrals.Urgency.NORMAL) -> Referral:
    case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
    assert case is not None
    return referrals.create(user(world, "caseworker"), case, referrals.NewReferral(
        service_id=uuid.UUID(world.ids["mhpss"]), urgency=urgency))


def _fixture(app: Flask, world: World, frozen) -> dict[str, str]:
    """The referrals of the module's docstring; returns the ids of the urgent one and of the
    one to the health service."""
    sp = "service_provider"
    with app.test_request_context():
        frozen.advance(hours=1)
        urgent = _send(world, referrals.Urgency.URGENT)
        accepted, declined, revoked = (_send(world, referrals.Urgency.HIGH), _send(world),
                                       _send(world))
        referrals.answer(user(world, sp), accepted, referrals.ReferralAnswer(
            op=referrals.AnswerOp.ACCEPT, version=accepted.version))
        referrals.answer(user(world, sp), declined, referrals.ReferralAnswer(
            op=referrals.AnswerOp.DECLINE, note="Full this month", version=declined.version))
        referrals.revoke(user(world, "caseworker"), revoked, RevokeReason.SENT_IN_ERROR)
        health = refer(world, survivor(world), "health_medical",
                       at=datetime(2026, 11, 24, 9, tzinfo=UTC))
        return {"urgent": str(urgent.id), "health": str(health.id),
                "answered": ",".join(str(r.id) for r in (accepted, declined, revoked))}


def _panel(html: str) -> str:
    found = PANEL.search(html)
    assert found is not None, "no provider panel"
    return found.group(0)


def test_the_panel_lists_the_new_referrals_urgent_first_with_deadlines(app: Flask, auth,
                                                                       world: World, frozen):
    ids = _fixture(app, world, frozen)
    p = auth.login("service_provider")
    html = p.get("/").get_data(as_text=True)
    panel = _panel(html)
    links = re.findall(r'href="/referrals/([0-9a-f-]{36})"', panel)
    assert links == [ids["urgent"], world.ids["ref_mhpss"]]
    assert "2 referrals wait for your service" in panel
    assert panel.count("Answer due by") == 2 and panel.count("(Africa/Tripoli)") >= 2
    assert panel.count("notification-urgent") == 1 and "Answer overdue" not in panel
    for gone in [ids["health"], world.ids["ref_legal"], *ids["answered"].split(",")]:
        assert gone not in html
    assert world.case_numbers["case_own"] not in panel  # providers name referrals otherwise
    assert [c for c in CANARY.values() if c in html] == []
    assert nav_count(html) == 2


def test_an_answer_past_its_deadline_is_marked_overdue(app: Flask, auth, world: World, frozen):
    _fixture(app, world, frozen)
    frozen.advance(hours=5)  # the urgent referral had 4 hours
    p = auth.login("service_provider")
    panel = _panel(p.get("/").get_data(as_text=True))
    assert panel.count("Answer overdue") == 1


def test_the_count_falls_as_the_service_answers(app: Flask, auth, world: World, frozen):
    ids = _fixture(app, world, frozen)
    p = auth.login("service_provider")
    assert nav_count(p.get("/notifications/").get_data(as_text=True)) == 2
    with app.test_request_context():
        urgent = db.session.get(Referral, uuid.UUID(ids["urgent"]))
        referrals.answer(user(world, "service_provider"), urgent, referrals.ReferralAnswer(
            op=referrals.AnswerOp.ACCEPT, version=urgent.version))
    html = p.get("/").get_data(as_text=True)
    assert nav_count(html) == 1
    assert re.findall(r'href="/referrals/([0-9a-f-]{36})"', _panel(html)) == \
        [world.ids["ref_mhpss"]]
    with app.test_request_context():
        ref = db.session.get(Referral, uuid.UUID(world.ids["ref_mhpss"]))
        referrals.answer(user(world, "service_provider"), ref, referrals.ReferralAnswer(
            op=referrals.AnswerOp.DECLINE, note="No capacity", version=ref.version))
    html = p.get("/").get_data(as_text=True)
    assert nav_count(html) == 0 and 'data-count-for="referrals.inbox"' not in html
    assert "No referral waits for your service" in _panel(html)


def test_another_service_counts_only_its_own(app: Flask, world: World, frozen):
    _fixture(app, world, frozen)
    with app.test_request_context():
        legal = db.session.get(User, account(world, "legal_aid", "service_provider",
                                             service="legal", org="other_org"))
        mhpss = user(world, "service_provider")
        assert queries.new_count(legal) == 1 and queries.new_count(mhpss) == 2
        [panel] = provider_panels(legal)
        assert [str(r.id) for r in panel.context["rows"]] == [world.ids["ref_legal"]]
        assert panel.context["total"] == 1
        # an account of no service, or a role that receives none, gets no panel and no number
        assert provider_panels(user(world, "caseworker")) == []
        assert queries.new_count(user(world, "caseworker")) == 0
        lost = db.session.get(User, account(world, "between_jobs", "service_provider"))
        assert provider_panels(lost) == [] and queries.new_count(lost) == 0


def test_other_roles_see_no_panel_and_no_count(app: Flask, auth, world: World, frozen):
    _fixture(app, world, frozen)
    for who in ("caseworker", "supervisor", "admin"):
        html = auth.login(who).get("/").get_data(as_text=True)
        assert 'id="home-provider-referrals"' not in html and nav_count(html) == 0, who


def test_the_nav_count_is_one_indexed_count_per_request(app: Flask, auth, world: World, frozen):
    _fixture(app, world, frozen)
    p = auth.login("service_provider")
    statements: list[str] = []

    def watch(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(" ".join(statement.split()).lower())

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", watch)
        try:
            html = p.get("/notifications/").get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert nav_count(html) == 2
    counts = [s for s in statements if "from referrals" in s and "count(" in s]
    assert len(counts) == 1 and "referrals.service_id =" in counts[0]


def test_every_nav_count_names_a_function():
    from importlib import import_module

    named = [item.count for item in NAV if item.count]
    assert named, "the referrals' count is named"
    for name in named:
        module, _, function = name.partition(":")
        assert callable(getattr(import_module(module), function)), name
