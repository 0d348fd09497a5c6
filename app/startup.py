"""Checks made before serving: the schema is current and, in production, the accounts are sane."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.auth.models import User
from app.auth.policy import Permission, roles_with
from app.config import ConfigError
from app.db import db
from app.dbsetup import require_current_schema


def check_ready(app: Flask) -> None:
    """Raise ``ConfigError`` (one line) when the app must not serve."""
    require_current_schema(app)
    from app.crypto.keyring import check_keyring

    check_keyring(app)  # a wrong or missing key-encryption key stops here, with one line
    from app.crypto.keychecks import check_keys

    check_keys(app)  # so does any other key that does not match its check value
    if app.config["AMANA_ENV"] != "production":
        return
    from app.dbroles import check_runtime_role

    check_runtime_role(app)  # PostgreSQL: a role that could get round the audit triggers stops here
    with app.app_context():
        demo = db.session.execute(select(User.id).where(User.is_demo.is_(True)).limit(1)).first()
        admin = db.session.execute(
            select(User.id).where(User.role.in_(roles_with(Permission.ADMIN_USERS)),
                                  User.active.is_(True)).limit(1)
        ).first()
        db.session.remove()
    if demo is not None:
        raise ConfigError("Demo accounts exist in this database; production refuses to start. "
                          "Use a fresh database.")
    if admin is None:
        raise ConfigError("No active admin account; create one with "
                          "'flask --app app users create --role admin ...'.")
