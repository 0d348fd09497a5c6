"""Notifications: who is told of what (each emission point, never the actor, never another
service, team or organisation), what they say (a kind and a reference, never survivor data),
how they go when their record goes out of reach (reassigned, revoked, erased), opening, marking
read, pruning, and the clinical-window scan (once, in time, in the organisation's zone).

The test world starts with one notification: the service provider (MHPSS) told of the
caseworker's referral of her own case to MHPSS (the partner's legal aid has no account)."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from app.auth.models import User
from app.cases import consent, gbvims, records
from app.cases import service as cases
from app.cases.models import Case
from app.core import hooks
from app.db import db, transaction
from app.directory.models import Organisation, Site
from app.notifications import service as notifications
from app.notifications.kinds import TEXTS, Kind, Target
from app.notifications.models import Notification
from app.referrals import service as referrals
from app.referrals.models import Referral, RevokeReason
from tests.helpers.audit import events
from tests.helpers.factories import CANARY, World
from tests.helpers.forms import csrf_from
from tests.helpers.notifications import account, bell, ids_of, told
from tests.helpers.statistics import incident, refer, service_of, survivor, user

SENT_BACK_CANARY = "SentBackCanary-Closure-81"
DECLINE_CANARY = "DeclineCanary-Referral-62"
CANARIES = (*CANARY.values(), SENT_BACK_CANARY, DECLINE_CANARY)


def _added(before: list[tuple[str, ...]], after: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The notifications in ``after`` that were not in ``before`` (as ``told`` gives them)."""
    return sorted((Counter(after) - Counter(before)).elements())


def _case(world: World, label: str = "case_own") -> Case:
    found = db.session.get(Case, uuid.UUID(world.ids[label]))
    assert found is not None
    return found


def _referral(world: World, label: str = "ref_mhpss") -> Referral:
    found = db.session.get(Referral, uuid.UUID(world.ids[label]))
    assert found is not None
    return found


def _accept(world: World, ref: Referral) -> None:
    referrals.answer(user(world, "service_provider"), ref, referrals.ReferralAnswer(
        op=referrals.AnswerOp.ACCEPT, version=ref.version))


def _page(c, path: str = "/notifications/") -> str:
    r = c.get(path)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _plain(resp) -> str:
    """A page with what changes from one response to the next (nonces, CSRF tokens) blanked."""
    html = resp.get_data(as_text=True)
    return re.sub(r'(nonce|value|data-csrf)="[^"]*"', r'\1=""', html)


def _open(auth, c, notification_id: str):
    return c.post(f"/notifications/{notification_id}/open",
                  data={"csrf_token": auth.csrf(c, "/notifications/")})


def test_the_world_starts_with_the_provider_told_of_the_referral(app: Flask, world: World):
    assert told(app) == [(world.users["service_provider"], "referral_new", "referral",
                          world.ids["ref_mhpss"])]


def test_nobody_is_told_of_their_own_act(app: Flask, world: World):
    a, b = uuid.UUID(world.users["caseworker"]), uuid.UUID(world.users["caseworker2"])
    with app.app_context(), transaction():
        added = notifications.notify([a, b, None, b], organisation_id=uuid.UUID(world.ids["org"]),
                                     kind=Kind.PLAN_APPROVED, target=Target.CASE,
                                     object_id=uuid.UUID(world.ids["case_own"]), actor=a)
    assert added == 1
    assert [n[0] for n in told(app) if n[1] == "plan_approved"] == [str(b)]


# --- Who is told of what ------------------------------------------------------------------

def test_a_new_referral_tells_each_active_account_of_the_service_and_nobody_else(
        app: Flask, world: World):
    sp = world.users["service_provider"]
    with app.test_request_context():
        p2 = str(account(world, "provider2", "service_provider", service="mhpss"))
        account(world, "provider_gone", "service_provider", service="mhpss", active=False)
        account(world, "provider_legal", "service_provider", service="legal", org="other_org")
        before = told()
        normal = referrals.create(user(world, "caseworker"), _case(world), referrals.NewReferral(
            service_id=uuid.UUID(world.ids["mhpss"])))
        after_normal = told()
        urgent = referrals.create(user(world, "caseworker"), _case(world), referrals.NewReferral(
            service_id=uuid.UUID(world.ids["mhpss"]), urgency=referrals.Urgency.URGENT))
        after_urgent = told()
        normal_id, urgent_id = str(normal.id), str(urgent.id)
    assert _added(before, after_normal) == sorted([
        (sp, "referral_new", "referral", normal_id), (p2, "referral_new", "referral", normal_id)])
    assert _added(after_normal, after_urgent) == sorted([
        (sp, "referral_new_urgent", "referral", urgent_id),
        (p2, "referral_new_urgent", "referral", urgent_id)])


