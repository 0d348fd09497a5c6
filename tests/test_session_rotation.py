"""A new session token at every privilege step: the cookie issued after the password is replaced
when the second factor is accepted (a code, a recovery code, or the first code at enrolment),
and the old value is refused from then on."""

from __future__ import annotations

import re
import uuid

import pyotp
from sqlalchemy import func, select

from app.auth import mfa
from app.auth.models import AuthSession, RecoveryCode
from app.db import db
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD

COOKIE = "amana"  # the testing cookie name (production: __Host-amana)


def _password_step(c, username: str) -> str:
    page = c.get("/auth/login").get_data(as_text=True)
    r = c.post("/auth/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    return c.get_cookie(COOKIE).value


def _sid(app, cookie: str) -> str:
    """The session token inside a (signed) cookie value."""
    with app.app_context():
        return app.session_interface.get_signing_serializer(app).loads(cookie)["sid"]


def _replayed(app, cookie: str):
    """A fresh browser holding only the captured cookie value."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other


def _assert_old_refused_new_works(app, c, before: str) -> None:
    assert _sid(app, c.get_cookie(COOKIE).value) != _sid(app, before)
    thief = _replayed(app, before)
    for path in ("/", "/cases/", "/auth/sessions", "/auth/mfa"):
        r = thief.get(path)
        assert r.status_code == 302 and "/auth/login" in r.location, path
    assert c.get("/").status_code == 200
    assert c.get("/auth/sessions").status_code == 200


def test_token_is_replaced_when_the_code_is_accepted(app, auth, world):
    c = app.test_client()
    before = _password_step(c, "caseworker")
    page = c.get("/auth/mfa").get_data(as_text=True)
    r = c.post("/auth/mfa", data={"code": auth.code("caseworker"), "csrf_token": csrf_from(page)})
    assert r.status_code == 302 and not r.location.endswith("/auth/mfa")
    _assert_old_refused_new_works(app, c, before)
    # Still one session (same row, same start): only the token it is found by changed.
    with app.app_context():
        n = db.session.execute(select(func.count()).select_from(AuthSession).where(
            AuthSession.user_id == uuid.UUID(world.users["caseworker"]))).scalar_one()
    assert n == 1


def test_a_wrong_code_keeps_the_token_and_the_form_still_works(app, auth, world):
    c = app.test_client()
    before = _password_step(c, "caseworker")
    page = c.get("/auth/mfa").get_data(as_text=True)
    r = c.post("/auth/mfa", data={"code": "000000", "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and _sid(app, c.get_cookie(COOKIE).value) == _sid(app, before)
    page = r.get_data(as_text=True)
    r = c.post("/auth/mfa", data={"code": auth.code("caseworker"), "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    _assert_old_refused_new_works(app, c, before)


def test_token_is_replaced_when_a_recovery_code_is_accepted(app, auth, world):
    code = "ABCD-EFGH-JK"
    with app.app_context():
        db.session.add(RecoveryCode(user_id=uuid.UUID(world.users["caseworker2"]),
                                    code_hash=mfa.recovery_digest(code)))
        db.session.commit()
    c = app.test_client()
    before = _password_step(c, "caseworker2")
    page = c.get("/auth/mfa").get_data(as_text=True)
    r = c.post("/auth/mfa", data={"code": code, "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    _assert_old_refused_new_works(app, c, before)


def test_token_is_replaced_at_enrolment(app, world, frozen):
    c = app.test_client()
    before = _password_step(c, "newbie")
    page = c.get("/auth/mfa/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    frozen.advance(seconds=31)
    r = c.post("/auth/mfa/enrol", data={"code": pyotp.TOTP(secret).at(frozen.now),
                                        "csrf_token": csrf_from(page)})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and len(re.findall(r"<code>[A-Z0-9-]{12}</code>", body)) == 10
    _assert_old_refused_new_works(app, c, before)
