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
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 256
# RFC 9106 second recommended option, above ASVS 5.0 / OWASP minimum (m=19 MiB, t=2, p=1).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65536
ARGON2_PARALLELISM = 4

hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                        parallelism=ARGON2_PARALLELISM, hash_len=32, salt_len=16)
# Verified against when the account does not exist, so both paths cost the same time.
_DUMMY_HASH = hasher.hash("amana-timing-equaliser-not-a-password")
_TRAILING = re.compile(r"[\d\W_]+$")


def normalise(password: str) -> str:
    """NFKC, so the same password typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """Argon2id hash of a (normalised) password."""
    return hasher.hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check; with ``stored_hash=None`` it burns the same time and says no."""
    try:
        if stored_hash is None:
            hasher.verify(_DUMMY_HASH, normalise(password))
            return False
        return hasher.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return hasher.check_needs_rehash(stored_hash)
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
