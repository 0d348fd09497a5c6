"""A caseworker's case forms in tests: search, intake, consent."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.cases.models import Case
from app.db import db
from tests.helpers.factories import World
from tests.helpers.forms import csrf_from, form_tokens

INTAKE = {"full_name": "Amira Test", "alias": "", "date_of_birth": "1995-03-02", "estimated_age": "",
          "sex": "female", "nationality_group": "national", "displacement_status": "idp",
          "disability": "no", "phone": "+218 91 555 0101", "location": "Camp block C",
          "safe_contact": "Only call after 6pm"}


def search_cases(c: FlaskClient, **fields: str) -> TestResponse:
    """Post the case search form (name, phone, case number)."""
    page = c.get("/cases/search").get_data(as_text=True)
    data = {"name": "", "phone": "", "case_number": "", "csrf_token": csrf_from(page)}
    data.update(fields)
    return c.post("/cases/search", data=data)


def open_case(c: FlaskClient, world: World, **over: Any) -> TestResponse:
    """Search for the name, then post the intake form at Tripoli (override any field)."""
    search_cases(c, name=over.get("full_name", INTAKE["full_name"]))
    page = c.get("/cases/new").get_data(as_text=True)
    data = dict(INTAKE, site=world.ids["tripoli"], **form_tokens(page))
    data.update(over)
    return c.post("/cases/new", data=data)


def case_id_from(resp: TestResponse) -> str:
    """The case id in a redirect to a case page."""
    found = re.search(r"/cases/([0-9a-f-]{36})", resp.location or "")
    assert found, resp.location
    return found.group(1)


def give_consent(c: FlaskClient, case_id: str, kind: str = "services", granted: str = "yes",
                 **extra: Any) -> TestResponse:
    """Post the consent form on the case page."""
    page = c.get(f"/cases/{case_id}").get_data(as_text=True)
    data = {"kind": kind, "granted": granted, "given_by": "survivor", "method": "verbal",
            "child_assent": "", "caregiver_not_asked_reason": "",
            **form_tokens(page, f"/cases/{case_id}/consent")}
    data.update(extra)
    return c.post(f"/cases/{case_id}/consent", data=data)


def case_version(app: Flask, case_id: str) -> int:
    """The case's stored version number."""
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(case_id))
        assert case is not None
        return case.version


#: Justifications that name nobody, for ``plain_text`` to choose from.
SENTENCES = ("Arrived at our clinic tonight.", "Came to the clinic late in the evening.",
             "Her caseworker is away and she needs care now.")


def plain_text(app: Any, case_id: str, *candidates: str) -> str:
    """The first sentence the identifying-text check lets through for the case.

    Justifications are checked against the survivor's name on truncated blind-index digests
    (``app.cases.justifications.identifies``), under this run's random keys: any fixed
    sentence is wrongly refused about once in 500 runs. A test about something else picks a
    sentence this run's keys accept."""
    from app.cases.justifications import identifies

    with app.app_context():
        case = db.session.get(Case, uuid.UUID(case_id))
        for text in candidates:
            if not identifies(case, text):
                return text
    raise AssertionError("every candidate sentence was refused as identifying")
