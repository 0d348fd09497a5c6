"""Per-account throttling of failed logins and codes, with a lockout that expires by itself.

Counters live in Flask-Limiter's storage (memory by default, Redis when
``RATELIMIT_STORAGE_URI`` says so), keyed by a digest of the submitted username whether or not
such an account exists, so the lockout reveals nothing about which accounts are real. When Redis
cannot be reached the counting goes on in this process's memory (``app.dependencies``), so a
login still answers and a burst of failures still locks the account.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from limits import RateLimitItemPerMinute

from app.extensions import limiter


def _item() -> RateLimitItemPerMinute:
    cfg = current_app.config
    return RateLimitItemPerMinute(cfg["LOGIN_ACCOUNT_MAX_FAILURES"], cfg["LOGIN_LOCKOUT_MINUTES"])


def _key(username: str) -> str:
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def is_locked(username: str) -> bool:
    """Whether this username has used up its failures in the current window."""
    return not limiter.limiter.test(_item(), "login-account", _key(username))


def register_failure(username: str) -> bool:
    """Count one failure. Returns True when this failure is the one that locks the account."""
    limiter.limiter.hit(_item(), "login-account", _key(username))
    return is_locked(username)


def clear(username: str) -> None:
    """Forget failures after a successful login or a reset."""
    limiter.limiter.clear(_item(), "login-account", _key(username))
