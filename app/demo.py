"""``flask demo seed``: a demo organisation a newcomer can log in to. Idempotent.

Demo accounts are marked as such, and a production start refuses to run while one exists.
Their passwords are random per instance and kept in ``instance/demo-credentials.txt`` (0600);
their TOTP secrets are pre-enrolled so ``flask demo code USER`` can print the current code.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

import click
import pyotp
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.admin import service as admin_service
from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth import mfa
from app.auth.models import User
from app.auth.policy import Place, Role, places_needed
from app.clock import utcnow
from app.crypto.keychecks import compare_keys
from app.db import db, transaction
from app.dbsetup import require_current_schema
from app.directory import service as directory
from app.directory.models import Organisation, SafeSpace, Service, Site
from app.directory.queries import Listed
from app.extensions import real_app

demo_cli = AppGroup("demo", help="Demo organisation for trying Amana out (never in production).")

ORG = "Amana Demo Medical NGO"
SITES = (("Benghazi", "BEN"), ("Misrata", "MIS"), ("Sabha", "SAB"), ("Tripoli", "TRI"))
SAFE_SPACE = "Tripoli IDP camp WGSS"
OWN_SERVICES = (
    ("Clinical care for rape survivors", "health_medical"),
    ("Mental health and psychosocial support", "mhpss"),
    ("Psychiatry consultations", "psychiatry"),
)
PARTNERS = (
    ("National Psychiatric Hospital (demo)", "Inpatient psychiatric care", "psychiatry"),
    ("Legal Aid Partner (demo)", "Legal aid", "legal"),
    ("Safe Shelter Partner (demo)", "Emergency shelter", "shelter_safe_house"),
)
# One account per role. This table only assigns roles; which places each account gets is asked
# of the policy (``places_needed``), never decided here by role.
USERS: tuple[tuple[str, str, Role], ...] = (
    ("demo-admin", "Demo Administrator", Role.ADMIN),
    ("demo-caseworker", "Demo Caseworker", Role.CASEWORKER),
    ("demo-supervisor", "Demo Supervisor", Role.SUPERVISOR),
    ("demo-provider", "Demo MHPSS Provider", Role.SERVICE_PROVIDER),
    ("demo-coordinator", "Demo WGSS Coordinator", Role.WGSS_COORDINATOR),
    ("demo-manager", "Demo Programme Manager", Role.PROGRAM_MANAGER),
    ("demo-auditor", "Demo Auditor", Role.AUDITOR),
    # A second admin, so the demo can show access that waits for another admin's approval.
    ("demo-admin2", "Demo Second Administrator", Role.ADMIN),
)


def _free_code(code: str) -> str:
    """``code``, or ``code`` with a digit when another organisation's site already has it
    (case-number prefixes are unique across organisations)."""
    taken = set(db.session.execute(select(Site.code).where(Site.code.like(f"{code}%"))).scalars())
    for candidate in [code] + [f"{code}{i}" for i in range(2, 100)]:
        if candidate not in taken:
            return candidate
    raise click.ClickException(f"No free site code like '{code}'.")


def _by_name(model: type[Listed], name: str) -> Listed | None:
    return db.session.execute(select(model).where(model.name == name)).scalar_one_or_none()


def _credentials_file() -> Path:
    return Path(current_app.instance_path) / "demo-credentials.txt"


def _password() -> str:
    path = _credentials_file()
    if path.exists():
        return path.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    value = "demo-" + secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def seed() -> str:
    """Create whatever of the demo organisation is missing; returns the demo password."""
    org = _by_name(Organisation, ORG) or directory.create_organisation(ORG)
    assert isinstance(org, Organisation)
    sites = {}
    for name, code in SITES:
        site = db.session.execute(
            select(Site).where(Site.organisation_id == org.id, Site.name == name)
        ).scalar_one_or_none() or directory.create_site(org, name, _free_code(code))
        sites[name] = site
    space = _by_name(SafeSpace, SAFE_SPACE) or directory.create_safe_space(
        org, sites["Tripoli"], SAFE_SPACE, "static", date(2024, 3, 1))
    services = {}
    for name, kind in OWN_SERVICES:
        services[name] = _by_name(Service, name) or directory.create_service(
            org, name, kind, list(sites.values()))
    for org_name, service_name, kind in PARTNERS:
        partner = _by_name(Organisation, org_name) or directory.create_organisation(org_name)
        assert isinstance(partner, Organisation)
        _by_name(Service, service_name) or directory.create_service(
            partner, service_name, kind, [sites["Tripoli"], sites["Benghazi"]])
    password = _password()
    for username, display, role in USERS:
        if db.session.execute(select(User.id).where(User.username == username)).first():
            continue
        # A coordinator works at the demo safe space's site; other site-bound roles at every site.
        needs = places_needed(role)
        spec = admin_service.AccountSpec(
            username=username, display_name=display, role=role, organisation=org,
            sites=[sites["Tripoli"]] if Place.SAFE_SPACES in needs else
            list(sites.values()) if Place.SITES in needs else [],
            safe_spaces=[space] if Place.SAFE_SPACES in needs else [],
            service=services["Mental health and psychosocial support"]
            if Place.SERVICE in needs else None,
        )
        user = admin_service.create_user(spec, password, is_demo=True, bootstrap=True)
        with transaction():
            mfa.store_secret(user, mfa.new_secret())
            user.mfa_enrolled_at = utcnow()
    from app.safe_space.demo import seed_sessions

    coordinator = db.session.execute(
        select(User).where(User.username == "demo-coordinator")).scalar_one()
    assert isinstance(space, SafeSpace)
    seed_sessions(space, coordinator)
    from app.reports.demo import seed_statistics

    caseworker, provider = (db.session.execute(select(User).where(
        User.username == name)).scalar_one() for name in ("demo-caseworker", "demo-provider"))
    seed_statistics(org, sites, caseworker, provider, coordinator)
    with transaction():
        record(Action.DEMO_SEED, object_type=ObjectType.ORGANISATION, object_id=org.id)
    return password


@demo_cli.command("seed")
def seed_command() -> None:
    """Create the demo organisation and one account per role, then say how to log in."""
    if current_app.config["AMANA_ENV"] == "production":
        raise click.ClickException("Refusing to create demo accounts in production.")
    require_current_schema(real_app())
    compare_keys(real_app())
    password = seed()
    click.echo("")
    click.echo("Demo organisation ready. Accounts (one per role):")
    for username, _display, role in USERS:
        click.echo(f"  {username:<18} {role}")
    click.echo(f"Password for every demo account: {password}")
    click.echo("Two-step verification: when asked for a code, run in another terminal")
    click.echo("  make demo-code USER=demo-caseworker")
    click.echo("(or add the key it prints to an authenticator app).")


@demo_cli.command("code")
@click.argument("username")
def code_command(username: str) -> None:
    """Print the current verification code (and key) of a demo account."""
    user = db.session.execute(
        select(User).where(User.username == username, User.is_demo.is_(True))
    ).scalar_one_or_none()
    if user is None or user.totp_secret_sealed is None:
        raise click.ClickException(f"No demo account '{username}' with two-step verification.")
    secret = mfa.secret_of(user)
    click.echo(f"Code now: {pyotp.TOTP(secret).now()}   (key for an app: {secret})")
    click.echo("A code works once; if it was just used, wait for the next one (30 s).")
