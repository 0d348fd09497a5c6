"""``flask cases purge-expired``: erase closed cases past the retention period.

Dry run by default (it only counts); ``--apply`` erases (with a progress bar when run by hand)
each case in its own audited transaction, so an interruption leaves every case either whole or
erased. Then it cleans up after the shredding: on SQLite each shred already checkpointed the
write-ahead log into the main file; on PostgreSQL it vacuums the key and blind-index tables, so
the dead row versions that still hold the destroyed wrapped keys are removed instead of waiting
for autovacuum.

It is the retention timer's job (``deploy/amana-purge.timer``): one run at a time across every
host (``app.jobs``); a case erased by one run is simply no longer found by the next.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, insert, select, text

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.cases.models import Case
from app.cases.service import erase
from app.cases.workflow import CaseStatus
from app.clock import utcnow
from app.crypto.fields import index_rows
from app.crypto.keychecks import compare_keys
from app.crypto.models import BlindIndexEntry
from app.crypto.readable import readable
from app.db import db, transaction
from app.dbsetup import require_current_schema
from app.extensions import real_app
from app.jobs import finished, job_lock, progress, skipped

cases_cli = AppGroup("cases", help="Case retention and search indexes.")


def expired_case_ids(days: int) -> list[object]:
    """Ids of cases closed more than ``days`` days ago."""
    cutoff = utcnow() - timedelta(days=days)
    return list(db.session.execute(
        select(Case.id).where(Case.status == CaseStatus.CLOSED, Case.closed_at < cutoff)
        .order_by(Case.closed_at)
    ).scalars())


@cases_cli.command("purge-expired")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Retention after closure in days (default: CASE_RETENTION_DAYS, 3650).")
@click.option("--apply", "apply_", is_flag=True, help="Erase for real (default: dry run).")
def purge_expired(days: int | None, apply_: bool) -> None:
    """Erase closed cases past the retention period (crypto-shredding; tombstones stay)."""
    if not apply_:
        _check_and_count(days)
        return
    # The lock first, before any transaction: on SQLite every transaction takes the write
    # lock, so a second run would otherwise wait for the first instead of leaving at once.
    with job_lock("cases-purge") as got:
        if not got:
            skipped("cases-purge")
            return
        erased = _erase_expired(_retention(days))
        finished("cases-purge", {"erased": erased})
    click.echo(f"Erased {erased} case(s).")
    if erased:
        click.echo(vacuum_key_tables())


def _retention(days: int | None) -> int:
    require_current_schema(real_app())
    compare_keys(real_app())
    return days or int(current_app.config.get("CASE_RETENTION_DAYS", 3650))


def _check_and_count(days: int | None) -> None:
    days = _retention(days)
    ids = expired_case_ids(days)
    with transaction():
        record(Action.CASE_PURGE, object_type=ObjectType.CASE, reason=f"dry_run:{len(ids)}")
    click.echo(f"{len(ids)} closed case(s) are past {days} days of retention. "
               "Nothing erased (dry run); add --apply to erase them.")


def _erase_expired(days: int) -> int:
    """Erase every case past ``days`` of retention, each in its own transaction; returns how
    many were erased (a case gone since the list was read is not counted)."""
    ids = expired_case_ids(days)
    erased = 0
    with progress(ids, "Erasing expired cases") as bar:
        for case_id in bar:
            case = db.session.get(Case, case_id)
            if case is not None:
                erase(None, case, "retention_expired")
                erased += 1
    with transaction():
        record(Action.CASE_PURGE, object_type=ObjectType.CASE, reason=f"erased:{erased}")
    return erased


def reindex_cases(batch_size: int = 500) -> tuple[int, int]:
    """Rewrite the blind-index entries of every case from its sealed values (idempotent).

    Index entries are written on every save; this fills them for cases saved before an index
    existed (the name parts and date of birth of search before create) or after a normaliser
    changed. It needs the keys, so no migration can do it. Values are opened, never changed:
    the cases keep their versions. Returns (cases indexed, cases that could not be read)."""
    fields = [f for f in Case.__sealed_fields__.values() if f.indexes]
    names = [f.name for f in fields]
    table = BlindIndexEntry.__table__
    done = skipped = 0
    last = None
    while True:
        stmt = select(Case).order_by(Case.id).limit(batch_size)
        batch = list(db.session.execute(stmt if last is None else stmt.where(Case.id > last))
                     .scalars())
        if not batch:
            return done, skipped
        opened = readable(batch, names, notice=False)
        with transaction():
            for case, values in opened:
                db.session.execute(delete(table).where(
                    table.c.owner_table == Case.__tablename__, table.c.owner_id == case.id,
                    table.c.field.in_(names)))
                rows = [row for f in fields for row in index_rows(f, case, values[f.name])]
                if rows:
                    db.session.execute(insert(table), rows)
        done, skipped, last = done + len(opened), skipped + opened.skipped, batch[-1].id
        db.session.expunge_all()


@cases_cli.command("reindex")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True)
def reindex(batch_size: int) -> None:
    """Rewrite every case's search indexes from its sealed values (safe to run again)."""
    require_current_schema(real_app())
    compare_keys(real_app())
    done, skipped = reindex_cases(batch_size)
    with transaction():
        record(Action.CASE_REINDEX, object_type=ObjectType.CASE,
               reason=f"indexed:{done}" + (f";unreadable:{skipped}" if skipped else ""))
    click.echo(f"Indexed {done} case(s)."
               + (f" {skipped} could not be read (see the auditor's alerts)." if skipped else ""))


SHREDDED_TABLES = ("data_keys", "blind_index_entries")


def vacuum_key_tables() -> str:
    """PostgreSQL: VACUUM the tables whose dead rows held shredded keys; one line saying what.

    VACUUM needs the table's owner; the least-privilege runtime role is not, so it is told
    what to run instead of failing the purge that has already happened.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return "The database file was checkpointed after each erasure."
    db.session.remove()
    with engine.connect() as conn:
        owned = conn.execute(text(
            "SELECT bool_and(pg_has_role(current_user, tableowner, 'USAGE')) FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = ANY(:names)"),
            {"names": list(SHREDDED_TABLES)}).scalar()
    if not owned:
        return ("Not vacuumed (this database role does not own the key tables): run "
                f"'VACUUM {', '.join(SHREDDED_TABLES)};' as the owner, or wait for autovacuum.")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM {', '.join(SHREDDED_TABLES)}")
    return f"Vacuumed {', '.join(SHREDDED_TABLES)}: the destroyed keys' old row versions are gone."
