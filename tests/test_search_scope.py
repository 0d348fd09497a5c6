"""Search does not reveal what you may not see: another organisation's cases are invisible to the
duplicate search (the very same page as for a value that exists nowhere), an out-of-scope match in
one's own organisation still says only "ask your supervisor", and searches are rate-limited per
user (refused, audited, and possible again once the window has passed)."""

from __future__ import annotations

import time
import uuid

import limits.storage.memory as limits_memory
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import service
from app.config import ConfigError, build_config
from app.db import db
from app.directory.models import Site
from app.extensions import limiter
from tests.helpers.apps import make_app, redis_up, shared_redis
from tests.helpers.factories import CANARY
from tests.helpers.forms import comparable, csrf_from

PARTNER = {"full_name": "Layla Partnerorgqz", "phone": "+218 92 444 0303"}
NOWHERE = {"full_name": "Noor Nowhereqz", "phone": "+218 92 555 0404"}


def _partner_case(app, world) -> str:
    """A case of the partner organisation, opened by its own caseworker; returns its number."""
    with app.app_context():
        template = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        site = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
        worker = User(username="partner_worker", display_name="Partner worker",
                      organisation_id=uuid.UUID(world.ids["other_org"]), role="caseworker",
                      password_hash=template.password_hash,
                      password_changed_at=template.password_changed_at)
        worker.sites = [site]
        db.session.add(worker)
        db.session.commit()
        case = service.open_case(worker, site, service.IdentityInput(**{
            "sex": "female", "nationality_group": "national", "displacement_status": "idp",
            "disability": "no", "estimated_age": 30, **PARTNER}))
        return case.case_number


def _search(c, **fields):
    page = c.get("/cases/search").get_data(as_text=True)
    data = {"name": "", "phone": "", "case_number": "", "csrf_token": csrf_from(page)}
    data.update(fields)
    return c.post("/cases/search", data=data)


def _count(app, action: str) -> int:
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        ).scalar_one()


def test_another_organisations_case_is_invisible_to_search(app, auth, world):
    number = _partner_case(app, world)
    missing_number = number[:-4] + ("0000" if not number.endswith("0000") else "0001")
    c = auth.login("caseworker")
    for field, there, nowhere in (("name", PARTNER["full_name"], NOWHERE["full_name"]),
                                  ("phone", PARTNER["phone"], NOWHERE["phone"]),
                                  ("case_number", number, missing_number)):
        found = _search(c, **{field: there})
        absent = _search(c, **{field: nowhere})
        assert found.status_code == absent.status_code == 200
        found_html = found.get_data(as_text=True)
        assert "No existing case found" in found_html and 'id="possible-existing"' not in found_html
        assert (comparable(found_html, TYPED=there)
                == comparable(absent.get_data(as_text=True), TYPED=nowhere)), field
    assert _count(app, "case.possible_duplicate") == 0
    with app.app_context():
        reasons = db.session.execute(select(AuditEvent.reason).where(
            AuditEvent.action == "case.search")).scalars().all()
    assert reasons and set(reasons) == {"matches:0"}


def test_same_organisation_out_of_scope_match_still_gets_the_hint(app, auth, world):
    _partner_case(app, world)
    c = auth.login("caseworker")
    html = _search(c, name=CANARY["other_name"]).get_data(as_text=True)
    assert 'id="possible-existing"' in html and "Ask your supervisor" in html
    assert world.case_numbers["case_other"] not in html
    assert _count(app, "case.possible_duplicate") == 1


def test_searches_are_limited_per_user_and_refusals_audited(app, auth, world, monkeypatch):
    offset = [0.0]

    class FakeTime:
        @staticmethod
        def time():
            return time.time() + offset[0]

    monkeypatch.setattr(limits_memory, "time", FakeTime)
    app.config["CASE_SEARCH_LIMIT"] = "3 per 10 minutes"
    c = auth.login("caseworker")
    for _ in range(3):
        r = _search(c, name=CANARY["own_name"])
        assert r.status_code == 200 and world.case_numbers["case_own"] in r.get_data(as_text=True)
    refused = _search(c, name=CANARY["own_name"])
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "many searches" in html and "try again in 10 minutes" in html
    assert world.case_numbers["case_own"] not in html  # nothing was searched
    assert _count(app, "case.search") == 3
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "case.search_throttled")).scalars().all()
    assert [(e.outcome, str(e.actor_id)) for e in events] == [("denied", world.users["caseworker"])]
    # Another user is not affected.
    other = auth.login("supervisor")
    assert _search(other, name=CANARY["own_name"]).status_code == 200
    # Once the window has passed, searching works again.
    offset[0] = 10 * 60 + 1
    again = _search(c, name=CANARY["own_name"])
    assert again.status_code == 200 and world.case_numbers["case_own"] in again.get_data(as_text=True)


def test_search_limit_setting(instance_dir, monkeypatch):
    monkeypatch.delenv("AMANA_SEARCH_LIMIT", raising=False)
    assert build_config("testing", instance_dir)["CASE_SEARCH_LIMIT"] == "30 per 10 minutes"
    monkeypatch.setenv("AMANA_SEARCH_LIMIT", "5 per minute")
    assert build_config("testing", instance_dir)["CASE_SEARCH_LIMIT"] == "5 per minute"
    for bad in ("lots", "0 per minute"):
        monkeypatch.setenv("AMANA_SEARCH_LIMIT", bad)
        with pytest.raises(ConfigError, match="AMANA_SEARCH_LIMIT"):
            build_config("testing", instance_dir)


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_search_limit_is_shared_between_two_app_hosts(db_uri, instance_dir, world, frozen):
    from tests.helpers.login import Auth

    redis = shared_redis()
    host_a = make_app(db_uri, instance_dir, **redis, CASE_SEARCH_LIMIT="2 per hour")
    with host_a.app_context():
        limiter.reset()
    try:
        a = Auth(host_a, world, frozen).login("caseworker")
        assert [_search(a, name=NOWHERE["full_name"]).status_code for _ in range(2)] == [200, 200]
        host_b = make_app(db_uri, instance_dir, **redis, CASE_SEARCH_LIMIT="2 per hour")
        b = Auth(host_b, world, frozen).login("caseworker")
        assert _search(b, name=NOWHERE["full_name"]).status_code == 429
    finally:
        with host_a.app_context():
            limiter.reset()
