"""The rules of a case live in the service layer, once.

A closed case is read-only: every write refuses it in the service (``app.cases.rules``), with
nothing saved, whoever calls it; only reopening and erasure act on a closed case. The loader
for writes never hands out break-glass access. Templates show what the context builder decided
(no status or role comparisons of their own), and cases announce events through hooks instead
of importing referrals.
"""

from __future__ import annotations

import ast
import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import consent, gbvims, records, rules, service
from app.cases.models import (
    ActionItem,
    BreakGlassGrant,
    Case,
    CaseNote,
    ConsentRecord,
    FollowUp,
    Incident,
    StatusChange,
)
from app.cases.scopes import load_case
from app.cases.workflow import CaseStatus
from app.core import hooks
from app.core.errors import CaseError
from app.db import db
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.incidents import incident_form

APP = Path(__file__).resolve().parent.parent / "app"
CLOSED_MESSAGE = "closed and read-only"


def _user(world, name: str) -> User:
    return db.session.get(User, uuid.UUID(world.users[name]))


def _prepare(app, world) -> tuple[str, str]:
    """Add a goal and a planned visit to the caseworker's own case; return their ids."""
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        worker = _user(world, "caseworker")
        item = records.save_action_item(worker, case, records.GoalInput(
            service_type="mhpss", due_on=date(2026, 12, 20)))
        visit = records.add_follow_up(worker, case, records.FollowUpInput(
            due_on=date(2026, 12, 10)))
        return str(item.id), str(visit.id)


def _set_closed(app, world) -> int:
    """Close the caseworker's own case; return its version."""
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        case.status = CaseStatus.CLOSED
        db.session.commit()
        return case.version


def _close(app, world) -> tuple[str, str]:
    ids = _prepare(app, world)
    _set_closed(app, world)
    return ids


def _snapshot(app, world) -> tuple:
    """Everything a write on the case could change."""
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        counts = tuple(db.session.execute(select(func.count()).select_from(m).where(
            m.case_id == case.id)).scalar_one()
            for m in (Incident, ActionItem, FollowUp, CaseNote, ConsentRecord, StatusChange))
        versions = tuple(sorted((str(r.id), r.version) for m in (Incident, ActionItem, FollowUp)
                                for r in db.session.execute(select(m).where(
                                    m.case_id == case.id)).scalars()))
        done = tuple(v.done_on for v in db.session.execute(
            select(FollowUp).where(FollowUp.case_id == case.id)).scalars())
        return (case.version, case.status, case.primary_worker_id, case.secondary_worker_id,
                case.plan_approved_at, case.risk_level, counts, versions, done)


IDENTITY = {"full_name": "Changed Name", "sex": "female", "nationality_group": "national",
            "displacement_status": "idp", "disability": "no", "estimated_age": 30}
INCIDENT = records.IncidentInput(
    incident_date=date(2026, 11, 2), reported_date=date(2026, 11, 20), location_type="market",
    answers=gbvims.answered("physical"), perpetrator_count="1", survivor_age_at_incident=30,
    perpetrators=(records.PerpetratorInput("unknown", "unknown", "unknown", "unknown"),),
    time_of_day="unknown", displacement_stage="during_refuge")


def _writes(world, case: Case, item_id: str, visit_id: str):
    """Every service write on a case but reopening and erasure, as (name, call)."""
    worker, sup = _user(world, "caseworker"), _user(world, "supervisor")
    item = db.session.get(ActionItem, uuid.UUID(item_id))
    visit = db.session.get(FollowUp, uuid.UUID(visit_id))
    incident = db.session.execute(select(Incident).where(Incident.case_id == case.id)).scalar()
    v = case.version
    return {
        "identity": lambda: service.update_identity(worker, case, service.IdentityInput(**IDENTITY), v),
        "consent": lambda: consent.record_consent(worker, case, kind="reporting", granted=True,
                                                  given_by="survivor", method="verbal"),
        "withdraw_consent": lambda: consent.record_consent(
            worker, case, kind="share:mhpss", granted=False, given_by="survivor",
            method="verbal"),
        "status": lambda: service.change_status(worker, case, CaseStatus.ASSESSMENT, v),
        "closure_request": lambda: service.request_closure(worker, case, "needs_met", None, v),
        "closure_decision": lambda: service.decide_closure(sup, case, True, v),
        "approve_plan": lambda: service.approve_plan(sup, case, v),
        "assign": lambda: service.assign(sup, case, worker, None, v),
        "new_incident": lambda: records.save_incident(worker, case, INCIDENT),
        "edit_incident": lambda: records.save_incident(worker, case, INCIDENT, incident,
                                                       incident.version),
        "assessment": lambda: records.save_assessment(worker, case, records.AssessmentInput(
            risk_level="high"), ""),
        "new_goal": lambda: records.save_action_item(worker, case, records.GoalInput(
            service_type="legal", due_on=date(2026, 12, 30))),
        "edit_goal": lambda: records.save_action_item(worker, case, records.GoalInput(
            service_type="legal", due_on=date(2026, 12, 30), status="done"), item, item.version),
        "follow_up": lambda: records.add_follow_up(worker, case, records.FollowUpInput(
            due_on=date(2026, 12, 9))),
        "follow_up_done": lambda: records.complete_follow_up(worker, case, visit, "went"),
        "note": lambda: records.add_note(worker, case, "a note on a closed case"),
    }


