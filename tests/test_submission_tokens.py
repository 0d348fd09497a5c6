"""A retried create does not duplicate (issue 12, item 9).

A browser that sends a form, loses the answer and sends it again (a slow connection, a refresh,
a double click) must get the record the first POST made, not a second one. Every form that
creates a record carries a one-time token; the create claims it in its own transaction.

The lost answer is simulated faithfully: the retry goes out with the cookies the browser had
before the first POST (the answer that would have updated them never arrived).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import (
    ActionItem,
    Assessment,
    BreakGlassGrant,
    Case,
    CaseNote,
    ConsentRecord,
    FollowUp,
    Incident,
)
from app.db import db
from app.directory.models import Site
from app.referrals.models import Referral
from app.safe_space.models import ActivityType, WgssSession
from app.submissions.models import SubmissionToken
from tests.helpers.cases import SENTENCES, plain_text
from tests.helpers.forms import form_tokens
from tests.helpers.incidents import incident_form
from tests.helpers.safe_space import COORDINATOR
from tests.helpers.safe_space import form_data as session_form

ALREADY = "This was already saved; here it is."
INTAKE = {"full_name": "Salma Retry", "alias": "", "date_of_birth": "", "estimated_age": "31",
          "sex": "female", "nationality_group": "national", "displacement_status": "idp",
          "disability": "no", "phone": "", "location": "", "safe_contact": ""}


def count(app, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.session.execute(
            select(func.count()).select_from(model).where(*where)).scalar_one())


def lost_answer(app, client, url: str, data: dict[str, Any]):
    """POST whose answer never reaches the browser: its cookies stay as they were."""
    name = app.config["SESSION_COOKIE_NAME"]
    before = client.get_cookie(name)
    resp = client.post(url, data=data)
    if before is not None:
        client.set_cookie(name, before.value)
    return resp


def intake_form(c, world) -> dict[str, Any]:
    """Search first (the rule before an intake), then open the intake form."""
    page = c.get("/cases/search").get_data(as_text=True)
    c.post("/cases/search", data={"name": INTAKE["full_name"], "phone": "", "case_number": "",
                                  **form_tokens(page)})
    page = c.get("/cases/new").get_data(as_text=True)
    return dict(INTAKE, site=world.ids["tripoli"], **form_tokens(page))


def assert_shown_again(c, first, second) -> None:
    """The retry answers with the record the first POST made, saying so."""
    assert first.status_code == 302 and second.status_code == 302, (first.status_code,
                                                                      second.status_code)
    assert second.location == first.location
    assert ALREADY in c.get(second.location).get_data(as_text=True)


# --- A second POST of the same form makes nothing new -------------------------------------

def test_case_intake_sent_twice_opens_one_case(app, auth, world):
    c = auth.login("caseworker")
    data = intake_form(c, world)
    before = count(app, Case)
    first = lost_answer(app, c, "/cases/new", data)
    second = c.post("/cases/new", data=data)
    assert count(app, Case) == before + 1
    assert_shown_again(c, first, second)
    with app.app_context():
        replays = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "submission.replayed")).scalars().all()
    assert [(e.object_type, e.object_id, e.reason) for e in replays] == [
        ("case", first.location.rsplit("/", 1)[-1], "case.create")]


def test_referral_sent_twice_is_sent_once(app, auth, world):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    page = c.get(f"/referrals/new/{cid}").get_data(as_text=True)
    data = {"service": world.ids["mhpss"], "urgency": "normal", "message": "", "override_code": "",
            "override_reason": "", "fields": ["full_name"], **form_tokens(page)}
    before = count(app, Referral)
    first = lost_answer(app, c, f"/referrals/new/{cid}", data)
    second = c.post(f"/referrals/new/{cid}", data=data)
    assert count(app, Referral) == before + 1
    assert_shown_again(c, first, second)
    assert "/sent" in second.location


def test_safe_space_session_sent_twice_is_logged_once(app, auth, world):
    c = auth.login(COORDINATOR)
    page = c.get("/safe-spaces/sessions/new").get_data(as_text=True)
    data = {**session_form(app, world), **form_tokens(page)}
    first = lost_answer(app, c, "/safe-spaces/sessions/new", data)
    second = c.post("/safe-spaces/sessions/new", data=data)
    assert count(app, WgssSession) == 1
    assert_shown_again(c, first, second)


def test_account_sent_twice_is_created_once_and_shown(app, auth, world):
    admin = auth.login("admin")
    page = admin.get("/admin/users/new").get_data(as_text=True)
    data = {"username": "retry.user", "display_name": "Retry User", "role": "auditor",
            "organisation": world.ids["org"], "service": "", "language": "en",
            **form_tokens(page)}
    first = lost_answer(app, admin, "/admin/users/new", data)
    assert first.status_code == 200 and 'id="reset-code"' in first.get_data(as_text=True)
    second = admin.post("/admin/users/new", data=data)
    assert count(app, User, User.username == "retry.user") == 1
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.username == "retry.user")).scalar_one()
    # The one-time code went with the lost answer: the account's page (where a new code is
    # issued) is shown, not an error about a username already taken.
    assert second.status_code == 302 and second.location.endswith(f"/admin/users/{user_id}")
    assert ALREADY in admin.get(second.location).get_data(as_text=True)


def _case_page_form(c, cid: str, action: str) -> dict[str, str]:
    return form_tokens(c.get(f"/cases/{cid}").get_data(as_text=True), action)


# Every other create form: where it is opened, where it posts, what it sends, what it creates.
CREATES: list[tuple[str, str, str, str, dict[str, Any], Any]] = [
    ("note", "caseworker", "/cases/{case_own}", "/cases/{case_own}/notes",
     {"body": "Called back, all well."}, CaseNote),
    ("follow-up", "caseworker", "/cases/{case_own}", "/cases/{case_own}/follow-ups",
     {"follow_up-due_on": "2026-12-01", "follow_up-notes": ""}, FollowUp),
    ("consent", "caseworker", "/cases/{case_own}", "/cases/{case_own}/consent",
     {"kind": "reporting", "granted": "yes", "given_by": "survivor", "method": "verbal",
      "child_assent": "", "caregiver_not_asked_reason": ""}, ConsentRecord),
    ("incident", "caseworker", "/cases/{case_own}/incidents/new",
     "/cases/{case_own}/incidents/new",
     incident_form("physical"), Incident),
    ("goal", "caseworker", "/cases/{case_own}/actions/new", "/cases/{case_own}/actions/new",
     {"goal": "See a counsellor", "service_type": "mhpss", "due_on": "2026-12-01",
      "status": "planned"}, ActionItem),
    ("assessment", "caseworker", "/cases/{case_own}/assessment", "/cases/{case_own}/assessment",
     {"risk_level": "high", "needs": ["mhpss"], "notes": "", "safety_plan": "", "version": ""},
     Assessment),
    ("break-glass", "supervisor", "/cases/break-glass", "/cases/break-glass",
     {"case_number": "{number:case_far}", "reason_code": "medical_emergency",
      "justification": "Arrived at our clinic tonight."}, BreakGlassGrant),
    ("activity type", "admin", "/safe-spaces/activity-types/new",
     "/safe-spaces/activity-types/new",
     {"code": "first_aid", "label": "First aid", "active": "y"}, ActivityType),
    ("site", "admin", "/admin/directory/site/new", "/admin/directory/site/new",
     {"organisation": "{id:org}", "name": "Misrata", "code": "MIS", "active": "y"}, Site),
]


def _fill(value: Any, world) -> Any:
    """``{label}`` and ``{id:label}``: a record id of the test world; ``{number:label}``: a
    case number."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\{(?:(\w+):)?(\w+)\}", lambda m: world.case_numbers[m.group(2)]
                  if m.group(1) == "number" else world.ids[m.group(2)], value)


