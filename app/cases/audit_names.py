"""What the audit workspace may ask the cases feature (``app.audit.resolvers``): the case a
typed case number stands for, and the number of the case a record is or belongs to.

An erased case's row is gone, but its tombstone keeps the number and its erase event (reason
``<code>:<number>``) keeps the id, so its earlier events are still found by number; the number
shown for an erased case is the one its erase event names, confirmed by a tombstone (the reason
is a code, never trusted alone).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit import resolvers
from app.audit.actions import Action, ObjectType
from app.audit.models import AuditEvent
from app.audit.resolvers import CaseNumber
from app.cases.models import ActionItem, Case, CaseNote, CaseTombstone, FollowUp, Incident
from app.core.ids import parse_uuid
from app.db import db

# Records that belong to a case, by the type events name them with.
_OF_A_CASE: dict[str, Any] = {
    ObjectType.INCIDENT.value: Incident, ObjectType.ACTION_ITEM.value: ActionItem,
    ObjectType.FOLLOW_UP.value: FollowUp, ObjectType.NOTE.value: CaseNote,
}


@resolvers.aliases.register
def case_ids(text: str) -> tuple[str, ...]:
    """The id of the case numbered ``text`` (any case; numbers are unique), or () if none is."""
    if parse_uuid(text) is not None:
        return ()
    number = text.strip().upper()
    live = db.session.execute(
        select(Case.id).where(Case.case_number == number)).scalar_one_or_none()
    if live is not None:
        return (str(live),)
    erased = db.session.execute(
        select(CaseTombstone.id).where(CaseTombstone.case_number == number)).first()
    if erased is None:
        return ()
    ids = db.session.execute(select(AuditEvent.object_id).where(
        AuditEvent.action == Action.CASE_ERASE.value,
        AuditEvent.object_type == ObjectType.CASE.value,
        AuditEvent.reason.endswith(f":{number}", autoescape=True),
    )).scalars()
    return tuple(dict.fromkeys(i for i in ids if i))


@resolvers.case_number.register
def case_number_of(object_type: str, object_id: str) -> CaseNumber | None:
    """The number of the case ``object_id`` is (or belongs to), for the record history."""
    record_id = parse_uuid(object_id)
    if record_id is None:
        return None
    if object_type in _OF_A_CASE:
        model = _OF_A_CASE[object_type]
        found = db.session.execute(select(Case.case_number, Case.id).join(
            model, model.case_id == Case.id).where(model.id == record_id)).first()
        return CaseNumber(found.case_number, str(found.id)) if found else None
    if object_type != ObjectType.CASE.value:
        return None
    number = db.session.execute(
        select(Case.case_number).where(Case.id == record_id)).scalar_one_or_none()
    if number is not None:
        return CaseNumber(number, str(record_id))
    reason = db.session.execute(select(AuditEvent.reason).where(
        AuditEvent.action == Action.CASE_ERASE.value,
        AuditEvent.object_type == ObjectType.CASE.value,
        AuditEvent.object_id == str(record_id),
    ).limit(1)).scalar_one_or_none()
    number = (reason or "").rpartition(":")[2]
    tombstone = number and db.session.execute(
        select(CaseTombstone.id).where(CaseTombstone.case_number == number)).first()
    return CaseNumber(number, str(record_id), erased=True) if tombstone else None
