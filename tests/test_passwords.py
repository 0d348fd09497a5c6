"""Password hashing parameters, rehashing, and the length-only rules."""

from __future__ import annotations

import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.auth import passwords
from app.auth.models import User
from app.db import db
from tests.support import PASSWORD


def test_hash_is_argon2id_with_strong_parameters(real_argon2):
    h = passwords.hash_password("a long enough passphrase")
    assert h.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # At or above ASVS 5.0 appendix C / OWASP: m >= 19 MiB, t >= 2 (with p = 1).
    assert passwords.ARGON2_MEMORY_KIB >= 19 * 1024 and passwords.ARGON2_TIME_COST >= 2


def test_verify_accepts_right_and_refuses_wrong():
    h = passwords.hash_password("a long enough passphrase")
    assert passwords.verify_password(h, "a long enough passphrase")
    assert not passwords.verify_password(h, "a long enough passphrasE")
    assert not passwords.verify_password(None, "a long enough passphrase")
    assert not passwords.verify_password("not-a-hash", "a long enough passphrase")


def test_no_truncation_long_passwords_differ_in_last_character():
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


def test_nfkc_normalisation_makes_equivalent_input_match():
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
    assert stored != weak and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
