"""A tiny OpenID provider for the single sign-on tests, on 127.0.0.1 in a thread.

Discovery, JWKS, an authorization endpoint that approves at once as the subject the test chose
(echoing ``state``, remembering ``nonce`` and the PKCE challenge) and a token endpoint that
checks the client's secret, the code (once), the redirect address and the PKCE verifier, then
signs an ID token (RS256, joserfc) dated by the app's frozen clock. Each bad token the tests
need is one setting of ``Provider.bad``: ``forged`` (signed by a key the JWKS does not
publish), ``audience``, ``issuer``, ``expired``, ``no_nonce``, ``nonce`` (another nonce),
``alg_none``, ``hs256`` (an HMAC keyed with the public key), ``replay`` (the token of the last
sign-in again, with its nonce).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import secrets
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request, Response

from app.auth.oidc_models import OidcIdentity, OrganisationSso
from app.clock import utcnow
from app.db import db

if TYPE_CHECKING:
    from tests.helpers.factories import World

CLIENT_ID = "amana-test-client"
CLIENT_SECRET = "test-secret-" + "s" * 24

_KEYS: dict[str, RSAKey] = {}


def _key(name: str) -> RSAKey:
    """RSA keys made once per run (2048 bits take a moment)."""
    if name not in _KEYS:
        _KEYS[name] = RSAKey.generate_key(2048, parameters={"kid": name})
    return _KEYS[name]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Provider:
    """The provider's state, which the test sets: who signs in and what goes wrong."""

    def __init__(self) -> None:
        self.subject = "subject-0001"
        self.bad: str | None = None
        self.claims: dict[str, Any] = {}  # extra claims (amr, acr, auth_time)
        self.codes: dict[str, dict[str, str]] = {}
        self.last_token: str | None = None
        self.tokens_issued = 0
        self.issuer = ""

    # --- the endpoints ---------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        handler = {"/.well-known/openid-configuration": self.discovery, "/jwks": self.jwks,
                   "/authorize": self.authorize, "/token": self.token}.get(req.path)
        resp = handler(req) if handler else Response("not found", status=404)
        return resp(environ, start_response)

    def discovery(self, _req: Request) -> Response:
        return _json({"issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                      "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
                      "id_token_signing_alg_values_supported": ["RS256"]})

    def jwks(self, _req: Request) -> Response:
        return _json({"keys": [_key("good").as_dict(private=False)]})

    def authorize(self, req: Request) -> Response:
        args = req.args
        if args.get("client_id") != CLIENT_ID or args.get("code_challenge_method") != "S256":
            return Response("bad request", status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": args.get("nonce", ""), "redirect_uri": args["redirect_uri"],
                            "challenge": args.get("code_challenge", ""), "sub": self.subject}
        query = urllib.parse.urlencode({"code": code, "state": args.get("state", "")})
        return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{query}"})

    def token(self, req: Request) -> Response:
        auth = req.authorization
        if auth is None or auth.username != CLIENT_ID or auth.password != CLIENT_SECRET:
            return _json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(req.form.get("code", ""), None)
        verifier = req.form.get("code_verifier", "")
        if (grant is None or grant["redirect_uri"] != req.form.get("redirect_uri")
                or _b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]):
            return _json({"error": "invalid_grant"}, 400)
        token = self.id_token(grant)
        self.tokens_issued += 1
        return _json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                      "id_token": token})

    # --- the ID token ---------------------------------------------------------------------

    def id_token(self, grant: dict[str, str]) -> str:
        if self.bad == "replay" and self.last_token:
            return self.last_token
        now = int(utcnow().timestamp())
        claims: dict[str, Any] = {"iss": self.issuer, "sub": grant["sub"], "aud": CLIENT_ID,
                                  "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                                  **self.claims}
        bad = self.bad
        if bad == "audience":
            claims["aud"] = "another-client"
        elif bad == "issuer":
            claims["iss"] = "http://127.0.0.1:1/elsewhere"
        elif bad == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        elif bad == "no_nonce":
            del claims["nonce"]
        elif bad == "nonce":
            claims["nonce"] = "a-nonce-this-sign-in-never-sent"
        if bad == "alg_none":
            token = ".".join([_b64(json.dumps({"alg": "none"}).encode()),
                              _b64(json.dumps(claims).encode()), ""])
        elif bad == "hs256":
            # by hand: joserfc itself refuses a public key as an HMAC secret
            public = _key("good").as_pem(private=False)
            signing = ".".join([_b64(json.dumps({"alg": "HS256", "kid": "good"}).encode()),
                                _b64(json.dumps(claims).encode())])
            mac = hmac.new(public, signing.encode(), hashlib.sha256).digest()
            token = f"{signing}.{_b64(mac)}"
        else:
            signer = _key("forged" if bad == "forged" else "good")
            token = jwt.encode({"alg": "RS256", "kid": "good"}, claims, signer,
                               algorithms=["RS256"])
        self.last_token = token
        return token


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@contextmanager
def running() -> Iterator[Provider]:
    """A provider listening on a free port of 127.0.0.1 until the block ends."""
    provider = Provider()
    server = make_server("127.0.0.1", 0, provider.wsgi, threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def sso_app(db_uri: str, instance_dir: Any, provider: Provider, subject: str,
            **config: Any) -> Iterator[Flask]:
    """An app whose OpenID provider is ``provider`` (reset to sign in as ``subject`` with
    nothing bad), disposed of when the block ends: the ``sso`` fixture of the tests."""
    from app.auth import oidc
    from tests.helpers.apps import make_app

    provider.bad, provider.claims, provider.subject, provider.last_token = None, {}, subject, None
    oidc.forget()
    app = make_app(db_uri, instance_dir, OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=CLIENT_ID,
                   OIDC_CLIENT_SECRET=CLIENT_SECRET, **config)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- What the tests do with it -----------------------------------------------------------

def settings(app: Flask, org_id: str, **values: Any) -> None:
    with app.app_context():
        row = db.session.get(OrganisationSso, uuid.UUID(org_id))
        if row is None:
            row = OrganisationSso(organisation_id=uuid.UUID(org_id), enabled=False,
                                  trust_mfa=False, mfa_amr="mfa otp hwk", mfa_acr="")
            db.session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def link(app: Flask, world: World, username: str, subject: str, issuer: str) -> None:
    with app.app_context():
        db.session.add(OidcIdentity(user_id=uuid.UUID(world.users[username]), issuer=issuer,
                                    subject=subject, linked_at=utcnow(), approved_at=utcnow()))
        db.session.commit()


def at_provider(url: str) -> str:
    """The browser at the provider: it approves at once and sends the browser back."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    conn.request("GET", f"{parts.path}?{parts.query}")
    resp = conn.getresponse()
    location = resp.getheader("Location") or ""
    conn.close()
    assert resp.status == 302, resp.status
    return location


def back(client: FlaskClient, location: str) -> TestResponse:
    parts = urlsplit(location)
    return client.get(parts.path, query_string=parts.query)


def sign_in(app: Flask, client: FlaskClient | None = None,
            start_url: str = "/auth/oidc/start") -> tuple[FlaskClient, TestResponse]:
    """Start at Amana, pass the provider, come back: the client and the return's answer."""
    c = client or app.test_client()
    start = c.get(start_url)
    assert start.status_code == 302 and "/authorize?" in start.location, start.status_code
    return c, back(c, at_provider(start.location))
