"""Uploading sealed field envelopes (``POST /field/sync``, ``app.field.sync``): an envelope that
opens becomes one pending intake of its uploader with every field kept; a retry, a copy, a
tampered byte, another account's envelope, an old or future one, a retired or foreign key and
anything not of the agreed shape are answered as designed, audited, and keep nothing."""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import date, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import gbvims
from app.db import db
from app.field import keys, payload, sync
from app.field.models import FieldIntake
from app.localtime import zone
from tests.helpers.audit import events
from tests.helpers.field_envelopes import (
    DEVICE,
    at_ms,
    b64url,
    envelope_for,
    intake_fields,
    make_envelope,
    organisation_key,
    unb64url,
)


def _intakes(app) -> list[FieldIntake]:
    with app.app_context():
        return list(db.session.execute(select(FieldIntake)).scalars())


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(FieldIntake)).scalar_one()


def receive(app, world, *envelopes: Any, name: str = "caseworker") -> list[tuple[str, str]]:
    with app.app_context():
        user = db.session.get(User, uuid.UUID(world.users[name]))
        return [(r.status, r.reason) for r in sync.receive(user, list(envelopes))]


def signed_in(auth, name: str = "caseworker") -> tuple[Any, str]:
    client = auth.login(name)
    status = client.get("/field/sync")
    assert status.status_code == 200 and status.headers["Cache-Control"] == "no-store"
    return client, status.get_json()["csrf_token"]


def upload(client, token: str | None, *envelopes: Any, body: Any = None) -> Any:
    headers = {"X-CSRFToken": token} if token else {}
    return client.post("/field/sync", json={"envelopes": list(envelopes)} if body is None
                       else body, headers=headers)


def sync_events(app) -> list[AuditEvent]:
    return events(app, "field.sync")


# --- Accepted -------------------------------------------------------------------------------

def test_an_envelope_becomes_one_pending_intake_with_every_field(app, auth, world, frozen):
    client, token = signed_in(auth)
    assert client.get("/field/sync").get_json()["pending"] == 0
    sent = intake_fields("penetration", **{"person-full_name": "سارة الحقل",
                                           "incident-perpetrator_count": None})
    kid, public = organisation_key(app, world)
    sid = str(uuid.uuid4())
    made = frozen.now - timedelta(hours=5, milliseconds=250)
    env = make_envelope(public, kid, world.users["caseworker"], DEVICE, at_ms(made), sid, sent)
    frozen.advance(seconds=1)
    resp = upload(client, token, env)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    [answer] = resp.get_json()["results"]
    assert answer["sid"] == sid and answer["status"] == "accepted" and answer["reason"] == ""
    assert "Field intakes" in answer["message"]
    [intake] = _intakes(app)
    assert (intake.user_id, intake.organisation_id) == (uuid.UUID(world.users["caseworker"]),
                                                        uuid.UUID(world.ids["org"]))
    assert (intake.status, intake.submission_id, intake.device_id) == ("pending",
                                                                      uuid.UUID(sid), DEVICE)
    assert intake.captured_at == made and intake.received_at == frozen.now
    assert intake.intake_key_id == uuid.UUID(kid) and intake.urgent is True
    # Rape on 22 November at 09:30 in Tripoli: 72 hours from then.
    assert intake.window_ends_at == gbvims.clinical_window_end(
        date(2026, 11, 22), at=time(9, 30), part="morning", zone=zone("Africa/Tripoli"))
    with app.app_context():
        kept = db.session.get(FieldIntake, intake.id)
        fields = payload.fields_of(kept)
        forms = payload.read(kept)
        posted = payload.with_capture_date(kept, MultiDict({payload.REPORTED_DATE: "2020-1-1"}))
    for name, value in sent.items():
        assert fields.getlist(name) == [value], name
    assert forms.person.full_name.data == "سارة الحقل"
    assert forms.consent.shares()["health_medical"] is True
    assert forms.incident.reported_date.data == date(2026, 11, 24)  # the capture date, there
    assert posted.getlist(payload.REPORTED_DATE) == ["2026-11-24"]  # whatever was posted
    assert forms.urgency.urgent.data is True
    assert forms.errors == {"incident-perpetrator_count": forms.errors[
        "incident-perpetrator_count"]}  # the one field left out: shown at review
    assert client.get("/field/sync").get_json()["pending"] == 1
    [event] = sync_events(app)
    assert (event.object_type, event.object_id, event.outcome, event.reason) == (
        "field_intake", str(intake.id), "allowed", "accepted")
    assert str(event.actor_id) == world.users["caseworker"]


