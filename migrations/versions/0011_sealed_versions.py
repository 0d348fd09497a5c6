"""Sealed values bound to their record's version.

Adds ``version`` (the optimistic-locking counter, 1 for existing rows) to the five sealed tables
that lacked it, then seals every stored value again in format 0x02, whose associated data also
carries the record's version and which of its sealed fields hold a value
(app/crypto/sealed.py), and records one ``record.write`` event per sealed record naming its
version: the baseline ``flask keys verify --deep`` compares each record with. From here on the
app refuses format 0x01, so a value put back from before this migration does not open either.

The rows are read in batches by id (memory stays flat) and the migration's one transaction
holds everything: if anything fails, nothing has changed. A value that does not open (damaged,
or under a destroyed data key, as a revoked referral's share is) is left exactly as it was: it
stays unreadable, its failure is audited, and ``keys verify --deep`` lists it by record id.

Unlike the other migrations it runs app code (imported inside ``upgrade``, listed in
tests/test_migrations.py): the values open and seal with the instance's data keys, unwrapped by
its KEKs, and each baseline goes into the audit chain through the app's writer, which must not
exist twice. What the migration itself decides (the tables and fields, the format 0x01 it
opens) is frozen here.

There is no downgrade: the app before this migration cannot read format 0x02, and writing values
back in the old, unbound form is what this migration exists to prevent. Restore the backup
taken before upgrading instead.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:30:00

"""
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import click
import sqlalchemy as sa
from alembic import op
from cryptography.exceptions import InvalidTag
from sqlalchemy.orm import Session

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 500
NEWLY_VERSIONED = ("follow_ups", "case_notes", "case_status_changes", "break_glass_grants",
                   "referral_events")
# The sealed fields as of this migration (frozen: later models may add fields, this may not).
SEALED = {
    "cases": ("full_name", "alias", "date_of_birth", "estimated_age", "phone", "location",
              "safe_contact"),
    "incidents": ("narrative", "perpetrator_details", "location_detail"),
    "assessments": ("notes", "safety_plan"),
    "action_items": ("goal",),
    "follow_ups": ("notes",),
    "case_notes": ("body",),
    "case_status_changes": ("reason_detail",),
    "break_glass_grants": ("justification",),
    "referrals": ("share", "message"),
    "referral_events": ("note", "justification"),
    "wgss_sessions": ("notes",),
}


def _aad_v1(table, field, record_id, data_key_id):
    """Associated data of format 0x01 (format byte included): no version."""
    return b"\x01amana/field|v1|" + f"{table}|{field}|".encode() + record_id.bytes \
        + data_key_id.bytes


@contextmanager
def _app_session(conn) -> Iterator[None]:
    """Let the app's own code (keyring, data keys, the audit writer) run on the migration's
    connection and transaction: ``db.session`` is a session joined to it, which neither commits
    nor closes it."""
    from app.db import db

    registry = db.session.registry
    previous = registry() if registry.has() else None
    session = Session(bind=conn, join_transaction_mode="rollback_only")
    registry.set(session)
    try:
        yield
    finally:
        session.close()
        if previous is not None:
            registry.set(previous)
        else:
            registry.clear()


def _reseal_table(conn, name, fields):
    """Seal every value of ``name`` again in format 0x02 and record each row's baseline write.
    Returns (records, values resealed, [(record id, field) that did not open])."""
    from app.audit.actions import TABLE_TYPES, Action
    from app.audit.writer import record
    from app.crypto.envelope import cipher, forget_unwrapped
    from app.crypto.failures import failed
    from app.crypto.sealed import presence, seal_bytes

    columns = [f"{f}_sealed" for f in fields]
    table = sa.table(name, sa.column("id", sa.Uuid()), sa.column("data_key_id", sa.Uuid()),
                     sa.column("version", sa.Integer()),
                     *(sa.column(c, sa.LargeBinary()) for c in columns))
    keys = sa.table("data_keys", sa.column("id", sa.Uuid()),
                    sa.column("wrapped", sa.LargeBinary()))
    change = (sa.update(table).where(table.c.id == sa.bindparam("r_id"))
              .values({c: sa.bindparam(f"r_{c}") for c in columns}))
    kind = str(TABLE_TYPES[name])
    last, records, resealed, bad = None, 0, 0, []
    while True:
        stmt = (sa.select(table, keys.c.wrapped.is_(None).label("shredded"))
                .join(keys, keys.c.id == table.c.data_key_id).order_by(table.c.id).limit(BATCH))
        if last is not None:
            stmt = stmt.where(table.c.id > last)
        rows = conn.execute(stmt).mappings().all()
        if not rows:
            break
        last = rows[-1]["id"]
        params = []
        for row in rows:
            rid, kid, version = row["id"], row["data_key_id"], row["version"]
            present = presence(f for f, c in zip(fields, columns, strict=True)
                               if row[c] is not None)
            new = {f"r_{c}": row[c] for c in columns}
            for field, column in zip(fields, columns, strict=True):
                blob = row[column]
                if row["shredded"] or blob is None or blob[:1] != b"\x01":
                    continue
                try:
                    plain = cipher(kid).decrypt(blob[1:13], blob[13:],
                                                _aad_v1(name, field, rid, kid))
                except InvalidTag:
                    failed(name, rid, f"{field}:auth_failed")  # audited when the command ends
                    bad.append((rid, field))
                    continue
                new[f"r_{column}"] = seal_bytes(plain, table=name, field=field, record_id=rid,
                                                data_key_id=kid, version=version,
                                                present=present)
                resealed += 1
            params.append({"r_id": rid, **new})
            record(Action.RECORD_WRITE, object_type=kind, object_id=rid, reason=f"v{version}")
        conn.execute(change, params)
        records += len(rows)
        forget_unwrapped()
    return records, resealed, bad


def upgrade():
    for name in NEWLY_VERSIONED:
        op.add_column(name, sa.Column("version", sa.Integer(), nullable=False,
                                      server_default="1"))
    conn = op.get_bind()
    with _app_session(conn):
        for name, fields in SEALED.items():
            records, resealed, bad = _reseal_table(conn, name, fields)
            if records:
                log.info("%s: %d record(s), %d value(s) sealed under their version", name,
                         records, resealed)
            for rid, field in bad:
                log.warning("%s %s: the %s value does not open; left as it was (see 'flask "
                            "keys verify --deep')", name, rid, field)


def downgrade():
    raise click.ClickException(
        "Migration 0011 cannot be undone: values are now bound to their record's version and "
        "the older code cannot read them. Restore the backup taken before the upgrade.")
