"""Which safe spaces and session logs a user may touch: the record scopes for safe spaces.

Coordinators: the safe spaces assigned to them (in their own organisation), both their logs and
their summaries. Programme managers: the summaries (aggregates only) of every safe space of their
organisation, never a session log or its notes. Every other role: nothing (the policy already
refuses them the area with 403). A record outside the scope is answered exactly like one that
does not exist (404), and the attempt is audited as denied. The session loader records a GET of
the log it found as ``wgss_session.view``, before any page shows it.
"""

from __future__ import annotations

import uuid

from flask import has_request_context, request
from sqlalchemy import ColumnElement, and_, false, select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Role
from app.db import db
from app.directory.models import SafeSpace, Site
from app.safe_space.models import WgssSession


def own_space_ids(user: User) -> list[uuid.UUID]:
    """The ids of the safe spaces assigned to a coordinator (none for any other role)."""
    if user.role != Role.WGSS_COORDINATOR:
        return []
    return [s.id for s in user.safe_spaces if s.organisation_id == user.organisation_id]


def space_scope(user: User, *, logs: bool) -> ColumnElement[bool]:
    """SQL condition on ``SafeSpace``: the spaces whose logs (``logs=True``) or whose summaries
    (``logs=False``) the user may see."""
    if user.role == Role.WGSS_COORDINATOR:
        return and_(SafeSpace.id.in_(own_space_ids(user)),
                    SafeSpace.organisation_id == user.organisation_id)
    if user.role == Role.PROGRAM_MANAGER and not logs:
        return SafeSpace.organisation_id == user.organisation_id
    return false()


def session_scope(user: User) -> ColumnElement[bool]:
    """SQL condition on ``WgssSession``: the session logs the user may read and change."""
    if user.role == Role.WGSS_COORDINATOR:
        return WgssSession.safe_space_id.in_(own_space_ids(user))
    return false()


def spaces_for(user: User, *, logs: bool, active_only: bool = False) -> list[SafeSpace]:
    """The safe spaces in the user's scope, by name."""
    stmt = select(SafeSpace).where(space_scope(user, logs=logs)).order_by(SafeSpace.name)
    if active_only:
        stmt = stmt.where(SafeSpace.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def load_space(user: User, space_id: uuid.UUID, *, logs: bool, action: Action) -> SafeSpace:
    """A safe space through the user's scope, or 404 (audited as ``action`` denied)."""
    space: SafeSpace | None = db.session.execute(
        select(SafeSpace).where(SafeSpace.id == space_id, space_scope(user, logs=logs))
    ).scalar_one_or_none()
    if space is None:
        audit.deny_404(action, ObjectType.SAFE_SPACE, space_id)
    return space


def load_session(user: User, session_id: uuid.UUID, *, action: Action) -> WgssSession:
    """A session log through the user's scope (a GET recorded as ``wgss_session.view``), or
    404 (audited as ``action`` denied)."""
    found: WgssSession | None = db.session.execute(
        select(WgssSession).where(WgssSession.id == session_id, session_scope(user))
    ).scalar_one_or_none()
    if found is None:
        audit.deny_404(action, ObjectType.WGSS_SESSION, session_id)
    if has_request_context() and request.method == "GET":
        audit.read(Action.WGSS_SESSION_VIEW, ObjectType.WGSS_SESSION, found.id)
    return found


def load_organisation_site(user: User, site_id: uuid.UUID, *, action: Action) -> Site:
    """A site of the user's own organisation, or 404 (audited as ``action`` denied): the
    organisation-wide figures never name another organisation's site."""
    site: Site | None = db.session.execute(
        select(Site).where(Site.id == site_id, Site.organisation_id == user.organisation_id)
    ).scalar_one_or_none()
    if site is None:
        audit.deny_404(action, ObjectType.SITE, site_id)
    return site
