"""Fixtures: each test gets its own database, copied from a migrated and seeded template.

Without ``TEST_DATABASE_URL`` the suite runs on SQLite; with it (``postgresql://...``) it runs
on PostgreSQL, cloning a template database per test. The clock is frozen at a known time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import clock, create_app
from app.auth import passwords as _passwords
from app.db import db
from tests.support import PASSWORD, World, build_world, csrf_from

START = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)  # a Tuesday, working hours
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKEND = "postgresql" if PG_URL else "sqlite"


class Clock:
    """The frozen test clock; ``advance`` moves it forward."""

    def __init__(self) -> None:
        self.now = START
        clock.freeze(self.now)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        clock.freeze(self.now)
        return self.now


def _pg(url: str, name: str) -> str:
    # Throw-away test databases: a commit need not wait for the disk (no effect on what the
    # tests see, only on durability after a crash); about a third of the PostgreSQL run was
    # spent waiting on commits.
    return sa.make_url(url).set(drivername="postgresql+psycopg", database=name).update_query_dict(
        {"options": "-c synchronous_commit=off"}).render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    engine = sa.create_engine(_pg(PG_URL, sa.make_url(PG_URL).database or "postgres"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_app(db_uri: str, instance: Path, **extra: Any) -> Flask:
    """An app in testing mode on ``db_uri`` with keys from ``instance``."""
    cfg = {"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
           "SQLALCHEMY_DATABASE_URI": db_uri, "RATELIMIT_STORAGE_URI": "memory://",
           "SERVER_NAME": None,
           # One audit checkpoint log per test database (the instance folder is shared).
           "AUDIT_CHECKPOINT_FILE": str(instance / "audit" / f"{_digest(db_uri)}.jsonl")}
    cfg.update(extra)
    return create_app(cfg)


# The production hasher, kept before the suite swaps in a cheap one (``real_argon2`` restores it).
PRODUCTION_HASHER = (_passwords.hasher, _passwords._DUMMY_HASH)


@pytest.fixture(scope="session", autouse=True)
def light_argon2() -> Iterator[None]:
    """Cheap Argon2 for the suite: at the real cost (m=64 MiB, t=3, about 0.2 s a hash here)
    thousands of logins dominated the run. Tests about the real parameters and their cost
    (test_passwords, the equal-time login test) use ``real_argon2``; subprocess tests run them."""
    from argon2 import PasswordHasher

    mp = pytest.MonkeyPatch()
    mp.setattr(_passwords, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1,
                                                    hash_len=32, salt_len=16))
    mp.setattr(_passwords, "_DUMMY_HASH", _passwords.hasher.hash("amana-timing-equaliser"))
    yield
    mp.undo()


@pytest.fixture
def real_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's own production hasher (m=64 MiB, t=3, p=4), for tests about it."""
    monkeypatch.setattr(_passwords, "hasher", PRODUCTION_HASHER[0])
    monkeypatch.setattr(_passwords, "_DUMMY_HASH", PRODUCTION_HASHER[1])


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def template(instance_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    """A migrated database holding the test world, made once per run."""
    clock.freeze(START)
    tag = uuid.uuid4().hex[:8]
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        uri = f"sqlite:///{path}"
    else:
        name = f"amana_tmpl_{tag}"
        _pg_admin(f"CREATE DATABASE {name}")
        uri = _pg(PG_URL, name)
    app = make_app(uri, instance_dir)
    with app.app_context():
        upgrade()
        world = build_world()
        db.session.remove()
        db.engine.dispose()
    clock.freeze(None)
    yield uri, world
    if BACKEND == "postgresql":
        _pg_admin(f"DROP DATABASE IF EXISTS amana_tmpl_{tag} WITH (FORCE)")


@pytest.fixture
def frozen() -> Iterator[Clock]:
    c = Clock()
    yield c
    clock.freeze(None)


@pytest.fixture
def db_uri(template: tuple[str, World], tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the template database for one test."""
    uri, _world = template
    if BACKEND == "sqlite":
        src = Path(sa.make_url(uri).database or "")
        dst = tmp_path / "test.db"
        shutil.copyfile(src, dst)
        yield f"sqlite:///{dst}"
    else:
        name = f"amana_t_{uuid.uuid4().hex[:10]}"
        _pg_admin(f"CREATE DATABASE {name} TEMPLATE {sa.make_url(uri).database}")
        yield _pg(PG_URL, name)
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def app(db_uri: str, instance_dir: Path, frozen: Clock) -> Iterator[Flask]:
    application = make_app(db_uri, instance_dir)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(template: tuple[str, World]) -> World:
    return template[1]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Auth:
    """Logs test clients in as the world's accounts, as a person would (password then code)."""

    def __init__(self, app: Flask, world: World, clock_: Clock) -> None:
        self.app, self.world, self.clock = app, world, clock_

    def code(self, username: str) -> str:
        # Each login moves past the last used time step, so codes are never replays.
        self.clock.advance(seconds=31)
        return pyotp.TOTP(self.world.secrets[username]).at(self.clock.now)

    def login(self, username: str, password: str = PASSWORD,
              client: FlaskClient | None = None) -> FlaskClient:
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
        return csrf_from(c.get(path).get_data(as_text=True))


@pytest.fixture
def auth(app: Flask, world: World, frozen: Clock) -> Auth:
    return Auth(app, world, frozen)