def test_a_clinical_referral_is_told_as_urgent_even_sent_as_normal(app: Flask, world: World):
    with app.test_request_context():
        health = service_of(world, "health_medical")
        nurse = str(account(world, "nurse", "service_provider", service=health))
        case = survivor(world)
        incident(world, case, core="rape", occurred=date(2026, 11, 23),
                 reported=date(2026, 11, 24))
        before = told()
        ref = refer(world, case, "health_medical", at=datetime(2026, 11, 24, 10, tzinfo=UTC))
        assert ref.urgent_clinical
        assert _added(before, told()) == [(nurse, "referral_new_urgent", "referral", str(ref.id))]


def test_an_answer_tells_the_case_workers_and_not_the_provider(app: Flask, world: World):
    cw, cw2 = world.users["caseworker"], world.users["caseworker2"]
    rid = world.ids["ref_mhpss"]
    with app.test_request_context():
        _case(world).secondary_worker_id = uuid.UUID(cw2)
        db.session.commit()
        before = told()
        ref = _referral(world)
        _accept(world, ref)
        accepted = told()
        referrals.answer(user(world, "service_provider"), ref, referrals.ReferralAnswer(
            op=referrals.AnswerOp.COMPLETE, version=ref.version, outcome="provided"))
        completed = told()
    answered = sorted([(cw, "referral_answered", "referral", rid),
                       (cw2, "referral_answered", "referral", rid)])
    assert _added(before, accepted) == answered
    assert _added(accepted, completed) == answered


def test_a_declined_referral_tells_the_workers(app: Flask, world: World):
    with app.test_request_context():
        before = told()
        ref = _referral(world)
        referrals.answer(user(world, "service_provider"), ref, referrals.ReferralAnswer(
            op=referrals.AnswerOp.DECLINE, note=DECLINE_CANARY, version=ref.version))
        assert _added(before, told()) == [(world.users["caseworker"], "referral_answered",
                                           "referral", world.ids["ref_mhpss"])]


def test_plan_and_closure_decisions_tell_the_workers_not_the_supervisor(app: Flask,
                                                                         world: World):
    cw, own = world.users["caseworker"], world.ids["case_own"]
    sup = "supervisor"
    with app.test_request_context():
        case = _case(world)
        steps = []
        before = told()
        cases.approve_plan(user(world, sup), case, case.version)
        steps.append(_added(before, before := told()))
        cases.request_closure(user(world, "caseworker"), case, "needs_met", None, case.version)
        steps.append(_added(before, before := told()))
        cases.decide_closure(user(world, sup), case, False, case.version, SENT_BACK_CANARY)
        steps.append(_added(before, before := told()))
        cases.request_closure(user(world, "caseworker"), case, "needs_met", None, case.version)
        cases.decide_closure(user(world, sup), case, True, case.version)
        steps.append(_added(before, before := told()))
    assert steps == [[(cw, "plan_approved", "case", own)], [],
                     [(cw, "closure_sent_back", "case", own)],
                     [(cw, "closure_approved", "case", own)]]


def test_assignment_tells_only_the_workers_new_to_the_case(app: Flask, world: World):
    cw, cw2, own = world.users["caseworker"], world.users["caseworker2"], world.ids["case_own"]
    with app.test_request_context():
        case = _case(world)
        before = told()
        cases.assign(user(world, "supervisor"), case, user(world, "caseworker"),
                     user(world, "caseworker2"), case.version)
        added = _added(before, before := told())
        # the same two, the other way round: nobody is new to the case
        cases.assign(user(world, "supervisor"), case, user(world, "caseworker2"),
                     user(world, "caseworker"), case.version)
        again = _added(before, told())
    assert added == [(cw2, "case_assigned", "case", own)]
    assert again == []
    assert cw not in {n[0] for n in told(app) if n[1] == "case_assigned"}


# --- Out of reach: reassigned, revoked, erased ------------------------------------------------

