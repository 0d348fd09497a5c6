"""No admin grants survivor data alone (issue 11, item 1).

The two escalation paths an attacker used: an admin changing their own role to supervisor, and
an admin creating a supervisor account and using its one-time code. Both must be refused without
a second admin, and work with one, audited and on the auditor's alerts.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from app.auth import passwords
from app.auth.models import RoleGrant, User
from app.db import db
from tests.helpers.accounts import decide, edit_user, grant_of, post_user
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from

NEW_PASSWORD = "a passphrase of my own choosing"


def _sign_in_with_code(app, auth, code, username):
    """The person uses the one-time code, chooses a password and signs in (enrolment next)."""
    c = app.test_client()
    page = c.get("/auth/reset").get_data(as_text=True)
    r = c.post("/auth/reset", data={"token": code, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    page = c.get("/auth/login").get_data(as_text=True)
    return c, c.post("/auth/login", data={"username": username, "password": NEW_PASSWORD,
                                          "csrf_token": csrf_from(page)})


def test_admin_cannot_change_own_role_org_or_sites(app, auth, world):
    admin = auth.login("admin")
    for change in ({"role": "supervisor", "sites": [world.ids["tripoli"]]},
                   {"organisation": world.ids["other_org"]},
                   {"sites": [world.ids["tripoli"]]}):
        r = edit_user(app, admin, world, "admin", **change)
        assert r.status_code == 200
        assert "cannot change your own role" in r.get_data(as_text=True)
    with app.app_context():
        me = db.session.get(User, uuid.UUID(world.users["admin"]))
        assert me.role == "admin" and me.sites == []
        assert db.session.execute(select(RoleGrant)).first() is None
    assert len(events(app, "user.update", outcome="denied", reason="own_access")) == 3
    # Still no case: the policy refuses the whole area.
    assert admin.get(f"/cases/{world.ids['case_own']}").status_code == 403


def test_escalation_by_role_change_needs_a_third_admin(app, auth, world):
    """admin2 asks to make admin a supervisor: admin cannot approve a request about himself and
    admin2 cannot approve her own request, so nothing applies and no case is read."""
    admin2 = auth.login("admin2")
    r = edit_user(app, admin2, world, "admin", role="supervisor", sites=[world.ids["tripoli"]])
    assert r.status_code == 302
    grant = grant_of(app, "admin")
    assert grant is not None and grant.role == "supervisor"
    admin = auth.login("admin")
    r = decide(auth, admin, grant, "approve")
    assert r.status_code == 302
    assert "own account" in admin.get("/admin/grants").get_data(as_text=True)
    r = decide(auth, admin2, grant, "approve")
    assert "second admin must approve" in admin2.get("/admin/grants").get_data(as_text=True)
    assert grant_of(app, "admin").status == "pending"
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["admin"])).role == "admin"
    admin = auth.login("admin")
    assert admin.get(f"/cases/{world.ids['case_own']}").status_code == 403
    page = admin.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    assert CANARY["own_name"] not in page
    assert events(app, "user.grant_approve", outcome="denied")


def test_escalation_by_new_account_refused_without_second_admin(app, auth, world):
    admin = auth.login("admin")
    r = post_user(admin, world, "/admin/users/new")
    assert r.status_code == 302  # no one-time code page
    page = admin.get(r.location).get_data(as_text=True)
    assert "reset-code" not in page and "awaiting approval" in page
    grant = grant_of(app, "new.super")
    with app.app_context():
        new = db.session.execute(select(User).where(User.username == "new.super")).scalar_one()
        new_id = new.id
        assert new.approval_pending and new.sites == []
    # No code can be issued for it...
    r = admin.post(f"/admin/users/{new_id}/reset-password", data={"csrf_token": auth.csrf(admin)})
    assert r.status_code == 302
    assert "reset-code" not in admin.get(r.location).get_data(as_text=True)
    assert events(app, "user.password_reset_issued", outcome="denied",
                   reason="awaiting_approval")
    # ...and even a known password does not sign it in (say the admin set one in the database).
    with app.app_context():
        db.session.get(User, new_id).password_hash = passwords.hash_password(NEW_PASSWORD)
        db.session.commit()
    c = app.test_client()
    page = c.get("/auth/login").get_data(as_text=True)
    r = c.post("/auth/login", data={"username": "new.super", "password": NEW_PASSWORD,
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and c.get(f"/cases/{world.ids['case_own']}").status_code == 302
    assert events(app, "auth.login_failed", reason="awaiting_approval")
    # The creator cannot approve it.
    decide(auth, admin, grant, "approve")
    assert grant_of(app, "new.super").status == "pending"


def test_new_account_works_once_a_second_admin_approves_and_is_alerted(app, auth, world, frozen):
    admin = auth.login("admin")
    post_user(admin, world, "/admin/users/new")
    grant = grant_of(app, "new.super")
    admin2 = auth.login("admin2")
    assert "new.super" in admin2.get("/admin/grants").get_data(as_text=True)
    r = decide(auth, admin2, grant, "approve")
    assert r.status_code == 200  # the approving admin receives the first one-time code
    with app.app_context():
        new = db.session.execute(select(User).where(User.username == "new.super")).scalar_one()
        assert not new.approval_pending and [s.name for s in new.sites] == ["Tripoli"]
    code = re.search(r'id="reset-code">([^<]+)<', r.get_data(as_text=True)).group(1)
    c, r = _sign_in_with_code(app, auth, code, "new.super")
    assert r.location.endswith("/auth/mfa/enrol")
    # Audited: request by admin, approval by admin2; both on the auditor's alerts.
    request = events(app, "user.grant_request", object_id=str(grant.id))
    approval = events(app, "user.grant_approve", object_id=str(grant.id), outcome="allowed")
    assert request[0].actor_id == uuid.UUID(world.users["admin"])
    assert approval[0].actor_id == uuid.UUID(world.users["admin2"])
    auditor = auth.login("auditor")
    alerts = auditor.get("/audit/alerts").get_data(as_text=True)
    section = alerts.split('id="alerts-access"')[1].split("</section>")[0]
    assert str(grant.id) in section and "user.grant" not in section.split("<h2")[0]
    assert str(request[0].seq) in section and str(approval[0].seq) in section


def test_admin_cannot_mint_a_second_admin_alone(app, auth, world):
    admin = auth.login("admin")
    r = post_user(admin, world, "/admin/users/new", username="helper.admin", role="admin",
                   sites=[], display_name="Helper Admin")
    assert r.status_code == 302
    assert grant_of(app, "helper.admin").role == "admin"
    with app.app_context():
        assert db.session.execute(select(User.approval_pending).where(
            User.username == "helper.admin")).scalar_one()


def test_roles_without_case_data_apply_at_once(app, auth, world):
    admin = auth.login("admin")
    r = post_user(admin, world, "/admin/users/new", username="new.auditor", role="auditor",
                   sites=[], display_name="Samira Auditor")
    assert r.status_code == 200 and "reset-code" in r.get_data(as_text=True)
    assert grant_of(app, "new.auditor") is None


def test_widening_waits_narrowing_does_not(app, auth, world):
    admin = auth.login("admin")
    edit_user(app, admin, world, "caseworker2", sites=[world.ids["tripoli"], world.ids["benghazi"]])
    with app.app_context():
        cw2 = db.session.get(User, uuid.UUID(world.users["caseworker2"]))
        assert [s.name for s in cw2.sites] == ["Tripoli"]  # Benghazi waits
    grant = grant_of(app, "caseworker2")
    assert sorted(grant.site_ids) == sorted([world.ids["tripoli"], world.ids["benghazi"]])
    # A newer, narrower change applies at once and replaces the pending request.
    edit_user(app, admin, world, "caseworker2", role="wgss_coordinator",
               safe_spaces=[world.ids["safe_space"]])
    assert grant_of(app, "caseworker2") is None
    assert grant_of(app, "caseworker2", "superseded") is not None
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["caseworker2"])).role == "wgss_coordinator"


def test_grant_expires(app, auth, world, frozen):
    admin = auth.login("admin")
    post_user(admin, world, "/admin/users/new")
    grant = grant_of(app, "new.super")
    frozen.advance(hours=app.config["GRANT_APPROVAL_HOURS"], seconds=1)
    admin2 = auth.login("admin2")
    r = decide(auth, admin2, grant, "approve")
    assert r.status_code == 302
    assert grant_of(app, "new.super", "expired") is not None
    assert events(app, "user.grant_expired", object_id=str(grant.id))
    with app.app_context():
        assert db.session.execute(select(User.approval_pending).where(
            User.username == "new.super")).scalar_one()


def test_stale_or_refused_grant_cannot_be_approved(app, auth, world):
    admin = auth.login("admin")
    post_user(admin, world, "/admin/users/new")
    grant = grant_of(app, "new.super")
    admin2 = auth.login("admin2")
    r = admin2.post(f"/admin/grants/{grant.id}/approve",
                    data={"csrf_token": auth.csrf(admin2, "/admin/grants"),
                          "version": grant.version + 1})
    assert r.status_code == 302 and grant_of(app, "new.super").status == "pending"
    assert decide(auth, admin2, grant, "refuse").status_code == 302
    assert events(app, "user.grant_refuse", object_id=str(grant.id))
    refused = grant_of(app, "new.super", "refused")
    decide(auth, admin2, refused, "approve")
    assert grant_of(app, "new.super", "refused") is not None
    with app.app_context():
        assert db.session.execute(select(User.approval_pending).where(
            User.username == "new.super")).scalar_one()
    # Bad input: a malformed version is a 400 and changes nothing.
    r = admin2.post(f"/admin/grants/{grant.id}/approve",
                    data={"csrf_token": auth.csrf(admin2, "/admin/grants"), "version": "x"})
    assert r.status_code == 400


def test_command_line_needs_approval_once_two_admins_exist(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--username", "cli.super", "--role",
                                 "supervisor", "--org", "Test NGO", "--site", "Tripoli"],
                           input="a long enough passphrase\n")
    assert result.exit_code == 0, result.output
    assert "waiting for an admin to approve" in result.output
    result = runner.invoke(args=["users", "create", "--username", "cli.admin", "--role", "admin",
                                 "--org", "Test NGO"], input="a long enough passphrase\n")
    assert result.exit_code == 0 and "waiting" in result.output
    with app.app_context():
        pending = db.session.execute(select(User.username).where(
            User.approval_pending.is_(True))).scalars().all()
    assert sorted(pending) == ["cli.admin", "cli.super"]


def test_takeover_by_credential_resets_needs_a_second_admin(app, auth, world):
    """The third path: reset a supervisor's password and two-step verification, then sign in
    as her. Alone, an admin gets neither a code nor a reset; with a second admin, the code goes
    to the approving admin, not to the one who asked."""
    admin = auth.login("admin")
    target = world.users["supervisor"]
    r = admin.post(f"/admin/users/{target}/reset-password", data={"csrf_token": auth.csrf(admin)})
    assert r.status_code == 302
    assert "reset-code" not in admin.get(r.location).get_data(as_text=True)
    admin.post(f"/admin/users/{target}/reset_mfa", data={"csrf_token": auth.csrf(admin)})
    with app.app_context():
        sup = db.session.get(User, uuid.UUID(target))
        assert sup.mfa_enrolled_at is not None and sup.totp_secret_sealed is not None
        kinds = sorted(db.session.execute(select(RoleGrant.kind).where(
            RoleGrant.user_id == sup.id, RoleGrant.status == "pending")).scalars())
    assert kinds == ["mfa_reset", "password_reset"]
    assert not events(app, "user.password_reset_issued", outcome="allowed")
    # The asking admin cannot approve either.
    with app.app_context():
        grants = db.session.execute(select(RoleGrant).where(
            RoleGrant.user_id == uuid.UUID(target))).scalars().all()
    for grant in grants:
        r = decide(auth, admin, grant, "approve")
        assert r.status_code == 302 and "reset-code" not in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, uuid.UUID(target)).mfa_enrolled_at is not None
    # A second admin approves the password reset and is the one who sees the code.
    admin2 = auth.login("admin2")
    password_grant = next(g for g in grants if g.kind == "password_reset")
    r = decide(auth, admin2, password_grant, "approve")
    assert r.status_code == 200 and 'id="reset-code"' in r.get_data(as_text=True)
    issued = events(app, "user.password_reset_issued", outcome="allowed")
    assert [e.actor_id for e in issued] == [uuid.UUID(world.users["admin2"])]
    # Non-case roles are reset by one admin, as before.
    r = admin.post(f"/admin/users/{world.users['wgss_coordinator']}/reset-password",
                   data={"csrf_token": auth.csrf(admin)})
    assert r.status_code == 200 and 'id="reset-code"' in r.get_data(as_text=True)


def test_gated_roles_come_from_the_policy():
    """Every role that reads cases or referrals, or approves access, needs a second admin."""
    from app.admin.grants import GATED_ROLES

    assert {"caseworker", "supervisor", "service_provider", "admin"} == GATED_ROLES
