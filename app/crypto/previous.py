"""What a sealed field held before the change being saved: the value the database holds, opened
under the record's committed version and presence (``app.cases.history`` keeps it, sealed, as
the previous value of the field)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import NO_VALUE
from sqlalchemy.orm.attributes import instance_state

from app.crypto.fields import SealedRecord, _committed
from app.crypto.sealed import open_value, sealer_of
from app.db import db


def committed_value(record: SealedRecord, name: str) -> Any:
    """The value of sealed field ``name`` of ``record`` as the database holds it, before the
    changes made in memory since the record was loaded or last flushed; a value that does not
    open raises ``DecryptionError`` (audited), as any read does."""
    field = record.__sealed_fields__[name]
    committed = instance_state(record).committed_state
    blob = committed.get(field.column, NO_VALUE)
    if blob is NO_VALUE:
        if field.column not in committed:
            return getattr(record, name)  # unchanged in memory
        table = record.__table__  # changed before it was ever loaded: read what is stored
        blob = db.session.connection().execute(
            select(table.c[field.column]).where(table.c.id == record.id)).scalar()
    if blob is None:
        return None
    version, present = _committed(record)
    return open_value(field.codec, blob, name, version, present, sealer_of(record, field.table))
