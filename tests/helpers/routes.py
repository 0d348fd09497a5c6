"""The authorization matrix in tests: fill a row's path with real ids and send its request."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.auth.models import AuthSession
from app.db import db
from tests.authz_matrix import Row
from tests.helpers.factories import World

PLACEHOLDER = re.compile(r"\{(\w+):(\w+)\}")


def fill_path(path: str, app: Flask, world: World, username: str | None) -> str:
    """``path`` with its placeholders (``{id:case_own}``, ``{user:admin}``, ``{uuid:x}``,
    ``{incident:case_own}``, ``{session:own|other}``, ``{file:case_own}`` a file attached to
    that case, ``{shared:ref_mhpss}`` a file shared with that referral, ``{intake:caseworker}``
    a pending field intake of that account) replaced by ids of the world (the last three made
    on the spot)."""
    def repl(m: re.Match[str]) -> str:
        kind, label = m.group(1), m.group(2)
        if kind == "user":
            return world.users[label]
        if kind == "id":
            return world.ids[label]
        if kind == "uuid":
            return str(uuid.uuid4())
        if kind == "incident":
            from app.cases.models import Incident

            with app.app_context():
                return str(db.session.execute(select(Incident.id).where(
                    Incident.case_id == uuid.UUID(world.ids[label]))).scalars().first())
        if kind == "intake":  # a pending field intake of that account, made on the spot
            from tests.helpers.field import make_intake

            return make_intake(app, world.users[label])
        if kind in ("file", "shared"):  # made on demand: a file of the case, a referral's copy
            from tests.helpers.files import attach_file, share_file

            return attach_file(app, world, label) if kind == "file" else share_file(app, world, label)
        if kind == "session":
            with app.app_context():
                owner = world.users[username] if label == "own" and username else world.users["caseworker2"]
                if label == "other" and username == "caseworker2":
                    owner = world.users["caseworker"]
                row = db.session.execute(
                    select(AuthSession).where(AuthSession.user_id == uuid.UUID(owner),
                                              AuthSession.revoked_at.is_(None))
                ).scalars().first()
                return str(row.id) if row else "00000000-0000-0000-0000-000000000000"
        raise AssertionError(kind)
    return PLACEHOLDER.sub(repl, path)


def send(client: FlaskClient, row: Row, path: str, token: str | None) -> TestResponse:
    """The row's request on ``path`` (its form data, with the CSRF token if given; a script's
    row sends its data as JSON, the token in the header)."""
    if row.method == "GET":
        return client.get(path)
    if row.json:
        return client.open(path, method=row.method, json=row.data,
                           headers={"X-CSRFToken": token} if token else {})
    data = dict(row.data)
    if token:
        data["csrf_token"] = token
    return client.open(path, method=row.method, data=data)
