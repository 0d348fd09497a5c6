"""Logging a safe-space session: what is saved and audited, every bad input refused beside its
field with nothing saved, corrections under optimistic locking, and the activity-type list."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.db import db
from app.directory.models import SafeSpace
from app.safe_space.models import ActivityType, WgssSession
from tests.helpers.audit import events
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.safe_space import (
    COORDINATOR,
    COUNTS,
    form_data,
    insert_session,
    post_session,
    session_count,
    type_id,
)


def _field_error(html: str, field_id: str) -> str:
    """The error message shown beside one field (its id), or ''."""
    found = re.search(rf'id="{field_id}-error-1">([^<]+)<', html)
    return found.group(1) if found else ""


def test_coordinator_logs_a_session_and_it_is_audited(app, auth, world):
    c = auth.login(COORDINATOR)
    form = c.get("/safe-spaces/sessions/new").get_data(as_text=True)
    assert "Never record who came." in form and "No names here." in form
    resp = post_session(c, app, world, notes="Good energy; repeat the breathing exercise.")
    assert resp.status_code == 302
    session_id = resp.location.rsplit("/", 1)[-1]
    page = c.get(resp.location).get_data(as_text=True)
    assert "Good energy; repeat the breathing exercise." in page and "Stress management" in page
    with app.app_context():
        entry = db.session.get(WgssSession, uuid.UUID(session_id))
        assert entry.total == 15 and entry.recorded_by_id == uuid.UUID(world.users[COORDINATOR])
        assert [u.username for u in entry.facilitators] == [COORDINATOR]
        assert entry.version == 1
    created = events(app, "wgss_session.create")
    assert [(e.object_id, e.outcome) for e in created] == [(session_id, "allowed")]
    assert [e.object_id for e in events(app, "wgss_session.view")] == [session_id]


@pytest.mark.parametrize("over, field, message", [
    ({"held_on": "2026-11-25"}, "held_on", "in the future"),
    ({"held_on": "2023-12-31"}, "held_on", "opened on"),
    ({"held_on": "yesterday"}, "held_on", "Not a valid date"),
    ({"girls_10_14": "-1"}, "girls_10_14", "cannot be negative"),
    ({"women_20_24": "2.5"}, "women_20_24", "whole number"),
    ({"women_25_49": "five"}, "women_25_49", "whole number"),
    ({"women_50_plus": ""}, "women_50_plus", "whole number"),
    ({"women_25_49": "501"}, "women_25_49", "At most 500"),
    ({"new_participants": "6"}, "new_participants", "add up to"),
    ({"with_disabilities": "16"}, "with_disabilities", "More participants with disabilities"),
    ({"case_management_requests": "16"}, "case_management_requests", "More requests"),
    ({"notes": "x" * 4001}, "notes", "at most 4000 characters"),
    ({"topic": ""}, "topic", "topic"),
    ({"topic": "t" * 121}, "topic", "At most 120"),
    ({"duration_minutes": "5"}, "duration_minutes", "from 10 to 480"),
    ({"outreach_area": "Souq al-Juma"}, "outreach_area", "Only mobile safe spaces"),
])
def test_bad_input_is_refused_beside_its_field_and_nothing_saved(app, auth, world, over, field,
                                                                 message):
    c = auth.login(COORDINATOR)
    before = session_count(app)
    resp = post_session(c, app, world, **over)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert message.lower() in _field_error(html, field).lower(), _field_error(html, field)
    assert "Please correct the highlighted fields." in html
    assert session_count(app) == before
    if over.get("topic"):
        assert f'value="{over["topic"]}"' in html  # what was typed is kept


def test_nobody_attending_is_a_message_for_the_whole_attendance(app, auth, world):
    c = auth.login(COORDINATOR)
    zeros = dict.fromkeys(("girls_10_14", "girls_15_19", "women_15_19", "women_20_24",
                           "women_25_49", "women_50_plus", "new_participants",
                           "returning_participants", "with_disabilities",
                           "case_management_requests", "referrals_made"), "0")
    html = post_session(c, app, world, **zeros).get_data(as_text=True)
    assert "A session no one attended is not logged." in html
    assert session_count(app) == 0


def test_arabic_indic_digits_are_counts_too(app, auth, world):
    c = auth.login(COORDINATOR)
    resp = post_session(c, app, world, girls_10_14="٣", returning_participants="١٠")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.execute(select(WgssSession.girls_10_14)).scalar_one() == 3


def test_mobile_space_needs_an_area(app, auth, world):
    with app.app_context():
        space = db.session.get(SafeSpace, uuid.UUID(world.ids["safe_space"]))
        space.kind = "mobile"
        db.session.commit()
    c = auth.login(COORDINATOR)
    html = post_session(c, app, world).get_data(as_text=True)
    assert "name the area" in _field_error(html, "outreach_area")
    assert post_session(c, app, world, outreach_area="Abu Salim, sector 3").status_code == 302
    with app.app_context():
        assert db.session.execute(select(WgssSession.outreach_area)).scalar_one() == "Abu Salim, sector 3"


def test_facilitators_must_be_staff_of_the_organisation(app, auth, world):
    c = auth.login(COORDINATOR)
    html = post_session(c, app, world, facilitators=[]).get_data(as_text=True)
    assert "at least one facilitator" in html
    html = post_session(c, app, world, facilitators=[world.users["admin"]]).get_data(as_text=True)
    assert "from your organisation" in html
    html = post_session(c, app, world, facilitators=[str(uuid.uuid4())]).get_data(as_text=True)
    assert "from your organisation" in html
    ok = post_session(c, app, world, facilitators=[world.users[COORDINATOR], world.users["caseworker"]])
    assert ok.status_code == 302 and session_count(app) == 1


def test_closed_space_takes_no_new_sessions(app, auth, world):
    with app.app_context():
        db.session.get(SafeSpace, uuid.UUID(world.ids["safe_space"])).active = False
        db.session.commit()
    c = auth.login(COORDINATOR)
    html = post_session(c, app, world).get_data(as_text=True)
    assert "closed" in _field_error(html, "safe_space")
    assert session_count(app) == 0


def test_stale_edit_is_refused_with_input_kept(app, auth, world):
    session_id = insert_session(app, world)
    path = f"/safe-spaces/sessions/{session_id}/edit"
    first, second = auth.login(COORDINATOR), auth.login(COORDINATOR)
    page_a = first.get(path).get_data(as_text=True)
    page_b = second.get(path).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page_a
    resp = first.post(path, data={**form_data(app, world, topic="Saved first", version="1"),
                                  "csrf_token": csrf_from(page_a)})
    assert resp.status_code == 302
    resp = second.post(path, data={**form_data(app, world, topic="Typed second", version="1"),
                                   "csrf_token": csrf_from(page_b)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Someone else saved this record" in html
    assert 'value="Typed second"' in html  # the input is kept
    with app.app_context():
        entry = db.session.get(WgssSession, uuid.UUID(session_id))
        assert (entry.topic, entry.version) == ("Saved first", 2)
    # Having seen the warning, the person may save again deliberately.
    resp = second.post(path, data={**form_data(app, world, topic="Typed second", version="2"),
                                   "csrf_token": csrf_from(html)})
    assert resp.status_code == 302
    updates = events(app, "wgss_session.update")
    assert [e.object_id for e in updates] == [session_id, session_id]


def _log(app, world, **over):
    """A valid session at the coordinator's safe space, as the service takes it."""
    from app.safe_space.service import SessionLog

    return SessionLog(**{
        "safe_space_id": uuid.UUID(world.ids["safe_space"]), "held_on": date(2026, 11, 20),
        "activity_type_id": uuid.UUID(type_id(app, "life_skills")), "topic": "Stress management",
        "duration_minutes": 90, "facilitator_ids": (uuid.UUID(world.users[COORDINATOR]),),
        **COUNTS, **over})


