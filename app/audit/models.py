"""Audit events and the chain head.

Rows are append-only: the ORM refuses updates and deletes here (of loaded events, and bulk
UPDATE or DELETE statements run through a session), and database triggers (created in the
migrations) refuse them below the ORM. Events form several independent chains (``chain``,
0 to 15; ``AMANA_AUDIT_CHAINS`` says how many the writers use). Each chain has a head row (its
``id`` is the chain's number) holding the chain's last sequence number and MAC; the writer locks
one head, so concurrent writers extend each chain without forks or gaps. ``seq`` orders all
events across chains (on PostgreSQL it may skip numbers of rolled-back transactions).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Delete,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Update,
    Uuid,
    event,
    text,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from app.db import Model, UTCDateTime


class AuditEvent(Model):
    """One recorded event. Metadata only: never survivor data, passwords, tokens or keys."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_chain_seq", "chain", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(36))
    client_address: Mapped[str | None] = mapped_column(String(64))
    prev_mac: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    mac: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    chain: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))


class AuditHead(Model):
    """One row per chain (``id`` is the chain's number) naming its end; locked by each append
    to that chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=False)
    mac: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(*_: Any) -> None:
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(*_: Any) -> None:
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    statement = state.statement
    table = getattr(statement, "table", None)
    if isinstance(statement, Update | Delete) and getattr(table, "name", None) == "audit_events":
        raise AppendOnlyError("audit events are append-only")
