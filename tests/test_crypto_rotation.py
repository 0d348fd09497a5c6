"""Key rotation and retirement: re-wrapping only data keys, resumable, audited, and nothing
becomes unreadable; retirement refuses while anything still needs the old key."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select, update

from app.auth import mfa
from app.auth.models import User
from app.crypto import rotation
from app.crypto.aead import SealError, derive_key, open_sealed, seal
from app.crypto.keyring import keyring
from app.crypto.models import DataKey, KekVersion
from app.db import db
from app.keyfiles import ensure_instance, key_path
from tests.helpers.apps import make_app
from tests.helpers.audit import events
from tests.helpers.crypto import Specimen, copy_instance, private_app
from tests.helpers.login import Auth


@pytest.fixture
def inst(instance_dir, tmp_path):
    return copy_instance(instance_dir, tmp_path)


@pytest.fixture
def papp(db_uri, inst, frozen):
    yield from private_app(db_uri, inst)


def keys(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


def _populate(app, n=25):
    with app.app_context():
        rows = [Specimen(full_name=f"Person {i}", phone=f"09{i:08d}", narrative="story " * i)
                for i in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return {r.id: (r.full_name_sealed, r.phone_sealed, r.narrative_sealed) for r in rows}


def _total(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(DataKey)).scalar_one()


def _versions(app):
    with app.app_context():
        return dict(db.session.execute(select(DataKey.kek_version, func.count())
                                       .group_by(DataKey.kek_version)).all())


def _all_open(app, blobs):
    with app.app_context():
        for sid, before in blobs.items():
            s = db.session.get(Specimen, sid)
            assert (s.full_name_sealed, s.phone_sealed, s.narrative_sealed) == before  # untouched
            assert s.full_name.startswith("Person ")


def test_rotate_then_retire_keeps_everything_readable(papp, inst, world, frozen):
    base = _total(papp)  # the test world's own keys (account secrets, any seeded records)
    blobs = _populate(papp)
    refused = keys(papp, "retire", "1")
    assert refused.exit_code != 0 and "active version" in refused.output
    result = keys(papp, "rotate", "--batch-size", "7")
    assert result.exit_code == 0, result.output
    assert "KEK version 2 created" in result.output and "Done: every data key" in result.output
    new_file = key_path("kek_2", inst)
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    assert new_file.read_text().startswith("amana-key v1 development ")
    assert _versions(papp) == {2: base + len(blobs)}
    _all_open(papp, blobs)

    retired = keys(papp, "retire", "1")
    assert retired.exit_code == 0, retired.output
    assert [e.reason for e in events(papp, "keys.rotate")] == ["new_version", "rewrapped"]
    assert [e.reason for e in events(papp, "keys.retire")] == ["retired"]
    assert [e.reason for e in events(papp, "keys.verify")] == ["all_open"]

    # Destroy KEK 1, as retire advises: nothing needs it, and nothing makes a new one.
    key_path("kek_1", inst).unlink()
    assert ensure_instance(inst, environment="testing") == []
    assert not key_path("kek_1", inst).exists()
    fresh = make_app(papp.config["SQLALCHEMY_DATABASE_URI"], inst)
    with fresh.app_context():
        assert keyring().active_version == 2 and keyring().usable_versions() == {2}
    _all_open(fresh, blobs)
    Auth(fresh, world, frozen).login("caseworker")  # TOTP secrets open too
    with fresh.app_context():
        db.session.remove()
        db.engine.dispose()


def test_interrupted_rotation_resumes(papp, inst, monkeypatch):
    blobs = _populate(papp, 30)
    total = _total(papp)
    real = rotation.rewrap_batch
    calls = []

    def flaky(active, batch_size, after):
        calls.append(1)
        if len(calls) == 3:
            # Half a batch written, then the operator presses Ctrl+C: it must be rolled back.
            db.session.execute(update(DataKey).where(DataKey.kek_version == 1)
                               .values(kek_version=active, wrapped=b"half-done"))
            raise KeyboardInterrupt
        return real(active, batch_size, after)

    monkeypatch.setattr(rotation, "rewrap_batch", flaky)
    result = keys(papp, "rotate", "--batch-size", "5")
    assert result.exit_code == 1 and "Interrupted" in result.output
    assert _versions(papp) == {2: 10, 1: total - 10}
    with papp.app_context():
        assert db.session.execute(select(func.count()).where(DataKey.wrapped == b"half-done")
                                  ).scalar_one() == 0
    refused = keys(papp, "retire", "1")
    assert refused.exit_code != 0 and f"still wraps {total - 10}" in refused.output
    assert [e.outcome for e in events(papp, "keys.retire")] == ["denied"]

    monkeypatch.setattr(rotation, "rewrap_batch", real)
    again = keys(papp, "rotate", "--batch-size", "5")
    assert again.exit_code == 0, again.output
    assert f"Resuming: {total - 10} data key(s)" in again.output
    assert not key_path("kek_3", inst).exists()
    assert _versions(papp) == {2: total}
    _all_open(papp, blobs)
    assert keys(papp, "retire", "1").exit_code == 0


def test_rotation_reports_a_key_that_does_not_open(papp):
    blobs = _populate(papp, 5)
    victim = next(iter(blobs))
    with papp.app_context():
        key = db.session.get(Specimen, victim).data_key
        key.wrapped = key.wrapped[:-1] + bytes([key.wrapped[-1] ^ 1])
        key_id = key.id
        db.session.commit()
    result = keys(papp, "rotate")
    assert result.exit_code == 1 and "do not open" in result.output
    assert _versions(papp) == {2: _total(papp) - 1, 1: 1}
    assert {(e.object_type, e.object_id) for e in events(papp, "crypto.decrypt_failed")} == {
        ("data_key", str(key_id))}
    assert keys(papp, "retire", "1").exit_code != 0
    check = keys(papp, "verify")
    assert check.exit_code == 1 and "1 data key(s) do not open" in check.output
    assert [e.outcome for e in events(papp, "keys.verify")] == ["error", "error"]


def test_rotation_enrols_a_key_prepared_in_the_environment(db_uri, inst, frozen, monkeypatch):
    import base64
    import os

    monkeypatch.setenv("AMANA_KEY_KEK_2", base64.urlsafe_b64encode(os.urandom(32)).decode())
    gen = private_app(db_uri, inst)
    app = next(gen)
    blobs = _populate(app, 3)
    total = _total(app)
    with app.app_context():
        assert keyring().active_version == 1  # present but not enrolled: not used yet
    result = keys(app, "rotate")
    assert result.exit_code == 0, result.output
    assert not key_path("kek_2", inst).exists()
    assert _versions(app) == {2: total}
    _all_open(app, blobs)
    monkeypatch.setenv("AMANA_KEY_KEK_2", base64.urlsafe_b64encode(os.urandom(32)).decode())
    wrong = make_app(db_uri, inst)
    with pytest.raises(Exception, match="version 2 does not match"):
        from app.crypto.keyring import check_keyring
        check_keyring(wrong)
    gen.close()


def test_account_secrets_sealed_under_kek_1_move_on_rotation(papp, world, frozen):
    with papp.app_context():
        user = db.session.get(User, __import__("uuid").UUID(world.users["caseworker"]))
        secret = mfa.secret_of(user)
        legacy = derive_key(papp.config["KEY_KEK_1"], "totp-secret")
        user.totp_secret_sealed = seal(legacy, secret.encode(), f"users|{user.id}|totp_secret".encode())
        db.session.commit()
        assert mfa.secret_of(user) == secret  # the old form still opens
    result = keys(papp, "rotate")
    assert result.exit_code == 0 and "Moved 1 account secret" in result.output
    with papp.app_context():
        user = db.session.get(User, user.id)
        with pytest.raises(SealError):
            open_sealed(legacy, user.totp_secret_sealed, f"users|{user.id}|totp_secret".encode())
        assert mfa.secret_of(user) == secret
        assert db.session.get(KekVersion, 2) is not None


def test_pinned_active_version_refuses_rotation(db_uri, inst, frozen):
    app = make_app(db_uri, inst, KEK_ACTIVE_VERSION=1)
    result = keys(app, "rotate")
    assert result.exit_code == 1 and "pins version 1" in result.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
