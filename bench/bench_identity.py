"""Sign-in and step-up benchmark: prints one table, asserts nothing.

What each part of signing in and of confirming a dangerous action costs the server, on a
throw-away SQLite database through the test client (the network and the browser are not in the
figures; the single sign-on rows include the local OpenID provider's HTTP answers):

1. The password step (Argon2id with the configured parameters: production's defaults unless
   ``AMANA_ARGON2_*`` says otherwise), then the second step with the authenticator app's code
   and with a passkey (a software authenticator: the signature check, the counter, the session).
2. A dangerous action (an admin issuing a password reset code): inside the step-up window, when
   stale (answered with the "Confirm it is you" page, nothing done), and with the code typed on
   that page (the code checked and claimed, then the action).
3. A page (home) with no pledge, and with a pledge published and accepted: the gate's cost.
4. Single sign-on: the provider's return (state, the code exchanged at the provider's token
   endpoint, the ID token's signature, issuer, audience, nonce and dates checked, the subject
   matched), with the provider's discovery and keys already fetched.

    .venv/bin/python bench/bench_identity.py [--runs 30]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from measure import bench_app, ms, organisation_with_staff  # noqa: E402

from app import clock  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.db import db  # noqa: E402
from app.directory.models import Organisation, OrganisationPledge  # noqa: E402
from tests.helpers import oidc_provider  # noqa: E402
from tests.helpers.forms import csrf_from  # noqa: E402
from tests.helpers.passkeys import SoftAuthenticator, add_passkey, options_on  # noqa: E402

PASSWORD = "bench password for signing in"
STEP = timedelta(seconds=31)  # a code's time step later than the last one used


class Clock:
    """The app's frozen clock, moved on by hand (codes are accepted once per time step)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        clock.freeze(self.now)

    def advance(self, delta: timedelta) -> None:
        self.now += delta
        clock.freeze(self.now)


def make_app(tmp: Path, database: str = "bench.db", **config: Any) -> Flask:
    return bench_app(tmp, database, LOGIN_ADDRESS_LIMIT="100000 per minute", **config)


def seed(app: Flask) -> dict[str, str]:
    """One organisation, an admin (code and, later, a passkey) and the account whose password
    the admin resets (a programme manager: no second admin needed)."""
    with app.app_context():
        org, staff = organisation_with_staff(
            {"bench-admin": "admin", "bench-staff": "program_manager"}, PASSWORD)
        out = {"org": str(org.id)}
        for username, (user, secret) in staff.items():
            out[username], out[username + ":secret"] = str(user.id), secret
    return out


