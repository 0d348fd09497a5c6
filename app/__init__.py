"""Amana: case management for GBV response teams.

``create_app`` builds the application as a list of steps: settings and secrets, request logs and
metrics, extensions,
language, blueprints, hooks, error pages, command-line tools, security headers and the guard.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import ConfigError, build_config


def _instance_path(overrides: Mapping[str, Any]) -> Path:
    given = overrides.get("INSTANCE_PATH") or os.environ.get("AMANA_INSTANCE_PATH")
    if given:
        return Path(given).resolve()
    return Path(__file__).resolve().parent.parent / "instance"


# app.extensions: the key problem a ``flask`` command other than ``instance`` will report.
KEY_PROBLEM = "amana_key_problem"


def _flask_command_resolving() -> bool:
    """Whether the ``flask`` command is loading the app to look up one of the app's commands
    (not to run a server or shell): a key problem then waits until the command is known, so
    ``instance init`` can create the keys (``app.cli.AppCommands`` reports it to the others)."""
    import click
    from flask.cli import FlaskGroup

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    root = ctx.find_root()
    return isinstance(root.command, FlaskGroup) and root.invoked_subcommand is None


def configure(app: Flask, overrides: Mapping[str, Any]) -> None:
    """Load settings for the environment, creating local keys in development and testing
    (never one the database already has data under: ``app.crypto.keychecks``)."""
    from app.config import database_uri
    from app.crypto.keychecks import refuse_recorded
    from app.keyfiles import KeyFileError, ensure_instance

    env = str(overrides.get("AMANA_ENV") or os.environ.get("AMANA_ENV") or "development")
    instance = Path(app.instance_path)
    if env != "production":
        uri = (overrides.get("SQLALCHEMY_DATABASE_URI")
               or database_uri(os.environ.get("DATABASE_URL"), instance))
        try:
            ensure_instance(instance, environment=env, refuse=refuse_recorded(uri, instance))
        except KeyFileError as exc:
            raise ConfigError(str(exc)) from None
    try:
        app.config.update(build_config(env, instance))
    except ConfigError as exc:
        if not _flask_command_resolving():
            raise
        app.config.update(build_config(env, instance, keys=False))
        app.extensions[KEY_PROBLEM] = exc
    app.config.update({k: v for k, v in overrides.items() if k != "INSTANCE_PATH"})
    if app.config["TRUST_PROXY_HOPS"]:
        hops = int(app.config["TRUST_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's way to add middleware


def init_extensions(app: Flask) -> None:
    """Bind the database, migrations, login, CSRF and rate limiting."""
    from app.dbsetup import engine_options
    from app.dependencies import install_dependencies, limiter_storage_uri
    from app.extensions import csrf, db, limiter, login_manager, migrate

    cfg = app.config
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(  # connect timeouts (PostgreSQL)
        cfg["SQLALCHEMY_DATABASE_URI"], cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {},
        int(cfg["DB_CONNECT_TIMEOUT"]))
    # Redis goes through the in-process fallback (app/dependencies.py)
    cfg["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(cfg["RATELIMIT_STORAGE_URI"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    install_dependencies(app)
    from app import models as _models  # noqa: F401  (register every table)
    from app.crypto.keyring import init_keyring
    from app.dbsetup import install_sqlite_pragmas

    if KEY_PROBLEM not in app.extensions:
        init_keyring(app)  # KEKs from instance/ or the environment; checked against the DB later
    with app.app_context():
        install_sqlite_pragmas(db.engine, production=cfg["AMANA_ENV"] == "production")


def register_blueprints(app: Flask) -> None:
    """Mount every feature area."""
    from app.admin import pledge_routes as _pledge_routes  # noqa: F401  (on admin_bp)
    from app.admin import sso_routes as _sso_routes  # noqa: F401  (on admin_bp)
    from app.admin.routes import bp as admin_bp
    from app.attachments.routes import bp as attachments_bp
    from app.audit.routes import bp as audit_bp
    from app.auth import oidc_routes as _oidc_routes  # noqa: F401  (on auth_bp)
    from app.auth import passkey_routes as _passkey_routes  # noqa: F401  (on auth_bp)
    from app.auth.routes import bp as auth_bp
    from app.cases.routes import bp as cases_bp
    from app.field import handover_routes as _field_handover  # noqa: F401  (on field_bp)
    from app.field import review_routes as _field_review  # noqa: F401  (on field_bp)
    from app.field import sync_routes as _field_sync  # noqa: F401  (on field_bp)
    from app.field.routes import bp as field_bp
    from app.health import bp as health_bp
    from app.main import bp as main_bp
    from app.notifications.routes import bp as notifications_bp
    from app.programme.routes import bp as programme_bp
    from app.referrals import onward_routes as _onward_routes  # noqa: F401  (on referrals_bp)
    from app.referrals.routes import bp as referrals_bp
    from app.reports.impact_routes import bp as impact_bp
    from app.reports.recorder_routes import bp as recorder_bp
    from app.reports.routes import bp as reports_bp
    from app.safe_space.figure_routes import bp as wgss_figures_bp
    from app.safe_space.routes import bp as safe_space_bp

    for bp in (health_bp, main_bp, auth_bp, admin_bp, cases_bp, referrals_bp, safe_space_bp,
               wgss_figures_bp, reports_bp, recorder_bp, impact_bp, programme_bp, audit_bp,
               notifications_bp, attachments_bp, field_bp):
        app.register_blueprint(bp)


def connect_hooks() -> None:
    """Load every module that answers a hook (``app.core.hooks``), then refuse to start when a
    required hook has no subscriber: a feature that was not loaded must not silently skip work."""
    from app.admin import home as _admin_home  # noqa: F401  (admin home panel)
    from app.attachments import service as _attachments  # noqa: F401  (case and referral pages)
    from app.audit import home as _audit_home  # noqa: F401  (auditor home panel)
    from app.cases import assignment as _assignment  # noqa: F401  (answers scope_narrowed)
    from app.cases import home as _case_home  # noqa: F401  (home panels: caseworker, supervisor)
    from app.cases import notices as _case_notices  # noqa: F401  (notification targets)
    from app.core.hooks import check_subscribed
    from app.field import case_hooks as _field_hooks  # noqa: F401  (detaches erased cases)
    from app.field import home as _field_home  # noqa: F401  (home panel: field intakes waiting)
    from app.programme import home as _programme_home  # noqa: F401  (coordinator home panel)
    from app.referrals import case_hooks as _referral_hooks  # noqa: F401  (the case hooks)
    from app.referrals import home as _referral_home  # noqa: F401  (home panels: referrals)
    from app.referrals import notices as _referral_notices  # noqa: F401  (notification targets)
    from app.referrals import onward as _onward  # noqa: F401  (the case page's referral chain)
    from app.referrals import provider_home as _provider_home  # noqa: F401  (home panel)
    from app.referrals import service as _referrals  # noqa: F401  (consent withdrawn, case erased)
    from app.referrals import service_records as _records  # noqa: F401  (share_fields)
    from app.reports import home as _report_home  # noqa: F401  (the indicators home panel)
    from app.safe_space import home as _safe_space_home  # noqa: F401  (coordinator home panel)

    check_subscribed()


def create_app(config: Mapping[str, Any] | str | None = None) -> Flask:
    """Build the Amana application; ``config`` is an environment name or a mapping of settings."""
    overrides: Mapping[str, Any] = {"AMANA_ENV": config} if isinstance(config, str) else (config or {})
    app = Flask(__name__, instance_path=str(_instance_path(overrides)))
    configure(app, overrides)
    from app.observability import install_observability

    install_observability(app)  # first: its timer starts before, its log line ends after the rest
    init_extensions(app)
    from app.i18n import init_i18n

    init_i18n(app)
    from app.ui import install_ui

    install_ui(app)
    from app.localtime import install_localtime

    install_localtime(app)
    register_blueprints(app)
    connect_hooks()
    from app.errors import register_error_handlers

    register_error_handlers(app)
    from app.cli import register_cli

    register_cli(app)
    from app.security import install_security

    install_security(app)
    from app.auth.guard import install_guard

    install_guard(app)
    from app.audit.autocheckpoint import install as install_checkpoints

    install_checkpoints(app)  # signed audit checkpoints outside the database, every T minutes
    # What the audit workspace asks the features it may not import (app.audit.resolvers).
    from app.cases import audit_names as _case_names  # noqa: F401
    from app.referrals import audit_names as _referral_names  # noqa: F401

    return app
