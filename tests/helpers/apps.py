"""Test apps and databases: ``make_app`` (testing settings, light Argon2), ``production_app``
(the production settings, keys from the environment), the frozen clock and PostgreSQL admin."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from app import clock, create_app
from app.keyfiles import KEY_NAMES

START = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)  # a Tuesday, working hours
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKEND = "postgresql" if PG_URL else "sqlite"
HOST = "amana.example.org"

# Cheap Argon2 for the suite: at the production cost (m=64 MiB, t=3, p=4; about 0.2 s a hash
# here) thousands of logins dominated the run. ``production_app`` and the ``real_argon2``
# fixture use the production parameters; tests/test_passwords.py checks them once.
LIGHT_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8, "ARGON2_PARALLELISM": 1}


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept for the whole run. Each test builds its own app, and so its own
    Jinja environment: without this every test compiled every page it rendered again (about
    half the time of the route matrix). Entries are keyed by template and checked against the
    source's checksum, so a changed template is compiled afresh."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = MemoryBytecodeCache()


class Clock:
    """The frozen test clock; ``advance`` moves it forward."""

    def __init__(self) -> None:
        self.now = START
        clock.freeze(self.now)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        clock.freeze(self.now)
        return self.now


def pg_url(url: str, name: str) -> str:
    """``url`` pointed at database ``name``, for psycopg."""
    # Throw-away test databases: a commit need not wait for the disk (no effect on what the
    # tests see, only on durability after a crash); about a third of the PostgreSQL run was
    # spent waiting on commits.
    return sa.make_url(url).set(drivername="postgresql+psycopg", database=name).update_query_dict(
        {"options": "-c synchronous_commit=off"}).render_as_string(hide_password=False)


def pg_admin(sql: str) -> None:
    """Run one statement on the PostgreSQL server of ``TEST_DATABASE_URL`` (autocommit)."""
    engine = sa.create_engine(pg_url(PG_URL, sa.make_url(PG_URL).database or "postgres"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_app(db_uri: str, instance: Path, **extra: Any) -> Flask:
    """An app in testing mode on ``db_uri`` with keys from ``instance`` (any setting in
    ``extra`` wins; a production app gets the production Argon2 parameters)."""
    cfg = {"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
           "SQLALCHEMY_DATABASE_URI": db_uri, "RATELIMIT_STORAGE_URI": "memory://",
           "SERVER_NAME": None,
           # One audit checkpoint log per test database (the instance folder is shared).
           "AUDIT_CHECKPOINT_FILE": str(instance / "audit" / f"{digest(db_uri)}.jsonl")}
    if extra.get("AMANA_ENV") != "production":
        cfg.update(LIGHT_ARGON2)
    cfg.update(extra)
    app = create_app(cfg)
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    return app


def production_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh random keys in the environment, as production takes them."""
    for name in KEY_NAMES:
        monkeypatch.setenv(f"AMANA_KEY_{name.upper()}",
                           base64.urlsafe_b64encode(os.urandom(32)).decode())


def production_app(db_uri: str, instance: Path, monkeypatch: pytest.MonkeyPatch,
                   hosts: str = f"{HOST}, .intra.example.org") -> Flask:
    """An app built with the production settings: ``AMANA_ENV=production``, keys from the
    environment, ``AMANA_ALLOWED_HOSTS`` set and every other setting its production default."""
    production_keys(monkeypatch)
    for name in ("AMANA_ARGON2_TIME_COST", "AMANA_ARGON2_MEMORY_KIB", "AMANA_ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AMANA_ALLOWED_HOSTS", hosts)
    app = make_app(db_uri, instance, AMANA_ENV="production")
    assert app.config["AMANA_ENV"] == "production" and app.config["SESSION_COOKIE_SECURE"]
    return app


REDIS = ("127.0.0.1", 6379)


def redis_up() -> bool:
    """Whether a Redis server answers on 127.0.0.1:6379 (the tests of shared counters need it)."""
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


def shared_redis() -> dict[str, Any]:
    """Settings for app hosts that share their counters through the local Redis: pass the same
    dict to each host of one test. Its keys carry a prefix of their own, so the SQLite and
    PostgreSQL runs (which ``make test`` runs side by side) never see each other's counters, and
    ``limiter.reset()`` clears only this test's."""
    return {"RATELIMIT_STORAGE_URI": "redis://{}:{}/15".format(*REDIS),
            "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"amana-test-{uuid.uuid4().hex}"}}
