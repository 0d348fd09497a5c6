"""``flask backup``: a backup restores into an empty database on either engine and every sealed
value opens there with the same keys; a truncated, altered or foreign file is refused with one
line before anything is written; a non-empty target is refused and left as it was; the file
holds no key and no survivor data in clear."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from app.audit.actions import Action
from app.audit.checkpoint import key_id, signing_key
from app.backup import archive
from app.cases.models import Case
from app.cases.service import erase
from app.crypto.deep import sealed_models
from app.crypto.errors import KeyDestroyedError
from app.db import db
from tests.helpers.apps import BACKEND, PG_URL, make_app, pg_admin, pg_url
from tests.helpers.audit import events
from tests.helpers.factories import CANARY

SHREDDED = "<shredded>"


@pytest.fixture(autouse=True)
def _pg_tools() -> None:
    """pg_dump and pg_restore must be there for the PostgreSQL run: missing in CI is a failure,
    missing elsewhere skips these tests."""
    if BACKEND != "postgresql":
        return
    missing = [t for t in ("pg_dump", "pg_restore") if shutil.which(t) is None]
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"{', '.join(missing)} missing in CI")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


@pytest.fixture
def empty_uri(tmp_path: Path) -> Iterator[str]:
    """A new, empty database on the run's engine (never migrated)."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"amana_restore_{uuid.uuid4().hex[:8]}"
    pg_admin(f"CREATE DATABASE {name}")
    try:
        yield pg_url(PG_URL, name)
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def target(empty_uri: str, instance_dir: Path) -> Iterator[Flask]:
    """An app of the same instance (same keys) on the empty database."""
    application = make_app(empty_uri, instance_dir)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["backup", *args])


def refused(result: Any) -> str:
    """The one line of a refusal (asserting it is one, with a non-zero status)."""
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return str(lines[0])


def opened(app: Flask) -> dict[tuple[str, str, str], object]:
    """Every sealed value of every record, opened (``SHREDDED`` under a destroyed key)."""
    found: dict[tuple[str, str, str], object] = {}
    with app.app_context():
        for model in sealed_models():
            pk = sa.inspect(model).primary_key
            for rec in db.session.execute(select(model)).scalars():
                ident = "/".join(str(getattr(rec, c.key)) for c in pk)
                for name in model.__sealed_fields__:
                    try:
                        value = getattr(rec, name)
                    except KeyDestroyedError:
                        value = SHREDDED
                    found[(model.__tablename__, ident, name)] = value
        db.session.remove()
    return found