def test_stale_version_in_the_service_is_refused(app, world):
    from app.auth.models import User
    from app.safe_space import service

    session_id = insert_session(app, world)
    values = _log(app, world, activity_type_id=uuid.UUID(type_id(app, "recreation")))
    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users[COORDINATOR]))
        entry = db.session.get(WgssSession, uuid.UUID(session_id))
        with pytest.raises(service.SafeSpaceStale):
            service.save_session(user, values, entry, version=0)
        service.save_session(user, values, entry, version=1)
        assert entry.version == 2 and entry.activity_type.code == "recreation"


def test_admin_adds_renames_and_switches_off_activity_types(app, auth, world):
    admin = auth.login("admin")
    listing = admin.get("/safe-spaces/activity-types").get_data(as_text=True)
    for label in ("Life skills", "Group psychosocial support", "Recreation",
                  "Awareness or information session", "Skills or vocational training",
                  "Literacy and numeracy", "Mobile outreach", "Other"):
        assert label in listing
    def new_form() -> dict[str, str]:
        return form_tokens(admin.get("/safe-spaces/activity-types/new").get_data(as_text=True))

    assert admin.post("/safe-spaces/activity-types/new", data={
        "code": "first_aid", "label": "First aid", "active": "y", **new_form()}).status_code == 302
    dup = admin.post("/safe-spaces/activity-types/new", data={
        "code": "first_aid", "label": "Again", "active": "y", **new_form()})
    assert "Another activity type has this code." in dup.get_data(as_text=True)
    bad = admin.post("/safe-spaces/activity-types/new", data={
        "code": "First Aid!", "label": "x", **new_form()})
    assert "Lower-case letters" in bad.get_data(as_text=True)
    recreation = type_id(app, "recreation")
    session_id = insert_session(app, world, code="recreation")
    # Rename and switch off in one save: old sessions keep it, new sessions are not offered it.
    edit = admin.get(f"/safe-spaces/activity-types/{recreation}").get_data(as_text=True)
    assert admin.post(f"/safe-spaces/activity-types/{recreation}", data={
        "label": "Games and sport", "version": "1", "csrf_token": csrf_from(edit)}).status_code == 302
    with app.app_context():
        kind = db.session.get(ActivityType, uuid.UUID(recreation))
        assert (kind.code, kind.label, kind.active, kind.version) == ("recreation", "Games and sport",
                                                                     False, 2)
    assert {e.action for e in events(app, "activity_type.create")} == {"activity_type.create"}
    assert len(events(app, "activity_type.update")) == 1
    c = auth.login(COORDINATOR)
    form = c.get("/safe-spaces/sessions/new").get_data(as_text=True)
    assert "Games and sport" not in form and "First aid" in form
    assert "Games and sport" in c.get(f"/safe-spaces/sessions/{session_id}").get_data(as_text=True)
    html = post_session(c, app, world, activity_type=recreation).get_data(as_text=True)
    assert "Choose an activity." in html
    # Correcting the old session keeps its (now switched-off) type on offer.
    assert "Games and sport" in c.get(f"/safe-spaces/sessions/{session_id}/edit").get_data(as_text=True)


