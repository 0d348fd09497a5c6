"""Handing a case to another organisation, with the survivor's consent to transfer.

A caseworker or supervisor of the case asks (``request``): the receiving organisation (and,
if needed, its site), how urgent. Only an organisation with an active supervisor who can
receive may be chosen; a case with an urgent referral still unanswered needs a confirmation
first. The receiving organisation's supervisors see the request with only what they need to
decide: the case's clear categories, the urgency and the sending organisation, never the
survivor's identity. They decline (a reason code) or accept, choosing the site and the
primary caseworker.

On acceptance, in one transaction: the request is claimed by a conditional update (a second
acceptance, or a retried post, finds it taken); a new case is opened in the receiving
organisation (its number from the receiving site's sequence, its own new data key), and every
record the registry ``CASE_OWNED`` marks as copied is copied by reading its values through the
model (opened under the old key) and writing a new record (sealed under the new key: sealed
values are bound to their table, record id, version and data key, so blobs are never copied).
Then the sender's case is erased exactly as an erasure does (``service.erase_now``, reason
``transferred``): its key is destroyed, a tombstone stays, and the sender keeps the referral
trail (``hooks.case_transferred``). Any failure rolls back both sides.

**Every table that belongs to a case is in ``CASE_OWNED``**, copied or left behind with the
reason; ``tests/test_case_transfer.py`` fails on a table with a ``case_id`` column (or a child
of a copied table) that is in neither list, so a new kind of case record cannot be forgotten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary, Table, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, can, roles_with
from app.cases import notices, service
from app.cases.consent import ConsentKind, consent_state
from app.cases.models import Case, CaseTransfer
from app.cases.numbering import next_case_number
from app.cases.rules import ensure_writable
from app.cases.transfer_requests import (
    CancelReason,
    DeclineReason,
    TransferStatus,
    TransferUrgency,
    cancel_pending,
    pending_for,
)
from app.clock import utcnow
from app.core import hooks
from app.core.errors import CaseError
from app.crypto.fields import SealedRecord
from app.db import Model, db, transaction
from app.directory.models import Organisation, Site
from app.localtime import organisation_zone, today
from app.notifications import service as notifications
from app.notifications.kinds import Kind, Target
from app.submissions.service import Submission, claim

#: The reason code of the sender's erasure and tombstone.
TRANSFERRED = "transferred"


class TransferError(CaseError):
    """A transfer refused; ``field`` names the form field the message belongs beside."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UrgentReferralOpen(TransferError):
    """The case has an urgent referral still unanswered: the sender must confirm first."""

    def __init__(self, items: list[str]) -> None:
        super().__init__(str(_l("This case has an urgent referral that has not been answered "
                                "yet. Confirm to ask for the transfer anyway.")))
        self.items = items


@dataclass(frozen=True)
class Owned:
    """What a transfer does with a table that belongs to a case: copied or left behind, and
    why; ``copy`` copies one record itself when the generic copy cannot (values sealed outside
    a sealed field, such as a file's bytes): ``copy(row, old_key, new_key, ids)`` returns the new
    record, added to the session."""

    copied: bool
    why: str
    copy: Callable[..., Any] | None = None


def copied(why: str, copy: Callable[..., Any] | None = None) -> Owned:
    return Owned(True, why, copy)


def left_behind(why: str) -> Owned:
    return Owned(False, why)


#: Every table holding a case's records (a ``case_id`` column, or a child of a copied table),
#: by table name (cases never import other features' models). A table with a ``case_id``
#: column missing here fails ``tests/test_case_transfer.py``: add it, copied or left behind,
#: with the reason. Copied tables are copied in foreign-key order; a child table without
#: ``case_id`` is copied through its foreign key to a copied parent.
CASE_OWNED: dict[str, Owned] = {
    "consent_records": copied("the survivor's consent decisions go with the case "
                              "(including the consent to transfer)"),
    "incidents": copied("the incidents are the case"),
    "incident_perpetrators": copied("a child of incidents"),
    "assessments": copied("the current assessment and safety plan"),
    "action_items": copied("the action plan"),
    "follow_ups": copied("planned and done follow-ups"),
    "case_notes": copied("the case notes"),
    "case_status_changes": copied("the workflow history"),
    "break_glass_grants": left_behind("a sending supervisor's emergency access: it ends with "
                                      "the sender's case"),
    "referrals": left_behind("the referral trail stays with the sender (codes and dates kept "
                             "on the tombstone, hooks.case_transferred); the shares are "
                             "destroyed with the sender's case and the receiver refers anew"),
    "referral_events": left_behind("the history of the sender's referrals (see referrals)"),
    "case_transfers": left_behind("the sender's record of the request itself"),
    "case_attachments": copied("the case's files (a signed consent form, a medical "
                               "certificate): their names and descriptions"),
    "case_attachment_contents": copied("a child of case_attachments: the files' bytes"),
    "referral_attachments": left_behind("copies shared with the sender's referrals, under "
                                        "their keys: destroyed with those referrals"),
    "case_changes": left_behind("the sender's record of its own edits: the receiver needs the "
                                "case as it is, not every value it held (data minimisation)"),
    "field_intakes": left_behind("the case's field intake, shredded when decided: detached "
                                 "(app.field.case_hooks), its submission id kept (no replay)"),
}