@pytest.mark.parametrize("name, role, page, action, values, model", CREATES,
                         ids=[c[0] for c in CREATES])
def test_every_other_create_sent_twice_makes_one_record(app, auth, world, name, role, page,
                                                        action, values, model):
    c = auth.login(role)
    page, action = _fill(page, world), _fill(action, world)
    html = c.get(page).get_data(as_text=True)
    tokens = form_tokens(html, action if action != page else None)  # no action: posts to itself
    data = {**{k: _fill(v, world) for k, v in values.items()}, **tokens}
    if name == "break-glass":   # a sentence this run's index key does not take for the name
        data["justification"] = plain_text(app, world.ids["case_far"], *SENTENCES)
    assert any(k.endswith("submission_token") for k in data), f"{name}: no one-time token"
    before = count(app, model)
    first = lost_answer(app, c, action, data)
    second = c.post(action, data=data)
    assert count(app, model) == before + 1, name
    assert_shown_again(c, first, second)


# --- Tokens that are not this form's are refused; a missing one too -------------------------

def _refused(app, resp, before: int) -> None:
    assert resp.status_code == 400
    assert "Nothing was saved" in resp.get_data(as_text=True)
    assert count(app, Case) == before
    with app.app_context():
        refused = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "submission.refused")).scalars().all()
    assert refused and refused[-1].outcome == "denied"


