"""Password hashing (Argon2id) and the password rules.

Rules are about length only, as ASVS and NIST SP 800-63B ask: 12 to 256 characters after
Unicode NFKC normalisation, any characters, nothing truncated, and not a common or breached
password. The breached list is the 30,000 most common passwords from public breach corpora
that the ``zxcvbn`` package ships (works offline; no request leaves the server).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from app.config import DEFAULT_ARGON2, check_argon2

MIN_LENGTH = 12
MAX_LENGTH = 256
# The Argon2id parameters are settings (``ARGON2_*`` in app/config.py, where production refuses
# values below the floor); these are the production defaults, for use outside an app context.
ARGON2_TIME_COST = DEFAULT_ARGON2["ARGON2_TIME_COST"]
ARGON2_MEMORY_KIB = DEFAULT_ARGON2["ARGON2_MEMORY_KIB"]
ARGON2_PARALLELISM = DEFAULT_ARGON2["ARGON2_PARALLELISM"]
_EQUALISER = "amana-timing-equaliser-not-a-password"
_TRAILING = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> tuple[PasswordHasher, str]:
    """A hasher for these parameters, and a hash made with it that nobody's password matches:
    verified against when the account does not exist, so both paths cost the same time."""
    found = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                           hash_len=32, salt_len=16)
    return found, found.hash(_EQUALISER)


def _current() -> tuple[PasswordHasher, str]:
    """The hasher for the app's settings (the production defaults outside an app context).
    Production parameters below the floor are refused here too, whichever way they were set."""
    if not has_app_context():
        return _hasher_for(ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM)
    cfg = current_app.config
    params = {name: int(cfg.get(name, default)) for name, default in DEFAULT_ARGON2.items()}
    check_argon2(params, production=cfg.get("AMANA_ENV") == "production")
    return _hasher_for(params["ARGON2_TIME_COST"], params["ARGON2_MEMORY_KIB"],
                       params["ARGON2_PARALLELISM"])


def hasher() -> PasswordHasher:
    """The password hasher for the current settings."""
    return _current()[0]


def normalise(password: str) -> str:
    """NFKC, so the same password typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """Argon2id hash of a (normalised) password."""
    return hasher().hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check; with ``stored_hash=None`` it burns the same time and says no."""
    current, dummy = _current()
    try:
        if stored_hash is None:
            current.verify(dummy, normalise(password))
            return False
        return current.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """Whether the password, or its stem before trailing digits and symbols, is a common one."""
    folded = normalise(password).casefold()
    if folded in _common():
        return True
    stem = _TRAILING.sub("", folded)
    return len(stem) >= 4 and stem != folded and stem in _common()


def problems(password: str, *, username: str = "") -> list[str]:
    """Why ``password`` is refused (translated messages); an empty list means it is fine."""
    text = normalise(password)
    found: list[str] = []
    if len(text) < MIN_LENGTH:
        found.append(str(_l("Use at least %(n)d characters.", n=MIN_LENGTH)))
    elif len(text) > MAX_LENGTH:
        found.append(str(_l("Use at most %(n)d characters.", n=MAX_LENGTH)))
    elif is_common(text):
        found.append(str(_l("This password is too common or appears in known breaches.")))
    elif username and username.casefold() in text.casefold():
        found.append(str(_l("The password must not contain your username.")))
    return found
