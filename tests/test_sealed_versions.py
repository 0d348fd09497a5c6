"""Sealed values are bound to their record's version: a value put back from an older version of
the same record (a survivor's previous phone number, copied from an older backup of the row)
fails closed and is audited, as does emptying one value; every write of a sealed record is
recorded with its new version; racing saves still fail as stale."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from app.audit.actions import Action
from app.cases.models import Case, FollowUp
from app.crypto.errors import DecryptionError
from app.crypto.fields import open_saved
from app.db import db
from app.safe_space.models import WgssSession
from tests.helpers.audit import events, unlocked
from tests.helpers.crypto import Specimen, with_tables


def _raw(app, model, rid, column):
    table = model.__table__
    with app.app_context():
        return db.session.execute(sa.select(table.c[column]).where(table.c.id == rid)).scalar_one()


def _put_back(app, model, rid, **columns):
    """What someone with write access to the database does (no app code involved)."""
    table = model.__table__
    with app.app_context():
        db.session.execute(sa.update(table).where(table.c.id == rid).values(**columns))
        db.session.commit()


def _edit(app, model, rid, **values):
    with app.app_context():
        row = db.session.get(model, rid)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()
        return row.version


def _read(app, model, rid, name):
    with app.app_context():
        return getattr(db.session.get(model, rid), name)


def _failures(app, rid):
    return [(e.object_type, e.reason, e.outcome) for e in events(app, "crypto.decrypt_failed")
            if e.object_id == str(rid)]


@pytest.mark.parametrize("field", ["phone", "safe_contact"])
def test_an_older_value_of_a_case_field_put_back_does_not_open(app, world, field):
    cid = uuid.UUID(world.ids["case_own"])
    _edit(app, Case, cid, **{field: "Old value 0911111111"})
    old = _raw(app, Case, cid, f"{field}_sealed")
    _edit(app, Case, cid, **{field: "New value 0922222222"})
    _put_back(app, Case, cid, **{f"{field}_sealed": old})  # the older backup's ciphertext
    with app.app_context(), pytest.raises(DecryptionError) as err:
        _ = getattr(db.session.get(Case, cid), field)
    assert "0911111111" not in str(err.value)
    assert _failures(app, cid) == [("case", f"{field}:auth_failed", "error")]
    # The other fields of the record still open.
    assert _read(app, Case, cid, "full_name") == "Zainab Canaryqx"


def test_an_older_value_on_a_follow_up_put_back_does_not_open(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    with app.app_context():
        case = db.session.get(Case, cid)
        visit = FollowUp(case_id=cid, due_on=date(2026, 12, 1), notes="Visit at the clinic",
                         recorded_by_id=uuid.UUID(world.users["caseworker"]),
                         data_key=case.data_key)
        db.session.add(visit)
        db.session.commit()
        vid, first = visit.id, visit.version
    old = _raw(app, FollowUp, vid, "notes_sealed")
    assert _edit(app, FollowUp, vid, notes="Moved to her sister's house") == first + 1
    _put_back(app, FollowUp, vid, notes_sealed=old)
    with app.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(FollowUp, vid).notes
    assert _failures(app, vid) == [("follow_up", "notes:auth_failed", "error")]


def test_an_older_value_of_session_notes_put_back_does_not_open(app, world):
    from tests.helpers.safe_space import insert_session

    sid = uuid.UUID(insert_session(app, world, notes="First notes"))
    old = _raw(app, WgssSession, sid, "notes_sealed")
    _edit(app, WgssSession, sid, notes="Second notes")
    _put_back(app, WgssSession, sid, notes_sealed=old)
    with app.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(WgssSession, sid).notes
    assert _failures(app, sid) == [("wgss_session", "notes:auth_failed", "error")]


def test_emptying_a_value_makes_the_records_other_values_fail(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    _put_back(app, Case, cid, safe_contact_sealed=None, phone_sealed=None)
    with app.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(Case, cid).full_name


def test_a_failed_save_does_not_seal_a_spliced_value_again(app, world):
    """Saving another field of a record whose value was spliced fails: the flush opens every
    value before sealing it under the new version, so a splice is never laundered."""
    cid = uuid.UUID(world.ids["case_own"])
    _edit(app, Case, cid, phone="0911111111")
    old = _raw(app, Case, cid, "phone_sealed")
    version = _edit(app, Case, cid, phone="0922222222")
    _put_back(app, Case, cid, phone_sealed=old)
    with pytest.raises(DecryptionError):
        _edit(app, Case, cid, location="Somewhere else")
    with app.app_context():
        assert db.session.get(Case, cid).version == version
    assert _raw(app, Case, cid, "phone_sealed") == old


def test_every_write_is_recorded_with_the_new_version(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    with app.app_context():
        before = db.session.get(Case, cid).version
    after = _edit(app, Case, cid, alias="Another alias")
    assert after == before + 1
    _edit(app, Case, cid, status="assessment")  # a clear column: every value sealed again
    writes = [e.reason for e in events(app, Action.RECORD_WRITE.value)
              if e.object_id == str(cid)]
    assert writes[-2:] == [f"v{after}", f"v{after + 1}"]
    with app.app_context():
        saved = dict(db.session.execute(sa.select(Case.__table__).where(
            Case.__table__.c.id == cid)).mappings().one())
        assert saved["version"] == after + 1
        assert open_saved(Case, "alias", saved) == "Another alias"
        assert saved["alias_sealed"][:1] == b"\x02"


def test_a_value_set_twice_and_flushed_in_between_opens(app):
    sapp = with_tables(app)
    with sapp.app_context():
        s = Specimen(full_name="One", phone="0910000000")
        db.session.add(s)
        db.session.flush()
        s.full_name = "Two"
        db.session.flush()
        s.phone = None
        s.narrative = "Three"
        db.session.commit()
        sid = s.id
        assert s.version == 3
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        assert (s.full_name, s.phone, s.narrative) == ("Two", None, "Three")


def test_racing_updates_still_raise_stale_data(app, world):
    cid = uuid.UUID(world.ids["case_own"])
    with app.app_context():
        mine = db.session.get(Case, cid)  # a copy loaded before someone else saved
        _ = mine.full_name, mine.data_key
        db.session.expunge(mine)
        db.session.rollback()  # (SQLite: let the other writer in)
        theirs = _edit(app, Case, cid, alias="Saved first elsewhere")
        db.session.add(mine)
        mine.alias = "Saved second here"
        with pytest.raises(StaleDataError):
            db.session.commit()
        db.session.rollback()
    assert _read(app, Case, cid, "alias") == "Saved first elsewhere"
    with app.app_context():
        assert db.session.get(Case, cid).version == theirs


def test_a_sealed_model_must_be_versioned():
    from sqlalchemy.orm import DeclarativeBase

    from app.crypto.fields import SealedRecord, SealedText
    from app.db import UUIDPrimaryKey

    class Base(DeclarativeBase):
        metadata = sa.MetaData()

    with pytest.raises(TypeError, match="not Versioned"):
        class Unversioned(SealedRecord, UUIDPrimaryKey, Base):
            __tablename__ = "unversioned"
            name = SealedText()


# Migration 0011 on a database as it was before it: values in format 0x01 (no version), five
# sealed tables without a version column.
NEWLY_VERSIONED = ("follow_ups", "case_notes", "case_status_changes", "break_glass_grants",
                   "referral_events")


def _seal_v1(table, field, rid, kid, plain):
    """Format 0x01 as the code before migration 0011 wrote it."""
    import os

    from app.crypto.envelope import cipher

    nonce = os.urandom(12)
    aad = b"\x01amana/field|v1|" + f"{table}|{field}|".encode() + rid.bytes + kid.bytes
    return b"\x01" + nonce + cipher(kid).encrypt(nonce, plain, aad)


def _back_to_0010(app):
    """Rewrite every sealed value of the test world in format 0x01 and drop the new columns.
    Returns {(table, id, field): plaintext bytes}."""
    from flask_migrate import stamp

    from app.crypto.deep import sealed_models
    from app.crypto.sealed import open_bytes

    plain = {}
    with app.app_context():
        for model in sealed_models():
            table, name = model.__table__, model.__tablename__
            for row in db.session.execute(sa.select(table)).mappings().all():
                present = ",".join(n for n, c in model.__sealed_order__ if row[c] is not None)
                values = {}
                for field, column in model.__sealed_order__:
                    if row[column] is None:
                        continue
                    raw = open_bytes(row[column], table=name, field=field, record_id=row["id"],
                                     data_key_id=row["data_key_id"], version=row["version"],
                                     present=present.encode())
                    plain[(name, row["id"], field)] = raw
                    values[column] = _seal_v1(name, field, row["id"], row["data_key_id"], raw)
                if values:
                    db.session.execute(sa.update(table).where(table.c.id == row["id"])
                                       .values(values))
        for name in NEWLY_VERSIONED:
            db.session.execute(sa.text(f"ALTER TABLE {name} DROP COLUMN version"))
        db.session.commit()
        db.session.remove()
        stamp(revision="0010")
    return plain


def test_migration_0011_reseals_every_value_and_refuses_the_old_format(app, world):
    from flask_migrate import stamp, upgrade

    from app.crypto.deep import sealed_models

    plain = _back_to_0010(app)
    cid = uuid.UUID(world.ids["case_own"])
    old_phone = _raw(app, Case, cid, "phone_sealed")
    # One value damaged before the upgrade: left as it is, audited, and reported afterwards.
    rid = uuid.UUID(world.ids["ref_mhpss"])
    from app.referrals.models import Referral

    damaged = _raw(app, Referral, rid, "message_sealed")
    _put_back(app, Referral, rid, message_sealed=damaged[:-1] + bytes([damaged[-1] ^ 1]))
    with app.app_context():
        writes_before = len(events(app, Action.RECORD_WRITE.value))
        upgrade(revision="0011")
        stamp(revision="head")  # later migrations ran already in this copy
    assert _failures(app, rid) == [("referral", "message:auth_failed", "error")]

    records = 0
    with app.app_context():
        for model in sealed_models():
            table = model.__table__
            for row in db.session.execute(sa.select(table)).mappings().all():
                records += 1
                assert row["version"] >= 1
                for field, column in model.__sealed_order__:
                    if row[column] is None or (model.__tablename__, field) == ("referrals",
                                                                               "message"):
                        continue
                    assert row[column][:1] == b"\x02"
                    value = open_saved(model, field, row)
                    codec = model.__sealed_fields__[field].codec
                    assert codec.encode(value) == plain[(model.__tablename__, row["id"], field)]
        assert db.session.get(Case, cid).phone == "+218 91 333 0202"
    # One baseline write per sealed record, naming its version.
    assert len(events(app, Action.RECORD_WRITE.value)) == writes_before + records

    # A value written before the migration (format 0x01) is refused now.
    _put_back(app, Case, cid, phone_sealed=old_phone)
    with app.app_context(), pytest.raises(DecryptionError) as err:
        _ = db.session.get(Case, cid).phone
    assert err.value.reason == "phone:old_format"

    result = app.test_cli_runner().invoke(args=["keys", "verify", "--deep"])
    assert result.exit_code == 3
    found = sorted(line for line in result.stdout.splitlines() if "does_not_open" in line)
    assert found == sorted([f"cases {cid} does_not_open (phone:old_format)",
                            f"referrals {rid} does_not_open (message:old_format)"])


def test_migration_0011_cannot_be_undone(app):
    import click
    from flask_migrate import downgrade

    # Migration 0022 refuses first while events sit on several audit chains (PostgreSQL): put
    # the trail on one chain, so that the refusal met is 0011's own.
    with unlocked(app) as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE chain <> 0"))
    with app.app_context(), pytest.raises(click.ClickException, match="cannot be undone"):
        downgrade(revision="0010")
