"""Administration of accounts: creating users who set their own password, reset codes,
directory records, and that admins hold no case-data permission."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.auth.policy import ROLE_PERMISSIONS, Role
from app.db import db
from app.directory.models import Site
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.login import PASSWORD


def _new_user(admin, auth, world, **over):
    page = admin.get("/admin/users/new").get_data(as_text=True)
    data = {"username": "fatima.k", "display_name": "Fatima K", "role": "caseworker",
            "organisation": world.ids["org"], "sites": [world.ids["tripoli"]], "service": "",
            "language": "ar", **form_tokens(page)}
    data.update(over)
    return admin.post("/admin/users/new", data=data)


def approve_pending(app, auth, username: str, approver: str = "admin2"):
    """A second admin approves the account's pending grant through the web."""
    from app.auth.models import RoleGrant

    with app.app_context():
        grant = db.session.execute(
            select(RoleGrant).join(User, User.id == RoleGrant.user_id)
            .where(User.username == username, RoleGrant.status == "pending")).scalar_one()
        grant_id, version = grant.id, grant.version
    second = auth.login(approver)
    return second.post(f"/admin/grants/{grant_id}/approve",
                       data={"csrf_token": auth.csrf(second, "/admin/grants"), "version": version})


def reset_code_for(app, auth, world, username: str) -> str:
    """A password reset for an account with case data needs two admins: admin asks, admin2
    approves and receives the one-time code."""
    from app.auth.models import RoleGrant

    admin = auth.login("admin")
    r = admin.post(f"/admin/users/{world.users[username]}/reset-password",
                   data={"csrf_token": auth.csrf(admin)})
    assert r.status_code == 302 and "reset-code" not in admin.get(r.location).get_data(as_text=True)
    with app.app_context():
        grant = db.session.execute(select(RoleGrant).where(
            RoleGrant.user_id == uuid.UUID(world.users[username]),
            RoleGrant.kind == "password_reset", RoleGrant.status == "pending")).scalar_one()
        grant_id, version = grant.id, grant.version
    second = auth.login("admin2")
    r = second.post(f"/admin/grants/{grant_id}/approve",
                    data={"csrf_token": auth.csrf(second, "/admin/grants"), "version": version})
    assert r.status_code == 200
    return re.search(r'id="reset-code">([^<]+)<', r.get_data(as_text=True)).group(1)


