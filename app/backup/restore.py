"""Restoring a backup into an empty database, then checking what came back.

Order, so that a refusal writes nothing: the file is checked completely (``archive.read``, the
dump copied to a private temporary folder as it is hashed, so what is restored is exactly what
was checked); then the backup must suit this instance (same engine, a schema revision this
code knows, and this instance's keys matching every check value in the manifest: a backup whose
data is under a KEK this instance no longer holds is refused, since nothing in it would open);
then the target database must be empty (``app.backup.engines``). Only then is it restored.

Afterwards the same checks as ``flask audit verify`` and ``flask keys verify`` run, as functions:
the trail is walked and compared with the checkpoint signed into the manifest and with every
checkpoint of this instance's log up to the backup's last event; checkpoints of later events
are counted and reported (they name events made after the backup, which it cannot hold). Every
data key is unwrapped (and with ``deep`` every sealed value opened). The runs and the restore
itself are recorded in the restored trail, when its schema is the code's.
"""

from __future__ import annotations

import hmac
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.audit import service as audit
from app.audit.actions import Action, ObjectType, Outcome
from app.audit.checkpoint import Checkpoint
from app.audit.verify import VerifyResult
from app.audit.writer import record
from app.backup import engines
from app.backup.archive import BackupError, Manifest
from app.backup.service import admin_url, verify
from app.crypto.aead import SealError
from app.crypto.deep import deep_check
from app.crypto.failures import flush_failures
from app.crypto.keychecks import REPLACEABLE, check_value, compare_keys
from app.crypto.keyring import CHECK_CONSTANT, check_aad, keyring
from app.crypto.rotation import verify_all
from app.db import db, transaction
from app.dbroles import grant_runtime, migration_engine, runtime_role
from app.dbsetup import database_location, sqlite_path
from app.extensions import real_app


@dataclass
class Restored:
    """What a restore found once the data was back."""

    manifest: Manifest
    location: str
    schema_current: bool
    audit: VerifyResult | None = None
    later_checkpoints: int = 0         # log checkpoints of events after the backup
    latest_logged: int = 0             # the highest event such a checkpoint names
    keys_opened: int = 0
    keys_failed: int = 0
    deep: dict[str, int] | None = None
    replaced: list[str] = field(default_factory=list)  # replaceable keys that differ
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether every check passed."""
        return (self.audit is not None and self.audit.ok and not self.keys_failed
                and not any(v for k, v in (self.deep or {}).items() if k != "shredded"))


def _script(app: Flask) -> ScriptDirectory:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(cfg)


def check_suits(app: Flask, manifest: Manifest) -> tuple[bool, list[str]]:
    """Refuse (``BackupError``) a backup this instance cannot use; returns whether its schema
    is the code's current one, and the replaceable keys (``secret_key``: only sessions depend on
    it) that differ from the backup's, which are not a refusal."""
    engine = db.engine.dialect.name
    if manifest.engine != engine:
        raise BackupError(f"This is a {manifest.engine} backup; the configured database is "
                          f"{engine}. Nothing was restored.")
    script = _script(app)
    revision = str(manifest.doc.get("schema_revision"))
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"The backup is at schema revision {revision}, which this version of "
                          "Amana does not know; restore it with the version that made it.")
    replaced: list[str] = []
    for name, stored in dict(manifest.doc.get("key_checks") or {}).items():
        key = app.config.get(f"KEY_{str(name).upper()}")
        if isinstance(key, bytes) and hmac.compare_digest(check_value(str(name), key).hex(),
                                                          str(stored)):
            continue
        if name in REPLACEABLE:
            replaced.append(str(name))
            continue
        raise BackupError(f"This instance's key '{name}' is not the one the backup was made "
                          "with; restore that key first. Nothing was restored.")
    provider = keyring().provider
    for kek in manifest.doc.get("kek_versions") or []:
        if kek.get("retired"):
            continue
        version = int(kek["version"])
        try:
            opens = provider.unwrap(version, bytes.fromhex(kek["check"]),
                                    check_aad(version)) == CHECK_CONSTANT
        except (KeyError, SealError, ValueError):
            opens = False
        if not opens:
            raise BackupError(f"The backup's data is under key-encryption key version {version}, "
                              "which this instance does not hold (or holds a different one); "
                              "restore it from the key backup first. Nothing was restored.")
    return revision == script.get_current_head(), replaced


def _location(app: Flask) -> str:
    """Where the data goes, for messages: the server and database, or the SQLite file."""
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    name = make_url(uri).database if db.engine.dialect.name == "postgresql" else None
    return database_location(uri) + (f"/{name}" if name else "")


