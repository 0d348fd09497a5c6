"""Every refusal is on the trail: a sub-record of another case asked for through one's own
case's URL answers the same 404 as a missing one and writes the same denial event as any
out-of-scope record (the sub-record's type and id, outcome denied, reason out_of_scope)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import consent, gbvims, records
from app.cases.models import ActionItem, Case, FollowUp, Incident
from app.db import db
from tests.helpers.files import attach_file
from tests.helpers.forms import comparable

# (label, URL pattern under /cases/<case>/, the action and record type the denial names)
CHILD_ROUTES = {
    "incident": ("incidents/{id}", "incident.update", "incident"),
    "action_item": ("actions/{id}", "action_item.update", "action_item"),
    "follow_up": ("follow-ups/{id}/done", "follow_up.update", "follow_up"),
    "attachment": ("attachments/{id}", "attachment.download", "attachment"),
}
# Every route on each method it answers (follow-up "done" is POST only).
ASKED = [("incident", "GET"), ("incident", "POST"), ("action_item", "GET"),
         ("action_item", "POST"), ("follow_up", "POST"), ("attachment", "GET")]


def _other_case_records(app, world) -> dict[str, str]:
    """An incident, a goal, a follow-up and a file in the colleague's case (caseworker2's)."""
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker2"]))
        case = db.session.get(Case, uuid.UUID(world.ids["case_other"]))
        consent.record_consent(worker, case, kind="services", granted=True, given_by="survivor",
                               method="verbal")
        incident = records.save_incident(worker, case, records.IncidentInput(
            incident_date=date(2026, 11, 2), reported_date=date(2026, 11, 21),
            location_type="camp_settlement", answers=gbvims.answered("physical"),
            perpetrator_count="1", survivor_age_at_incident=30,
            perpetrators=(records.PerpetratorInput("unknown", "unknown", "unknown", "unknown"),),
            time_of_day="unknown",
            displacement_stage="during_refuge", narrative="n"))
        item = records.save_action_item(worker, case, records.GoalInput(
            service_type="health", due_on=date(2026, 12, 1), goal="g"))
        visit = records.add_follow_up(worker, case, records.FollowUpInput(due_on=date(2026, 12, 2)))
        ids = {"incident": str(incident.id), "action_item": str(item.id),
               "follow_up": str(visit.id)}
    ids["attachment"] = attach_file(app, world, "case_other")
    return ids


def _denials(app, object_id: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(
            select(AuditEvent).where(AuditEvent.object_id == object_id,
                                     AuditEvent.outcome == "denied")).scalars())


def _state(app, ids: dict[str, str]) -> tuple:
    """What a refused request must leave untouched in the colleague's records."""
    with app.app_context():
        inc = db.session.get(Incident, uuid.UUID(ids["incident"]))
        item = db.session.get(ActionItem, uuid.UUID(ids["action_item"]))
        visit = db.session.get(FollowUp, uuid.UUID(ids["follow_up"]))
        return inc.version, inc.updated_at, item.version, item.status, visit.done_on


@pytest.mark.parametrize("kind,method", ASKED)
def test_another_cases_record_through_own_case_is_404_and_audited(app, auth, world, kind, method):
    ids = _other_case_records(app, world)
    before = _state(app, ids)
    c = auth.login("caseworker")
    token = auth.csrf(c, f"/cases/{world.ids['case_own']}")
    pattern, action, object_type = CHILD_ROUTES[kind]
    base = f"/cases/{world.ids['case_own']}/"
    missing_id = str(uuid.uuid4())

    def ask(record_id: str):
        url = base + pattern.format(id=record_id)
        return c.get(url) if method == "GET" else c.post(url, data={"csrf_token": token,
                                                                    "status": "done"})

    foreign = ask(ids[kind])
    missing = ask(missing_id)
    assert foreign.status_code == missing.status_code == 404
    # The same page as for an id that exists nowhere: nothing tells them apart.
    # (The page links to its own URL, e.g. the language switch, so the asked id is replaced.)
    assert (comparable(foreign.get_data(as_text=True), ID=ids[kind])
            == comparable(missing.get_data(as_text=True), ID=missing_id))
    for record_id in (ids[kind], missing_id):
        events = _denials(app, record_id)
        assert [(e.action, e.object_type, e.outcome, e.reason) for e in events] == [
            (action, object_type, "denied", "out_of_scope")], record_id
        assert str(events[0].actor_id) == world.users["caseworker"]
    assert _state(app, ids) == before


def test_every_child_route_of_a_case_is_covered(app):
    """A new route (or method) taking a second record id under a case must be added above."""
    args = {"incident": "incident_id", "action_item": "item_id", "follow_up": "visit_id",
            "attachment": "attachment_id"}
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/cases/<uuid:case_id>/") and len(rule.arguments) > 1:
            found.update((rule.rule, m) for m in rule.methods - {"HEAD", "OPTIONS"})
    expected = {("/cases/<uuid:case_id>/" + CHILD_ROUTES[kind][0].format(id=f"<uuid:{args[kind]}>"),
                 method) for kind, method in ASKED}
    # Notes have no route of their own (they are only added), so none can be asked for.
    assert found == expected
