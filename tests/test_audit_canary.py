"""Canary survivor strings never reach the audit table, the application's logs or the
auditor's workspace, whatever path the data takes (intake, search, viewing, failed logins,
an error half-way through a request)."""

from __future__ import annotations

import logging

import pytest

from app.db import db
from tests.helpers.audit import break_audit_inserts
from tests.helpers.cases import case_id_from, open_case, search_cases
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from

NEW = {"full_name": "Samira Canaryzq", "alias": "Sami Canaryzq", "phone": "+218 91 777 4242",
       "location": "TentCanary-Row-44", "safe_contact": "SafeContactCanary-after-dark"}
CANARIES = [*CANARY.values(), *NEW.values(), "Canaryzq", "Canaryqx", "777 4242"]


def _raw_audit_text(app) -> str:
    """Every column of every audit row, as the database holds it."""
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM audit_events").fetchall()
    return "\n".join(" ".join(v.hex() if isinstance(v, bytes | memoryview) else str(v)
                              for v in r) for r in rows)


def _assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary.casefold() not in text.casefold(), f"{canary!r} reached {where}"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)  # driver traffic is not app logging
    return caplog


def test_survivor_data_never_reaches_the_trail_or_the_logs(app, auth, world, client, logs):
    worker = auth.login("caseworker")
    created = open_case(worker, world, **NEW)
    case_id = case_id_from(created)
    assert NEW["full_name"] in worker.get(f"/cases/{case_id}").get_data(as_text=True)
    search_cases(worker, name=CANARY["own_name"], phone=NEW["phone"])
    search_cases(worker, name=CANARY["other_name"])
    page = client.get("/auth/login")
    client.post("/auth/login", data={"username": NEW["full_name"], "password": NEW["alias"],
                                     "csrf_token": csrf_from(page.get_data(as_text=True))})

    auditor = auth.login("auditor")
    seen = [auditor.get(p).get_data(as_text=True) for p in (
        "/audit/events", f"/audit/objects/case/{case_id}", f"/audit/users/{world.users['caseworker']}",
        "/audit/alerts")]
    export = auditor.post("/audit/export", data={"csrf_token": auth.csrf(auditor, "/audit/events")})
    assert case_id in seen[1] and "case.view" in seen[1]  # the access itself is there

    _assert_clean(_raw_audit_text(app), "the audit table")
    _assert_clean(logs.text, "the logs")
    for page in [*seen, export.get_data(as_text=True)]:
        _assert_clean(page, "the auditor's workspace")


def test_an_error_mid_request_logs_no_survivor_data(app, auth, world, logs):
    worker = auth.login("caseworker")
    search_cases(worker, name=NEW["full_name"])
    break_audit_inserts(app)
    resp = open_case(worker, world, **NEW)
    assert resp.status_code == 500
    assert "unhandled" in logs.text  # the failure was logged...
    _assert_clean(logs.text, "the logs")  # ...without what was typed
    _assert_clean(_raw_audit_text(app), "the audit table")
