"""Every key is checked at start: a wrong audit_hmac, index_root, audit_signing or secret_key
stops start-up with one line naming the key and where it was read from; and a key the database
already has data under is never silently made anew (development, ``instance init``)."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import delete, select

from app.config import ConfigError
from app.crypto.keychecks import CHECKED, check_value
from app.crypto.models import KeyCheck
from app.db import db
from app.keyfiles import create_key, key_path
from app.startup import check_ready
from tests.helpers.apps import make_app
from tests.helpers.audit import events
from tests.helpers.cli import one_line_error, run
from tests.helpers.crypto import copy_instance


@pytest.fixture
def inst(instance_dir, tmp_path):
    return copy_instance(instance_dir, tmp_path)


def _stop(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _refused_at_start(db_uri, inst) -> str:
    app = make_app(db_uri, inst)
    try:
        with pytest.raises(ConfigError) as err:
            check_ready(app)
    finally:
        _stop(app)
    assert "\n" not in err.value.message and err.value.exit_code == 2
    return err.value.message


def test_every_key_has_a_check_value_that_does_not_reveal_it(app):
    with app.app_context():
        stored = dict(db.session.execute(select(KeyCheck.name, KeyCheck.check_value)).all())
    assert set(stored) == set(CHECKED) == {"secret_key", "audit_hmac", "audit_signing", "index_root"}
    for name, value in stored.items():
        key = app.config[f"KEY_{name.upper()}"]
        assert value == check_value(name, key)
        assert key not in value and value not in key
    assert len(set(stored.values())) == len(stored)


@pytest.mark.parametrize("name", ["audit_hmac", "index_root", "audit_signing", "secret_key"])
def test_a_wrong_key_of_each_kind_stops_start_up(db_uri, inst, frozen, name):
    right = make_app(db_uri, inst)
    check_ready(right)  # the right keys start
    _stop(right)
    _replace(inst, name)  # a different key in the same place
    message = _refused_at_start(db_uri, inst)
    assert message.startswith(f"Key '{name}' (read from {key_path(name, inst)}) does not match "
                              "this database; ")


def test_a_wrong_key_in_the_environment_is_named_by_its_variable(db_uri, inst, frozen, monkeypatch):
    monkeypatch.setenv("AMANA_KEY_INDEX_ROOT", base64.urlsafe_b64encode(os.urandom(32)).decode())
    assert _refused_at_start(db_uri, inst).startswith(
        "Key 'index_root' (read from AMANA_KEY_INDEX_ROOT) does not match this database; ")


def test_a_missing_check_value_stops_start_up_until_enrolled(db_uri, inst, frozen):
    app = make_app(db_uri, inst)
    with app.app_context():
        db.session.execute(delete(KeyCheck).where(KeyCheck.name == "audit_hmac"))
        db.session.commit()
    assert "Key 'audit_hmac' has no check value in this database; " in _refused_at_start(db_uri, inst)
    result = app.test_cli_runner().invoke(args=["keys", "enrol", "audit_hmac"])
    assert result.exit_code == 0, result.output
    assert [e.object_id for e in events(app, "keys.enrol")] == ["audit_hmac"]
    check_ready(app)
    _stop(app)


def _replace(inst, name):
    key_path(name, inst).unlink()
    create_key(name, inst, environment="testing")


def test_enrol_replaces_only_the_secret_key_and_only_when_asked(db_uri, inst, frozen):
    _replace(inst, "secret_key")
    app = make_app(db_uri, inst)
    runner = app.test_cli_runner()
    asked = runner.invoke(args=["keys", "enrol", "secret_key"])
    assert asked.exit_code == 1 and "give --replace" in asked.output
    assert runner.invoke(args=["keys", "enrol", "secret_key", "--replace"]).exit_code == 0
    assert runner.invoke(args=["keys", "enrol", "secret_key"]).output.startswith(
        "Key 'secret_key' already matches")
    assert [e.reason for e in events(app, "keys.enrol")] == ["replaced"]
    check_ready(app)
    _stop(app)
    _replace(inst, "audit_hmac")
    app = make_app(db_uri, inst)
    refused = app.test_cli_runner().invoke(args=["keys", "enrol", "audit_hmac", "--replace"])
    assert refused.exit_code == 1 and "cannot be replaced" in refused.output
    assert "does not match" in _refused_at_start(db_uri, inst)
    _stop(app)


@pytest.mark.parametrize("name", ["audit_hmac", "kek_1"])
def test_development_does_not_make_a_key_the_database_has_data_under(db_uri, inst, frozen, name):
    key_path(name, inst).unlink()
    with pytest.raises(ConfigError) as err:
        make_app(db_uri, inst)
    assert "\n" not in err.value.message
    assert ("restore it from your key backup" if name == "audit_hmac"
            else "this database has data under kek_1") in err.value.message
    assert not key_path(name, inst).exists()


def test_instance_init_refuses_and_a_made_up_key_is_refused_at_start(tmp_path):
    """From the command line: `flask instance init` (what `make run` runs) will not replace a
    destroyed key the database was made with; a key made by hand in its place stops `wsgi.py`
    (exit 2, one line)."""
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    inst = tmp_path / "inst"
    key_path("audit_signing", inst).unlink()
    line = one_line_error(run(["instance", "init"], tmp_path))
    assert line.startswith("Error: Key 'audit_signing' is missing (") and "key backup" in line
    assert not key_path("audit_signing", inst).exists()
    create_key("audit_signing", inst, environment="development")
    served = run([], tmp_path, module=("wsgi.py",))
    assert served.returncode == 2
    assert one_line_error(served).startswith("amana: Key 'audit_signing' (read from ")


@pytest.mark.parametrize("args", [["demo", "seed"], ["cases", "purge-expired", "--apply"]])
def test_commands_that_write_refuse_a_wrong_key_before_writing(db_uri, inst, frozen, args):
    """A command run with a wrong audit key would extend the chain under that key (and a wrong
    index key would file new records where no search finds them): it stops first."""
    _replace(inst, "audit_hmac")
    app = make_app(db_uri, inst)
    try:
        with app.app_context():
            before = db.session.execute(select(db.func.count()).select_from(
                db.metadata.tables["audit_events"])).scalar_one()
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 2, result.output
        assert "Key 'audit_hmac'" in result.output and "does not match" in result.output
        with app.app_context():
            after = db.session.execute(select(db.func.count()).select_from(
                db.metadata.tables["audit_events"])).scalar_one()
        assert after == before
    finally:
        _stop(app)
