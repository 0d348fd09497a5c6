"""Sealed fields: declared once on a model, read and written as plain attributes.

    class Case(SealedRecord, UUIDPrimaryKey, Timestamps, Model):
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
and ``app.crypto.search.find`` searches them.

Every sealed record is ``Versioned``, and each value is bound to the version the record has
once the write is flushed (and to which of its fields hold a value): at every flush that inserts
or changes a record, all its values are sealed again under its new version (from the plaintext
already known, or opened under the old one), and one ``record.write`` event with the new version
goes to the audit trail. A value put back from an older version of the record then fails to
open; ``flask keys verify --deep`` compares each record's version with its last recorded write.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, cast, overload

from sqlalchemy import ForeignKey, LargeBinary, delete, event, insert
from sqlalchemy.orm import NO_VALUE, Mapped, Session, declared_attr, mapped_column, relationship
from sqlalchemy.orm.attributes import instance_state

from app.audit.actions import TABLE_TYPES, Action
from app.audit.writer import record as audit
from app.crypto.blind_index import BlindIndex, entries_for
from app.crypto.envelope import is_unwrapped, new_data_key
from app.crypto.models import BlindIndexEntry, DataKey
from app.crypto.sealed import (
    BytesCodec,
    Codec,
    DateCodec,
    IntCodec,
    LongText,
    Text,
    open_bytes,
    open_value,
    seal_bytes,
    seal_value,
    sealer_of,
)
from app.db import Versioned, committed_version, db, on_versioned_write

T = TypeVar("T")
M = TypeVar("M")
# Instance dict: field -> (sealed blob, value, version and presence it is sealed under), for the
# values last read or written.
_PLAIN = "_amana_plain"
_REINDEX = "_amana_reindex"  # instance dict: field -> blind-index rows to write at flush
_WRITTEN = "_amana_sealed_written"  # session.info: (table, id, version) of records being written
SEALED_MODELS: list[type[SealedRecord]] = []


class SealedField(Generic[T]):
    """Descriptor for one sealed value of a ``SealedRecord`` model."""

    def __init__(self, codec: Codec[T], *,
                 index: BlindIndex | tuple[BlindIndex, ...] | None = None) -> None:
        # ``index`` is the field's main index (what ``find`` matches by equality); a tuple
        # names more indexes kept for the same value (the parts of a name).
        self.indexes = index if isinstance(index, tuple) else (index,) if index else ()
        self.codec, self.index = codec, (self.indexes[0] if self.indexes else None)
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

    def __get__(self, record: Any, owner: type) -> Self | T | None:
        if record is None:
            return self
        blob: bytes | None = getattr(record, self.column)
        if blob is None:
            return None
        plain: dict[str, tuple[bytes, Any, int, bytes]] = record.__dict__.setdefault(_PLAIN, {})
        seen = plain.get(self.name)
        if seen is not None and seen[0] is blob:
            return cast(T, seen[1])  # the value this field cached with its blob
        # Not written in this transaction: sealed under the version the database holds.
        version, present = _committed(record)
        # Positional: this runs for every value read (field, version, presence, sealer).
        value = open_value(self.codec, blob, self.name, version, present,
                           sealer_of(record, self.table))
        plain[self.name] = (blob, value, version, present)
        return value

    def __set__(self, record: Any, value: T | None) -> None:
        # Sealed under the version the next flush will give the record; if that guess is
        # overtaken (another field emptied or filled, a flush in between), the flush seals again.
        version = _next_version(record)
        present = _presence(record, self.name, value is not None)
        blob = seal_value(self.codec, value, self.name, version, present,
                          sealer_of(record, self.table))
        if blob is not None:
            record.__dict__.setdefault(_PLAIN, {})[self.name] = (blob, value, version, present)
        setattr(record, self.column, blob)
        if self.indexes:
            record.__dict__.setdefault(_REINDEX, {})[self.name] = index_rows(self, record, value)


def index_text(value: object) -> str | None:
    """What a sealed value is indexed as: text itself, a date in ISO form, nothing else."""
    if isinstance(value, str):
        return value
    return value.isoformat() if isinstance(value, date) else None


def index_rows(field: SealedField[Any], record: Any, value: object) -> list[dict[str, object]]:
    """Every blind-index row of ``value`` in ``field`` of ``record`` (all its indexes)."""
    return [row for index in field.indexes
            for row in entries_for(index, index_text(value), owner_table=field.table,
                                   owner_id=record.id, field_name=field.name,
                                   data_key_id=record.data_key_id)]


class SealedText(SealedField[str]):
    """A short sealed text (names, phone numbers, places)."""

    def __init__(self, *, max_length: int = 500,
                 index: BlindIndex | tuple[BlindIndex, ...] | None = None) -> None:
        super().__init__(Text(max_length), index=index)


class SealedLongText(SealedField[str]):
    """A long sealed text (narratives, notes, plans)."""

    def __init__(self, *, max_length: int = 100_000, index: BlindIndex | None = None) -> None:
        super().__init__(LongText(max_length), index=index)


class SealedDate(SealedField[date]):
    """A sealed calendar date (date of birth)."""

    def __init__(self, *, index: BlindIndex | None = None) -> None:
        super().__init__(DateCodec(), index=index)


class SealedBytes(SealedField[bytes]):
    """Sealed raw bytes (an attached file). Never indexed; a model that lists its records
    without their bytes keeps this field on a row of its own (every read of a record's values
    looks at which of its fields hold one)."""

    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        super().__init__(BytesCodec(max_bytes))


class SealedInt(SealedField[int]):
    """A sealed whole number."""

    def __init__(self) -> None:
        super().__init__(IntCodec())


if TYPE_CHECKING:
    from app.db import Model as _Mapped  # to the type checker, a sealed record is a model
else:
    _Mapped = object  # the model's own bases make it one


class SealedRecord(_Mapped):
    """Mixin for models with sealed fields; the model needs a UUID ``id`` (``UUIDPrimaryKey``)
    and a version (``Versioned``): each value is bound to the record's version."""

    __sealed_fields__: ClassVar[dict[str, SealedField[Any]]] = {}
    # (field name, column) of every sealed field, in name order (the presence order).
    __sealed_order__: ClassVar[tuple[tuple[str, str], ...]] = ()
    if TYPE_CHECKING:  # given by ``UUIDPrimaryKey``, which every sealed model has
        id: Mapped[uuid.UUID]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        found = {n: v for n, v in vars(cls).items() if isinstance(v, SealedField)}
        if found:
            table = cls.__dict__.get("__tablename__")
            if not isinstance(table, str):
                raise TypeError(f"{cls.__name__} declares sealed fields but no __tablename__")
            if not issubclass(cls, Versioned):
                raise TypeError(f"{cls.__name__} declares sealed fields but is not Versioned: "
                                "its values are bound to its version")
            for sealed in found.values():
                sealed.bind(cls, table)
                if sealed.column not in cls.__dict__:
                    setattr(cls, sealed.column, mapped_column(sealed.column, LargeBinary))
            cls.__sealed_fields__ = {**cls.__sealed_fields__, **found}
            cls.__sealed_order__ = tuple(sorted((n, f.column)
                                                for n, f in cls.__sealed_fields__.items()))
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
        self.id = kwargs.pop("id", None) or uuid.uuid4()
        key = data_key or new_data_key(self.__tablename__)
        self.data_key, self.data_key_id = key, key.id
        super().__init__(**kwargs)


