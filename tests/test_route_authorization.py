"""Every route is either public or in the authorization matrix, and the matrix holds for every
role: allowed roles get through, every other role is refused, anonymous users go to login (a
script's endpoint answers them 401 in JSON instead)."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from app import create_app
from app.audit.models import AuditEvent
from app.db import db
from tests.authz_matrix import MATRIX, PUBLIC, ROLES, Row
from tests.helpers.routes import fill_path, send


def test_every_route_is_public_or_in_the_matrix(instance_dir):
    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance_dir),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    in_matrix = {row.endpoint for row in MATRIX}
    missing = sorted(rule.endpoint for rule in app.url_map.iter_rules()
                     if rule.endpoint not in PUBLIC and rule.endpoint not in in_matrix)
    assert missing == [], f"routes with no authorization rule in tests/authz_matrix.py: {missing}"
    unknown = sorted(in_matrix - {r.endpoint for r in app.url_map.iter_rules()})
    assert unknown == [], f"matrix rows for routes that do not exist: {unknown}"


def test_public_endpoints_match_the_policy_allow_list():
    from app.auth.policy import PUBLIC_ENDPOINTS

    assert set(PUBLIC) == set(PUBLIC_ENDPOINTS)


@pytest.mark.parametrize("row", MATRIX, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("role", ROLES)
def test_matrix(row: Row, role: str, app, world, auth):
    if "{session:other}" in row.path:
        # A live session for another user, so "{session:other}" names something real.
        auth.login("caseworker2" if role != "caseworker2" else "caseworker")
    client = auth.login(role)
    path = fill_path(row.path, app, world, role)
    resp = send(client, row, path, auth.csrf(client))
    if role in row.allowed:
        assert resp.status_code in row.ok, (role, path, resp.status_code)
        assert "/auth/login" not in (resp.location or "") or row.endpoint in (
            "auth.logout", "auth.lock", "auth.end_session")
    elif role in row.not_found:
        assert resp.status_code == 404, (role, path, resp.status_code)
    else:
        assert resp.status_code == row.denied, (role, path, resp.status_code)
        assert resp.is_json or not row.json, (role, path)
        if row.denied == 403:
            with app.app_context():
                denied = db.session.execute(
                    select(AuditEvent).where(AuditEvent.action == "access.denied",
                                             AuditEvent.actor_id == uuid.UUID(world.users[role]))
                ).scalars().all()
            assert denied, "a refused request must be in the audit trail"


@pytest.mark.parametrize("row", MATRIX, ids=lambda r: f"{r.method} {r.path}")
def test_anonymous_goes_to_login(row: Row, app, world, client):
    path = fill_path(row.path, app, world, None)
    token = None
    if row.method != "GET":
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    resp = send(client, row, path, token)
    if row.json:  # a script is told, never sent to a page
        assert resp.status_code == 401 and resp.get_json()["error"] == "signed_out"
        return
    assert resp.status_code == 302 and "/auth/login" in resp.location


def test_route_without_a_rule_is_refused(app, auth):
    """Default deny: a view that declares no rule is refused even to an admin."""
    from app.auth.policy import PUBLIC_ENDPOINTS  # noqa: F401

    @app.get("/__test_unruled")
    def unruled() -> str:
        return "should never be seen"

    client = auth.login("admin")
    resp = client.get("/__test_unruled")
    assert resp.status_code == 403
    assert "should never be seen" not in resp.get_data(as_text=True)
