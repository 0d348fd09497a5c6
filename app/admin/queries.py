"""Reads for administration: lists of accounts and of directory records."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.db import db

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
