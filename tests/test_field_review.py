"""Pending field intakes: the list's order and countdown, the review page, and an intake becoming
a case, part of a case, or nothing; from the caseworker's side and an attacker's."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case, CaseNote, ConsentRecord, Incident
from app.clock import utcnow
from app.crypto import envelope
from app.crypto.errors import KeyDestroyedError
from app.crypto.models import DataKey
from app.db import db
from app.field import payload, review
from app.field.models import FieldIntake, IntakeStatus
from tests.helpers.field import intake_fields, make_intake
from tests.helpers.forms import form_tokens

SECRETS = ("Salma", "Fieldintake", "0912345678")


def _intake(app, world, who="caseworker", **kw):
    return make_intake(app, world.users[who], **kw)


def _review(client, intake_id):
    page = client.get(f"/field/intakes/{intake_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _post(client, intake_id, what, html, fields=None, **extra):
    action = f"/field/intakes/{intake_id}/{what}"
    tokens = form_tokens(html, f"/field/intakes/{intake_id}/open"
                         if what in ("open", "merge") else action)
    data = {**tokens, **(intake_fields() if fields is None else fields), **extra}
    return client.post(action, data=data)


def _get(app, model, ident):
    with app.app_context():
        return db.session.get(model, uuid.UUID(str(ident)))


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_the_list_puts_urgent_clinical_first_with_their_countdown(app, world, auth, frozen):
    now = frozen.now
    old = _intake(app, world, captured_at=now - timedelta(hours=10))
    newer = _intake(app, world, captured_at=now - timedelta(hours=1))
    urgent = _intake(app, world, captured_at=now - timedelta(hours=5), urgent=True)
    passed = _intake(app, world, captured_at=now - timedelta(hours=90), urgent=True,
                     window_ends_at=now - timedelta(hours=1))
    later = _intake(app, world, captured_at=now - timedelta(hours=3), urgent=True,
                    window_ends_at=now + timedelta(hours=30, minutes=20))
    sooner = _intake(app, world, captured_at=now - timedelta(hours=2), urgent=True,
                     window_ends_at=now + timedelta(hours=9, minutes=59))
    _intake(app, world, who="caseworker2")  # someone else's: never listed
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        rows = review.pending(user)
        assert review.waiting(user) == 6
    assert [str(r.id) for r in rows] == [sooner, later, passed, urgent, old, newer]
    assert [r.hours_left for r in rows[:3]] == [9, 30, None] and rows[2].window_passed
    html = auth.login("caseworker").get("/field/intakes").get_data(as_text=True)
    assert re.findall(r"/field/intakes/([0-9a-f-]{36})", html) == \
        [sooner, later, passed, urgent, old, newer]
    assert "9 hours left" in html and "30 hours left" in html
    assert "72-hour window passed" in html
    assert not any(s in html for s in SECRETS)


def test_the_home_page_says_how_many_wait(app, world, auth):
    client = auth.login("caseworker")
    assert "Field intakes (0 waiting)" in client.get("/").get_data(as_text=True)
    _intake(app, world)
    _intake(app, world)
    assert "Field intakes (2 waiting)" in client.get("/").get_data(as_text=True)


def test_review_shows_the_fields_and_a_likely_duplicate(app, world, auth):
    own = world.case_numbers["case_own"]
    fields = intake_fields(**{"person-full_name": "Zainab Canaryqx"})  # the own case's name
    intake_id = _intake(app, world, fields=fields)
    html = _review(auth.login("caseworker"), intake_id)
    assert 'value="Zainab Canaryqx"' in html and 'value="0912345678"' in html
    assert own in html and "Add to this case" in html and "same full name" in html
    assert "Open a new case" in html


def test_open_case_makes_the_case_the_fields_say_and_shreds_the_intake(app, world, auth, frozen):
    captured = frozen.now - timedelta(hours=3)
    intake_id = _intake(app, world, captured_at=captured,
                        fields=intake_fields("penetration"))
    client = auth.login("caseworker")
    resp = _post(client, intake_id, "open", _review(client, intake_id),
                 fields=intake_fields("penetration"), site=world.ids["tripoli"])
    assert resp.status_code == 302 and "/cases/" in resp.location
    case_id = resp.location.rstrip("/").rsplit("/", 1)[-1]
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(case_id))
        assert case.full_name == "Salma Fieldintake" and case.phone == "0912345678"
        assert (case.sex, case.displacement_status, case.estimated_age) == ("female", "idp", 29)
        assert case.field_captured_at == captured and case.primary_worker_id == uuid.UUID(
            world.users["caseworker"])
        consents = db.session.execute(select(ConsentRecord).where(
            ConsentRecord.case_id == case.id).order_by(ConsentRecord.position)).scalars().all()
        assert [(c.kind, c.service_type, c.granted) for c in consents] == [
            ("services", None, True), ("reporting", None, True), ("share", "legal", False),
            ("share", "mhpss", True)]
        assert {c.recorded_at for c in consents} == {captured}
        assert {(c.given_by, c.method) for c in consents} == {("survivor", "verbal")}
        incident = db.session.execute(select(Incident).where(
            Incident.case_id == case.id)).scalar_one()
        assert incident.core_type == "rape" and incident.answers == "penetration"
        assert str(incident.incident_date) == "2026-11-20"
        assert incident.reported_date == captured.date()
        intake = db.session.get(FieldIntake, uuid.UUID(intake_id))
        assert (intake.status, intake.case_id) == (IntakeStatus.OPENED, case.id)
        assert intake.decided_by_id == uuid.UUID(world.users["caseworker"])
        assert db.session.get(DataKey, intake.data_key_id).wrapped is None
    with app.app_context():  # nothing left to open, and a copy of the old bytes never opens
        intake = db.session.get(FieldIntake, uuid.UUID(intake_id))
        assert intake.payload is None
        with pytest.raises(KeyDestroyedError):
            envelope.unwrapped(intake.data_key_id)
    # Decided: no longer listed, and its page says so without showing anything.
    assert intake_id not in client.get("/field/intakes").get_data(as_text=True)
    again = client.get(f"/field/intakes/{intake_id}", follow_redirects=True)
    assert "already been dealt with" in again.get_data(as_text=True)


def test_the_same_post_twice_and_two_tabs_make_one_case(app, world, auth):
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    first_tab, second_tab = _review(client, intake_id), _review(client, intake_id)
    before = _count(app, Case)
    one = _post(client, intake_id, "open", first_tab, site=world.ids["tripoli"])
    retry = _post(client, intake_id, "open", first_tab, site=world.ids["tripoli"])
    assert retry.status_code == 302 and retry.location == one.location  # shows the same case
    other_tab = _post(client, intake_id, "open", second_tab, site=world.ids["tripoli"])
    assert other_tab.status_code == 302 and other_tab.location.endswith("/field/intakes")
    merged = _post(client, intake_id, "merge", second_tab, case=world.ids["case_own"])
    assert merged.status_code == 302 and merged.location.endswith("/field/intakes")
    assert _count(app, Case) == before + 1
    assert _count(app, Incident, Incident.case_id == uuid.UUID(world.ids["case_own"])) == 1


def test_a_decision_lost_to_another_request_changes_nothing(app, world):
    """Two hosts past every check at once: the conditional update lets one through."""
    intake_id = _intake(app, world)
    before = _count(app, Case)
    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        intake = db.session.get(FieldIntake, uuid.UUID(intake_id))
        forms = payload.read(intake)
        site = user.sites[0]
        db.session.execute(FieldIntake.__table__.update().values(status="opened"))
        db.session.commit()
        db.session.refresh(intake)  # as the loser read it, before the other won:
        set_committed_value(intake, "status", IntakeStatus.PENDING)
        with pytest.raises(review.AlreadyDecided):
            review.open_case(user, intake, site, forms=forms)
    assert _count(app, Case) == before


def test_one_transaction_a_refused_incident_leaves_no_case(app, world):
    """The incident service refuses after the case and its consents were written: all of it
    rolls back and the intake waits as it was."""
    fields = intake_fields(**{"person-date_of_birth": "1990-01-01", "person-estimated_age": "",
                              "incident-survivor_age_at_incident": "10"})
    intake_id = _intake(app, world, fields=fields)
    before = _count(app, Case)
    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        intake = db.session.get(FieldIntake, uuid.UUID(intake_id))
        with pytest.raises(review.records.IncidentError):
            review.open_case(user, intake, user.sites[0])
    assert _count(app, Case) == before
    assert _get(app, FieldIntake, intake_id).status == IntakeStatus.PENDING
    with app.app_context():
        assert payload.read(db.session.get(FieldIntake, uuid.UUID(intake_id))).person.full_name.data


def test_merge_adds_incident_consents_and_notes_the_differing_identity(app, world, auth, frozen):
    case_id = world.ids["case_own"]
    captured = frozen.now - timedelta(hours=4)
    intake_id = _intake(app, world, captured_at=captured)
    client = auth.login("caseworker")
    incidents = _count(app, Incident, Incident.case_id == uuid.UUID(case_id))
    consents = _count(app, ConsentRecord, ConsentRecord.case_id == uuid.UUID(case_id))
    resp = _post(client, intake_id, "merge", _review(client, intake_id), case=case_id)
    assert resp.status_code == 302 and resp.location.endswith(f"/cases/{case_id}")
    assert _count(app, Incident, Incident.case_id == uuid.UUID(case_id)) == incidents + 1
    assert _count(app, ConsentRecord, ConsentRecord.case_id == uuid.UUID(case_id)) == consents + 4
    with app.app_context():
        case = db.session.get(Case, uuid.UUID(case_id))
        assert case.full_name == "Zainab Canaryqx"  # the case's identity stays
        note = db.session.execute(select(CaseNote).where(CaseNote.case_id == case.id)
                                  .order_by(CaseNote.created_at.desc())).scalars().first()
        assert "Full name: Salma Fieldintake" in note.body and "Phone: 0912345678" in note.body
        intake = db.session.get(FieldIntake, uuid.UUID(intake_id))
        assert (intake.status, intake.case_id) == (IntakeStatus.MERGED, case.id)
        assert db.session.get(DataKey, intake.data_key_id).wrapped is None


@pytest.mark.parametrize("target", ["case_other", "case_far", "missing"])
def test_merge_into_a_case_out_of_reach_is_404_and_changes_nothing(app, world, auth, target):
    case_id = world.ids.get(target, str(uuid.uuid4()))
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    notes = _count(app, CaseNote)
    resp = _post(client, intake_id, "merge", _review(client, intake_id), case=case_id)
    assert resp.status_code == 404
    assert _get(app, FieldIntake, intake_id).status == IntakeStatus.PENDING
    assert _count(app, Incident, Incident.case_id == uuid.UUID(case_id)) in (0, 1)
    assert _count(app, CaseNote) == notes


@pytest.mark.parametrize("owner", ["caseworker2", "other_org"])
def test_another_users_or_organisations_intake_is_404_everywhere(app, world, auth, owner):
    if owner == "other_org":  # the caseworker's own account id, another organisation's row
        intake_id = _intake(app, world, organisation_id=world.ids["other_org"])
    else:
        intake_id = _intake(app, world, who="caseworker2")
    client = auth.login("caseworker")
    token = auth.csrf(client)
    assert client.get(f"/field/intakes/{intake_id}").status_code == 404
    for what, extra in (("open", {"site": world.ids["tripoli"]}),
                        ("merge", {"case": world.ids["case_own"]}),
                        ("discard", {"reason": "test", "confirm": "y"})):
        resp = client.post(f"/field/intakes/{intake_id}/{what}",
                           data={"csrf_token": token, **intake_fields(), **extra})
        assert resp.status_code == 404, what
    assert _get(app, FieldIntake, intake_id).status == IntakeStatus.PENDING
    assert intake_id not in client.get("/field/intakes").get_data(as_text=True)
    with app.app_context():
        denied = db.session.execute(select(AuditEvent.action).where(
            AuditEvent.object_id == intake_id, AuditEvent.outcome == "denied")).scalars().all()
    assert sorted(denied) == ["field.intake_discard", "field.intake_merge",
                              "field.intake_open_case", "field.intake_view"]


def test_an_invalid_intake_opens_only_once_corrected(app, world, auth):
    bad = intake_fields(**{"consent-reporting": None, "incident-penetration": None,
                           "incident-incident_date": "2099-01-01"})
    intake_id = _intake(app, world, fields=bad)
    client = auth.login("caseworker")
    html = _review(client, intake_id)
    assert 'id="intake-problems"' in html
    assert html.count('class="error-message"') >= 3
    assert "The date cannot be in the future" in html or "future" in html
    before = _count(app, Case)
    refused = _post(client, intake_id, "open", html, fields=bad, site=world.ids["tripoli"])
    assert refused.status_code == 200 and _count(app, Case) == before
    refused_merge = _post(client, intake_id, "merge", html, fields=bad,
                          case=world.ids["case_own"])
    assert refused_merge.status_code == 200
    assert _get(app, FieldIntake, intake_id).status == IntakeStatus.PENDING
    fixed = _post(client, intake_id, "open", refused.get_data(as_text=True),
                  fields=intake_fields(), site=world.ids["tripoli"])
    assert fixed.status_code == 302 and _count(app, Case) == before + 1


def test_discard_needs_a_reason_and_a_confirmation(app, world, auth):
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    html = _review(client, intake_id)
    unconfirmed = _post(client, intake_id, "discard", html, fields={}, reason="test")
    assert unconfirmed.status_code == 200
    assert _get(app, FieldIntake, intake_id).status == IntakeStatus.PENDING
    made_up = _post(client, intake_id, "discard", html, fields={}, reason="because",
                    confirm="y")
    assert made_up.status_code == 200
    done = _post(client, intake_id, "discard", html, fields={}, reason="duplicate_of_existing",
                 confirm="y")
    assert done.status_code == 302
    with app.app_context():
        intake = db.session.get(FieldIntake, uuid.UUID(intake_id))
        assert intake.status == IntakeStatus.DISCARDED and intake.case_id is None
        assert db.session.get(DataKey, intake.data_key_id).wrapped is None
        reason = db.session.execute(select(AuditEvent.reason).where(
            AuditEvent.action == "field.intake_discard")).scalar_one()
    assert reason == "duplicate_of_existing"


def test_every_step_is_audited_and_the_trail_names_no_one(app, world, auth):
    first, second, third = (_intake(app, world) for _ in range(3))
    client = auth.login("caseworker")
    client.get("/field/intakes")
    _post(client, first, "open", _review(client, first), site=world.ids["tripoli"])
    _post(client, second, "merge", _review(client, second), case=world.ids["case_own"])
    _post(client, third, "discard", _review(client, third), fields={}, reason="test",
          confirm="y")
    with app.app_context():
        events = db.session.execute(select(AuditEvent)).scalars().all()
        field_events = {(e.action, e.object_id) for e in events if e.action.startswith("field.")}
        assert ("field.intakes_list", None) in field_events
        for intake_id in (first, second, third):
            assert ("field.intake_view", intake_id) in field_events
        assert ("field.intake_open_case", first) in field_events
        assert ("field.intake_merge", second) in field_events
        assert ("field.intake_discard", third) in field_events
        shreds = [e.reason for e in events if e.action == "keys.shred"
                  and e.object_type == "field_intake"]
        assert sorted(shreds) == ["field_intake_discarded", "field_intake_merged",
                                  "field_intake_opened"]
        searches = [e for e in events if e.action == "case.search"]
        assert len(searches) == 3
        text = " ".join(f"{e.action} {e.object_type} {e.object_id} {e.reason}" for e in events)
    assert not any(s in text for s in SECRETS)


def test_the_list_is_one_statement_and_opens_nothing(app, world):
    for hours in (1, 2, 3):
        _intake(app, world, captured_at=utcnow() - timedelta(hours=hours))
    statements: list[str] = []
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        _ = user.sites, user.organisation_id

        def seen(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert len(review.pending(user)) == 3
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 1
    assert "payload" not in statements[0] and "data_key" not in statements[0]


def test_the_identity_is_sealed_in_the_new_case(app, world, auth):
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    resp = _post(client, intake_id, "open", _review(client, intake_id), site=world.ids["tripoli"])
    case_id = uuid.UUID(resp.location.rstrip("/").rsplit("/", 1)[-1])
    with app.app_context():
        raw = db.session.execute(select(Case.__table__).where(Case.id == case_id)).one()
    stored = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in raw)
    assert not any(s.encode() in stored for s in SECRETS)


def test_several_sites_the_caseworker_chooses_one(app, world, auth):
    with app.app_context():
        from app.directory.models import Site

        user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        user.sites.append(db.session.get(Site, uuid.UUID(world.ids["benghazi"])))
        db.session.commit()
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    html = _review(client, intake_id)
    assert "Benghazi" in html and "Tripoli" in html
    unchosen = _post(client, intake_id, "open", html, site="")
    assert unchosen.status_code == 200 and "Choose the site." in unchosen.get_data(as_text=True)
    chosen = _post(client, intake_id, "open", unchosen.get_data(as_text=True),
                   site=world.ids["benghazi"])
    assert chosen.status_code == 302
    with app.app_context():
        case = db.session.execute(select(Case).where(
            Case.field_captured_at.is_not(None))).scalar_one()
        assert str(case.site_id) == world.ids["benghazi"]


def test_a_closed_case_refuses_the_intake(app, world, auth):
    case_id = world.ids["case_own"]
    with app.app_context():
        db.session.execute(Case.__table__.update().where(Case.id == uuid.UUID(case_id))
                           .values(status="closed"))
        db.session.commit()
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    incidents = _count(app, Incident, Incident.case_id == uuid.UUID(case_id))
    resp = _post(client, intake_id, "merge", _review(client, intake_id), case=case_id)
    assert resp.status_code == 200 and "closed and read-only" in resp.get_data(as_text=True)
    assert _count(app, Incident, Incident.case_id == uuid.UUID(case_id)) == incidents
    assert _get(app, FieldIntake, intake_id).status == IntakeStatus.PENDING


def test_a_case_from_a_field_intake_can_still_be_erased(app, world, auth):
    """The decided intake names its case: erasing the case clears that link (hooks.case_erased)
    rather than failing on it, and the intake keeps only its decision."""
    intake_id = _intake(app, world)
    client = auth.login("caseworker")
    resp = _post(client, intake_id, "open", _review(client, intake_id), site=world.ids["tripoli"])
    case_id = uuid.UUID(resp.location.rstrip("/").rsplit("/", 1)[-1])
    with app.test_request_context():
        from app.cases import service

        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        service.erase(supervisor, db.session.get(Case, case_id), "recorded_in_error")
    assert _get(app, Case, case_id) is None
    intake = _get(app, FieldIntake, intake_id)
    assert (intake.status, intake.case_id) == (IntakeStatus.OPENED, None)
