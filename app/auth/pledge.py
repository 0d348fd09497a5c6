"""Accepting the organisation's confidentiality pledge (the guard sends every account whose
organisation published a version it has not accepted here first: ``guard.check_request``).

An acceptance is a ``PledgeAcceptance`` row, never changed or removed; the account keeps the
number of the version it last accepted (``User.pledge_accepted``) so the guard decides from two
numbers it has already loaded with the session.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.models import PledgeAcceptance, User
from app.clock import utcnow
from app.db import db, transaction
from app.directory.models import OrganisationPledge
from app.directory.service import current_pledge

#: Endpoints an account that has not accepted its organisation's current pledge may reach:
#: the pledge itself, and leaving (logout, quick-lock) or staying signed in while reading it.
PLEDGE_ENDPOINTS = frozenset({"auth.pledge", "auth.logout", "auth.lock", "auth.keepalive"})

NOT_CURRENT = _l("A new version of the pledge was published while you were reading. Read this "
                 "version, then accept it.")


class PledgeRefused(ValueError):
    """The acceptance was not recorded; the message is safe to show."""


def pledge_for(user: User) -> OrganisationPledge | None:
    """The current version of the user's organisation's pledge (None: none published)."""
    return current_pledge(user.organisation)


def accepted_at(user: User, pledge: OrganisationPledge) -> PledgeAcceptance | None:
    """The user's acceptance of ``pledge``, if any."""
    return db.session.execute(
        select(PledgeAcceptance).where(PledgeAcceptance.pledge_id == pledge.id,
                                       PledgeAcceptance.user_id == user.id)
    ).scalar_one_or_none()


def accept(user: User, number: int | None) -> bool:
    """Record that ``user`` accepts version ``number`` of their organisation's pledge (the one
    they were shown). Refused (``PledgeRefused``) when it is no longer the current version.
    Returns False when the user had already accepted it (a retried form): nothing written."""
    pledge = pledge_for(user)
    if pledge is None or number != pledge.number:
        raise PledgeRefused(str(NOT_CURRENT))
    if user.pledge_accepted == pledge.number and accepted_at(user, pledge) is not None:
        return False
    try:
        with transaction():
            if accepted_at(user, pledge) is None:
                db.session.add(PledgeAcceptance(pledge_id=pledge.id, user_id=user.id,
                                                accepted_at=utcnow()))
            user.pledge_accepted = pledge.number
            record(Action.PLEDGE_ACCEPT, object_type=ObjectType.PLEDGE, object_id=pledge.id,
                   reason=f"version={pledge.number}")
    except (IntegrityError, StaleDataError):
        # The same form sent twice at once: the other request recorded the acceptance.
        if accepted_at(user, pledge) is None:
            raise
        return False
    return True
