"""The per-record sealer (``app.crypto.sealed.Sealer``): what it caches (the data key's entry
and each field's associated-data head, never a value) can never outlive the key, and the stored
form it writes and reads is the documented one, byte for byte."""

from __future__ import annotations

import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update

from app.crypto.envelope import forget_unwrapped, is_unwrapped, shred, unwrap
from app.crypto.errors import KeyDestroyedError
from app.crypto.sealed import FORMAT, TEXT, Sealer, aad, open_value, sealer_of
from app.db import db
from tests.helpers.crypto import Specimen, with_tables

PRESENT = b"full_name,phone"


@pytest.fixture
def sapp(app):
    return with_tables(app)


def _make(app, name: str = "Sealer Canary Huda") -> uuid.UUID:
    with app.app_context():
        s = Specimen(full_name=name, phone="0915552222")
        db.session.add(s)
        db.session.commit()
        return s.id


def _forget_values(record: Specimen) -> None:
    """Drop the plaintext a record keeps of the values it read, so the next read opens again."""
    record.__dict__.pop("_amana_plain", None)


def test_a_shred_stops_the_sealer_a_record_already_holds(sapp):
    sid = _make(sapp)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        assert s.full_name == "Sealer Canary Huda"  # the record now holds a working sealer
        sealer = sealer_of(s, "specimens")
        shred(s.data_key, object_type="specimen", object_id=s.id, reason="erasure_request")
        _forget_values(s)
        assert sealer_of(s, "specimens") is sealer  # the same sealer, kept on the record
        with pytest.raises(KeyDestroyedError):
            _ = s.phone
        with pytest.raises(KeyDestroyedError):
            s.phone = "0915553333"
        db.session.rollback()


def test_a_sealer_kept_beyond_its_app_context_cannot_open_after_a_shred(sapp):
    """A sealer (or a record holding one) kept after its request ended asks for the key again:
    a key shredded since then does not open through what it held."""
    sid = _make(sapp)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        assert s.full_name == "Sealer Canary Huda"
        sealer = sealer_of(s, "specimens")
        blob, version = s.full_name_sealed, s.version
    where = {"field": "full_name", "version": version, "present": PRESENT}
    with sapp.app_context():  # a later request: the key still opens, unwrapped again
        assert open_value(TEXT, blob, sealer=sealer, **where) == "Sealer Canary Huda"
    with sapp.app_context():  # another request erases the record
        s = db.session.get(Specimen, sid)
        shred(s.data_key, object_type="specimen", object_id=s.id, reason="erasure_request")
        db.session.commit()
    with sapp.app_context(), pytest.raises(KeyDestroyedError):
        open_value(TEXT, blob, sealer=sealer, **where)


def test_forgetting_unwrapped_keys_reaches_the_sealers(sapp):
    sid = _make(sapp)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        assert s.full_name == "Sealer Canary Huda"
        forget_unwrapped()
        assert not is_unwrapped(s.data_key_id)
        _forget_values(s)
        assert s.phone == "0915552222"  # opened again through a newly unwrapped key
        assert is_unwrapped(s.data_key_id)


def test_the_stored_form_is_the_documented_one(sapp):
    """Format byte, nonce, then AES-256-GCM under the record's data key with the associated data
    of ``aad`` (format byte first): what the model writes opens by hand, and the reverse."""
    sid = _make(sapp)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        key, kid, version = unwrap(s.data_key), s.data_key_id, s.version
        blob = s.full_name_sealed
        where = FORMAT + aad("specimens", "full_name", sid, kid, version, PRESENT)
        assert blob[:1] == FORMAT and len(blob) == 1 + 12 + 32 + 16
        assert TEXT.decode(AESGCM(key).decrypt(blob[1:13], blob[13:], where)) == (
            "Sealer Canary Huda")
        nonce = os.urandom(12)
        by_hand = FORMAT + nonce + AESGCM(key).encrypt(nonce, TEXT.encode("By Hand"), where)
        fresh = Sealer("specimens", sid, kid)
        assert open_value(TEXT, by_hand, sealer=fresh, field="full_name", version=version,
                          present=PRESENT) == "By Hand"
        db.session.execute(update(Specimen).where(Specimen.id == sid)
                           .values(full_name_sealed=by_hand))
        db.session.commit()
    with sapp.app_context():
        assert db.session.get(Specimen, sid).full_name == "By Hand"
        assert db.session.execute(select(Specimen.version).where(Specimen.id == sid)
                                  ).scalar_one() == version


def test_a_record_given_another_data_key_gets_another_sealer(sapp):
    sid = _make(sapp)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        first = sealer_of(s, "specimens")
        other = Specimen(full_name="Other Record")
        s.data_key, s.data_key_id = other.data_key, other.data_key_id
        second = sealer_of(s, "specimens")
        assert second is not first and second.data_key_id == other.data_key_id
        db.session.rollback()


@pytest.mark.parametrize("version", [-1, 2 ** 64, "1", None, 1.0])
def test_a_version_no_record_can_have_is_a_refusal_not_a_crash(sapp, version):
    """``open_value`` names an impossible version as a failure to open (audited), whatever its
    kind: never an ``OverflowError`` or ``TypeError`` escaping to the page."""
    from app.crypto.errors import DecryptionError

    sid = _make(sapp)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        blob = s.full_name_sealed
        with pytest.raises(DecryptionError) as err:
            open_value(TEXT, blob, "full_name", version, PRESENT, Sealer("specimens", sid,
                                                                         s.data_key_id))
        assert err.value.reason == "full_name:bad_version"
