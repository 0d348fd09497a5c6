"""Single sign-on administration: an admin links an account to its subject at the provider (never
automatic), removes the link, and sets an organisation's single sign-on; each audited, the
subject never in clear in the trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth.oidc_models import OidcIdentity, OrganisationSso
from app.db import db
from tests.helpers.accounts import decide, grant_of
from tests.helpers.apps import Clock
from tests.helpers.audit import events
from tests.helpers.factories import World
from tests.helpers.forms import csrf_from
from tests.helpers.login import Auth
from tests.helpers.oidc_provider import (
    Provider,
    settings,
    sign_in,
    sso_app,
)

SUBJECT = "a1b2c3-stable-subject"


@pytest.fixture
def sso(db_uri: str, instance_dir: Path, frozen: Clock, provider: Provider) -> Iterator[Flask]:
    with sso_app(db_uri, instance_dir, provider, SUBJECT) as app:
        yield app


@pytest.fixture
def admin(sso: Flask, world: World, frozen: Clock) -> FlaskClient:
    return Auth(sso, world, frozen).login("admin")


def _post_link(admin: FlaskClient, world: World, username: str, subject: str) -> str:
    uid = world.users[username]
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    r = admin.post(f"/admin/users/{uid}/sso", data={"subject": subject,
                                                   "csrf_token": csrf_from(page)},
                   follow_redirects=True)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _identities(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(str(i.user_id), i.subject) for i in db.session.execute(
            select(OidcIdentity)).scalars()]


def test_an_admin_links_an_account_which_then_signs_in(sso: Flask, admin: FlaskClient,
                                                       world: World) -> None:
    page = _post_link(admin, world, "program_manager", SUBJECT)
    assert "Linked: this account may now sign in" in page and SUBJECT in page
    assert _identities(sso) == [(world.users["program_manager"], SUBJECT)]
    linked = events(sso, "user.sso_link")[-1]
    assert linked.object_id == world.users["program_manager"] and linked.outcome == "allowed"
    assert linked.reason and linked.reason.startswith("subject=") and SUBJECT not in linked.reason
    settings(sso, world.ids["org"], enabled=True)
    c, back = sign_in(sso)
    assert back.status_code == 200 and c.get("/").location.endswith("/auth/mfa")
    assert events(sso, "auth.login")[-1].object_id == world.users["program_manager"]


def test_a_subject_links_one_account_and_an_account_one_subject(
        sso: Flask, admin: FlaskClient, world: World) -> None:
    _post_link(admin, world, "caseworker2", SUBJECT)
    page = _post_link(admin, world, "supervisor", SUBJECT)
    assert "already linked to another account" in page
    page = _post_link(admin, world, "caseworker2", "another-subject")
    assert "already linked to a subject" in page
    assert _identities(sso) == [(world.users["caseworker2"], SUBJECT)]
    refused = [e.reason.split(";")[0] for e in events(sso, "user.sso_link")
               if e.outcome == "denied" and e.reason]
    assert refused == ["subject_taken", "already_linked"]


@pytest.mark.parametrize("subject", [" padded", "tab\there", "bidi\u202eflip", "x" * 256])
def test_a_subject_that_cannot_be_one_is_refused(sso: Flask, admin: FlaskClient, world: World,
                                                 subject: str) -> None:
    page = _post_link(admin, world, "caseworker2", subject)
    assert "exactly as the provider names it" in page or "at most 255" in page
    assert _identities(sso) == []


def test_removing_the_link_ends_sign_in_through_the_provider(
        sso: Flask, admin: FlaskClient, world: World) -> None:
    _post_link(admin, world, "program_manager", SUBJECT)
    settings(sso, world.ids["org"], enabled=True)
    uid = world.users["program_manager"]
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    r = admin.post(f"/admin/users/{uid}/sso/unlink", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 302 and _identities(sso) == []
    assert events(sso, "user.sso_unlink")[-1].object_id == uid
    _c, back = sign_in(sso)
    assert back.status_code == 400
    assert (events(sso, "auth.login_failed")[-1].reason or "").startswith("sso;unknown_subject")


def test_a_link_to_an_account_with_case_data_waits_for_a_second_admin(
        sso: Flask, admin: FlaskClient, world: World, frozen: Clock) -> None:
    """Like a password reset: one admin linking a subject they control would sign in as the
    person (with the provider's second factor trusted, without any code)."""
    settings(sso, world.ids["org"], enabled=True)
    page = _post_link(admin, world, "caseworker2", SUBJECT)
    assert "A second admin must approve it" in page and "awaiting approval" in page
    assert (events(sso, "user.sso_link")[-1].reason or "").endswith(";awaiting_approval")
    _c, back = sign_in(sso)
    assert back.status_code == 400
    assert events(sso, "auth.login_failed")[-1].reason == "sso;link_pending"
    grant = grant_of(sso, "caseworker2")
    assert grant is not None and grant.kind == "sso_link"
    auth = Auth(sso, world, frozen)
    decide(auth, admin, grant, "approve")
    assert grant_of(sso, "caseworker2") is not None  # the admin who asked cannot approve
    second = auth.login("admin2")
    decide(auth, second, grant, "approve")
    assert grant_of(sso, "caseworker2", "approved") is not None
    c, back = sign_in(sso)
    assert back.status_code == 200 and c.get("/").location.endswith("/auth/mfa")
    assert events(sso, "auth.login")[-1].object_id == world.users["caseworker2"]


def test_a_refused_link_is_removed_and_an_admin_cannot_link_themselves(
        sso: Flask, admin: FlaskClient, world: World, frozen: Clock) -> None:
    _post_link(admin, world, "caseworker2", SUBJECT)
    grant = grant_of(sso, "caseworker2")
    assert grant is not None
    auth = Auth(sso, world, frozen)
    decide(auth, auth.login("admin2"), grant, "refuse")
    assert _identities(sso) == []
    page = _post_link(admin, world, "admin", "my-own-subject")
    assert "You cannot link your own account" in page and _identities(sso) == []


def test_an_admin_sets_an_organisations_single_sign_on(sso: Flask, admin: FlaskClient,
                                                       world: World) -> None:
    path = f"/admin/directory/organisation/{world.ids['org']}/sso"
    org_page = admin.get(f"/admin/directory/organisation/{world.ids['org']}").get_data(
        as_text=True)
    assert path in org_page
    page = admin.get(path).get_data(as_text=True)
    assert "Trust the provider" in page
    r = admin.post(path, data={"enabled": "y", "trust_mfa": "y", "mfa_amr": "  mfa   hwk ",
                               "mfa_acr": "", "version": "0", "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    with sso.app_context():
        row = db.session.get(OrganisationSso, uuid.UUID(world.ids["org"]))
        assert row is not None and (row.enabled, row.trust_mfa, row.mfa_amr) == (True, True,
                                                                                 "mfa hwk")
    assert events(sso, "organisation.sso_update")[-1].reason == "enabled=yes;trust_mfa=yes"
    # A second save from the same (now old) form is refused, nothing changed.
    r = admin.post(path, data={"enabled": "", "version": "0", "csrf_token": csrf_from(page)},
                   follow_redirects=True)
    assert "Nothing was saved" in r.get_data(as_text=True)
    with sso.app_context():
        assert db.session.execute(select(func.count()).select_from(OrganisationSso).where(
            OrganisationSso.enabled.is_(True))).scalar_one() == 1


def test_without_a_provider_nothing_can_be_linked(app: Flask, auth: Auth, world: World) -> None:
    admin = auth.login("admin")
    uid = world.users["caseworker2"]
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "No single sign-on provider is set up" in page
    r = admin.post(f"/admin/users/{uid}/sso", data={"subject": SUBJECT,
                                                   "csrf_token": csrf_from(page)},
                   follow_redirects=True)
    assert "not set up on this instance" in r.get_data(as_text=True)
    assert _identities(app) == []
