"""Every scoped loader records its own accesses, so a view cannot forget: a GET of a record it
found is one read event naming that record, written before the page is served; an id outside
the user's scope (or, for admins, one that does not exist) is one denial naming the id, and
answers 404. The events are those the views used to write themselves (same action, type and
reason), so the trail means what it meant."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.db import db
from tests.helpers.field import make_intake
from tests.helpers.programme import insert_log
from tests.helpers.safe_space import COORDINATOR, insert_session
from tests.helpers.transfer import incoming_request


@dataclass(frozen=True)
class Loader:
    """A loader's page: who may see which record, who may not, and the events each writes."""

    path: str                      # with {id}
    reader: str                    # a role (or account) whose scope holds ``found``
    found: Callable[..., str]      # (app, world) -> the id of a record in the reader's scope
    read: tuple[str, str, str | None]   # action, object_type, reason of the read
    refused: str                   # an account whose scope lacks ``found`` (or "missing")
    denied: tuple[str, str]        # action and reason of the denial


def _ids(key: str) -> Callable[..., str]:
    return lambda app, world: world.ids[key]


LOADERS = {
    "case": Loader("/cases/{id}", "caseworker", _ids("case_own"),
                   ("case.view", "case", "cases.view"), "caseworker2",
                   ("case.view", "out_of_scope")),
    "referral_sent": Loader("/referrals/{id}/sent", "caseworker", _ids("ref_mhpss"),
                            ("referral.view", "referral", None), "caseworker2",
                            ("referral.view", "out_of_scope")),
    "referral_received": Loader("/referrals/{id}", "service_provider", _ids("ref_mhpss"),
                                ("referral.view", "referral", None), "missing",
                                ("referral.view", "out_of_scope")),
    "wgss_session": Loader("/safe-spaces/sessions/{id}", COORDINATOR,
                           lambda app, world: insert_session(app, world),
                           ("wgss_session.view", "wgss_session", None), "missing",
                           ("wgss_session.view", "out_of_scope")),
    "wgss_session_edit": Loader("/safe-spaces/sessions/{id}/edit", COORDINATOR,
                                lambda app, world: insert_session(app, world),
                                ("wgss_session.view", "wgss_session", None), "missing",
                                ("wgss_session.update", "out_of_scope")),
    "awareness_session": Loader("/programme/awareness/{id}", COORDINATOR,
                                lambda app, world: insert_log(app, world, "awareness"),
                                ("awareness_session.view", "awareness_session", None),
                                "missing", ("awareness_session.view", "out_of_scope")),
    "staff_training": Loader("/programme/trainings/{id}", COORDINATOR,
                             lambda app, world: insert_log(app, world, "trainings"),
                             ("staff_training.view", "staff_training", None), "missing",
                             ("staff_training.view", "out_of_scope")),
    "case_transfer": Loader("/cases/transfers/{id}", "supervisor",
                            lambda app, world: incoming_request(app, world),
                            ("case.transfer_view", "case_transfer", None), "missing",
                            ("case.transfer_view", "out_of_scope")),
    # Another caseworker's intake is refused like a made-up one (the review page also runs the
    # search, audited as case.search: tests/test_field_review.py).
    "field_intake": Loader("/field/intakes/{id}", "caseworker",
                           lambda app, world: make_intake(app, world.users["caseworker"]),
                           ("field.intake_view", "field_intake", None), "caseworker2",
                           ("field.intake_view", "out_of_scope")),
    "user": Loader("/admin/users/{id}", "admin", lambda app, world: world.users["caseworker"],
                   ("user.view", "user", None), "missing", ("user.view", "not_found")),
    "directory_site": Loader("/admin/directory/site/{id}", "admin", _ids("tripoli"),
                             ("directory.view", "site", None), "missing",
                             ("directory.view", "not_found")),
    "directory_service": Loader("/admin/directory/service/{id}", "admin", _ids("mhpss"),
                                ("directory.view", "service", None), "missing",
                                ("directory.view", "not_found")),
}


def _last_seq(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.max(AuditEvent.seq))).scalar() or 0


def _since(app, seq: int) -> list[tuple]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id,
                   AuditEvent.outcome, AuditEvent.reason, AuditEvent.actor_id)
            .where(AuditEvent.seq > seq).order_by(AuditEvent.seq))]


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_loaded_record_is_read_once_on_the_trail(app, auth, world, name):
    loader = LOADERS[name]
    record_id = loader.found(app, world)
    client = auth.login(loader.reader)
    before = _last_seq(app)
    assert client.get(loader.path.format(id=record_id)).status_code == 200
    action, object_type, reason = loader.read
    reads = [e for e in _since(app, before) if e[:2] == (action, object_type)]
    assert reads == [(action, object_type, record_id, "allowed", reason,
                      uuid.UUID(world.users[loader.reader]))]


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_record_out_of_scope_is_404_and_one_denial(app, auth, world, name):
    loader = LOADERS[name]
    record_id = (str(uuid.uuid4()) if loader.refused == "missing"
                 else loader.found(app, world))
    account = loader.reader if loader.refused == "missing" else loader.refused
    client = auth.login(account)
    before = _last_seq(app)
    assert client.get(loader.path.format(id=record_id)).status_code == 404
    action, reason = loader.denied
    assert _since(app, before) == [(action, loader.read[1], record_id, "denied", reason,
                                    uuid.UUID(world.users[account]))]


def test_the_received_referral_loader_refuses_another_services_referral(app, auth, world):
    """The recipient's scope is their own service: the partner's referral is refused."""
    client = auth.login("service_provider")
    before = _last_seq(app)
    assert client.get(f"/referrals/{world.ids['ref_legal']}").status_code == 404
    assert [e[:5] for e in _since(app, before)] == [
        ("referral.view", "referral", world.ids["ref_legal"], "denied", "out_of_scope")]


def test_a_post_to_a_loader_records_no_read(app, auth, world):
    """Writes record their own event: loading the record for a POST is not a read."""
    client = auth.login("admin")
    token = auth.csrf(client, "/admin/users")
    before = _last_seq(app)
    client.post(f"/admin/users/{world.users['caseworker2']}/end_sessions",
                data={"csrf_token": token})
    assert [e[0] for e in _since(app, before)] == ["user.sessions_revoked"]


def test_an_admin_action_on_a_missing_account_is_one_denial_of_that_action(app, auth, world):
    client = auth.login("admin")
    token = auth.csrf(client, "/admin/users")
    missing = str(uuid.uuid4())
    before = _last_seq(app)
    for path in (f"/admin/users/{missing}/deactivate", f"/admin/users/{missing}/reset-password"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert [e[:5] for e in _since(app, before)] == [
        ("user.deactivate", "user", missing, "denied", "not_found"),
        ("user.password_reset_issued", "user", missing, "denied", "not_found")]


def test_a_missing_grant_is_one_denial(app, auth, world):
    client = auth.login("admin")
    token = auth.csrf(client, "/admin/grants")
    missing = str(uuid.uuid4())
    before = _last_seq(app)
    assert client.post(f"/admin/grants/{missing}/refuse",
                       data={"csrf_token": token, "version": "1"}).status_code == 404
    assert [e[:5] for e in _since(app, before)] == [
        ("user.grant_approve", "role_grant", missing, "denied", "not_found")]