def password_step(c: FlaskClient) -> float:
    page = c.get("/auth/login")
    t0 = time.perf_counter()
    resp = c.post("/auth/login", data={"username": "bench-admin", "password": PASSWORD,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    took = time.perf_counter() - t0
    assert resp.status_code == 302 and resp.location.endswith("/auth/mfa"), resp.status_code
    return took


def code_step(c: FlaskClient, secret: str, at: datetime) -> float:
    page = c.get("/auth/mfa").get_data(as_text=True)
    t0 = time.perf_counter()
    resp = c.post("/auth/mfa", data={"code": pyotp.TOTP(secret).at(at),
                                     "csrf_token": csrf_from(page)})
    took = time.perf_counter() - t0
    assert resp.status_code == 302 and not resp.location.endswith("/auth/mfa"), resp.location
    return took


def passkey_step(c: FlaskClient, soft: SoftAuthenticator) -> float:
    page = c.get("/auth/mfa").get_data(as_text=True)
    answer = soft.sign(options_on(page))
    t0 = time.perf_counter()
    resp = c.post("/auth/mfa/passkey", data={"csrf_token": csrf_from(page), "answer": answer})
    took = time.perf_counter() - t0
    assert resp.status_code == 302 and not resp.location.endswith("/auth/mfa"), resp.location
    return took


def sign_in_rows(app: Flask, ids: dict[str, str], now: Clock,
                 runs: int) -> tuple[list[tuple[str, list[float]]], FlaskClient]:
    secret = ids["bench-admin:secret"]
    first = app.test_client()
    password_step(first)
    code_step(first, secret, now.now)
    soft = SoftAuthenticator(counter=0)
    added = add_passkey(first, soft)
    assert added.status_code == 302, added.status_code
    password, code, passkey = [], [], []
    for _ in range(runs):
        now.advance(STEP)
        c = app.test_client()
        password.append(password_step(c))
        code.append(code_step(c, secret, now.now))
        c = app.test_client()
        password_step(c)
        passkey.append(passkey_step(c, soft))
        first.get("/")  # the admin's own session stays alive (idle timeout)
    rows = [("password step (Argon2id: the configured parameters)", password),
            ("second step, authenticator code", code),
            ("second step, passkey", passkey)]
    return rows, first


def step_up_rows(app: Flask, ids: dict[str, str], now: Clock, admin: FlaskClient,
                 runs: int) -> list[tuple[str, list[float]]]:
    """The admin issues a reset code for the staff account, fresh, stale and with the code."""
    path = f"/admin/users/{ids['bench-staff']}/reset-password"
    secret = ids["bench-admin:secret"]

    def post(extra: dict[str, str] | None = None) -> tuple[float, str]:
        token = csrf_from(admin.get(f"/admin/users/{ids['bench-staff']}").get_data(as_text=True))
        t0 = time.perf_counter()
        resp = admin.post(path, data={"csrf_token": token, **(extra or {})})
        took = time.perf_counter() - t0
        assert resp.status_code == 200, resp.status_code
        return took, resp.get_data(as_text=True)

    fresh, stale, typed = [], [], []
    for _ in range(runs):
        now.advance(timedelta(minutes=6))  # the last proof is older than the window
        took, text = post()
        assert "Confirm it is you" in text
        stale.append(took)
        took, text = post({"step_up_code": pyotp.TOTP(secret).at(now.now)})
        assert "Confirm it is you" not in text
        typed.append(took)
        now.advance(STEP)  # a minute later, still inside the window of that proof
        took, text = post()
        assert "Confirm it is you" not in text
        fresh.append(took)
    return [("dangerous action inside the window (reset code issued)", fresh),
            ("dangerous action when stale: the confirm page, nothing done", stale),
            ("dangerous action with the code typed (checked, claimed, done)", typed)]


def pledge_rows(app: Flask, ids: dict[str, str], admin: FlaskClient,
                runs: int) -> list[tuple[str, list[float]]]:
    def home() -> float:
        t0 = time.perf_counter()
        resp = admin.get("/")
        took = time.perf_counter() - t0
        assert resp.status_code == 200, resp.status_code
        return took

    with app.app_context():
        org = db.session.get(Organisation, uuid.UUID(ids["org"]))
        user = db.session.get(User, uuid.UUID(ids["bench-admin"]))
        assert org is not None and user is not None
        db.session.add(OrganisationPledge(organisation_id=org.id, number=1,
                                          text_en="I keep what I see here confidential.",
                                          published_at=utcnow(), published_by_id=user.id))
        org.pledge_number = 1
        db.session.commit()
    assert admin.get("/").status_code == 302  # the gate holds until it is accepted
    page = admin.get("/auth/pledge").get_data(as_text=True)
    resp = admin.post("/auth/pledge", data={"csrf_token": csrf_from(page), "accept": "y",
                                            "number": "1"})
    assert resp.status_code == 302, resp.status_code

    def published(number: int | None) -> None:
        with app.app_context():
            org = db.session.get(Organisation, uuid.UUID(ids["org"]))
            assert org is not None
            org.pledge_number = number
            db.session.commit()

    without, accepted = [], []
    home()
    for _ in range(runs):  # interleaved, so that both see the same machine
        published(None)
        without.append(home())
        published(1)
        accepted.append(home())
    return [("home page, no pledge published", without),
            ("home page, pledge published and accepted", accepted)]


def sso_rows(tmp: Path, runs: int) -> list[tuple[str, list[float]]]:
    from app.auth import oidc

    out: list[float] = []
    with oidc_provider.running() as provider:
        oidc.forget()
        app = make_app(tmp, "sso.db", OIDC_ISSUER=provider.issuer,
                       OIDC_CLIENT_ID=oidc_provider.CLIENT_ID,
                       OIDC_CLIENT_SECRET=oidc_provider.CLIENT_SECRET)
        ids = seed(app)
        oidc_provider.settings(app, ids["org"], enabled=True)
        with app.app_context():
            from app.auth.oidc_models import OidcIdentity

            db.session.add(OidcIdentity(user_id=uuid.UUID(ids["bench-staff"]),
                                        issuer=provider.issuer, subject=provider.subject,
                                        linked_at=utcnow(), approved_at=utcnow()))
            db.session.commit()

        def once() -> float:
            c = app.test_client()
            start = c.get("/auth/oidc/start")
            assert start.status_code == 302, start.status_code
            location = oidc_provider.at_provider(start.location)
            t0 = time.perf_counter()
            resp = oidc_provider.back(c, location)
            took = time.perf_counter() - t0
            # a page that continues to the code (the session cookie is set on our own page)
            assert resp.status_code == 200 and 'href="/auth/mfa"' in resp.get_data(
                as_text=True), resp.status_code
            return took

        once()
        out = [once() for _ in range(runs)]
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        oidc.forget()
    return [("single sign-on: the provider's return (then Amana's code)", out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        now = Clock()
        try:
            app = make_app(tmp)
            argon2 = {k: v for k, v in app.config.items() if k.startswith("ARGON2_")}
            ids = seed(app)
            signed, admin = sign_in_rows(app, ids, now, args.runs)
            rows += signed
            rows += step_up_rows(app, ids, now, admin, args.runs)
            rows += pledge_rows(app, ids, admin, args.runs)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            rows += sso_rows(tmp, args.runs)
        finally:
            clock.freeze(None)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; times in ms; "
          f"Argon2id t={argon2['ARGON2_TIME_COST']}, m={argon2['ARGON2_MEMORY_KIB']} KiB, "
          f"p={argon2['ARGON2_PARALLELISM']}")
    print(f"  {'operation (SQLite, test client)':<64} {'runs':>5} {'median':>9} {'p95':>9}")
    for what, samples in rows:
        med, p95 = ms(samples)
        print(f"  {what:<64} {len(samples):>5} {med:>9.2f} {p95:>9.2f}")


if __name__ == "__main__":
    main()