def test_token_of_another_user_is_refused(app, auth, world):
    mine = auth.login("caseworker")
    data = intake_form(mine, world)
    other = auth.login("caseworker2")
    stolen = dict(intake_form(other, world), submission_token=data["submission_token"])
    before = count(app, Case)
    _refused(app, other.post("/cases/new", data=stolen), before)
    # ...also once the owner has used it: the claim is the owner's, never shown to another.
    assert mine.post("/cases/new", data=data).status_code == 302
    _refused(app, other.post("/cases/new", data=stolen), before + 1)


def test_token_of_another_form_or_case_is_refused(app, auth, world):
    s = auth.login("supervisor")
    own, other = world.ids["case_own"], world.ids["case_other"]
    note = _case_page_form(s, own, f"/cases/{own}/notes")
    before = count(app, CaseNote)
    # The note form's token sent with a consent, and to another case's notes.
    r = s.post(f"/cases/{own}/consent", data={"kind": "reporting", "granted": "yes",
                                            "given_by": "survivor", "method": "verbal", **note})
    assert r.status_code == 400
    r = s.post(f"/cases/{other}/notes", data={"body": "Wrong case", **note})
    assert r.status_code == 400
    # A token respelt (base64 skips stray characters) is not a second token for the same form.
    respelt = dict(note, submission_token=note["submission_token"][:10] + "!"
                   + note["submission_token"][10:])
    assert s.post(f"/cases/{own}/notes", data={"body": "Respelt", **respelt}).status_code == 400
    assert count(app, CaseNote) == before
    assert count(app, ConsentRecord, ConsentRecord.kind == "reporting") == 0


