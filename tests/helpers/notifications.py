"""Notification fixtures: extra accounts (another provider of a service, a caseworker of the
partner organisation), who was told of what, and the numbers a page shows (the bell, the count
beside "Referrals received"). Functions taking ``world`` run inside an app context."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from flask import Flask
from sqlalchemy import select

from app.auth import passwords
from app.auth.models import User
from app.clock import utcnow
from app.db import db, transaction
from app.directory.models import Site
from app.notifications import email, service
from app.notifications.kinds import Kind, Target
from app.notifications.models import Notification
from tests.helpers.factories import World
from tests.helpers.login import PASSWORD

BELL = re.compile(r'id="bell-count">([^<]*)<')
NAV = re.compile(r'data-count-for="referrals\.inbox">([^<]*)<')


def account(world: World, username: str, role: str, *, service: str | uuid.UUID | None = None,
            org: str = "org", sites: Sequence[str] = (), active: bool = True) -> uuid.UUID:
    """A new account (not enrolled in two-step verification: made for the services, not to log
    in) of ``role`` in the world's ``org``, at ``service`` (a key of ``world.ids`` or an id)
    and ``sites`` (keys of ``world.ids``). Committed; returns its id."""
    if isinstance(service, str):
        service = uuid.UUID(world.ids[service])
    user = User(username=username, display_name=f"Test {username}",
                organisation_id=uuid.UUID(world.ids[org]), role=role,
                password_hash=passwords.hash_password(PASSWORD), password_changed_at=utcnow(),
                service_id=service, active=active)
    user.sites = [db.session.get(Site, uuid.UUID(world.ids[s])) for s in sites]
    db.session.add(user)
    db.session.commit()
    return user.id


def told(app: Flask | None = None) -> list[tuple[str, str, str, str]]:
    """Every notification as (user id, kind, object type, object id), sorted (inside an app
    context when ``app`` is None)."""
    def rows() -> list[tuple[str, str, str, str]]:
        return sorted((str(n.user_id), n.kind, n.object_type, str(n.object_id))
                      for n in db.session.scalars(select(Notification)))

    if app is None:
        return rows()
    with app.app_context():
        return rows()


def ids_of(app: Flask, user_id: str | uuid.UUID) -> list[str]:
    """The ids of a user's notifications, newest first."""
    with app.app_context():
        return [str(i) for i in db.session.scalars(
            select(Notification.id).where(Notification.user_id == uuid.UUID(str(user_id)))
            .order_by(Notification.created_at.desc(), Notification.id))]


def bell(html: str) -> int:
    """The bell's number on a page (0 when it shows none)."""
    found = BELL.search(html)
    return int(found.group(1)) if found else 0


def nav_count(html: str) -> int:
    """The number beside "Referrals received" on a page (0 when it shows none)."""
    found = NAV.search(html)
    return int(found.group(1)) if found else 0


ADDRESS = "p.staff@example.org"


def uid(world: World, name: str) -> uuid.UUID:
    return uuid.UUID(world.users[name])


def opt_in(app: Flask, world: World, name: str = "caseworker", address: str = ADDRESS) -> None:
    with app.app_context(), transaction():
        user = db.session.get(User, uid(world, name))
        assert user is not None
        email.set_preference(user, wanted=True, address=address)


def tell(app: Flask, world: World, name: str = "caseworker", *, kind: Kind = Kind.CASE_ASSIGNED,
         case: str = "case_own") -> None:
    """One notification to ``name`` about the world's case ``case`` (in its own transaction,
    as a request would make it)."""
    with app.app_context(), transaction():
        added = service.notify([uid(world, name)], organisation_id=uuid.UUID(world.ids["org"]),
                               kind=kind, target=Target.CASE, object_id=uuid.UUID(world.ids[case]))
    assert added == 1
