"""Taking a worker off the cases they can no longer reach.

When an admin changes an account's role, organisation or sites, the worker's case assignments
and break-glass grants outside the new scope end in the same transaction: admin announces the
change on the ``scope_narrowed`` hook (``app.core.hooks``) without importing cases, and this
module answers it. Scopes themselves are in ``app.cases.scopes``.
"""

from __future__ import annotations

from sqlalchemy import and_, false, not_, or_, select

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import User
from app.auth.policy import Permission, can
from app.cases import notices
from app.cases.models import BreakGlassGrant, Case
from app.clock import utcnow
from app.core.hooks import scope_narrowed
from app.db import db


@scope_narrowed.subscribe
def unassign_outside_scope(user: User) -> int:
    """Take ``user`` off every case they can no longer reach after a change of role,
    organisation or sites, and end their break-glass grants (call inside the transaction of
    that change). A case whose primary
    caseworker goes keeps its secondary one as primary, or is left without a caseworker for its
    supervisor to assign (``queries.unassigned_cases``). Each change is audited; the worker's
    notifications about the case go (``notices.left``)."""
    site_ids = [s.id for s in user.sites]
    in_scope = and_(Case.organisation_id == user.organisation_id, Case.site_id.in_(site_ids)) \
        if can(user, Permission.CASE_EDIT) and site_ids else false()
    cases = db.session.execute(
        select(Case).where(or_(Case.primary_worker_id == user.id,
                               Case.secondary_worker_id == user.id), not_(in_scope))
    ).scalars().all()
    for case in cases:
        if case.secondary_worker_id == user.id:
            case.secondary_worker_id = None
        if case.primary_worker_id == user.id:
            case.primary_worker_id, case.secondary_worker_id = case.secondary_worker_id, None
        case.updated_at = utcnow()
        record(Action.CASE_UNASSIGN, object_type=ObjectType.CASE, object_id=case.id,
               reason="worker_scope_changed")
        notices.left(case, [user.id])  # what they were told of it goes with it
    # Break-glass access was granted for the old role and places: it ends with them.
    now = utcnow()
    for grant in db.session.execute(select(BreakGlassGrant).where(
            BreakGlassGrant.supervisor_id == user.id, BreakGlassGrant.expires_at > now)
    ).scalars().all():
        grant.expires_at = now
        record(Action.CASE_UNASSIGN, object_type=ObjectType.CASE, object_id=grant.case_id,
               reason="break_glass_ended")
    return len(cases)
