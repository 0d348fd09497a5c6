"""``flask field-key``: list, rotate and retire organisations' intake keys (``app.field.keys``).

``rotate`` makes a new active key (devices prepared from then on seal to it; older keys still
open what was sealed to them); ``retire`` ends a key for good (envelopes sealed to it are
refused, its private half is shredded). Both are audited. Keys are never printed: ``list``
shows ids, dates and a short fingerprint of the public key.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.crypto.keychecks import compare_keys
from app.crypto.keyring import keyring
from app.db import db
from app.dbsetup import require_current_schema
from app.directory.models import Organisation
from app.extensions import real_app
from app.field import keys
from app.field.models import IntakeKey

field_key_cli = AppGroup("field-key", help="Intake keys of field capture: list, rotate, retire.")


def _ready() -> None:
    app = real_app()
    require_current_schema(app)
    keyring().verify()
    compare_keys(app)


def _organisation(name_or_id: str) -> Organisation:
    """An organisation by its name (or id)."""
    stmt = select(Organisation).where(Organisation.name == name_or_id)
    with contextlib.suppress(ValueError):
        stmt = select(Organisation).where(Organisation.id == uuid.UUID(name_or_id))
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise click.ClickException(f"No organisation named '{name_or_id}'.")
    return found


def fingerprint(public_key: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of the public point (to tell keys apart)."""
    return hashlib.sha256(bytes(public_key)).hexdigest()[:16]


@field_key_cli.command("list")
@click.option("--organisation", "organisation", default=None, help="Organisation name.")
def list_command(organisation: str | None) -> None:
    """Every intake key: organisation, id, created, state, public key fingerprint."""
    _ready()
    org = _organisation(organisation) if organisation else None
    names: dict[uuid.UUID, str] = {row[0]: row[1] for row in db.session.execute(
        select(Organisation.id, Organisation.name))}
    rows = keys.of_organisation(org.id if org else None)
    if not rows:
        click.echo("No intake key yet (one is made when a device is first prepared).")
        return
    active = {k.organisation_id: k.id for k in reversed(rows) if k.retired_at is None}
    click.echo(f"{'organisation':<24} {'key':<36}  {'created (UTC)':<16}  {'state':<8} public")
    for key in rows:
        state = ("retired" if key.retired_at else
                 "active" if active.get(key.organisation_id) == key.id else "opens")
        click.echo(f"{names.get(key.organisation_id, '?')[:24]:<24} {key.id}  "
                   f"{key.created_at:%Y-%m-%d %H:%M}  {state:<8} {fingerprint(key.public_key)}")


@field_key_cli.command("rotate")
@click.option("--organisation", "organisation", required=True,
              help="Organisation name (or id).")
def rotate_command(organisation: str) -> None:
    """Make a new active intake key for the organisation (older keys still open)."""
    _ready()
    org = _organisation(organisation)
    key = keys.rotate(org.id)
    click.echo(f"New intake key {key.id} for '{org.name}' ({fingerprint(key.public_key)}). "
               "Devices seal to it once prepared again; older keys still open what was sealed "
               "to them until you retire them.")


@field_key_cli.command("retire")
@click.argument("key_id", type=click.UUID)
def retire_command(key_id: uuid.UUID) -> None:
    """Retire an intake key for good: envelopes sealed to it are refused from now on."""
    _ready()
    key = db.session.get(IntakeKey, key_id)
    if key is None:
        raise click.ClickException(f"No intake key {key_id}.")
    try:
        keys.retire(key)
    except keys.IntakeKeyError:
        raise click.ClickException(f"Intake key {key_id} is retired already.") from None
    click.echo(f"Intake key {key_id} retired: its private key is destroyed, and envelopes "
               "sealed to it are refused. Devices still holding it must be prepared again.")
