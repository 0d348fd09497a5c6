"""Logging in as the world's accounts, as a person would: password, then the two-step code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.codes import code_at
from tests.helpers.forms import csrf_from

if TYPE_CHECKING:
    from tests.helpers.apps import Clock
    from tests.helpers.factories import World

PASSWORD = "correct horse battery staple"  # every account of the test world


class Auth:
    """Logs test clients in as the world's accounts (the ``auth`` fixture)."""

    def __init__(self, app: Flask, world: World, clock_: Clock) -> None:
        self.app, self.world, self.clock = app, world, clock_

    def code(self, username: str) -> str:
        # Each login moves past the last used time step, so codes are never replays.
        self.clock.advance(seconds=31)
        return code_at(self.world.secrets[username], self.clock.now)

    def login(self, username: str, password: str = PASSWORD,
              client: FlaskClient | None = None) -> FlaskClient:
        """A client logged in as ``username`` (asserts each step succeeds)."""
        c = client or self.app.test_client()
        page = c.get("/auth/login")
        resp = c.post("/auth/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert resp.status_code == 302 and resp.location.endswith("/auth/mfa"), resp.status_code
        page = c.get("/auth/mfa")
        resp = c.post("/auth/mfa", data={"code": self.code(username),
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    def csrf(self, c: FlaskClient, path: str = "/") -> str:
        """The CSRF token of the page at ``path``."""
        return csrf_from(c.get(path).get_data(as_text=True))
