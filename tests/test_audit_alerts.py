"""Alerts: denial bursts, many distinct cases in an hour, break-glass use, work outside working
hours and failed verification; thresholds come from the settings."""

from __future__ import annotations

import uuid

from app.audit import alerts
from app.audit.actions import Action, Outcome
from app.audit.models import AuditEvent
from app.db import db
from tests.helpers.audit import add, events, put, unlocked, verify
from tests.helpers.forms import csrf_from


def compute(app):
    with app.app_context():
        return alerts.compute()


def test_a_burst_of_failed_logins_from_one_address(app, client, frozen):
    for _ in range(12):
        page = client.get("/auth/login")
        client.post("/auth/login", data={"username": "caseworker", "password": "wrong password",
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
        frozen.advance(seconds=20)
    found = compute(app)["denials"]
    assert len(found) == 1
    assert found[0].actor_id is None and found[0].client_address == "127.0.0.1"
    assert found[0].count >= 12


def test_denials_below_the_threshold_or_spread_out_raise_nothing(app, world, frozen):
    for _ in range(12):
        frozen.advance(minutes=11)
        add(app, world, "access.denied", actor="caseworker2", outcome=Outcome.DENIED)
    for _ in range(9):
        add(app, world, "access.denied", outcome=Outcome.DENIED)
    assert compute(app)["denials"] == []
    add(app, world, "access.denied", outcome=Outcome.DENIED)
    frozen.advance(minutes=1)
    found = compute(app)["denials"]
    assert [(str(a.actor_id), a.count) for a in found] == [(world.users["caseworker"], 10)]


def test_many_distinct_cases_within_an_hour(app, world, frozen):
    for _ in range(14):
        add(app, world, "case.view", object_type="case", object_id=uuid.uuid4(), actor="caseworker2")
    same = uuid.uuid4()
    for _ in range(20):
        add(app, world, "case.view", object_type="case", object_id=same)
    assert compute(app)["many_cases"] == []
    for _ in range(15):
        frozen.advance(minutes=3)
        add(app, world, "case.view", object_type="case", object_id=uuid.uuid4())
    found = compute(app)["many_cases"]
    assert [(str(a.actor_id), a.count) for a in found] == [(world.users["caseworker"], 16)]


def test_thresholds_are_settings(app, world):
    for _ in range(3):
        add(app, world, "case.view", object_type="case", object_id=uuid.uuid4(), actor="caseworker2")
    assert compute(app)["many_cases"] == []
    app.config["AUDIT_ALERT_CASES"] = 3
    assert len(compute(app)["many_cases"]) == 1


def test_every_break_glass_use_is_listed(app, world):
    case = uuid.uuid4()
    seq = add(app, world, "break_glass.open", actor="supervisor", object_type="case",
              object_id=case, reason="client at risk tonight")
    found = compute(app)["break_glass"]
    assert [(a.seq, a.object_id, a.reason) for a in found] == [
        (seq, str(case), "client at risk tonight")]


def test_work_outside_working_hours(app, world, frozen):
    add(app, world, "user.view")  # Tuesday 12:00 in Tripoli: working hours
    frozen.advance(hours=11)      # Tuesday 23:00 in Tripoli
    late = add(app, world, "user.view", actor="caseworker2")
    add(app, world, "user.view", actor="caseworker2")
    frozen.advance(days=2, hours=13)  # Friday 12:00: the weekend
    weekend = add(app, world, "user.view", actor="supervisor")
    found = compute(app)["after_hours"]
    assert sorted((str(a.actor_id), a.seq, a.count) for a in found) == sorted([
        (world.users["caseworker2"], late, 2), (world.users["supervisor"], weekend, 1)])
    app.config["AUDIT_ALERT_WORK_DAYS"] = (0, 1, 2, 3, 4)  # Monday to Friday
    assert {str(a.actor_id) for a in compute(app)["after_hours"]} == {world.users["caseworker2"]}


def test_off_hours_intervals_follow_the_time_zone(app):
    from datetime import UTC, datetime

    with app.app_context():
        spans = alerts.off_hours(datetime(2026, 11, 24, 0, tzinfo=UTC),
                                 datetime(2026, 11, 24, 12, tzinfo=UTC))
    # Tripoli is UTC+2: a Tuesday's work is 05:00-17:00 UTC, and its day ends at 22:00 UTC.
    assert spans == [(datetime(2026, 11, 24, 0, tzinfo=UTC), datetime(2026, 11, 24, 5, tzinfo=UTC)),
                     (datetime(2026, 11, 24, 17, tzinfo=UTC), datetime(2026, 11, 24, 22, tzinfo=UTC))]


def test_failed_verification_is_an_alert_and_the_page_is_recorded(app, auth, world):
    target = add(app, world, "user.view")
    add(app, world, "user.view")
    client = auth.login("auditor")
    assert "Failed verification <span class=\"badge\">0</span>" in client.get(
        "/audit/alerts").get_data(as_text=True)
    with unlocked(app) as conn:
        put(conn, target, {"outcome": "denied"})
    assert not verify(app).ok
    token = auth.csrf(client, "/audit/verify")
    client.post("/audit/verify", data={"csrf_token": token})
    page = client.get("/audit/alerts").get_data(as_text=True)
    assert "Failed verification <span class=\"badge\">1</span>" in page
    assert f"web:edited@{target}" in page
    assert len(events(app, action=Action.AUDIT_ALERTS_VIEW.value)) == 2
    with app.app_context():
        assert db.session.get(AuditEvent, target).outcome == "denied"
