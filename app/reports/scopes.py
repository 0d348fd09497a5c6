"""Whose statistics a user may read: the record scope of the statistics.

Programme managers: every site of their organisation, one at a time or all together (the
organisation's total). Supervisors: the sites assigned to them (in their own organisation), one
at a time, never the all-sites total. Every other role: nothing (the policy already refuses
them with 403). A site outside the scope is answered exactly like one that does not exist
(404), and the attempt is audited as denied.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Role
from app.db import db
from app.directory.models import Site

ALL = "all"


def may_see_all(user: User) -> bool:
    """Whether the user may read the all-sites total of their organisation."""
    return user.role == Role.PROGRAM_MANAGER


def sites_for(user: User) -> list[Site]:
    """The sites whose statistics the user may read, by name."""
    if user.role == Role.PROGRAM_MANAGER:
        stmt = select(Site).where(Site.organisation_id == user.organisation_id)
        return list(db.session.execute(stmt.order_by(Site.name)).scalars())
    if user.role == Role.SUPERVISOR:
        return sorted((s for s in user.sites if s.organisation_id == user.organisation_id),
                      key=lambda s: s.name)
    return []


def load_site(user: User, site_id: uuid.UUID, *, action: Action) -> Site:
    """A site through the user's scope, or 404 (audited as ``action`` denied)."""
    for site in sites_for(user):
        if site.id == site_id:
            return site
    audit.deny_404(action, ObjectType.SITE, site_id)


def refuse_all_sites(user: User, *, action: Action) -> None:
    """404 (audited) unless the user may read the organisation's all-sites total."""
    if not may_see_all(user):
        audit.deny_404(action, ObjectType.ORGANISATION, user.organisation_id)
