"""Sealed fields: every kind round-trips, the stored form is sealed and bound to its place, and
anything tampered with or moved fails closed and is audited."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.auth.policy import authenticated
from app.crypto import sealed
from app.crypto.errors import DecryptionError, KeyDestroyedError
from app.crypto.models import DataKey
from app.db import db
from tests.helpers.audit import events
from tests.helpers.crypto import Specimen, with_tables


@pytest.fixture
def sapp(app):
    return with_tables(app)


TEXTS = [
    "Fatima Ali",
    "فَاطِمَة بِنْت عَلِيّ",  # Arabic with harakat
    "Амина 👩🏽‍⚕️ نور 🌙 ✨",  # Cyrillic, emoji with skin tone and ZWJ, Arabic
    "",
    "a" * 200,
]


def _make(app, **values) -> uuid.UUID:
    with app.app_context():
        s = Specimen(**values)
        db.session.add(s)
        db.session.commit()
        return s.id


def _read(app, sid, field):
    with app.app_context():
        return getattr(db.session.get(Specimen, sid), field)


def _raw(app, sid, column):
    with app.app_context():
        return db.session.execute(select(getattr(Specimen, column)).where(Specimen.id == sid)).scalar_one()


def _set_raw(app, sid, **columns):
    with app.app_context():
        db.session.execute(update(Specimen).where(Specimen.id == sid).values(**columns))
        db.session.commit()


@pytest.mark.parametrize("text", TEXTS)
def test_text_round_trip(sapp, text):
    sid = _make(sapp, full_name=text)
    assert _read(sapp, sid, "full_name") == text  # a fresh app context: unwrapped again
    blob = _raw(sapp, sid, "full_name_sealed")
    assert blob[:1] == b"\x02"
    if text:
        assert text.encode() not in blob


def test_every_kind_round_trips(sapp):
    story = "بدأت القصة في طرابلس. " * 2000 + "🌙 end"
    sid = _make(sapp, full_name="Aisha", phone="+218 91 234 5678", date_of_birth=date(1990, 2, 28),
                narrative=story, visits=12)
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        assert (s.full_name, s.phone, s.date_of_birth, s.narrative, s.visits) == (
            "Aisha", "+218 91 234 5678", date(1990, 2, 28), story, 12)
        assert isinstance(s.date_of_birth, date) and isinstance(s.visits, int)


def test_none_is_null_and_changes_are_resealed(sapp):
    sid = _make(sapp, full_name="Mariam")
    assert _read(sapp, sid, "phone") is None and _raw(sapp, sid, "phone_sealed") is None
    before = _raw(sapp, sid, "full_name_sealed")
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        s.full_name = "Mariam"
        db.session.commit()
    assert _raw(sapp, sid, "full_name_sealed") != before  # fresh nonce on every write
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        s.full_name = None
        db.session.commit()
    assert _read(sapp, sid, "full_name") is None


def test_bad_input_is_refused_without_echoing_it(sapp):
    with sapp.app_context():
        s = Specimen()
        with pytest.raises(TypeError):
            s.date_of_birth = "1990-01-01"  # type: ignore[assignment]
        with pytest.raises(TypeError):
            s.visits = True  # type: ignore[assignment]
        with pytest.raises(ValueError) as err:
            s.full_name = "SECRETNAME" * 30
        assert "SECRETNAME" not in str(err.value)


def test_stored_form_hides_length_and_differs_for_equal_values(sapp):
    a = _make(sapp, full_name="Ali")
    b = _make(sapp, full_name="Ali")
    c = _make(sapp, full_name="Fatima Zahra")
    ra, rb, rc = (_raw(sapp, x, "full_name_sealed") for x in (a, b, c))
    assert ra != rb and ra[1:13] != rb[1:13]  # different nonces, different ciphertexts
    assert len(ra) == len(rc) == 1 + 12 + 32 + 16  # padded to a 32-byte block


def test_nonces_are_unique_over_10000_seals(sapp):
    with sapp.app_context():
        s = Specimen()
        nonces = set()
        for _ in range(10_000):
            blob = sealed.seal_value(sealed.TEXT, "same value", table="specimens",
                                     field="full_name", record_id=s.id, data_key_id=s.data_key_id,
                                     version=1, present=b"full_name")
            nonces.add(blob[1:13])
        db.session.rollback()
    assert len(nonces) == 10_000


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]


TAMPER = {
    "format": lambda b: b"\x03" + b[1:],
    "old_format": lambda b: b"\x01" + b[1:],  # the format before versions: refused
    "nonce": lambda b: _flip(b, 5),
    "ciphertext": lambda b: _flip(b, 20),
    "tag": lambda b: _flip(b, len(b) - 1),
    "truncated": lambda b: b[:20],
    "empty": lambda b: b"",
    "short": lambda b: b[:8],  # not even a nonce
    "appended": lambda b: b + b"\x00",
}


@pytest.mark.parametrize("how", sorted(TAMPER))
def test_tampered_value_fails_closed_and_is_audited(sapp, how):
    sid = _make(sapp, full_name="Canary Tamper")
    _set_raw(sapp, sid, full_name_sealed=TAMPER[how](_raw(sapp, sid, "full_name_sealed")))
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        with pytest.raises(DecryptionError) as err:
            _ = s.full_name
        assert "Canary" not in str(err.value) and str(sid) in str(err.value)
    # The context is gone: its teardown wrote the event in a transaction of its own.
    found = events(sapp, "crypto.decrypt_failed")
    reason = {"format": "unknown_format", "truncated": "unknown_format",
              "empty": "unknown_format", "short": "unknown_format",
              "old_format": "old_format"}.get(how, "auth_failed")
    assert [(e.object_type, e.object_id, e.outcome, e.reason) for e in found] == [
        ("specimens", str(sid), "error", f"full_name:{reason}")]


def test_value_swapped_between_records_fails(sapp):
    a = _make(sapp, full_name="Record A")
    b = _make(sapp, full_name="Record B")
    _set_raw(sapp, b, full_name_sealed=_raw(sapp, a, "full_name_sealed"))
    with sapp.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(Specimen, b).full_name


def test_value_swapped_between_records_sharing_a_key_fails(sapp):
    with sapp.app_context():
        a = Specimen(full_name="Shared A")
        b = Specimen(data_key=a.data_key, full_name="Shared B")
        db.session.add_all([a, b])
        db.session.commit()
        assert a.data_key_id == b.data_key_id
        ids = a.id, b.id
    _set_raw(sapp, ids[1], full_name_sealed=_raw(sapp, ids[0], "full_name_sealed"))
    with sapp.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(Specimen, ids[1]).full_name


def test_value_swapped_between_fields_and_tables_fails(sapp):
    sid = _make(sapp, full_name="Field Swap", phone="0912345678")
    _set_raw(sapp, sid, phone_sealed=_raw(sapp, sid, "full_name_sealed"))
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        assert s.full_name == "Field Swap"
        with pytest.raises(DecryptionError):
            _ = s.phone
        blob = s.full_name_sealed
        with pytest.raises(DecryptionError):
            sealed.open_value(sealed.TEXT, blob, table="other_table", field="full_name",
                              record_id=s.id, data_key_id=s.data_key_id, version=s.version,
                              present=b"full_name,phone")


def test_value_moved_to_another_data_key_fails(sapp):
    a = _make(sapp, full_name="Key A")
    b = _make(sapp, full_name="Key B")
    with sapp.app_context():
        key_b = db.session.get(Specimen, b).data_key_id
    _set_raw(sapp, a, data_key_id=key_b)
    with sapp.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(Specimen, a).full_name


@pytest.mark.parametrize("where", [5, 30, -1])
def test_tampered_wrapped_key_fails_closed_and_is_audited(sapp, where):
    sid = _make(sapp, full_name="Wrapped")
    with sapp.app_context():
        key = db.session.get(Specimen, sid).data_key
        key.wrapped = _flip(key.wrapped, where % len(key.wrapped))
        key_id = key.id
        db.session.commit()
    with sapp.app_context(), pytest.raises(DecryptionError) as err:
        _ = db.session.get(Specimen, sid).full_name
    assert not isinstance(err.value, KeyDestroyedError)
    assert [(e.object_type, e.object_id, e.reason) for e in events(sapp, "crypto.decrypt_failed")] \
        == [("data_key", str(key_id), "unwrap_failed")]


def test_wrapped_key_moved_to_another_key_row_fails(sapp):
    a, b = _make(sapp, full_name="A"), _make(sapp, full_name="B")
    with sapp.app_context():
        ka = db.session.get(Specimen, a).data_key
        kb = db.session.get(Specimen, b).data_key
        kb.wrapped = ka.wrapped
        db.session.commit()
    with sapp.app_context(), pytest.raises(DecryptionError):
        _ = db.session.get(Specimen, b).full_name


def test_failure_in_a_request_is_audited_although_the_request_fails(sapp, auth, world):
    def show(sid):
        s = db.session.get(Specimen, sid)
        s.label = "changed by the failing request"
        return {"name": s.full_name}

    sapp.add_url_rule("/_test/specimen/<uuid:sid>", "test_specimen", authenticated(show))
    sid = _make(sapp, full_name="Canary Request", label="kept")
    _set_raw(sapp, sid, full_name_sealed=TAMPER["tag"](_raw(sapp, sid, "full_name_sealed")))
    c = auth.login("caseworker")
    r = c.get(f"/_test/specimen/{sid}")
    assert r.status_code == 500
    assert b"Canary" not in r.data and b"\x01" not in r.data
    assert _raw(sapp, sid, "label") == "kept"  # the request's own writes were rolled back
    found = events(sapp, "crypto.decrypt_failed")
    assert len(found) == 1
    assert str(found[0].actor_id) == world.users["caseworker"]
    assert found[0].actor_role == "caseworker" and found[0].request_id
    # Reading the good value works in the same app afterwards.
    _set_raw(sapp, sid, full_name_sealed=None)
    assert c.get(f"/_test/specimen/{sid}").status_code == 200


def test_missing_data_key_row_fails_closed(sapp):
    with sapp.app_context(), pytest.raises(DecryptionError):
        sealed.open_value(sealed.TEXT, b"\x02" + b"\x00" * 40, table="specimens", field="x",
                          record_id=uuid.uuid4(), data_key_id=uuid.uuid4(), version=1,
                          present=b"x")
    assert [e.reason for e in events(sapp, "crypto.decrypt_failed")] == ["missing"]


def test_data_key_rows_hold_only_wrapped_keys(sapp):
    sid = _make(sapp, full_name="Wrapped Only")
    with sapp.app_context():
        s = db.session.get(Specimen, sid)
        from app.crypto.envelope import unwrap

        raw = unwrap(s.data_key)
        row = db.session.get(DataKey, s.data_key_id)
        assert len(raw) == 32 and raw not in row.wrapped and row.kek_version == 1
        assert row.purpose == "specimens"
        text = " ".join(str(getattr(e, c.name)) for e in db.session.execute(
            select(AuditEvent)).scalars() for c in AuditEvent.__table__.columns)
        assert "Wrapped Only" not in text
