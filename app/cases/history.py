"""Change history of a case: the previous values of every changed field, sealed, with who and when.

Captured in one place, at flush, for every record of the case family listed in ``TRACKED`` (the
case itself, incidents and their perpetrators, the assessment and safety plan, action-plan goals,
follow-ups): a service that changes one of them cannot forget it. Within a transaction the first
previous value of each field is kept; when the transaction commits, the fields whose value is
back to what it was are dropped (saving the same form twice records nothing) and one
``CaseChange`` per changed record is added, its previous values one sealed JSON value under the
case's data key (erased with the case). A rolled-back save (refused, lost race) records nothing.

Creation is not a change (there are no previous values): a record inserted in the transaction is
not followed until the next one. Consent decisions and status moves are histories already (new
rows, never updates): the case's ``status`` and ``closed_at`` are left to ``StatusChange``.
Perpetrators are fields of their incident (``perpetrator1``..``perpetrator3``, each the codes
of that perpetrator, or none when added).

Who: ``changed_by(user)`` around a save names the user; without it, the signed-in user of the
request (whom the audit trail names too); outside a request (a command) nobody, shown as the
system.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, event, select
from sqlalchemy.orm import NO_VALUE, Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import instance_state

from app.cases.models import ActionItem, Assessment, Case, FollowUp, Incident, IncidentPerpetrator
from app.clock import utcnow
from app.crypto.fields import SealedLongText, SealedRecord
from app.crypto.previous import committed_value
from app.db import Model, UTCDateTime, UUIDPrimaryKey, Versioned, db

_PENDING = "amana_history"        # session.info: (table, id) -> _Pending, this transaction
_CREATED = "amana_history_new"    # session.info: ids inserted in this transaction
_BY = "amana_history_by"          # session.info: the user named by ``changed_by``
ADDED = "added"                   # the previous value of a perpetrator added to an incident
# Bookkeeping every record has: never a change of what it says.
_NOT_FIELDS = {"id", "version", "created_at", "updated_at", "data_key_id", "case_id",
               "incident_id"}


class CaseChange(UUIDPrimaryKey, SealedRecord, Versioned, Model):
    """One saved change of one record of a case: which fields (codes, clear: a field's name
    identifies no one), who, when, and the previous values (sealed under the case's key)."""

    __tablename__ = "case_changes"
    # The history page reads a case's changes newest first, by keyset (``at``, ``id``).
    __table_args__ = (Index("ix_case_changes_case_at", "case_id", "at", "id"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    record_table: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    fields: Mapped[str] = mapped_column(String(1000), nullable=False)  # comma-separated codes
    previous = SealedLongText()  # JSON: field code -> previous value

    def field_codes(self) -> list[str]:
        """The changed fields, in the order stored (sorted)."""
        return [f for f in self.fields.split(",") if f]

    def previous_values(self) -> dict[str, Any]:
        """The previous values by field code (opened: only for a viewer of the case)."""
        text = self.previous
        return dict(json.loads(text)) if text else {}


@dataclass(frozen=True)
class Tracked:
    """How a model's updates are recorded: the record they belong to (``owner``: table, id and
    the record object that holds the case key) and its fields (all mapped columns but
    bookkeeping and ``skip``; sealed fields by their names)."""

    model: type[Any]
    skip: frozenset[str] = frozenset()

    def clear_fields(self) -> list[str]:
        sealed = getattr(self.model, "__sealed_fields__", {})
        columns = {f.column for f in sealed.values()}
        return [c.key for c in self.model.__mapper__.column_attrs
                if c.key not in _NOT_FIELDS | self.skip | columns]

    def sealed_fields(self) -> list[str]:
        return sorted(getattr(self.model, "__sealed_fields__", {}))


TRACKED: dict[str, Tracked] = {t.model.__tablename__: t for t in (
    # status moves are StatusChange rows; who assessed is the assessment's own bookkeeping.
    # (and the case's risk level is the assessment's, copied).
    Tracked(Case, frozenset({"status", "closed_at", "risk_level"})),
    Tracked(Incident, frozenset({"recorded_by_id"})),
    Tracked(Assessment, frozenset({"assessed_by_id"})),
    Tracked(ActionItem),
    Tracked(FollowUp, frozenset({"recorded_by_id"})),
)}
PERPETRATOR_CODES = ("sex", "age_group", "relationship", "occupation")
PERPETRATOR = re.compile(r"perpetrator[1-9]")  # the field code of the perpetrator in a position


@dataclass
class _Pending:
    record: Any                      # the record changed (an incident for its perpetrators)
    case_id: uuid.UUID
    previous: dict[str, Any] = field(default_factory=dict)


@contextmanager
def changed_by(user: Any) -> Iterator[None]:
    """Name ``user`` as the author of the changes saved inside the block (None: the system)."""
    info = db.session().info
    before = info.get(_BY)
    info[_BY] = user.id if user is not None else None
    try:
        yield
    finally:
        info[_BY] = before


def _author(session: Session) -> uuid.UUID | None:
    named: uuid.UUID | None = session.info.get(_BY)
    if named is not None:
        return named
    if has_request_context() and current_user and current_user.is_authenticated:
        return uuid.UUID(str(current_user.id))
    return None


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _stored_column(session: Session, record: Any, column: str) -> Any:
    """A column's value as the database holds it (when the copy in memory never loaded it)."""
    table = record.__table__
    return session.connection().execute(
        select(table.c[column]).where(table.c.id == record.id)).scalar_one_or_none()


def _clear_previous(session: Session, record: Any, name: str) -> Any:
    state = instance_state(record)
    if name not in state.committed_state:
        return NO_VALUE  # unchanged since loaded or flushed
    old = state.committed_state[name]
    return _stored_column(session, record, name) if old is NO_VALUE else old


def _perpetrator(row: IncidentPerpetrator | None, old: bool = False) -> dict[str, str] | None:
    if row is None:
        return None
    committed = instance_state(row).committed_state
    return {c: committed.get(c, getattr(row, c)) if old else getattr(row, c)
            for c in PERPETRATOR_CODES}


def _note(pending: dict[tuple[str, uuid.UUID], _Pending], record: Any, case_id: uuid.UUID,
          name: str, value: Any) -> None:
    key = (record.__tablename__, record.id)
    entry = pending.setdefault(key, _Pending(record, case_id))
    entry.previous.setdefault(name, _json(value))  # the first previous value in the transaction


@event.listens_for(Session, "before_flush")
def _capture(session: Session, _ctx: Any, _instances: Any) -> None:
    """Note the previous values of every tracked record about to be updated."""
    created: set[uuid.UUID] = session.info.setdefault(_CREATED, set())
    pending: dict[tuple[str, uuid.UUID], _Pending] = session.info.setdefault(_PENDING, {})
    for record in session.new:
        if getattr(record, "__tablename__", "") in TRACKED \
                or isinstance(record, IncidentPerpetrator):
            created.add(record.id)
    with session.no_autoflush:
        for record in list(session.dirty):
            spec = TRACKED.get(getattr(record, "__tablename__", ""))
            if spec is None or record.id in created:
                continue
            case_id = record.id if isinstance(record, Case) else record.case_id
            for name in spec.clear_fields():
                old = _clear_previous(session, record, name)
                if old is not NO_VALUE:
                    _note(pending, record, case_id, name, old)
            for name in spec.sealed_fields():
                column = record.__sealed_fields__[name].column
                if column in instance_state(record).committed_state:
                    _note(pending, record, case_id, name, committed_value(record, name))
        _perpetrators(session, pending, created)


def _perpetrators(session: Session, pending: dict[tuple[str, uuid.UUID], _Pending],
                  created: set[uuid.UUID]) -> None:
    """Perpetrators added, changed or removed on an incident that already existed (read from
    the history of each loaded incident's collection: a new row has no incident id yet)."""
    for incident in list(session.identity_map.values()):
        if not isinstance(incident, Incident) or incident.id in created \
                or "perpetrators" not in incident.__dict__:
            continue
        rows = instance_state(incident).attrs["perpetrators"].history
        for row in rows.added or ():
            _note(pending, incident, incident.case_id, f"perpetrator{row.position}", ADDED)
        changed = [r for r in rows.unchanged or () if r in session.dirty]
        for row in [*(rows.deleted or ()), *changed]:
            _note(pending, incident, incident.case_id, f"perpetrator{row.position}",
                  _perpetrator(row, old=True))


def _differs(name: str, old: Any, now: Any) -> bool:
    if old == ADDED and PERPETRATOR.fullmatch(name):  # added: a change unless removed again
        return now is not None
    return bool(old != now)


def _current(record: Any, name: str) -> Any:
    if PERPETRATOR.fullmatch(name):
        position = int(name.removeprefix("perpetrator"))
        found = [p for p in record.perpetrators if p.position == position]
        return _perpetrator(found[0]) if found else None
    return _json(getattr(record, name))


@event.listens_for(Session, "before_commit")
def _write_changes(session: Session) -> None:
    """Add one ``CaseChange`` per record whose fields differ from what they were (the commit's
    own flush writes them, sealed). The changes are flushed first, so that all are noted."""
    if not (session.new or session.dirty or session.deleted or session.info.get(_PENDING)):
        session.info.pop(_CREATED, None)
        return
    session.flush()
    pending: dict[tuple[str, uuid.UUID], _Pending] = session.info.pop(_PENDING, {})
    session.info.pop(_CREATED, None)
    if not pending:
        return
    by, at = _author(session), utcnow()
    with session.no_autoflush:
        for (table, record_id), entry in pending.items():
            if entry.record in session.deleted or instance_state(entry.record).was_deleted:
                continue
            previous = {name: old for name, old in entry.previous.items()
                        if _differs(name, old, _current(entry.record, name))}
            if not previous:
                continue
            session.add(CaseChange(
                case_id=entry.case_id, record_table=table, record_id=record_id, by_id=by, at=at,
                fields=",".join(sorted(previous)), data_key=entry.record.data_key,
                previous=json.dumps(previous, sort_keys=True, ensure_ascii=False)))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    """A rolled-back save records nothing."""
    session.info.pop(_PENDING, None)
    session.info.pop(_CREATED, None)


def tracked_models() -> list[type[Any]]:
    """Every model whose updates are recorded (the perpetrators through their incident)."""
    return [t.model for t in TRACKED.values()] + [IncidentPerpetrator]

