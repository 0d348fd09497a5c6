"""``flask backup``: create, verify and restore backups of the database.

A backup is one file (``app.backup.archive``): a signed manifest and the database dump, never
a key. ``verify`` writes nothing; ``restore`` checks the file and the target first and refuses
with one line before anything is written. Exit status: 0 done; 1 refused or failed (one line);
3 restored, but the audit or key verification afterwards found something (said above it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.backup.archive import BackupError, Manifest
from app.backup.restore import Restored, restore
from app.backup.service import create, verify
from app.clock import utcnow
from app.crypto.keychecks import compare_keys
from app.dbsetup import require_current_schema
from app.extensions import real_app

backup_cli = AppGroup("backup", help="Back up the database, check a backup, restore one.")

EXIT_FOUND = 3


def _describe(m: Manifest) -> str:
    doc = m.doc
    return (f"made {doc.get('created_at')} on {m.engine}, schema {doc.get('schema_revision')}, "
            f"audit trail up to event {doc.get('audit_last_seq')}")


@backup_cli.command("create")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to create (default: amana-backup-<UTC time>.backup here). Never inside "
                   "the instance folder.")
def create_command(out: Path | None) -> None:
    """Write a consistent backup of the database with a signed manifest (never the keys)."""
    app = real_app()
    require_current_schema(app)
    compare_keys(app)
    out = out or Path(f"amana-backup-{utcnow():%Y%m%dT%H%M%SZ}.backup")
    try:
        made = create(app, out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    doc = made.manifest
    click.echo(f"Backup {doc['backup_id']} written to {out} ({doc['dump']['bytes']:,} bytes of "
               f"{doc['engine']} dump; schema {doc['schema_revision']}; audit trail up to event "
               f"{doc['audit_last_seq']}).")
    click.echo("It holds no key: keep the key-encryption keys apart from it (README, Backups).")


@backup_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Check a backup: signed by this instance, whole, unaltered. Writes nothing."""
    try:
        manifest = verify(real_app(), file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup {manifest.backup_id} verified: {_describe(manifest)}; signed by this "
               f"instance, {manifest.dump_bytes:,} dump bytes match the manifest.")


def _report(done: Restored) -> None:
    result = done.audit
    assert result is not None
    if result.broken is None:
        click.echo(f"Audit trail intact: {result.count:,} events verified, "
                   f"{result.checkpoints} checkpoint(s) matched.")
    else:
        b = result.broken
        click.echo(f"Audit trail BROKEN at event {b.seq}: {b.kind} ({b.detail}).")
    if done.later_checkpoints:
        end = done.manifest.doc.get("audit_last_seq")
        click.echo(f"The checkpoint log names events up to {done.latest_logged} "
                   f"({done.later_checkpoints} checkpoint(s) after this backup's last event "
                   f"{end}): what happened after the backup is not in it. Keep that log as "
                   "evidence and move it aside, or new checkpoints will be refused.")
    for note in done.notes:
        click.echo(note)
    if not done.schema_current:
        click.echo("The backup's schema is older than this code's: run 'flask --app app db "
                   "upgrade', then 'flask --app app keys verify --deep'.")
        return
    if done.keys_failed:
        click.echo(f"{done.keys_failed} data key(s) do not open; see the audit trail.")
    else:
        click.echo(f"Every data key ({done.keys_opened:,}) opens.")
    if done.deep is not None:
        shredded = done.deep.get("shredded", 0)
        found = {k: n for k, n in done.deep.items() if k != "shredded" and n}
        click.echo(f"Deep check: {', '.join(f'{n} {k}' for k, n in sorted(found.items()))}."
                   if found else "Deep check: every sealed value opens and every record "
                   f"matches its last recorded write ({shredded:,} under destroyed keys).")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--deep", is_flag=True, help="Also open every sealed value (keys verify --deep).")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def restore_command(file: Path, deep: bool, batch_size: int) -> None:
    """Restore a backup into the configured database, which must be empty; then verify the
    audit trail and the keys and say what was found."""
    app = real_app()
    try:
        done = restore(app, file, deep=deep, batch_size=batch_size)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup {done.manifest.backup_id} ({_describe(done.manifest)}) restored into "
               f"{done.location}.")
    _report(done)
    if not done.clean:
        click.echo("The restored database needs attention (see above).", err=True)
        sys.exit(EXIT_FOUND)
