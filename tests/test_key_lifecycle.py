"""Key lifecycle with servers running: every new data key is wrapped under the version the
database says is active (read in the wrapping transaction, not remembered by the process), so
servers that keep running through ``keys rotate`` and ``keys retire`` lose nothing; retiring
refuses while anything is still wrapped under the version, even a key being committed at that
moment; and production starts without a retired KEK's file."""

from __future__ import annotations

import shutil
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.config import ConfigError
from app.crypto.envelope import new_data_key, unwrap
from app.crypto.keychecks import check_keys
from app.crypto.keyring import check_keyring, keyring
from app.crypto.models import DataKey, KekVersion
from app.crypto.rotation import RotationError, retire
from app.db import db
from app.keyfiles import KEY_NAMES, key_path
from tests.helpers.apps import BACKEND, make_app
from tests.helpers.crypto import Specimen, copy_instance, create_tables


@pytest.fixture
def inst(instance_dir, tmp_path):
    return copy_instance(instance_dir, tmp_path)


def keys(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


def _server(db_uri, instance):
    """One app server (its own engine, keyring and process-level state), as gunicorn runs it."""
    app = make_app(db_uri, instance)
    create_tables(app)
    return app


def _stop(*apps):
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _create(app, name):
    with app.app_context():
        s = Specimen(full_name=name)
        db.session.add(s)
        db.session.commit()
        return s.id, s.data_key.kek_version


def _versions(app):
    with app.app_context():
        return dict(db.session.execute(
            select(DataKey.kek_version, func.count()).where(DataKey.wrapped.is_not(None))
            .group_by(DataKey.kek_version)).all())


def _names(app, ids):
    with app.app_context():
        return {db.session.get(Specimen, i).full_name for i in ids}


def test_servers_running_through_rotate_and_retire_keep_every_record_readable(db_uri, inst, frozen):
    one, two = _server(db_uri, inst), _server(db_uri, inst)
    made = [_create(one, "Made Before"), _create(two, "Made Before Too")]
    assert {v for _, v in made} == {1}
    # The operator rotates and retires through the second server (its CLI); the first server
    # keeps running and keeps creating records.
    assert keys(two, "rotate").exit_code == 0
    retired = keys(two, "retire", "1")
    assert retired.exit_code == 0, retired.output
    made += [_create(one, "Made After"), _create(two, "Made After Too")]
    assert [v for _, v in made[2:]] == [2, 2]  # never under the retired version
    assert set(_versions(one)) == {2}
    # KEK 1 is destroyed, as `retire` advises; both servers restart.
    key_path("kek_1", inst).unlink()
    _stop(one, two)
    for _ in range(2):
        restarted = make_app(db_uri, inst)
        check_keyring(restarted)
        assert _names(restarted, [i for i, _ in made]) == {
            "Made Before", "Made Before Too", "Made After", "Made After Too"}
        assert not key_path("kek_1", inst).exists()  # and no new kek_1 was made in its place
        _stop(restarted)


def test_a_server_without_the_new_active_key_fails_closed(db_uri, inst, tmp_path, frozen):
    """Two hosts with instance folders of their own: the rotation made kek_2 on host B only, so
    host A cannot wrap under the active version and refuses (nothing written) until it has it."""
    host_b = tmp_path / "host_b"
    shutil.copytree(inst, host_b)
    a, b = _server(db_uri, inst), _server(db_uri, host_b)
    _create(a, "Before Rotation")
    assert keys(b, "rotate").exit_code == 0
    before = _versions(a)
    with a.app_context(), pytest.raises(ConfigError) as err:
        db.session.add(Specimen(full_name="Refused"))
    assert "version 2 is active in the database but missing here" in err.value.message
    assert _versions(a) == before
    shutil.copy2(key_path("kek_2", host_b), key_path("kek_2", inst))  # the key reaches host A
    assert _create(a, "After The Key Arrived")[1] == 2  # no restart needed
    _stop(a, b)


def test_retire_refuses_while_anything_is_wrapped_under_the_version(db_uri, inst, frozen):
    app = _server(db_uri, inst)
    sid, _ = _create(app, "Still Under One")
    with app.app_context():
        # A second version is enrolled but nothing re-wrapped yet (an interrupted rotation).
        ring = keyring()
        from app.crypto.rotation import _new_version

        _new_version(inst, "testing")
        assert ring.active_version == 2
    left = _versions(app)[1]
    refused = keys(app, "retire", "1")
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: KEK version 1 still wraps {left} data key(s); run 'flask --app app keys rotate' "
        "to re-wrap them under version 2, then retire 1 again.")
    with app.app_context():
        assert db.session.get(KekVersion, 1).retired_at is None
    assert keys(app, "rotate").exit_code == 0
    assert keys(app, "retire", "1").exit_code == 0
    assert _names(app, [sid]) == {"Still Under One"}
    _stop(app)


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite serialises writers at BEGIN, so a "
                    "rotation cannot even start while a key is being wrapped")
