"""One damaged record never blocks the others: a candidate of the duplicate search, a note of a
case, a step of a referral's history or a case's own identity that does not decrypt is left out
with a notice ("1 record could not be read"), audited and raised to the auditor as an alert,
while the page answers and intake goes on. Records are damaged as an attacker with the database
would: one byte of a stored ciphertext changed (fails under any sealing format)."""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import select, update

from app.audit import alerts
from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import records, service
from app.cases.models import Case, CaseNote
from app.crypto.envelope import shred
from app.db import db
from app.directory.models import Site
from app.referrals.models import Referral, ReferralEvent
from tests.helpers.factories import CANARY
from tests.helpers.forms import hidden_inputs

TWIN = "Amal Twinnameqz"  # two cases of the caseworker share this name; one gets damaged
NOTICE = "1 record could not be read"


def _user(world, name: str) -> User:
    found = db.session.get(User, uuid.UUID(world.users[name]))
    assert found is not None
    return found


def _twins(app, world) -> tuple[str, str]:
    """Two cases of the caseworker named ``TWIN``; returns (damaged, intact) ids."""
    with app.app_context():
        site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        ids = [str(service.open_case(_user(world, "caseworker"), site,
                                     service.IdentityInput(full_name=TWIN, estimated_age=30)).id)
               for _ in range(2)]
    return ids[0], ids[1]


def _flip(app, table, column: str, row_id: str) -> None:
    """Change the last byte (part of the GCM tag) of one stored ciphertext."""
    with app.app_context():
        rid = uuid.UUID(row_id)
        blob = db.session.execute(select(column).where(table.c.id == rid)).scalar_one()
        assert blob is not None
        db.session.execute(update(table).where(table.c.id == rid)
                           .values({column.key: blob[:-1] + bytes([blob[-1] ^ 0x01])}))
        db.session.commit()


def _failures(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "crypto.decrypt_failed").order_by(AuditEvent.seq)).scalars())


def _search(c, name: str):
    page = c.get("/cases/search").get_data(as_text=True)
    return c.post("/cases/search", data={**hidden_inputs(page), "name": name, "phone": "",
                                         "case_number": ""})


def _no_survivor_data(app, caplog, *values: str) -> None:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        text = " ".join(f"{e.object_type} {e.object_id} {e.reason}" for e in rows)
    for value in values:
        assert value not in text and value not in caplog.text


def test_a_damaged_candidate_is_left_out_of_the_intake_search(app, auth, world, caplog):
    caplog.set_level(logging.DEBUG)
    damaged, intact = _twins(app, world)
    cases = Case.__table__
    _flip(app, cases, cases.c.full_name_sealed, damaged)
    c = auth.login("caseworker")

    r = _search(c, TWIN)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="unreadable-candidates"' in html and "1 possible match could not be read" in html
    with app.app_context():
        numbers = {str(x.id): x.case_number for x in db.session.execute(
            select(Case).where(Case.id.in_([uuid.UUID(damaged), uuid.UUID(intact)]))).scalars()}
    assert numbers[intact] in html and numbers[damaged] not in html

    # The search counts as done: a new case can be opened.
    page = c.get("/cases/new")
    assert page.status_code == 200
    opened = c.post("/cases/new", data={
        **hidden_inputs(page.get_data(as_text=True)), "full_name": "Another Survivorqz", "alias": "",
        "date_of_birth": "", "estimated_age": "40", "sex": "female",
        "nationality_group": "national", "displacement_status": "idp", "disability": "no",
        "phone": "", "location": "", "safe_contact": "", "site": world.ids["tripoli"]})
    assert opened.status_code == 302 and "/cases/" in opened.location

    # The search itself was recorded (committed with the request), and so was the failure.
    with app.app_context():
        searched = db.session.execute(select(AuditEvent.reason).where(
            AuditEvent.action == "case.search")).scalars().all()
    assert "matches:1;unreadable:1" in searched
    failures = _failures(app)
    assert [(e.object_type, e.object_id, e.reason, e.outcome, str(e.actor_id))
            for e in failures] == [("case", damaged, "full_name:auth_failed", "error",
                                    world.users["caseworker"])]
    # ... and the auditor sees it among the alerts.
    with app.app_context():
        found = alerts.compute()["decryption"]
    assert [(a.object_type, a.object_id, a.reason, a.count) for a in found] == [
        ("case", damaged, "full_name:auth_failed", 1)]
    auditor = auth.login("auditor")
    page = auditor.get("/audit/alerts").get_data(as_text=True)
    assert 'id="alerts-decryption"' in page and damaged in page
    _no_survivor_data(app, caplog, TWIN, "Twinnameqz")


def test_the_same_damaged_record_is_one_alert_however_often_it_is_met(app, auth, world):
    damaged, _intact = _twins(app, world)
    cases = Case.__table__
    _flip(app, cases, cases.c.full_name_sealed, damaged)
    c = auth.login("caseworker")
    for _ in range(3):
        assert _search(c, TWIN).status_code == 200
    assert len(_failures(app)) == 3
    with app.app_context():
        found = alerts.compute()["decryption"]
    assert [(a.object_id, a.count) for a in found] == [(damaged, 3)]


