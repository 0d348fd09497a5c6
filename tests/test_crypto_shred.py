"""Crypto-shredding: destroying a record's data key makes every copy of its sealed values
unreadable, with every KEK, removes its blind-index entries and leaves only a tombstone."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.crypto.aead import SealError
from app.crypto.blind_index import PERSON_NAME, candidate_ids
from app.crypto.envelope import shred
from app.crypto.errors import KeyDestroyedError
from app.crypto.keyring import keyring
from app.crypto.models import BlindIndexEntry, DataKey
from app.crypto.sealed import aad
from app.crypto.search import find
from app.db import db
from tests.helpers.apps import BACKEND
from tests.helpers.audit import events
from tests.helpers.crypto import Specimen, with_tables

CANARY = "Shredded Canary Nour"


@pytest.fixture
def sapp(app):
    return with_tables(app)


def _make(app, name, phone):
    with app.app_context():
        s = Specimen(full_name=name, phone=phone, narrative=f"{name} told us everything")
        db.session.add(s)
        db.session.commit()
        return s.id


def test_shred_makes_a_saved_copy_unreadable_even_with_every_kek(sapp):
    victim = _make(sapp, CANARY, "0915550000")
    keeper = _make(sapp, "Keeper Record", "0915551111")
    with sapp.app_context():
        s = db.session.get(Specimen, victim)
        copy = {c.key: getattr(s, c.key) for c in Specimen.__table__.columns}  # a "backup"
        wrapped_before = s.data_key.wrapped
        assert candidate_ids(PERSON_NAME, CANARY, "specimens") == [victim]
        shred(s.data_key, object_type="specimen", object_id=s.id, reason="erasure_request")
        db.session.commit()

    with sapp.app_context():
        # Put the saved copy back in place: it still cannot be read.
        db.session.execute(update(Specimen).where(Specimen.id == victim).values(
            {k: v for k, v in copy.items() if k != "id"}))
        db.session.commit()
        s = db.session.get(Specimen, victim)
        with pytest.raises(KeyDestroyedError):
            _ = s.full_name
        key_row = db.session.get(DataKey, copy["data_key_id"])
        assert key_row.wrapped is None and key_row.destroyed_at is not None
        # No KEK opens a field directly (fields are under the data key, which is gone) ...
        ring = keyring()
        for version in ring.provider.versions():
            for field in ("full_name", "narrative"):
                where = aad("specimens", field, victim, copy["data_key_id"], copy["version"],
                            b"full_name,narrative,phone")
                with pytest.raises(SealError):
                    ring.provider.unwrap(version, copy[f"{field}_sealed"], where)
        # ... and the blind index forgets the record; other records are untouched.
        assert candidate_ids(PERSON_NAME, CANARY, "specimens") == []
        assert find(select(Specimen), full_name="keeper record")[0].id == keeper
        assert db.session.execute(select(BlindIndexEntry).where(
            BlindIndexEntry.owner_id == victim)).first() is None
    assert [e.reason for e in events(sapp, "crypto.decrypt_failed")] == ["destroyed"]

    tomb = events(sapp, "keys.shred")
    assert [(e.object_type, e.object_id, e.reason, e.outcome) for e in tomb] == [
        ("specimen", str(victim), "erasure_request", "allowed")]
    with sapp.app_context():
        every = " ".join(str(getattr(e, c.name)) for e in db.session.execute(
            select(AuditEvent)).scalars() for c in AuditEvent.__table__.columns)
    assert "Canary" not in every and "0915550000" not in every

    if BACKEND == "sqlite":
        # secure_delete: the old wrapped key is not left in the file's free space.
        with sapp.app_context():
            path = Path(sa.make_url(str(db.engine.url)).database)
            db.session.remove()
            db.engine.dispose()  # the last connection to close checkpoints the WAL
        data = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            data += wal.read_bytes()
        assert wrapped_before not in data


def test_shred_is_in_the_callers_transaction(sapp):
    victim = _make(sapp, "Rolled Back", None)
    with sapp.app_context():
        s = db.session.get(Specimen, victim)
        shred(s.data_key, object_type="specimen", object_id=s.id, reason="erasure_request")
        db.session.rollback()
    with sapp.app_context():
        assert db.session.get(Specimen, victim).full_name == "Rolled Back"
    assert events(sapp, "keys.shred") == []


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write-ahead log")
def test_shred_leaves_no_wrapped_key_in_the_main_file_while_the_server_runs(sapp):
    """A running server keeps its connections open, so the WAL is not checkpointed by closing
    them: the shred itself must move the new page into the main file and empty the log."""
    victim = _make(sapp, CANARY, None)
    with sapp.app_context():
        path = Path(sa.make_url(str(db.engine.url)).database)
        s = db.session.get(Specimen, victim)
        wrapped = s.data_key.wrapped
        db.session.remove()
        with db.engine.connect() as conn:  # the key is in the main file, as after any checkpoint
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert wrapped in path.read_bytes()
        s = db.session.get(Specimen, victim)
        shred(s.data_key, object_type="specimen", object_id=s.id, reason="erasure_request")
        db.session.commit()
        # No dispose(): the pool's connections stay open, as in a server.
        assert wrapped not in path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wrapped not in wal.read_bytes()
        db.session.remove()


def test_a_rolled_back_shred_does_not_checkpoint_later_commits(sapp, monkeypatch):
    from app.crypto import envelope

    calls = []
    monkeypatch.setattr(envelope, "checkpoint_wal", lambda engine: calls.append(1) or True)
    victim = _make(sapp, "Kept Record", None)
    with sapp.app_context():
        s = db.session.get(Specimen, victim)
        shred(s.data_key, object_type="specimen", object_id=s.id, reason="erasure_request")
        db.session.rollback()
        db.session.commit()
    assert calls == []
