"""The admin's home page: accounts of the admin's own organisation not yet enrolled in two-step
verification, locked, or unused for 90 days (with the existing deactivation a click away), and
the active key-encryption key's age and rotation date, counted by hand below. Another
organisation's accounts are never counted; only admins get the panel; the page is audited.

The clock stands at Tuesday 24 November 2026, 10:00 UTC; the test world's accounts and its
key-encryption key (version 1) were made then.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import update

from app.auth import passwords, throttle
from app.auth.models import AuthSession, User
from app.clock import utcnow
from app.crypto.models import KekVersion
from app.db import db
from tests.helpers.apps import START
from tests.helpers.audit import events
from tests.helpers.crypto import copy_instance, private_app
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD, Auth
from tests.helpers.panel_reading import home_views, links, rows, section, text

ADMIN = "admin"
LONG_AGO = START - timedelta(days=200)


def _uid(world, username: str) -> uuid.UUID:
    return uuid.UUID(world.users[username])


def _session(user_id: uuid.UUID, days_ago: float) -> AuthSession:
    at = START - timedelta(days=days_ago)
    return AuthSession(token_hash=uuid.uuid4().bytes * 2, user_id=user_id, created_at=at,
                       last_seen_at=at)


def _fail_logins(app, username: str, times: int = 5) -> None:
    client = app.test_client()
    for _ in range(times):
        page = client.get("/auth/login").get_data(as_text=True)
        client.post("/auth/login", data={"username": username, "password": "wrong password",
                                         "csrf_token": csrf_from(page)})


@pytest.fixture
def accounts(app, world):
    """Accounts as the comments say; the partner's are in another organisation."""
    with app.app_context():
        pw = passwords.hash_password(PASSWORD)
        partner = User(username="partner_idle", display_name="Partner Idle",
                       organisation_id=uuid.UUID(world.ids["other_org"]), role="caseworker",
                       password_hash=pw, password_changed_at=utcnow())
        pending = User(username="pending_new", display_name="Pending New",
                       organisation_id=uuid.UUID(world.ids["org"]), role="caseworker",
                       password_hash=pw, password_changed_at=utcnow(), approval_pending=True)
        db.session.add_all([partner, pending])
        db.session.flush()
        # Made 200 days ago: caseworker2 last signed in 100 days ago, program_manager never
        # (both unused); supervisor 10 days ago, caseworker_b 89 days ago (used); gone is
        # deactivated; the partner's account never signed in (another organisation).
        names = ("caseworker2", "program_manager", "supervisor", "caseworker_b", "gone")
        db.session.execute(update(User).where(
            User.id.in_([_uid(world, n) for n in names] + [partner.id]))
            .values(created_at=LONG_AGO))
        db.session.add_all([_session(_uid(world, "caseworker2"), 100),
                            _session(_uid(world, "supervisor"), 100),
                            _session(_uid(world, "supervisor"), 10),
                            _session(_uid(world, "caseworker_b"), 89)])
        # Not enrolled: newbie (the world's) and caseworker_b; gone is deactivated, the pending
        # account waits for approval, the partner's is another organisation's.
        db.session.execute(update(User).where(
            User.id.in_([_uid(world, "caseworker_b"), _uid(world, "gone")]))
            .values(mfa_enrolled_at=None))
        db.session.commit()
    # Locked: caseworker and supervisor; caseworker2's lock was lifted; the partner's is
    # another organisation's.
    for username in ("caseworker", "supervisor", "caseworker2", "partner_idle"):
        _fail_logins(app, username)
    with app.test_request_context():
        assert throttle.is_locked("caseworker2")
        throttle.clear("caseworker2")
    return world


def _panel(auth) -> tuple[str, object]:
    client = auth.login(ADMIN)
    page = client.get("/").get_data(as_text=True)
    panel = section(page, "admin")
    assert panel is not None
    return panel, client