def test_admin_creates_user_who_sets_own_password_and_enrols(app, auth, world, frozen):
    admin = auth.login("admin")
    r = _new_user(admin, auth, world)
    assert r.status_code == 302  # a caseworker waits for a second admin; no code yet
    # The approving admin receives the one-time code to hand over.
    r = approve_pending(app, auth, "fatima.k")
    assert r.status_code == 200
    code = re.search(r'id="reset-code">([^<]+)<', r.get_data(as_text=True)).group(1)
    c = app.test_client()
    page = c.get("/auth/reset").get_data(as_text=True)
    new = "my own chosen passphrase"
    r = c.post("/auth/reset", data={"token": code, "new": new, "confirm": new,
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    page = c.get("/auth/login").get_data(as_text=True)
    r = c.post("/auth/login", data={"username": "FATIMA.K", "password": new,
                                    "csrf_token": csrf_from(page)})
    assert r.location.endswith("/auth/mfa/enrol")
    # The code is single-use.
    c2 = app.test_client()
    page = c2.get("/auth/reset").get_data(as_text=True)
    r = c2.post("/auth/reset", data={"token": code, "new": "another passphrase 1",
                                     "confirm": "another passphrase 1", "csrf_token": csrf_from(page)})
    assert "not valid" in r.get_data(as_text=True)


def test_bad_user_input_changes_nothing(app, auth, world):
    admin = auth.login("admin")
    with app.app_context():
        before = db.session.execute(select(User.id)).all()
    for over in ({"username": "caseworker"}, {"sites": []}, {"role": "wgss_coordinator"},
                 {"username": "bad name!"}, {"display_name": "x" * 500},
                 {"display_name": "evil\u202ename"}, {"role": "root"}):
        r = _new_user(admin, auth, world, **over)
        assert r.status_code in (200, 400)
        assert "reset-code" not in r.get_data(as_text=True), over
    with app.app_context():
        assert db.session.execute(select(User.id)).all() == before


def test_reset_code_expires_and_revokes_sessions(app, auth, world, frozen):
    victim = auth.login("caseworker2")
    code = reset_code_for(app, auth, world, "caseworker2")
    frozen.advance(hours=app.config["PASSWORD_RESET_HOURS"], seconds=1)
    c = app.test_client()
    page = c.get("/auth/reset").get_data(as_text=True)
    r = c.post("/auth/reset", data={"token": code, "new": "fresh passphrase one",
                                    "confirm": "fresh passphrase one", "csrf_token": csrf_from(page)})
    assert "not valid" in r.get_data(as_text=True)
    # A fresh code works and ends every session of the account.
    code = reset_code_for(app, auth, world, "caseworker2")
    victim = auth.login("caseworker2")
    page = c.get("/auth/reset").get_data(as_text=True)
    r = c.post("/auth/reset", data={"token": code, "new": "fresh passphrase two",
                                    "confirm": "fresh passphrase two", "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    assert victim.get("/").status_code == 302
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert "user.password_reset_issued" in actions and "auth.password_reset" in actions
    assert "auth.password_reset_failed" in actions


def test_reset_refuses_weak_password_and_keeps_code_usable(app, auth, world):
    code = reset_code_for(app, auth, world, "caseworker2")
    c = app.test_client()
    page = c.get("/auth/reset").get_data(as_text=True)
    r = c.post("/auth/reset", data={"token": code, "new": "password1234", "confirm": "password1234",
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and "too common" in r.get_data(as_text=True)
    r = c.post("/auth/reset", data={"token": code, "new": "a good long passphrase",
                                    "confirm": "a good long passphrase", "csrf_token": csrf_from(page)})
    assert r.status_code == 302


def test_admin_cannot_deactivate_self(app, auth, world):
    admin = auth.login("admin")
    admin.post(f"/admin/users/{world.users['admin']}/deactivate", data={"csrf_token": auth.csrf(admin)})
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["admin"])).active


def test_reactivated_user_can_log_in_again(app, auth, world):
    def password_accepted() -> bool:
        c = app.test_client()
        page = c.get("/auth/login").get_data(as_text=True)
        r = c.post("/auth/login", data={"username": "gone", "password": PASSWORD,
                                        "csrf_token": csrf_from(page)})
        return r.status_code == 302 and r.location.endswith("/auth/mfa")

    assert not password_accepted()  # deactivated: the right password is refused
    admin = auth.login("admin")
    r = admin.post(f"/admin/users/{world.users['gone']}/reactivate",
                   data={"csrf_token": auth.csrf(admin)})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["gone"])).active
        assert db.session.execute(select(AuditEvent.object_id).where(
            AuditEvent.action == "user.reactivate")).scalars().all() == [world.users["gone"]]
    assert password_accepted()
    home = auth.login("gone").get("/")
    assert home.status_code == 200 and "Lock now" in home.get_data(as_text=True)


def test_stale_edit_is_refused(app, auth, world):
    admin = auth.login("admin")
    page = admin.get(f"/admin/users/{world.users['caseworker2']}").get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker2"]))
        data = {"username": user.username, "display_name": "Renamed", "role": "caseworker",
                "organisation": str(user.organisation_id), "sites": [world.ids["tripoli"]],
                "language": "en", "service": "", "version": str(user.version + 7),
                "csrf_token": csrf_from(page)}
    r = admin.post(f"/admin/users/{world.users['caseworker2']}", data=data)
    assert "changed this record meanwhile" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["caseworker2"])).display_name != "Renamed"


def test_directory_site_create_and_duplicate(app, auth, world):
    admin = auth.login("admin")
    page = admin.get("/admin/directory/site/new").get_data(as_text=True)
    data = {"organisation": world.ids["org"], "name": "Misrata", "code": "mis", "active": "y"}
    assert admin.post("/admin/directory/site/new",
                      data={**data, **form_tokens(page)}).status_code == 302
    page = admin.get("/admin/directory/site/new").get_data(as_text=True)  # a second form
    r = admin.post("/admin/directory/site/new", data={**data, **form_tokens(page)})
    assert "already has this name or code" in r.get_data(as_text=True)
    with app.app_context():
        sites = db.session.execute(select(Site).where(Site.name == "Misrata")).scalars().all()
    assert len(sites) == 1 and sites[0].code == "MIS"


def test_admin_and_auditor_hold_no_case_permissions():
    for role in (Role.ADMIN, Role.AUDITOR, Role.PROGRAM_MANAGER, Role.WGSS_COORDINATOR):
        assert not any(p.value.startswith(("case", "referral")) for p in ROLE_PERMISSIONS[role])
    # Admins run accounts and directories (and the safe-space activity types): nothing that reads
    # case, referral or safe-space session content.
    assert {p.value for p in ROLE_PERMISSIONS[Role.ADMIN]} <= {
        "admin:users", "admin:directory", "wgss:configure"}


def test_admin_pages_are_audited(app, auth, world):
    admin = auth.login("admin")
    admin.get("/admin/users")
    admin.get(f"/admin/users/{world.users['caseworker']}")
    admin.get("/admin/directory")
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert {"user.list", "user.view", "directory.view"} <= set(actions)
    assert PASSWORD not in str(actions)
