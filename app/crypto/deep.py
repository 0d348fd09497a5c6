"""The deep check behind ``flask keys verify --deep``: every sealed value, every record version.

Each sealed value is bound to its record's version (``app.crypto.sealed``), so a value spliced
from an older version fails to open. A whole row put back from an older backup, version and
all, still opens: only the audit trail, which records every write of a sealed record with its
new version (``record.write``, reason ``v<version>``), can tell. This walks every sealed table
in batches by id (memory stays flat), opens every value, and compares each record's version with
the last recorded write of it. Findings, by table, record id and kind (never a value):

- ``does_not_open``: a value (or the record's data key) does not open: damaged, spliced from
  another version, row, field or key, or written in the refused format 0x01;
- ``older_than_audit``: the row is older than its last recorded write: rolled back;
- ``newer_than_audit``: the row is newer than its last recorded write, or has none: written
  outside the app, or the end of the audit trail was cut off.

Records whose data key was destroyed (erased cases' leftovers, revoked referrals) cannot be
opened by design; they are counted, not reported. Values that do not open are audited as every
failed decryption is (``crypto.decrypt_failed``); version findings as ``record.version_mismatch``.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.audit.actions import TABLE_TYPES, Action, Outcome
from app.audit.models import AuditEvent
from app.audit.writer import record
from app.crypto.envelope import forget_unwrapped
from app.crypto.errors import DecryptionError, KeyDestroyedError
from app.crypto.failures import flush_failures
from app.crypto.fields import SEALED_MODELS, SealedRecord
from app.crypto.sealed import Sealer, open_bytes
from app.db import db

KINDS = ("does_not_open", "older_than_audit", "newer_than_audit")
_WRITE = Action.RECORD_WRITE.value


@dataclass(frozen=True)
class Finding:
    """Something wrong with one record: where, what kind, and a detail code (never a value)."""

    table: str
    record_id: uuid.UUID
    kind: str
    detail: str
    code: str = ""  # for the audit event's reason (version findings)


@dataclass
class DeepResult:
    """What a deep check saw."""

    records: int = 0
    values: int = 0
    shredded: int = 0
    found: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """Whether nothing was found."""
        return not self.found


def sealed_models() -> list[type[SealedRecord]]:
    """The app's sealed models (not test or benchmark ones on other metadata)."""
    return [m for m in SEALED_MODELS
            if m.__table__.metadata is db.metadata]


def count_records() -> int:
    """How many sealed records there are (the length of the progress bar)."""
    total = 0
    for model in sealed_models():
        table: Any = model.__table__
        total += int(db.session.execute(select(func.count()).select_from(table)).scalar_one())
    return total


def parse_version(reason: str | None) -> int | None:
    """The version in a ``record.write`` reason (``v3``, or ``v3;...``)."""
    if not reason or not reason.startswith("v"):
        return None
    digits = reason[1:].split(";", 1)[0]
    return int(digits) if digits.isdigit() else None


def last_writes(object_type: str, ids: list[uuid.UUID]) -> dict[str, int]:
    """Record id (text) -> the version named by its last recorded write."""
    rows = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.reason)
        .where(AuditEvent.action == _WRITE, AuditEvent.object_type == object_type,
               AuditEvent.object_id.in_([str(i) for i in ids]))
        .order_by(AuditEvent.seq))
    found: dict[str, int] = {}
    for object_id, reason in rows:
        version = parse_version(reason)
        if version is not None and object_id is not None:
            found[object_id] = version
    return found


def _open_row(model: Any, row: Any, result: DeepResult) -> Finding | None:
    """Open every value of one row; the first that does not open is the finding."""
    order = model.__sealed_order__
    table = model.__tablename__
    present = ",".join(name for i, (name, _c) in enumerate(order) if row[3 + i] is not None)
    where = {"sealer": Sealer(table, row[0], row[1]), "version": row[2],
             "present": present.encode()}
    for i, (name, _column) in enumerate(order):
        blob = row[3 + i]
        if blob is None:
            continue
        try:
            open_bytes(blob, field=name, **where)
        except KeyDestroyedError:
            result.shredded += 1
            return None
        except DecryptionError as exc:
            detail = exc.reason if exc.object_type != "data_key" else f"data_key:{exc.reason}"
            return Finding(table, row[0], "does_not_open", detail)
        result.values += 1
    return None


def _compare(table: str, row: Any, audited: dict[str, int]) -> Finding | None:
    """The row's version against its last recorded write."""
    recorded = audited.get(str(row[0]))
    if recorded == row[2]:
        return None
    if recorded is None:
        return Finding(table, row[0], "newer_than_audit", f"row v{row[2]}, no recorded write",
                       f"newer_than_audit;row=v{row[2]};audit=none")
    kind = "older_than_audit" if row[2] < recorded else "newer_than_audit"
    return Finding(table, row[0], kind, f"row v{row[2]}, last recorded write v{recorded}",
                   f"{kind};row=v{row[2]};audit=v{recorded}")


def _audit_mismatches(findings: list[Finding]) -> None:
    for f in findings:
        if f.kind != "does_not_open":
            record(Action.RECORD_VERSION_MISMATCH,
                   object_type=str(TABLE_TYPES.get(f.table, f.table)), object_id=f.record_id,
                   outcome=Outcome.ERROR, reason=f.code)
    db.session.commit()


def _snapshot() -> None:
    """Start a transaction in which the rows and their recorded writes are read consistently.

    The app keeps writing while the check runs; a write committed between reading a row and
    reading its last recorded write would otherwise show as a rollback. SQLite's transactions
    (BEGIN IMMEDIATE) already see one state; PostgreSQL needs REPEATABLE READ for that.
    """
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def check_model(model: Any, batch_size: int, result: DeepResult,
                on_finding: Callable[[Finding], None],
                progress: Callable[[int], None]) -> None:
    """Check every record of one sealed model, a batch of rows (in id order) at a time; a model
    whose rows are large (files) caps the batch with ``__deep_batch__``."""
    batch_size = min(batch_size, int(getattr(model, "__deep_batch__", batch_size)))
    table = model.__table__
    kind = str(TABLE_TYPES.get(model.__tablename__, model.__tablename__))
    columns = [table.c[c] for _n, c in model.__sealed_order__]
    last: uuid.UUID | None = None
    while True:
        _snapshot()
        stmt = (select(table.c.id, table.c.data_key_id, table.c.version, *columns)
                .order_by(table.c.id).limit(batch_size))
        if last is not None:
            stmt = stmt.where(table.c.id > last)
        rows = db.session.execute(stmt).all()
        if not rows:
            db.session.commit()
            return
        last = rows[-1][0]
        audited = last_writes(kind, [r[0] for r in rows])
        found: list[Finding] = []
        for row in rows:
            for finding in (_open_row(model, row, result),
                            _compare(model.__tablename__, row, audited)):
                if finding is not None:
                    found.append(finding)
                    result.found[finding.kind] += 1
                    on_finding(finding)
        db.session.commit()  # end the snapshot before writing events
        result.records += len(rows)
        flush_failures()  # the values that did not open, audited batch by batch
        _audit_mismatches(found)
        forget_unwrapped()
        progress(len(rows))


def deep_check(batch_size: int, on_finding: Callable[[Finding], None],
               progress: Callable[[int], None] = lambda n: None) -> DeepResult:
    """Open every sealed value and compare every record's version with the audit trail."""
    result = DeepResult()
    start = time.perf_counter()
    for model in sealed_models():
        check_model(model, batch_size, result, on_finding, progress)
    result.seconds = time.perf_counter() - start
    return result
