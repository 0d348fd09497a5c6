"""What the benchmarks share: a throw-away app and its first organisation and accounts, logging in
as a person would, timing a call, and the median and 95th percentile of the times."""

from __future__ import annotations

import math
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask

from app import clock, create_app

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def bench_app(tmp: Path, database: str = "bench.db", **config: Any) -> Flask:
    """An app on a SQLite file in ``tmp`` (keys in ``tmp/instance``), its limits out of the way,
    and its schema made."""
    from flask_migrate import upgrade

    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(tmp / "instance"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / database}",
                      "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": None, **config})
    with app.app_context():
        upgrade()
    return app


def organisation_with_staff(staff: dict[str, str], password: str) -> tuple[Any, dict[str, Any]]:
    """In an app context: one organisation with one site and an account per ``{username:
    role}``, each with ``password`` and an authenticator secret. Returns the organisation and
    ``{username: (user, secret)}``."""
    from app.auth import mfa, passwords
    from app.auth.models import User
    from app.db import db
    from app.directory.models import Organisation, Site

    org = Organisation(name="Bench NGO")
    db.session.add(org)
    db.session.flush()
    site = Site(organisation_id=org.id, name="Site 1", code="S01")
    db.session.add(site)
    db.session.flush()
    made: dict[str, Any] = {}
    for username, role in staff.items():
        user = User(username=username, display_name=username.replace("-", " ").title(),
                    organisation_id=org.id, role=role,
                    password_hash=passwords.hash_password(password),
                    password_changed_at=clock.utcnow(), sites=[site])
        db.session.add(user)
        db.session.flush()
        secret = pyotp.random_base32(32)
        mfa.store_secret(user, secret)
        user.mfa_enrolled_at = clock.utcnow()
        made[username] = (user, secret)
    db.session.commit()
    return org, made


def login(app: Flask, username: str, password: str, secret: str) -> Any:
    """A test client logged in as ``username``: password, then the current TOTP code."""
    client = app.test_client()
    now = datetime.now(UTC)
    clock.freeze(now)
    try:
        for path, data in (("/auth/login", {"username": username, "password": password}),
                           ("/auth/mfa", {"code": pyotp.TOTP(secret).at(now)})):
            page = client.get(path)
            token = CSRF_RE.search(page.get_data(as_text=True))
            assert token, "no CSRF token"
            resp = client.post(path, data={**data, "csrf_token": token.group(1)})
            assert resp.status_code == 302, (path, resp.status_code)
    finally:
        clock.freeze(None)
    return client


def ms(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000)


def timed(fn: Any, runs: int, before: Any = None) -> list[float]:
    """Seconds each of ``runs`` calls of ``fn`` took (after one untimed call), ``before`` run
    untimed ahead of each."""
    fn()
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out
