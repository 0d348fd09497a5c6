"""The safe-space service's typed commands: a ``SessionLog`` or ``ActivityTypeSpec`` with bad
values is refused by field with a clear message and saves nothing, whatever a form said."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.db import db
from app.safe_space.models import ActivityType, DefaultActivity, WgssSession
from tests.helpers.safe_space import COORDINATOR, COUNTS, type_id


def _log(app, world, **over):
    from app.safe_space.service import SessionLog

    return SessionLog(**{
        "safe_space_id": uuid.UUID(world.ids["safe_space"]), "held_on": date(2026, 11, 20),
        "activity_type_id": uuid.UUID(type_id(app, "life_skills")), "topic": "Stress management",
        "duration_minutes": 90, "facilitator_ids": (uuid.UUID(world.users[COORDINATOR]),),
        **COUNTS, **over})


def _user(world, name):
    from app.auth.models import User

    return db.session.get(User, uuid.UUID(world.users[name]))


def _sessions() -> int:
    return int(db.session.execute(select(func.count(WgssSession.id))).scalar_one())


@pytest.mark.parametrize("over, field, message", [
    ({"topic": "   "}, "topic", "Give the topic"),
    ({"topic": "t" * 121}, "topic", "At most 120"),
    ({"outreach_area": "a" * 81}, "outreach_area", "At most 80"),
    ({"notes": "n" * 4001}, "notes", "at most 4000"),
    ({"held_on": None}, "held_on", "Enter the date"),
    ({"held_on": date(2030, 1, 1)}, "held_on", "in the future"),
    ({"duration_minutes": None}, "duration_minutes", "duration in minutes"),
    ({"duration_minutes": 5}, "duration_minutes", "duration in minutes"),
    ({"girls_10_14": -1}, "girls_10_14", "cannot be negative"),
    ({"women_20_24": None}, "women_20_24", "whole number"),
    ({"new_participants": 1}, "new_participants", "either new or returning"),
    ({"activity_type_id": None}, "activity_type", "Choose an activity"),
    ({"activity_type_id": uuid.uuid4()}, "activity_type", "Choose an activity"),
    ({"facilitator_ids": ()}, "facilitators", "at least one facilitator"),
    ({"facilitator_ids": (uuid.uuid4(),)}, "facilitators", "at least one facilitator"),
    ({"safe_space_id": None}, "safe_space", "your own safe spaces"),
    ({"outreach_area": "Camp sector 4"}, "outreach_area", "Only mobile safe spaces"),
])
def test_bad_session_log_is_refused_by_field_and_saves_nothing(app, world, over, field, message):
    from app.safe_space import service

    log = _log(app, world, **over)
    with app.test_request_context():
        before = _sessions()
        with pytest.raises(service.SessionInvalid) as refused:
            service.save_session(_user(world, COORDINATOR), log)
        assert message in refused.value.errors.get(field, ""), refused.value.errors
        assert _sessions() == before


def test_session_log_for_a_space_outside_the_scope_is_refused_and_audited(app, world):
    from app.safe_space import service

    elsewhere = uuid.uuid4()
    log = _log(app, world, safe_space_id=elsewhere)
    with app.test_request_context():
        with pytest.raises(service.SessionInvalid, match="your own safe spaces"):
            service.save_session(_user(world, COORDINATOR), log)
        denied = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "wgss_session.create",
            AuditEvent.outcome == "denied")).scalars().all()
        assert [(e.object_id, e.reason) for e in denied] == [(str(elsewhere), "out_of_scope")]
        assert _sessions() == 0


def test_good_session_log_is_saved(app, world):
    from app.safe_space import service

    log = _log(app, world, topic="  Breathing  ", notes="  ")
    with app.test_request_context():
        entry = service.save_session(_user(world, COORDINATOR), log)
        assert (entry.topic, entry.notes, entry.total, entry.version) == ("Breathing", None, 15, 1)


@pytest.mark.parametrize("spec, field, message", [
    ({"code": "First Aid!", "label": "First aid"}, "code", "Lower-case letters"),
    ({"code": None, "label": "First aid"}, "code", "Lower-case letters"),
    ({"code": "x" * 41, "label": "First aid"}, "code", "At most 40"),
    ({"code": "first_aid", "label": "  "}, "label", "Give the activity type a name"),
    ({"code": "first_aid", "label": "n" * 81}, "label", "At most 80"),
    ({"code": "life_skills", "label": "Again"}, "code", "Another activity type has this code"),
])
def test_bad_activity_type_is_refused_and_saves_nothing(app, world, spec, field, message):
    from app.safe_space import service

    with app.test_request_context():
        before = db.session.execute(select(func.count(ActivityType.id))).scalar_one()
        with pytest.raises(service.SessionInvalid) as refused:
            service.save_activity_type(service.ActivityTypeSpec(**spec))
        assert message in refused.value.errors.get(field, ""), refused.value.errors
        assert db.session.execute(select(func.count(ActivityType.id))).scalar_one() == before


def test_renaming_keeps_the_code_and_a_stale_version_is_refused(app, world):
    from app.safe_space import service

    recreation = uuid.UUID(type_id(app, "recreation"))
    with app.test_request_context():
        kind = db.session.get(ActivityType, recreation)
        with pytest.raises(service.SafeSpaceStale):
            service.save_activity_type(service.ActivityTypeSpec("Games", code="games"), kind,
                                       version=kind.version + 1)
        service.save_activity_type(service.ActivityTypeSpec("Games", active=False, code="games"),
                                   kind, version=kind.version)
        assert (kind.code, kind.label, kind.active) == ("recreation", "Games", False)


def test_default_activity_enum_matches_the_seeded_types(app, world):
    from app.safe_space.labels import DEFAULT_TYPES

    with app.app_context():
        seeded = set(db.session.execute(select(ActivityType.code)).scalars())
    assert {c for c, _english, _label in DEFAULT_TYPES} == set(DefaultActivity) <= seeded
