"""When an organisation's statistics must be counted again, and the last count remembered.

Counting a year (``queries.tables``) and protecting its grid (``suppression.protect``) take
seconds over tens of thousands of incidents; the result changes only when a counted record
does. So every commit that inserts, changes or deletes a counted record (a case, an incident,
a perpetrator, a consent decision, a referral, a site) writes a new random stamp on its
organisation's row of ``statistics_stamps`` (``_noted`` after each flush, ``_stamp`` just
before the commit, in the same transaction: a rolled-back change leaves the stamp alone).
A request reads the stamp (one primary-key lookup) and reuses the remembered count while it
matches. Two stamps:

- ``removed`` changes when an incident may have left the statistics: any consent decision, a
  deleted case, incident or referral. A count made before it is never shown again, so a
  withdrawal takes effect on the very next page.
- ``changed`` changes at every counted write. A count made before it is reused for at most
  ``STATS_RECOUNT_MINUTES`` (``AMANA_STATS_RECOUNT_MINUTES``, default 10; 0 counts again at
  every change): the page says when it was counted. Besides sparing a busy organisation a
  recount at every new incident, this publishes at most one version of the grid per window,
  which leaves less to difference over time.

A figure that changes with time alone (a referral "not answered in time" once its deadline
passes) sets an expiry: at the next deadline the count is made again (within the window).

The memory is per process (each worker counts once per change); the stamps are shared by
every process and host through the database.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, attributes

from app.cases.models import Case, ConsentRecord, Incident, IncidentPerpetrator
from app.clock import utcnow
from app.db import db
from app.directory.models import Site
from app.referrals.models import Referral
from app.reports.models import StatisticsStamp

T = TypeVar("T")

WATCHED = (Case, Incident, IncidentPerpetrator, ConsentRecord, Referral, Site)
PENDING = "amana.statistics.changed"   # session.info: {organisation id or EVERY: removal?}
EVERY = "every"                        # an owner that could not be found: stamp them all
MEMORY = 8                             # counts remembered per process (one per org and year)


def _loaded(record: Any, name: str) -> Any:
    """An attribute's value if it is in memory (never a load: the record may be deleted)."""
    return attributes.instance_state(record).dict.get(name)


def _identity(record: Any) -> Any:
    key = attributes.instance_state(record).identity
    return key[0] if key else _loaded(record, "id")


def _parent(session: Session, record: Any, name: str) -> Any:
    """The record's ``case_id`` / ``incident_id``: from memory, else from its row (a record
    changed after it expired holds only what was set)."""
    found = _loaded(record, name)
    if found is None and record not in session.deleted:
        model = type(record)
        found = session.execute(select(getattr(model, name)).where(
            model.id == _identity(record))).scalar()
    return found


def _owners(session: Session, wanted: dict[Any, bool], model: Any, column: Any,
            known: dict[Any, Any]) -> dict[Any, Any]:
    """``id -> owner`` for ``wanted`` ids: from records in the session first, then one query."""
    found = {i: known[i] for i in wanted if known.get(i) is not None}
    missing = [i for i in wanted if i is not None and i not in found]
    if missing:
        rows = session.execute(select(model.id, column).where(model.id.in_(missing)))
        found.update({row[0]: row[1] for row in rows})
    return found


def _changed(session: Session) -> dict[Any, bool]:
    """The organisations whose counted records this flush writes, and whether an incident may
    have left their statistics."""
    out: dict[Any, bool] = {}
    cases: dict[Any, bool] = {}
    incidents: dict[Any, bool] = {}
    sites: dict[Any, bool] = {}
    case_org: dict[Any, Any] = {}
    incident_case: dict[Any, Any] = {}

    def add(into: dict[Any, bool], key: Any, removal: bool) -> None:
        into[key] = into.get(key, False) or removal

    for group, deleted in ((session.new, False), (session.dirty, False),
                           (session.deleted, True)):
        for record in group:
            if not isinstance(record, WATCHED):
                continue
            if group is session.dirty and not session.is_modified(record,
                                                                  include_collections=False):
                continue
            removal = isinstance(record, ConsentRecord) or (
                deleted and isinstance(record, Case | Incident | Referral))
            if isinstance(record, Case):
                case_org[_identity(record)] = _loaded(record, "organisation_id")
                add(cases, _identity(record), removal)
            elif isinstance(record, Site):
                add(sites, _identity(record), removal)
            elif isinstance(record, IncidentPerpetrator):
                add(incidents, _parent(session, record, "incident_id"), removal)
            else:
                case_id = _parent(session, record, "case_id")
                if isinstance(record, Incident):
                    incident_case[_identity(record)] = case_id
                add(cases, case_id, removal)
    resolved = _owners(session, incidents, Incident, Incident.case_id, incident_case)
    for iid, removal in incidents.items():
        if iid in resolved:
            add(cases, resolved[iid], removal)
        else:
            add(out, EVERY, removal)
    case_owners = _owners(session, cases, Case, Case.organisation_id, case_org)
    site_owners = _owners(session, sites, Site, Site.organisation_id, {
        _identity(r): _loaded(r, "organisation_id")
        for r in (*session.new, *session.dirty, *session.deleted) if isinstance(r, Site)})
    for ids, owners in ((cases, case_owners), (sites, site_owners)):
        for i, removal in ids.items():
            add(out, owners.get(i, EVERY), removal)
    return out


