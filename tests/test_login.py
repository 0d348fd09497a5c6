"""Logging in: no enumeration, throttling and lockout, MFA is mandatory, redirects stay local."""

from __future__ import annotations

import re
import time
import uuid

import limits.storage.memory as limits_memory
import pyotp
import pytest
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.auth import mfa
from app.auth.models import AuthSession, User
from app.db import db
from tests.helpers.codes import code_at
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD


def _post_login(client, username, password, next_=None):
    page = client.get("/auth/login" + (f"?next={next_}" if next_ else ""))
    data = {"username": username, "password": password,
            "csrf_token": csrf_from(page.get_data(as_text=True))}
    if next_ is not None:
        data["next"] = next_
    return client.post("/auth/login", data=data)


def _normalised(resp) -> str:
    body = resp.get_data(as_text=True)
    body = re.sub(r'value="[^"]*"', 'value=""', body)
    return re.sub(r"nonce=\"[^\"]*\"", "", body)


def test_failures_look_identical(app, client, auth, world):
    # Lock "supervisor" first, so that a locked account is among the cases compared.
    for _ in range(app.config["LOGIN_ACCOUNT_MAX_FAILURES"]):
        _post_login(app.test_client(), "supervisor", "wrong password 123")
    cases = {
        "unknown": ("nobody-here", PASSWORD),
        "wrong_password": ("caseworker", "not the right password"),
        "locked": ("supervisor", PASSWORD),
        "inactive": ("gone", PASSWORD),
    }
    responses = {k: _post_login(app.test_client(), u, p) for k, (u, p) in cases.items()}
    statuses = {k: r.status_code for k, r in responses.items()}
    assert set(statuses.values()) == {200}, statuses
    bodies = {k: _normalised(r) for k, r in responses.items()}
    assert len(set(bodies.values())) == 1, "failure pages differ"
    for r in responses.values():
        assert "did not work" in r.get_data(as_text=True)


def test_failures_take_similar_time(app, world, real_argon2):
    from app.auth import passwords
    from app.auth.models import User

    with app.app_context():  # the account's hash at the real cost, like the dummy one
        user = db.session.execute(select(User).where(User.username == "caseworker2")).scalar_one()
        user.password_hash = passwords.hash_password(PASSWORD)
        db.session.commit()

    def timed(username, password):
        start = time.perf_counter()
        _post_login(app.test_client(), username, password)
        return time.perf_counter() - start
    unknown = min(timed("nobody-here", "x" * 20) for _ in range(3))
    wrong = min(timed("caseworker2", "x" * 20) for _ in range(3))
    # Both paths run one Argon2 verification; neither is an order of magnitude faster.
    assert unknown > wrong / 3 and wrong > unknown / 3, (unknown, wrong)


def test_lockout_blocks_even_the_right_password_and_expires(app, client, world, monkeypatch):
    offset = [0.0]

    class FakeTime:
        @staticmethod
        def time():
            return time.time() + offset[0]

    monkeypatch.setattr(limits_memory, "time", FakeTime)
    for _ in range(app.config["LOGIN_ACCOUNT_MAX_FAILURES"]):
        _post_login(client, "caseworker", "wrong password 123")
    resp = _post_login(client, "caseworker", PASSWORD)
    assert resp.status_code == 200 and "did not work" in resp.get_data(as_text=True)
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action, AuditEvent.reason)).all()
    assert ("auth.lockout", "too_many_failures") in actions
    assert ("auth.login_failed", "locked") in actions
    offset[0] = app.config["LOGIN_LOCKOUT_MINUTES"] * 60 + 1
    resp = _post_login(client, "caseworker", PASSWORD)
    assert resp.status_code == 302 and resp.location.endswith("/auth/mfa")