def test_concurrent_save_is_refused_by_the_version_check_in_the_database(app, world):
    """Two saves that both passed the form's version check: the database refuses the second."""
    from sqlalchemy import update

    from app.auth.models import User
    from app.safe_space import service

    session_id = insert_session(app, world)
    values = _log(app, world, topic="Mine")
    with app.test_request_context():
        user = db.session.get(User, uuid.UUID(world.users[COORDINATOR]))
        entry = db.session.get(WgssSession, uuid.UUID(session_id))
        assert entry.version == 1
        # Someone else's save lands between our check and our write.
        db.session.execute(update(WgssSession).where(WgssSession.id == entry.id)
                           .values(version=2, topic="Theirs").execution_options(
                               synchronize_session=False))
        with pytest.raises(service.SafeSpaceStale):
            service.save_session(user, values, entry, version=1)
    with app.app_context():
        assert db.session.get(WgssSession, uuid.UUID(session_id)).topic == "Direct topic"


def test_demo_sessions_are_logged_once(app, world):
    from app.auth.models import User
    from app.safe_space.demo import seed_sessions

    with app.app_context():
        space = db.session.get(SafeSpace, uuid.UUID(world.ids["safe_space"]))
        coordinator = db.session.get(User, uuid.UUID(world.users[COORDINATOR]))
        assert seed_sessions(space, coordinator) == 6
        assert seed_sessions(space, coordinator) == 0
    assert session_count(app) == 6
    assert len(events(app, "wgss_session.create")) == 6