def _target_is_empty(app: Flask) -> bool:
    if db.engine.dialect.name == "postgresql":
        return engines.pg_is_empty(admin_url(app))
    path = sqlite_path(db.engine)
    if path is None:
        raise BackupError("An in-memory SQLite database cannot be restored into.")
    return engines.sqlite_is_empty(path)


def _load(app: Flask, dump: Path) -> None:
    db.session.remove()
    db.engine.dispose()  # no pooled connection may keep the empty database's schema
    if db.engine.dialect.name == "postgresql":
        engines.pg_restore(admin_url(app), dump)
        role = runtime_role(app.config)
        if role:
            try:
                with migration_engine(app.config, db.engine).begin() as conn:
                    grant_runtime(conn, role)
            except SQLAlchemyError:
                raise BackupError("The data was restored, but the runtime role could not be "
                                  "granted its privileges; run 'flask --app app db upgrade'.") \
                    from None
    else:
        path = sqlite_path(db.engine)
        assert path is not None
        engines.sqlite_restore(path, dump)
    db.engine.dispose()


def _checkpoints(manifest: Manifest, restored: Restored) -> list[Checkpoint]:
    """The checkpoints the restored trail must match: the one signed into the manifest and the
    log's, up to the backup's last event; later ones are counted in ``restored``."""
    end = int(manifest.doc.get("audit_last_seq") or 0)
    found: list[Checkpoint] = []
    signed = manifest.doc.get("audit_checkpoint")
    if isinstance(signed, dict):
        found.append(Checkpoint(seq=int(signed["seq"]), mac=bytes.fromhex(signed["mac"]),
                                time=datetime.fromisoformat(signed["time"].replace("Z", "+00:00")),
                                key_id=str(manifest.doc["instance"])))
    try:
        found += audit.read_log().checkpoints
    except OSError:
        restored.notes.append("The checkpoint log could not be read; only the backup's own "
                              "checkpoint was compared.")
    later = [c for c in found if c.seq > end]
    restored.later_checkpoints = len({(c.seq, c.mac) for c in later})
    restored.latest_logged = max((c.seq for c in later), default=0)
    return [c for c in found if c.seq <= end]


def _verify_keys(restored: Restored, batch_size: int, deep: bool,
                 progress: Callable[[int], None]) -> None:
    """``flask keys verify`` (``--deep``) on the restored data, recorded the same way."""
    ring = keyring()
    ring.verify()
    compare_keys(real_app(), skip=restored.replaced[0] if restored.replaced else None)
    restored.keys_opened, restored.keys_failed = verify_all(batch_size, progress)
    summary = ""
    if deep:
        result = deep_check(batch_size, lambda _f: None, progress)
        restored.deep = {**dict(result.found), "shredded": result.shredded}
        summary = ";".join(f"{k}={n}" for k, n in sorted(result.found.items()))
    flush_failures()
    with transaction():
        record(Action.KEYS_VERIFY, object_type=ObjectType.KEK, object_id=str(ring.active_version),
               outcome=Outcome.ERROR if restored.keys_failed or summary else Outcome.ALLOWED,
               reason=(f"failed:{restored.keys_failed}" if restored.keys_failed
                       else f"deep:{summary or 'clean'}" if deep else "all_open"))


def restore(app: Flask, path: Path, *, deep: bool = False, batch_size: int = 1000,
            progress: Callable[[int], None] = lambda n: None) -> Restored:
    """Check ``path``, restore it into the configured (empty) database, verify what came back."""
    with tempfile.TemporaryDirectory(prefix="amana-restore-") as tmp:
        manifest = verify(app, path, copy_to=Path(tmp) / "dump")
        current, replaced = check_suits(app, manifest)
        location = _location(app)
        if not _target_is_empty(app):
            raise BackupError(f"The database at {location} is not empty; a backup is restored "
                              "only into a new, empty database. Nothing was restored.")
        _load(app, Path(tmp) / "dump")
    restored = Restored(manifest, location, schema_current=current, replaced=replaced,
                        notes=[f"The backup was made with another '{n}'; run 'flask --app app "
                               f"keys enrol {n} --replace' (every session ends)."
                               for n in replaced])
    restored.audit = audit.run_verification(_checkpoints(manifest, restored))
    if not current:
        return restored  # the operator upgrades first; nothing is written into an old schema
    audit.record_verification(restored.audit, via="cli")
    _verify_keys(restored, batch_size, deep, progress)
    with transaction():
        record(Action.BACKUP_RESTORE, object_type=ObjectType.BACKUP, object_id=manifest.backup_id,
               outcome=Outcome.ALLOWED if restored.clean else Outcome.ERROR,
               reason="restored" if restored.clean else "restored;checks_failed")
    return restored
