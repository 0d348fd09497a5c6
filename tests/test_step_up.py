"""Step-up (issue 19, item 2): a dangerous action needs a second-factor proof within
``STEP_UP_MINUTES``; a stale POST does nothing and answers "Confirm it is you", carrying the
form back to the same action with the code; a right code lets the action run in that request,
a wrong or replayed one is refused, counted and audited. Authorization comes first.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from app.audit.models import AuditEvent
from app.auth import stepup
from app.auth.models import Passkey, RoleGrant, User
from app.auth.policy import Permission, rule_for
from app.cases.models import Case
from app.db import db
from tests.helpers.accounts import edit_user, grant_of, post_user
from tests.helpers.apps import Clock
from tests.helpers.audit import events
from tests.helpers.codes import code_at
from tests.helpers.factories import World
from tests.helpers.field import make_intake
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.login import Auth
from tests.helpers.passkeys import SoftAuthenticator, add_passkey, options_on

#: Every dangerous action, by endpoint, with why (README *Step-up*). A view marked ``@step_up``
#: and missing here, or listed here and not marked, fails ``test_the_marked_views_are_the_list``.
STEP_UP: dict[str, str] = {
    "cases.erase": "erasing a case destroys its key",
    "cases.break_glass": "opens a case outside one's sites",
    "referrals.new": "when a consent override is chosen: shares without the survivor's consent",
    "admin.user_new": "gives a new account a role and places",
    "admin.user_edit": "changes an account's role, organisation, sites or service",
    "admin.user_action": "reactivating an account, resetting its second factor (not deactivating, "
                         "not ending sessions: those take access away)",
    "admin.user_reset_password": "a credential reset, like the second factor's",
    "admin.grant_decide": "approving applies access or a credential reset (not refusing)",
    "auth.passkey_add": "a new credential: a stolen session must not add its own passkey",
    "auth.passkey_remove": "removes a credential of the account",
    "admin.user_sso_link": "a way into the account through the single sign-on provider",
    "admin.organisation_sso": "opens single sign-on for an organisation, or trusts the "
                              "provider's second factor instead of Amana's",
    "field.discard": "discarding a field intake destroys what was captured (its key)",
}
#: POST routes under a permission of ``DANGEROUS`` that are not marked, with why.
NOT_STEPPED_UP: dict[str, str] = {
    "recorder.download": "stricter already: the authenticator's current code on every download "
                         "(app.reports.recorder_export.check_code)",
    "admin.user_sso_unlink": "removing a single sign-on link takes access away",
}
#: Permissions whose POST routes are dangerous actions: a new route under one of them fails
#: ``test_every_post_under_a_dangerous_permission_is_listed`` until it is marked or exempted.
DANGEROUS = frozenset({Permission.CASE_ERASE, Permission.CASE_BREAK_GLASS,
                       Permission.REFERRAL_OVERRIDE, Permission.ADMIN_USERS,
                       Permission.STATS_RECORDER_EXPORT})

FORM_RE = re.compile(r'<form method="post" action="([^"]*)" novalidate>(.*?)</form>', re.S)
INPUT_RE = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')
JUSTIFICATION = "The survivor is in hospital and the team needs the plan tonight."


def test_the_marked_views_are_the_list(app: Flask) -> None:
    marked = {endpoint for endpoint, view in app.view_functions.items()
              if stepup.rule_of(view) is not None}
    assert marked == set(STEP_UP)


def test_every_post_under_a_dangerous_permission_is_listed(app: Flask) -> None:
    unlisted = sorted(
        rule.endpoint for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
        and rule_for(app.view_functions[rule.endpoint]) in DANGEROUS
        and rule.endpoint not in STEP_UP and rule.endpoint not in NOT_STEPPED_UP)
    assert unlisted == []


def _last_seq(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(sa.func.max(AuditEvent.seq))).scalar_one() or 0)


def _confirm(resp: TestResponse) -> tuple[str, MultiDict[str, str]]:
    """The "Confirm it is you" page's action and the fields it carries."""
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Confirm it is you" in text, text[:300]
    found = FORM_RE.search(text)
    assert found, "no confirm form"
    carried = MultiDict([(html.unescape(n), html.unescape(v))
                         for n, v in INPUT_RE.findall(found.group(2))])
    return html.unescape(found.group(1)), carried


