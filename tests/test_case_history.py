"""Change history: every update of a record of a case keeps the previous values of exactly the
fields it changed (sealed under the case's key), with who and when; creation, a save that
changes nothing, a refused save and a lost race record nothing."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select, update

from app.auth.models import User
from app.cases import history, records, service
from app.cases.history import CaseChange
from app.cases.models import ActionItem, Assessment, Case, FollowUp, Incident
from app.core.errors import CaseError, StaleError
from app.db import db, transaction
from tests.helpers.factories import CANARY, World


def _user(world: World, name: str = "caseworker") -> User:
    user = db.session.get(User, uuid.UUID(world.users[name]))
    assert user is not None
    return user


def _case(world: World, label: str = "case_own") -> Case:
    case = db.session.get(Case, uuid.UUID(world.ids[label]))
    assert case is not None
    return case


def _changes(case_id: uuid.UUID) -> list[CaseChange]:
    db.session.expire_all()
    return list(db.session.execute(select(CaseChange).where(CaseChange.case_id == case_id)
                                   .order_by(CaseChange.at, CaseChange.id)).scalars())


def _identity(case: Case, **over: object) -> service.IdentityInput:
    values = {f: getattr(case, f) for f in service.IDENTITY_FIELDS}
    values.update(sex=case.sex, nationality_group=case.nationality_group,
                  displacement_status=case.displacement_status, disability=case.disability)
    values.update(over)
    return service.IdentityInput(**values)  # type: ignore[arg-type]


def _incident_input(incident: Incident, **over: object) -> records.IncidentInput:
    from app.cases import gbvims
    values: dict[str, object] = {
        "incident_date": incident.incident_date, "reported_date": incident.reported_date,
        "location_type": incident.location_type, "answers": gbvims.answered("physical"),
        "perpetrator_count": incident.perpetrator_count,
        "survivor_age_at_incident": incident.survivor_age_at_incident,
        "perpetrators": tuple(records.PerpetratorInput(p.sex, p.age_group, p.relationship,
                                                       p.occupation)
                              for p in incident.perpetrators),
        "time_of_day": incident.time_of_day, "displacement_stage": incident.displacement_stage,
        "narrative": incident.narrative, "perpetrator_details": incident.perpetrator_details,
        "location_detail": incident.location_detail}
    values.update(over)
    return records.IncidentInput(**values)  # type: ignore[arg-type]


def _only_change(case_id: uuid.UUID, before: int) -> CaseChange:
    found = _changes(case_id)
    assert len(found) == before + 1, [c.fields for c in found]
    return found[-1]


def test_an_identity_edit_keeps_the_previous_name_sealed_with_who_and_when(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        service.update_identity(user, case, _identity(case, full_name="Amal Newname",
                                                      disability="yes"), case.version)
        change = _only_change(case.id, 0)
        assert change.field_codes() == ["disability", "full_name"]
        assert change.previous_values() == {"full_name": CANARY["own_name"], "disability": "no"}
        assert change.by_id == user.id and change.record_table == "cases"
        assert change.record_id == case.id and change.at is not None
        assert change.data_key_id == case.data_key_id
        raw = db.session.execute(select(CaseChange.__table__.c.previous_sealed)).scalar_one()
        assert CANARY["own_name"].encode() not in raw


def test_the_same_edit_saved_twice_records_nothing_more(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        service.update_identity(user, case, _identity(case), case.version)
        assert _changes(case.id) == []
        service.update_identity(user, case, _identity(case, phone="+218 91 000 1111"),
                                case.version)
        service.update_identity(user, case, _identity(case, phone="+218 91 000 1111"),
                                case.version)
        assert [c.fields for c in _changes(case.id)] == ["phone"]


def test_a_stale_save_records_nothing(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        old = case.version
        service.update_identity(user, case, _identity(case, alias="First"), old)
        with pytest.raises(StaleError):
            service.update_identity(user, case, _identity(case, alias="Second"), old)
        assert [c.fields for c in _changes(case.id)] == ["alias"]


def test_a_save_that_fails_inside_its_transaction_records_nothing(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        with pytest.raises(RuntimeError), history.changed_by(user), \
                records.saving(case, StaleError):
            case.alias = "Never saved"
            db.session.flush()
            raise RuntimeError("the save fails after its flush")
        db.session.rollback()
        records.add_note(user, _case(world), "A later save commits")  # nothing left over
        assert _changes(case.id) == []


def test_a_save_that_lost_the_race_at_its_update_records_nothing(app, world):
    """Another save committed after this one read the case: the UPDATE matches no row."""
    with app.app_context():
        case, user = _case(world), _user(world)
        version = case.version
        _ = case.full_name, case.site  # read as the form was
        with transaction(keep_loaded=True):  # end the read, keep the copy read
            pass
        with db.engine.begin() as other:  # the colleague's save, on its own connection
            other.execute(update(Case.__table__).where(Case.__table__.c.id == case.id)
                          .values(version=version + 1))
        with pytest.raises(StaleError):
            service.update_identity(user, case, _identity(case, alias="Lost"), version)
        records.add_note(user, _case(world), "A later save commits")
        assert _changes(case.id) == []


def test_a_refused_save_records_nothing(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        incident = db.session.execute(select(Incident).where(Incident.case_id == case.id)
                                      ).scalar_one()
        with pytest.raises(CaseError):
            records.save_incident(user, case, _incident_input(
                incident, narrative="changed", perpetrator_count="2"), incident, incident.version)
        assert _changes(case.id) == []


def test_an_incident_edit_is_one_row_with_its_fields_and_perpetrators(app, world, frozen):
    with app.app_context():
        case, user = _case(world), _user(world)
        incident = db.session.execute(select(Incident).where(Incident.case_id == case.id)
                                      ).scalar_one()
        two = (records.PerpetratorInput("unknown", "unknown", "armed_actor", "unknown"),
               records.PerpetratorInput("male", "unknown", "no_relation", "unknown"))
        records.save_incident(user, case, _incident_input(
            incident, narrative="A corrected account", time_of_day="evening_night",
            perpetrator_count="2", perpetrators=two), incident, incident.version)
        change = _only_change(case.id, 0)
        assert change.record_table == "incidents" and change.record_id == incident.id
        assert change.field_codes() == ["narrative", "perpetrator2", "perpetrator_count",
                                        "time_of_day"]
        previous = change.previous_values()
        assert previous["narrative"] == CANARY["own_narrative"]
        assert previous["perpetrator2"] == history.ADDED
        # A perpetrator changed, then removed: their previous codes are kept.
        frozen.advance(seconds=1)  # the clock is frozen in tests: the second change is later
        incident = db.session.get(Incident, incident.id)
        records.save_incident(user, case, _incident_input(
            incident, perpetrator_count="1",
            perpetrators=(records.PerpetratorInput("female", "unknown", "armed_actor",
                                                   "unknown"),)), incident, incident.version)
        change = _only_change(case.id, 1)
        assert change.field_codes() == ["perpetrator1", "perpetrator2", "perpetrator_count"]
        assert change.previous_values()["perpetrator2"]["relationship"] == "no_relation"
        assert change.previous_values()["perpetrator1"]["sex"] == "unknown"


def test_creation_is_not_a_change(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        item = records.save_action_item(user, case, records.GoalInput(
            service_type="health", due_on=date(2026, 12, 20), goal="See the doctor"))
        records.save_assessment(user, case, records.AssessmentInput(
            risk_level="high", needs=("health",), notes="n", safety_plan="p"), None)
        visit = records.add_follow_up(user, case, records.FollowUpInput(due_on=date(2026, 12, 9)))
        records.add_note(user, case, "A note")
        assert _changes(case.id) == []
        assert item.id and visit.id


UPDATES = {
    "cases": lambda u, c: service.update_identity(u, c, _identity(c, location="Elsewhere"),
                                                   c.version),
    "incidents": lambda u, c: _edit_incident(u, c),
    "assessments": lambda u, c: _edit_assessment(u, c),
    "action_items": lambda u, c: _edit_goal(u, c),
    "follow_ups": lambda u, c: _complete_visit(u, c),
    "incident_perpetrators": lambda u, c: _edit_perpetrator(u, c),
}
EXPECTED = {"cases": ["location"], "incidents": ["location_detail"],
            "assessments": ["risk_level", "safety_plan"], "action_items": ["goal", "status"],
            "follow_ups": ["done_on", "notes"], "incident_perpetrators": ["perpetrator1"]}


def _edit_incident(user: User, case: Case) -> None:
    incident = db.session.execute(select(Incident).where(Incident.case_id == case.id)).scalar_one()
    records.save_incident(user, case, _incident_input(incident, location_detail="Near the well"),
                          incident, incident.version)


def _edit_perpetrator(user: User, case: Case) -> None:
    incident = db.session.execute(select(Incident).where(Incident.case_id == case.id)).scalar_one()
    records.save_incident(user, case, _incident_input(incident, perpetrators=(
        records.PerpetratorInput("male", "unknown", "armed_actor", "unknown"),)),
        incident, incident.version)


def _edit_assessment(user: User, case: Case) -> None:
    records.save_assessment(user, case, records.AssessmentInput(
        risk_level="medium", needs=("health",), notes="n", safety_plan="plan"), None)
    db.session.commit()
    current = db.session.execute(select(Assessment).where(Assessment.case_id == case.id)
                                 ).scalar_one()
    records.save_assessment(user, case, records.AssessmentInput(
        risk_level="high", needs=("health",), notes="n", safety_plan="a new plan"),
        current.version)


def _edit_goal(user: User, case: Case) -> None:
    item = records.save_action_item(user, case, records.GoalInput(
        service_type="health", due_on=date(2026, 12, 20), goal="See the doctor"))
    item = db.session.get(ActionItem, item.id)
    records.save_action_item(user, case, records.GoalInput(
        service_type="health", due_on=date(2026, 12, 20), status="done", goal="Saw the doctor"),
        item, item.version)


def _complete_visit(user: User, case: Case) -> None:
    visit = records.add_follow_up(user, case, records.FollowUpInput(due_on=date(2026, 12, 9)))
    visit = db.session.get(FollowUp, visit.id)
    records.complete_follow_up(user, case, visit, "Went well")


# Models of the case family whose rows are never updated, or whose changes are a history of
# their own (a new model with a case_id or incident_id goes in history.TRACKED or here).
NOT_TRACKED = {
    "case_notes": "append-only: a note is never edited",
    "case_status_changes": "the workflow's own history: one row per move",
    "consent_records": "append-only: the newest decision per kind is in force",
    "break_glass_grants": "written once when opened; expiry is by time",
    "case_changes": "the history itself",
    "referrals": "the referral's steps are its history (referral_events)",
    "referral_events": "append-only history of a referral",
    "case_attachments": "append-only: a file is uploaded once and never edited (no update path)",
    "case_transfers": "a request whose moves (asked, answered, cancelled) are on the row itself "
                      "with who and when, and each in the audit trail; it holds no survivor value",
    "field_intakes": "not a record of the case: a device's submission, decided once (status, "
                     "who and when on the row and in the audit trail), its payload then shredded",
}


def test_every_model_of_the_case_family_is_tracked_or_says_why_not(app):
    from app.db import Model

    family = set()
    for mapper in Model.registry.mappers:
        table = mapper.local_table
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if targets & {"cases", "incidents"}:
                family.add(table.name)
    tracked = {m.__tablename__ for m in history.tracked_models()}
    assert sorted(family - tracked - set(NOT_TRACKED)) == [], \
        "record history for these models (history.TRACKED) or say why not (NOT_TRACKED)"
    assert sorted((tracked | set(NOT_TRACKED)) - family - {"cases"}) == []


def test_every_tracked_model_has_an_update_here():
    """A new model of the case family whose rows are updated must be tracked and tested here."""
    assert sorted(m.__tablename__ for m in history.tracked_models()) == sorted(UPDATES)


@pytest.mark.parametrize("table", sorted(UPDATES))
def test_an_update_of_each_record_type_leaves_one_row_naming_the_changed_fields(app, world,
                                                                             table):
    with app.app_context():
        case, user = _case(world), _user(world)
        UPDATES[table](user, case)
        found = _changes(case.id)
        assert len(found) == 1, [(c.record_table, c.fields) for c in found]
        change = found[0]
        assert change.field_codes() == EXPECTED[table]
        assert change.by_id == user.id
        owner = "incidents" if table == "incident_perpetrators" else table
        assert change.record_table == owner
        assert set(change.previous_values()) == set(EXPECTED[table])


def test_the_supervisors_assignment_and_plan_approval_are_changes_by_them(app, world):
    with app.app_context():
        case, boss = _case(world), _user(world, "supervisor")
        service.assign(boss, case, _user(world, "caseworker"), _user(world, "caseworker2"),
                       case.version)
        change = _only_change(case.id, 0)
        assert change.field_codes() == ["secondary_worker_id"] and change.by_id == boss.id
        assert change.previous_values() == {"secondary_worker_id": None}


def test_history_is_erased_with_the_case(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        service.update_identity(user, case, _identity(case, alias="Gone soon"), case.version)
        assert len(_changes(case.id)) == 1
        case_id = case.id
        service.erase(_user(world, "supervisor"), _case(world), "survivor_request")
        count = db.session.execute(select(func.count()).select_from(CaseChange)
                                   .where(CaseChange.case_id == case_id)).scalar_one()
        assert count == 0


def test_keys_verify_deep_opens_every_history_row(app, world):
    with app.app_context():
        case, user = _case(world), _user(world)
        service.update_identity(user, case, _identity(case, alias="Checked"), case.version)
        change = _only_change(case.id, 0)
        change_id, blob = change.id, change.previous_sealed
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["keys", "verify", "--deep"])
    assert clean.exit_code == 0, clean.output
    table = CaseChange.__table__
    broken = blob[:-1] + bytes([blob[-1] ^ 1])
    with app.app_context():
        db.session.execute(update(table).where(table.c.id == change_id)
                           .values(previous_sealed=broken))
        db.session.commit()
    found = runner.invoke(args=["keys", "verify", "--deep"])
    assert found.exit_code != 0 and "case_changes" in found.output, found.output
    assert "Checked" not in found.output and CANARY["own_alias"] not in found.output
