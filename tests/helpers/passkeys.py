"""A software authenticator for passkey tests without a browser: an EC P-256 key that makes
real WebAuthn registrations (attestation "none") and assertions, as a browser would send them
(app/static/js/passkey.js's JSON), and knobs to make them wrong on purpose (origin, rp id,
counter)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient

from tests.helpers.forms import csrf_from

RP_ID = "localhost"  # the Flask test client's host
ORIGIN = "http://localhost"
OPTIONS_RE = re.compile(r'data-passkey-options="([^"]*)"')


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def options_on(page: str) -> dict[str, Any]:
    """The passkey options a page carries for passkey.js."""
    found = OPTIONS_RE.search(page)
    assert found, "no passkey options on the page"
    options: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return options


class SoftAuthenticator:
    """One passkey held in software. ``counter`` is its signature counter (None: always 0, as
    synced passkeys do)."""

    def __init__(self, *, counter: int | None = 0) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = counter

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _count(self, counter: int | None) -> int:
        if counter is not None:
            return counter
        if self.counter is None:
            return 0
        self.counter += 1
        return self.counter

    def register(self, options: dict[str, Any], *, origin: str = ORIGIN,
                 rp_id: str = RP_ID) -> str:
        """The browser's JSON answer to registration ``options``."""
        client = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                             "origin": origin, "crossOrigin": False}).encode()
        auth = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x45])
                + self._count(0).to_bytes(4, "big") + bytes(16)
                + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self._cose())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth})
        return json.dumps({"id": b64(self.credential_id), "rawId": b64(self.credential_id),
                           "type": "public-key", "clientExtensionResults": {},
                           "response": {"clientDataJSON": b64(client),
                                        "attestationObject": b64(attestation),
                                        "transports": ["internal"]}})

    def sign(self, options: dict[str, Any], *, origin: str = ORIGIN, rp_id: str = RP_ID,
             counter: int | None = None, challenge: str | None = None) -> str:
        """The browser's JSON answer to authentication ``options`` (``counter`` forces the
        counter sent; by default it rises by one)."""
        client = json.dumps({"type": "webauthn.get",
                             "challenge": challenge or options["challenge"],
                             "origin": origin, "crossOrigin": False}).encode()
        auth = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x05])
                + self._count(counter).to_bytes(4, "big"))
        signature = self.key.sign(auth + hashlib.sha256(client).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return json.dumps({"id": b64(self.credential_id), "rawId": b64(self.credential_id),
                           "type": "public-key", "clientExtensionResults": {},
                           "response": {"clientDataJSON": b64(client),
                                        "authenticatorData": b64(auth),
                                        "signature": b64(signature), "userHandle": None}})


def add_passkey(c: FlaskClient, soft: SoftAuthenticator, label: str = "Work laptop") -> Any:
    """Register ``soft`` under My account with a signed-in (fresh) client; the last response."""
    page = c.post("/auth/passkeys/new", data={
        "label": label, "csrf_token": csrf_from(c.get("/auth/passkeys").get_data(as_text=True))})
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text[:300]
    return c.post("/auth/passkeys/add", data={"label": label, "csrf_token": csrf_from(text),
                                              "answer": soft.register(options_on(text))})


def password_only(c: FlaskClient, username: str, password: str) -> str:
    """Log in with the password only; the MFA page's text."""
    page = c.get("/auth/login")
    resp = c.post("/auth/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 302 and resp.location.endswith("/auth/mfa"), resp.status_code
    return c.get("/auth/mfa").get_data(as_text=True)


def sign_in(c: FlaskClient, soft: SoftAuthenticator, mfa_page: str, **how: Any) -> Any:
    """Answer the MFA page's passkey challenge with ``soft``; the response."""
    return c.post("/auth/mfa/passkey", data={"csrf_token": csrf_from(mfa_page),
                                             "answer": soft.sign(options_on(mfa_page), **how)})
