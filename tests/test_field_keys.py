"""Intake keys of field capture (``app.field.keys``, ``flask field-key``): one per organisation
made on first use, rotated with envelopes in flight (the old key opens until it is retired),
retired for good (its data key shredded); the private half sealed at rest, never in the audit
trail, carried by KEK rotation and opened by ``flask keys verify --deep``."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.crypto import hpke
from app.crypto.models import DataKey
from app.db import db
from app.field import keys, sync
from app.field.models import FieldIntake, IntakeKey
from tests.helpers.apps import BACKEND, make_app
from tests.helpers.audit import events
from tests.helpers.crypto import copy_instance, sqlite_bytes
from tests.helpers.field_envelopes import DEVICE, at_ms, envelope_for, intake_fields, make_envelope


def _org(world):
    return uuid.UUID(world.ids["org"])


def _user(world, name="caseworker"):
    return db.session.get(User, uuid.UUID(world.users[name]))


def _count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _receive(app, world, envelope, name="caseworker"):
    with app.app_context():
        return sync.receive(_user(world, name), [envelope])[0]


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["field-key", *args])


def test_the_first_use_makes_one_key_and_later_uses_find_it(app, world):
    with app.app_context():
        first = keys.active_key(_org(world))
        again = keys.active_key(_org(world))
        assert again.id == first.id and len(first.public_key) == 65
        private = keys.private_for(first.id, _org(world))
        assert hpke.public_of(private) == bytes(first.public_key)  # the pair belongs together
        data_key = db.session.get(DataKey, first.data_key_id)
        assert data_key.purpose == "intake_key"
    made = events(app, "field.key_create")
    assert [(e.object_type, e.object_id, e.reason) for e in made] == [
        ("intake_key", str(first.id), "first_use")]
    assert _count(app, IntakeKey) == 1


def test_a_key_of_another_organisation_opens_nothing_here(app, world):
    with app.app_context():
        theirs = keys.active_key(uuid.UUID(world.ids["other_org"]))
        assert keys.private_for(theirs.id, _org(world)) is None
        assert keys.private_for(uuid.uuid4(), _org(world)) is None
        assert keys.active_key(_org(world)).id != theirs.id


def test_rotation_with_envelopes_in_flight_then_retirement(app, world, frozen):
    """An envelope sealed to the old key before a rotation still opens after it; once the old
    key is retired, the next such envelope is refused (``unknown_key``) and nothing opens it."""
    in_flight = [envelope_for(app, world, frozen.now) for _ in range(2)]
    with app.app_context():
        old = keys.active_key(_org(world))
        new = keys.rotate(_org(world))
        assert keys.active_key(_org(world)).id == new.id != old.id
        old_id = old.id
    assert _receive(app, world, in_flight[0]).status == "accepted"
    with app.app_context():
        keys.retire(db.session.get(IntakeKey, old_id))
    late = _receive(app, world, in_flight[1])
    assert (late.status, late.reason) == ("refused", "unknown_key")
    with app.app_context():
        retired = db.session.get(IntakeKey, old_id)
        assert retired.retired_at is not None and retired.private_key_sealed is None
        assert db.session.get(DataKey, retired.data_key_id).wrapped is None  # shredded
        assert keys.private_for(old_id, _org(world)) is None
        assert keys.active_key(_org(world)).id == new.id
        with pytest.raises(keys.IntakeKeyError):
            keys.retire(retired)
    gone = events(app, "field.key_retire")
    assert [(e.object_type, e.object_id, e.reason) for e in gone] == [
        ("intake_key", str(old_id), "retired")]
    # The new key takes envelopes as before.
    assert _receive(app, world, envelope_for(app, world, frozen.now)).status == "accepted"


def test_retiring_the_active_key_makes_a_new_one_at_the_next_use(app, world):
    with app.app_context():
        first = keys.active_key(_org(world))
        keys.retire(first)
        assert keys.active_key(_org(world)).id != first.id
    assert [e.reason for e in events(app, "field.key_create")] == ["first_use", "first_use"]


def test_the_command_line_lists_rotates_and_retires(app, world):
    listed = cli(app, "list")
    assert listed.exit_code == 0 and "No intake key yet" in listed.output
    rotated = cli(app, "rotate", "--organisation", "Test NGO")
    assert rotated.exit_code == 0, rotated.output
    with app.app_context():
        key = keys.active_key(_org(world))
        key_id, secret = key.id, keys.private_for(key.id, _org(world))
    assert str(key_id) in rotated.output
    listed = cli(app, "list", "--organisation", "Test NGO")
    assert listed.exit_code == 0 and str(key_id) in listed.output and "active" in listed.output
    for output in (rotated.output, listed.output):
        assert secret.hex() not in output
    assert cli(app, "retire", str(key_id)).exit_code == 0
    assert "retired" in cli(app, "list").output
    again = cli(app, "retire", str(key_id))
    assert again.exit_code != 0 and "retired already" in again.output
    unknown = cli(app, "retire", str(uuid.uuid4()))
    assert unknown.exit_code != 0 and "No intake key" in unknown.output
    nobody = cli(app, "rotate", "--organisation", "No Such NGO")
    assert nobody.exit_code != 0 and "No organisation named" in nobody.output
    assert [e.reason for e in events(app, "field.key_create")] == ["rotation"]


# --- At rest --------------------------------------------------------------------------------

def _secrets(app, world, frozen):
    """A key and an intake with a canary, and the forms the private scalar could take."""
    tag = uuid.uuid4().hex[:10]
    envelope = envelope_for(app, world, frozen.now, **{"person-full_name": f"Canary {tag}",
                                                      "incident-narrative": f"story-{tag}"})
    assert _receive(app, world, envelope).status == "accepted"
    with app.app_context():
        key = keys.active_key(_org(world))
        scalar = keys.private_for(key.id, _org(world))
    return tag, [scalar, scalar.hex().encode(), scalar.hex().upper().encode()]


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite file bytes")
def test_the_private_key_and_the_payload_are_not_in_the_database_file(app, world, frozen):
    tag, forms = _secrets(app, world, frozen)
    data = sqlite_bytes(app)
    assert b"intake_keys" in data and b"field_intakes" in data  # the right file
    assert [f for f in forms if f in data] == []
    assert tag.encode() not in data


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump of the PostgreSQL test database")
def test_the_private_key_and_the_payload_are_not_in_a_pg_dump(app, world, frozen):
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed for the PostgreSQL proof at rest")
    tag, forms = _secrets(app, world, frozen)
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", url.database],
                          capture_output=True, check=True, timeout=120).stdout
    assert b"COPY public.intake_keys" in dump and b"COPY public.field_intakes" in dump
    assert [f for f in forms if f in dump] == []
    assert tag.encode() not in dump


def test_the_private_key_and_the_payload_are_not_in_the_audit_trail(app, world, frozen):
    tag, forms = _secrets(app, world, frozen)
    with app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        text = " ".join(str(getattr(e, c.name)) for e in rows for c in AuditEvent.__table__.columns)
    assert tag not in text and forms[1].decode() not in text.lower()


# --- The key checks -------------------------------------------------------------------------

def test_deep_verify_opens_intake_keys_and_intakes_and_reports_a_damaged_one(app, world, frozen):
    _secrets(app, world, frozen)
    clean = app.test_cli_runner().invoke(args=["keys", "verify", "--deep"])
    assert clean.exit_code == 0, clean.output
    with app.app_context():
        intake = db.session.execute(select(FieldIntake)).scalar_one()
        table = FieldIntake.__table__
        blob = intake.payload_sealed
        db.session.execute(sa.update(table).where(table.c.id == intake.id).values(
            payload_sealed=blob[:-1] + bytes([blob[-1] ^ 1])))
        db.session.commit()
        intake_id = intake.id
    result = app.test_cli_runner().invoke(args=["keys", "verify", "--deep"])
    assert result.exit_code == 3, result.output
    assert f"field_intakes {intake_id} does_not_open (payload:auth_failed)" in result.stdout


def test_kek_rotation_carries_the_intake_key_and_the_intakes(db_uri, instance_dir, tmp_path,
                                                            world, frozen):
    """After ``flask keys rotate`` and retiring KEK 1 (its file deleted), the intake key still
    opens envelopes sealed before, and the kept intake still opens."""
    inst = copy_instance(instance_dir, tmp_path)
    app = make_app(db_uri, inst)
    envelope = envelope_for(app, world, frozen.now)
    kept = envelope_for(app, world, frozen.now - timedelta(hours=1))
    assert _receive(app, world, kept).status == "accepted"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    assert runner.invoke(args=["keys", "retire", "1"]).exit_code == 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    (inst / "keys" / "kek_1.key").unlink()
    fresh = make_app(db_uri, inst)
    assert _receive(fresh, world, envelope).status == "accepted"
    with fresh.app_context():
        payloads = db.session.execute(select(FieldIntake)).scalars().all()
        assert len(payloads) == 2 and all("Amira Field" in p.payload for p in payloads)
        db.session.remove()
        db.engine.dispose()


def test_an_envelope_sealed_to_a_key_is_bound_to_it(app, world, frozen):
    """The same ciphertext named with another unretired key of the organisation: tampered."""
    with app.app_context():
        old = keys.active_key(_org(world))
        old_id, public = str(old.id), bytes(old.public_key)
        new_id = str(keys.rotate(_org(world)).id)
    sid, uid = str(uuid.uuid4()), world.users["caseworker"]
    env = make_envelope(public, old_id, uid, DEVICE, at_ms(frozen.now), sid, intake_fields())
    swapped = make_envelope(public, new_id, uid, DEVICE, at_ms(frozen.now), sid, intake_fields())
    result = _receive(app, world, swapped)
    assert (result.status, result.reason) == ("refused", "tampered")
    assert _receive(app, world, env).status == "accepted"
