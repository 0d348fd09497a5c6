"""Failed decryptions are audited even though the request that met them fails.

The audit writer records in the caller's transaction, and a request that meets a failed
decryption fails, so its transaction is rolled back: an event written there would vanish with
it. Instead ``failed()`` notes the failure on the application context and returns the error to
raise; nothing is served. When the request (or CLI command) ends, a teardown hook rolls back
what is left of its transaction and writes the noted events in a short transaction of their own
(``flush_failures``). Callers that want the events written earlier call ``flush_failures``
(it rolls back the current transaction: never call it with work still to commit).

A list or search may catch the error, leave the record out and go on (``app.crypto.readable``).
Such a request commits its own work in its own ``transaction()`` as usual, before it ends; the
teardown then finds nothing left to roll back and writes the noted failures after it.

Events carry the object type and id, a reason code and the actor; never a value or a key. Each
noted failure also counts in ``amana_decryption_failures_total`` (by kind only).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from flask import Flask, current_app, g, has_app_context, has_request_context
from flask_login import current_user

from app.audit.actions import TABLE_TYPES, Action, Outcome
from app.audit.writer import record
from app.crypto.errors import DecryptionError, KeyDestroyedError
from app.db import db
from app.observability.metrics import DECRYPTION_FAILURES

_PENDING = "_amana_decrypt_failures"


@dataclass(frozen=True)
class _Failure:
    object_type: str
    object_id: str
    reason: str
    actor: SimpleNamespace | None


def _actor() -> SimpleNamespace | None:
    if not has_request_context():
        return None
    user = current_user
    if user is None or not user.is_authenticated:
        return None
    return SimpleNamespace(id=user.id, role=user.role, organisation_id=user.organisation_id)


def failed(object_type: str, object_id: object, reason: str, *,
           destroyed: bool = False) -> DecryptionError:
    """Note a failed decryption for the audit trail and return the error for the caller to raise."""
    oid = str(object_id)
    object_type = str(TABLE_TYPES.get(object_type, object_type))  # auditors filter by type
    counted = DECRYPTION_FAILURES.labels(kind="key_destroyed" if destroyed else "failed")
    if not has_app_context():
        counted.inc()
    else:
        pending: dict[tuple[str, str, str], _Failure] = g.setdefault(_PENDING, {})
        key = (object_type, oid, reason)
        if key not in pending:  # counted as audited: once per record and reason
            pending[key] = _Failure(object_type, oid, reason, _actor())
            counted.inc()
    cls = KeyDestroyedError if destroyed else DecryptionError
    return cls(object_type, oid, reason)


def pending_count() -> int:
    """How many failed decryptions wait to be written."""
    return len(g.get(_PENDING) or {})


def flush_failures() -> int:
    """Roll back the current transaction, then write the noted failures in one of their own.

    Returns how many events were written. If writing fails, the error propagates: the request
    already failed closed, and an operator must see that its audit event is missing.
    """
    pending: dict[tuple[str, str, str], _Failure] | None = g.pop(_PENDING, None)
    if not pending:
        return 0
    db.session.rollback()
    try:
        for item in pending.values():
            record(Action.CRYPTO_DECRYPT_FAILED, object_type=item.object_type,
                   object_id=item.object_id, outcome=Outcome.ERROR, reason=item.reason,
                   actor=item.actor)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        current_app.logger.error("could not audit %d failed decryption(s)", len(pending))
        raise
    return len(pending)


def _at_teardown(_exc: BaseException | None) -> None:
    if g.get(_PENDING):
        flush_failures()


def install_failure_audit(app: Flask) -> None:
    """Write noted failures when each request, and each app context (CLI), ends; and tell the
    user when a list left unreadable records out (``app.crypto.readable``)."""
    from app.crypto.readable import install_unreadable_notice

    install_unreadable_notice(app)
    # Request teardown runs while the user and request id are still known; the app-context
    # teardown catches the CLI and anything else that ran outside a request.
    app.teardown_request(_at_teardown)
    app.teardown_appcontext(_at_teardown)
