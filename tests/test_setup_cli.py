"""Set-up and command-line behaviour on a fresh machine: instance keys, bad settings, the first
admin, a database behind on migrations. Each failure is one clear line and a non-zero exit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.config import ConfigError, database_uri
from app.keyfiles import KEY_NAMES, ensure_instance, key_path, load_key
from tests.helpers.cli import one_line_error, run
from tests.helpers.login import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def test_instance_keys_are_created_private_and_never_overwritten(tmp_path):
    created = ensure_instance(tmp_path / "inst", environment="development")
    assert sorted(created) == sorted(KEY_NAMES)
    first = {n: key_path(n, tmp_path / "inst").read_text() for n in KEY_NAMES}
    for n in KEY_NAMES:
        mode = stat.S_IMODE(key_path(n, tmp_path / "inst").stat().st_mode)
        assert mode == 0o600, (n, oct(mode))
    assert ensure_instance(tmp_path / "inst", environment="development") == []
    assert first == {n: key_path(n, tmp_path / "inst").read_text() for n in KEY_NAMES}
    assert len({v.split()[-1] for v in first.values()}) == len(KEY_NAMES)  # all different


def test_production_refuses_development_keys_and_missing_keys(tmp_path):
    ensure_instance(tmp_path / "inst", environment="development")
    with pytest.raises(Exception, match="development key"):
        load_key("secret_key", tmp_path / "inst", production=True)
    with pytest.raises(Exception, match="missing"):
        load_key("secret_key", tmp_path / "empty", production=True)


def test_production_start_refuses_with_one_line(tmp_path):
    ensure_instance(tmp_path / "inst", environment="development")
    proc = run([], tmp_path, env={"AMANA_ENV": "production"}, module=("wsgi.py",))
    assert "development key" in one_line_error(proc)
    proc = run([], tmp_path, env={"AMANA_ENV": "production", "AMANA_INSTANCE_PATH": str(tmp_path / "none")},
               module=("wsgi.py",))
    assert "missing" in one_line_error(proc)


def test_weak_key_in_environment_refused(tmp_path):
    import base64

    weak = base64.urlsafe_b64encode(b"\x00" * 32).decode()
    proc = run(["db", "current"], tmp_path, env={"AMANA_KEY_SECRET_KEY": weak})
    assert "weak" in one_line_error(proc)


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "mongodb://x", "not a url"])
def test_unknown_database_scheme_is_one_line(tmp_path, url):
    with pytest.raises(ConfigError):
        database_uri(url, tmp_path)
    proc = run(["db", "upgrade"], tmp_path, env={"DATABASE_URL": url})
    line = one_line_error(proc)
    assert "DATABASE_URL" in line
    assert not (tmp_path / "amana.db").exists()


def test_unreadable_instance_folder_is_one_line(tmp_path):
    if os.geteuid() == 0:
        # root reads everything: use a file where the folder should be instead.
        (tmp_path / "inst").write_text("not a folder")
    else:
        (tmp_path / "inst").mkdir(mode=0o000)
    proc = run(["db", "upgrade"], tmp_path)
    line = one_line_error(proc)
    assert "inst" in line
    assert not (tmp_path / "amana.db").exists()


def test_database_behind_migrations_refuses_to_serve(tmp_path):
    proc = run([], tmp_path, module=("wsgi.py",))
    assert "db upgrade" in one_line_error(proc)
    assert proc.returncode == 2


def test_first_admin_from_stdin_then_bad_inputs(tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    args = ["users", "create", "--username", "boss", "--role", "admin", "--org", "My NGO",
            "--site", "Tripoli", "--site", "Sabha"]
    weak = run(args, tmp_path, stdin="short\n")
    assert "Password refused" in one_line_error(weak)
    empty = run(args, tmp_path, stdin="")
    assert "No password" in one_line_error(empty)
    ok = run(args, tmp_path, stdin=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr
    again = run(args, tmp_path, stdin=PASSWORD + "\n")
    assert "taken" in one_line_error(again)
    other_org = run(["users", "create", "--username", "x1", "--role", "caseworker", "--org", "Nope",
                     "--site", "Tripoli"], tmp_path, stdin=PASSWORD + "\n")
    assert "No organisation" in one_line_error(other_org)
    bad_site = run(["users", "create", "--username", "x2", "--role", "caseworker", "--org", "My NGO",
                    "--site", "Atlantis"], tmp_path, stdin=PASSWORD + "\n")
    assert "No site" in one_line_error(bad_site)
    bad_role = run(["users", "create", "--username", "x3", "--role", "king", "--org", "My NGO"],
                   tmp_path, stdin=PASSWORD + "\n")
    assert bad_role.returncode != 0 and "Traceback" not in bad_role.stderr
    # The password option does not exist: it can never be given in argv.
    argv_pw = run(args + ["--password", PASSWORD], tmp_path)
    assert argv_pw.returncode != 0


def test_production_with_demo_accounts_or_no_admin_refuses(tmp_path):
    import base64

    keys = {f"AMANA_KEY_{n.upper()}": base64.urlsafe_b64encode(os.urandom(32)).decode()
            for n in KEY_NAMES}
    assert run(["db", "upgrade"], tmp_path, env=keys).returncode == 0
    prod = dict(keys, AMANA_ENV="production")
    assert "No active admin" in one_line_error(run([], tmp_path, env=prod, module=("wsgi.py",)))
    seeded = run(["demo", "seed"], tmp_path, env=keys)
    assert seeded.returncode == 0, seeded.stderr
    assert "Demo accounts exist" in one_line_error(run([], tmp_path, env=prod, module=("wsgi.py",)))
    refused = run(["demo", "seed"], tmp_path, env=prod)
    assert "production" in one_line_error(refused)


def test_demo_seed_picks_free_site_codes_when_another_organisation_has_them(app):
    """The test world's organisation already uses TRI and BEN: the demo organisation gets other
    prefixes instead of an unhandled UNIQUE error."""
    from sqlalchemy import select

    from app.db import db
    from app.directory.models import Organisation

    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        demo = db.session.execute(select(Organisation).where(
            Organisation.name == "Amana Demo Medical NGO")).scalar_one()
        codes = sorted(s.code for s in demo.sites)
    assert codes == ["BEN2", "MIS", "SAB", "TRI2"]