def _told_caseworker_of_case_and_referral(app: Flask, world: World) -> None:
    """The caseworker is told of her case (plan approved) and of its referral (accepted)."""
    with app.test_request_context():
        case = _case(world)
        cases.approve_plan(user(world, "supervisor"), case, case.version)
        _accept(world, _referral(world))


def _gone_for(app: Flask, auth, c, ids: list[str], expected_bell: int) -> None:
    """The user of ``c`` no longer has the notifications ``ids``: the bell shows
    ``expected_bell``, the list none of them, and opening each answers the 404 of a made-up id,
    audited as denied."""
    html = _page(c)
    assert bell(html) == expected_bell
    assert not any(i in html for i in ids)
    made_up = _open(auth, c, str(uuid.uuid4()))
    assert made_up.status_code == 404
    for i in ids:
        before = len(events(app, "notification.open", outcome="denied"))
        r = _open(auth, c, i)
        assert r.status_code == 404 and _plain(r) == _plain(made_up)
        denied = events(app, "notification.open", outcome="denied")
        assert len(denied) == before + 1 and str(denied[-1].object_id) == i


def test_reassigning_takes_the_old_worker_notifications_about_the_case_and_its_referrals(
        app: Flask, auth, world: World):
    _told_caseworker_of_case_and_referral(app, world)
    cw = world.users["caseworker"]
    mine = ids_of(app, cw)
    assert len(mine) == 2
    c = auth.login("caseworker")
    assert bell(_page(c, "/")) == 2
    with app.test_request_context():
        case = _case(world)
        cases.assign(user(world, "supervisor"), case, user(world, "caseworker2"), None,
                     case.version)
    assert ids_of(app, cw) == []
    _gone_for(app, auth, c, mine, 0)
    # the provider's notification about the referral stays: she may still open it
    assert (world.users["service_provider"], "referral_new", "referral",
            world.ids["ref_mhpss"]) in told(app)


def test_a_narrowed_scope_takes_the_worker_notifications_about_cases_out_of_reach(
        app: Flask, auth, world: World):
    _told_caseworker_of_case_and_referral(app, world)
    cw = world.users["caseworker"]
    mine = ids_of(app, cw)
    c = auth.login("caseworker")
    with app.test_request_context():
        worker = user(world, "caseworker")
        worker.sites = [db.session.get(Site, uuid.UUID(world.ids["benghazi"]))]
        with transaction():
            hooks.scope_narrowed.emit(user=worker)
    assert ids_of(app, cw) == []
    _gone_for(app, auth, c, mine, 0)


def test_revoking_takes_the_provider_notifications_and_leaves_the_workers(app: Flask, auth,
                                                                          world: World):
    sp, cw = world.users["service_provider"], world.users["caseworker"]
    with app.test_request_context():
        p2 = str(account(world, "provider2", "service_provider", service="mhpss"))
        ref = referrals.create(user(world, "caseworker"), _case(world), referrals.NewReferral(
            service_id=uuid.UUID(world.ids["mhpss"]), urgency=referrals.Urgency.URGENT))
        _accept(world, ref)  # the caseworker is told of the answer
        rid = str(ref.id)
    theirs = ids_of(app, sp)
    assert len(theirs) == 2  # the world's referral and this one
    p = auth.login("service_provider")
    assert bell(_page(p, "/")) == 2
    with app.test_request_context():
        referrals.revoke(user(world, "caseworker"), db.session.get(Referral, uuid.UUID(rid)),
                         RevokeReason.NO_LONGER_NEEDED)
    gone = [i for i in theirs if i not in ids_of(app, sp)]
    assert len(gone) == 1 and ids_of(app, p2) == []
    _gone_for(app, auth, p, gone, 1)
    assert (cw, "referral_answered", "referral", rid) in told(app)


def test_withdrawing_consent_takes_the_provider_notification(app: Flask, auth, world: World):
    sp = world.users["service_provider"]
    theirs = ids_of(app, sp)
    assert len(theirs) == 1
    p = auth.login("service_provider")
    assert bell(_page(p, "/")) == 1
    with app.test_request_context():
        consent.record_consent(user(world, "caseworker"), _case(world), kind="share:mhpss",
                               granted=False, given_by="survivor", method="verbal")
    assert ids_of(app, sp) == []
    _gone_for(app, auth, p, theirs, 0)