def test_address_throttle_answers_429(app, world):
    app.config["LOGIN_ADDRESS_LIMIT"] = "3 per minute"
    client = app.test_client()
    codes = [_post_login(client, f"user{i}", "wrong password 123").status_code for i in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429


def test_password_only_session_reaches_nothing_but_the_mfa_step(app, client, world):
    resp = _post_login(client, "admin", PASSWORD)
    assert resp.location.endswith("/auth/mfa")
    for path in ("/", "/admin/users", "/auth/sessions", "/auth/password", "/admin/directory"):
        r = client.get(path)
        assert r.status_code == 302 and r.location.endswith("/auth/mfa"), path
    assert client.get("/auth/mfa").status_code == 200


def test_totp_replay_refused(app, client, auth, world):
    _post_login(client, "caseworker", PASSWORD)
    code = auth.code("caseworker")
    token = csrf_from(client.get("/auth/mfa").get_data(as_text=True))
    assert client.post("/auth/mfa", data={"code": code, "csrf_token": token}).status_code == 302
    other = app.test_client()
    _post_login(other, "caseworker", PASSWORD)
    token = csrf_from(other.get("/auth/mfa").get_data(as_text=True))
    resp = other.post("/auth/mfa", data={"code": code, "csrf_token": token})
    assert resp.status_code == 200 and "not accepted" in resp.get_data(as_text=True)
    assert other.get("/").status_code == 302


def test_code_outside_its_window_refused(app, client, auth, frozen, world):
    _post_login(client, "caseworker", PASSWORD)
    old = pyotp.TOTP(world.secrets["caseworker"]).at(frozen.now)
    frozen.advance(minutes=5)
    token = csrf_from(client.get("/auth/mfa").get_data(as_text=True))
    resp = client.post("/auth/mfa", data={"code": old, "csrf_token": token})
    assert "not accepted" in resp.get_data(as_text=True)


def test_session_id_changes_at_login(app, client, world, auth):
    client.get("/auth/login")
    before = client.get_cookie("amana").value
    auth.login("caseworker", client=client)
    after = client.get_cookie("amana").value
    assert before != after
    # The pre-login cookie is worthless: replaying it gets the login page.
    attacker = app.test_client()
    attacker.set_cookie("amana", before)
    r = attacker.get("/")
    assert r.status_code == 302 and "/auth/login" in r.location


def test_replayed_cookie_after_logout_refused(app, auth, world):
    c = auth.login("caseworker")
    stolen = c.get_cookie("amana").value
    c.post("/auth/logout", data={"csrf_token": auth.csrf(c)})
    replay = app.test_client()
    replay.set_cookie("amana", stolen)
    r = replay.get("/")
    assert r.status_code == 302 and "/auth/login" in r.location


def test_quick_lock_ends_session_at_once(app, auth, world):
    c = auth.login("supervisor")
    cookie = c.get_cookie("amana").value
    r = c.post("/auth/lock", data={"csrf_token": auth.csrf(c)})
    assert r.status_code == 302 and "/auth/login" in r.location
    replay = app.test_client()
    replay.set_cookie("amana", cookie)
    assert replay.get("/").status_code == 302
    with app.app_context():
        assert db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "auth.quick_lock")).scalars().first() is not None


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example", "/%0d%0aLocation:evil",
])
def test_open_redirect_refused(app, client, auth, world, target):
    _post_login(client, "caseworker", PASSWORD, next_=target)
    token = csrf_from(client.get("/auth/mfa").get_data(as_text=True))
    r = client.post("/auth/mfa", data={"code": auth.code("caseworker"), "csrf_token": token})
    assert r.status_code == 302
    assert r.location in ("/", "http://localhost/"), r.location


def test_local_next_is_followed(app, client, auth, world):
    _post_login(client, "admin", PASSWORD, next_="/admin/users")
    token = csrf_from(client.get("/auth/mfa").get_data(as_text=True))
    r = client.post("/auth/mfa", data={"code": auth.code("admin"), "csrf_token": token})
    assert r.location.endswith("/admin/users")


def test_csrf_missing_or_foreign_token_refused(app, client, auth, world):
    page = client.get("/auth/login")
    r = client.post("/auth/login", data={"username": "caseworker", "password": PASSWORD})
    assert r.status_code == 400
    foreign = csrf_from(app.test_client().get("/auth/login").get_data(as_text=True))
    r = client.post("/auth/login", data={"username": "caseworker", "password": PASSWORD,
                                         "csrf_token": foreign})
    assert r.status_code == 400
    assert page.status_code == 200
    c = auth.login("admin")
    r = c.post(f"/admin/users/{world.users['caseworker2']}/deactivate", data={})
    assert r.status_code == 400


def test_login_events_are_audited_without_secrets(app, client, auth, world):
    _post_login(client, "caseworker", "wrong password 123")
    auth.login("caseworker")
    with app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        actions = [r.action for r in rows]
        assert "auth.login_failed" in actions and "auth.login" in actions
        assert "auth.mfa_verified" in actions
        for r in rows:
            text = " ".join(str(getattr(r, c.name)) for c in AuditEvent.__table__.columns)
            assert PASSWORD not in text and "wrong password" not in text


def test_sessions_are_rows_with_only_a_token_digest(app, auth, world):
    c = auth.login("caseworker")
    token = c.get_cookie("amana").value
    with app.app_context():
        rows = db.session.execute(select(AuthSession).where(
            AuthSession.user_id == uuid.UUID(world.users["caseworker"]))).scalars().all()
    assert len(rows) == 1 and rows[0].mfa_at is not None
    assert all(token not in repr(r.token_hash) for r in rows)


@pytest.mark.parametrize("step_path", ["/auth/mfa", "/auth/mfa/enrol"])
def test_a_code_accepted_meanwhile_elsewhere_is_a_replay(app, client, auth, world, monkeypatch,
                                                          step_path):
    """Another host (or worker) accepts the same code after this request loaded the account and
    before it saves: the stale account says the code is fresh, the database says it is used."""
    username = "caseworker" if step_path == "/auth/mfa" else "newbie"
    real = mfa.matching_step

    def raced(user, code):
        step = real(user, code)
        if step is not None:  # the other host's commit, behind this session's back
            db.session.execute(update(User.__table__).where(User.__table__.c.id == user.id)
                               .values(totp_last_step=step))
        return step

    monkeypatch.setattr(mfa, "matching_step", raced)
    _post_login(client, username, PASSWORD)
    if username == "newbie":
        page = client.get(step_path).get_data(as_text=True)
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        code = code_at(secret, auth.clock.advance(seconds=31))
    else:
        code = auth.code(username)
    token = csrf_from(client.get(step_path).get_data(as_text=True))
    resp = client.post(step_path, data={"code": code, "csrf_token": token})
    assert resp.status_code == 200 and "not accepted" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302
    reason = "replayed_code" if username == "caseworker" else "bad_enrolment_code"
    with app.app_context():
        assert db.session.execute(
            select(AuditEvent.reason).where(AuditEvent.action == "auth.mfa_failed")
            .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one() == reason
