"""Which sites and activity logs a user may touch: the record scope of the programme logs.

Safe-space coordinators log awareness sessions and staff trainings at the sites assigned to them
(in their own organisation), and read and correct every log of those sites, whoever wrote it.
Every other role: nothing here (the policy already refuses them the area with 403; programme
managers see the year's figures, suppressed, on the programme impact page, never a log). A
record outside the scope is answered exactly like one that does not exist (404), and the
attempt is audited as denied. The log loader records a GET of the log it found, before any
page shows it.
"""

from __future__ import annotations

import uuid
from typing import cast

from flask import has_request_context, request
from sqlalchemy import ColumnElement, and_, false, select

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.models import User
from app.auth.policy import Role
from app.db import db
from app.directory.models import Site
from app.programme.models import ActivityLog
from app.programme.rules import Kind

OBJECT_TYPES = {"awareness": ObjectType.AWARENESS_SESSION, "trainings": ObjectType.STAFF_TRAINING}
VIEW_ACTIONS = {"awareness": Action.AWARENESS_SESSION_VIEW, "trainings": Action.TRAINING_VIEW}


def object_type(kind: Kind) -> ObjectType:
    """The audit record type of a kind's logs."""
    return OBJECT_TYPES[kind.code]


def own_site_ids(user: User) -> list[uuid.UUID]:
    """The ids of the sites whose activities the user logs (none for roles that log none)."""
    if user.role != Role.WGSS_COORDINATOR:
        return []
    return [s.id for s in user.sites if s.organisation_id == user.organisation_id]


def site_scope(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Site``: the sites whose activity logs the user may read and write."""
    if user.role == Role.WGSS_COORDINATOR:
        return and_(Site.id.in_(own_site_ids(user)), Site.organisation_id == user.organisation_id)
    return false()


def log_scope(user: User, kind: Kind) -> ColumnElement[bool]:
    """SQL condition on the kind's table: the logs the user may read and correct."""
    if user.role == Role.WGSS_COORDINATOR:
        return kind.model.site_id.in_(own_site_ids(user))
    return false()


def sites_for(user: User) -> list[Site]:
    """The sites in the user's scope, by name (closed ones too: their logs can be read)."""
    return list(db.session.execute(
        select(Site).where(site_scope(user)).order_by(Site.name)).scalars())


def load_site(user: User, site_id: uuid.UUID, *, action: Action) -> Site:
    """A site through the user's scope, or 404 (audited as ``action`` denied)."""
    site: Site | None = db.session.execute(
        select(Site).where(Site.id == site_id, site_scope(user))).scalar_one_or_none()
    if site is None:
        audit.deny_404(action, ObjectType.SITE, site_id)
    return site


def load_log(user: User, kind: Kind, log_id: uuid.UUID, *, action: Action) -> ActivityLog:
    """A log through the user's scope (a GET recorded as the kind's view), or 404 (audited as
    ``action`` denied)."""
    found = cast(ActivityLog | None, db.session.execute(
        select(kind.model).where(kind.model.id == log_id, log_scope(user, kind))
    ).scalar_one_or_none())
    if found is None:
        audit.deny_404(action, object_type(kind), log_id)
    if has_request_context() and request.method == "GET":
        audit.read(VIEW_ACTIONS[kind.code], object_type(kind), found.id)
    return found

