"""``flask keys``: status, rotate, retire and verify the key-encryption keys; enrol the check
value of another key.

Every command ends with one clear line on failure and a non-zero status; rotation, retirement
and verification are audited. Keys are never printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.crypto import models as _models  # noqa: F401  (the tables exist for the commands)
from app.crypto.failures import flush_failures
from app.crypto.keychecks import CHECKED, KeyCheckError, compare_keys, enrol
from app.crypto.keyring import keyring
from app.crypto.models import KekVersion
from app.crypto.rotation import (
    RotationError,
    counts_by_version,
    plan_rotation,
    retire,
    rewrap_all,
    stale_count,
    verify_all,
)
from app.db import db
from app.dbsetup import require_current_schema
from app.extensions import real_app

keys_cli = AppGroup("keys", help="Key-encryption keys: status, rotation, retirement, checks.")


def _ready() -> None:
    app = real_app()
    require_current_schema(app)
    keyring().verify()
    compare_keys(app)


@keys_cli.command("status")
def status_command() -> None:
    """List KEK versions, which is active, and how many data keys each wraps."""
    _ready()
    ring = keyring()
    counts = counts_by_version()
    click.echo(f"{'version':>7}  {'state':<9} {'key':<8} {'data keys':>9}")
    for row in db.session.execute(select(KekVersion).order_by(KekVersion.version)).scalars():
        state = ("retired" if row.retired_at else
                 "active" if row.version == ring.active_version else "enrolled")
        present = "present" if row.version in ring.provider.versions() else "absent"
        click.echo(f"{row.version:>7}  {state:<9} {present:<8} {counts.get(row.version, 0):>9}")


def _verify(batch_size: int, what: str) -> tuple[int, int]:
    total = sum(counts_by_version().values())
    with click.progressbar(length=total, label=what) as bar:
        ok, bad = verify_all(batch_size, lambda n: bar.update(n))
    flush_failures()
    record(Action.KEYS_VERIFY, object_type=ObjectType.KEK, object_id=str(keyring().active_version),
           outcome=Outcome.ERROR if bad else Outcome.ALLOWED,
           reason=f"failed:{bad}" if bad else "all_open")
    db.session.commit()
    return ok, bad


@keys_cli.command("rotate")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def rotate_command(batch_size: int) -> None:
    """Add a KEK version and re-wrap every data key under it (re-run to resume)."""
    _ready()
    try:
        plan = plan_rotation(Path(current_app.instance_path), current_app.config["AMANA_ENV"])
    except RotationError as exc:
        raise click.ClickException(str(exc)) from None
    if plan.created:
        click.echo(f"KEK version {plan.version} created and active.")
    else:
        click.echo(f"Resuming: {plan.stale} data key(s) still to re-wrap under version "
                   f"{plan.version}.")
    from app.auth.mfa import reseal_legacy_secrets

    moved = reseal_legacy_secrets()
    db.session.commit()
    if moved:
        click.echo(f"Moved {moved} account secret(s) from the old KEK 1 key onto a data key.")
    try:
        with click.progressbar(length=plan.stale, label="Re-wrapping data keys") as bar:
            bad = rewrap_all(plan.version, batch_size, lambda n: bar.update(n))
    except KeyboardInterrupt:
        db.session.rollback()
        raise click.ClickException("Interrupted; finished batches are kept. Run 'flask keys "
                                   "rotate' again to finish.") from None
    except RotationError as exc:
        raise click.ClickException(str(exc)) from None
    flush_failures()
    left = stale_count(plan.version) - len(bad)
    record(Action.KEYS_ROTATE, object_type=ObjectType.KEK, object_id=str(plan.version),
           outcome=Outcome.ERROR if bad or left else Outcome.ALLOWED,
           reason=f"unwrap_failed:{len(bad)}" if bad else f"left:{left}" if left else "rewrapped")
    db.session.commit()
    ok, failed_count = _verify(batch_size, "Verifying data keys")
    if bad or failed_count:
        raise click.ClickException(f"{len(bad) + failed_count} data key(s) do not open (see the "
                                   "audit trail); the others are under version "
                                   f"{plan.version}.")
    if left:
        raise click.ClickException(f"{left} data key(s) were added under an older version during "
                                   "the run; run 'flask keys rotate' again.")
    click.echo(f"Done: every data key ({ok}) opens under KEK version {plan.version}; running "
               "servers already wrap new keys under it. Next: 'flask --app app keys retire "
               "<old version>'.")


@keys_cli.command("retire")
@click.argument("version", type=click.IntRange(1))
def retire_command(version: int) -> None:
    """Retire a KEK version once nothing is wrapped under it."""
    _ready()
    try:
        retire(version)
    except RotationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"KEK version {version} retired. Nothing needs it now: destroy "
               f"instance/keys/kek_{version}.key (or AMANA_KEY_KEK_{version}) and its copies on "
               "every host; servers start without it.")


@keys_cli.command("enrol")
@click.argument("name", type=click.Choice(CHECKED))
@click.option("--replace", is_flag=True, help="Accept a new secret_key (every session ends).")
def enrol_command(name: str, replace: bool) -> None:
    """Record the check value of a key that has none (or, with --replace, a new secret_key)."""
    app = real_app()
    require_current_schema(app)
    keyring().verify()
    compare_keys(app, skip=name)  # the audit event below is written under the right keys
    try:
        changed = enrol(name, replace=replace)
    except KeyCheckError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if not changed:
        click.echo(f"Key '{name}' already matches its check value.")
        return
    record(Action.KEYS_ENROL, object_type=ObjectType.KEY, object_id=name,
           reason="replaced" if replace else "enrolled")
    db.session.commit()
    click.echo(f"Check value of key '{name}' recorded; it is checked at every start.")


EXIT_FOUND = 3  # keys verify --deep found a record that does not open or is out of step


@keys_cli.command("verify")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--deep", is_flag=True, help="Also open every sealed value and compare each "
              "record's version with its last write recorded in the audit trail.")
def verify_command(batch_size: int, deep: bool) -> None:
    """Check that every data key opens under its KEK version.

    \b
    With --deep, also open every sealed value of every record and compare each record's
    version with the audit trail's last recorded write of it (a whole row put back from an
    older backup shows as older_than_audit). One line per finding: table, record id, kind
    (does_not_open, older_than_audit, newer_than_audit) and a code; never a value.
    Exit status: 0 nothing found; 1 could not run, or (without --deep) a data key does not
    open; 3 --deep found something.
    """
    _ready()
    ok, bad = _verify(batch_size, "Verifying data keys")
    if not deep:
        if bad:
            raise click.ClickException(f"{bad} data key(s) do not open; see the audit trail.")
        click.echo(f"Every data key ({ok}) opens.")
        return
    _deep(batch_size, bad)


def _deep(batch_size: int, bad_keys: int) -> None:
    from app.crypto.deep import DeepResult, Finding, count_records, deep_check

    def show(f: Finding) -> None:
        click.echo(f"{f.table} {f.record_id} {f.kind} ({f.detail})")

    total = count_records()
    with click.progressbar(length=max(total, 1), label="Opening sealed records",
                           file=sys.stderr, show_pos=True) as bar:
        result: DeepResult = deep_check(batch_size, show, bar.update)
    found = sum(result.found.values())
    summary = ";".join(f"{k}={n}" for k, n in sorted(result.found.items()))
    record(Action.KEYS_VERIFY, object_type=ObjectType.KEK, object_id=str(keyring().active_version),
           outcome=Outcome.ERROR if found or bad_keys else Outcome.ALLOWED,
           reason=f"deep:{summary or 'clean'};records={result.records}")
    db.session.commit()
    rate = result.values / result.seconds if result.seconds else 0.0
    click.echo(f"Deep check: {result.records:,} records, {result.values:,} sealed values opened "
               f"({rate:,.0f} values/s); {result.shredded:,} under destroyed keys (erased or "
               "revoked, not opened by design).")
    if found or bad_keys:
        parts = [f"{n} {k}" for k, n in sorted(result.found.items())]
        if bad_keys:
            parts.append(f"{bad_keys} data key(s) do not open")
        click.echo(f"Found: {', '.join(parts)}. Each is in the audit trail; restore the named "
                   "records from a trusted backup or investigate.", err=True)
        sys.exit(EXIT_FOUND)
    click.echo("Nothing found: every sealed value opens and every record matches its last "
               "recorded write.")
