"""Passkeys (WebAuthn) as the second factor: registration under My account, sign-in and step-up
with a passkey, and the refusals (another account's passkey, a copied authenticator, a used or
expired challenge, a wrong origin or relying party), each audited with nothing else changed.
The authenticator is ``tests/helpers/passkeys.SoftAuthenticator`` (real P-256 signatures); the
browser test is tests/browser/test_passkeys.py."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import select

from app.audit import alerts
from app.auth.models import Passkey, User
from app.db import db
from app.directory.models import Organisation
from tests.helpers.apps import Clock
from tests.helpers.audit import events
from tests.helpers.factories import World
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD, Auth
from tests.helpers.passkeys import (
    SoftAuthenticator,
    add_passkey,
    options_on,
    password_only,
    sign_in,
)


def _passkeys(app: Flask, world: World, username: str) -> list[Passkey]:
    with app.app_context():
        return list(db.session.execute(select(Passkey).where(
            Passkey.user_id == uuid.UUID(world.users[username]))).scalars())


def _registered(app: Flask, auth: Auth, world: World, username: str = "caseworker",
                **soft_args: object) -> SoftAuthenticator:
    soft = SoftAuthenticator(**soft_args)  # type: ignore[arg-type]
    c = auth.login(username)
    r = add_passkey(c, soft)
    assert r.status_code == 302 and r.location.endswith("/auth/passkeys"), r.status_code
    return soft


def test_register_then_sign_in_with_the_passkey(app: Flask, auth: Auth, world: World) -> None:
    soft = _registered(app, auth, world)
    [kept] = _passkeys(app, world, "caseworker")
    assert kept.label == "Work laptop" and kept.credential_id == soft.credential_id
    assert [(e.outcome, e.object_type, e.object_id) for e in events(app, "auth.passkey_added")] \
        == [("allowed", "passkey", str(kept.id))]
    c = app.test_client()
    page = password_only(c, "caseworker", PASSWORD)
    assert "Use a passkey" in page and "Or type a code" in page
    r = sign_in(c, soft, page)
    assert r.status_code == 302 and not r.location.endswith("/auth/mfa")
    assert c.get("/").status_code == 200
    [proof] = events(app, "auth.mfa_verified", reason="passkey")
    assert proof.object_id == world.users["caseworker"]
    [kept] = _passkeys(app, world, "caseworker")
    assert kept.sign_count == 1 and kept.last_used_at is not None
    listing = c.get("/auth/passkeys").get_data(as_text=True)
    assert "Work laptop" in listing and events(app, "auth.passkeys_view")


def test_a_counter_going_back_is_refused_and_stops_the_passkey(
        app: Flask, auth: Auth, world: World) -> None:
    soft = _registered(app, auth, world, counter=10)
    c = app.test_client()
    assert sign_in(c, soft, password_only(c, "caseworker", PASSWORD)).status_code == 302
    before = _passkeys(app, world, "caseworker")[0].sign_count
    c2 = app.test_client()
    r = sign_in(c2, soft, password_only(c2, "caseworker", PASSWORD), counter=before)  # a copy
    assert r.location.endswith("/auth/mfa")
    assert c2.get("/").location.endswith("/auth/mfa")  # not signed in
    [kept] = _passkeys(app, world, "caseworker")
    assert kept.sign_count == before and kept.disabled_at is not None
    assert [e.reason for e in events(app, "auth.mfa_failed")] == ["passkey_cloned"]
    # Stopped for good: even the real authenticator's next (higher) counter is refused.
    c3 = app.test_client()
    page = password_only(c3, "caseworker", PASSWORD)
    assert "Use a passkey" not in page  # no usable passkey left to offer: the code remains


def test_another_accounts_passkey_is_refused(app: Flask, auth: Auth, world: World) -> None:
    theirs = _registered(app, auth, world, "supervisor")
    _registered(app, auth, world, "caseworker")
    c = app.test_client()
    page = password_only(c, "caseworker", PASSWORD)
    # The supervisor's authenticator answers the caseworker's challenge.
    answer = theirs.sign(options_on(page))
    r = c.post("/auth/mfa/passkey", data={"csrf_token": csrf_from(page), "answer": answer})
    assert r.location.endswith("/auth/mfa")
    assert c.get("/").location.endswith("/auth/mfa")
    [failed] = events(app, "auth.mfa_failed")
    assert failed.reason == "passkey_other_account"
    assert failed.object_id == world.users["caseworker"]
    assert theirs.credential_id.hex() not in (failed.reason or "")
    assert _passkeys(app, world, "supervisor")[0].last_used_at is None


@pytest.mark.parametrize(("how", "reason"), [
    ({"origin": "http://evil.example"}, "passkey_refused"),
    ({"rp_id": "evil.example"}, "passkey_refused"),
    ({"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "passkey_refused"),
])
def test_a_wrong_origin_relying_party_or_challenge_is_refused(
        how: dict[str, str], reason: str, app: Flask, auth: Auth, world: World) -> None:
    soft = _registered(app, auth, world)
    c = app.test_client()
    page = password_only(c, "caseworker", PASSWORD)
    assert sign_in(c, soft, page, **how).location.endswith("/auth/mfa")
    assert [e.reason for e in events(app, "auth.mfa_failed")] == [reason]
    # The challenge was used up by the failed answer: a right answer to it is refused too.
    assert sign_in(c, soft, page).location.endswith("/auth/mfa")
    assert [e.reason for e in events(app, "auth.mfa_failed")] == [reason, "passkey_challenge"]
    assert _passkeys(app, world, "caseworker")[0].last_used_at is None


def test_an_expired_challenge_is_refused(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    soft = _registered(app, auth, world)
    c = app.test_client()
    page = password_only(c, "caseworker", PASSWORD)
    frozen.advance(minutes=11)
    assert sign_in(c, soft, page).location.endswith("/auth/mfa")
    assert [e.reason for e in events(app, "auth.mfa_failed")] == ["passkey_challenge"]


def test_failed_passkeys_count_toward_the_lockout(app: Flask, auth: Auth, world: World) -> None:
    soft = _registered(app, auth, world)
    c = app.test_client()
    page = password_only(c, "caseworker", PASSWORD)
    ends = []
    for _ in range(5):
        ends.append(sign_in(c, soft, page, origin="http://evil.example").location)
        page = c.get("/auth/mfa").get_data(as_text=True)
    assert [e.rsplit("/", 1)[-1] for e in ends] == ["mfa"] * 4 + ["login"]
    assert events(app, "auth.lockout", reason="too_many_code_failures")


def test_a_stale_dangerous_action_is_confirmed_with_a_passkey(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    soft = _registered(app, auth, world, "admin")
    c = auth.login("admin")
    uid = world.users["program_manager"]
    csrf = auth.csrf(c, f"/admin/users/{uid}")
    frozen.advance(minutes=6)
    page = c.post(f"/admin/users/{uid}/reset_mfa", data={"csrf_token": csrf})
    text = page.get_data(as_text=True)
    assert "Confirm it is you" in text and "Use a passkey" in text
    r = c.post(f"/admin/users/{uid}/reset_mfa", data={
        "csrf_token": csrf, "step_up_passkey": soft.sign(options_on(text))})
    assert r.status_code == 302
    [proof] = events(app, "auth.step_up")
    assert (proof.outcome, proof.reason) == ("allowed", "passkey")
    assert events(app, "user.mfa_reset")[0].reason.endswith("step_up")


def test_an_admins_reset_removes_the_passkeys(app: Flask, auth: Auth, world: World) -> None:
    _registered(app, auth, world, "program_manager")
    c = auth.login("admin")
    uid = world.users["program_manager"]
    r = c.post(f"/admin/users/{uid}/reset_mfa", data={"csrf_token": auth.csrf(c, f"/admin/users/{uid}")})
    assert r.status_code == 302
    assert _passkeys(app, world, "program_manager") == []
    assert events(app, "user.mfa_reset")[0].reason == "passkeys=1"


def _require(app: Flask, world: World, roles: str) -> None:
    with app.app_context():
        org = db.session.get(Organisation, uuid.UUID(world.ids["org"]))
        assert org is not None
        org.passkey_roles = roles
        db.session.commit()


def test_a_role_that_must_use_passkeys_registers_one_then_uses_only_it(
        app: Flask, auth: Auth, world: World) -> None:
    _require(app, world, "admin caseworker")
    c = auth.login("caseworker")  # no passkey yet: the code is accepted, then only the passkey pages
    assert c.get("/").location.endswith("/auth/passkeys")
    r = c.post("/auth/recovery-codes", data={"csrf_token": auth.csrf(c, "/auth/passkeys")})
    assert r.status_code == 303 and events(app, "auth.recovery_codes_regenerated") == []
    soft = SoftAuthenticator()
    assert add_passkey(c, soft).status_code == 302
    assert c.get("/").status_code == 200
    # Next sign-in: a code is refused, the passkey accepted.
    c2 = app.test_client()
    page = password_only(c2, "caseworker", PASSWORD)
    assert "codes are not accepted" in page and 'name="code"' not in page
    r = c2.post("/auth/mfa", data={"code": auth.code("caseworker"), "csrf_token": csrf_from(page)})
    assert r.location.endswith("/auth/mfa")
    assert [e.reason for e in events(app, "auth.mfa_failed")] == ["passkey_required"]
    assert sign_in(c2, soft, c2.get("/auth/mfa").get_data(as_text=True)).status_code == 302
    assert c2.get("/").status_code == 200
    # The last passkey of such a role cannot be removed.
    [kept] = _passkeys(app, world, "caseworker")
    r = c2.post(f"/auth/passkeys/{kept.id}/remove",
                data={"csrf_token": auth.csrf(c2, "/auth/passkeys")})
    assert r.status_code == 302 and len(_passkeys(app, world, "caseworker")) == 1
    assert [e.reason for e in events(app, "auth.passkey_removed")] == ["last_passkey"]


def test_a_passkey_is_removed_and_another_accounts_is_not_found(
        app: Flask, auth: Auth, world: World) -> None:
    _registered(app, auth, world, "supervisor")
    [theirs] = _passkeys(app, world, "supervisor")
    _registered(app, auth, world, "caseworker")
    [mine] = _passkeys(app, world, "caseworker")
    c = auth.login("caseworker")
    csrf = auth.csrf(c, "/auth/passkeys")
    assert c.post(f"/auth/passkeys/{theirs.id}/remove", data={"csrf_token": csrf}).status_code == 404
    assert len(_passkeys(app, world, "supervisor")) == 1
    assert c.post(f"/auth/passkeys/{mine.id}/remove", data={"csrf_token": csrf}).status_code == 302
    assert _passkeys(app, world, "caseworker") == []
    assert [(e.outcome, e.reason) for e in events(app, "auth.passkey_removed")] == [
        ("denied", "not_found"), ("allowed", None)]
    # Each registration and removal is a change of access the auditor's alerts list.
    with app.app_context():
        listed = [(a.action, str(a.actor_id)) for a in alerts.compute()["access"]]
    assert listed.count(("auth.passkey_added", world.users["caseworker"])) == 1
    assert listed.count(("auth.passkey_added", world.users["supervisor"])) == 1
    assert ("auth.passkey_removed", world.users["caseworker"]) in listed
    page = auth.login("auditor").get("/audit/alerts").get_data(as_text=True)
    assert "Passkey registered" in page and "Passkey removed" in page


def test_a_registration_answer_is_checked(app: Flask, auth: Auth, world: World) -> None:
    c = auth.login("caseworker")
    soft = SoftAuthenticator()
    page = c.post("/auth/passkeys/new", data={
        "label": "Phone", "csrf_token": auth.csrf(c, "/auth/passkeys")}).get_data(as_text=True)
    options = options_on(page)
    bad = soft.register(options, origin="http://evil.example")
    r = c.post("/auth/passkeys/add", data={"label": "Phone", "csrf_token": csrf_from(page),
                                           "answer": bad})
    assert r.status_code == 302 and _passkeys(app, world, "caseworker") == []
    # The challenge is gone with the refused answer.
    r = c.post("/auth/passkeys/add", data={"label": "Phone", "csrf_token": csrf_from(page),
                                           "answer": soft.register(options)})
    assert _passkeys(app, world, "caseworker") == []
    assert [(e.outcome, e.reason) for e in events(app, "auth.passkey_added")] == [
        ("denied", "passkey_refused"), ("denied", "passkey_challenge")]
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        assert user is not None and user.mfa_enrolled_at is not None


def test_the_relying_party_and_origin_come_from_the_settings(
        app: Flask, auth: Auth, world: World) -> None:
    site = {"rp_id": "amana.example.org", "origin": "https://amana.example.org"}
    app.config.update(WEBAUTHN_RP_ID=site["rp_id"], WEBAUTHN_ORIGIN=site["origin"])
    c = auth.login("caseworker")
    soft = SoftAuthenticator()
    page = c.post("/auth/passkeys/new", data={
        "label": "Phone", "csrf_token": auth.csrf(c, "/auth/passkeys")}).get_data(as_text=True)
    options = options_on(page)
    assert options["rp"]["id"] == site["rp_id"]
    r = c.post("/auth/passkeys/add", data={"label": "Phone", "csrf_token": csrf_from(page),
                                           "answer": soft.register(options, **site)})
    assert r.status_code == 302 and len(_passkeys(app, world, "caseworker")) == 1
    c2 = app.test_client()
    assert sign_in(c2, soft, password_only(c2, "caseworker", PASSWORD)).location.endswith(
        "/auth/mfa")  # signed for the request's host, not the configured site
    c3 = app.test_client()
    assert sign_in(c3, soft, password_only(c3, "caseworker", PASSWORD), **site).status_code == 302
    assert c3.get("/").status_code == 200
