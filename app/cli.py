"""Command-line tools: ``flask instance``, ``flask users`` and ``flask demo``.

Bad input ends with one clear line and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.admin import grants
from app.admin import service as admin_service
from app.auth import passwords
from app.auth.policy import Permission, Role, roles_with
from app.config import load_keys
from app.crypto.keychecks import compare_keys, refuse_recorded
from app.db import db
from app.dbsetup import require_current_schema
from app.directory import service as directory
from app.directory.models import Organisation, SafeSpace, Service, Site
from app.directory.queries import Scoped
from app.extensions import real_app
from app.keyfiles import KeyFileError, check_present_keys, ensure_instance

instance_cli = AppGroup("instance", help="Set up the instance folder (keys and secrets).")
users_cli = AppGroup("users", help="Create accounts.")


class AppCommands(AppGroup):
    """The app's commands while a key problem is pending: the ``flask`` command loaded an app
    whose keys are missing or refused (``app.KEY_PROBLEM``). ``instance`` still works (it makes
    the keys); every other command stops with the problem's one line."""

    def __init__(self, problem: click.ClickException, name: str | None) -> None:
        super().__init__(name)
        self.problem = problem

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, unless a key problem stops it."""
        if cmd_name != instance_cli.name:
            raise self.problem
        return super().get_command(ctx, cmd_name)


@instance_cli.command("init")
def instance_init() -> None:
    """Create instance/ (0700) and any missing key (0600), labelled for this environment.

    Existing keys are never replaced, and a key the database already has data under is never
    made anew (restore it instead). Works in production before any key exists.
    """
    env = current_app.config["AMANA_ENV"]
    instance = Path(current_app.instance_path)
    try:
        check_present_keys(instance, production=env == "production")
        created = ensure_instance(instance, environment=env, refuse=refuse_recorded(
            current_app.config["SQLALCHEMY_DATABASE_URI"], instance))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    load_keys(env, instance)  # every key present reads under this environment's rules
    click.echo(f"Instance folder ready ({len(created)} new key(s)).")


def read_password(prompt: bool) -> str:
    """The new password from standard input (one line) or, on a terminal, a hidden prompt."""
    if prompt and sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("No password on standard input.")
    return line.rstrip("\r\n")


def _one(model: type[Scoped], org: Organisation, name: str, what: str) -> Scoped:
    found = db.session.execute(
        select(model).where(model.organisation_id == org.id, model.name == name)
    ).scalar_one_or_none()
    if found is None:
        raise click.ClickException(f"No {what} named '{name}' in organisation '{org.name}'.")
    return found


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--display-name", default=None, help="Defaults to the username.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", required=True, help="Organisation name.")
@click.option("--site", "site_names", multiple=True, help="Site name (repeatable).")
@click.option("--safe-space", "space_names", multiple=True, help="Safe space (coordinators).")
@click.option("--service", "service_name", default=None, help="Service (service providers).")
def users_create(username: str, display_name: str | None, role: str, org_name: str,
                 site_names: tuple[str, ...], space_names: tuple[str, ...],
                 service_name: str | None) -> None:
    """Create an account; the password is read from standard input, never from arguments.

    On a database with no organisation yet, the organisation and the named sites are created
    (this is how the first admin is made).
    """
    require_current_schema(real_app())
    compare_keys(real_app())
    org = db.session.execute(
        select(Organisation).where(Organisation.name == org_name)
    ).scalar_one_or_none()
    bootstrap = org is None and db.session.execute(select(Organisation.id).limit(1)).first() is None
    if org is None and not bootstrap:
        raise click.ClickException(f"No organisation named '{org_name}'.")
    password = read_password(prompt=True)
    # Check what can be checked before anything is written, so a refusal changes nothing.
    found = passwords.problems(password, username=username)
    if found:
        raise click.ClickException("Password refused: " + " ".join(found))
    administers = role in roles_with(Permission.ADMIN_USERS)  # the policy's admins
    if bootstrap and not administers:
        raise click.ClickException("The first account on a new database must be an admin.")
    if bootstrap:
        org = directory.create_organisation(org_name)
        for i, name in enumerate(site_names, start=1):
            code = "".join(c for c in name.upper() if c.isascii() and c.isalpha())[:3] or f"S{i:02d}"
            directory.create_site(org, name, code)
    assert org is not None
    sites = [_one(Site, org, n, "site") for n in site_names]
    spaces = [_one(SafeSpace, org, n, "safe space") for n in space_names]
    service = _one(Service, org, service_name, "service") if service_name else None
    spec = admin_service.AccountSpec(
        username=username, display_name=display_name or username, role=role, organisation=org,
        sites=sites, safe_spaces=spaces, service=service,
    )
    # Bootstrap: the first admin of an empty database, and a second admin while fewer than two
    # exist (the two-admin rule for access needs two people). Everything else is approved by a
    # second admin in the web interface (app/admin/grants.py).
    second_admin = administers and grants.active_admins() < 2
    try:
        user = admin_service.create_user(spec, password, bootstrap=bootstrap or second_admin)
    except admin_service.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    if user.approval_pending:
        click.echo(f"Created {user.role} '{user.username}', waiting for an admin to approve its "
                   "access (Users → Access approvals) before it can sign in.")
        return
    if bootstrap or second_admin:
        click.echo("Bootstrap: this admin account takes effect without a second admin's approval "
                   "(only the first two admins are made this way).")
    click.echo(f"Created {user.role} '{user.username}'. They set up two-step verification at "
               "first login.")


def register_cli(app: Flask) -> None:
    """Attach every command group (behind ``AppCommands`` while a key problem is pending)."""
    from app import KEY_PROBLEM

    problem = app.extensions.get(KEY_PROBLEM)
    if problem is not None:
        guarded = AppCommands(problem, app.cli.name)
        guarded.commands.update(app.cli.commands)
        app.cli = guarded
    from app.audit.cli import audit_cli
    from app.crypto.cli import keys_cli
    from app.demo import demo_cli

    app.cli.add_command(keys_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(instance_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    from app.cases.cli import cases_cli

    app.cli.add_command(cases_cli)
    from app.notifications.cli import notify_cli

    app.cli.add_command(notify_cli)
    from app.backup.cli import backup_cli

    app.cli.add_command(backup_cli)
    from app.field.cli import field_key_cli

    app.cli.add_command(field_key_cli)
