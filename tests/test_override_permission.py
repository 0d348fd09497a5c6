"""The consent override is a permission: whoever holds ``Permission.REFERRAL_OVERRIDE`` is
offered it and may use it, whatever their role is called; nobody else is, or may."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.auth import policy
from app.auth.policy import Permission, Role
from app.db import db
from app.referrals.models import Referral
from tests.helpers.factories import World
from tests.helpers.forms import form_tokens

REASON = "Danger tonight; verbal consent only."


def _count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(sa.func.count()).select_from(Referral)).scalar_one())


def _override(c: FlaskClient, world: World) -> tuple[str, TestResponse]:
    """Open the referral form for a case without consent to share with legal services (the
    service chosen, so the form shows what it allows), then
    send an override with a reason; returns the form page and the answer."""
    url = f"/referrals/new/{world.ids['case_own']}"
    page = c.get(f"{url}?service={world.ids['legal']}").get_data(as_text=True)
    r = c.post(url, data={"service": world.ids["legal"], "urgency": "normal", "message": "",
                          "override_code": "risk_to_life", "override_reason": REASON,
                          **form_tokens(page)})
    return page, r


def test_the_override_follows_the_permission_not_the_role(
        app: Flask, auth: Any, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    held = policy.ROLE_PERMISSIONS
    monkeypatch.setitem(held, Role.CASEWORKER, held[Role.CASEWORKER] | {Permission.REFERRAL_OVERRIDE})
    monkeypatch.setitem(held, Role.SUPERVISOR, held[Role.SUPERVISOR] - {Permission.REFERRAL_OVERRIDE})
    before = _count(app)

    page, r = _override(auth.login("supervisor"), world)
    assert 'id="override"' not in page
    assert r.status_code == 200 and "not consented" in r.get_data(as_text=True)
    assert _count(app) == before

    page, r = _override(auth.login("caseworker"), world)
    assert 'id="override"' in page
    assert r.status_code == 302 and _count(app) == before + 1
