"""Reads for administration: lists of accounts and of directory records."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.auth.models import PledgeAcceptance, User
from app.db import db
from app.directory.models import Organisation, OrganisationPledge

PAGE_SIZE = 50


def users_page(role: str | None, status: str | None, page: int) -> tuple[list[User], int]:
    """One page of accounts (by username) and the total count."""
    stmt = select(User)
    if role:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    total = int(db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = db.session.execute(
        stmt.order_by(User.username).limit(PAGE_SIZE).offset(max(page - 1, 0) * PAGE_SIZE)
    ).scalars().all()
    return list(rows), total


def current_pledge(org: Organisation) -> tuple[OrganisationPledge | None, str]:
    """The version of ``org``'s pledge in force and the name of who published it, in one
    statement (``(None, "")`` when it has published none)."""
    if org.pledge_number is None:
        return None, ""
    found = db.session.execute(
        select(OrganisationPledge, User.display_name)
        .outerjoin(User, User.id == OrganisationPledge.published_by_id)
        .where(OrganisationPledge.organisation_id == org.id,
               OrganisationPledge.number == org.pledge_number)).first()
    return (None, "") if found is None else (found[0], found[1] or "")


def pledge_page(organisation_id: uuid.UUID, pledge_id: uuid.UUID,
                page: int) -> tuple[list[tuple[User, datetime | None]], int, int]:
    """One page of the organisation's active accounts (by username), each with when it
    accepted the pledge version ``pledge_id`` (None: not yet), the number of those accounts and
    how many of them have accepted."""
    accepted = aliased(PledgeAcceptance)
    stmt = (select(User, accepted.accepted_at)
            .outerjoin(accepted, and_(accepted.user_id == User.id,
                                      accepted.pledge_id == pledge_id))
            .where(User.organisation_id == organisation_id, User.active.is_(True)))
    listed = stmt.subquery()
    total, done = db.session.execute(
        select(func.count(), func.count(listed.c.accepted_at)).select_from(listed)).one()
    rows = db.session.execute(
        stmt.order_by(User.username).limit(PAGE_SIZE).offset(max(page - 1, 0) * PAGE_SIZE)
    ).all()
    return [(u, when) for u, when in rows], int(total), int(done)