def test_the_accounts_that_need_a_look(app, auth, accounts):
    panel, _client = _panel(auth)
    words = text(panel)
    assert "Not yet enrolled in two-step verification: 2 Test caseworker_b (caseworker_b) " \
           "Test newbie (newbie)" in words
    assert "Locked after failed sign-ins: 2 Test caseworker (caseworker) " \
           "Test supervisor (supervisor)" in words
    assert "Unused for 90 days: 2" in words
    assert rows(panel) == [["Test program_manager (program_manager)", "Never", "Deactivate program_manager"],
                           ["Test caseworker2 (caseworker2)", "Aug 16, 2026", "Deactivate caseworker2"]]
    for other in ("partner_idle", "Partner Idle", "pending_new", "gone"):
        assert other not in panel
    # Each account links to its account page.
    found = dict(links(panel))
    assert found["Test newbie"] == f"/admin/users/{accounts.users['newbie']}"
    assert found["Test program_manager"] == f"/admin/users/{accounts.users['program_manager']}"


def test_deactivating_from_the_home_page_uses_the_existing_flow(app, auth, accounts):
    panel, client = _panel(auth)
    target = accounts.users["program_manager"]
    action = f"/admin/users/{target}/deactivate"
    assert f'action="{action}"' in panel
    resp = client.post(action, data={"csrf_token": csrf_from(unescape(panel))})
    assert resp.status_code == 302 and resp.location.endswith(f"/admin/users/{target}")
    with app.app_context():
        assert db.session.get(User, uuid.UUID(target)).active is False
    assert [e.object_id for e in events(app, "user.deactivate")] == [target]
    panel, _client = _panel(auth)
    assert "Unused for 90 days: 1" in text(panel) and "program_manager" not in panel


def test_the_key_encryption_key_age_and_rotation_date(app, auth, frozen):
    frozen.advance(days=100)
    panel, _client = _panel(auth)
    words = text(panel)
    assert "Active version 1" in words
    assert "Created Nov 24, 2026 (100 days ago)" in words
    assert "Rotation due Nov 24, 2027 (every 365 days)" in words
    assert "Warning:" not in words and "overdue" not in words


def test_an_overdue_rotation_is_a_warning(app, auth):
    app.config["KEK_ROTATION_DAYS"] = 30
    with app.app_context():
        db.session.execute(update(KekVersion).where(KekVersion.version == 1)
                           .values(created_at=START - timedelta(days=31)))
        db.session.commit()
    words = text(_panel(auth)[0])
    assert "Warning: The key-encryption key is due for rotation since Nov 23, 2026." in words
    assert "Rotation due Nov 23, 2026 · overdue (every 30 days)" in words


@pytest.fixture
def rotating_app(db_uri, instance_dir, tmp_path, frozen):
    """An app with an instance folder of its own, where ``flask keys rotate`` may add a key."""
    yield from private_app(db_uri, copy_instance(instance_dir, tmp_path))


def test_after_a_rotation_the_new_key_is_counted(rotating_app, world, frozen):
    frozen.advance(days=400)
    result = rotating_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    frozen.advance(days=3)
    words = text(_panel(Auth(rotating_app, world, frozen))[0])
    assert "Active version 2" in words
    assert "Created Dec 29, 2027 (3 days ago)" in words
    assert "Rotation due Dec 28, 2028" in words
    assert "Warning:" not in words and "overdue" not in words


def test_only_admins_get_the_panel_and_the_page_is_audited_without_survivor_data(app, auth, world):
    for username in ("caseworker", "supervisor", "auditor", "wgss_coordinator", "program_manager"):
        assert section(auth.login(username).get("/").get_data(as_text=True), "admin") is None
    before = home_views(app, world.users[ADMIN])
    client = auth.login(ADMIN)
    page = client.get("/").get_data(as_text=True)
    assert section(page, "admin") is not None
    assert home_views(app, world.users[ADMIN]) == before + 1
    for canary in CANARY.values():
        assert canary not in page