def test_no_window_without_a_rape_and_no_urgency_unticked(app, world, frozen):
    env = envelope_for(app, world, frozen.now, urgent=None)
    assert receive(app, world, env) == [("accepted", "")]
    [intake] = _intakes(app)
    assert intake.window_ends_at is None and intake.urgent is False


def test_fields_that_fail_the_rules_are_kept_and_shown_at_review(app, world, frozen):
    env = envelope_for(app, world, frozen.now, **{"consent-services": "no",
                                                  "incident-incident_date": "2027-01-01",
                                                  "incident-physical": None})
    assert receive(app, world, env) == [("accepted", "")]
    with app.app_context():
        forms = payload.read(db.session.execute(select(FieldIntake)).scalar_one())
    assert {"consent-services", "incident-incident_date", "incident-physical"} <= set(
        forms.errors)


# --- Twice ----------------------------------------------------------------------------------

def test_the_same_envelope_twice_makes_one_intake(app, auth, world, frozen):
    client, token = signed_in(auth)
    env = envelope_for(app, world, frozen.now)
    first = upload(client, token, env, env).get_json()["results"]
    again = upload(client, token, env).get_json()["results"]
    assert [r["status"] for r in first + again] == ["accepted", "duplicate", "duplicate"]
    assert _count(app) == 1
    kept = str(_intakes(app)[0].id)
    assert [(e.object_id, e.reason) for e in sync_events(app)] == [
        (kept, "accepted"), (kept, "duplicate"), (kept, "duplicate")]


def test_a_retry_after_the_key_was_retired_is_still_a_duplicate(app, world, frozen):
    env = envelope_for(app, world, frozen.now)
    assert receive(app, world, env) == [("accepted", "")]
    with app.app_context():
        keys.retire(keys.usable(uuid.UUID(env["kid"]), uuid.UUID(world.ids["org"])))
    assert receive(app, world, env) == [("duplicate", "")]
    assert receive(app, world, envelope_for(app, world, frozen.now))[0][0] == "accepted"


def _race(app, world, env) -> list[str]:
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def send() -> None:
        try:
            with app.app_context():
                user = db.session.get(User, uuid.UUID(world.users["caseworker"]))
                _ = user.organisation_id
                db.session.rollback()  # end the read (SQLite: it would hold the lock)
                start.wait(timeout=30)
                outcomes.append(sync.receive(user, [env])[0].status)
                db.session.remove()
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return sorted(outcomes)


def test_two_uploads_of_one_envelope_at_once_make_one_intake(app, world, frozen):
    env = envelope_for(app, world, frozen.now)
    assert _race(app, world, env) == ["accepted", "duplicate"]
    assert _count(app) == 1


def test_an_upload_that_loses_the_race_to_the_unique_id_answers_duplicate(app, world, frozen,
                                                                          monkeypatch):
    """Both passed the early look-up before either committed: the unique submission id
    refuses the second insert, which is rolled back and answered ``duplicate``."""
    env = envelope_for(app, world, frozen.now)
    assert receive(app, world, env) == [("accepted", "")]
    real = sync._existing
    calls: list[str] = []

    def blind_first(sid: str):
        calls.append(sid)
        return None if len(calls) == 1 else real(sid)

    monkeypatch.setattr(sync, "_existing", blind_first)
    assert receive(app, world, env) == [("duplicate", "")]
    assert len(calls) == 2 and _count(app) == 1


# --- Refused --------------------------------------------------------------------------------

def _refused_alone(app, world, env, reason: str, name: str = "caseworker") -> None:
    before = len(sync_events(app))
    assert receive(app, world, env, name=name) == [("refused", reason)]
    assert _count(app) == 0
    [event] = sync_events(app)[before:]
    assert (event.outcome, event.reason, event.object_id) == ("denied", reason, None)
    assert str(event.actor_id) == world.users[name]
    assert env.get("sid", "-") not in " ".join(str(v) for v in vars(event).values())


def _flip(text: str, at: int = 10) -> str:
    raw = bytearray(unb64url(text))
    raw[at] ^= 1
    return b64url(bytes(raw))


