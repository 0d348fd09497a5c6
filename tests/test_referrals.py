"""Consent-gated referrals: the consent gate and the supervisor override, the sealed share the
recipient sees (and nothing else), the state machine, revocation and consent withdrawal, and
tracking on the sender's side."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.cases.models import Case
from app.crypto.errors import DecryptionError
from app.db import db
from app.referrals.models import Referral
from tests.helpers.audit import events
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.incidents import incident_form


def _refer(c, case_id, service_id, **over):
    page = c.get(f"/referrals/new/{case_id}").get_data(as_text=True)
    data = {"service": service_id, "urgency": "normal", "message": "", "override_code": "",
            "override_reason": "",
            **form_tokens(page)}
    data.update(over)
    return c.post(f"/referrals/new/{case_id}", data=data)


def _count(app):
    with app.app_context():
        return db.session.execute(select(sa.func.count()).select_from(Referral)).scalar_one()


def test_no_consent_refused_and_audited(app, auth, world):
    c = auth.login("caseworker")
    before = _count(app)
    r = _refer(c, world.ids["case_own"], world.ids["legal"])
    assert r.status_code == 200 and "not consented" in r.get_data(as_text=True)
    assert _count(app) == before
    assert any(e.reason == "no_consent_for_service_type"
               for e in events(app, "referral.create", outcome="denied"))


def test_caseworker_cannot_override_and_supervisor_override_is_flagged(app, auth, world):
    c = auth.login("caseworker")
    before = _count(app)
    r = _refer(c, world.ids["case_own"], world.ids["legal"], override_code="risk_to_life",
               override_reason="A long enough reason written by a caseworker.")
    assert _count(app) == before and "not consented" in r.get_data(as_text=True)
    s = auth.login("supervisor")
    r = _refer(s, world.ids["case_own"], world.ids["legal"])
    assert _count(app) == before and "not consented" in r.get_data(as_text=True)
    r = _refer(s, world.ids["case_own"], world.ids["legal"], override_code="other",
               override_reason="too short")
    assert _count(app) == before and "full sentence" in r.get_data(as_text=True)
    # Short free text: each run of words has a 1 in 65,536 chance of matching a name digest.
    text = "Danger tonight; verbal consent only."
    r = _refer(s, world.ids["case_own"], world.ids["legal"], override_code="risk_to_life",
               override_reason=text)
    assert r.status_code == 302 and _count(app) == before + 1
    flagged = events(app, "referral.consent_override")
    assert f"risk_to_life;text={len(text)}" in [e.reason for e in flagged]
    assert not any("danger tonight" in (e.reason or "") for e in flagged)


def test_fields_outside_consent_refused(app, auth, world):
    from app.auth.models import User
    from app.cases.service import CaseError
    from app.referrals import service

    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        case = db.session.get(Case, uuid.UUID(world.ids["case_own"]))
        with pytest.raises(CaseError, match="not covered"):
            service.create(user, case, service.NewReferral(
                service_id=uuid.UUID(world.ids["mhpss"]), fields=("phone",)))
    c = auth.login("caseworker")
    before = _count(app)
    r = _refer(c, world.ids["case_own"], world.ids["mhpss"], fields=["location"])
    assert r.status_code == 200 and _count(app) == before


def test_unknown_or_inactive_service_refused(app, auth, world):
    from app.directory.models import Service

    with app.app_context():
        db.session.get(Service, uuid.UUID(world.ids["mhpss"])).active = False
        db.session.commit()
    c = auth.login("caseworker")
    before = _count(app)
    r = _refer(c, world.ids["case_own"], world.ids["mhpss"])
    assert r.status_code == 200 and _count(app) == before
    r = _refer(c, world.ids["case_own"], str(uuid.uuid4()))
    assert r.status_code == 200 and _count(app) == before


def test_recipient_sees_exactly_the_share(app, auth, world):
    p = auth.login("service_provider")
    inbox = p.get("/referrals/inbox").get_data(as_text=True)
    assert world.ids["ref_mhpss"] in inbox and world.ids["ref_legal"] not in inbox
    html = p.get(f"/referrals/{world.ids['ref_mhpss']}").get_data(as_text=True)
    assert CANARY["own_name"] in html and CANARY["message"] in html
    assert world.case_numbers["case_own"] in html
    for hidden in ("own_alias", "own_narrative", "own_location"):
        assert CANARY[hidden] not in html
    assert "+218" not in html and world.ids["case_own"] not in html
    # Never the case itself.
    assert p.get(f"/cases/{world.ids['case_own']}").status_code == 403
    assert events(app, "referral.view")


def test_other_service_gets_404_audited(app, auth, world):
    p = auth.login("service_provider")
    assert p.get(f"/referrals/{world.ids['ref_legal']}").status_code == 404
    r = p.post(f"/referrals/{world.ids['ref_legal']}/accept",
               data={"note": "", "version": "1", "csrf_token": auth.csrf(p)})
    assert r.status_code == 404
    with app.app_context():
        assert db.session.get(Referral, uuid.UUID(world.ids["ref_legal"])).status == "sent"
    assert len([e for e in events(app, "referral.view", outcome="denied")
                if e.object_id == world.ids["ref_legal"]]) >= 1
    assert [e for e in events(app, "referral.accept", outcome="denied")
            if e.object_id == world.ids["ref_legal"]]


def _answer(p, rid, op, note="", version=None, app=None, **more):
    page = p.get(f"/referrals/{rid}").get_data(as_text=True)
    if version is None:
        with app.app_context():
            version = db.session.get(Referral, uuid.UUID(rid)).version
    if op == "complete":  # an outcome and the confirming tick, unless the test says otherwise
        more = {"outcome": "provided", "confirm": "y", **more}
    return p.post(f"/referrals/{rid}/{op}", data={"note": note, "version": str(version),
                                                 "csrf_token": csrf_from(page), **more},
                  follow_redirects=True)


def _status(app, rid):
    with app.app_context():
        return db.session.get(Referral, uuid.UUID(rid)).status


def test_state_machine(app, auth, world):
    p = auth.login("service_provider")
    rid = world.ids["ref_mhpss"]
    r = _answer(p, rid, "complete", "done", app=app)
    assert "Only an accepted referral can be completed" in r.get_data(as_text=True)
    assert _status(app, rid) == "sent"
    r = _answer(p, rid, "decline", "", app=app)
    assert "reason for declining" in r.get_data(as_text=True) and _status(app, rid) == "sent"
    _answer(p, rid, "accept", app=app)
    assert _status(app, rid) == "accepted"
    r = _answer(p, rid, "accept", app=app)
    assert "can be accepted" in r.get_data(as_text=True)
    _answer(p, rid, "complete", "Attended three counselling sessions.", app=app)
    assert _status(app, rid) == "completed"
    c = auth.login("caseworker")
    sent = c.get(f"/referrals/{rid}/sent").get_data(as_text=True)
    assert "Attended three counselling sessions." in sent
    assert {"referral.accept", "referral.complete"} <= {e.action for e in events(app, "referral.accept")
                                                        + events(app, "referral.complete")}


def test_revocation_ends_access_at_once_and_shreds_the_share(app, auth, world):
    rid = world.ids["ref_mhpss"]
    table = Referral.__table__
    with app.app_context():  # a copy of the row, as a backup would hold it
        saved = dict(db.session.execute(
            select(table).where(table.c.id == uuid.UUID(rid))).mappings().one())
    p = auth.login("service_provider")
    assert p.get(f"/referrals/{rid}").status_code == 200
    c = auth.login("caseworker")
    r = c.post(f"/referrals/{rid}/revoke", data={"reason": "sent_in_error", "csrf_token": auth.csrf(c)})
    assert r.status_code == 302
    assert p.get(f"/referrals/{rid}").status_code == 404
    r = p.post(f"/referrals/{rid}/accept", data={"note": "", "version": "1",
                                                 "csrf_token": auth.csrf(p)})
    assert r.status_code == 404
    assert rid not in p.get("/referrals/inbox").get_data(as_text=True)
    from app.crypto.fields import open_saved

    with app.app_context(), pytest.raises(DecryptionError):
        open_saved(Referral, "share", saved)
    sent = c.get(f"/referrals/{rid}/sent").get_data(as_text=True)
    assert "Revoked" in sent and CANARY["own_name"] not in sent


def test_consent_withdrawal_revokes(app, auth, world):
    c = auth.login("caseworker")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    c.post(f"/cases/{world.ids['case_own']}/consent", data={
        "kind": "share:mhpss", "granted": "no", "given_by": "survivor", "method": "verbal",
        "child_assent": "", "caregiver_not_asked_reason": "",
        **form_tokens(page, f"/cases/{world.ids['case_own']}/consent")})
    assert _status(app, world.ids["ref_mhpss"]) == "revoked"
    assert _status(app, world.ids["ref_legal"]) == "sent"  # other service types untouched
    p = auth.login("service_provider")
    assert p.get(f"/referrals/{world.ids['ref_mhpss']}").status_code == 404


def test_clinical_referral_for_recent_rape_is_urgent_with_hours_left(app, auth, world, frozen):
    c = auth.login("caseworker")
    cid = world.ids["case_own"]
    page = c.get(f"/cases/{cid}/incidents/new").get_data(as_text=True)
    today = frozen.now.date()
    c.post(f"/cases/{cid}/incidents/new", data={
        "incident_date": (today - timedelta(days=1)).isoformat(), "reported_date": today.isoformat(),
        **incident_form("penetration", location_type="home_survivor",
                        displacement_stage="not_displaced",
                        incident_date=(today - timedelta(days=1)).isoformat(),
                        reported_date=today.isoformat()), **form_tokens(page)})
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    c.post(f"/cases/{cid}/consent", data={"kind": "share:health_medical", "granted": "yes",
                                         "given_by": "survivor", "method": "verbal",
                                         **form_tokens(page, f"/cases/{cid}/consent")})
    from app.directory.models import Service

    with app.app_context():
        clinic = Service(organisation_id=uuid.UUID(world.ids["org"]), name="Clinic",
                         service_type="health_medical")
        db.session.add(clinic)
        db.session.commit()
        clinic_id = str(clinic.id)
    r = _refer(c, cid, clinic_id, urgency="normal")
    assert r.status_code == 302
    with app.app_context():
        ref = db.session.execute(select(Referral).where(
            Referral.service_id == uuid.UUID(clinic_id))).scalar_one()
        assert ref.urgency == "urgent" and ref.urgent_clinical and ref.clinical_deadline_at
    tasks = c.get("/cases/tasks").get_data(as_text=True)
    assert "urgent clinical referral" in tasks and "hours left" in tasks


def test_unanswered_referral_appears_on_task_lists_after_deadline(app, auth, world, frozen):
    c = auth.login("caseworker")
    assert "no answer from" not in c.get("/cases/tasks").get_data(as_text=True)
    frozen.advance(hours=73)
    c = auth.login("caseworker")
    assert "no answer from" in c.get("/cases/tasks").get_data(as_text=True)
    s = auth.login("supervisor")
    assert "no answer from" in s.get("/cases/tasks").get_data(as_text=True)


def test_erasing_the_case_shreds_its_referrals(app, auth, world):
    s = auth.login("supervisor")
    cid = world.ids["case_own"]
    page = s.get(f"/cases/{cid}/erase").get_data(as_text=True)
    s.post(f"/cases/{cid}/erase", data={"confirm_number": world.case_numbers["case_own"],
                                        "reason": "survivor_request", "csrf_token": csrf_from(page)})
    with app.app_context():
        assert db.session.execute(select(Referral)).scalars().all() == []
        from app.crypto.models import DataKey

        keys = db.session.execute(select(DataKey).where(DataKey.purpose == "referrals")).scalars().all()
        assert keys and all(k.wrapped is None for k in keys)
    p = auth.login("service_provider")
    assert p.get(f"/referrals/{world.ids['ref_mhpss']}").status_code == 404