def test_retire_waits_for_a_key_being_wrapped_under_the_version_and_refuses(db_uri, inst, frozen):
    """A server wraps a data key under version 1 and has not committed yet; meanwhile a
    rotation finishes (it cannot see the uncommitted key) and the operator retires version 1.
    The retirement waits for the server's transaction, counts its key, and refuses."""
    one, two = _server(db_uri, inst), _server(db_uri, inst)
    _create(one, "Committed")
    ctx = one.app_context()
    ctx.push()
    try:
        in_flight = new_data_key("test")
        db.session.flush()
        assert in_flight.kek_version == 1
        # The operator's commands run elsewhere (a thread: this one has the server's context).
        rotated: list[int] = []
        operator = threading.Thread(target=lambda: rotated.append(keys(two, "rotate").exit_code))
        operator.start()
        operator.join(120)
        assert rotated == [0]  # it re-wrapped everything it could see

        outcome: list[str] = []

        def retire_one() -> None:
            with two.app_context():
                try:
                    retire(1)
                    outcome.append("retired")
                except RotationError as exc:
                    outcome.append(str(exc))
                finally:
                    db.session.remove()

        worker = threading.Thread(target=retire_one)
        worker.start()
        watcher = sa.create_engine(db_uri)
        with watcher.connect() as conn:
            waiting = 0
            for _ in range(600):  # until the retirement is seen waiting for our lock
                waiting = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
                if waiting or not worker.is_alive():
                    break
                worker.join(0.05)
        watcher.dispose()
        assert waiting == 1 and worker.is_alive(), outcome  # it waits for the wrapper
        db.session.commit()
        key_id = in_flight.id
    finally:
        ctx.pop()
    worker.join(60)
    assert outcome == ["KEK version 1 still wraps 1 data key(s); run 'flask --app app keys "
                       "rotate' to re-wrap them under version 2, then retire 1 again."]
    assert keys(two, "rotate").exit_code == 0
    assert keys(two, "retire", "1").exit_code == 0
    with one.app_context():
        assert len(unwrap(db.session.get(DataKey, key_id))) == 32
    _stop(one, two)


def _raw(instance, name):
    return key_path(name, instance).read_text().split()[-1]


def test_production_starts_without_the_retired_keks_file(db_uri, inst, tmp_path, frozen,
                                                        monkeypatch):
    app = _server(db_uri, inst)
    sid, _ = _create(app, "Kept Through Rotation")
    assert keys(app, "rotate").exit_code == 0
    assert keys(app, "retire", "1").exit_code == 0
    _stop(app)
    # Production, keys in the environment: every key but the retired KEK 1, which is gone.
    for name in KEY_NAMES:
        if name != "kek_1":
            monkeypatch.setenv(f"AMANA_KEY_{name.upper()}", _raw(inst, name))
    monkeypatch.setenv("AMANA_KEY_KEK_2", _raw(inst, "kek_2"))
    prod = make_app(db_uri, tmp_path / "empty-instance", AMANA_ENV="production")
    check_keyring(prod)
    check_keys(prod)
    assert _names(prod, [sid]) == {"Kept Through Rotation"}
    _stop(prod)