@pytest.mark.parametrize("change", ["ct", "enc", "at", "sid", "did", "uid_self"])
def test_a_changed_byte_or_bound_field_does_not_open(app, world, frozen, change):
    env = envelope_for(app, world, frozen.now)
    bad = dict(env)
    if change in ("ct", "enc"):
        bad[change] = _flip(env[change], 30 if change == "enc" else 10)
    elif change == "at":
        bad["at"] = env["at"] - 1
    elif change == "sid":
        bad["sid"] = str(uuid.uuid4())
    elif change == "did":
        bad["did"] = "another-device-0000"
    else:  # a colleague takes the envelope and binds it to herself
        bad["uid"] = world.users["caseworker2"]
        _refused_alone(app, world, bad, "tampered", name="caseworker2")
        return
    _refused_alone(app, world, bad, "tampered")


def test_another_users_envelope_is_refused(app, world, frozen):
    env = envelope_for(app, world, frozen.now)
    _refused_alone(app, world, env, "other_user", name="caseworker2")
    assert receive(app, world, env) == [("accepted", "")]


def test_a_submission_id_of_another_user_is_refused(app, world, frozen):
    mine = envelope_for(app, world, frozen.now)
    assert receive(app, world, mine) == [("accepted", "")]
    kid, public = organisation_key(app, world)
    theirs = make_envelope(public, kid, world.users["caseworker2"], DEVICE, mine["at"],
                           mine["sid"], intake_fields())
    assert receive(app, world, theirs, name="caseworker2") == [("refused", "other_user")]
    assert _count(app) == 1


@pytest.mark.parametrize(("age", "days", "outcome"), [
    (timedelta(days=7, minutes=1), None, "expired"),
    (timedelta(days=6, hours=23), None, ""),
    (timedelta(days=3), 2, "expired"),
    (timedelta(days=1), 2, ""),
    (-timedelta(minutes=11), None, "expired"),
    (-timedelta(minutes=9), None, ""),
])
def test_too_old_or_in_the_future_is_refused(app, world, frozen, age, days, outcome):
    if days:
        app.config["FIELD_INTAKE_MAX_AGE_DAYS"] = days
    env = envelope_for(app, world, frozen.now - age)
    if outcome:
        _refused_alone(app, world, env, outcome)
    else:
        assert receive(app, world, env) == [("accepted", "")]


def test_a_key_of_no_one_or_of_another_organisation_is_unknown(app, world, frozen):
    uid, now = world.users["caseworker"], at_ms(frozen.now)
    with app.app_context():
        theirs = keys.active_key(uuid.UUID(world.ids["other_org"]))
        kid, public = str(theirs.id), bytes(theirs.public_key)
    foreign = make_envelope(public, kid, uid, DEVICE, now, str(uuid.uuid4()), intake_fields())
    _refused_alone(app, world, foreign, "unknown_key")
    nobody = make_envelope(public, str(uuid.uuid4()), uid, DEVICE, now, str(uuid.uuid4()),
                           intake_fields())
    _refused_alone(app, world, nobody, "unknown_key")


def test_a_plaintext_that_is_not_a_submission_is_malformed(app, world, frozen):
    from app.crypto import hpke
    from tests.helpers.field_envelopes import INFO, aad

    kid, public = organisation_key(app, world)
    uid, sid, now = world.users["caseworker"], str(uuid.uuid4()), at_ms(frozen.now)
    for plaintext in (b'{"fields": {"person-full_name": 3}}', b"[1, 2]", b"\xff\xfe",
                      b'{"fields": {"a": "' + b"y" * 70_000 + b'"}}'):
        enc, ct = hpke.seal(public, info=INFO, aad=aad(kid, uid, DEVICE, now, sid),
                            plaintext=plaintext)
        env = {"v": 1, "kid": kid, "sid": sid, "uid": uid, "did": DEVICE, "at": now,
               "enc": b64url(enc), "ct": b64url(ct)}
        assert receive(app, world, env) == [("refused", "malformed")], plaintext[:20]
    assert _count(app) == 0


def _malformed_variants(env: dict[str, Any]) -> list[Any]:
    out: list[Any] = [None, [], "envelope", {}, {**env, "extra": 1}]
    out += [{k: v for k, v in env.items() if k != key} for key in env]
    for key, value in (("v", "1"), ("v", 2), ("v", True), ("at", float(env["at"])),
                       ("at", True), ("at", -1), ("at", 10**20), ("uid", env["uid"].upper()),
                       ("sid", "not-a-uuid"), ("kid", None), ("did", "short"),
                       ("did", "x" * 65), ("did", "has space in it!!"), ("enc", env["enc"] + "="),
                       ("enc", env["enc"][:-2]), ("enc", "!!" + env["enc"][2:]),
                       ("ct", "A"), ("ct", env["ct"] + "==="), ("ct", ""),
                       ("ct", "A" * 400_000), ("ct", ["x"])):
        out.append({**env, key: value})
    return out


