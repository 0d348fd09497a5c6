"""Sealed fields: declared once on a model, read and written as plain attributes.

    class Case(SealedRecord, UUIDPrimaryKey, Timestamps, db.Model):
        __tablename__ = "cases"
        full_name = SealedText(max_length=200, index=PERSON_NAME)
        date_of_birth = SealedDate()
        narrative = SealedLongText()

Each field is stored in a ``<name>_sealed`` binary column (added by ``SealedRecord`` unless the
model declares it), sealed by ``app.crypto.sealed`` under the record's own data key. The mixin
adds ``data_key_id``/``data_key`` (unless declared) and, in ``__init__``, gives the record its
id and a new data key, or the one passed (``Note(data_key=case.data_key, ...)`` for records
that share their parent's key). Reading a value that does not open raises ``DecryptionError``
and audits it. Fields declared with ``index=`` keep their blind-index entries current at flush,
and ``find`` searches them.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar, Generic, Self, TypeVar, overload

from sqlalchemy import ForeignKey, LargeBinary, Select, delete, event, insert
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship

from app.crypto.blind_index import BlindIndex, candidates_query, entries_for
from app.crypto.envelope import new_data_key
from app.crypto.models import BlindIndexEntry, DataKey
from app.crypto.sealed import Codec, DateCodec, IntCodec, LongText, Text, open_value, seal_value
from app.db import db

T = TypeVar("T")
M = TypeVar("M")
_PLAIN = "_amana_plain"      # instance dict: field -> (sealed blob, value) last read or written
_REINDEX = "_amana_reindex"  # instance dict: field -> blind-index rows to write at flush
SEALED_MODELS: list[type[SealedRecord]] = []


class SealedField(Generic[T]):
    """Descriptor for one sealed value of a ``SealedRecord`` model."""

    def __init__(self, codec: Codec[T], *, index: BlindIndex | None = None) -> None:
        self.codec, self.index = codec, index
        self.name = self.column = self.table = ""
        self.owner: type[SealedRecord] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.column = name, f"{name}_sealed"

    def bind(self, owner: type[SealedRecord], table: str) -> None:
        """Attach to the model that declared it (called by ``SealedRecord``)."""
        self.owner, self.table = owner, table

    @overload
    def __get__(self, record: None, owner: type) -> Self: ...
    @overload
    def __get__(self, record: object, owner: type) -> T | None: ...

    def __get__(self, record: object | None, owner: type) -> Self | T | None:
        if record is None:
            return self
        blob: bytes | None = getattr(record, self.column)
        if blob is None:
            return None
        plain: dict[str, tuple[bytes, Any]] = record.__dict__.setdefault(_PLAIN, {})
        seen = plain.get(self.name)
        if seen is not None and seen[0] is blob:
            return seen[1]  # type: ignore[no-any-return]
        value = open_value(self.codec, blob, table=self.table, field=self.name,
                           record_id=record.id, data_key_id=record.data_key_id)  # type: ignore[attr-defined]
        plain[self.name] = (blob, value)
        return value

    def __set__(self, record: Any, value: T | None) -> None:
        blob = seal_value(self.codec, value, table=self.table, field=self.name,
                          record_id=record.id, data_key_id=record.data_key_id)
        if blob is not None:
            record.__dict__.setdefault(_PLAIN, {})[self.name] = (blob, value)
        setattr(record, self.column, blob)
        if self.index is not None:
            rows = entries_for(self.index, value if isinstance(value, str) else None,
                               owner_table=self.table, owner_id=record.id,
                               field_name=self.name, data_key_id=record.data_key_id)
            record.__dict__.setdefault(_REINDEX, {})[self.name] = rows


class SealedText(SealedField[str]):
    """A short sealed text (names, phone numbers, places)."""

    def __init__(self, *, max_length: int = 500, index: BlindIndex | None = None) -> None:
        super().__init__(Text(max_length), index=index)


class SealedLongText(SealedField[str]):
    """A long sealed text (narratives, notes, plans)."""

    def __init__(self, *, max_length: int = 100_000, index: BlindIndex | None = None) -> None:
        super().__init__(LongText(max_length), index=index)


class SealedDate(SealedField[date]):
    """A sealed calendar date (date of birth)."""

    def __init__(self) -> None:
        super().__init__(DateCodec())


class SealedInt(SealedField[int]):
    """A sealed whole number."""

    def __init__(self) -> None:
        super().__init__(IntCodec())


class SealedRecord:
    """Mixin for models with sealed fields; the model needs a UUID ``id`` (``UUIDPrimaryKey``)."""

    __sealed_fields__: ClassVar[dict[str, SealedField[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        found = {n: v for n, v in vars(cls).items() if isinstance(v, SealedField)}
        if found:
            table = cls.__dict__.get("__tablename__")
            if not isinstance(table, str):
                raise TypeError(f"{cls.__name__} declares sealed fields but no __tablename__")
            for sealed in found.values():
                sealed.bind(cls, table)
                if sealed.column not in cls.__dict__:
                    setattr(cls, sealed.column, mapped_column(sealed.column, LargeBinary))
            cls.__sealed_fields__ = {**cls.__sealed_fields__, **found}
            SEALED_MODELS.append(cls)
        super().__init_subclass__(**kwargs)

    @declared_attr
    def data_key_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - SQLAlchemy passes the class
        """The record's data key."""
        return mapped_column(ForeignKey(DataKey.__table__.c.id), nullable=False, index=True)

    @declared_attr
    def data_key(cls) -> Mapped[DataKey]:  # noqa: N805
        """The record's data key row (wrapped; ``envelope.unwrap`` gives the key itself)."""
        return relationship(DataKey)

    def __init__(self, *, data_key: DataKey | None = None, **kwargs: Any) -> None:
        # The id and the data key must exist before any field is sealed: both are in the AAD.
        self.id = kwargs.pop("id", None) or uuid.uuid4()  # type: ignore[attr-defined]
        key = data_key or new_data_key(self.__tablename__)  # type: ignore[attr-defined]
        self.data_key, self.data_key_id = key, key.id
        super().__init__(**kwargs)


