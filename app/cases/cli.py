"""``flask cases purge-expired``: erase closed cases past the retention period.

Dry run by default (it only counts); ``--apply`` erases, with a progress bar, each case in its
own audited transaction so an interruption leaves every case either whole or erased.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit.actions import Action
from app.audit.writer import record
from app.cases.models import Case
from app.cases.service import erase
from app.clock import utcnow
from app.db import db, transaction
from app.dbsetup import require_current_schema

cases_cli = AppGroup("cases", help="Case retention.")


def expired_case_ids(days: int) -> list[object]:
    """Ids of cases closed more than ``days`` days ago."""
    cutoff = utcnow() - timedelta(days=days)
    return list(db.session.execute(
        select(Case.id).where(Case.status == "closed", Case.closed_at < cutoff)
        .order_by(Case.closed_at)
    ).scalars())


@cases_cli.command("purge-expired")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Retention after closure in days (default: CASE_RETENTION_DAYS, 3650).")
@click.option("--apply", "apply_", is_flag=True, help="Erase for real (default: dry run).")
def purge_expired(days: int | None, apply_: bool) -> None:
    """Erase closed cases past the retention period (crypto-shredding; tombstones stay)."""
    require_current_schema(current_app._get_current_object())  # type: ignore[attr-defined]
    days = days or int(current_app.config.get("CASE_RETENTION_DAYS", 3650))
    ids = expired_case_ids(days)
    if not apply_:
        with transaction():
            record(Action.CASE_PURGE, object_type="case", reason=f"dry_run:{len(ids)}")
        click.echo(f"{len(ids)} closed case(s) are past {days} days of retention. "
                   "Nothing erased (dry run); add --apply to erase them.")
        return
    with click.progressbar(ids, label="Erasing expired cases") as bar:
        for case_id in bar:
            case = db.session.get(Case, case_id)
            if case is not None:
                erase(None, case, "retention_expired")  # type: ignore[arg-type]
    with transaction():
        record(Action.CASE_PURGE, object_type="case", reason=f"erased:{len(ids)}")
    click.echo(f"Erased {len(ids)} case(s).")