# Columns a copy never takes from the original: its identity, version, key and sealed blobs
# (the values are written again through the model), and where the case now lives.
_NEVER_COPIED = {"id", "version", "data_key_id"}
_CASE_SET = {"case_number", "organisation_id", "site_id", "primary_worker_id",
             "secondary_worker_id"}


def receiving_supervisors(organisation_id: uuid.UUID, site_id: uuid.UUID | None) -> list[User]:
    """The active accounts of ``organisation_id`` that can decide on a transfer (at ``site_id``
    when one is named)."""
    users = db.session.execute(
        select(User).where(User.organisation_id == organisation_id,
                           User.role.in_(roles_with(Permission.CASE_ASSIGN)))
    ).scalars().all()
    return [u for u in users if u.can_sign_in and can(u, Permission.CASE_ASSIGN)
            and (site_id is None or site_id in {s.id for s in u.sites})]


def receiving_organisations(user: User) -> list[Organisation]:
    """The other active organisations that can receive a case (at least one supervisor)."""
    orgs = db.session.execute(
        select(Organisation).where(Organisation.active.is_(True),
                                   Organisation.id != user.organisation_id)
        .order_by(Organisation.name)).scalars().all()
    return [o for o in orgs if receiving_supervisors(o.id, None)]


def urgent_items(case: Case) -> list[str]:
    """What an open urgent referral of the case says (``hooks.open_items``: referrals report
    their urgent ones unanswered), for the confirmation step."""
    return [item.text for part in hooks.open_items.collect(case=case) for item in part
            if item.kind == "urgent_referral"]


def request(user: User, case: Case, *, organisation_id: uuid.UUID | None,
            site_id: uuid.UUID | None, urgency: str | None, confirmed: bool = False,
            once: Submission | None = None) -> CaseTransfer:
    """Ask another organisation to take the case (audited; nothing stored when refused).

    Refused (``TransferError``) on a closed case, without the survivor's consent to transfer,
    to the case's own organisation, to an organisation (or site) without an active supervisor
    who can receive, when a request is already pending, and, unless ``confirmed``, when the
    case has an urgent referral unanswered (``UrgentReferralOpen``)."""
    ensure_writable(case)
    if not can(user, Permission.CASE_EDIT) or user.organisation_id != case.organisation_id:
        raise TransferError(str(_l("You cannot transfer this case.")))
    try:
        level = TransferUrgency(urgency or "")
    except ValueError:
        raise TransferError(str(_l("Choose how urgent the transfer is.")), "urgency") from None
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if org is None or not org.active:
        raise TransferError(str(_l("Choose an organisation from the list.")), "organisation")
    if org.id == case.organisation_id:
        raise TransferError(str(_l("The case is already in this organisation: ask a supervisor "
                                   "to reassign it instead.")), "organisation")
    site = db.session.get(Site, site_id) if site_id else None
    if site_id and (site is None or site.organisation_id != org.id or not site.active):
        raise TransferError(str(_l("Choose a site of the receiving organisation, or none.")),
                            "site")
    receivers = receiving_supervisors(org.id, site.id if site else None)
    if not receivers:
        raise TransferError(str(_l("This organisation has no active supervisor who can receive "
                                   "a case there. Choose another or contact them first.")),
                            "organisation")
    if not consent_state(case).has(ConsentKind.TRANSFER):
        raise TransferError(str(_l("Record the survivor's consent to transfer first.")))
    if pending_for(case) is not None:
        raise TransferError(str(_l("A transfer of this case is already waiting for an answer.")))
    if not confirmed and (items := urgent_items(case)):
        raise UrgentReferralOpen(items)
    try:
        with transaction():
            transfer = CaseTransfer(
                id=uuid.uuid4(), case_id=case.id, case_number=case.case_number,
                from_organisation_id=case.organisation_id, to_organisation_id=org.id,
                to_site_id=site.id if site else None, urgency=level.value,
                status=TransferStatus.PENDING.value, requested_by_id=user.id,
                requested_at=utcnow())
            db.session.add(transfer)
            db.session.flush()
            record(Action.CASE_TRANSFER_REQUEST, object_type=ObjectType.CASE,
                   object_id=case.id, reason=level.value)
            notifications.notify([u.id for u in receivers], organisation_id=org.id,
                                 kind=Kind.TRANSFER_REQUESTED, target=Target.CASE_TRANSFER,
                                 object_id=transfer.id, actor=user.id)
            claim(once, ObjectType.CASE_TRANSFER, transfer.id)
    except IntegrityError:  # another request for the case was stored meanwhile
        raise TransferError(str(_l("A transfer of this case is already waiting for an "
                                   "answer."))) from None
    return transfer