@event.listens_for(Session, "after_flush")
def _noted(session: Session, _context: Any) -> None:
    """Note whose statistics this flush changes (the session still lists what it wrote)."""
    changed = _changed(session)
    if changed:
        pending: dict[Any, bool] = session.info.setdefault(PENDING, {})
        for owner, removal in changed.items():
            pending[owner] = pending.get(owner, False) or removal


def _upsert(session: Session, organisation_id: Any, stamp: uuid.UUID, removal: bool,
            now: datetime) -> None:
    table = StatisticsStamp.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(organisation_id=organisation_id, changed=stamp, removed=stamp,
                                changed_at=now)
    values: dict[str, Any] = {"changed": stmt.excluded.changed,
                              "changed_at": stmt.excluded.changed_at}
    if removal:
        values["removed"] = stmt.excluded.removed
    session.execute(stmt.on_conflict_do_update(index_elements=[table.c.organisation_id],
                                               set_=values))


@event.listens_for(Session, "before_commit")
def _stamp(session: Session) -> None:
    """Write the new stamps last, just before the commit (the row stays locked only briefly,
    after every other row this transaction writes)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending: dict[Any, bool] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    now, stamp = utcnow(), uuid.uuid4()
    if EVERY in pending:
        values: dict[str, Any] = {"changed": stamp, "changed_at": now}
        if pending[EVERY]:
            values["removed"] = stamp
        session.execute(update(StatisticsStamp).values(**values))
    for owner in sorted((o for o in pending if o != EVERY), key=str):
        _upsert(session, owner, stamp, pending[owner], now)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_soft_rollback(session: Session, _previous: object) -> None:
    session.info.pop(PENDING, None)


def stamps(organisation_id: uuid.UUID) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The organisation's (changed, removed) stamps; (None, None) before its first change."""
    row = db.session.execute(select(StatisticsStamp.changed, StatisticsStamp.removed)
                             .where(StatisticsStamp.organisation_id == organisation_id)).first()
    return (row[0], row[1]) if row else (None, None)


def recount_window() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("STATS_RECOUNT_MINUTES", 0)))


@dataclass(frozen=True)
class Counted(Generic[T]):
    """A remembered count, with what it was counted from."""

    value: T
    counted_at: datetime
    changed: uuid.UUID | None
    removed: uuid.UUID | None
    expires: datetime | None      # a figure changes with time alone then (None: never)

    def serves(self, changed: uuid.UUID | None, removed: uuid.UUID | None, now: datetime,
               window: timedelta) -> bool:
        """Whether this count may still be shown: never after a removal; when nothing else
        changed and nothing expired; or while it is younger than the window."""
        if removed != self.removed:
            return False
        if changed == self.changed and (self.expires is None or now < self.expires):
            return True
        return now - self.counted_at < window


class _Memory:
    """The counts one application remembers (``app.extensions``: each app, so each test, has
    its own)."""

    def __init__(self) -> None:
        self.counts: OrderedDict[Hashable, Counted[Any]] = OrderedDict()
        self.lock = threading.Lock()


def _memory() -> _Memory:
    found: _Memory = current_app.extensions.setdefault("amana.statistics", _Memory())
    return found


def remembered(organisation_id: uuid.UUID, key: Iterable[Hashable],
               count: Callable[[], tuple[T, datetime | None]]) -> Counted[T]:
    """The organisation's count for ``key``: the remembered one while it serves, otherwise
    ``count()`` (which returns the value and when it expires), remembered."""
    memory, memo = _memory(), (organisation_id, *key)
    changed, removed = stamps(organisation_id)
    now = utcnow()
    with memory.lock:
        found = memory.counts.get(memo)
        if found is not None and found.serves(changed, removed, now, recount_window()):
            memory.counts.move_to_end(memo)
            return found
    value, expires = count()
    fresh: Counted[T] = Counted(value, now, changed, removed, expires)
    with memory.lock:
        memory.counts[memo] = fresh
        memory.counts.move_to_end(memo)
        while len(memory.counts) > MEMORY:
            memory.counts.popitem(last=False)
    return fresh


def peek(organisation_id: uuid.UUID, key: Iterable[Hashable]) -> tuple[Counted[Any] | None,
                                                                      bool]:
    """The remembered count for ``key`` without ever counting, and whether it is current.

    ``(None, False)`` when nothing is remembered or when a removal (a consent decision, an
    erasure) came after it: such a count is never shown again. Otherwise the count and
    whether ``remembered`` would serve it; a count that is not current is older than an
    ordinary change (or a deadline) and is shown with when it was counted. Used where a
    count would take too long (the programme manager's home page): it publishes no version
    of the grid that the statistics page did not."""
    memory, memo = _memory(), (organisation_id, *key)
    changed, removed = stamps(organisation_id)
    with memory.lock:
        found = memory.counts.get(memo)
    if found is None or found.removed != removed:
        return None, False
    return found, found.serves(changed, removed, utcnow(), recount_window())


def forget() -> None:
    """Drop every remembered count (benchmarks that time the counting itself)."""
    memory = _memory()
    with memory.lock:
        memory.counts.clear()
