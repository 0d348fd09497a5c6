"""The home page's frame: panels from every feature in order, the visit audited, and the bell.

The panels themselves are tested per role (tests/test_home_*.py); the notifications' rules in
tests/test_notifications.py.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from app.core import hooks
from app.core.home import Panel, gather
from app.db import db
from app.notifications import service
from app.notifications.kinds import Kind, Target
from tests.helpers.audit import events
from tests.helpers.factories import ROLES, World
from tests.helpers.login import Auth


def test_panels_come_in_page_order_whoever_contributes_them() -> None:
    late, urgent, also_urgent = (Panel("late", "L", "x.html", order=50),
                                 Panel("b-urgent", "U", "x.html", order=10),
                                 Panel("a-urgent", "A", "x.html", order=10))
    assert gather([[late], None, [], [urgent, also_urgent]]) == [also_urgent, urgent, late]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_a_home_page_and_the_visit_is_recorded(
        app: Flask, auth: Auth, role: str, world: World) -> None:
    c = auth.login(role)
    before = len(events(app, "home.view"))
    resp = c.get("/")
    assert resp.status_code == 200
    seen = events(app, "home.view")
    assert len(seen) == before + 1
    assert str(seen[-1].actor_id) == world.users[role]


def test_a_panel_a_feature_contributes_is_shown_with_its_partial(app: Flask, auth: Auth) -> None:
    def extra(user: object) -> list[Panel]:
        return [Panel("probe", "Probe panel", "notifications/index.html",
                      context={}, order=1)]

    c = auth.login("auditor")
    hooks.home_panels.subscribe(extra)
    try:
        html = c.get("/").get_data(as_text=True)
    finally:
        hooks.home_panels._subscribers.remove(extra)
    assert 'id="home-probe"' in html and "Probe panel" in html
    assert 'id="home-probe"' not in c.get("/").get_data(as_text=True)


def _tell(app: Flask, world: World, username: str, n: int) -> None:
    with app.app_context():
        for _ in range(n):
            service.notify([uuid.UUID(world.users[username])],
                           organisation_id=uuid.UUID(world.ids["org"]), kind=Kind.CASE_ASSIGNED,
                           target=Target.CASE, object_id=uuid.UUID(world.ids["case_own"]))
        db.session.commit()


def test_the_bell_counts_again_when_the_page_changes_notifications(app: Flask, auth: Auth,
                                                                 world: World) -> None:
    """The bell's number is read with the session (one statement less on every page), so a
    request that deletes or reads notifications must count again: the list page deletes
    those whose record the reader can no longer open, and its bell must not count them (a
    number that disagrees with the list would hint that something was there)."""
    c = auth.login("caseworker")
    _tell(app, world, "caseworker", 2)
    with app.app_context():
        service.notify([uuid.UUID(world.users["caseworker"])],
                       organisation_id=uuid.UUID(world.ids["org"]), kind=Kind.CASE_ASSIGNED,
                       target=Target.CASE, object_id=uuid.uuid4())   # no such case
        db.session.commit()
    assert '<span class="count-badge" id="bell-count">3</span>' in c.get("/").get_data(
        as_text=True)
    listed = c.get("/notifications/").get_data(as_text=True)
    assert '<span class="count-badge" id="bell-count">2</span>' in listed
    c.post("/notifications/read", data={"csrf_token": auth.csrf(c, "/notifications/")},
           follow_redirects=False)
    assert 'id="bell-count"' not in c.get("/notifications/").get_data(as_text=True)


def test_the_bell_counts_unread_notifications_on_every_page(app: Flask, auth: Auth,
                                                             world: World) -> None:
    c = auth.login("caseworker")
    assert 'id="bell-count"' not in c.get("/").get_data(as_text=True)
    _tell(app, world, "caseworker", 3)
    _tell(app, world, "caseworker2", 5)      # someone else's: not counted
    for path in ("/", "/cases/", "/auth/sessions"):
        html = c.get(path).get_data(as_text=True)
        assert '<span class="count-badge" id="bell-count">3</span>' in html, path
    c.post("/notifications/read", data={"csrf_token": auth.csrf(c, "/notifications/")})
    assert 'id="bell-count"' not in c.get("/").get_data(as_text=True)
    with app.app_context():
        assert service.unread_count(uuid.UUID(world.users["caseworker2"])) == 5