def test_envelopes_not_of_the_agreed_shape_are_malformed(app, world, frozen):
    env = envelope_for(app, world, frozen.now)
    variants = _malformed_variants(env)
    answers = receive(app, world, *variants[:20]) + receive(app, world, *variants[20:])
    assert answers == [("refused", "malformed")] * len(variants)
    assert _count(app) == 0
    assert receive(app, world, env) == [("accepted", "")]  # the original was fine


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(sorted(sync.MEMBERS)),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.text(max_size=80), st.lists(st.integers(), max_size=3)),
                       max_size=8),
       st.booleans())
def test_fuzzed_members_are_malformed_and_keep_nothing(app, world, frozen, members, keep_rest):
    if "fuzz_base" not in app.extensions:  # one valid envelope per app, made once
        app.extensions["fuzz_base"] = envelope_for(app, world, frozen.now)
    base = app.extensions["fuzz_base"]
    env = {**(copy.deepcopy(base) if keep_rest else {}), **members}
    assume(env != base)
    [(status, reason)] = receive(app, world, env)
    assert status == "refused" and reason in sync.REASONS
    assert _count(app) == 0


# --- The HTTP side --------------------------------------------------------------------------

def test_without_a_session_a_token_or_json_nothing_is_kept(app, auth, world, frozen, client):
    env = envelope_for(app, world, frozen.now)
    anonymous = client.get("/field/sync")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "signed_out"
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    resp = upload(client, token, env)
    assert resp.status_code == 401 and resp.get_json()["error"] == "signed_out"
    c, token = signed_in(auth)
    no_token = upload(c, None, env)
    assert no_token.status_code == 403 and no_token.get_json()["error"] == "csrf"
    wrong = upload(c, "not-the-token", env)
    assert wrong.status_code == 403 and wrong.is_json
    as_form = c.post("/field/sync", data={"envelopes": "[]", "csrf_token": token})
    assert as_form.status_code == 400 and as_form.get_json()["error"] == "malformed"
    for body in ([env], {"envelope": [env]}, {"envelopes": env}):
        bad = upload(c, token, body=body)
        assert bad.status_code == 400 and bad.get_json()["error"] == "malformed", body
    broken = c.post("/field/sync", data=b'{"envelopes": [', content_type="application/json",
                    headers={"X-CSRFToken": token})
    assert broken.status_code == 400 and broken.is_json
    many = upload(c, token, *[env] * 21)
    assert many.status_code == 400 and many.get_json()["error"] == "too_many"
    assert _count(app) == 0
    assert [e.reason for e in sync_events(app)] == ["malformed"] * 5 + ["too_many"]
    assert upload(c, token, env).get_json()["results"][0]["status"] == "accepted"


def test_a_role_without_case_creation_gets_json_403(app, auth):
    client = auth.login("auditor")
    resp = client.get("/field/sync")
    assert resp.status_code == 403 and resp.is_json and "auth/login" not in resp.get_data(
        as_text=True)


def test_an_oversized_body_is_refused_as_json(app, auth, world, frozen):
    app.config["FIELD_SYNC_MAX_BYTES"] = 1024
    client, token = signed_in(auth)
    resp = upload(client, token, envelope_for(app, world, frozen.now))
    assert resp.status_code == 413 and resp.get_json()["error"] == "http_413"
    assert _count(app) == 0


def test_uploads_are_limited_per_user(app, auth, world, frozen):
    app.config["FIELD_SYNC_LIMIT"] = "2 per minute"
    client, token = signed_in(auth)
    assert upload(client, token).status_code == 200
    assert upload(client, token).status_code == 200
    limited = upload(client, token, envelope_for(app, world, frozen.now))
    assert limited.status_code == 429 and limited.get_json()["error"] == "sync_limit"
    assert _count(app) == 0 and sync_events(app)[-1].reason == "sync_limit"
    other, other_token = signed_in(auth, "caseworker2")
    assert upload(other, other_token).status_code == 200  # per user, not for everyone