def find(stmt: Select[M], field: SealedField[str], value: str) -> list[M]:
    """Records of ``stmt`` (a scoped query of the field's model) whose ``field`` equals ``value``
    once normalised: blind-index candidates, each confirmed after decryption."""
    if field.index is None or field.owner is None:
        raise ValueError(f"{field.name} has no blind index")
    owner: Any = field.owner
    sub = candidates_query(field.index, value, field.table)
    rows: list[M] = list(db.session.execute(stmt.where(owner.id.in_(sub))).scalars())
    return [r for r in rows if field.index.same(field.__get__(r, owner), value)]


@event.listens_for(Session, "after_flush")
def _write_index_entries(session: Session, _ctx: Any) -> None:
    """Replace the blind-index entries of sealed fields changed since the last flush."""
    table = BlindIndexEntry.__table__
    pending_records = [r for r in list(session.new) + list(session.dirty) if _REINDEX in r.__dict__]
    gone = [r for r in session.deleted if isinstance(r, SealedRecord)]
    if not pending_records and not gone:
        return
    conn = session.connection()
    for record in gone:
        conn.execute(delete(table).where(table.c.owner_table == record.__tablename__,  # type: ignore[attr-defined]
                                         table.c.owner_id == record.id))  # type: ignore[attr-defined]
    new = {id(r) for r in session.new}
    rows: list[dict[str, object]] = []
    for record in pending_records:
        pending: dict[str, list[dict[str, object]]] = record.__dict__.pop(_REINDEX)
        if id(record) not in new:
            conn.execute(delete(table).where(
                table.c.owner_table == record.__tablename__, table.c.owner_id == record.id,
                table.c.field.in_(list(pending))))
        for field_rows in pending.values():
            rows.extend(field_rows)
    if rows:
        conn.execute(insert(table), rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending_entries(session: Session, _previous: Any) -> None:
    """Index rows computed for values that were rolled back must never be written later."""
    for record in session.identity_map.values():
        record.__dict__.pop(_REINDEX, None)
