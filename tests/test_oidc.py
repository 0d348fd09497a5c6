"""Single sign-on with OpenID Connect, against a local provider started here
(tests/helpers/oidc_provider.py): the sign-in, the second factor asked or trusted, and every
refusal (forged, wrong audience or issuer, expired, no or another nonce, a replayed token, a
replayed return, ``alg: none``, HS256 keyed with the public key, unknown or disabled account,
another organisation): each refused with a page that says so, audited, with nothing changed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.auth import oidc, throttle
from app.auth.models import AuthSession, User
from app.auth.oidc_models import OidcIdentity, OrganisationSso
from app.db import db
from app.directory.models import Organisation
from tests.helpers.apps import Clock, make_app
from tests.helpers.audit import events
from tests.helpers.codes import code_at
from tests.helpers.factories import World
from tests.helpers.forms import csrf_from
from tests.helpers.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    at_provider,
    back,
    link,
    settings,
    sign_in,
    sso_app,
)
from tests.helpers.passkeys import SoftAuthenticator, add_passkey
from tests.helpers.passkeys import sign_in as passkey_sign_in

SUBJECT = "subject-0001"


@pytest.fixture
def sso(db_uri: str, instance_dir: Path, frozen: Clock, provider: Provider,
        world: World) -> Iterator[Flask]:
    """An app whose provider is the local one; the caseworker is linked to ``SUBJECT`` and the
    test organisation has single sign-on on (its provider's second factor not trusted)."""
    with sso_app(db_uri, instance_dir, provider, SUBJECT, OIDC_NAME="Test IdP",
                 OIDC_TIMEOUT=5) as app:
        link(app, world, "caseworker", SUBJECT, provider.issuer)
        settings(app, world.ids["org"], enabled=True)
        yield app


def snapshot(app: Flask) -> tuple[int, ...]:
    """What a refused sign-in must leave as it was."""
    with app.app_context():
        def count(model: Any, *where: Any) -> int:
            return int(db.session.execute(
                select(func.count()).select_from(model).where(*where)).scalar_one())
        return (count(User), count(AuthSession), count(AuthSession, AuthSession.mfa_at.is_not(None)),
                count(OidcIdentity), count(OrganisationSso),
                int(db.session.execute(select(func.sum(User.version))).scalar_one()))


def _signed_out(c: FlaskClient) -> bool:
    r = c.get("/")
    return r.status_code == 302 and "/auth/login" in r.location


def _refused(app: Flask, resp: TestResponse, reason: str) -> None:
    assert resp.status_code == 400
    assert "Sign-in not completed" in resp.get_data(as_text=True)
    failed = events(app, "auth.login_failed")
    assert failed and failed[-1].reason == f"sso;{reason}", [e.reason for e in failed]
    assert failed[-1].outcome == "denied"


# --- Signing in ---------------------------------------------------------------------------------

def test_the_login_page_offers_the_provider_only_when_set_up(sso: Flask, app: Flask) -> None:
    assert "Sign in with Test IdP" in sso.test_client().get("/auth/login").get_data(as_text=True)
    assert "Sign in with" not in app.test_client().get("/auth/login").get_data(as_text=True)


def test_a_linked_account_still_gives_amanas_code(sso: Flask, world: World,
                                                  frozen: Clock) -> None:
    c, back = sign_in(sso)
    page = back.get_data(as_text=True)
    assert back.status_code == 200 and 'content="0;url=/auth/mfa"' in page
    assert c.get("/").location.endswith("/auth/mfa")  # the code is still to come
    login = events(sso, "auth.login")[-1]
    assert (login.reason, login.object_id) == ("sso;mfa_asked", world.users["caseworker"])
    frozen.advance(seconds=31)
    form = c.get("/auth/mfa").get_data(as_text=True)
    r = c.post("/auth/mfa", data={"code": code_at(world.secrets["caseworker"], frozen.now),
                                  "csrf_token": csrf_from(form)})
    assert r.status_code == 302 and c.get("/").status_code == 200


def test_the_page_asked_for_before_signing_in_opens_after_it(sso: Flask, provider: Provider,
                                                             world: World, frozen: Clock) -> None:
    """Sent to sign in from a case page, the person signs in with the provider and lands on
    that page after the second step; a next address off the site is dropped."""
    case = f"/cases/{world.ids['case_own']}"
    c = sso.test_client()
    to_login = c.get(case)
    assert to_login.status_code == 302 and "/auth/login?next=" in to_login.location
    page = c.get(to_login.location).get_data(as_text=True)
    start = unescape(re.search(r'href="(/auth/oidc/start\?next=[^"]+)"', page).group(1))
    c, back = sign_in(sso, c, start)
    assert 'content="0;url=/auth/mfa"' in back.get_data(as_text=True)
    assert any(h.startswith("amana-sso-next=;") for h in back.headers.getlist("Set-Cookie"))
    frozen.advance(seconds=31)
    form = c.get("/auth/mfa").get_data(as_text=True)
    r = c.post("/auth/mfa", data={"code": code_at(world.secrets["caseworker"], frozen.now),
                                  "csrf_token": csrf_from(form)})
    assert r.status_code == 302 and r.location == case
    # Trusted provider factor: straight to the page; a hostile next is dropped.
    settings(sso, world.ids["org"], trust_mfa=True)
    provider.claims = {"amr": ["otp"], "auth_time": int(oidc.utcnow().timestamp())}
    _, back = sign_in(sso, None, f"/auth/oidc/start?next={case}")
    assert f'content="0;url={case}"' in back.get_data(as_text=True)
    _, back = sign_in(sso, None, "/auth/oidc/start?next=https://evil.example/x")
    assert 'content="0;url=/"' in back.get_data(as_text=True)


def test_a_trusted_provider_factor_skips_the_code(sso: Flask, provider: Provider,
                                                  world: World) -> None:
    settings(sso, world.ids["org"], trust_mfa=True)
    provider.claims = {"amr": ["pwd", "otp"], "auth_time": int(oidc.utcnow().timestamp())}
    c, back = sign_in(sso)
    assert 'content="0;url=/"' in back.get_data(as_text=True)
    assert c.get("/").status_code == 200
    assert events(sso, "auth.login")[-1].reason == "sso;mfa_trusted"
    assert events(sso, "auth.mfa_verified")[-1].reason == "provider_mfa"


@pytest.mark.parametrize("claims, reason", [
    ({}, "mfa_claim_missing"),
    ({"amr": ["pwd"], "auth_time": 0}, "mfa_claim_missing"),
    ({"amr": ["mfa"]}, "mfa_claim_stale"),  # when the person signed in at the provider: unsaid
    ({"amr": ["mfa"], "auth_time": -3600}, "mfa_claim_stale"),
])
def test_a_trusted_provider_without_a_recent_second_factor_asks_for_the_code(
        sso: Flask, provider: Provider, world: World, claims: dict[str, Any], reason: str) -> None:
    settings(sso, world.ids["org"], trust_mfa=True)
    now = int(oidc.utcnow().timestamp())
    provider.claims = {k: (now + v if k == "auth_time" and v else v) for k, v in claims.items()}
    c, back = sign_in(sso)
    assert 'content="0;url=/auth/mfa"' in back.get_data(as_text=True)
    assert c.get("/").location.endswith("/auth/mfa")
    assert events(sso, "auth.login")[-1].reason == f"sso;{reason}"


def test_a_role_that_must_use_passkeys_is_asked_for_its_passkey_whatever_the_provider_says(
        sso: Flask, provider: Provider, world: World) -> None:
    """The organisation requires passkeys for caseworkers and trusts the provider's second
    factor: the provider's factor (an OTP, phishable) does not stand for the passkey. Amana asks
    for the passkey, and nothing else signs in."""
    settings(sso, world.ids["org"], trust_mfa=True)
    soft = SoftAuthenticator()
    first, _page = sign_in(sso)  # not trusted yet: the code, then the passkey registered
    mfa_page = first.get("/auth/mfa").get_data(as_text=True)
    code = code_at(world.secrets["caseworker"], oidc.utcnow())
    assert first.post("/auth/mfa", data={"code": code, "csrf_token": csrf_from(mfa_page)}
                      ).status_code == 302
    with sso.app_context():
        org = db.session.get(Organisation, uuid.UUID(world.ids["org"]))
        assert org is not None
        org.passkey_roles = "caseworker"
        db.session.commit()
    assert add_passkey(first, soft).status_code == 302
    provider.claims = {"amr": ["pwd", "otp"], "auth_time": int(oidc.utcnow().timestamp())}
    c, back_page = sign_in(sso)
    assert 'content="0;url=/auth/mfa"' in back_page.get_data(as_text=True)
    assert c.get("/").location.endswith("/auth/mfa")
    assert events(sso, "auth.login")[-1].reason == "sso;mfa_passkey_required"
    mfa_page = c.get("/auth/mfa").get_data(as_text=True)
    assert 'name="code"' not in mfa_page
    assert passkey_sign_in(c, soft, mfa_page).status_code == 302
    assert c.get("/").status_code == 200


def test_an_acr_value_can_stand_for_the_second_factor(sso: Flask, provider: Provider,
                                                      world: World) -> None:
    settings(sso, world.ids["org"], trust_mfa=True, mfa_acr="urn:example:mfa")
    provider.claims = {"acr": "urn:example:mfa", "auth_time": int(oidc.utcnow().timestamp())}
    c, _back_page = sign_in(sso)
    assert c.get("/").status_code == 200


def test_the_pledge_and_a_forced_password_change_still_come_first(
        sso: Flask, provider: Provider, world: World) -> None:
    settings(sso, world.ids["org"], trust_mfa=True)
    provider.claims = {"amr": ["mfa"], "auth_time": int(oidc.utcnow().timestamp())}
    with sso.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        assert user is not None
        user.must_change_password = True
        db.session.commit()
    c, _page = sign_in(sso)
    assert c.get("/").location.endswith("/auth/password")
    with sso.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        assert user is not None
        user.must_change_password = False
        user.organisation.pledge_number = 1  # a pledge this account has not accepted
        db.session.commit()
    assert "/auth/pledge" in c.get("/").location


# --- Every refusal: a page, an event, nothing changed ------------------------------------------

BAD_TOKENS = [("forged", "bad_signature"), ("audience", "bad_audience"),
              ("issuer", "bad_issuer"), ("expired", "expired_token"),
              ("no_nonce", "missing_nonce"), ("nonce", "bad_nonce"),
              ("alg_none", "bad_algorithm"), ("hs256", "bad_algorithm")]


@pytest.mark.parametrize("bad, reason", BAD_TOKENS, ids=[b for b, _r in BAD_TOKENS])
def test_a_bad_id_token_is_refused(sso: Flask, provider: Provider, bad: str,
                                   reason: str) -> None:
    before = snapshot(sso)
    provider.bad = bad
    c, back = sign_in(sso)
    _refused(sso, back, reason)
    assert _signed_out(c) and snapshot(sso) == before


def test_a_replayed_id_token_is_refused_by_its_nonce(sso: Flask, provider: Provider) -> None:
    sign_in(sso)  # a real sign-in; its token is then sent again for another one
    before = snapshot(sso)
    provider.bad = "replay"
    c, back = sign_in(sso)
    _refused(sso, back, "bad_nonce")
    assert _signed_out(c) and snapshot(sso) == before


def test_a_return_is_used_once_and_only_by_its_browser(sso: Flask, provider: Provider) -> None:
    c = sso.test_client()
    start = c.get("/auth/oidc/start")
    binding = c.get_cookie("amana-sso", path="/auth/oidc/callback")
    assert binding is not None
    location = at_provider(start.location)
    thief = sso.test_client()  # the same return from another browser (no binding cookie)
    before = snapshot(sso)
    _refused(sso, back(thief, location), "bad_binding")
    assert snapshot(sso) == before
    assert back(c, location).status_code == 200  # the browser that started it
    after = snapshot(sso)
    c.set_cookie("amana-sso", binding.value, path="/auth/oidc/callback")
    _refused(sso, back(c, location), "replayed_state")
    assert snapshot(sso) == after
    assert provider.tokens_issued >= 1


def test_a_return_after_ten_minutes_is_refused(sso: Flask, frozen: Clock) -> None:
    c = sso.test_client()
    location = at_provider(c.get("/auth/oidc/start").location)
    frozen.advance(minutes=11)
    before = snapshot(sso)
    _refused(sso, back(c, location), "expired_request")
    assert _signed_out(c) and snapshot(sso) == before


def test_an_unknown_subject_is_refused_without_naming_it(sso: Flask, provider: Provider) -> None:
    provider.subject = "someone-nobody-linked-7731"
    before = snapshot(sso)
    c, back = sign_in(sso)
    assert back.status_code == 400
    event = events(sso, "auth.login_failed")[-1]
    assert event.reason is not None and event.reason.startswith("sso;unknown_subject;subject=")
    assert "7731" not in (event.reason or "") and event.object_id is None
    assert _signed_out(c) and snapshot(sso) == before


def test_the_refusal_page_is_the_same_for_every_reason(sso: Flask, provider: Provider,
                                                       world: World) -> None:
    provider.subject = "nobody"
    first = sign_in(sso)[1].get_data(as_text=True)
    provider.subject, provider.bad = SUBJECT, "forged"
    second = sign_in(sso)[1].get_data(as_text=True)
    def same(page: str) -> list[str]:  # tokens and the language form's way back differ
        return [line for line in page.splitlines()
                if not any(w in line for w in ("csrf", "nonce", 'name="next"'))]
    assert same(first) == same(second)


@pytest.mark.parametrize("change, reason", [
    ("inactive", "inactive"), ("pending", "awaiting_approval"), ("org_off", "sso_disabled"),
    ("locked", "locked"), ("org_inactive", "organisation_inactive")])
def test_an_account_that_may_not_sign_in_is_refused(sso: Flask, world: World, change: str,
                                                   reason: str) -> None:
    with sso.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        assert user is not None
        if change == "inactive":
            user.active = False
        elif change == "pending":
            user.approval_pending = True
        elif change == "org_inactive":
            user.organisation.active = False
        db.session.commit()
    if change == "org_off":
        settings(sso, world.ids["org"], enabled=False)
    if change == "locked":
        with sso.test_request_context():
            for _ in range(5):
                throttle.register_failure("caseworker")
    before = snapshot(sso)
    c, back = sign_in(sso)
    _refused(sso, back, reason)
    assert events(sso, "auth.login_failed")[-1].object_id == world.users["caseworker"]
    assert _signed_out(c) and snapshot(sso) == before


def test_a_subject_linked_in_an_organisation_without_sso_cannot_sign_in(
        sso: Flask, world: World) -> None:
    """Single sign-on on for the partner organisation only: the test organisation's linked
    account is refused."""
    settings(sso, world.ids["org"], enabled=False)
    settings(sso, world.ids["other_org"], enabled=True, trust_mfa=True)
    before = snapshot(sso)
    c, back = sign_in(sso)
    _refused(sso, back, "sso_disabled")
    assert _signed_out(c) and snapshot(sso) == before


JUNK = ["", "\x00", "a" * 5000, "../../etc", "%00", "<script>", "\u202e", "' OR 1=1 --"]


def test_junk_on_the_return_is_a_clear_refusal(sso: Flask) -> None:
    sso.config["LOGIN_ADDRESS_LIMIT"] = "1000 per minute"
    c = sso.test_client()
    c.get("/auth/oidc/start")
    for value in JUNK:
        for query in ({"code": value, "state": value}, {"state": value},
                      {"error": value, "state": value}, {"code": value}):
            r = c.get("/auth/oidc/callback", query_string=query)
            assert r.status_code == 400 and "Sign-in not completed" in r.get_data(as_text=True)
    reasons = {e.reason for e in events(sso, "auth.login_failed")}
    assert reasons <= {"sso;no_state", "sso;unknown_state", "sso;provider_error"}
    assert _signed_out(c)


def test_the_return_is_limited_per_address_like_the_login_form(sso: Flask) -> None:
    c = sso.test_client()
    statuses = [c.get("/auth/oidc/callback", query_string={"state": "x", "code": "y"}).status_code
                for _ in range(31)]
    assert statuses[:30] == [400] * 30 and statuses[30] == 429


def test_the_provider_saying_no_is_refused(sso: Flask) -> None:
    c = sso.test_client()
    c.get("/auth/oidc/start")
    r = c.get("/auth/oidc/callback", query_string={"error": "access_denied", "state": "x"})
    _refused(sso, r, "provider_error")


def test_an_unreachable_provider_sends_back_to_the_login_page(
        db_uri: str, instance_dir: Path, frozen: Clock) -> None:
    oidc.forget()
    app = make_app(db_uri, instance_dir, OIDC_ISSUER="http://127.0.0.1:9", OIDC_TIMEOUT=1,
                   OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET)
    r = app.test_client().get("/auth/oidc/start")
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    assert events(app, "auth.login_failed")[-1].reason == "sso;provider_unreachable"


def test_without_a_provider_the_pages_lead_back_to_login(app: Flask) -> None:
    c = app.test_client()
    r = c.get("/auth/oidc/start")
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    assert c.get("/auth/oidc/callback").status_code == 302
    assert c.get("/auth/oidc/callback", query_string={"code": "x", "state": "y"}).status_code == 404


def test_settings_that_cannot_work_stop_the_start() -> None:
    from app.config import ConfigError, check_oidc

    good = {"OIDC_ISSUER": "https://idp.example.org", "OIDC_CLIENT_ID": "amana",
            "OIDC_CLIENT_SECRET": "s3cret-value"}
    check_oidc(good, production=True)
    check_oidc({**good, "OIDC_ISSUER": None}, production=True)  # off
    for bad, production in (({"OIDC_CLIENT_SECRET": None}, False),
                            ({"OIDC_ISSUER": "http://idp.example.org"}, True),
                            ({"OIDC_ISSUER": "https://idp.example.org/?x=1"}, False),
                            ({"OIDC_ISSUER": "idp.example.org"}, False)):
        with pytest.raises(ConfigError) as refused:
            check_oidc({**good, **bad}, production=production)
        assert "s3cret-value" not in str(refused.value)


def test_a_discovery_document_naming_another_issuer_is_refused(
        db_uri: str, instance_dir: Path, frozen: Clock, provider: Provider) -> None:
    oidc.forget()
    app = make_app(db_uri, instance_dir, OIDC_ISSUER=provider.issuer + "/", OIDC_TIMEOUT=5,
                   OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET)
    r = app.test_client().get("/auth/oidc/start")
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    assert events(app, "auth.login_failed")[-1].reason == "sso;bad_discovery"