def _column(record: Any, column: str) -> Any:
    found = record.__dict__.get(column, NO_VALUE)
    return getattr(record, column) if found is NO_VALUE else found


# These run for every sealed value read or written, so they read the instance dict directly
# (an attribute lookup through SQLAlchemy costs several times more).


def _presence(record: Any, changing: str | None = None, has_value: bool = False) -> bytes:
    """Which sealed fields of ``record`` hold a value now (``changing`` as ``has_value`` says)."""
    d = record.__dict__
    names = []
    for name, column in record.__sealed_order__:
        if name == changing:
            if has_value:
                names.append(name)
            continue
        value = d.get(column, NO_VALUE)
        if value is NO_VALUE:
            value = getattr(record, column)
        if value is not None:
            names.append(name)
    return ",".join(names).encode()


def _committed(record: Any) -> tuple[int, bytes]:
    """The version and presence the database holds for ``record`` (what its stored values are
    sealed under); for a record never flushed, those its first write will have."""
    version = committed_version(record)
    if version is None:
        return 1, _presence(record)
    changed = instance_state(record).committed_state
    if not changed:  # nothing changed in memory: the committed values are the current ones
        return version, _presence(record)
    d = record.__dict__
    names = []
    for name, column in record.__sealed_order__:
        old = changed.get(column, NO_VALUE)
        if old is NO_VALUE:
            old = d.get(column, NO_VALUE)
            if old is NO_VALUE:
                old = getattr(record, column)
        if old is not None:
            names.append(name)
    return version, ",".join(names).encode()


