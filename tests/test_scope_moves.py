"""Moving a person ends their old access (issue 11, item 2).

A caseworker moved to another organisation or site loses their sessions at once and every case
assignment outside the new scope; the supervisor sees the cases left without a caseworker; and
the case scope itself checks organisation and site, so a left-over assignment opens nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case
from app.db import db
from app.directory.models import Site
from tests.helpers.accounts import decide, edit_user, grant_of


def _case(app, world, label):
    with app.app_context():
        return db.session.get(Case, uuid.UUID(world.ids[label]))


def test_move_to_another_site_ends_sessions_and_assignments(app, auth, world):
    caseworker = auth.login("caseworker")
    own = f"/cases/{world.ids['case_own']}"
    assert caseworker.get(own).status_code == 200
    admin = auth.login("admin")
    r = edit_user(app, admin, world, "caseworker", sites=[world.ids["benghazi"]])
    assert r.status_code == 302
    # The old session is over at once (the new site waits for a second admin).
    r = caseworker.get(own)
    assert r.status_code == 302 and "/auth/login" in r.location
    case = _case(app, world, "case_own")
    assert case.primary_worker_id is None and case.secondary_worker_id is None
    with app.app_context():
        events = db.session.execute(select(AuditEvent.action).where(
            AuditEvent.object_id.in_([world.ids["case_own"], world.users["caseworker"]]),
            AuditEvent.action.in_(("case.unassign", "user.scope_change")))).scalars().all()
    assert sorted(events) == ["case.unassign", "user.scope_change"]
    # Signed in again, the case is as invisible as a missing one, in lists and by URL.
    caseworker = auth.login("caseworker")
    assert caseworker.get(own).status_code == 404
    assert world.case_numbers["case_own"] not in caseworker.get("/cases/").get_data(as_text=True)
    # The supervisor sees it without a caseworker, on the task list and in the case list.
    supervisor = auth.login("supervisor")
    tasks = supervisor.get("/cases/tasks").get_data(as_text=True)
    section = tasks.split("Cases without a caseworker")[1].split("<h2")[0]
    assert world.case_numbers["case_own"] in section
    assert "Unassigned" in supervisor.get("/cases/").get_data(as_text=True)
    assert supervisor.get(f"{own}/assign").status_code == 200
    # Once a second admin approves Benghazi, the caseworker works there, not in Tripoli.
    admin2 = auth.login("admin2")
    decide(auth, admin2, grant_of(app, "caseworker"), "approve")
    caseworker = auth.login("caseworker")
    assert caseworker.get(own).status_code == 404
    assert caseworker.get("/cases/new").status_code in (200, 302)


def test_secondary_caseworker_takes_over_when_primary_moves(app, auth, world):
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_other"]))
        case.secondary_worker_id = uuid.UUID(world.users["caseworker"])
        db.session.commit()
    admin = auth.login("admin")
    edit_user(app, admin, world, "caseworker2", organisation=world.ids["other_org"],
               sites=[world.ids["partner_site"]])
    case = _case(app, world, "case_other")
    assert case.primary_worker_id == uuid.UUID(world.users["caseworker"])
    assert case.secondary_worker_id is None
    with app.app_context():
        moved = db.session.get(User, uuid.UUID(world.users["caseworker2"]))
        # The organisation waits for approval; the old organisation's sites are gone already.
        assert moved.organisation_id == uuid.UUID(world.ids["org"]) and moved.sites == []


def test_move_to_another_organisation_after_approval(app, auth, world):
    caseworker2 = auth.login("caseworker2")
    other = f"/cases/{world.ids['case_other']}"
    assert caseworker2.get(other).status_code == 200
    admin = auth.login("admin")
    edit_user(app, admin, world, "caseworker2", organisation=world.ids["other_org"],
               sites=[world.ids["partner_site"]])
    admin2 = auth.login("admin2")
    decide(auth, admin2, grant_of(app, "caseworker2"), "approve")
    with app.app_context():
        moved = db.session.get(User, uuid.UUID(world.users["caseworker2"]))
        assert moved.organisation_id == uuid.UUID(world.ids["other_org"])
    caseworker2 = auth.login("caseworker2")
    assert caseworker2.get(other).status_code == 404
    assert world.case_numbers["case_other"] not in caseworker2.get("/cases/").get_data(as_text=True)


def test_scope_checks_site_even_with_a_left_over_assignment(app, auth, world):
    """Defence in depth: an assignment that survived a move (written behind the app's back)
    still opens nothing outside the caseworker's organisation and sites."""
    caseworker = auth.login("caseworker")
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        user.sites = [db.session.get(Site, uuid.UUID(world.ids["benghazi"]))]
        db.session.commit()
        assert db.session.get(Case, uuid.UUID(world.ids["case_own"])).primary_worker_id == user.id
    caseworker = auth.login("caseworker")
    assert caseworker.get(f"/cases/{world.ids['case_own']}").status_code == 404
    assert caseworker.get(f"/cases/{world.ids['case_own']}/edit").status_code == 404
    assert caseworker.get(f"/referrals/new/{world.ids['case_own']}").status_code == 404


def test_pending_account_cannot_be_assigned(app, auth, world):
    from tests.helpers.accounts import post_user

    admin = auth.login("admin")
    post_user(admin, world, "/admin/users/new", username="pending.cw", role="caseworker",
               display_name="Pending Worker")
    supervisor = auth.login("supervisor")
    page = supervisor.get(f"/cases/{world.ids['case_own']}/assign").get_data(as_text=True)
    assert "Pending Worker" not in page


def test_move_ends_break_glass_access(app, auth, world):
    from app.cases import service

    with app.app_context():
        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        service.break_glass(supervisor, world.case_numbers["case_far"], "imminent_risk", None)
    far = f"/cases/{world.ids['case_far']}"
    assert auth.login("supervisor").get(far).status_code == 200
    admin = auth.login("admin")
    edit_user(app, admin, world, "supervisor", sites=[world.ids["benghazi"]])
    assert auth.login("supervisor").get(far).status_code == 404
