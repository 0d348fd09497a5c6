"""The load test's people (bench/load_users.py) fill every form from the page it is on with
bench/load_forms.py and the values there. These tests take the same steps through the test
client, so a page whose forms change breaks here, in seconds, instead of a ``make load`` run
failing every request of one kind minutes in (the load test itself is not run by the suite)."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from types import ModuleType

from sqlalchemy import func, select

from app.cases.models import CaseNote
from app.db import db
from app.safe_space.models import WgssSession

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load_forms() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_forms", BENCH / "load_forms.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lf = _load_forms()


def _fields(html: str, action: str) -> dict[str, str]:
    return dict(lf.form(html, action)["fields"])


def test_a_note_is_added_to_a_case_found_in_the_list_as_the_load_test_adds_it(app, auth, world):
    client = auth.login("caseworker")
    listed = lf.CASE_LINK.findall(client.get("/cases/").get_data(as_text=True))
    case = world.ids["case_own"]
    assert case in listed
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    fields = _fields(page, f"/cases/{case}/notes")
    assert {"csrf_token", "submission_token"} <= set(fields)
    resp = client.post(f"/cases/{case}/notes", data={**fields, "body": lf.NOTE})
    assert resp.status_code == 302 and resp.location.endswith(f"/cases/{case}#notes")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseNote).where(
            CaseNote.case_id == uuid.UUID(case))) == 1


def test_a_case_is_opened_after_a_search_and_given_consent_as_the_load_test_does(auth):
    client = auth.login("caseworker")
    page = client.get("/cases/search").get_data(as_text=True)
    resp = client.post("/cases/search", data={**_fields(page, "/cases/search"),
                                              "name": "Synthetic Person"})
    assert resp.status_code == 200
    page = client.get("/cases/new").get_data(as_text=True)
    resp = client.post("/cases/new", data={**_fields(page, "/cases/new"), **lf.INTAKE,
                                           "full_name": "Synthetic Person 7",
                                           "estimated_age": "30"})
    assert resp.status_code == 302 and lf.CASE_LINK.match(f'href="{resp.location}"'), \
        resp.status_code
    case = resp.location.rsplit("/", 1)[1]
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert f'action="/cases/{case}/notes"' not in page  # no consent yet: intake only
    resp = client.post(f"/cases/{case}/consent", data={
        **_fields(page, f"/cases/{case}/consent"), **lf.CONSENT})
    assert resp.status_code == 302
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert "submission_token" in lf.Forms(page).forms[f"/cases/{case}/notes"]["fields"]


def test_a_session_is_logged_with_the_first_activity_offered_as_the_load_test_logs_it(app, auth):
    client = auth.login("wgss_coordinator")
    page = client.get("/safe-spaces/sessions/new").get_data(as_text=True)
    found = lf.form(page, "/safe-spaces/sessions/new")
    assert found["options"]["activity_type"][0] == ""  # "Choose an activity" first
    values = lf.session_values(found["options"], 3)
    assert values["activity_type"]
    resp = client.post("/safe-spaces/sessions/new", data={**found["fields"], **values})
    assert resp.status_code == 302 and "/safe-spaces/sessions/" in resp.location
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WgssSession).where(
            WgssSession.topic == values["topic"])) == 1