def test_every_answer_says_what_happened_in_a_sentence(app, auth, world, frozen):
    """One answer per envelope, in order, each with its sentence (translated through
    ``_l``/``ngettext``; the Arabic is in /work/notes until merged)."""
    client, token = signed_in(auth)
    envs = [envelope_for(app, world, frozen.now), {"v": 1},
            envelope_for(app, world, frozen.now - timedelta(days=30))]
    envs.insert(1, envs[0])
    answers = upload(client, token, *envs).get_json()["results"]
    assert [(a["status"], a["reason"]) for a in answers] == [
        ("accepted", ""), ("duplicate", ""), ("refused", "malformed"), ("refused", "expired")]
    assert len({a["message"] for a in answers}) == 4
    assert "older than 7 days" in answers[3]["message"]
    assert answers[2]["sid"] is None and answers[0]["sid"] == envs[0]["sid"]


def test_a_session_half_signed_in_or_held_at_a_page_gets_json(app, auth, world):
    """Before the second step: 401 (sign in again); an account that must first change its
    password: 403 (open Amana in the browser); never a redirect to a page."""
    from tests.helpers.forms import csrf_from
    from tests.helpers.login import PASSWORD

    half = app.test_client()
    page = half.get("/auth/login").get_data(as_text=True)
    half.post("/auth/login", data={"username": "caseworker", "password": PASSWORD,
                                   "csrf_token": csrf_from(page)})
    resp = half.get("/field/sync")
    assert resp.status_code == 401 and resp.get_json()["error"] == "signed_out"
    client = auth.login("caseworker")
    with app.app_context():
        db.session.get(User, uuid.UUID(world.users["caseworker"])).must_change_password = True
        db.session.commit()
    held = client.get("/field/sync")
    assert held.status_code == 403 and held.get_json()["error"] == "account_action_needed"


def test_the_proxy_lets_twenty_of_the_largest_envelopes_through(app):
    """nginx's limit for ``/field/sync`` holds the app's, which holds twenty envelopes of the
    longest ciphertext the app accepts."""
    import re
    from pathlib import Path

    from app.field import settings as field_settings

    conf = (Path(__file__).resolve().parent.parent / "deploy" / "nginx-amana.conf").read_text()
    found = re.search(r"location = /field/sync \{[^}]*client_max_body_size (\d+)m;", conf)
    assert found is not None
    limit = app.config["FIELD_SYNC_MAX_BYTES"]
    assert int(found.group(1)) * 1024 * 1024 >= limit
    assert limit >= field_settings.MAX_ENVELOPES * (field_settings.CT_MAX_CHARS + 300)


def test_the_settings_are_read_and_a_bad_value_stops_the_start(monkeypatch, tmp_path):
    from app.config import ConfigError, build_config

    monkeypatch.setenv("AMANA_FIELD_INTAKE_MAX_AGE_DAYS", "3")
    monkeypatch.setenv("AMANA_FIELD_SYNC_LIMIT", "5 per minute")
    cfg = build_config("testing", tmp_path, keys=False)
    assert (cfg["FIELD_INTAKE_MAX_AGE_DAYS"], cfg["FIELD_SYNC_LIMIT"]) == (3, "5 per minute")
    for name, bad in (("AMANA_FIELD_INTAKE_MAX_AGE_DAYS", "0"),
                      ("AMANA_FIELD_INTAKE_MAX_AGE_DAYS", "a week"),
                      ("AMANA_FIELD_SYNC_LIMIT", "lots")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(ConfigError, match=name):
            build_config("testing", tmp_path, keys=False)
        monkeypatch.delenv(name)


def test_an_erased_case_is_taken_off_its_intake_and_a_replay_keeps_nothing(app, world, frozen):
    """The case an intake became is erased: the intake stays, detached, so the same envelope
    sent again is a duplicate and nothing erased comes back."""
    from sqlalchemy import update

    from app.cases import service
    from app.cases.models import Case

    env = envelope_for(app, world, frozen.now)
    assert receive(app, world, env) == [("accepted", "")]
    case_id = uuid.UUID(world.ids["case_own"])
    with app.app_context():  # as the review does when it opens the case
        db.session.execute(update(FieldIntake).values(case_id=case_id, status="opened"))
        db.session.commit()
        supervisor = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        service.erase(supervisor, db.session.get(Case, case_id), "survivor_request")
        db.session.commit()
    [intake] = _intakes(app)
    assert intake.case_id is None and intake.status == "opened"
    assert receive(app, world, env) == [("duplicate", "")]
    assert _count(app) == 1
