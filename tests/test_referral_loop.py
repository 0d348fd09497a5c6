"""The referral loop closes: a completion needs a coded outcome and a confirming tick, accepting
and completing say so on screen, the provider sees the answers its service wrote, the sender
sees the message they wrote, a refusal for an unconsented field names it, a closure request
lists what is still open for the caseworker and the supervisor, and sending a closure back
needs a reason the caseworker then sees."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case, StatusChange
from app.db import db
from app.referrals.models import Referral, ReferralEvent
from tests.helpers.audit import events
from tests.helpers.cases import case_version
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from, form_tokens

URGENT = "Urgent referral to Mental health and psychosocial support not answered yet"
ACCEPT_NOTE = "AcceptNoteCanary-first session Tuesday"
DONE_NOTE = "OutcomeNoteCanary-six sessions held"
SEND_BACK = "SendBackCanary-agree the safety plan first"


def _user(world, name: str) -> User:
    found = db.session.get(User, uuid.UUID(world.users[name]))
    assert found is not None
    return found


def _case(world, label: str = "case_own") -> Case:
    found = db.session.get(Case, uuid.UUID(world.ids[label]))
    assert found is not None
    return found


def _referral(app, rid: str) -> Referral:
    with app.app_context():
        found = db.session.get(Referral, uuid.UUID(rid))
        assert found is not None
        db.session.expunge(found)
        return found


def _post(p, rid: str, op: str, app, **data: str):
    page = p.get(f"/referrals/{rid}").get_data(as_text=True)
    version = _referral(app, rid).version
    return p.post(f"/referrals/{rid}/{op}", data={"note": "", "version": str(version),
                                                 "csrf_token": csrf_from(page), **data})


def _errors(html: str) -> set[str]:
    """The fields a page marks as refused (the ids of their messages)."""
    return set(re.findall(r'id="([\w-]+)-error-\d+"', html))


def _section(html: str, element_id: str) -> str:
    """The element with ``element_id`` up to the end of its section (enough to look inside)."""
    start = html.index(f'id="{element_id}"')
    end = html.find("</section>", start)
    return html[start:end if end > 0 else None]


# --- Completing needs an outcome; accepting and completing confirm on screen --------------

def test_the_service_refuses_a_completion_without_outcome(app, world):
    from app.referrals import service

    with app.test_request_context():
        provider = _user(world, "service_provider")
        referral = db.session.get(Referral, uuid.UUID(world.ids["ref_mhpss"]))
        service.answer(provider, referral, service.ReferralAnswer(
            service.AnswerOp.ACCEPT, None, referral.version))
        version = referral.version
        for reply, field, message in (
                (service.ReferralAnswer(service.AnswerOp.COMPLETE, "done", version), "outcome",
                 "Choose the outcome"),
                (service.ReferralAnswer(service.AnswerOp.COMPLETE, None, version,
                                        outcome="shrug"), "outcome", "Choose the outcome"),
                (service.ReferralAnswer(service.AnswerOp.COMPLETE, None, version,
                                        outcome="not_provided"), "outcome_reason",
                 "why the service was not provided"),
                (service.ReferralAnswer(service.AnswerOp.COMPLETE, None, version,
                                        outcome="not_provided", outcome_reason="bored"),
                 "outcome_reason", "Choose a reason from the list")):
            with pytest.raises(service.ReferralError, match=message) as refused:
                service.answer(provider, referral, reply)
            assert refused.value.field == field
        assert (referral.status, referral.version, referral.outcome) == ("accepted", version, None)
        # Partly provided: the reason is optional. A provided service keeps no reason.
        service.answer(provider, referral, service.ReferralAnswer(
            service.AnswerOp.COMPLETE, None, version, outcome="provided",
            outcome_reason="survivor_declined"))
        assert (referral.status, referral.outcome, referral.outcome_reason) == (
            "completed", "provided", None)
        step = db.session.execute(select(ReferralEvent).where(
            ReferralEvent.referral_id == referral.id,
            ReferralEvent.to_status == "completed")).scalar_one()
        assert step.reason == "provided"


def test_completing_through_the_page_needs_outcome_and_tick_and_says_so(app, auth, world):
    rid = world.ids["ref_mhpss"]
    p = auth.login("service_provider")
    r = _post(p, rid, "accept", app, note=ACCEPT_NOTE)
    assert r.status_code == 302
    page = p.get(r.location).get_data(as_text=True)
    assert "Referral accepted." in page and 'class="flash' in page
    assert re.search(r'id="referral-status">Accepted<', page)
    version = _referral(app, rid).version

    # No outcome: refused beside the field, the note kept, nothing saved.
    r = _post(p, rid, "complete", app, note=DONE_NOTE, confirm="y")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _errors(html) == {"outcome"}
    assert DONE_NOTE in html and "Choose the outcome" in html
    # Not provided, no reason: refused beside the reason.
    r = _post(p, rid, "complete", app, outcome="not_provided", confirm="y")
    assert r.status_code == 200 and _errors(r.get_data(as_text=True)) == {"outcome_reason"}
    # Neither outcome nor tick: both shown at once.
    r = _post(p, rid, "complete", app, note=DONE_NOTE)
    assert r.status_code == 200 and _errors(r.get_data(as_text=True)) == {"outcome", "confirm"}
    # Everything right but the confirming tick: refused beside the tick.
    r = _post(p, rid, "complete", app, outcome="not_provided",
              outcome_reason="did_not_attend")
    assert r.status_code == 200 and _errors(r.get_data(as_text=True)) == {"confirm"}
    saved = _referral(app, rid)
    assert (saved.status, saved.version, saved.outcome) == ("accepted", version, None)
    assert not events(app, "referral.complete")

    r = _post(p, rid, "complete", app, note=DONE_NOTE, outcome="not_provided",
              outcome_reason="did_not_attend", confirm="y")
    assert r.status_code == 302
    page = p.get(r.location).get_data(as_text=True)
    assert "Referral completed." in page
    assert re.search(r'id="referral-status">Completed<', page)
    assert "Service not provided" in page and "did not come or could not be reached" in page
    saved = _referral(app, rid)
    assert (saved.status, saved.outcome, saved.outcome_reason) == (
        "completed", "not_provided", "did_not_attend")
    # The trail gets the codes, never the note.
    done = events(app, "referral.complete")
    assert [e.reason for e in done] == ["not_provided:did_not_attend"]
    with app.app_context():
        trail = " ".join(str(v) for e in db.session.execute(select(AuditEvent)).scalars()
                         for v in (e.reason, e.object_id))
    assert DONE_NOTE not in trail and ACCEPT_NOTE not in trail
    # The sender sees the outcome.
    c = auth.login("caseworker")
    sent = c.get(f"/referrals/{rid}/sent").get_data(as_text=True)
    assert "Service not provided" in sent and DONE_NOTE in sent


# --- Each side sees what it wrote -----------------------------------------------------------

def test_the_provider_sees_its_earlier_notes(app, auth, world):
    rid = world.ids["ref_mhpss"]
    p = auth.login("service_provider")
    before = p.get(f"/referrals/{rid}").get_data(as_text=True)
    assert "No answer yet." in _section(before, "your-answers")
    _post(p, rid, "accept", app, note=ACCEPT_NOTE)
    page = p.get(f"/referrals/{rid}").get_data(as_text=True)
    answers = _section(page, "your-answers")
    assert ACCEPT_NOTE in answers and "Accepted" in answers
    _post(p, rid, "complete", app, note=DONE_NOTE, outcome="partially_provided", confirm="y")
    answers = _section(p.get(f"/referrals/{rid}").get_data(as_text=True), "your-answers")
    assert ACCEPT_NOTE in answers and DONE_NOTE in answers
    assert "Service partially provided" in answers
    # Sealed as before: the notes are ciphertext in the database.
    with app.app_context():
        raw = db.session.execute(select(ReferralEvent.__table__.c.note_sealed).where(
            ReferralEvent.referral_id == uuid.UUID(rid))).scalars().all()
    assert not any(ACCEPT_NOTE.encode() in (v or b"") for v in raw)


def test_the_override_justification_is_never_among_the_providers_answers(app, auth, world):
    """The "sent" step of a referral under override carries the supervisor's explanation: it
    is the case's, never the recipient's (only answer steps are listed)."""
    from app.referrals import service

    with app.app_context():
        referral = db.session.get(Referral, uuid.UUID(world.ids["ref_legal"]))
        steps = [e.to_status for e in service.answers(referral)]
    assert steps == []


def test_the_sender_sees_the_message_they_wrote(app, auth, world):
    rid = world.ids["ref_mhpss"]
    c = auth.login("caseworker")
    sent = c.get(f"/referrals/{rid}/sent").get_data(as_text=True)
    assert CANARY["message"] in sent[sent.index('id="referral-message"'):]
    # Without a message, the page says so.
    other = c.get(f"/referrals/{world.ids['ref_legal']}/sent").get_data(as_text=True)
    assert "No message was written." in other
    # Revoked: the message went with the share.
    c.post(f"/referrals/{rid}/revoke", data={"reason": "sent_in_error", "csrf_token": auth.csrf(c)})
    sent = c.get(f"/referrals/{rid}/sent").get_data(as_text=True)
    assert CANARY["message"] not in sent and "Destroyed with the share" in sent


def test_a_provider_of_another_organisation_sees_nothing_new(app, auth, world):
    rid = world.ids["ref_mhpss"]
    p = auth.login("service_provider")
    _post(p, rid, "accept", app, note=ACCEPT_NOTE)
    # The same account moved to the partner organisation's legal service.
    with app.app_context():
        user = _user(world, "service_provider")
        user.organisation_id = uuid.UUID(world.ids["other_org"])
        user.service_id = uuid.UUID(world.ids["legal"])
        db.session.commit()
    p = auth.login("service_provider")
    assert p.get(f"/referrals/{rid}").status_code == 404
    assert p.get(f"/referrals/{rid}/sent").status_code in (403, 404)
    legal = p.get(f"/referrals/{world.ids['ref_legal']}").get_data(as_text=True)
    inbox = p.get("/referrals/inbox").get_data(as_text=True)
    for html in (legal, inbox):
        assert ACCEPT_NOTE not in html and CANARY["message"] not in html
        assert CANARY["own_name"] not in html
    r = _post(p, world.ids["ref_legal"], "complete", app, outcome="provided", confirm="y")
    assert "Only an accepted referral can be completed" in p.get(r.location).get_data(as_text=True)


# --- A refusal names the unconsented field ------------------------------------------------

def test_an_unconsented_field_is_named_in_the_refusal(app, auth, world):
    from app.referrals import service

    with app.test_request_context():
        worker, case = _user(world, "caseworker"), _case(world)
        with pytest.raises(service.FieldsOutsideConsent, match="Phone, Address or location") as no:
            service.create(worker, case, service.NewReferral(
                service_id=uuid.UUID(world.ids["mhpss"]),
                fields=("full_name", "phone", "location")))
        assert no.value.codes == ("phone", "location") and no.value.field == "fields"
    # Through the page: beside the fields, nothing sent; the trail has the code only.
    c = auth.login("caseworker")
    cid, mhpss = world.ids["case_own"], world.ids["mhpss"]
    page = c.get(f"/referrals/new/{cid}?service={mhpss}").get_data(as_text=True)
    with app.app_context():
        before = len(db.session.execute(select(Referral.id)).all())
    r = c.post(f"/referrals/new/{cid}", data={
        "service": mhpss, "urgency": "normal", "fields": ["full_name", "phone"], "message": "",
        "override_code": "", "override_reason": "", **form_tokens(page)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "fields" in _errors(html)
    assert re.search(r"not covered by the survivor&#39;s consent for this service type: Phone\.", html)
    with app.app_context():
        assert len(db.session.execute(select(Referral.id)).all()) == before
    refused = events(app, "referral.create", outcome="denied")
    assert refused and all(e.reason == "fields_outside_consent" for e in refused)


# --- Closure: what is still open, and sending back with a reason ----------------------------

def _open_things(app, world) -> None:
    """The own case in follow-up with a goal planned, a follow-up due yesterday, one planned
    next week, and an urgent referral nobody answered."""
    from app.cases import records
    from app.clock import utcnow
    from app.referrals import service as referrals

    with app.test_request_context():
        worker, case = _user(world, "caseworker"), _case(world)
        with db.session.no_autoflush:
            case.status = "follow_up"
        db.session.commit()
        today = utcnow().date()
        records.save_action_item(worker, case, records.GoalInput(
            service_type="livelihoods", due_on=today + timedelta(days=10), goal="A goal"))
        records.add_follow_up(worker, case, records.FollowUpInput(due_on=today - timedelta(days=1)))
        records.add_follow_up(worker, case, records.FollowUpInput(due_on=today + timedelta(days=7)))
        referrals.create(worker, case, referrals.NewReferral(
            service_id=uuid.UUID(world.ids["mhpss"]), urgency=referrals.Urgency.URGENT))
        db.session.commit()


def test_open_items_gather_the_case_and_its_referrals(app, world):
    from app.cases.closure import open_items

    _open_things(app, world)
    with app.test_request_context():
        found = open_items(_case(world))
    kinds = [(i.kind, i.urgent) for i in found]
    assert kinds[:2] == [("follow_up", True), ("urgent_referral", True)]
    assert sorted(kinds[2:]) == [("follow_up", False), ("goal", False), ("referral", False),
                                 ("referral", False)]
    texts = " ".join(i.text for i in found)
    assert URGENT in texts and "Livelihoods" in texts
    assert CANARY["own_name"] not in texts and "A goal" not in texts  # never survivor data


def test_closure_request_and_decision_show_what_is_still_open(app, auth, world):
    _open_things(app, world)
    cid = world.ids["case_own"]
    c = auth.login("caseworker")
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    listed = _section(page, "open-items")
    assert URGENT in listed
    assert "Goal (Livelihoods)" in listed and "Follow-up due" in listed
    assert page.index('id="open-items"') < page.index(f'action="/cases/{cid}/closure"')
    r = c.post(f"/cases/{cid}/closure", data={"reason": "survivor_request", "details": "",
                                             "version": case_version(app, cid),
                                             "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    sup = auth.login("supervisor")
    spage = sup.get(f"/cases/{cid}").get_data(as_text=True)
    assert 'id="closure-requested"' in spage
    listed = _section(spage, "open-items")
    assert URGENT in listed and "Goal (Livelihoods)" in listed
    # Shown before the buttons that decide.
    assert spage.index('id="open-items"') < spage.index("Approve closure")


def test_nothing_open_says_so(app, auth, world):
    from app.cases.closure import open_items
    from app.referrals import service as referrals

    with app.test_request_context():
        case = _case(world, "case_other")
        assert open_items(case) == []
        provider = _user(world, "service_provider")
        for rid in (world.ids["ref_mhpss"],):
            ref = db.session.get(Referral, uuid.UUID(rid))
            referrals.answer(provider, ref, referrals.ReferralAnswer(
                referrals.AnswerOp.ACCEPT, None, ref.version))
        kinds = [i.text for i in open_items(_case(world))]
    assert any("accepted, outcome not recorded yet" in t for t in kinds)


def _closure_requested(app, world) -> None:
    from app.cases import service

    with app.test_request_context():
        case = _case(world)
        with db.session.no_autoflush:
            case.status = "follow_up"
        db.session.commit()
        service.request_closure(_user(world, "caseworker"), case, "needs_met", None, case.version)


def test_sending_back_needs_a_reason(app, world):
    from app.cases import service

    _closure_requested(app, world)
    with app.test_request_context():
        case, sup = _case(world), _user(world, "supervisor")
        for reason in (None, "", "   "):
            with pytest.raises(service.SendBackError, match="Give the reason"):
                service.decide_closure(sup, case, False, case.version, reason)
        with pytest.raises(service.SendBackError, match="too long"):
            service.decide_closure(sup, case, False, case.version, "x" * 4001)
        assert case.status == "closure_requested"
        service.decide_closure(sup, case, False, case.version, f"  {SEND_BACK}  ")
        assert case.status == "follow_up"
        step = db.session.execute(select(StatusChange).where(
            StatusChange.case_id == case.id, StatusChange.reason == "sent_back")).scalar_one()
        assert step.reason_detail == SEND_BACK
        raw = db.session.execute(select(StatusChange.__table__.c.reason_detail_sealed).where(
            StatusChange.id == step.id)).scalar_one()
        assert SEND_BACK.encode() not in raw


def test_send_back_without_reason_is_refused_beside_the_field_and_the_reason_is_shown(
        app, auth, world):
    _closure_requested(app, world)
    cid = world.ids["case_own"]
    sup = auth.login("supervisor")
    page = sup.get(f"/cases/{cid}").get_data(as_text=True)
    version = case_version(app, cid)
    r = sup.post(f"/cases/{cid}/closure/decision", data={
        "decision": "reject", "reason": "", "version": version, "csrf_token": csrf_from(page)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _errors(html) == {"reason"}
    assert "Give the reason for sending the closure back" in html
    assert case_version(app, cid) == version
    with app.app_context():
        assert _case(world).status == "closure_requested"
    assert not events(app, "case.closure_reject")

    r = sup.post(f"/cases/{cid}/closure/decision", data={
        "decision": "reject", "reason": SEND_BACK, "version": version,
        "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    assert "sent back to the caseworker" in sup.get(r.location).get_data(as_text=True)
    with app.app_context():
        assert _case(world).status == "follow_up"
    rejected = events(app, "case.closure_reject")
    assert [e.reason for e in rejected] == ["sent_back"]
    with app.app_context():
        trail = " ".join(str(e.reason) for e in db.session.execute(select(AuditEvent)).scalars())
    assert SEND_BACK not in trail
    c = auth.login("caseworker")
    page = c.get(f"/cases/{cid}").get_data(as_text=True)
    notice = page[page.index('id="closure-sent-back"'):]
    assert SEND_BACK in notice[:notice.index("</div>")]
    # Asking again: the old reason is no longer shown as the answer to the new request.
    c.post(f"/cases/{cid}/closure", data={"reason": "needs_met", "details": "",
                                         "version": case_version(app, cid),
                                         "csrf_token": csrf_from(page)})
    assert 'id="closure-sent-back"' not in c.get(f"/cases/{cid}").get_data(as_text=True)


def test_approving_needs_no_reason(app, auth, world):
    _closure_requested(app, world)
    cid = world.ids["case_own"]
    sup = auth.login("supervisor")
    page = sup.get(f"/cases/{cid}").get_data(as_text=True)
    r = sup.post(f"/cases/{cid}/closure/decision", data={
        "decision": "approve", "reason": "", "version": case_version(app, cid),
        "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    with app.app_context():
        assert _case(world).status == "closed"
    c = auth.login("caseworker")
    assert 'id="closure-sent-back"' not in c.get(f"/cases/{cid}").get_data(as_text=True)