WRITES = ("identity", "consent", "withdraw_consent", "status", "closure_request",
          "closure_decision", "approve_plan", "assign", "new_incident", "edit_incident",
          "assessment", "new_goal", "edit_goal", "follow_up", "follow_up_done", "note")


@pytest.mark.parametrize("write", WRITES)
def test_every_write_on_a_closed_case_is_refused_by_the_service(app, world, write):
    item_id, visit_id = _close(app, world)
    before = _snapshot(app, world)
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        writes = _writes(world, case, item_id, visit_id)
        assert set(writes) == set(WRITES)
        with pytest.raises(CaseError, match=CLOSED_MESSAGE):
            writes[write]()
        db.session.rollback()
    assert _snapshot(app, world) == before


def test_reopen_and_erase_still_work_on_a_closed_case(app, world):
    _close(app, world)
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        service.reopen(_user(world, "caseworker"), case, "new_incident", None, case.version)
        assert case.status == CaseStatus.ASSESSMENT
        case.status = CaseStatus.CLOSED
        db.session.commit()
        case_id = case.id
        service.erase(_user(world, "supervisor"), case, "retention_expired")
        assert db.session.get(Case, case_id) is None


def _post_routes(world, item_id: str, visit_id: str) -> dict[str, tuple[str, str, dict]]:
    """Each write screen: (page that holds its form, URL it posts to, the fields it sends)."""
    cid = world.ids["case_own"]
    page = f"/cases/{cid}"
    return {
        "edit": (f"{page}/edit", f"{page}/edit", dict(IDENTITY, site=world.ids["tripoli"],
                                                      date_of_birth="", estimated_age="30")),
        "consent": (page, f"{page}/consent", {"kind": "reporting", "granted": "yes",
                                              "given_by": "survivor", "method": "verbal",
                                              "child_assent": "",
                                              "caregiver_not_asked_reason": ""}),
        "status": (page, f"{page}/status", {"to_status": "assessment"}),
        "closure": (page, f"{page}/closure", {"reason": "needs_met", "details": ""}),
        "decision": (page, f"{page}/closure/decision", {"decision": "approve"}),
        "plan": (page, f"{page}/plan/approve", {"decision": "approve"}),
        "assign": (f"{page}/assign", f"{page}/assign", {"primary": world.users["caseworker"],
                                                        "secondary": ""}),
        "incident": (f"{page}/incidents/new", f"{page}/incidents/new",
                     incident_form("physical", location_type="market")),
        "assessment": (f"{page}/assessment", f"{page}/assessment", {"risk_level": "high"}),
        "goal": (f"{page}/actions/new", f"{page}/actions/new", {
            "goal": "x", "service_type": "legal", "due_on": "2026-12-30", "status": "planned"}),
        "edit_goal": (f"{page}/actions/{item_id}", f"{page}/actions/{item_id}", {
            "goal": "x", "service_type": "legal", "due_on": "2026-12-30", "status": "done"}),
        "follow_up": (page, f"{page}/follow-ups", {"follow_up-due_on": "2026-12-09",
                                                   "follow_up-notes": ""}),
        "follow_up_done": (page, f"{page}/follow-ups/{visit_id}/done", {"body": "went"}),
        "note": (page, f"{page}/notes", {"body": "a note on a closed case"}),
    }


ROUTES = ("edit", "consent", "status", "closure", "decision", "plan", "assign", "incident",
          "assessment", "goal", "edit_goal", "follow_up", "follow_up_done", "note")


