"""Outside services Amana depends on (the database, the rate-limit store) and what happens when
one is down.

- ``/healthz`` asks :func:`database_ok` and :func:`rate_limit_store_ok`, each with a short
  timeout, and answers 503 when either says no.
- The rate-limit store (Redis when ``RATELIMIT_STORAGE_URI`` names it) holds the per-address
  limits, the per-account lockout counters and the search limit. When it cannot be reached,
  counting goes on in this process's memory (:class:`FallbackStore`), so logins still answer
  and a burst of wrong passwords still locks the account; each host then counts on its own
  until the store is back (it is retried every ``RETRY_SECONDS``). The start of each outage is
  written to the audit trail once per process (an auditor alert), after the request that
  noticed it. Socket timeouts are short so that a store that stops answering costs a request
  at most about a second, never a hang.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response
from limits.storage import MemoryStorage, MovingWindowSupport, Storage, storage_from_string
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, limiter

log = logging.getLogger(__name__)

# Stores wrapped with the in-process fallback (Redis and its TLS and socket forms).
WRAPPED_SCHEMES = ("redis", "rediss", "redis+unix")
PREFIX = "amana+"
SOCKET_TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = 15.0
HEALTH_STATEMENT_TIMEOUT_MS = 2000


def limiter_storage_uri(uri: str) -> str:
    """The URI given to Flask-Limiter: a Redis URI is routed through :class:`FallbackStore`."""
    scheme = urlsplit(uri).scheme.lower()
    return PREFIX + uri if scheme in WRAPPED_SCHEMES else uri


class FallbackStore(Storage, MovingWindowSupport):
    """A limits storage that uses the configured store and, while it is unreachable, counts in
    memory instead of failing.

    Registered with ``limits`` under ``amana+redis://`` (and the other wrapped schemes);
    :func:`limiter_storage_uri` makes those URIs from the setting. Only the moving-window
    strategy is used by Amana, so only its operations are provided besides the basic ones.
    """

    STORAGE_SCHEME = [PREFIX + s for s in WRAPPED_SCHEMES]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        inner = (uri or "").removeprefix(PREFIX)
        opts: dict[str, Any] = {"socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
                                "socket_timeout": SOCKET_TIMEOUT_SECONDS,
                                "retry": Retry(NoBackoff(), 0)}
        opts.update(options)
        primary = storage_from_string(inner, **opts)
        assert isinstance(primary, Storage) and isinstance(primary, MovingWindowSupport)
        self.primary: Any = primary
        self.memory = MemoryStorage()
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self._unreported = False

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing escapes: failures of the primary are handled here

    # State -----------------------------------------------------------------------------
    @property
    def down(self) -> bool:
        """Whether counting is in memory because the store could not be reached."""
        return self._down

    def _try_primary(self) -> bool:
        return not self._down or time.monotonic() >= self._retry_at

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            if not self._down:
                self._down = True
                self._unreported = True
                log.warning("rate-limit store unreachable (%s): counting in this process",
                            exc.__class__.__name__)
            self._retry_at = time.monotonic() + RETRY_SECONDS

    def _succeeded(self) -> None:
        if not self._down:
            return
        with self._lock:
            if self._down:
                self._down = False
                self.memory.reset()
                log.warning("rate-limit store reachable again: counting there")

    def claim_report(self) -> bool:
        """True for exactly one caller after an outage begins (who then writes the event)."""
        with self._lock:
            claimed, self._unreported = self._unreported, False
            return claimed

    def unclaim_report(self) -> None:
        """The event could not be written; let a later request try."""
        with self._lock:
            self._unreported = True

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._try_primary():
            try:
                result = getattr(self.primary, name)(*args, **kwargs)
            except self.primary.base_exceptions as exc:
                self._failed(exc)
            else:
                self._succeeded()
                return result
        return getattr(self.memory, name)(*args, **kwargs)

    # Storage ---------------------------------------------------------------------------
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(self._call("incr", key, expiry, amount=amount))

    def get(self, key: str) -> int:
        return int(self._call("get", key))

    def get_expiry(self, key: str) -> float:
        return float(self._call("get_expiry", key))

    def check(self) -> bool:
        """Whether the configured store answers now (a fresh ping, short timeout)."""
        return bool(self.primary.check())

    def reset(self) -> int | None:
        self.memory.reset()
        result = self._call("reset")
        return None if result is None else int(result)

    def clear(self, key: str) -> None:
        self.memory.clear(key)  # a success (login) clears the count wherever it was kept
        self._call("clear", key)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return bool(self._call("acquire_entry", key, limit, expiry, amount=amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        start, count = self._call("get_moving_window", key, limit, expiry)
        return float(start), int(count)


def _store() -> FallbackStore | None:
    try:
        store = limiter.storage
    except AssertionError:  # limiter not initialised (disabled)
        return None
    return store if isinstance(store, FallbackStore) else None


def database_ok() -> bool:
    """One ``SELECT 1`` (PostgreSQL: under a short statement timeout); False on any error."""
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT set_config('statement_timeout', :ms, true)"),
                               {"ms": str(HEALTH_STATEMENT_TIMEOUT_MS)})
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    finally:
        db.session.rollback()
    return True


def rate_limit_store_ok() -> bool:
    """False when ``RATELIMIT_STORAGE_URI`` names a store that does not answer now."""
    store = _store()
    return store is None or store.check()


def report_outage() -> None:
    """Write the start of a rate-limit store outage to the audit trail, once per outage."""
    store = _store()
    if store is None or not store.claim_report():
        return
    from app.audit.actions import Action, Outcome
    from app.audit.writer import record
    from app.db import transaction

    try:
        with transaction():
            record(Action.RATE_LIMIT_FALLBACK, outcome=Outcome.ERROR,
                   reason="store_unreachable")
    except SQLAlchemyError:
        store.unclaim_report()
        log.warning("could not record the rate-limit store outage; will retry")


def install_dependencies(app: Flask) -> None:
    """Record a rate-limit store outage after the request that noticed it."""

    @app.after_request
    def _after(response: Response) -> Response:
        report_outage()
        return response
