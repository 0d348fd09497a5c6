"""Server-side sessions: one row per login, found by the digest of a random token.

The browser's signed cookie carries only the token. Every request checks the row: revoked,
idle past its limit, older than the absolute limit, or belonging to an inactive user means
the session is over. A new token is issued at login, so a token planted before login
(session fixation) is worthless, and again at every privilege step (``elevate``), so a token
seen before the second factor never carries it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app, g, request, session
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.auth.models import AuthSession, User
from app.clock import utcnow
from app.db import db

SESSION_KEY = "sid"
TOUCH_EVERY = timedelta(seconds=15)

#: Numbers every page shows (the bell's), read in the session's own statement rather than in
#: one statement each: ``g`` key -> a function of the ``users.id`` column giving a scalar
#: subquery. A feature registers its number when imported (``app.notifications.service``);
#: whatever changes the number in the request drops the ``g`` key, so the page counts again.
READ_WITH_SESSION: dict[str, Callable[[Any], Any]] = {}


def token_digest(token: str) -> bytes:
    """SHA-256 of a high-entropy token (what the database keeps instead of the token)."""
    return hashlib.sha256(token.encode()).digest()


def start(user: User) -> AuthSession:
    """Begin a new session for ``user`` (password verified, MFA still to do)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = AuthSession(
        token_hash=token_digest(token), user_id=user.id, created_at=now, last_seen_at=now,
        client_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:120] or None,
    )
    db.session.add(row)
    db.session.flush()
    # Everything the anonymous session held (CSRF token included) goes; only the new id stays.
    lang = session.get("lang")
    session.clear()
    session[SESSION_KEY] = token
    if lang:
        session["lang"] = lang
    g.auth_session = row
    return row


def elevate(*, keep_csrf: bool = False) -> None:
    """Replace this session's token at a privilege step; the old token is refused from now on.

    Call it inside the transaction that grants the privilege: when the second factor is accepted
    at login (a code or a recovery code, and at enrolment; ``service._mark_mfa_done``), and at
    any later step-up (re-entering a password or a code for a sensitive action) added in future.
    A token seen before the step (planted, left on a shared device, read from a log) then never
    carries what the step grants. The new digest commits with the privilege, or not at all: if
    that transaction fails, the browser's new token matches nothing and the person signs in
    again (fail closed). The row stays the same session (same id and start time, so its limits
    still count from the login). The CSRF token is replaced too, since it lived in the same
    cookie, except at a step-up (``keep_csrf``): the session is already signed in, the page the
    person came from still carries the token, and a second post of the same form must reach
    its one-time token's "already saved" answer rather than a bare 400.
    """
    row = current()
    if row is None:
        return
    token = secrets.token_urlsafe(32)
    row.token_hash = token_digest(token)
    session[SESSION_KEY] = token
    if not keep_csrf:
        session.pop("csrf_token", None)
        g.pop("csrf_token", None)


def _expired_reason(row: AuthSession) -> str | None:
    cfg = current_app.config
    now = utcnow()
    if row.revoked_at is not None:
        return "revoked"
    if not row.user.can_sign_in:
        return "deactivated"
    if now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        return "absolute_timeout"
    if now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return "idle_timeout"
    return None


def load() -> tuple[AuthSession | None, str | None]:
    """The live session of this request, or ``(None, why_it_ended)``.

    A session found expired is revoked here, so a replayed cookie is refused for good.
    """
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None, None
    # One statement: the session, its user, the user's organisation (its time zone dates
    # every page) and sites (the scope of every case query), joined, with the numbers every
    # page shows (``READ_WITH_SESSION``); each was a statement of its own when first reached.
    extra = list(READ_WITH_SESSION.items())
    found = db.session.execute(
        select(AuthSession, *(count(AuthSession.user_id).label(key) for key, count in extra))
        .where(AuthSession.token_hash == token_digest(token))
        .options(joinedload(AuthSession.user).options(joinedload(User.organisation),
                                                       joinedload(User.sites)))
    ).unique().one_or_none()
    if found is None:
        session.pop(SESSION_KEY, None)
        return None, "unknown"
    row: AuthSession = found[0]
    reason = _expired_reason(row)
    if reason is not None:
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.revoked_reason = reason
        session.pop(SESSION_KEY, None)
        return (None, reason) if reason != "revoked" else (None, "revoked")
    now = utcnow()
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    g.auth_session = row
    for (key, _count), value in zip(extra, found[1:], strict=True):
        setattr(g, key, value)
    return row, None


def current() -> AuthSession | None:
    """The session loaded for this request, if any."""
    row: AuthSession | None = g.get("auth_session")
    return row


def end_current(reason: str) -> None:
    """Revoke this request's session and forget its token in the browser."""
    row = current()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_reason = reason
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("auth_session", None)


def revoke_one(session_id: uuid.UUID, user_id: uuid.UUID | None, reason: str) -> bool:
    """Revoke one live session (of ``user_id`` when given). True when something was revoked."""
    stmt = update(AuthSession).where(AuthSession.id == session_id,
                                     AuthSession.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(AuthSession.user_id == user_id)
    result = db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))
    return bool(getattr(result, "rowcount", 0))


def revoke_all(user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None) -> int:
    """Revoke every live session of a user (except ``keep``). Returns how many ended."""
    stmt = update(AuthSession).where(AuthSession.user_id == user_id,
                                     AuthSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    result = db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))
    return int(getattr(result, "rowcount", 0))


def live_sessions(user_id: uuid.UUID) -> list[AuthSession]:
    """A user's sessions that have not been revoked, newest first (expired ones filtered)."""
    rows = db.session.execute(
        select(AuthSession).where(AuthSession.user_id == user_id,
                                  AuthSession.revoked_at.is_(None))
        .order_by(AuthSession.created_at.desc())
    ).scalars().all()
    return [r for r in rows if _expired_reason(r) is None]