def backup(app: Flask, tmp_path: Path) -> Path:
    out = tmp_path / "amana.backup"
    result = run(app, "create", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def tables(app: Flask) -> dict[str, int]:
    """Every table of the app's database and its row count."""
    with app.app_context():
        names = sa.inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            counts = {n: int(conn.execute(select(func.count()).select_from(sa.table(n)))
                             .scalar_one()) for n in names}
        db.engine.dispose()
    return counts


def erase_far_case(app: Flask) -> None:
    with app.app_context():
        case = db.session.execute(select(Case).where(Case.full_name_sealed.is_not(None))
                                  .order_by(Case.case_number)).scalars().all()
        far = next(c for c in case if c.full_name == CANARY["far_name"])
        erase(None, far, "survivor_request")
        db.session.remove()


def test_round_trip_opens_every_record_and_the_trail_verifies(app, target, tmp_path):
    erase_far_case(app)  # an erased case goes into the backup as the tombstone it is
    before = opened(app)
    assert CANARY["own_name"] in before.values() and CANARY["own_narrative"] in before.values()
    assert CANARY["far_name"] not in before.values()  # erased: the row is gone, its key shredded
    out = backup(app, tmp_path)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers

    result = run(target, "restore", str(out), "--deep")
    assert result.exit_code == 0, result.output
    assert "Audit trail intact" in result.output and "Every data key" in result.output
    assert "every sealed value opens" in result.output
    assert opened(target) == before
    checked = target.test_cli_runner().invoke(args=["audit", "verify"])
    assert checked.exit_code == 0, checked.output
    made = events(app, action=Action.BACKUP_CREATE.value)
    restored = events(target, action=Action.BACKUP_RESTORE.value)
    assert [e.reason for e in made] == ["created"] and [e.reason for e in restored] == ["restored"]
    assert made[0].object_id == restored[0].object_id  # the backup's id ties the two together


def _check_refused(app: Flask, target: Flask, path: Path, words: str) -> None:
    before = tables(app)
    line = refused(run(app, "verify", str(path)))
    assert words in line, line
    line = refused(run(target, "restore", str(path)))
    assert words in line, line
    assert tables(target) == {}  # nothing written
    assert tables(app) == before  # verifying writes nothing, not even an audit event


def test_a_truncated_backup_is_refused(app, target, tmp_path):
    data = backup(app, tmp_path).read_bytes()
    length = int(data.split(b"\n", 2)[1])
    start_of_dump = data.index(b"\n", len(archive.MAGIC) + len(str(length)) + 2 + length) + 1
    for cut in (5, len(archive.MAGIC) + 2, 60, start_of_dump - 10, start_of_dump,
                start_of_dump + 4096, len(data) - 1):
        short = tmp_path / f"cut{cut}.backup"
        short.write_bytes(data[:cut])
        _check_refused(app, target, short, "truncated")


def test_one_flipped_byte_anywhere_is_refused(app, target, tmp_path):
    data = backup(app, tmp_path).read_bytes()
    step = max(1, len(data) // 23)
    positions = {0, 15, 17, 40, 300, 1000, *range(3, len(data), step), len(data) - 1}
    for pos in sorted(positions):
        altered = bytearray(data)
        altered[pos] ^= 0x01
        path = tmp_path / "flipped.backup"
        path.write_bytes(bytes(altered))
        result = run(app, "verify", str(path))
        assert result.exit_code == 1, (pos, result.output)
        refused(result)
    _check_refused(app, target, path, "altered")


def _resigned(path: Path, seed: bytes, instance: str | None = None) -> Path:
    """The same backup with its manifest signed by another key (naming ``instance``)."""
    data = path.read_bytes()
    _magic, length, rest = data.split(b"\n", 2)
    raw, rest = rest[:int(length)], rest[int(length) + 1:]
    _signature, dump = rest.split(b"\n", 1)
    doc = json.loads(raw)
    doc["instance"] = instance or key_id(signing_key(seed).public_key())
    out = path.with_name("foreign.backup")
    out.write_bytes(archive.header(doc, seed) + dump)
    return out


def test_a_backup_from_another_instance_is_refused(app, target, tmp_path):
    out = backup(app, tmp_path)
    other = os.urandom(32)
    _check_refused(app, target, _resigned(out, other), "another instance")
    with app.app_context():
        ours = key_id(signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key())
    # Claiming to be ours does not help: the signature is not ours.
    _check_refused(app, target, _resigned(out, other, ours), "signature does not verify")
    # Control: re-signed with our own key, the very same bytes pass.
    with app.app_context():
        mine = _resigned(out, app.config["KEY_AUDIT_SIGNING"])
    assert run(app, "verify", str(mine)).exit_code == 0


def test_restore_onto_a_non_empty_database_is_refused_and_changes_nothing(app, tmp_path):
    out = backup(app, tmp_path)
    before, values = tables(app), opened(app)
    line = refused(run(app, "restore", str(out)))
    assert "is not empty" in line
    assert tables(app) == before and opened(app) == values


def test_a_database_with_any_table_is_not_empty(target, app, tmp_path):
    out = backup(app, tmp_path)
    with target.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE unrelated (x INTEGER)")
    line = refused(run(target, "restore", str(out)))
    assert "is not empty" in line
    assert tables(target) == {"unrelated": 0}


def test_restore_needs_the_kek_that_wrapped_the_data(app, tmp_path, empty_uri, instance_dir):
    """A backup whose data keys are under a KEK this instance no longer holds is refused at
    once: nothing in it could be opened (this is what retiring and destroying a KEK does to
    every older backup, erased survivors' records included)."""
    out = backup(app, tmp_path)
    inst = tmp_path / "inst"
    shutil.copytree(instance_dir, inst)
    raw = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    (inst / "keys" / "kek_1.key").write_text(f"amana-key v1 development {raw}\n")
    other = make_app(empty_uri, inst)
    try:
        line = refused(run(other, "restore", str(out)))
        assert "key-encryption key version 1" in line
        assert tables(other) == {}
    finally:
        with other.app_context():
            db.engine.dispose()


def test_backups_are_never_written_inside_the_instance_folder(app, instance_dir):
    line = refused(run(app, "create", "--out", str(instance_dir / "x.backup")))
    assert "inside the instance folder" in line
    assert not (instance_dir / "x.backup").exists()


def test_a_failure_that_cannot_be_recorded_says_so(app, tmp_path, monkeypatch):
    """The database went away mid-backup: the operator is told the failure is not in the
    trail (rather than the trail's silence passing for "no backup was attempted")."""
    from app.backup import service

    def lost(*_a: Any, **_k: Any) -> Any:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("gone"))

    monkeypatch.setattr(service, "_dump", lost)
    monkeypatch.setattr(service, "_record", lost)
    out = tmp_path / "x.backup"
    line = refused(run(app, "create", "--out", str(out)))
    assert "The backup failed (OperationalError); nothing was written." in line
    assert "could not be recorded in the audit trail (OperationalError)" in line
    assert not out.exists()


def test_a_recorded_failure_says_nothing_more(app, tmp_path, monkeypatch):
    from app.backup import service

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise archive.BackupError("The dump tool is missing.")

    monkeypatch.setattr(service, "_dump", refuse)
    before = _creates(app)
    line = refused(run(app, "create", "--out", str(tmp_path / "x.backup")))
    assert line == "Error: The dump tool is missing."
    assert _creates(app) == before + 1


def _creates(app: Flask) -> int:
    return len(events(app, Action.BACKUP_CREATE.value, outcome="error"))


def _dump_text(app: Flask, path: Path, tmp_path: Path) -> bytes:
    """The dump's content as the engine would show it: the SQLite image itself, or (PostgreSQL,
    whose custom format is compressed) the plain SQL that pg_restore makes of it."""
    data = path.read_bytes()
    dump = tmp_path / "extracted"
    with app.app_context():
        public = signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key()
    dump.write_bytes(data[len(data) - archive.read(path, public).dump_bytes:])
    if BACKEND == "sqlite":
        return dump.read_bytes()
    return subprocess.run(["pg_restore", "--file=-", str(dump)], capture_output=True,
                          check=True, timeout=120).stdout


def test_the_backup_holds_no_key_and_no_survivor_data_in_clear(app, tmp_path, instance_dir):
    out = backup(app, tmp_path)
    with app.app_context():
        keys = {name: app.config[name] for name in app.config
                if name.startswith("KEY_") and isinstance(app.config[name], bytes)}
    keys.update({p.name: p.read_bytes() for p in (instance_dir / "keys").iterdir()})
    assert {"KEY_AUDIT_SIGNING", "KEY_AUDIT_HMAC", "kek_1.key"} <= set(keys)
    text = _dump_text(app, out, tmp_path)
    assert b"audit_events" in text and b"data_keys" in text  # the right data, readable
    whole = out.read_bytes() + text
    needles = []
    for value in keys.values():
        encoded = value if value.startswith(b"amana-key") else base64.urlsafe_b64encode(value)
        needles += [value, encoded.strip().rstrip(b"="), base64.b64encode(value).rstrip(b"="),
                    value.hex().encode()]
        if value.startswith(b"amana-key"):
            needles.append(value.split()[-1])
    assert [n for n in needles if n in whole] == []
    for canary in CANARY.values():
        for form in (canary.encode(), canary.encode("utf-16-le"), canary.casefold().encode()):
            assert form not in whole, canary


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_restore's single transaction")
def test_a_pg_restore_that_fails_midway_leaves_the_database_empty(app, target, tmp_path):
    """A type named like one of the later tables (types are not what the emptiness check looks
    for) makes pg_restore fail after it has created the earlier tables: all of it is rolled
    back, and the database is as empty as before."""
    out = backup(app, tmp_path)
    with target.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TYPE users AS (x integer)")
    line = refused(run(target, "restore", str(out)))
    assert "nothing was restored" in line and "users" in line, line
    assert tables(target) == {}
    with target.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                    "n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                                    "c.relkind <> 'c'").scalar_one() == 0
        db.engine.dispose()


def test_a_replaced_secret_key_is_a_note_not_a_refusal(app, tmp_path, empty_uri, instance_dir):
    """Only sessions depend on ``secret_key`` (it may be replaced on purpose): a backup made
    before it was replaced restores, and the operator is told how to accept the new one."""
    out = backup(app, tmp_path)
    inst = tmp_path / "inst"
    shutil.copytree(instance_dir, inst)
    raw = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    (inst / "keys" / "secret_key.key").write_text(f"amana-key v1 development {raw}\n")
    other = make_app(empty_uri, inst)
    try:
        result = run(other, "restore", str(out))
        assert result.exit_code == 0, result.output
        assert "keys enrol secret_key --replace" in result.output
        assert "Audit trail intact" in result.output
    finally:
        with other.app_context():
            db.engine.dispose()
