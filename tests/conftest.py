"""Fixtures: each test gets its own database, copied from a migrated and seeded template.

Without ``TEST_DATABASE_URL`` the suite runs on SQLite; with it (``postgresql://...``) it runs
on PostgreSQL, cloning a template database per test. The clock is frozen at a known time.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import clock
from app.config import DEFAULT_ARGON2
from app.db import db
from tests.helpers.apps import BACKEND, PG_URL, START, Clock, make_app, pg_admin, pg_url
from tests.helpers.databases import PgCopies
from tests.helpers.factories import World, build_world
from tests.helpers.login import Auth
from tests.helpers.oidc_provider import Provider, running


@pytest.fixture
def real_argon2(app: Flask) -> None:
    """The production Argon2 parameters (m=64 MiB, t=3, p=4) on the test app, for the tests
    about their cost (the suite runs with ``LIGHT_ARGON2``, tests/helpers/apps.py)."""
    app.config.update(DEFAULT_ARGON2)


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """The local OpenID provider of the single sign-on tests (tests/helpers/oidc_provider.py),
    one per test module that asks for it."""
    with running() as p:
        yield p


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
        pg_admin(f"CREATE DATABASE {name}")
        uri = pg_url(PG_URL, name)
    app = make_app(uri, instance_dir)
    with app.app_context():
        upgrade()
        world = build_world()
        db.session.remove()
        db.engine.dispose()
    clock.freeze(None)
    yield uri, world
    if BACKEND == "postgresql":
        pg_admin(f"DROP DATABASE IF EXISTS amana_tmpl_{tag} WITH (FORCE)")


@pytest.fixture(scope="session")
def copies(template: tuple[str, World]) -> Iterator[PgCopies | None]:
    """On PostgreSQL, the one copy of the template that the tests of this run take in turn."""
    if BACKEND == "sqlite":
        yield None
        return
    pool = PgCopies(sa.make_url(template[0]).database or "")
    yield pool
    pool.discard()


@pytest.fixture
def frozen() -> Iterator[Clock]:
    c = Clock()
    yield c
    clock.freeze(None)


@pytest.fixture
def db_uri(template: tuple[str, World], copies: PgCopies | None,
           tmp_path: Path) -> Iterator[str]:
    """A database holding exactly the template, for one test: a copy of the file on SQLite, the
    reused and restored copy of ``copies`` on PostgreSQL."""
    uri, _world = template
    if BACKEND == "sqlite":
        src = Path(sa.make_url(uri).database or "")
        dst = tmp_path / "test.db"
        shutil.copyfile(src, dst)
        yield f"sqlite:///{dst}"
    else:
        assert copies is not None
        yield copies.take()


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


@pytest.fixture
def auth(app: Flask, world: World, frozen: Clock) -> Auth:
    return Auth(app, world, frozen)
