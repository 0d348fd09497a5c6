"""The keyring: KEK files and variables are found and checked; a wrong or missing key stops the
app with one line before anything is decrypted; development keys are refused in production."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import stat

import pytest

from app.config import ConfigError
from app.crypto.keyring import check_keyring, keyring
from app.db import db
from app.keyfiles import (
    KeyFileError,
    create_key,
    ensure_instance,
    kek_versions,
    key_path,
    load_keks,
)
from tests.helpers.apps import make_app
from tests.helpers.cli import one_line_error, run
from tests.helpers.crypto import Specimen, copy_instance, private_app
from tests.helpers.factories import CANARY
from tests.helpers.login import Auth


@pytest.fixture
def inst(instance_dir, tmp_path):
    return copy_instance(instance_dir, tmp_path)


def _dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _replace_key(inst, name):
    key_path(name, inst).unlink()
    create_key(name, inst, environment="testing")


def test_kek_files_and_variables_are_found(tmp_path, monkeypatch):
    inst = tmp_path / "inst"
    ensure_instance(inst, environment="development")
    create_key("kek_3", inst, environment="development")
    (inst / "keys" / "kek_x.key").write_text("junk")
    (inst / "keys" / "kek_04.key").write_text("junk")
    monkeypatch.setenv("AMANA_KEY_KEK_7", base64.urlsafe_b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("AMANA_KEY_KEK_9", "")
    assert kek_versions(inst) == [1, 3, 7]
    assert stat.S_IMODE(key_path("kek_3", inst).stat().st_mode) == 0o600
    with pytest.raises(KeyFileError, match="never overwritten"):
        create_key("kek_3", inst, environment="development")
    with pytest.raises(KeyFileError, match="development key"):
        load_keks(inst, production=True)
    assert sorted(load_keks(inst, production=False)) == [1, 3, 7]


def test_wrong_key_stops_the_start_up_check(db_uri, inst, frozen):
    gen = private_app(db_uri, inst)
    app = next(gen)
    with app.app_context():
        s = Specimen(full_name="Before The Swap")
        db.session.add(s)
        db.session.commit()
        sid = s.id
    gen.close()
    _replace_key(inst, "kek_1")
    wrong = make_app(db_uri, inst)
    with pytest.raises(ConfigError) as err:
        check_keyring(wrong)
    message = err.value.message
    assert "version 1 does not match" in message and "\n" not in message
    # Without the start-up check, first use refuses the same way: never garbage.
    with wrong.app_context():
        s = db.session.get(Specimen, sid)
        with pytest.raises(ConfigError):
            _ = s.full_name
    _dispose(wrong)


def test_missing_enrolled_key_stops_the_app(db_uri, inst, frozen):
    gen = private_app(db_uri, inst)
    app = next(gen)
    assert app.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    gen.close()
    key_path("kek_2", inst).unlink()
    missing = make_app(db_uri, inst)
    with pytest.raises(ConfigError, match="version 2 is in use but missing"):
        check_keyring(missing)
    _dispose(missing)


def test_pinned_version_must_be_usable(db_uri, inst, frozen):
    app = make_app(db_uri, inst, KEK_ACTIVE_VERSION=5)
    with pytest.raises(ConfigError, match="names version 5"):
        check_keyring(app)
    _dispose(app)
    with pytest.raises(ConfigError, match="KEK version number"):
        make_app(db_uri, inst, KEK_ACTIVE_VERSION="latest")


def test_key_file_appearing_after_start_is_loaded_when_needed(db_uri, inst, frozen):
    """A worker started before a rotation on the same host still opens re-wrapped keys."""
    gen = private_app(db_uri, inst)
    old_worker = next(gen)
    with old_worker.app_context():
        s = Specimen(full_name="Survives Rotation")
        db.session.add(s)
        db.session.commit()
        sid = s.id
        assert keyring().provider.versions() == {1}
    rotator = make_app(db_uri, inst)
    assert rotator.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    _dispose(rotator)
    with old_worker.app_context():
        assert db.session.get(Specimen, sid).full_name == "Survives Rotation"
        assert keyring().provider.versions() == {1, 2}
    gen.close()


def test_cli_refuses_wrong_key_with_one_line(tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    status = run(["keys", "status"], tmp_path)
    assert status.returncode == 0 and "active" in status.stdout, status.stderr
    _replace_key(tmp_path / "inst", "kek_1")
    line = one_line_error(run(["keys", "status"], tmp_path))
    assert "version 1 does not match" in line


def test_production_refuses_development_kek_files(tmp_path):
    keys = {f"AMANA_KEY_{n.upper()}": base64.urlsafe_b64encode(os.urandom(32)).decode()
            for n in ("secret_key", "audit_hmac", "audit_signing", "kek_1", "index_root")}
    ensure_instance(tmp_path / "inst", environment="development")
    create_key("kek_2", tmp_path / "inst", environment="development")
    proc = run(["keys", "status"], tmp_path, env=dict(keys, AMANA_ENV="production"))
    assert "kek_2.key holds a development key" in one_line_error(proc)


def test_no_kek_at_all_is_refused(tmp_path):
    from flask import Flask

    from app.crypto.keyring import build_keyring

    bare = Flask("bare", instance_path=str(tmp_path / "empty"))
    bare.config["AMANA_ENV"] = "production"
    with pytest.raises(ConfigError, match="No key-encryption key"):
        build_keyring(bare)


def test_a_host_without_the_active_key_refuses_and_its_log_says_which_key(db_uri, instance_dir,
                                                                          tmp_path, world, frozen,
                                                                          caplog):
    """Two hosts, each with its own copy of the keys: a rotation run on A makes a key active that
    B does not have yet. B refuses (500, nothing shown), and its log names the missing key, not
    only the exception's type; once the key file is on B, B goes on without a restart."""
    folder_a = copy_instance(instance_dir, tmp_path / "a")
    folder_b = copy_instance(instance_dir, tmp_path / "b")
    host_b = make_app(db_uri, folder_b)
    worker = Auth(host_b, world, frozen).login("caseworker")
    page = f"/cases/{world.ids['case_own']}"
    assert worker.get(page).status_code == 200
    rotator = make_app(db_uri, folder_a)
    assert rotator.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    _dispose(rotator)
    caplog.set_level(logging.ERROR)
    refused = worker.get(page)
    assert refused.status_code == 500 and CANARY["own_name"] not in refused.get_data(as_text=True)
    assert "Key-encryption key version 2 is in use but missing" in caplog.text
    assert "kek_2.key" in caplog.text
    shutil.copy2(key_path("kek_2", folder_a), key_path("kek_2", folder_b))
    assert CANARY["own_name"] in worker.get(page).get_data(as_text=True)
    _dispose(host_b)