@pytest.mark.parametrize("route", ROUTES)
def test_every_write_screen_on_a_closed_case_changes_nothing(app, auth, world, route):
    item_id, visit_id = _prepare(app, world)
    c = auth.login("supervisor")
    page, url, data = _post_routes(world, item_id, visit_id)[route]
    # The form as it was shown while the case was open; the case is closed before it is sent.
    html = c.get(page).get_data(as_text=True)
    if page == url:  # the form's own page
        tokens = form_tokens(html)
    elif f'action="{url}"' in html:
        tokens = form_tokens(html, url)
    else:  # a form the page offers only later in the workflow (closure, decision)
        tokens = {"csrf_token": csrf_from(html)}
    version = _set_closed(app, world)
    before = _snapshot(app, world)
    with app.app_context():
        events = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    r = c.post(url, data={**data, **tokens, "version": version}, follow_redirects=True)
    assert r.status_code == 200
    assert CLOSED_MESSAGE in r.get_data(as_text=True)
    assert _snapshot(app, world) == before
    with app.app_context():
        written = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)
                                     .offset(events)).scalars().all()
    assert set(written) <= {"case.view"}, written


def test_load_case_for_writing_never_uses_break_glass(app, world, frozen):
    """A break-glass grant opens a case read-only; a write load is answered 404, audited."""
    from werkzeug.exceptions import NotFound

    with app.app_context():
        sup = _user(world, "supervisor")
        far = db.session.get(Case, uuid.UUID(world.ids["case_far"]))
        service.break_glass(sup, far.case_number, "imminent_risk", None)
        access = load_case(sup, far.id)
        assert access.read_only and access.break_glass and not access.writable
        with pytest.raises(NotFound):
            load_case(sup, far.id, write=True)
        denied = db.session.execute(select(AuditEvent).where(
            AuditEvent.object_id == str(far.id), AuditEvent.outcome == "denied")).scalars().all()
        assert [e.reason for e in denied] == ["out_of_scope"]
        assert db.session.execute(select(func.count()).select_from(BreakGlassGrant)).scalar_one()


def test_load_case_for_writing_a_closed_case_leaves_the_refusal_to_the_service(app, world):
    _close(app, world)
    with app.app_context():
        worker = _user(world, "caseworker")
        access = load_case(worker, uuid.UUID(world.ids["case_own"]), write=True)
        assert not access.read_only and not access.writable  # reopen and erase need it
        assert not rules.is_writable(access.case)
        with pytest.raises(CaseError, match=CLOSED_MESSAGE):
            rules.ensure_writable(access.case)


DECISIONS = re.compile(r"status\s*(==|!=|\bin\b|\bnot in\b)|\.role\b|has_permission|"
                       r"read_only\s+and|'closed'|\"closed\"")


def test_case_templates_read_booleans_not_rules():
    found = [f"{p.name}: {m.group(0)}" for p in sorted((APP / "templates/cases").glob("*.html"))
             for m in DECISIONS.finditer(p.read_text())]
    assert found == []


def test_case_page_is_made_of_section_partials():
    page = (APP / "templates/cases/view.html").read_text()
    sections = sorted(p.name for p in (APP / "templates/cases").glob("_section_*.html"))
    assert len(sections) >= 9
    for name in sections:
        assert f'{{% include "cases/{name}" %}}' in page
    assert "<section" not in page


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at module level or inside functions."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_cases_never_import_referrals():
    found = [f"{p.relative_to(APP)}: {name}" for p in sorted((APP / "cases").rglob("*.py"))
             for name in _imports(p)
             if name == "app.referrals" or name.startswith("app.referrals.")]
    assert found == []


def test_required_hooks_have_their_listeners(app):
    # create_app calls check_subscribed(): this app started, so each required hook has one.
    hooks.check_subscribed()
    for hook in (hooks.consent_withdrawn, hooks.case_erased, hooks.case_page, hooks.task_page,
                 hooks.share_fields):
        assert hook.required and hook.subscribers


def test_collect_returns_each_subscriber_result_in_order():
    hook = hooks.Hook("test_collect")
    hook.subscribe(lambda **kw: {"a": kw["x"]})
    hook.subscribe(lambda **kw: {"b": kw["x"] + 1})
    assert hook.collect(x=1) == [{"a": 1}, {"b": 2}]
    assert hooks.Hook("nobody").collect() == []


def test_a_required_hook_without_listener_refuses_to_start(monkeypatch):
    lonely = hooks.Hook("lonely", required=True)
    monkeypatch.setattr(hooks, "ALL", (*hooks.ALL, lonely))
    with pytest.raises(RuntimeError, match="lonely"):
        hooks.check_subscribed()


def test_record_routes_are_registered_explicitly(app):
    source = (APP / "cases/record_routes.py").read_text()
    assert "@bp." not in source and "from app.cases.routes" not in source
    assert "def register(bp: Blueprint)" in source
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert {"cases.incident", "cases.assessment", "cases.action_item", "cases.follow_up",
            "cases.follow_up_done", "cases.note"} <= endpoints
