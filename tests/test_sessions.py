"""Server-side sessions: timeouts, ending sessions, and what ends them."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.auth.models import AuthSession, User
from app.db import db
from tests.helpers.login import PASSWORD


def _live(app, username, world):
    with app.app_context():
        return db.session.execute(select(AuthSession).where(
            AuthSession.user_id == uuid.UUID(world.users[username]),
            AuthSession.revoked_at.is_(None))).scalars().all()


def test_idle_timeout(app, auth, frozen, world):
    c = auth.login("caseworker")
    frozen.advance(minutes=14)
    assert c.get("/").status_code == 200
    frozen.advance(minutes=15, seconds=1)
    r = c.get("/")
    assert r.status_code == 302 and "/auth/login" in r.location
    with app.app_context():
        row = db.session.execute(select(AuthSession).where(
            AuthSession.user_id == uuid.UUID(world.users["caseworker"]))).scalar_one()
        assert row.revoked_reason == "idle_timeout"


def test_idle_timeout_is_configurable(app, auth, frozen, world):
    app.config["SESSION_IDLE_MINUTES"] = 5
    c = auth.login("caseworker")
    frozen.advance(minutes=5, seconds=1)
    assert c.get("/").status_code == 302


def test_absolute_timeout_even_when_active(app, auth, frozen, world):
    c = auth.login("caseworker")
    for _ in range(8 * 6 - 1):  # active every 10 minutes for just under 8 hours
        frozen.advance(minutes=10)
        assert c.get("/").status_code == 200
    frozen.advance(minutes=11)
    r = c.get("/")
    assert r.status_code == 302 and "/auth/login" in r.location


def test_page_carries_the_idle_warning(app, auth, world):
    c = auth.login("caseworker")
    html = c.get("/").get_data(as_text=True)
    assert 'data-idle-seconds="900"' in html and 'id="idle-warning"' in html
    assert "js/session.js" in html


def test_deactivation_ends_a_live_session_on_its_next_request(app, auth, world):
    victim = auth.login("caseworker2")
    assert victim.get("/").status_code == 200
    admin = auth.login("admin")
    r = admin.post(f"/admin/users/{world.users['caseworker2']}/deactivate",
                   data={"csrf_token": auth.csrf(admin)})
    assert r.status_code == 302
    r = victim.get("/")
    assert r.status_code == 302 and "/auth/login" in r.location
    assert _live(app, "caseworker2", world) == []


def test_role_change_ends_sessions(app, auth, world):
    from tests.helpers.accounts import decide, edit_user, grant_of

    victim = auth.login("caseworker2")
    r = edit_user(app, auth.login("admin"), world, "caseworker2", role="supervisor")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    # A wider role waits for a second admin; the session ends when the change takes effect.
    assert victim.get("/").status_code == 200
    admin2 = auth.login("admin2")
    assert decide(auth, admin2, grant_of(app, "caseworker2"), "approve").status_code == 302
    assert victim.get("/").status_code == 302
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["caseworker2"])).role == "supervisor"


def test_narrowing_role_change_ends_sessions_at_once(app, auth, world):
    from tests.helpers.accounts import edit_user

    victim = auth.login("caseworker2")
    r = edit_user(app, auth.login("admin"), world, "caseworker2", role="program_manager",
                   sites=[])
    assert r.status_code == 302
    assert victim.get("/").status_code == 302
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["caseworker2"])).role == "program_manager"


def test_password_change_ends_other_sessions_keeps_this_one(app, auth, world):
    other = auth.login("caseworker")
    me = auth.login("caseworker")
    new = "a brand new passphrase here"
    r = me.post("/auth/password", data={"current": PASSWORD, "new": new, "confirm": new,
                                         "csrf_token": auth.csrf(me, "/auth/password")})
    assert r.status_code == 302
    assert me.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_password_change_wrong_current_changes_nothing(app, auth, world):
    me = auth.login("caseworker")
    with app.app_context():
        before = db.session.get(User, uuid.UUID(world.users["caseworker"])).password_hash
    r = me.post("/auth/password", data={"current": "wrong one entirely", "new": "x" * 20,
                                         "confirm": "x" * 20,
                                         "csrf_token": auth.csrf(me, "/auth/password")})
    assert r.status_code == 200 and "not your current password" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["caseworker"])).password_hash == before


def test_user_sees_and_ends_own_sessions(app, auth, world):
    phone = auth.login("caseworker")
    laptop = auth.login("caseworker")  # logged in 31 s later: the newest session
    page = laptop.get("/auth/sessions").get_data(as_text=True)
    assert page.count("End session") == 2 and "this device" in page
    rows = sorted(_live(app, "caseworker", world), key=lambda r: r.created_at)
    phone_row = rows[0]
    r = laptop.post(f"/auth/sessions/{phone_row.id}/end", data={"csrf_token": auth.csrf(laptop)})
    assert r.status_code == 302 and r.location.endswith("/auth/sessions")
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert [x.id for x in _live(app, "caseworker", world)] == [rows[1].id]


def test_cannot_end_someone_elses_session(app, auth, world):
    auth.login("caseworker2")
    target = _live(app, "caseworker2", world)[0]
    me = auth.login("caseworker")
    r = me.post(f"/auth/sessions/{target.id}/end", data={"csrf_token": auth.csrf(me)})
    assert r.status_code == 404
    assert _live(app, "caseworker2", world)


def test_admin_ends_anyones_sessions(app, auth, world):
    victim = auth.login("caseworker2")
    admin = auth.login("admin")
    admin.post(f"/admin/users/{world.users['caseworker2']}/end_sessions",
               data={"csrf_token": auth.csrf(admin)})
    assert victim.get("/").status_code == 302


def test_cookie_flags_in_production(app, world, instance_dir, db_uri, monkeypatch):
    from tests.helpers.apps import make_app

    prod = make_app(db_uri, instance_dir, AMANA_ENV="testing", SESSION_COOKIE_NAME="__Host-amana",
                    SESSION_COOKIE_SECURE=True)
    c = prod.test_client()
    r = c.get("/auth/login", base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-amana=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Domain=" not in cookie and "Expires=" not in cookie and "Max-Age" not in cookie


def test_production_settings_use_host_prefix_and_secure(app):
    import base64
    import os

    from app.config import build_config
    from app.keyfiles import KEY_NAMES

    env = {f"AMANA_KEY_{n.upper()}": base64.urlsafe_b64encode(os.urandom(32)).decode()
           for n in KEY_NAMES}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        cfg = build_config("production", app.instance_path and __import__("pathlib").Path("/nonexistent"))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert cfg["SESSION_COOKIE_NAME"] == "__Host-amana" and cfg["SESSION_COOKIE_SECURE"]
    assert cfg["SESSION_COOKIE_HTTPONLY"] and cfg["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert cfg["DEBUG"] is False and cfg["HSTS"] is True