def _next_version(record: Any) -> int:
    """The version the record's next write will give it (see ``app.db._assign_versions``)."""
    version = committed_version(record)
    return 1 if version is None else version + 1


def _key_destroyed(record: Any) -> bool:
    key: DataKey | None = record.__dict__.get("data_key")
    if key is None:
        if is_unwrapped(record.data_key_id):  # in use in this request: not shredded
            return False
        key = record.data_key
        assert key is not None
    return key.wrapped is None


def _reseal(record: Any, version: int) -> None:
    """Seal every value of ``record`` under ``version`` and its presence now, unless it already is.

    A value not written in this transaction is opened under the committed version first; one
    that does not open fails the flush (``DecryptionError``, audited): a damaged or spliced value
    is never sealed again as if it were genuine. A record whose data key was destroyed (a revoked
    referral) keeps its unreadable values as they are.
    """
    present = _presence(record)
    plain: dict[str, tuple[bytes, Any, int, bytes]] = record.__dict__.setdefault(_PLAIN, {})
    before: tuple[int, bytes] | None = None
    for name, column in record.__sealed_order__:
        blob = _column(record, column)
        if blob is None:
            continue
        seen = plain.get(name)
        if seen is not None and seen[0] is blob:
            if seen[2] == version and seen[3] == present:
                continue
            if _key_destroyed(record):
                return
            field = record.__sealed_fields__[name]
            new = seal_value(field.codec, seen[1], field=name, version=version, present=present,
                             sealer=sealer_of(record, field.table))
            plain[name] = (new, seen[1], version, present)  # type: ignore[assignment]  # a cached value is never None, nor its new seal
        else:
            if _key_destroyed(record):
                return
            before = before or _committed(record)
            sealer = sealer_of(record, record.__sealed_fields__[name].table)
            raw = open_bytes(blob, field=name, version=before[0], present=before[1],
                             sealer=sealer)
            new = seal_bytes(raw, field=name, version=version, present=present, sealer=sealer)
            plain.pop(name, None)
        setattr(record, column, new)


def seal_now(record: SealedRecord) -> None:
    """Seal every value of ``record`` under the version and presence its next write gives it, as
    a flush does. Only for code that inserts rows without the ORM's flush (bulk loads in the
    benchmarks): those rows have no recorded write, so ``keys verify --deep`` reports them."""
    _reseal(record, _next_version(record))


@on_versioned_write
def _seal_under_new_versions(session: Session, written: list[tuple[Any, int]]) -> None:
    """Before a flush writes sealed records: bind their values to their new versions and note
    the writes for the audit trail (written by ``_audit_writes`` once the rows are)."""
    notes: list[tuple[str, uuid.UUID, int]] = []
    with session.no_autoflush:
        for record, version in written:
            if isinstance(record, SealedRecord):
                _reseal(record, version)
                notes.append((record.__tablename__, record.id, version))
    session.info[_WRITTEN] = notes


@event.listens_for(Session, "after_flush")
def _audit_writes(session: Session, _ctx: Any) -> None:
    """One ``record.write`` event per sealed record written, naming its new version: the trail
    then knows each record's current version (``flask keys verify --deep`` checks it)."""
    notes: list[tuple[str, uuid.UUID, int]] = session.info.pop(_WRITTEN, [])
    if not notes:
        return
    if session is not db.session.registry():
        raise RuntimeError("sealed records are written through db.session (the audited session)")
    for table, record_id, version in notes:
        audit(Action.RECORD_WRITE, object_type=str(TABLE_TYPES.get(table, table)),
              object_id=record_id, reason=f"v{version}")


def open_saved(model: type[SealedRecord], name: str, row: Mapping[str, Any]) -> Any:
    """The value of field ``name`` in a saved row of ``model`` (column name -> stored value, as a
    raw SELECT or a backup gives it), opened under that row's own id, data key, version and
    presence; ``DecryptionError`` (audited) if it does not open."""
    field = model.__sealed_fields__[name]
    present = ",".join(n for n, column in model.__sealed_order__ if row[column] is not None)
    return open_value(field.codec, row[field.column], table=field.table, field=name,
                      record_id=uuid.UUID(str(row["id"])),
                      data_key_id=uuid.UUID(str(row["data_key_id"])),
                      version=int(row["version"]), present=present.encode())


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
        conn.execute(delete(table).where(table.c.owner_table == record.__tablename__,
                                         table.c.owner_id == record.id))
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
    session.info.pop(_WRITTEN, None)