def test_a_damaged_case_stays_in_the_case_list_and_its_page_shows_the_rest(app, auth, world):
    """The case list reads clear columns only, so a damaged case cannot block it and stays
    listed (its caseworker must still find it); its own page answers, marks the identity as
    unreadable and still shows what opens."""
    cases = Case.__table__
    own = world.ids["case_own"]
    _flip(app, cases, cases.c.phone_sealed, own)
    c = auth.login("caseworker")
    listing = c.get("/cases/")
    assert listing.status_code == 200 and world.case_numbers["case_own"] in listing.get_data(
        as_text=True)
    r = c.get(f"/cases/{own}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert NOTICE in html and 'id="identity-unreadable"' in html
    assert CANARY["own_name"] not in html  # the identity is left out as a whole
    assert CANARY["own_narrative"] in html  # the incident opens: it is shown
    assert [(e.object_type, e.object_id, e.reason) for e in _failures(app)] == [
        ("case", own, "phone:auth_failed")]


def test_a_damaged_note_is_left_out_and_the_others_shown(app, world, auth):
    own = world.ids["case_own"]
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(own))
        first = records.add_note(_user(world, "caseworker"), case, "First note kept")
        second = records.add_note(_user(world, "caseworker"), case, "Second note damaged")
        damaged = str(second.id)
        assert first.id != second.id
    notes = CaseNote.__table__
    _flip(app, notes, notes.c.body_sealed, damaged)
    c = auth.login("caseworker")
    html = c.get(f"/cases/{own}").get_data(as_text=True)
    assert "First note kept" in html and "Second note damaged" not in html
    assert NOTICE in html and CANARY["own_name"] in html
    assert [(e.object_type, e.object_id, e.reason) for e in _failures(app)] == [
        ("note", damaged, "body:auth_failed")]


def test_a_damaged_step_of_a_referral_history_is_left_out(app, world, auth):
    from app.referrals import service as referrals

    rid = world.ids["ref_mhpss"]
    with app.app_context():
        referral = db.session.get(Referral, uuid.UUID(rid))
        referrals.answer(_user(world, "service_provider"), referral, referrals.ReferralAnswer(
            referrals.AnswerOp.DECLINE, "Declined: no capacity this week", referral.version))
        step = db.session.execute(select(ReferralEvent.id).where(
            ReferralEvent.referral_id == referral.id,
            ReferralEvent.to_status == "declined")).scalar_one()
    events = ReferralEvent.__table__
    _flip(app, events, events.c.note_sealed, str(step))
    c = auth.login("caseworker")
    r = c.get(f"/referrals/{rid}/sent")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and NOTICE in html
    assert "no capacity" not in html and 'id="referral-history"' in html
    assert [(e.object_type, e.reason) for e in _failures(app)] == [
        ("referral_event", "note:auth_failed")]


def test_an_erased_record_is_left_out_without_notice_or_alert(app, world):
    """A destroyed key is an erasure, not damage: nothing to tell the user or the auditor."""
    from app.crypto.readable import readable, unreadable_count

    with app.test_request_context():
        site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        case = service.open_case(_user(world, "caseworker"), site,
                                 service.IdentityInput(full_name="Erased Survivorqz"))
        shred(case.data_key, object_type="case", object_id=case.id, reason="survivor_request")
        db.session.commit()
        db.session.expire_all()
        found = readable([case], ("full_name",))
        assert list(found) == [] and found.skipped == 0 and unreadable_count() == 0
    with app.app_context():
        assert alerts.compute()["decryption"] == []


def test_a_candidate_whose_data_key_is_damaged_is_left_out_of_a_search(app, auth, world):
    """Candidates' data keys are unwrapped together: one whose wrapped key was changed is left
    out of that batch and still fails, audited, when its name is opened; the others are shown."""
    from app.crypto.models import DataKey

    damaged, intact = _twins(app, world)
    with app.app_context():
        key_id = db.session.get(Case, uuid.UUID(damaged)).data_key_id
    keys = DataKey.__table__
    _flip(app, keys, keys.c.wrapped, str(key_id))
    r = _search(auth.login("caseworker"), TWIN)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "1 possible match could not be read" in html
    with app.app_context():
        numbers = {str(x.id): x.case_number for x in db.session.execute(
            select(Case).where(Case.id.in_([uuid.UUID(damaged), uuid.UUID(intact)]))).scalars()}
    assert numbers[intact] in html and numbers[damaged] not in html
    assert [(e.object_type, e.object_id, e.reason) for e in _failures(app)] == [
        ("data_key", str(key_id), "unwrap_failed")]


def test_a_case_whose_data_key_is_damaged_opens_its_page_with_the_notice(app, auth, world):
    """The case loader reads the wrapped data key with the case and unwraps it for the
    request: a damaged one is left alone there, so the page still answers, marks what does not
    open, and the failure is audited once, as the data key's (never a 500)."""
    from app.crypto.models import DataKey

    own = world.ids["case_own"]
    with app.app_context():
        key_id = db.session.get(Case, uuid.UUID(own)).data_key_id
    keys = DataKey.__table__
    _flip(app, keys, keys.c.wrapped, str(key_id))
    r = auth.login("caseworker").get(f"/cases/{own}")
    html = r.get_data(as_text=True)
    # Nothing of the case opens: every sealed record of it is counted in the notice.
    assert r.status_code == 200 and re.search(r"\d+ records could not be read", html)
    assert CANARY["own_name"] not in html and CANARY["own_narrative"] not in html
    assert [(e.object_type, e.object_id, e.reason) for e in _failures(app)] == [
        ("data_key", str(key_id), "unwrap_failed")]
