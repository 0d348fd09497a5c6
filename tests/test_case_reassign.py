"""Reassigning a case within an organisation (issue 18, item 3): changing the primary caseworker
asks whether the previous one stays as secondary; without it they lose the case at once — its
page, lists, search, home page and notifications."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.cases import service
from app.cases.models import Case
from app.db import db
from app.notifications.models import Notification
from tests.helpers.audit import events
from tests.helpers.cases import search_cases
from tests.helpers.factories import CANARY
from tests.helpers.forms import hidden_inputs
from tests.helpers.transfer import case, user


def _post(sup, world, **over):
    own = world.ids["case_own"]
    page = sup.get(f"/cases/{own}/assign").get_data(as_text=True)
    data = {**hidden_inputs(page), "primary": world.users["caseworker2"], "secondary": ""}
    data.update(over)
    return sup.post(f"/cases/{own}/assign", data=data)


def _workers(app, world):
    with app.app_context():
        c = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        return c.primary_worker_id, c.secondary_worker_id


def _told(app, world, name):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == uuid.UUID(world.users[name]),
            Notification.object_id == uuid.UUID(world.ids["case_own"]))).scalar_one()


def test_changing_the_primary_needs_an_answer_about_the_previous_one(app, auth, world):
    before = _workers(app, world)
    sup = auth.login("supervisor")
    page = sup.get(f"/cases/{world.ids['case_own']}/assign").get_data(as_text=True)
    assert 'name="keep_previous"' in page and "checked" not in page  # nothing chosen for them
    r = _post(sup, world)
    assert r.status_code == 200
    assert "stays on the case as secondary" in r.get_data(as_text=True)
    # Kept, with another secondary chosen as well: refused beside the secondary field.
    r = _post(sup, world, keep_previous="yes", secondary=world.users["newbie"])
    assert r.status_code == 200 and "leave the secondary caseworker empty" in r.get_data(
        as_text=True)
    assert _workers(app, world) == before
    assert events(app, "case.assign") == []


def test_the_previous_caseworker_kept_as_secondary_keeps_the_case(app, auth, world):
    sup = auth.login("supervisor")
    assert _post(sup, world, keep_previous="yes").status_code == 302
    assert _workers(app, world) == (uuid.UUID(world.users["caseworker2"]),
                                    uuid.UUID(world.users["caseworker"]))
    assert auth.login("caseworker").get(f"/cases/{world.ids['case_own']}").status_code == 200
    assert [e.reason for e in events(app, "case.assign")] == ["kept_as_secondary"]


def test_the_previous_caseworker_not_kept_loses_the_case_at_once(app, auth, world):
    own = world.ids["case_own"]
    number = world.case_numbers["case_own"]
    cw = auth.login("caseworker")
    assert cw.get(f"/cases/{own}").status_code == 200
    with app.app_context():  # something to be told about the case
        service.approve_plan(user("supervisor", world), case(world), case(world).version)
    assert _told(app, world, "caseworker") == 1
    assert number in cw.get("/notifications/").get_data(as_text=True)
    sup = auth.login("supervisor")
    assert _post(sup, world, keep_previous="no").status_code == 302
    assert _workers(app, world) == (uuid.UUID(world.users["caseworker2"]), None)
    # The same session, the very next request: the case is gone everywhere.
    assert cw.get(f"/cases/{own}").status_code == 404
    assert cw.get(f"/cases/{own}/edit").status_code == 404
    assert number not in cw.get("/cases/").get_data(as_text=True)
    assert own not in search_cases(cw, name=CANARY["own_name"]).get_data(as_text=True)
    assert number not in cw.get("/").get_data(as_text=True)
    assert number not in cw.get("/notifications/").get_data(as_text=True)
    assert _told(app, world, "caseworker") == 0
    # The new caseworker has it, and was told.
    cw2 = auth.login("caseworker2")
    assert cw2.get(f"/cases/{own}").status_code == 200
    assert _told(app, world, "caseworker2") >= 1
