"""Handing a pending field intake over: the supervisors' team list and the move, from the
supervisor's side, the caseworkers' (old and new reviewer, the original device) and an
attacker's (other roles, another organisation, no shared site, bad targets, stale forms)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.db import db
from app.directory.models import Site
from app.field import handover, sync
from app.field.loaders import waiting
from app.field.models import FieldIntake, IntakeStatus
from tests.helpers.audit import events
from tests.helpers.field import intake_fields, make_intake
from tests.helpers.field_envelopes import envelope_for
from tests.helpers.forms import form_tokens

# Canaries in the intake's identifying fields: the team page and the trail never show them.
CANARIES = {"person-full_name": "Rahma Handovercanary", "person-phone": "0934455667",
            "person-location": "HandoverLocation-Q7"}


def _intake(app, world, who="caseworker", **kw: Any) -> str:
    return make_intake(app, world.users[who], intake_fields(**CANARIES), **kw)


def _user(app, world, name: str) -> User:
    with app.app_context():
        found = db.session.get(User, uuid.UUID(world.users[name]))
        db.session.expunge(found)
        return found


def _change(app, world, name: str, *, site: str | None = None, **values: Any) -> None:
    """Change an account of the world (its organisation, role, activity or its one site)."""
    with app.app_context():
        found = db.session.get(User, uuid.UUID(world.users[name]))
        for key, value in values.items():
            setattr(found, key, value)
        if site is not None:
            found.sites = [db.session.get(Site, uuid.UUID(world.ids[site]))]
        db.session.commit()


def _intake_row(app, intake_id: str) -> tuple[Any, Any, str, int]:
    with app.app_context():
        row = db.session.get(FieldIntake, uuid.UUID(intake_id))
        return row.user_id, row.assignee_id, row.status, row.version


def _team(client) -> str:
    page = client.get("/field/team")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _hand(client, intake_id: str, to: str, html: str | None = None, **over: Any) -> Any:
    """Post the hand-over form of the team page (``html``: as it was shown, maybe long ago)."""
    action = f"/field/intakes/{intake_id}/handover"
    html = html if html is not None else _team(client)
    tokens = form_tokens(html, action)
    form = html.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    reviewer = re.search(r'name="reviewer"[^>]*value="([^"]*)"', form)
    assert reviewer is not None
    return client.post(action, data={**tokens, "reviewer": reviewer.group(1), "to": to,
                                     **over})


def _listed(html: str) -> list[str]:
    return re.findall(r"/field/intakes/([0-9a-f-]{36})/handover", html)


def test_the_team_list_is_in_the_caseworkers_order_and_shows_nothing_identifying(
        app, world, auth, frozen):
    now = frozen.now
    old = _intake(app, world, captured_at=now - timedelta(hours=10))
    urgent = _intake(app, world, who="caseworker2", captured_at=now - timedelta(hours=5),
                     urgent=True)
    sooner = _intake(app, world, who="gone", captured_at=now - timedelta(hours=2), urgent=True,
                     window_ends_at=now + timedelta(hours=9, minutes=59))
    later = _intake(app, world, captured_at=now - timedelta(hours=3), urgent=True,
                    window_ends_at=now + timedelta(hours=30, minutes=20))
    _intake(app, world, who="caseworker_b")  # Benghazi: not the supervisor's site
    _intake(app, world, organisation_id=world.ids["other_org"])  # another organisation's
    with app.app_context():
        assert handover.team_waiting(db.session.get(User, uuid.UUID(
            world.users["supervisor"]))) == (4, 3)
    client = auth.login("supervisor")
    html = _team(client)
    assert _listed(html) == [sooner, later, urgent, old]
    assert "9 hours left" in html and "30 hours left" in html
    assert "Test gone" in html and "deactivated" in html and "Test caseworker2" in html
    assert not any(v in html for v in CANARIES.values())
    home = client.get("/").get_data(as_text=True)
    assert "Field intakes waiting in your team: 4 (3 urgent)" in home
    assert not any(v in home for v in CANARIES.values())
    [listed] = events(app, "field.team_intakes_list")
    assert listed.object_id is None and listed.object_type == "field_intake"


def test_the_team_panel_is_hidden_when_nothing_waits(app, world, auth):
    assert "waiting in your team" not in auth.login("supervisor").get("/").get_data(
        as_text=True)


def test_a_hand_over_moves_the_intake_to_the_new_reviewer_alone(app, world, auth, frozen):
    intake_id = _intake(app, world)
    sup = auth.login("supervisor")
    resp = _hand(sup, intake_id, world.users["caseworker2"])
    assert resp.status_code == 302 and resp.location.endswith("/field/team")
    uploader, assignee, status, _v = _intake_row(app, intake_id)
    assert (str(uploader), str(assignee), status) == (
        world.users["caseworker"], world.users["caseworker2"], IntakeStatus.PENDING)
    [moved] = events(app, "field.intake_handover")
    assert (moved.object_id, moved.reason, moved.outcome) == (
        intake_id, "from_uploader", "allowed")
    # The old reviewer: gone from the list and count; 404 (audited as out of scope).
    old = auth.login("caseworker")
    assert intake_id not in old.get("/field/intakes").get_data(as_text=True)
    assert old.get("/field/sync").get_json()["pending"] == 0
    assert "Field intakes (0 waiting)" in old.get("/").get_data(as_text=True)
    assert old.get(f"/field/intakes/{intake_id}").status_code == 404
    denied = [e for e in events(app, "field.intake_view") if e.outcome == "denied"]
    assert [(e.object_id, e.reason) for e in denied] == [(intake_id, "out_of_scope")]
    # The new one lists it, counts it, opens it and decides it.
    new = auth.login("caseworker2")
    told = new.get("/notifications/").get_data(as_text=True)
    assert "A field intake was handed over to you" in told
    assert not any(v in told for v in CANARIES.values())
    assert "handed over to you" not in old.get("/notifications/").get_data(as_text=True)
    assert intake_id in new.get("/field/intakes").get_data(as_text=True)
    assert new.get("/field/sync").get_json()["pending"] == 1
    page = new.get(f"/field/intakes/{intake_id}")
    assert page.status_code == 200
    action = f"/field/intakes/{intake_id}/open"
    resp = new.post(action, data={**form_tokens(page.get_data(as_text=True), action),
                                  **intake_fields(**CANARIES), "site": world.ids["tripoli"]})
    assert resp.status_code == 302 and "/cases/" in resp.location
    assert _intake_row(app, intake_id)[2] == IntakeStatus.OPENED
    # Decided: the notice no longer leads anywhere, and is dropped.
    assert "handed over to you" not in new.get("/notifications/").get_data(as_text=True)
    # Nothing personal reached the trail.
    with app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        text = " ".join(f"{r.action} {r.reason} {r.object_id}" for r in rows)
    assert not any(v in text for v in CANARIES.values())


def test_the_original_devices_retry_is_still_a_duplicate(app, world, frozen):
    env = envelope_for(app, world, frozen.now)
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        assert [r.status for r in sync.receive(worker, [env])] == ["accepted"]
        intake = db.session.execute(select(FieldIntake)).scalar_one()
        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        handover.hand_over(supervisor, intake, uuid.UUID(world.users["caseworker2"]),
                           uuid.UUID(world.users["caseworker"]))
        db.session.commit()
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        assert [r.status for r in sync.receive(worker, [env])] == ["duplicate"]
        other = db.session.get(User, uuid.UUID(world.users["caseworker2"]))
        assert [(r.status, r.reason) for r in sync.receive(other, [env])] == [
            ("refused", "other_user")]
        assert sync.pending_count(worker) == 0 and waiting(other) == 1


def test_a_second_hand_over_of_the_same_form_changes_nothing(app, world, auth):
    intake_id = _intake(app, world)
    sup = auth.login("supervisor")
    shown = _team(sup)
    assert _hand(sup, intake_id, world.users["caseworker2"], shown).status_code == 302
    after_first = _intake_row(app, intake_id)
    # The same form again (a double click, or a second supervisor with the page open), to
    # another colleague: built on the uploader as reviewer, so it is stale.
    _change(app, world, "caseworker_b", site="tripoli")
    resp = _hand(sup, intake_id, world.users["caseworker_b"], shown)
    assert resp.status_code == 302
    assert "handed over meanwhile" in sup.get("/field/team").get_data(as_text=True)
    assert _intake_row(app, intake_id) == after_first
    assert [(e.outcome, e.reason) for e in events(app, "field.intake_handover")] == [
        ("allowed", "from_uploader"), ("denied", "already_decided")]


def test_refused_targets_change_nothing(app, world, auth):
    intake_id = _intake(app, world)
    _change(app, world, "caseworker2", organisation_id=uuid.UUID(world.ids["other_org"]))
    sup = auth.login("supervisor")
    before = _intake_row(app, intake_id)
    for target in (world.users["caseworker2"],        # another organisation
                   world.users["gone"],               # deactivated
                   world.users["wgss_coordinator"],   # at Tripoli, but opens no case
                   world.users["caseworker_b"],       # no shared site
                   world.users["caseworker"],         # the current reviewer
                   str(uuid.uuid4()), "not-an-id"):
        resp = _hand(sup, intake_id, target)
        assert resp.status_code == 302, target
        assert _intake_row(app, intake_id) == before, target
    assert "Choose an active colleague" in sup.get("/field/team").get_data(as_text=True)
    assert {e.reason for e in events(app, "field.intake_handover")} == {"bad_target"}


def test_a_decided_or_made_up_intake_cannot_be_handed_over(app, world, auth):
    intake_id = _intake(app, world)
    sup = auth.login("supervisor")
    shown = _team(sup)
    with app.app_context():
        row = db.session.get(FieldIntake, uuid.UUID(intake_id))
        row.status = IntakeStatus.DISCARDED
        db.session.commit()
    before = _intake_row(app, intake_id)
    assert _hand(sup, intake_id, world.users["caseworker2"], shown).status_code == 302
    assert _intake_row(app, intake_id) == before
    assert sup.post(f"/field/intakes/{uuid.uuid4()}/handover",
                    data={**form_tokens(shown, f"/field/intakes/{intake_id}/handover"),
                          "to": world.users["caseworker2"]}).status_code == 404


def test_without_csrf_nothing_moves(app, world, auth):
    intake_id = _intake(app, world)
    sup = auth.login("supervisor")
    before = _intake_row(app, intake_id)
    resp = sup.post(f"/field/intakes/{intake_id}/handover",
                    data={"to": world.users["caseworker2"],
                          "reviewer": world.users["caseworker"]})
    assert resp.status_code in (302, 400)
    assert _intake_row(app, intake_id) == before
    assert not [e for e in events(app, "field.intake_handover") if e.outcome == "allowed"]


def test_who_may_not_hand_over(app, world, auth):
    intake_id = _intake(app, world)
    before = _intake_row(app, intake_id)
    # A caseworker (even the reviewer): 403, and the team page too.
    cw = auth.login("caseworker")
    token = auth.csrf(cw, "/field/intakes")
    data = {"csrf_token": token, "to": world.users["caseworker2"],
            "reviewer": world.users["caseworker"]}
    assert cw.post(f"/field/intakes/{intake_id}/handover", data=data).status_code == 403
    assert cw.get("/field/team").status_code == 403
    # A supervisor without a shared site: 404 and nothing listed.
    _change(app, world, "supervisor", site="benghazi")
    sup = auth.login("supervisor")
    assert intake_id not in _team(sup)
    data["csrf_token"] = auth.csrf(sup, "/field/team")
    assert sup.post(f"/field/intakes/{intake_id}/handover", data=data).status_code == 404
    # Another organisation's supervisor: 404 and nothing listed.
    _change(app, world, "supervisor", site="partner_site",
            organisation_id=uuid.UUID(world.ids["other_org"]))
    sup = auth.login("supervisor")
    assert intake_id not in _team(sup)
    data["csrf_token"] = auth.csrf(sup, "/field/team")
    assert sup.post(f"/field/intakes/{intake_id}/handover", data=data).status_code == 404
    assert _intake_row(app, intake_id) == before
    refusals = events(app, "field.intake_handover")
    assert [(e.outcome, e.reason, e.object_id) for e in refusals] == [
        ("denied", "out_of_scope", intake_id)] * 2


def test_a_reviewer_without_a_site_is_shown_to_the_organisations_supervisors(app, world, auth):
    intake_id = _intake(app, world, who="gone")
    with app.app_context():
        db.session.get(User, uuid.UUID(world.users["gone"])).sites = []
        db.session.commit()
    _change(app, world, "supervisor", site="benghazi")
    sup = auth.login("supervisor")
    assert _listed(_team(sup)) == [intake_id]
    assert _hand(sup, intake_id, world.users["caseworker_b"]).status_code == 302
    assert str(_intake_row(app, intake_id)[1]) == world.users["caseworker_b"]


def test_a_reviewer_moved_to_another_organisation_is_shown_to_the_old_ones_supervisors(
        app, world, auth):
    """The caseworker now works for another organisation (sites there only): their intake,
    which they can no longer open, is handed on by the organisation it belongs to."""
    intake_id = _intake(app, world, who="caseworker")
    _change(app, world, "caseworker", site="partner_site",
            organisation_id=uuid.UUID(world.ids["other_org"]))
    _change(app, world, "supervisor", site="benghazi")  # no site shared with the caseworker
    assert auth.login("caseworker").get(f"/field/intakes/{intake_id}").status_code == 404
    sup = auth.login("supervisor")
    assert _listed(_team(sup)) == [intake_id]
    assert _hand(sup, intake_id, world.users["caseworker_b"]).status_code == 302
    assert str(_intake_row(app, intake_id)[1]) == world.users["caseworker_b"]