def test_missing_token_is_refused_and_nothing_saved(app, auth, world):
    c = auth.login("caseworker")
    data = intake_form(c, world)
    del data["submission_token"]
    before = count(app, Case)
    r = c.post("/cases/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "without its one-time code" in html
    assert count(app, Case) == before
    # The form comes back with a fresh token: sending it again (on purpose) works.
    assert c.post("/cases/new", data=dict(data, **form_tokens(html))).status_code == 302
    assert count(app, Case) == before + 1
    cid = world.ids["case_own"]
    r = c.post(f"/cases/{cid}/notes", data={"body": "No token",
                                           "csrf_token": form_tokens(html)["csrf_token"]},
               follow_redirects=True)
    assert "without its one-time code" in r.get_data(as_text=True)
    assert count(app, CaseNote, CaseNote.case_id == uuid.UUID(cid)) == 0


def test_failed_create_does_not_use_up_the_token(app, auth, world):
    c = auth.login("caseworker")
    data = intake_form(c, world)
    before = count(app, Case)
    r = c.post("/cases/new", data=dict(data, estimated_age="200"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "error-message" in html and count(app, Case) == before
    assert form_tokens(html)["submission_token"] == data["submission_token"]  # kept in the form
    fixed = c.post("/cases/new", data=data)
    assert fixed.status_code == 302 and count(app, Case) == before + 1
    assert c.post("/cases/new", data=data).location == fixed.location


def test_expired_token_is_refused_with_a_fresh_one(app, auth, world, frozen):
    app.config["SUBMISSION_TOKEN_HOURS"] = 1
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    note = _case_page_form(c, cid, f"/cases/{cid}/notes")
    frozen.advance(minutes=61)
    c = auth.login("caseworker")  # the session ended meanwhile; the token is the account's
    note["csrf_token"] = form_tokens(c.get(f"/cases/{cid}").get_data(as_text=True),
                                     f"/cases/{cid}/notes")["csrf_token"]
    r = c.post(f"/cases/{cid}/notes", data={"body": "Late", **note}, follow_redirects=True)
    assert "more than 1 hour ago" in r.get_data(as_text=True)
    assert count(app, CaseNote, CaseNote.case_id == uuid.UUID(cid)) == 0


# --- Two POSTs at once: the primary key decides -------------------------------------------

def test_concurrent_claims_make_one_case(app, world):
    from app.cases import service
    from app.submissions.service import AlreadySaved, issue, read

    user_id = uuid.UUID(world.users["caseworker"])
    with app.app_context():
        token = issue(user_id, "case.create")
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def send() -> None:
        try:
            with app.app_context():
                user = db.session.get(User, user_id)
                site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
                once = read(token, user_id, "case.create")
                db.session.rollback()  # end the read (SQLite: it holds the write lock)
                start.wait(timeout=30)
                try:
                    service.open_case(user, site, service.IdentityInput(
                        **dict(INTAKE, date_of_birth=None, estimated_age=31)), once)
                    outcomes.append("created")
                except AlreadySaved as done:
                    outcomes.append(f"already:{done.claim.object_type}")
                db.session.remove()
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    before = count(app, Case)
    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["already:case", "created"]
    assert count(app, Case) == before + 1


def test_retry_racing_the_first_post_is_answered_as_a_retry(app, auth, world, monkeypatch):
    """The retry passed the early look-up before the first POST committed: its own claim
    then fails on the primary key, its case is rolled back, and it answers like a retry."""
    from app.submissions import service as submissions

    c = auth.login("caseworker")
    data = intake_form(c, world)
    before = count(app, Case)
    first = lost_answer(app, c, "/cases/new", data)
    monkeypatch.setattr(submissions, "prior", lambda _submission: None)
    second = c.post("/cases/new", data=data)
    monkeypatch.undo()
    assert count(app, Case) == before + 1
    assert_shown_again(c, first, second)


# --- What is kept -----------------------------------------------------------------------------

def test_only_a_digest_is_kept_and_old_claims_go(app, auth, world, frozen):
    c = auth.login("caseworker")
    data = intake_form(c, world)
    c.post("/cases/new", data=data)
    token = data["submission_token"]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    with app.app_context():
        rows = db.session.execute(select(SubmissionToken)).scalars().all()
        trail = db.session.execute(sa.text("SELECT * FROM audit_events")).all()
    assert [(r.digest, r.kind, r.object_type) for r in rows] == [
        (hashlib.sha256(raw).digest(), "case.create", "case")]
    assert token not in repr(trail)
    frozen.advance(hours=25)
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    c.post(f"/cases/{cid}/notes", data={"body": "Next day",
                                       **_case_page_form(c, cid, f"/cases/{cid}/notes")})
    with app.app_context():
        kinds = db.session.execute(select(SubmissionToken.kind)).scalars().all()
    assert kinds == ["note.create"]  # yesterday's claim was purged by today's