def test_erasing_a_case_takes_every_notification_about_it_and_its_referrals(
        app: Flask, auth, world: World):
    _told_caseworker_of_case_and_referral(app, world)
    with app.test_request_context():
        other = _case(world, "case_other")
        cases.approve_plan(user(world, "supervisor"), other, other.version)
    mine = ids_of(app, world.users["caseworker"])
    theirs = ids_of(app, world.users["service_provider"])
    assert len(mine) == 2 and len(theirs) == 1
    c, p = auth.login("caseworker"), auth.login("service_provider")
    with app.test_request_context():
        cases.erase(None, _case(world), "survivor_request")
    assert told(app) == [(world.users["caseworker2"], "plan_approved", "case",
                          world.ids["case_other"])]
    _gone_for(app, auth, c, mine, 0)
    _gone_for(app, auth, p, theirs, 0)


# --- What they say, opening, reading ---------------------------------------------------------

def _lines(html: str) -> list[str]:
    """The text of each notification of the list (tags dropped, spaces squeezed)."""
    found = re.search(r'<ul class="notification-list".*?</ul>', html, re.S)
    items = re.findall(r'<button type="submit" class="link-button">(.*?)</button>',
                       found.group(0) if found else "", re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", i).split()) for i in items]


def test_texts_are_a_kind_and_a_reference_and_carry_no_survivor_data(app: Flask, auth,
                                                                     world: World):
    number = world.case_numbers["case_own"]
    with app.test_request_context():
        case = _case(world)
        case.secondary_worker_id = uuid.UUID(world.users["caseworker2"])
        db.session.commit()
        cases.approve_plan(user(world, "supervisor"), case, case.version)
        cases.request_closure(user(world, "caseworker"), case, "needs_met", None, case.version)
        cases.decide_closure(user(world, "supervisor"), case, False, case.version,
                             SENT_BACK_CANARY)
        ref = _referral(world)
        referrals.answer(user(world, "service_provider"), ref, referrals.ReferralAnswer(
            op=referrals.AnswerOp.DECLINE, note=DECLINE_CANARY, version=ref.version))
        referrals.create(user(world, "caseworker"), case, referrals.NewReferral(
            service_id=uuid.UUID(world.ids["mhpss"]), urgency=referrals.Urgency.URGENT,
            fields=("full_name",), message=CANARY["message"]))
    c = auth.login("caseworker")
    html = _page(c)
    assert sorted(_lines(html)) == sorted(
        f"Unread: {TEXTS[k]}: {number}"
        for k in (Kind.PLAN_APPROVED, Kind.CLOSURE_SENT_BACK, Kind.REFERRAL_ANSWERED))
    p = auth.login("service_provider")
    seen = _page(p)
    lines = _lines(seen)
    assert len(lines) == 2 and all(number not in line for line in lines)
    assert sorted(line.split(" · ")[0] for line in lines) == sorted([
        f"Unread: {TEXTS[Kind.REFERRAL_NEW_URGENT]}: Mental health and psychosocial support",
        f"Unread: {TEXTS[Kind.REFERRAL_NEW]}: Mental health and psychosocial support"])
    for who in ("caseworker", "caseworker2", "service_provider", "supervisor"):
        client = auth.login(who)
        for path in ("/notifications/", "/"):
            page = _page(client, path)
            leaked = [canary for canary in CANARIES if canary in page]
            assert leaked == [], (who, path, leaked)


def test_opening_marks_read_and_another_user_notification_is_404_audited(app: Flask, auth,
                                                                        world: World):
    sp = world.users["service_provider"]
    [theirs] = ids_of(app, sp)
    c = auth.login("caseworker")
    made_up = _open(auth, c, str(uuid.uuid4()))
    r = _open(auth, c, theirs)
    assert r.status_code == 404 and _plain(r) == _plain(made_up)
    denied = events(app, "notification.open", outcome="denied")
    assert str(denied[-1].object_id) == theirs and str(denied[-1].actor_id) == \
        world.users["caseworker"]
    p = auth.login("service_provider")
    assert bell(_page(p, "/")) == 1  # another's attempt marked nothing read
    r = _open(auth, p, theirs)
    assert r.status_code == 302
    assert r.location.endswith(f"/referrals/{world.ids['ref_mhpss']}")
    assert bell(_page(p, "/")) == 0
    assert "notification-unread" not in _page(p)
    assert [str(e.object_id) for e in events(app, "notification.open", outcome="allowed")] \
        == [theirs]


def test_mark_all_read(app: Flask, auth, world: World):
    _told_caseworker_of_case_and_referral(app, world)
    c = auth.login("caseworker")
    html = _page(c)
    assert bell(html) == 2 and html.count("notification-unread") == 2
    r = c.post("/notifications/read", data={"csrf_token": csrf_from(html)})
    assert r.status_code == 302
    html = _page(c)
    assert bell(html) == 0 and "notification-unread" not in html and len(_lines(html)) == 2
    assert bell(_page(auth.login("service_provider"), "/")) == 1  # others' untouched


def test_prune_keeps_and_deletes_as_the_service_says(app: Flask, world: World, frozen):
    now = frozen.now
    cw, cw2 = uuid.UUID(world.users["caseworker"]), uuid.UUID(world.users["caseworker2"])
    org, own = uuid.UUID(world.ids["org"]), uuid.UUID(world.ids["case_own"])
    day = timedelta(days=1)
    specs = {  # label: (user, created, read)
        "read_old": (cw, now - (notifications.KEEP_READ_DAYS + 1) * day, True),
        "read_young": (cw, now - (notifications.KEEP_READ_DAYS - 1) * day, True),
        "unread_young": (cw, now - (notifications.KEEP_DAYS - 1) * day, False),
        "unread_old": (cw, now - (notifications.KEEP_DAYS + 1) * day, False),
    }
    made: dict[str, uuid.UUID] = {}
    crowd: list[uuid.UUID] = []
    with app.app_context():
        for label, (who, created, read) in specs.items():
            n = Notification(user_id=who, organisation_id=org, kind="plan_approved",
                             object_type="case", object_id=own, created_at=created,
                             read_at=created if read else None)
            db.session.add(n)
            db.session.flush()
            made[label] = n.id
        for i in range(notifications.KEEP_PER_USER + 3):  # oldest first
            n = Notification(user_id=cw2, organisation_id=org, kind="plan_approved",
                             object_type="case", object_id=own,
                             created_at=now - timedelta(hours=notifications.KEEP_PER_USER + 3 - i))
            db.session.add(n)
            db.session.flush()
            crowd.append(n.id)
        db.session.commit()
        with transaction():
            removed = notifications.prune(now)
        left = set(db.session.scalars(select(Notification.id)))
    assert removed == 2 + 3
    assert made["read_young"] in left and made["unread_young"] in left
    assert made["read_old"] not in left and made["unread_old"] not in left
    assert [i for i in crowd if i not in left] == crowd[:3]
    assert len(left) == 2 + notifications.KEEP_PER_USER + 1  # and the world's own


# --- The clinical window scan ------------------------------------------------------------------

def _zone(world: World, name: str | None, org: str = "org") -> None:
    db.session.get(Organisation, uuid.UUID(world.ids[org])).time_zone = name
    db.session.commit()


def _scan(app: Flask, now: datetime) -> list[tuple[str, ...]]:
    """Run the timer's hook at ``now``; the notifications it added."""
    before = told(app)
    with app.app_context(), transaction():
        hooks.notification_due.emit(now=now)
    return _added(before, told(app))


def _rape(world: World, day: date, at: time | None) -> str:
    """A new case of the caseworker (the caseworker2 second) with a rape on ``day`` at
    ``at`` (local time; unknown when None); returns the case id."""
    case = survivor(world)
    case.secondary_worker_id = uuid.UUID(world.users["caseworker2"])
    db.session.commit()
    incident(world, case, core="rape", occurred=day, reported=date(2026, 11, 24), at=at,
             time_of_day="unknown" if at is None else "morning")
    return str(case.id)


def test_the_window_scan_tells_the_workers_once_in_the_last_12_hours(app: Flask,
                                                                       world: World):
    cw, cw2 = world.users["caseworker"], world.users["caseworker2"]
    with app.test_request_context():
        _zone(world, "Africa/Tripoli")  # UTC+2 all year
        closing = _rape(world, date(2026, 11, 22), time(8))   # ends 25 Nov 06:00 UTC: 10 h
        closed = _rape(world, date(2026, 11, 21), time(8))    # ended 24 Nov 06:00 UTC
        later = _rape(world, date(2026, 11, 22), time(20))    # ends 25 Nov 18:00 UTC: 22 h
    evening = datetime(2026, 11, 24, 20, tzinfo=UTC)
    assert _scan(app, evening - timedelta(hours=3)) == []  # 13 h left
    told_now = _scan(app, evening)
    assert told_now == sorted([(cw, "clinical_window_closing", "case", closing),
                               (cw2, "clinical_window_closing", "case", closing)])
    assert _scan(app, evening) == []                      # the timer runs again: told once
    assert _scan(app, evening + timedelta(hours=5)) == []
    assert _scan(app, datetime(2026, 11, 25, 7, tzinfo=UTC)) == sorted([
        (cw, "clinical_window_closing", "case", later),
        (cw2, "clinical_window_closing", "case", later)])
    assert closed not in {n[3] for n in told(app)}


@pytest.mark.parametrize(("zone", "now", "tells"), [
    # A rape on 22 November, time unknown: the window ends 72 h after the end of that day in
    # the organisation's zone: Tokyo 25 Nov 15:00 UTC, UTC 26 Nov 00:00, New York 26 Nov 05:00.
    ("Asia/Tokyo", datetime(2026, 11, 25, 4, tzinfo=UTC), True),        # 11 h left
    ("UTC", datetime(2026, 11, 25, 4, tzinfo=UTC), False),              # 20 h left
    ("America/New_York", datetime(2026, 11, 25, 14, tzinfo=UTC), False),  # 15 h left
    ("UTC", datetime(2026, 11, 25, 14, tzinfo=UTC), True),              # 10 h left
    ("Asia/Tokyo", datetime(2026, 11, 25, 16, tzinfo=UTC), False),      # ended an hour ago
])
def test_the_window_scan_counts_in_the_organisation_zone(app: Flask, world: World, zone: str,
                                                          now: datetime, tells: bool):
    with app.test_request_context():
        _zone(world, zone)
        case_id = _rape(world, date(2026, 11, 22), None)
    assert bool(_scan(app, now)) is tells
    assert all(n[3] == case_id for n in told(app) if n[1] == "clinical_window_closing")


def test_the_window_scan_covers_every_organisation_in_one_query(app: Flask, world: World):
    with app.test_request_context():
        _zone(world, "Africa/Tripoli")
        _zone(world, "Africa/Tripoli", "other_org")
        partner_id = account(world, "partner_worker", "caseworker", org="other_org",
                             sites=("partner_site",))
        partner = db.session.get(User, partner_id)
        theirs = cases.open_case(partner, db.session.get(Site, uuid.UUID(world.ids["partner_site"])),
                                 cases.IdentityInput(full_name="Partner Person", sex="female",
                                                     nationality_group="national",
                                                     displacement_status="idp",
                                                     disability="no", estimated_age=30))
        consent.record_consent(partner, theirs, kind="services", granted=True,
                               given_by="survivor", method="verbal")
        records.save_incident(partner, theirs, records.IncidentInput(
            incident_date=date(2026, 11, 22), reported_date=date(2026, 11, 24),
            location_type="camp_settlement", answers=gbvims.answered("penetration"),
            perpetrator_count="1", survivor_age_at_incident=30,
            perpetrators=(records.PerpetratorInput("male", "26_40", "other_community_member",
                                                   "unknown"),),
            time_of_day="morning", incident_time=time(8), displacement_stage="during_refuge"))
        ours = _rape(world, date(2026, 11, 22), time(8))
        theirs_id = str(theirs.id)
    statements: list[str] = []

    def watch(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", watch)
        try:
            added = _scan(app, datetime(2026, 11, 24, 20, tzinfo=UTC))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert added == sorted([
        (world.users["caseworker"], "clinical_window_closing", "case", ours),
        (world.users["caseworker2"], "clinical_window_closing", "case", ours),
        (str(partner_id), "clinical_window_closing", "case", theirs_id)])
    assert len([s for s in statements if re.search(r"\bFROM incidents\b", s)]) == 1
    with app.app_context():
        orgs = dict(db.session.execute(select(Notification.user_id, Notification.organisation_id)
                                       .where(Notification.kind == "clinical_window_closing")).all())
    assert str(orgs[partner_id]) == world.ids["other_org"]
    assert str(orgs[uuid.UUID(world.users["caseworker"])]) == world.ids["org"]
