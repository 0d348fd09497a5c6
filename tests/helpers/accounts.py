"""The admin's account screens in tests: post the new-account and edit-account forms, find a
role grant and approve or refuse it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.auth.models import RoleGrant, User
from app.db import db
from tests.helpers.factories import World
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.login import Auth


def post_user(admin: FlaskClient, world: World, path: str, **over: Any) -> TestResponse:
    """Post the account form at ``path`` for a new Tripoli supervisor (override any field)."""
    data = {"username": "new.super", "display_name": "Nadia Supervisor", "role": "supervisor",
            "organisation": world.ids["org"], "sites": [world.ids["tripoli"]], "service": "",
            "language": "en", **form_tokens(admin.get(path).get_data(as_text=True))}
    data.update(over)
    return admin.post(path, data=data)


def edit_user(app: Flask, admin: FlaskClient, world: World, username: str,
              **over: Any) -> TestResponse:
    """Post ``username``'s edit form with its current values, except those in ``over``."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        values = {"username": user.username, "display_name": user.display_name,
                  "role": user.role, "organisation": str(user.organisation_id),
                  "sites": [str(s.id) for s in user.sites],
                  "safe_spaces": [str(s.id) for s in user.safe_spaces],
                  "service": str(user.service_id or ""), "language": user.language,
                  "version": str(user.version)}
        path = f"/admin/users/{user.id}"
    values.update(over)
    values["csrf_token"] = csrf_from(admin.get(path).get_data(as_text=True))
    return admin.post(path, data=values)


def grant_of(app: Flask, username: str, status: str = "pending") -> RoleGrant | None:
    """``username``'s role grant in ``status``, if any."""
    with app.app_context():
        return db.session.execute(
            select(RoleGrant).join(User, User.id == RoleGrant.user_id)
            .where(User.username == username, RoleGrant.status == status)
        ).scalar_one_or_none()


def decide(auth: Auth, client: FlaskClient, grant: RoleGrant, op: str) -> TestResponse:
    """Post ``op`` (``approve`` or ``refuse``) on ``grant`` as ``client``'s admin."""
    return client.post(f"/admin/grants/{grant.id}/{op}",
                       data={"csrf_token": auth.csrf(client, "/admin/grants"),
                             "version": grant.version})
