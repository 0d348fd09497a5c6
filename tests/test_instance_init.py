"""`AMANA_ENV=production flask --app app instance init` works as the README says: on an empty
instance folder it creates the folder (0700) and production-labelled key files (0600) without
needing the keys first; the keys it made then carry a production set-up to its first start."""

from __future__ import annotations

import stat

from app.keyfiles import KEY_NAMES, create_key, key_path
from tests.helpers.cli import one_line_error, run

PROD = {"AMANA_ENV": "production"}


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_production_instance_init_makes_private_production_keys(tmp_path):
    inst = tmp_path / "inst"
    made = run(["instance", "init"], tmp_path, env=PROD)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"Instance folder ready ({len(KEY_NAMES)} new key(s))."
    assert _mode(inst) == 0o700 and _mode(inst / "keys") == 0o700
    for name in KEY_NAMES:
        assert _mode(key_path(name, inst)) == 0o600, name
        assert key_path(name, inst).read_text().startswith("amana-key v1 production ")
    first = {n: key_path(n, inst).read_text() for n in KEY_NAMES}
    again = run(["instance", "init"], tmp_path, env=PROD)
    assert again.returncode == 0 and "(0 new key(s))" in again.stdout
    assert first == {n: key_path(n, inst).read_text() for n in KEY_NAMES}  # never overwritten
    # The keys work: the database is created and enrols them, and the start-up checks pass up
    # to the first production refusal that has nothing to do with keys.
    upgraded = run(["db", "upgrade"], tmp_path, env=PROD)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "No active admin" in one_line_error(run([], tmp_path, env=PROD, module=("wsgi.py",)))


def test_production_instance_init_tightens_an_existing_folder(tmp_path):
    inst = tmp_path / "inst"
    inst.mkdir(mode=0o755)
    inst.chmod(0o755)
    assert run(["instance", "init"], tmp_path, env=PROD).returncode == 0
    assert _mode(inst) == 0o700 and _mode(inst / "keys") == 0o700


def test_production_instance_init_refuses_a_development_key_and_changes_nothing(tmp_path):
    inst = tmp_path / "inst"
    (inst / "keys").mkdir(parents=True)
    create_key("audit_hmac", inst, environment="development")
    line = one_line_error(run(["instance", "init"], tmp_path, env=PROD))
    assert "audit_hmac.key holds a development key; production refuses it" in line
    assert sorted(p.name for p in (inst / "keys").iterdir()) == ["audit_hmac.key"]


def test_other_commands_still_refuse_without_keys_in_production(tmp_path):
    line = one_line_error(run(["keys", "status"], tmp_path, env=PROD))
    assert line.startswith("Error: Key 'secret_key' is missing (")
    assert not (tmp_path / "inst").exists() and not (tmp_path / "amana.db").exists()
