"""The stale save on every edit form shows the conflict message (no 500), and saves nothing.

Each edit form carries the version of the record it was loaded with (``app.core.versioning``).
Here every one of them is loaded as a browser would, the record is then saved underneath (its
version moves on, as another user's save moves it), and the form is posted back unchanged: the
answer is the page with the "someone else saved" message, never the 500 page, and the record
keeps the version the other save gave it.

The table is checked against the application: every form class with a ``version`` field and
every POST endpoint must be in it (or, for a POST that edits no versioned record, in
``UNVERSIONED_POSTS``), so a new edit form without a row here fails this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from app.admin.grants import RoleGrant
from app.auth.models import User
from app.auth.oidc_models import OrganisationSso
from app.cases import records, service
from app.cases.models import ActionItem, Assessment, Case, Incident
from app.core.versioning import Stale
from app.db import db
from app.directory.models import Organisation, SafeSpace, Service, Site
from app.programme.models import AwarenessSession, StaffTraining
from app.referrals.models import Referral
from app.safe_space.models import ActivityType, WgssSession
from tests.helpers.forms import form_tokens
from tests.helpers.programme import insert_log
from tests.helpers.safe_space import insert_session, type_id


class _Form(HTMLParser):
    """What a browser sends for the form posting to ``action``: every control's current value
    (the first option of a select without a selected one, checked boxes only)."""

    def __init__(self, action: str, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action, self.page, self.inside = action, page, False
        self.values: list[tuple[str, str]] = []
        self._select: tuple[str, list[str], list[str], bool] | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", self.page) == self.action  # no action: the page
        if not self.inside or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.values.append((name, a.get("value", "")))
        elif tag == "select":
            self._select = (name, [], [], "multiple" in a)
        elif tag == "textarea":
            self._textarea = (name, [])

    def _option(self, a: dict[str, str]) -> None:
        assert self._select is not None
        _name, first, chosen, _multiple = self._select
        first.append(a.get("value", ""))
        if "selected" in a:
            chosen.append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            name, options, chosen, multiple = self._select
            if chosen:
                self.values += [(name, v) for v in chosen]
            elif options and not multiple:
                self.values.append((name, next((v for v in options if v), options[0])))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.values.append((self._textarea[0], "".join(self._textarea[1]).lstrip("\n")))
            self._textarea = None


def form_values(page: str, action: str, url: str) -> dict[str, Any]:
    """The form posting to ``action`` on the page at ``url``, as a browser sends it back."""
    parser = _Form(action, url)
    parser.feed(page)
    assert parser.values, f"no form posting to {action} on the page"
    out: dict[str, Any] = {}
    for name, value in parser.values:
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    return out


def _user(world, name: str) -> User:
    found = db.session.get(User, uuid.UUID(world.users[name]))
    assert found is not None
    return found


def _case(world, label: str = "case_own") -> Case:
    found = db.session.get(Case, uuid.UUID(world.ids[label]))
    assert found is not None
    return found


def _incident(app, world) -> dict[str, str]:
    found = db.session.execute(select(Incident.id).where(
        Incident.case_id == uuid.UUID(world.ids["case_own"]))).scalars().first()
    return {"record": str(found)}


def _assessment(app, world) -> dict[str, str]:
    done = records.save_assessment(_user(world, "caseworker"), _case(world),
                                   records.AssessmentInput(risk_level="medium", needs=["mhpss"],
                                                           notes="Assessment notes"), None)
    return {"record": str(done.id)}


def _action_item(app, world) -> dict[str, str]:
    item = records.save_action_item(_user(world, "caseworker"), _case(world),
                                    records.GoalInput(service_type="mhpss",
                                                      due_on=date(2026, 12, 20), goal="A goal"))
    return {"record": str(item.id)}


def _in_follow_up(app, world) -> dict[str, str]:
    case = _case(world)
    with db.session.no_autoflush:
        case.status = "follow_up"
    db.session.commit()
    return {"record": str(case.id)}


def _closure_requested(app, world) -> dict[str, str]:
    _in_follow_up(app, world)
    case = _case(world)
    service.request_closure(_user(world, "caseworker"), case, "needs_met", None, case.version)
    return {"record": str(case.id)}


def _closed(app, world) -> dict[str, str]:
    _closure_requested(app, world)
    case = _case(world)
    service.decide_closure(_user(world, "supervisor"), case, True, case.version)
    return {"record": str(case.id)}


def _session(app, world) -> dict[str, str]:
    return {"record": insert_session(app, world)}


def _awareness(app, world) -> dict[str, str]:
    return {"record": insert_log(app, world, "awareness")}


def _training(app, world) -> dict[str, str]:
    return {"record": insert_log(app, world, "trainings")}


def _activity_type(app, world) -> dict[str, str]:
    return {"record": type_id(app, "life_skills")}


def _grant(app, world, auth) -> dict[str, str]:
    """A pending grant, asked for through the admin page (a new supervisor account)."""
    admin = auth.login("admin")
    page = admin.get("/admin/users/new").get_data(as_text=True)
    admin.post("/admin/users/new", data={
        "username": "stale.super", "display_name": "Stale Supervisor", "role": "supervisor",
        "organisation": world.ids["org"], "sites": [world.ids["tripoli"]], "service": "",
        "language": "en", **form_tokens(page)})
    with app.app_context():
        return {"record": str(db.session.execute(select(RoleGrant.id).join(
            User, User.id == RoleGrant.user_id).where(
                User.username == "stale.super", RoleGrant.status == "pending")).scalar_one())}


def _sso_settings(app, world) -> dict[str, str]:
    db.session.add(OrganisationSso(organisation_id=uuid.UUID(world.ids["org"]), enabled=False,
                                   trust_mfa=False, mfa_amr="mfa", mfa_acr=""))
    return {"record": world.ids["org"]}


def _no_setup(app, world) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Edit:
    """One edit form: who opens it where, the form it posts, and the versioned record."""

    endpoint: str
    form: str                 # the form class, module:Name
    user: str
    page: str                 # where the form is shown ({case}, {record}, world ids in braces)
    action: str               # where it posts
    model: type
    record: str               # world id label, or "record" (made by ``setup``)
    setup: Callable[..., dict[str, Any]] = _no_setup
    values: dict[str, Any] = field(default_factory=dict)  # what a user fills in
    post: str | None = None   # where the button sends the form, when not to ``action``

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.form.rsplit(':', 1)[-1]}:{self.action.rsplit('/', 1)[-1]}"


CASE = "/cases/{case_own}"
EDITS = [
    Edit("cases.edit", "app.cases.forms:IntakeForm", "caseworker", CASE + "/edit",
         CASE + "/edit", Case, "case_own"),
    Edit("cases.incident", "app.cases.incident_forms:IncidentForm", "caseworker",
         CASE + "/incidents/{record}", CASE + "/incidents/{record}", Incident, "record",
         _incident),
    Edit("cases.assessment", "app.cases.forms:AssessmentForm", "caseworker",
         CASE + "/assessment", CASE + "/assessment", Assessment, "record", _assessment),
    Edit("cases.action_item", "app.cases.forms:ActionItemForm", "caseworker",
         CASE + "/actions/{record}", CASE + "/actions/{record}", ActionItem, "record",
         _action_item),
    Edit("cases.status", "app.cases.forms:StatusForm", "caseworker", CASE, CASE + "/status",
         Case, "case_own"),
    Edit("cases.closure_request", "app.cases.forms:ClosureForm", "caseworker", CASE,
         CASE + "/closure", Case, "record", _in_follow_up, values={"reason": "needs_met"}),
    Edit("cases.closure_decision", "app.cases.forms:DecisionForm", "supervisor", CASE,
         CASE + "/closure/decision", Case, "record", _closure_requested,
         values={"decision": "approve"}),
    Edit("cases.reopen", "app.cases.forms:ReopenForm", "caseworker", CASE, CASE + "/reopen",
         Case, "record", _closed, values={"reason": "new_incident"}),
    Edit("cases.approve_plan", "app.cases.forms:DecisionForm", "supervisor", CASE,
         CASE + "/plan/approve", Case, "case_own", _action_item,
         values={"decision": "approve"}),
    Edit("cases.assign", "app.cases.forms:AssignForm", "supervisor", CASE + "/assign",
         CASE + "/assign", Case, "case_own"),
    Edit("referrals.answer", "app.referrals.forms:AnswerForm", "service_provider",
         "/referrals/{ref_mhpss}", "/referrals/{ref_mhpss}", Referral, "ref_mhpss",
         post="/referrals/{ref_mhpss}/accept"),
    Edit("safe_space.edit_session", "app.safe_space.forms:SessionForm", "wgss_coordinator",
         "/safe-spaces/sessions/{record}/edit", "/safe-spaces/sessions/{record}/edit",
         WgssSession, "record", _session),
    Edit("safe_space.activity_type", "app.safe_space.forms:ActivityTypeForm", "admin",
         "/safe-spaces/activity-types/{record}", "/safe-spaces/activity-types/{record}",
         ActivityType, "record", _activity_type),
    Edit("programme.edit_log", "app.programme.forms:AwarenessForm", "wgss_coordinator",
         "/programme/awareness/{record}", "/programme/awareness/{record}", AwarenessSession,
         "record", _awareness),
    Edit("programme.edit_log", "app.programme.forms:TrainingForm", "wgss_coordinator",
         "/programme/trainings/{record}", "/programme/trainings/{record}", StaffTraining,
         "record", _training),
    Edit("admin.user_edit", "app.admin.forms:UserForm", "admin", "/admin/users/{caseworker}",
         "/admin/users/{caseworker}", User, "caseworker"),
    Edit("admin.directory_record", "app.admin.forms:OrganisationForm", "admin",
         "/admin/directory/organisation/{org}", "/admin/directory/organisation/{org}",
         Organisation, "org"),
    Edit("admin.directory_record", "app.admin.forms:SiteForm", "admin",
         "/admin/directory/site/{tripoli}", "/admin/directory/site/{tripoli}", Site, "tripoli"),
    Edit("admin.directory_record", "app.admin.forms:SafeSpaceForm", "admin",
         "/admin/directory/safe_space/{safe_space}", "/admin/directory/safe_space/{safe_space}",
         SafeSpace, "safe_space"),
    Edit("admin.directory_record", "app.admin.forms:ServiceForm", "admin",
         "/admin/directory/service/{mhpss}", "/admin/directory/service/{mhpss}", Service,
         "mhpss"),
    Edit("admin.organisation_sso", "app.admin.sso_forms:SsoSettingsForm", "admin",
         "/admin/directory/organisation/{org}/sso", "/admin/directory/organisation/{org}/sso",
         OrganisationSso, "record", _sso_settings),
    Edit("admin.grant_decide", "app.admin.forms:GrantDecisionForm", "admin2", "/admin/grants",
         "/admin/grants/{record}/approve", RoleGrant, "record", _grant),
]

# Forms with a version field that only create a record (the version is the edit form's).
CREATE_FORMS = {
    "app.admin.forms:NewUserForm", "app.admin.forms:NewOrganisationForm",
    "app.admin.forms:NewSiteForm", "app.admin.forms:NewSafeSpaceForm",
    "app.admin.forms:NewServiceForm", "app.cases.forms:NewCaseForm",
    "app.cases.incident_forms:NewIncidentForm", "app.cases.forms:NewActionItemForm",
    "app.safe_space.forms:NewSessionForm", "app.safe_space.forms:NewActivityTypeForm",
    "app.programme.forms:NewAwarenessForm", "app.programme.forms:NewTrainingForm",
    # the field intake's parts of the online forms (their ``version`` is None: a field intake
    # creates a case or adds records, app.field.review)
    "app.field.forms:FieldPersonForm", "app.field.forms:FieldIncidentForm",
}

# POST endpoints that save no record a form loaded (they create one, or act on the session):
# a new POST route goes in EDITS or here, and the test says which.
UNVERSIONED_POSTS = {
    # a pending field intake is decided once: claimed by a conditional update on its status
    # (app.field.review._claim), so a second tab's post changes nothing
    "field.open_case", "field.merge", "field.discard",
    # a hand-over is claimed by a conditional update on the status and the reviewer the form
    # was built on (app.field.handover.hand_over): a stale form changes nothing
    "field.hand_over",
    # envelopes become pending intakes, once each (idempotent on the submission id)
    "field.sync_upload",
    "admin.user_action", "admin.user_reset_password", "admin.user_new", "audit.export",
    "audit.verify", "auth.keepalive", "auth.lock", "auth.login", "auth.logout", "auth.mfa",
    "attachments.upload",  # creates a file; files are never edited
    "auth.mfa_enrol", "auth.change_password", "auth.regenerate_codes", "auth.reset_password",
    "auth.end_session", "cases.consent", "cases.erase", "cases.follow_up",
    "cases.follow_up_done", "cases.note", "cases.break_glass", "cases.new",
    "cases.search_cases", "main.set_language", "referrals.revoke", "referrals.new",
    # the receiving service's own creates on a referral (one-time tokens; the parent's state
    # is checked by the service, whatever its version)
    "referrals.refer_on", "referrals.record_service",
    "safe_space.new_session", "recorder.download", "programme.new_log",
    # a transfer request is created (one-time token); cancelling, accepting and declining take
    # it out of "pending" with a conditional update, so the second of two answers is refused
    # (tests/test_case_transfer.py)
    "cases.transfer", "cases.transfer_cancel", "cases.transfer_accept", "cases.transfer_decline",
    # one's own notifications and email setting (like main.set_language)
    "notifications.open_one", "notifications.read_all", "notifications.email_setting",
    # a pledge is never edited: publishing adds a version after the one the form was built on
    # (a version published meanwhile refuses it, tests/test_pledge.py); accepting names the
    # version read, and a newer one refuses it
    "admin.pledge_publish", "auth.pledge",
    # passkeys: a sign-in answer, a registration's start and end (the challenge is single use),
    # a removal (a passkey is never edited)
    "auth.mfa_passkey", "auth.passkey_new", "auth.passkey_add", "auth.passkey_remove",
    # single sign-on: linking adds an identity row (refused when the account or the subject is
    # already linked, whatever was read before); removing it is a delete
    "admin.user_sso_link", "admin.user_sso_unlink",
}



def _messages() -> set[str]:
    """Every wording of the conflict message (each area words its own)."""
    found: set[str] = set()
    todo: list[type[Stale]] = [Stale]
    while todo:
        cls = todo.pop()
        found.add(str(escape(str(cls.message))))
        todo += cls.__subclasses__()
    return found


def _all_forms() -> set[str]:
    found, todo = set(), list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("app.") and "version" in dir(cls):
            found.add(f"{cls.__module__}:{cls.__name__}")
    return found


def test_every_versioned_form_and_post_route_is_in_the_table(app):
    assert {e.form for e in EDITS} | CREATE_FORMS == _all_forms()
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    assert posts == {e.endpoint for e in EDITS} | UNVERSIONED_POSTS


def _version(app, model: type, rid: str) -> int:
    with app.app_context():
        obj = db.session.get(model, uuid.UUID(rid))
        assert obj is not None
        return int(obj.version)


@pytest.mark.parametrize("edit", EDITS, ids=lambda e: e.id)
def test_a_stale_save_shows_the_conflict_and_saves_nothing(app, auth, world, edit: Edit):
    ids = {**world.ids, **world.users}
    if edit.setup is _grant:
        ids.update(_grant(app, world, auth))
    else:
        with app.app_context():
            ids.update(edit.setup(app, world))
            db.session.commit()
    rid = ids[edit.record]
    c = auth.login(edit.user)
    page_url, action = edit.page.format(**ids), edit.action.format(**ids)
    page = c.get(page_url)
    assert page.status_code == 200, page_url
    data = {**form_values(page.get_data(as_text=True), action, page_url), **edit.values}
    assert "version" in data, f"the form posting to {action} carries no version"
    # Someone else saves the record: its version moves on.
    with app.app_context():
        other = db.session.get(edit.model, uuid.UUID(rid))
        touched = next(c.key for c in edit.model.__table__.columns  # type: ignore[attr-defined]
                       if c.key not in ("id", "version"))
        flag_modified(other, touched)
        db.session.commit()
    moved = _version(app, edit.model, rid)
    r = c.post((edit.post or action).format(**ids), data=data, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert r.status_code in (200, 409), (action, r.status_code)
    assert any(m in body for m in _messages()), (action, [line for line in body.splitlines()
                                                          if "error" in line][:5])
    assert _version(app, edit.model, rid) == moved, "a stale save changed the record"
