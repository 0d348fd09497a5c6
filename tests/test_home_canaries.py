"""No home page and no notification ever shows survivor data.

The test world's cases carry a canary in their sealed fields (name, alias, location, incident
narrative, the referral's message). Every role opens its home page and its notification list,
after notifications of every kind about those very cases and referrals; none of the canaries
may appear, while the case numbers (what a notification may say) do, so the pages are not
simply empty.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from app.db import db
from app.notifications import service
from app.notifications.kinds import Kind, Target
from tests.helpers.factories import CANARY, ROLES, World
from tests.helpers.login import Auth

CASE_KINDS = (Kind.CASE_ASSIGNED, Kind.PLAN_APPROVED, Kind.CLOSURE_APPROVED,
              Kind.CLOSURE_SENT_BACK, Kind.CLINICAL_WINDOW_CLOSING)
REFERRAL_KINDS = (Kind.REFERRAL_NEW, Kind.REFERRAL_NEW_URGENT, Kind.REFERRAL_ANSWERED)


def _tell_everyone(app: Flask, world: World) -> None:
    """Every kind, about the caseworker's own case and its referral, to every account."""
    org = uuid.UUID(world.ids["org"])
    readers = [uuid.UUID(world.users[r]) for r in ROLES]
    with app.app_context():
        for kind in CASE_KINDS:
            service.notify(readers, organisation_id=org, kind=kind, target=Target.CASE,
                           object_id=uuid.UUID(world.ids["case_own"]))
        for kind in REFERRAL_KINDS:
            service.notify(readers, organisation_id=org, kind=kind, target=Target.REFERRAL,
                           object_id=uuid.UUID(world.ids["ref_mhpss"]))
        db.session.commit()


@pytest.mark.parametrize("role", ROLES)
def test_no_home_page_or_notification_shows_a_survivor_canary(
        app: Flask, auth: Auth, world: World, role: str) -> None:
    _tell_everyone(app, world)
    c = auth.login(role)
    pages = {path: c.get(path).get_data(as_text=True)
             for path in ("/", "/notifications/", "/notifications/email")}
    for path, html in pages.items():
        for name, canary in CANARY.items():
            assert canary not in html, (role, path, name)
    listed = pages["/notifications/"]
    if role in ("caseworker", "supervisor"):
        # they may open the case: its number names the notifications
        assert world.case_numbers["case_own"] in listed
    elif role == "service_provider":
        # the provider opens the referral, named without any case number
        assert "New referral to your service" in listed
        assert world.case_numbers["case_own"] not in listed
    else:
        # nothing of it is theirs to open: the notifications are dropped, not shown
        assert "No notifications." in listed
