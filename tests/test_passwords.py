"""Password hashing parameters (settings: production's, the floor, the suite's light ones),
rehashing, and the length-only rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select

from app.auth import passwords
from app.auth.models import User
from app.config import ConfigError, build_config
from app.db import db
from tests.helpers.apps import LIGHT_ARGON2, production_app
from tests.helpers.login import PASSWORD

PRODUCTION_PREFIX = "$argon2id$v=19$m=65536,t=3,p=4$"


@pytest.fixture
def light() -> Iterator[None]:
    """An app context with the suite's light parameters (hashing without a whole app)."""
    app = Flask(__name__)
    app.config.update(LIGHT_ARGON2)
    with app.app_context():
        yield


def test_production_app_hashes_with_the_production_parameters(db_uri, instance_dir, monkeypatch):
    # The one test that pays the production cost: a real production app, default settings.
    app = production_app(db_uri, instance_dir, monkeypatch)
    with app.app_context():
        h = passwords.hash_password("a long enough passphrase")
        assert h.startswith(PRODUCTION_PREFIX)
        assert passwords.verify_password(h, "a long enough passphrase")
        assert not passwords.needs_rehash(h)
        # The unknown-account path verifies against a hash made with the same parameters.
        current, dummy = passwords._current()
        assert dummy.startswith(PRODUCTION_PREFIX) and current.time_cost == 3
        assert not passwords.verify_password(None, "a long enough passphrase")
    # At or above ASVS 5.0 appendix C / OWASP: m >= 19 MiB, t >= 2 (with p = 1).
    assert passwords.ARGON2_MEMORY_KIB >= 19 * 1024 and passwords.ARGON2_TIME_COST >= 2


def test_the_suite_hashes_with_light_parameters(app):
    with app.app_context():
        h = passwords.hash_password("a long enough passphrase")
        dummy = passwords._current()[1]
    assert h.startswith("$argon2id$v=19$m=8,t=1,p=1$") and dummy.startswith("$argon2id$v=19$m=8,t=1,p=1$")


@pytest.mark.parametrize("name,value", [("AMANA_ARGON2_MEMORY_KIB", "16384"),
                                        ("AMANA_ARGON2_TIME_COST", "1")])
def test_production_refuses_parameters_below_the_floor(instance_dir, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} is {value}, below the safe minimum"):
        build_config("production", instance_dir, keys=False)
    assert build_config("testing", instance_dir, keys=False)[name.removeprefix("AMANA_")] == int(value)


def test_parameters_from_the_environment_and_their_checks(instance_dir, monkeypatch):
    monkeypatch.setenv("AMANA_ARGON2_MEMORY_KIB", "32768")
    monkeypatch.setenv("AMANA_ARGON2_PARALLELISM", "2")
    cfg = build_config("production", instance_dir, keys=False)
    assert (cfg["ARGON2_MEMORY_KIB"], cfg["ARGON2_TIME_COST"], cfg["ARGON2_PARALLELISM"]) == (32768, 3, 2)
    monkeypatch.setenv("AMANA_ARGON2_MEMORY_KIB", "8")
    with pytest.raises(ConfigError, match="at least 8 KiB per lane"):
        build_config("testing", instance_dir, keys=False)
    monkeypatch.setenv("AMANA_ARGON2_MEMORY_KIB", "lots")
    with pytest.raises(ConfigError, match="AMANA_ARGON2_MEMORY_KIB must be a whole number"):
        build_config("testing", instance_dir, keys=False)


def test_a_production_app_given_light_parameters_in_code_refuses_to_hash():
    app = Flask(__name__)
    app.config.update(LIGHT_ARGON2, AMANA_ENV="production")
    with app.app_context(), pytest.raises(ConfigError, match="below the safe minimum"):
        passwords.hash_password("a long enough passphrase")


def test_verify_accepts_right_and_refuses_wrong(light):
    h = passwords.hash_password("a long enough passphrase")
    assert passwords.verify_password(h, "a long enough passphrase")
    assert not passwords.verify_password(h, "a long enough passphrasE")
    assert not passwords.verify_password(None, "a long enough passphrase")
    assert not passwords.verify_password("not-a-hash", "a long enough passphrase")


def test_no_truncation_long_passwords_differ_in_last_character(light):
    base = "x" * 200
    h = passwords.hash_password(base + "a")
    assert not passwords.verify_password(h, base + "b")


@pytest.mark.parametrize("pw,ok", [
    ("short pass1", False),                 # 11 characters
    ("twelve chars", True),                 # exactly 12
    ("ab" * 64, True),                      # 128 characters
    ("q" * 255 + "z", True),                # 256 characters
    ("q" * 257, False),                     # over the maximum
    ("🦋🌙🔑🐪🌴🏜️🌊🕊️🧕🏽📚", True),          # emoji count as characters
    ("كلمة مرور طويلة جداً", True),          # Arabic
    ("password1234", False),                # common
    ("Password2026!", False),               # common stem with digits and symbols
    ("qwertyuiop12", False),                # common
])
def test_length_and_common_rules(pw, ok):
    assert (passwords.problems(pw) == []) is ok, passwords.problems(pw)


def test_password_containing_username_refused():
    assert passwords.problems("my name is caseworker ok", username="caseworker")


def test_nfkc_normalisation_makes_equivalent_input_match(light):
    h = passwords.hash_password("ﬁnally a passphrase")  # 'ﬁ' ligature
    assert passwords.verify_password(h, "finally a passphrase")


def test_rehash_on_login_when_parameters_rise(app, auth, world, real_argon2):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    uid = uuid.UUID(world.users["caseworker"])
    with app.app_context():
        db.session.get(User, uid).password_hash = weak
        db.session.commit()
    auth.login("caseworker")
    with app.app_context():
        stored = db.session.execute(select(User.password_hash).where(User.id == uid)).scalar_one()
    assert stored != weak and stored.startswith(PRODUCTION_PREFIX)
