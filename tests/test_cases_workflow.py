"""A caseworker's daily work: intake after search, consent gates, incidents classified the
GBVIMS way, assessment, plan, follow-ups, notes, the workflow and closure by a supervisor."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.cases.models import Case, ConsentRecord, Incident
from app.db import db
from tests.helpers.cases import INTAKE, case_id_from, case_version, give_consent, open_case
from tests.helpers.forms import csrf_from, form_tokens, mint_token
from tests.helpers.incidents import incident_form, perpetrator_fields


def test_intake_needs_a_search_first(auth, world):
    c = auth.login("caseworker")
    r = c.get("/cases/new")
    assert r.status_code == 302 and r.location.endswith("/cases/search")


def test_intake_gives_a_site_year_sequence_number(app, auth, world):
    c = auth.login("caseworker")
    r1 = open_case(c, world)
    r2 = open_case(c, world, full_name="Second Person")
    assert r1.status_code == 302 and r2.status_code == 302
    with app.app_context():
        numbers = sorted(db.session.execute(select(Case.case_number).where(
            Case.primary_worker_id == uuid.UUID(world.users["caseworker"]))).scalars())
    assert all(re.fullmatch(r"TRI-2026-\d{5}", n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


def test_bad_intake_keeps_input_and_saves_nothing(app, auth, world):
    c = auth.login("caseworker")
    with app.app_context():
        before = db.session.execute(select(Case.id)).all()
    for over in ({"date_of_birth": "2999-01-01"}, {"date_of_birth": "", "estimated_age": "200"},
                 {"full_name": ""}, {"full_name": "x" * 500}, {"phone": "call me maybe"},
                 {"full_name": "Amira\x07Test"}, {"date_of_birth": "", "estimated_age": ""}):
        r = open_case(c, world, **over)
        assert r.status_code == 200, over
        html = r.get_data(as_text=True)
        assert "error-message" in html
        assert "Camp block C" in html  # what the user typed is kept
    with app.app_context():
        assert db.session.execute(select(Case.id)).all() == before


def test_markup_is_stored_as_text_and_rendered_escaped(app, auth, world):
    c = auth.login("caseworker")
    r = open_case(c, world, full_name="<script>alert(1)</script>")
    html = c.get(f"/cases/{case_id_from(r)}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_without_consent_only_intake(app, auth, world):
    c = auth.login("caseworker")
    cid = case_id_from(open_case(c, world))
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    assert 'id="no-consent"' in page
    r = c.post(f"/cases/{cid}/status", data={"to_status": "assessment", "version": case_version(app, cid),
                                            "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).status == "open"
    # The page offers no note form without consent; a note sent anyway (with a token the app
    # issued) is refused by the service.
    token = mint_token(app, world.users["caseworker"], "note.create", cid)
    r = c.post(f"/cases/{cid}/notes", data={"body": "a note", "csrf_token": csrf_from(page),
                                           "submission_token": token}, follow_redirects=True)
    assert "consent for services first" in r.get_data(as_text=True)
    give_consent(c, cid)
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    r = c.post(f"/cases/{cid}/status", data={"to_status": "assessment", "version": case_version(app, cid),
                                            "csrf_token": csrf_from(page)})
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).status == "assessment"


def test_consent_withdrawal_takes_effect_at_once(app, auth, world):
    c = auth.login("caseworker")
    cid = case_id_from(open_case(c, world))
    give_consent(c, cid)
    page = c.get(f"/cases/{cid}").get_data(as_text=True)  # a note form opened with consent...
    give_consent(c, cid, granted="no")
    r = c.post(f"/cases/{cid}/notes", data={"body": "after withdrawal",  # ...sent after it ended
                                           **form_tokens(page, f"/cases/{cid}/notes")},
               follow_redirects=True)
    assert "consent for services first" in r.get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(select(ConsentRecord).where(
            ConsentRecord.case_id == uuid.UUID(cid))).scalars().all()
        assert [r.granted for r in sorted(rows, key=lambda r: r.recorded_at)] == [True, False]
        assert all(r.recorded_by_id == uuid.UUID(world.users["caseworker"]) for r in rows)


def test_child_consent_needs_assent_and_caregiver_or_reason(app, auth, world, frozen):
    c = auth.login("caseworker")
    dob = (frozen.now.date() - timedelta(days=365 * 14)).isoformat()
    cid = case_id_from(open_case(c, world, date_of_birth=dob))
    r = give_consent(c, cid)  # survivor alone, no assent, no reason
    assert "child" in c.get(f"/cases/{cid}").get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).is_child
        mine = select(ConsentRecord).where(ConsentRecord.case_id == uuid.UUID(cid))
        assert db.session.execute(mine).scalars().all() == []
    assert r.status_code == 302
    give_consent(c, cid, given_by="survivor", child_assent="yes",
                 caregiver_not_asked_reason="caregiver_alleged_perpetrator")
    with app.app_context():
        rec = db.session.execute(
            select(ConsentRecord).where(ConsentRecord.case_id == uuid.UUID(cid))).scalar_one()
        assert rec.child_assent and rec.caregiver_not_asked_reason == "caregiver_alleged_perpetrator"


def _incident(c, cid, **over):
    page = c.get(f"/cases/{cid}/incidents/new").get_data(as_text=True)
    data = {**incident_form("penetration", "physical", "psychological",
                            incident_date="2026-11-23", reported_date="2026-11-24",
                            perpetrator_count="1", time_of_day="evening_night",
                            narrative="Narrative text",
                            **perpetrator_fields(0, "male", "26_40", "armed_actor", "unknown")),
            **form_tokens(page)}
    data.update(over)
    return c.post(f"/cases/{cid}/incidents/new", data=data)


def test_incident_classified_first_yes_and_urgent_rape_flagged(app, auth, world):
    c = auth.login("caseworker")
    cid = case_id_from(open_case(c, world))
    give_consent(c, cid)
    r = _incident(c, cid)
    assert r.status_code == 302
    with app.app_context():
        inc = db.session.execute(
            select(Incident).where(Incident.case_id == uuid.UUID(cid))).scalar_one()
        assert inc.core_type == "rape" and inc.urgent_clinical and inc.report_band == "0_3_days"
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert "hours left" in tasks


def test_incident_contexts_and_ipv(app, auth, world):
    c = auth.login("caseworker")
    cid = case_id_from(open_case(c, world))
    give_consent(c, cid)
    _incident(c, cid, penetration="no", physical="yes", **{"perpetrators-0-relationship": "intimate_partner"},
              incident_date="2026-10-01", reported_date="2026-11-20")
    with app.app_context():
        inc = db.session.execute(
            select(Incident).where(Incident.case_id == uuid.UUID(cid))).scalar_one()
        assert inc.core_type == "physical_assault" and inc.contexts == "intimate_partner_violence"
        assert inc.report_band == "over_1_month" and not inc.urgent_clinical


def test_incident_bad_dates_refused(app, auth, world):
    c = auth.login("caseworker")
    cid = case_id_from(open_case(c, world))
    give_consent(c, cid)
    r = _incident(c, cid, incident_date="2026-11-20", reported_date="2026-11-10")
    assert "cannot come before" in r.get_data(as_text=True)
    r = _incident(c, cid, incident_date="2027-01-01")
    assert "in the future" in r.get_data(as_text=True)
    r = _incident(c, cid, survivor_age_at_incident="-3")
    assert r.status_code == 200
    r = _incident(c, cid, narrative="x" * 30000)
    assert r.status_code == 200
    with app.app_context():
        assert db.session.execute(
            select(Incident).where(Incident.case_id == uuid.UUID(cid))).scalars().all() == []


def test_closure_needs_another_supervisor_and_closed_is_read_only(app, auth, world):
    sup = auth.login("supervisor")
    c = auth.login("caseworker")
    cid = case_id_from(open_case(c, world))
    give_consent(c, cid)
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    c.post(f"/cases/{cid}/status", data={"to_status": "assessment", "version": case_version(app, cid),
                                        "csrf_token": csrf_from(page)})
    c.post(f"/cases/{cid}/closure", data={"reason": "needs_met", "details": "", "csrf_token": csrf_from(page),
                                         "version": case_version(app, cid)})
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).status == "closure_requested"
    # The caseworker cannot approve (not a supervisor: 403 by policy).
    r = c.post(f"/cases/{cid}/closure/decision",
               data={"decision": "approve", "version": case_version(app, cid),
                     "csrf_token": csrf_from(page)})
    assert r.status_code == 403
    spage = sup.get(f"/cases/{cid}").get_data(as_text=True)
    assert "Approve closure" in spage
    sup.post(f"/cases/{cid}/closure/decision", data={"decision": "approve", "version": case_version(app, cid),
                                                    "csrf_token": csrf_from(spage)})
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(cid))
        assert case.status == "closed" and case.closed_at is not None
    r = c.post(f"/cases/{cid}/notes", data={"body": "late note",
                                           **form_tokens(page, f"/cases/{cid}/notes")},
               follow_redirects=True)
    assert "closed and read-only" in r.get_data(as_text=True)
    c.post(f"/cases/{cid}/reopen", data={"reason": "new_incident", "details": "",
                                        "version": case_version(app, cid),
                                        "csrf_token": csrf_from(page)})
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).status == "assessment"
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert {"case.closure_request", "case.closure_approve", "case.reopen"} <= set(actions)


def test_supervisor_cannot_approve_own_closure_request(app, auth, world):
    sup = auth.login("supervisor")
    page = sup.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    cid = world.ids["case_own"]
    sup.post(f"/cases/{cid}/status", data={"to_status": "assessment", "version": case_version(app, cid),
                                          "csrf_token": csrf_from(page)})
    sup.post(f"/cases/{cid}/closure", data={"reason": "needs_met", "details": "",
                                           "version": case_version(app, cid),
                                           "csrf_token": csrf_from(page)})
    r = sup.post(f"/cases/{cid}/closure/decision", data={"decision": "approve",
                                                        "version": case_version(app, cid),
                                                        "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "cannot approve your own" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).status == "closure_requested"


def test_second_save_from_a_stale_form_is_refused_and_input_kept(app, auth, world):
    a = auth.login("caseworker")
    b = auth.login("supervisor")
    cid = world.ids["case_own"]
    page_a = a.get(f"/cases/{cid}/edit").get_data(as_text=True)
    page_b = b.get(f"/cases/{cid}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page_a).group(1)
    base = dict(INTAKE, site=world.ids["tripoli"], version=version)
    r1 = a.post(f"/cases/{cid}/edit", data=dict(base, location="First save", csrf_token=csrf_from(page_a)))
    assert r1.status_code == 302
    r2 = b.post(f"/cases/{cid}/edit", data=dict(base, location="Second save", csrf_token=csrf_from(page_b)))
    html = r2.get_data(as_text=True)
    assert r2.status_code == 200 and "Someone else saved this case" in html and "Second save" in html
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).location == "First save"


def test_assessment_plan_follow_up_and_overdue_tasks(app, auth, world, frozen):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    page = c.get(f"/cases/{cid}/assessment").get_data(as_text=True)
    r = c.post(f"/cases/{cid}/assessment", data={"risk_level": "high", "needs": ["mhpss", "legal"],
                                                "notes": "assessment notes", "safety_plan": "plan",
                                                "version": "", **form_tokens(page)})
    assert r.status_code == 302
    page = c.get(f"/cases/{cid}/actions/new").get_data(as_text=True)
    c.post(f"/cases/{cid}/actions/new", data={"goal": "See a counsellor", "service_type": "mhpss",
                                             "due_on": (frozen.now.date() + timedelta(days=2)).isoformat(),
                                             "status": "planned", **form_tokens(page)})
    due = (frozen.now.date() + timedelta(days=5)).isoformat()
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    c.post(f"/cases/{cid}/follow-ups", data={"follow_up-due_on": due, "follow_up-notes": "",
                                            **form_tokens(page, f"/cases/{cid}/follow-ups")})
    assert "Nothing overdue" in c.get("/cases/tasks").get_data(as_text=True)
    frozen.advance(days=6)
    c = auth.login("caseworker")
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert "Action plan goal" in tasks and "Follow-up visit" in tasks
    sup = auth.login("supervisor")
    assert "Action plan goal" in sup.get("/cases/tasks").get_data(as_text=True)
    view = c.get(f"/cases/{cid}").get_data(as_text=True)
    assert "See a counsellor" in view and "assessment notes" in view
    with app.app_context():
        assert db.session.get(Case, uuid.UUID(cid)).risk_level == "high"