def cancel(user: User, case: Case) -> None:
    """The sender withdraws the pending request (audited)."""
    if user.organisation_id != case.organisation_id:
        raise TransferError(str(_l("You cannot transfer this case.")))
    with transaction():
        if not cancel_pending(case, user, reason=CancelReason.CANCELLED_BY_SENDER):
            raise TransferError(str(_l("This transfer is no longer waiting for an answer.")))


def _receiver_checks(user: User, transfer: CaseTransfer) -> None:
    if not can(user, Permission.CASE_ASSIGN) or transfer.to_organisation_id != user.organisation_id:
        raise TransferError(str(_l("Only a supervisor of the receiving organisation can "
                                   "decide.")))
    if transfer.status != TransferStatus.PENDING or transfer.case_id is None:
        raise TransferError(str(_l("This transfer is no longer waiting for an answer.")))


def _claim(user: User, transfer: CaseTransfer, status: TransferStatus,
           reason: str | None) -> None:
    """Take the request out of pending, once: a conditional update whose row count says who
    won (two supervisors, or one posting twice)."""
    done = db.session.execute(
        update(CaseTransfer).where(CaseTransfer.id == transfer.id,
                                   CaseTransfer.status == TransferStatus.PENDING)
        .values(status=status.value, decided_by_id=user.id, decided_at=utcnow(), reason=reason)
        .execution_options(synchronize_session="fetch"))
    if getattr(done, "rowcount", 0) != 1:
        raise TransferError(str(_l("This transfer is no longer waiting for an answer.")))
    notifications.discard(Target.CASE_TRANSFER, [transfer.id])  # nothing left to decide


def decline(user: User, transfer: CaseTransfer, reason: str | None) -> None:
    """A receiving supervisor declines with a reason code; the case is untouched (audited)."""
    _receiver_checks(user, transfer)
    try:
        code = DeclineReason(reason or "")
    except ValueError:
        raise TransferError(str(_l("Choose a reason from the list.")), "reason") from None
    with transaction():
        _claim(user, transfer, TransferStatus.DECLINED, code.value)
        record(Action.CASE_TRANSFER_DECLINE, object_type=ObjectType.CASE_TRANSFER,
               object_id=transfer.id, reason=code.value)


def accept(user: User, transfer: CaseTransfer, site: Site | None,
           primary: User | None) -> Case:
    """A receiving supervisor accepts: the case moves to ``site`` with ``primary`` as its
    caseworker, re-sealed under a new key, and the sender's case is erased (one transaction).
    Returns the new case."""
    _receiver_checks(user, transfer)
    if site is None or site.organisation_id != user.organisation_id \
            or site.id not in {s.id for s in user.sites} \
            or (transfer.to_site_id is not None and site.id != transfer.to_site_id):
        raise TransferError(str(_l("Choose one of your sites.")), "site")
    if primary is None or primary.organisation_id != user.organisation_id \
            or not primary.can_sign_in or not can(primary, Permission.CASE_EDIT) \
            or site.id not in {s.id for s in primary.sites}:
        raise TransferError(str(_l("Choose an active caseworker of that site.")), "primary")
    old = db.session.get(Case, transfer.case_id)
    if old is None:
        raise TransferError(str(_l("This transfer is no longer waiting for an answer.")))
    ensure_writable(old)
    if not consent_state(old).has(ConsentKind.TRANSFER):  # withdrawal cancels; checked again
        raise TransferError(str(_l("This transfer is no longer waiting for an answer.")))
    with transaction():
        _claim(user, transfer, TransferStatus.ACCEPTED, None)
        new = copy_case(old, site, primary)
        record(Action.CASE_TRANSFER_RECEIVE, object_type=ObjectType.CASE, object_id=new.id,
               reason="received")
        record(Action.CASE_TRANSFER_ACCEPT, object_type=ObjectType.CASE, object_id=old.id,
               reason=TRANSFERRED)
        notices.tell_workers(new, Kind.CASE_ASSIGNED, user)

        def keep(tombstone: Any) -> None:
            hooks.case_transferred.emit(case=old, tombstone=tombstone)
            transfer.tombstone_id = tombstone.id

        transfer.case_id = None
        transfer.new_case_id = new.id
        service.erase_now(user, old, TRANSFERRED, keep=keep)
    return new


