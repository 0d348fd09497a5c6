"""Declarative base, column mixins and the transaction helper.

Every record that can appear in a URL has a random UUID primary key, so ids reveal neither
counts nor order. Editable records carry a version counter that SQLAlchemy checks on every
UPDATE (optimistic locking): a save based on a stale copy fails instead of overwriting. The
version a write will give a record is decided here, before the flush (1 when inserted, the
committed version + 1 when changed), so sealed fields can be bound to it (``app.crypto.fields``
registers itself with ``on_versioned_write``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, MetaData, Table, TypeDecorator, Uuid, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column
from sqlalchemy.orm.attributes import instance_state

from app.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    # Flask-SQLAlchemy builds ``db.Model`` at run time (``Base`` plus its table-name and bind
    # mixins), so the type checker cannot see it as a class; to it, models derive from this.
    class Model(Base):
        __abstract__ = True
        __table__: ClassVar[Table]  # every model maps one table (DeclarativeBase says FromClause)
else:
    Model = db.Model


class UUIDPrimaryKey:
    """A random UUID primary key."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Timestamps:
    """Creation and last-change times in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Versioned:
    """A version counter checked on every UPDATE (optimistic locking).

    SQLAlchemy still adds ``WHERE version = <committed>`` to each UPDATE (a stale copy raises
    ``StaleDataError``), but takes the new value from ``_assign_versions`` below rather than
    counting itself, so that value is known before the row is written.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - SQLAlchemy passes the class
        return {"version_id_col": cls.version,
                "version_id_generator": False}


WriteHook = Callable[[Session, list[tuple[Versioned, int]]], None]
_WRITE_HOOKS: list[WriteHook] = []


def on_versioned_write(hook: WriteHook) -> WriteHook:
    """Call ``hook(session, [(record, new_version), ...])`` at every flush that inserts or
    changes versioned records, after their new versions are set and before they are written."""
    _WRITE_HOOKS.append(hook)
    return hook


def committed_version(record: Versioned) -> int | None:
    """The version the database holds for ``record`` (None if it was never flushed)."""
    state = instance_state(record)
    if state.key is None:
        return None
    if "version" in state.committed_state:  # changed in memory since it was loaded
        return int(state.committed_state["version"])
    loaded = record.__dict__.get("version")  # as read, without SQLAlchemy's attribute lookup
    return int(loaded) if loaded is not None else record.version


@event.listens_for(Session, "before_flush")
def _assign_versions(session: Session, _ctx: Any, _instances: Any) -> None:
    """Give every new versioned record version 1 and every changed one its committed version + 1
    (what SQLAlchemy's own counter would do, decided before the flush)."""
    written: list[tuple[Versioned, int]] = []
    for record in session.new:
        if isinstance(record, Versioned):
            record.version = 1
            written.append((record, 1))
    for record in session.dirty:
        if isinstance(record, Versioned) and session.is_modified(record,
                                                                 include_collections=False):
            before = committed_version(record)
            if before is None:
                continue
            record.version = before + 1
            written.append((record, before + 1))
    for hook in _WRITE_HOOKS:  # also with nothing written: hooks reset what they noted
        hook(session, written)


@contextmanager
def transaction(*, keep_loaded: bool = False) -> Iterator[Any]:
    """Run a unit of work and commit it, or roll everything back on any error.

    ``keep_loaded``: the commit leaves the objects already loaded as they are instead of
    expiring them (for a commit that only appends, such as the audit event recorded before a
    page is shown: otherwise the user, their session, sites and organisation, and the record
    about to be shown are each read again by the rest of the request). They hold what this
    request read a moment before, as if it had run in one transaction; a rollback still
    expires everything."""
    session = db.session()
    if session.info.get(_ONE):  # inside ``one_transaction``: the outer block commits
        yield session
        session.flush()
        return
    try:
        yield session
        if keep_loaded:
            before, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = before
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise


_ONE = "amana_one_transaction"


@contextmanager
def one_transaction() -> Iterator[Any]:
    """Several service writes as one unit of work: each ``transaction()`` (or ``saving``) run
    inside only flushes, and this commits once at the end or rolls everything back on any
    error (a field intake becoming a case with its consents and incident: all or nothing).
    Load and audit reads before it: an access recorded inside would roll back with a refusal."""
    session = db.session()
    if session.info.get(_ONE):
        raise RuntimeError("one_transaction() does not nest")
    session.info[_ONE] = True
    try:
        yield session
        session.info.pop(_ONE, None)
        session.commit()
    except BaseException:
        session.info.pop(_ONE, None)
        session.rollback()
        raise
