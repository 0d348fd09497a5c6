"""``flask keys``: status, rotate, retire and verify the key-encryption keys; enrol the check
value of another key.

Every command ends with one clear line on failure and a non-zero status; rotation, retirement
and verification are audited. Keys are never printed.
"""

from __future__ import annotations

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

keys_cli = AppGroup("keys", help="Key-encryption keys: status, rotation, retirement, checks.")


def _ready() -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
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
    record(Action.KEYS_VERIFY, object_type="kek", object_id=str(keyring().active_version),
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
    record(Action.KEYS_ROTATE, object_type="kek", object_id=str(plan.version),
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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
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


@keys_cli.command("verify")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def verify_command(batch_size: int) -> None:
    """Check that every data key opens under its KEK version."""
    _ready()
    ok, bad = _verify(batch_size, "Verifying data keys")
    if bad:
        raise click.ClickException(f"{bad} data key(s) do not open; see the audit trail.")
    click.echo(f"Every data key ({ok}) opens.")