# --- The copy ---------------------------------------------------------------------------------

def _model_of(table: Table) -> type[Any]:
    for mapper in Model.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_
    raise LookupError(table.name)


def copied_tables() -> list[Table]:
    """The copied tables, parents before children (foreign-key order)."""
    return [t for t in Model.metadata.sorted_tables
            if t.name in CASE_OWNED and CASE_OWNED[t.name].copied]


def _parent_column(table: Table, ids: dict[str, dict[Any, Any]]) -> tuple[str, str]:
    """The column through which ``table``'s rows belong to the case: ``case_id``, or its
    foreign key to a copied table."""
    if "case_id" in table.c:
        return "case_id", "cases"
    for fk in table.foreign_keys:
        if fk.column.table.name in ids:
            return fk.parent.name, fk.column.table.name
    raise LookupError(f"{table.name} has no link to a copied table")


def _copy_row(model: type[Any], row: Any, old_key: uuid.UUID, data_key: Any,
              ids: dict[str, dict[Any, Any]], fixed: dict[str, Any]) -> Any:
    """A new record with ``row``'s clear columns (foreign keys to copied records mapped to
    the copies) and its sealed values written again under ``data_key``."""
    sealed_columns = {column for _name, column in getattr(model, "__sealed_order__", ())}
    values: dict[str, Any] = {}
    for column in model.__table__.columns:
        name = column.key
        if name in _NEVER_COPIED or name in sealed_columns or name in fixed:
            continue
        if isinstance(column.type, LargeBinary):
            # Bytes that are not a sealed field are sealed some other way, bound to this
            # record and key: copied as they are they would not open. Give the table a copier.
            raise RuntimeError(f"{model.__tablename__}.{name}: binary column outside a sealed "
                               "field; give CASE_OWNED a copy function for this table")
        value = getattr(row, name)
        for fk in column.foreign_keys:
            mapping = ids.get(fk.column.table.name)
            if mapping is not None and value is not None:
                value = mapping[value]
        values[name] = value
    values.update(fixed)
    new_id = uuid.uuid4()
    if issubclass(model, SealedRecord):
        if row.data_key_id != old_key:
            # Every record of a case shares its key; one that does not would outlive the
            # sender's erasure: refuse rather than leave it readable.
            raise RuntimeError(f"a {model.__tablename__} record is not under its case's key")
        new = model(id=new_id, data_key=data_key, **values)
        for name in model.__sealed_fields__:
            setattr(new, name, getattr(row, name))
    else:
        new = model(id=new_id, **values)
    db.session.add(new)
    return new


def copy_case(old: Case, site: Site, primary: User) -> Case:
    """The receiving organisation's copy of ``old`` and of every record ``CASE_OWNED`` marks as
    copied, re-sealed under a new data key (in the caller's transaction)."""
    year = today(organisation_zone(site.organisation_id)).year
    fixed = {"case_number": next_case_number(site, year), "organisation_id": site.organisation_id,
             "site_id": site.id, "primary_worker_id": primary.id, "secondary_worker_id": None}
    ids: dict[str, dict[Any, Any]] = {}
    new: Case = _copy_row(Case, old, old.data_key_id, None, ids, fixed)
    db.session.flush()
    ids["cases"] = {old.id: new.id}
    for table in copied_tables():
        model = _model_of(table)
        column, parent = _parent_column(table, ids)
        owners = list(ids[parent])
        rows = db.session.execute(
            select(model).where(getattr(model, column).in_(owners))).scalars().all()
        own = CASE_OWNED[table.name].copy
        ids[table.name] = {
            row.id: (own(row, old.data_key_id, new.data_key, ids) if own is not None else
                     _copy_row(model, row, old.data_key_id, new.data_key, ids, {})).id
            for row in rows}
        db.session.flush()
    return new
