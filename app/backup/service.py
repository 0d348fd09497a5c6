"""Making a backup: a consistent dump of the database and a signed manifest, in one file.

What goes in: the database only, as the engine dumps it (``app.backup.engines``). Never a key
and nothing else from the instance folder: sealed values are in the dump encrypted, under data
keys that are themselves stored wrapped under the key-encryption keys (KEKs), which stay in
``instance/keys`` (or the environment) and are backed up separately, by other people, offline.
A backup is therefore useless without the KEKs, and a KEK destroyed after its rotation takes
every backup made before that rotation with it (README, *Backups*).

The manifest (``app.backup.archive``) says when and from what the backup was made: engine,
schema revision, the audit trail's heads and last sequence number (read in the dump's own
snapshot, through ``app.audit.heads``), the newest signed checkpoint this instance knew (read
before the snapshot, so it never names an event the dump lacks), the check values of the keys
(which let a restore refuse at once when this instance lacks a key the data needs), the
instance (the fingerprint of its signing key) and the dump's length and SHA-256. It is signed
with the instance's ``audit_signing`` key. Restoring is ``app.backup.restore``.
"""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.audit import autocheckpoint
from app.audit.actions import Action, ObjectType, Outcome
from app.audit.checkpoint import key_id, signing_key
from app.audit.heads import chain_heads, last_seq
from app.audit.writer import record
from app.backup import archive, engines
from app.backup.archive import BackupError, Manifest
from app.clock import utcnow
from app.db import db, transaction
from app.dbsetup import sqlite_path

_REVISION = sa.text("SELECT version_num FROM alembic_version")
_KEY_CHECKS = sa.text("SELECT name, check_value FROM key_checks ORDER BY name")
_KEKS = sa.text("SELECT version, check_value, retired_at FROM kek_versions ORDER BY version")


def admin_url(app: Flask) -> sa.URL:
    """The URL dumps and restores connect with: the owner's (``DATABASE_OWNER_URL``) when set,
    since it owns every table; else the app's own."""
    return sa.make_url(str(app.config.get("DATABASE_OWNER_URL")
                           or app.config["SQLALCHEMY_DATABASE_URI"]))


def instance_id(app: Flask) -> str:
    """This instance's name in manifests: the fingerprint of its signing key's public half."""
    return key_id(signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key())


def facts(conn: sa.Connection) -> dict[str, Any]:
    """What the manifest says of the database, read on ``conn`` (the dump's snapshot)."""
    revision = conn.execute(_REVISION).scalar_one_or_none()
    if revision is None:
        raise BackupError("The database has no schema revision; run 'flask --app app db "
                          "upgrade' before backing it up.")
    heads = chain_heads(conn)
    return {
        "schema_revision": str(revision),
        "audit_last_seq": last_seq(heads),
        "audit_heads": [{"chain": h.chain, "seq": h.seq, "mac": h.mac.hex()} for h in heads],
        "key_checks": {str(name): bytes(value).hex()
                       for name, value in conn.execute(_KEY_CHECKS)},
        "kek_versions": [{"version": int(v), "check": bytes(c).hex(), "retired": r is not None}
                         for v, c, r in conn.execute(_KEKS)],
    }


def _newest_checkpoint(app: Flask) -> dict[str, Any] | None:
    newest = autocheckpoint.status(app).newest
    if newest is None:
        return None
    return {"seq": newest.seq, "mac": newest.mac.hex(),
            "time": newest.time.isoformat(timespec="microseconds").replace("+00:00", "Z")}


def refuse_inside_instance(app: Flask, out: Path) -> None:
    """Backups never sit beside the keys: the folder holding both would be all an attacker
    needs (and copying it would copy both)."""
    instance = Path(app.instance_path).resolve()
    if out.resolve().is_relative_to(instance):
        raise BackupError(f"Refused: {out} is inside the instance folder, where the keys are; "
                          "keep backups and keys apart.")


@dataclass(frozen=True)
class Created:
    """A backup that was written."""

    path: Path
    manifest: dict[str, Any]


def _dump(app: Flask, folder: Path) -> tuple[Path, dict[str, Any], str]:
    """Dump the app's database into ``folder``: (dump file, facts, tool)."""
    engine = db.engine.dialect.name
    dump = folder / archive.DUMP_NAMES.get(engine, "database")
    if engine == "postgresql":
        tool = engines.pg_version()
        return dump, engines.pg_create(admin_url(app), dump, facts), tool
    if engine == "sqlite":
        source = sqlite_path(db.engine)
        if source is None:
            raise BackupError("An in-memory SQLite database cannot be backed up.")
        return dump, engines.sqlite_create(source, dump, facts), f"sqlite {sqlite3.sqlite_version}"
    raise BackupError(f"Backups of {engine} databases are not supported.")


def create(app: Flask, out: Path) -> Created:
    """Write a backup of the app's database to ``out`` (0600, never replacing a file) and
    record it in the trail; a failure is recorded too, and leaves no file at ``out``."""
    refuse_inside_instance(app, out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose another name.")
    if not out.parent.is_dir():
        raise BackupError(f"The folder {out.parent} does not exist.")
    backup_id = uuid.uuid4().hex
    checkpoint = _newest_checkpoint(app)  # before the snapshot: it names no event the dump lacks
    try:
        with tempfile.TemporaryDirectory(prefix=".amana-backup-", dir=out.parent) as tmp:
            dump, found, tool = _dump(app, Path(tmp))
            size, sha256 = archive.digest_file(dump)
            doc = {"format": archive.FORMAT, "backup_id": backup_id,
                   "created_at": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
                   "engine": db.engine.dialect.name, "instance": instance_id(app), "tool": tool,
                   "audit_checkpoint": checkpoint, **found,
                   "dump": {"name": dump.name, "bytes": size, "sha256": sha256}}
            archive.write_private(out, archive.header(doc, app.config["KEY_AUDIT_SIGNING"]),
                                  dump)
    except (BackupError, OSError, SQLAlchemyError) as exc:
        unrecorded = ""
        try:
            _record(Action.BACKUP_CREATE, backup_id, Outcome.ERROR, "failed")
        except SQLAlchemyError as lost:  # an unreachable database: the operator must know
            unrecorded = (" The failure could not be recorded in the audit trail "
                          f"({lost.__class__.__name__}).")
        message = (str(exc) if isinstance(exc, BackupError) else
                   f"The backup failed ({exc.__class__.__name__}); nothing was written.")
        raise BackupError(message + unrecorded) from None
    _record(Action.BACKUP_CREATE, backup_id, Outcome.ALLOWED, "created")
    return Created(out, doc)


def _record(action: Action, backup_id: str, outcome: Outcome, reason: str) -> None:
    with transaction():
        record(action, object_type=ObjectType.BACKUP, object_id=backup_id, outcome=outcome,
               reason=reason)


def verify(app: Flask, path: Path, copy_to: Path | None = None) -> Manifest:
    """Check a backup file (signature under this instance's key, length, digest); writes
    nothing but ``copy_to``. Raises ``BackupError`` with one line."""
    public = signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key()
    return archive.read(path, public, copy_to=copy_to)
