"""Case transfers in tests: staff for the partner organisation (the world has none), consent to
transfer, and a transfer request made through the service."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
from flask import Flask
from sqlalchemy import select

from app.auth import mfa, passwords
from app.auth.models import User
from app.cases import consent
from app.cases import transfer as transfers
from app.cases.models import Case, CaseTransfer
from app.clock import utcnow
from app.db import db
from app.directory.models import Site
from tests.helpers.factories import World
from tests.helpers.login import PASSWORD

PARTNER = ("partner_supervisor", "partner_caseworker")


def partner_staff(app: Flask, world: World) -> dict[str, str]:
    """A supervisor and a caseworker at the partner organisation's site, signed-in-able as
    ``partner_supervisor`` / ``partner_caseworker`` (added to ``world``'s users and secrets)."""
    with app.app_context():
        site = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
        for username, role in (("partner_supervisor", "supervisor"),
                               ("partner_caseworker", "caseworker")):
            found = db.session.execute(select(User).where(User.username == username)).scalar()
            if found is not None:
                continue
            user = User(username=username, display_name=f"Test {username}",
                        organisation_id=site.organisation_id, role=role,
                        password_hash=passwords.hash_password(PASSWORD),
                        password_changed_at=utcnow(), active=True)
            user.sites = [site]
            db.session.add(user)
            db.session.flush()
            secret = pyotp.random_base32(32)
            mfa.store_secret(user, secret)
            user.mfa_enrolled_at = utcnow()
            world.secrets[username] = secret
            world.users[username] = str(user.id)
        db.session.commit()
    return {name: world.users[name] for name in PARTNER}


def user(name: str, world: World) -> User:
    found = db.session.get(User, uuid.UUID(world.users[name]))
    assert found is not None
    return found


def case(world: World, label: str = "case_own") -> Case:
    found = db.session.get(Case, uuid.UUID(world.ids[label]))
    assert found is not None
    return found


def consent_to_transfer(world: World, label: str = "case_own", granted: bool = True) -> None:
    """Record (or withdraw) the survivor's consent to transfer (call in an app context)."""
    consent.record_consent(user("caseworker" if label == "case_own" else "caseworker2", world),
                           case(world, label), kind="transfer", granted=granted,
                           given_by="survivor", method="verbal")


def ask(world: World, label: str = "case_own", **over: Any) -> CaseTransfer:
    """A pending request of the case to the partner organisation (call in an app context)."""
    args: dict[str, Any] = {"organisation_id": uuid.UUID(world.ids["other_org"]),
                            "site_id": None, "urgency": "normal", "confirmed": True}
    args.update(over)
    return transfers.request(user("caseworker", world), case(world, label), **args)


def partner_site(world: World) -> Site:
    found = db.session.get(Site, uuid.UUID(world.ids["partner_site"]))
    assert found is not None
    return found


def incoming_request(app: Flask, world: World) -> str:
    """A pending request from the partner organisation to the test NGO (any site): a partner
    case with consent to transfer, asked by the partner's caseworker. Returns its id."""
    from app.cases import service

    partner_staff(app, world)
    with app.app_context():
        worker = user("partner_caseworker", world)
        found = service.open_case(worker, partner_site(world), service.IdentityInput(
            full_name="Partner Transfer Canary", sex="female", estimated_age=31))
        for kind in ("services", "transfer"):
            consent.record_consent(worker, found, kind=kind, granted=True, given_by="survivor",
                                   method="verbal")
        asked = transfers.request(worker, found, organisation_id=uuid.UUID(world.ids["org"]),
                                  site_id=None, urgency="urgent", confirmed=True)
        return str(asked.id)