def _code(world: World, frozen: Clock, username: str) -> str:
    frozen.advance(seconds=31)  # a step later than any code used before
    return code_at(world.secrets[username], frozen.now)


def _uid(world: World, username: str) -> str:
    return world.users[username]


# Each dangerous action: (who, set-up run while fresh, the stale POST as (path, data)).
Poster = Callable[[Flask, Auth, World, FlaskClient], tuple[str, Any]]


def _erase(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    path = f"/cases/{world.ids['case_own']}/erase"
    return path, {"confirm_number": world.case_numbers["case_own"], "reason": "survivor_request",
                  "csrf_token": csrf_from(c.get(path).get_data(as_text=True))}


def _break_glass(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    page = c.get("/cases/break-glass").get_data(as_text=True)
    return "/cases/break-glass", {"case_number": world.case_numbers["case_far"],
                                  "reason_code": "medical_emergency",
                                  "justification": JUSTIFICATION, **form_tokens(page)}


def _override(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    path = f"/referrals/new/{world.ids['case_own']}"
    page = c.get(f"{path}?service={world.ids['legal']}").get_data(as_text=True)
    return path, {"service": world.ids["legal"], "urgency": "normal", "message": "",
                  "override_code": "risk_to_life", "override_reason": JUSTIFICATION,
                  **form_tokens(page)}


def _user_new(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    page = c.get("/admin/users/new").get_data(as_text=True)
    return "/admin/users/new", MultiDict({
        "username": "new.auditor", "display_name": "Nadia Auditor", "role": "auditor",
        "organisation": world.ids["org"], "service": "", "language": "en",
        **form_tokens(page)})


def _user_edit(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    path = f"/admin/users/{_uid(world, 'program_manager')}"
    with app.app_context():
        user = db.session.get(User, uuid.UUID(_uid(world, "program_manager")))
        assert user is not None
        data = {"username": user.username, "display_name": "Renamed Manager", "role": "auditor",
                "organisation": str(user.organisation_id), "service": "",
                "language": user.language, "version": str(user.version)}
    data["csrf_token"] = csrf_from(c.get(path).get_data(as_text=True))
    return path, data


def _reset_mfa(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    uid = _uid(world, "program_manager")
    return f"/admin/users/{uid}/reset_mfa", {"csrf_token": auth.csrf(c, f"/admin/users/{uid}")}


def _reactivate(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    uid = _uid(world, "gone")
    return f"/admin/users/{uid}/reactivate", {"csrf_token": auth.csrf(c, f"/admin/users/{uid}")}


def _reset_password(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    uid = _uid(world, "program_manager")
    return (f"/admin/users/{uid}/reset-password",
            {"csrf_token": auth.csrf(c, f"/admin/users/{uid}")})


def _approve(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    asked = auth.login("admin2")
    assert edit_user(app, asked, world, "caseworker2",
                     sites=[world.ids["tripoli"], world.ids["benghazi"]]).status_code == 302
    grant = grant_of(app, "caseworker2")
    assert grant is not None
    return (f"/admin/grants/{grant.id}/approve",
            {"csrf_token": auth.csrf(c, "/admin/grants"), "version": str(grant.version)})


def _passkey_add(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    page = c.post("/auth/passkeys/new", data={"label": "Phone",
                                               "csrf_token": auth.csrf(c, "/auth/passkeys")})
    text = page.get_data(as_text=True)
    return "/auth/passkeys/add", {"label": "Phone", "csrf_token": csrf_from(text),
                                  "answer": SoftAuthenticator().register(options_on(text))}


def _passkey_remove(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    assert add_passkey(c, SoftAuthenticator()).status_code == 302
    with app.app_context():
        found = db.session.execute(select(Passkey.id)).scalar_one()
    return f"/auth/passkeys/{found}/remove", {"csrf_token": auth.csrf(c, "/auth/passkeys")}


def _sso_link(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    app.config.update(OIDC_ISSUER="https://idp.example.org", OIDC_CLIENT_ID="amana",
                      OIDC_CLIENT_SECRET="x" * 32)  # linking reads the settings, no network
    uid = _uid(world, "program_manager")
    return (f"/admin/users/{uid}/sso",
            {"subject": "subject-0009", "csrf_token": auth.csrf(c, f"/admin/users/{uid}")})


def _organisation_sso(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    path = f"/admin/directory/organisation/{world.ids['org']}/sso"
    return path, {"enabled": "y", "mfa_amr": "", "mfa_acr": "", "version": "0", **form_tokens(
        c.get(path).get_data(as_text=True))}


def _discard_intake(app: Flask, auth: Auth, world: World, c: FlaskClient) -> tuple[str, Any]:
    intake_id = make_intake(app, world.users["caseworker"])
    path = f"/field/intakes/{intake_id}/discard"
    page = c.get(f"/field/intakes/{intake_id}").get_data(as_text=True)
    return path, {"reason": "recorded_in_error", "confirm": "y", **form_tokens(page, path)}


ACTIONS: dict[str, tuple[str, Poster]] = {
    "field.discard": ("caseworker", _discard_intake),
    "auth.passkey_add": ("caseworker", _passkey_add),
    "auth.passkey_remove": ("auditor", _passkey_remove),
    "cases.erase": ("supervisor", _erase),
    "cases.break_glass": ("supervisor", _break_glass),
    "referrals.new": ("supervisor", _override),
    "admin.user_new": ("admin", _user_new),
    "admin.user_edit": ("admin", _user_edit),
    "admin.user_action:reset_mfa": ("admin", _reset_mfa),
    "admin.user_action:reactivate": ("admin", _reactivate),
    "admin.user_reset_password": ("admin", _reset_password),
    "admin.grant_decide:approve": ("admin", _approve),
    "admin.user_sso_link": ("admin", _sso_link),
    "admin.organisation_sso": ("admin", _organisation_sso),
}


def test_every_listed_action_is_tried_here() -> None:
    assert {name.split(":")[0] for name in ACTIONS} == set(STEP_UP)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_stale_post_does_nothing_then_the_code_lets_it_run(
        name: str, app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    username, poster = ACTIONS[name]
    c = auth.login(username)
    path, data = poster(app, auth, world, c)
    frozen.advance(minutes=6)
    before = _last_seq(app)
    action, carried = _confirm(c.post(path, data=data))
    # Nothing done, nothing written; the input comes back whole, in the page, not the URL.
    assert _last_seq(app) == before
    assert action == path and "?" not in action
    sent = MultiDict(data)
    assert sorted(carried.items(multi=True)) == sorted(sent.items(multi=True))
    carried[stepup.CODE_FIELD] = _code(world, frozen, username)
    r = c.post(action, data=carried)
    assert r.status_code in (200, 302) and "Confirm it is you" not in r.get_data(as_text=True)
    written = [e for e in events(app) if e.seq > before]
    proof = [e for e in written if e.action == "auth.step_up"]
    assert [(e.outcome, e.reason, e.object_id) for e in proof] == [
        ("allowed", "totp", name.split(":")[0])]
    done = [e for e in written if e.action != "auth.step_up"]
    assert done and all(e.reason and e.reason.endswith(";step_up") or e.reason == "step_up"
                        for e in done), [(e.action, e.reason) for e in done]
    assert {e.request_id for e in written} == {proof[0].request_id}


def test_erase_refused_when_stale_keeps_the_case(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    c = auth.login("supervisor")
    path, data = _erase(app, auth, world, c)
    frozen.advance(minutes=6)
    _confirm(c.post(path, data=data))
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(world.ids["case_own"])) is not None
    assert events(app, "case.erase") == []


def test_a_proof_is_remembered_for_the_window_only(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    app.config["STEP_UP_MINUTES"] = 10
    admin = auth.login("admin")
    path, data = _reset_password(app, auth, world, admin)
    frozen.advance(minutes=9)  # inside the window since sign-in: no question
    assert "reset-code" in admin.post(path, data=data).get_data(as_text=True)
    frozen.advance(minutes=2)  # eleven minutes since the code: asked
    path, data = _reset_password(app, auth, world, admin)
    action, carried = _confirm(admin.post(path, data=data))
    carried[stepup.CODE_FIELD] = _code(world, frozen, "admin")
    assert "reset-code" in admin.post(action, data=carried).get_data(as_text=True)
    frozen.advance(minutes=9)  # remembered from the step-up, not from sign-in
    path, data = _reset_password(app, auth, world, admin)
    r = admin.post(path, data=data)
    assert "reset-code" in r.get_data(as_text=True)
    assert events(app, "user.password_reset_issued")[-1].reason is None  # no code this time
    frozen.advance(minutes=2)
    path, data = _reset_password(app, auth, world, admin)
    _confirm(admin.post(path, data=data))


def _stale_reset_mfa(app: Flask, auth: Auth, world: World,
                     frozen: Clock) -> tuple[FlaskClient, str, MultiDict[str, str]]:
    admin = auth.login("admin")
    path, data = _reset_mfa(app, auth, world, admin)
    frozen.advance(minutes=6)
    action, carried = _confirm(admin.post(path, data=data))
    return admin, action, carried


def _mfa_kept(app: Flask, world: World) -> bool:
    with app.app_context():
        user = db.session.get(User, uuid.UUID(_uid(world, "program_manager")))
        assert user is not None
        pending = db.session.execute(select(RoleGrant)).scalars().all()
        return user.totp_secret_sealed is not None and pending == []


def test_a_wrong_code_is_refused_beside_the_field_counted_and_audited(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    admin, action, carried = _stale_reset_mfa(app, auth, world, frozen)
    right = code_at(world.secrets["admin"], frozen.now)
    carried[stepup.CODE_FIELD] = "000000" if right != "000000" else "111111"
    r = admin.post(action, data=carried)
    again, kept = _confirm(r)
    text = r.get_data(as_text=True)
    assert "This code is not right" in text
    assert 'aria-describedby="step_up_code-error-1"' in text
    assert again == action and kept.get("csrf_token") == carried["csrf_token"]
    assert _mfa_kept(app, world)
    refused = events(app, "auth.step_up")
    assert [(e.outcome, e.reason, e.object_id) for e in refused] == [
        ("denied", "bad_code", "admin.user_action")]
    # Counted with the sign-in failures: the fifth wrong code locks the account and ends the
    # session.
    for _ in range(4):
        r = admin.post(action, data=carried)
    assert r.status_code == 302 and "/auth/login" in r.location
    assert events(app, "auth.lockout")[-1].reason == "too_many_code_failures"
    assert admin.get("/").status_code == 302
    assert _mfa_kept(app, world)


def test_a_step_up_code_cannot_be_replayed_nor_a_recovery_code_used(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    app.config["STEP_UP_MINUTES"] = 0.1  # six seconds: stale again within one code's life
    admin = auth.login("admin")
    frozen.advance(seconds=10)
    path, data = _reset_password(app, auth, world, admin)
    action, carried = _confirm(admin.post(path, data=data))
    carried[stepup.CODE_FIELD] = _code(world, frozen, "admin")
    assert "reset-code" in admin.post(action, data=carried).get_data(as_text=True)
    frozen.advance(seconds=10)
    path, data = _reset_password(app, auth, world, admin)
    action, again = _confirm(admin.post(path, data=data))
    again[stepup.CODE_FIELD] = carried[stepup.CODE_FIELD]  # the same code, still in its window
    r = admin.post(action, data=again)
    _confirm(r)
    assert "already been used" in r.get_data(as_text=True)
    again[stepup.CODE_FIELD] = "K7QM-2XPA-9D"  # a recovery code's shape
    r = admin.post(action, data=again)
    assert "A recovery code is not accepted here" in r.get_data(as_text=True)
    assert [(e.outcome, e.reason) for e in events(app, "auth.step_up")] == [
        ("allowed", "totp"), ("denied", "replayed_code"), ("denied", "not_a_totp_code")]
    assert len(events(app, "user.password_reset_issued")) == 1


def test_the_code_of_sign_in_cannot_be_replayed_for_a_step_up(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    app.config["STEP_UP_MINUTES"] = 0.1
    admin = auth.login("admin")
    used = code_at(world.secrets["admin"], frozen.now)  # the code sign-in just accepted
    frozen.advance(seconds=10)
    path, data = _reset_password(app, auth, world, admin)
    action, carried = _confirm(admin.post(path, data=data))
    carried[stepup.CODE_FIELD] = used
    r = admin.post(action, data=carried)
    assert "already been used" in r.get_data(as_text=True)
    assert [e.reason for e in events(app, "auth.step_up")] == ["replayed_code"]
    assert events(app, "user.password_reset_issued") == []


def test_authorization_comes_first(app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    c = auth.login("caseworker")
    csrf = auth.csrf(c)
    frozen.advance(minutes=6)
    for path in (f"/cases/{world.ids['case_own']}/erase", "/cases/break-glass",
                 f"/admin/users/{_uid(world, 'caseworker2')}/reset_mfa"):
        assert c.post(path, data={"csrf_token": csrf}).status_code == 403
    assert events(app, "auth.step_up") == []


def test_safe_halves_of_a_marked_route_never_ask(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    admin = auth.login("admin")
    uid = _uid(world, "program_manager")
    csrf = auth.csrf(admin, f"/admin/users/{uid}")
    frozen.advance(minutes=6)
    r = admin.post(f"/admin/users/{uid}/end_sessions", data={"csrf_token": csrf})
    assert r.status_code == 302
    r = admin.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": csrf})
    assert r.status_code == 302
    with app.app_context():
        user = db.session.get(User, uuid.UUID(uid))
        assert user is not None and not user.active


def test_the_confirm_page_needs_the_forms_csrf_token(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    c = auth.login("supervisor")
    path, data = _erase(app, auth, world, c)
    frozen.advance(minutes=6)
    action, carried = _confirm(c.post(path, data=data))
    del carried["csrf_token"]
    carried[stepup.CODE_FIELD] = _code(world, frozen, "supervisor")
    assert c.post(action, data=carried).status_code == 400
    assert events(app, "auth.step_up") == [] and events(app, "case.erase") == []


def test_a_new_account_post_carries_its_one_time_token(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    admin = auth.login("admin")
    frozen.advance(minutes=6)
    r = post_user(admin, world, "/admin/users/new", username="new.auditor", role="auditor",
                  sites=[])
    action, carried = _confirm(r)
    assert carried.get("submission_token")
    carried[stepup.CODE_FIELD] = _code(world, frozen, "admin")
    first = admin.post(action, data=carried)
    assert first.status_code == 200 and "reset-code" in first.get_data(as_text=True)
    again = admin.post(action, data=carried)  # the tired user posts twice: no second account
    assert again.status_code in (200, 302)
    with app.app_context():
        assert len(db.session.execute(select(User).where(User.username == "new.auditor"))
                   .scalars().all()) == 1


def test_a_step_up_replaces_the_session_token(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    admin = auth.login("admin")
    path, data = _reset_password(app, auth, world, admin)
    frozen.advance(minutes=6)
    action, carried = _confirm(admin.post(path, data=data))
    cookie = admin.get_cookie("amana")
    assert cookie is not None
    before = cookie.value  # what a thief read from the shared device before the code
    carried[stepup.CODE_FIELD] = _code(world, frozen, "admin")
    assert "reset-code" in admin.post(action, data=carried).get_data(as_text=True)
    thief = app.test_client()
    thief.set_cookie("amana", before)
    r = thief.get("/admin/users")
    assert r.status_code == 302 and "/auth/login" in r.location
    assert admin.get("/admin/users").status_code == 200


def test_the_window_is_five_minutes_by_default(
        app: Flask, auth: Auth, world: World, frozen: Clock) -> None:
    assert app.config["STEP_UP_MINUTES"] == 5
    admin = auth.login("admin")
    frozen.advance(minutes=4, seconds=59)
    path, data = _reset_password(app, auth, world, admin)
    assert "reset-code" in admin.post(path, data=data).get_data(as_text=True)
    frozen.advance(seconds=2)
    path, data = _reset_password(app, auth, world, admin)
    _confirm(admin.post(path, data=data))
