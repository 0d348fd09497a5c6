"""First login: TOTP enrolment with a QR code, recovery codes shown once and usable once."""

from __future__ import annotations

import re
import uuid

import pyotp
from sqlalchemy import select

from app.auth.models import RecoveryCode, User
from app.db import db
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD


def _password_step(client, username):
    page = client.get("/auth/login").get_data(as_text=True)
    return client.post("/auth/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": csrf_from(page)})


def _enrol(client, frozen):
    page = client.get("/auth/mfa/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    frozen.advance(seconds=31)
    r = client.post("/auth/mfa/enrol", data={"code": pyotp.TOTP(secret).at(frozen.now),
                                             "csrf_token": csrf_from(page)})
    return secret, r


def test_first_login_enrols_with_qr_and_manual_key(app, client, frozen, world):
    r = _password_step(client, "newbie")
    assert r.location.endswith("/auth/mfa/enrol")
    page = client.get("/auth/mfa/enrol").get_data(as_text=True)
    assert 'src="/auth/mfa/qr.svg"' in page
    qr = client.get("/auth/mfa/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data and b"<script" not in qr.data
    assert qr.headers["Cache-Control"] == "no-store"
    assert client.get("/").location.endswith("/auth/mfa")  # not enrolled: nothing else
    secret, r = _enrol(client, frozen)
    body = r.get_data(as_text=True)
    codes = re.findall(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2})</code>", body)
    assert r.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["newbie"]))
        assert user.mfa_enrolled_at is not None
        assert secret.encode() not in user.totp_secret_sealed  # sealed, not stored as given
        stored = db.session.execute(select(RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user.id)).scalars().all()
        assert len(stored) == 10 and all(c.encode() not in h for c in codes for h in stored)
    # After enrolment the QR code is gone for good.
    assert client.get("/auth/mfa/qr.svg").status_code == 404


def test_wrong_enrolment_code_changes_nothing(app, client, frozen, world):
    _password_step(client, "newbie")
    page = client.get("/auth/mfa/enrol").get_data(as_text=True)
    r = client.post("/auth/mfa/enrol", data={"code": "000000", "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and "not accepted" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, uuid.UUID(world.users["newbie"])).mfa_enrolled_at is None


def test_recovery_code_works_once(app, client, frozen, world):
    _password_step(client, "newbie")
    _secret, r = _enrol(client, frozen)
    codes = re.findall(r"<code>([A-Z0-9-]{12})</code>", r.get_data(as_text=True))
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})

    def use(code):
        c = app.test_client()
        _password_step(c, "newbie")
        page = c.get("/auth/mfa").get_data(as_text=True)
        return c, c.post("/auth/mfa", data={"code": code.lower(), "csrf_token": csrf_from(page)})

    c1, r1 = use(codes[0])
    assert r1.status_code == 302 and c1.get("/").status_code == 200
    c2, r2 = use(codes[0])
    assert r2.status_code == 200 and "not accepted" in r2.get_data(as_text=True)
    assert c2.get("/").status_code == 302


def test_too_many_wrong_codes_end_the_session(app, client, world):
    _password_step(client, "caseworker")
    for _ in range(app.config["LOGIN_ACCOUNT_MAX_FAILURES"]):
        page = client.get("/auth/mfa").get_data(as_text=True)
        r = client.post("/auth/mfa", data={"code": "123456", "csrf_token": csrf_from(page)})
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    assert client.get("/auth/mfa").status_code == 302


def test_regenerated_recovery_codes_replace_old_ones(app, auth, world):
    c = auth.login("caseworker")
    r = c.post("/auth/recovery-codes", data={"csrf_token": auth.csrf(c, "/auth/sessions")})
    codes = re.findall(r"<code>([A-Z0-9-]{12})</code>", r.get_data(as_text=True))
    assert len(codes) == 10
    with app.app_context():
        unused = db.session.execute(select(RecoveryCode).where(
            RecoveryCode.user_id == uuid.UUID(world.users["caseworker"]),
            RecoveryCode.used_at.is_(None))).scalars().all()
        assert len(unused) == 10


def test_admin_mfa_reset_forces_new_enrolment(app, auth, world):
    victim = auth.login("caseworker2")
    admin = auth.login("admin")
    admin.post(f"/admin/users/{world.users['caseworker2']}/reset_mfa",
               data={"csrf_token": auth.csrf(admin)})
    assert victim.get("/").status_code == 200  # a second admin must approve first
    from tests.helpers.accounts import decide, grant_of

    admin2 = auth.login("admin2")
    assert decide(auth, admin2, grant_of(app, "caseworker2"), "approve").status_code == 302
    assert victim.get("/").status_code == 302
    c = app.test_client()
    r = _password_step(c, "caseworker2")
    assert r.location.endswith("/auth/mfa/enrol")
