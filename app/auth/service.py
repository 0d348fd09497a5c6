"""Writes for identity: logging in and out, MFA, passwords, sessions. Each one is audited and
commits its own transaction; views only call these.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.audit.actions import Action, ObjectType, Outcome
from app.audit.writer import record
from app.auth import codes, mfa, passwords, second_factor, sessions, stepup, throttle
from app.auth.models import PasswordResetToken, RecoveryCode, User
from app.clock import utcnow
from app.db import db, transaction
from app.observability.metrics import LOCKOUTS, LOGIN_FAILURES


class LoginOutcome(enum.Enum):
    """What a login attempt led to (the user sees the same page for every failure)."""

    OK = "ok"
    FAILED = "failed"


@dataclass
class LoginResult:
    """Outcome of a login attempt."""

    outcome: LoginOutcome
    needs_enrolment: bool = False


def find_user(username: str) -> User | None:
    """The account with this username (case-insensitive), if any."""
    name = username.strip().casefold()
    return db.session.execute(select(User).where(func.lower(User.username) == name)).scalar_one_or_none()


def attempt_login(username: str, password: str) -> LoginResult:
    """Check a username and password; on success start a password-only session.

    Unknown account, wrong password, locked or deactivated account all do the same work
    (one Argon2 verification) and return the same result, so neither the page nor the timing
    tells them apart. The audit trail keeps the real reason.
    """
    user = find_user(username)
    locked = throttle.is_locked(username)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    with transaction():
        if locked or user is None or not user.can_sign_in or not ok:
            reason = ("locked" if locked else "unknown_user" if user is None
                      else "inactive" if not user.active
                      else "awaiting_approval" if user.approval_pending else "bad_password")
            record(Action.AUTH_LOGIN_FAILED, object_type=ObjectType.USER,
                   object_id=user.id if user else None, outcome=Outcome.DENIED, reason=reason)
            LOGIN_FAILURES.labels(step="password").inc()
            if not locked and throttle.register_failure(username):
                record(Action.AUTH_LOCKOUT, object_type=ObjectType.USER,
                       object_id=user.id if user else None, outcome=Outcome.DENIED,
                       reason="too_many_failures")
                LOCKOUTS.labels(step="password").inc()
            return LoginResult(LoginOutcome.FAILED)
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        sessions.start(user)
        record(Action.AUTH_LOGIN, object_type=ObjectType.USER, object_id=user.id, actor=user,
               reason="password_ok")
    return LoginResult(LoginOutcome.OK, needs_enrolment=user.mfa_enrolled_at is None)


def _mfa_failure(user: User, reason: str) -> bool:
    """Record a failed code; returns True when the account is now locked (session ended)."""
    record(Action.AUTH_MFA_FAILED, object_type=ObjectType.USER, object_id=user.id,
           outcome=Outcome.DENIED, reason=reason, actor=user)
    return second_factor.failed(user)


def _mark_mfa_done(user: User, method: str = "totp") -> None:
    # In this transaction: mfa_at now, and the pre-code token stops working with it.
    stepup.second_factor_passed(user, method=method)


def verify_code(user: User, code: str) -> tuple[bool, bool]:
    """Complete MFA with a TOTP code or a recovery code. Returns (accepted, session_ended)."""
    with transaction():
        if throttle.is_locked(user.username):
            sessions.end_current("mfa_lockout")
            record(Action.AUTH_MFA_FAILED, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED, reason="locked", actor=user)
            LOGIN_FAILURES.labels(step="code").inc()
            return False, True
        step = mfa.matching_step(user, code)
        if step is not None:
            if not mfa.claim_step(user, step):  # accepted meanwhile by another host or worker
                return False, _mfa_failure(user, "replayed_code")
            _mark_mfa_done(user)
            record(Action.AUTH_MFA_VERIFIED, object_type=ObjectType.USER, object_id=user.id, actor=user,
                   reason="totp")
            return True, False
        digest = mfa.recovery_digest(code)
        used = db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest,
                   RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if getattr(used, "rowcount", 0) == 1:
            _mark_mfa_done(user, "recovery")
            record(Action.AUTH_RECOVERY_CODE_USED, object_type=ObjectType.USER, object_id=user.id,
                   actor=user)
            return True, False
        return False, _mfa_failure(user, "bad_code")


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = mfa.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=mfa.recovery_digest(c)) for c in codes)
    return codes


def pending_secret(user: User) -> str:
    """The TOTP secret being enrolled (made and sealed on first call, reused until confirmed)."""
    if user.mfa_enrolled_at is not None:
        raise PermissionError("already enrolled")
    if user.totp_secret_sealed is None:
        with transaction():
            mfa.store_secret(user, mfa.new_secret())
    return mfa.secret_of(user)


def confirm_enrolment(user: User, code: str) -> tuple[list[str] | None, bool]:
    """Confirm the pending secret with a first code; returns (recovery codes, session_ended)."""
    with transaction():
        if throttle.is_locked(user.username):
            sessions.end_current("mfa_lockout")
            return None, True
        step = mfa.matching_step(user, code)
        if step is None or not mfa.claim_step(user, step):
            return None, _mfa_failure(user, "bad_enrolment_code")
        user.mfa_enrolled_at = utcnow()
        codes = _replace_recovery_codes(user)
        _mark_mfa_done(user)
        record(Action.AUTH_MFA_ENROLLED, object_type=ObjectType.USER, object_id=user.id, actor=user)
    return codes, False


def regenerate_recovery_codes(user: User) -> list[str]:
    """Invalidate the remaining recovery codes and issue ten new ones."""
    with transaction():
        codes = _replace_recovery_codes(user)
        record(Action.AUTH_RECOVERY_CODES_REGENERATED, object_type=ObjectType.USER, object_id=user.id)
    return codes


def remaining_recovery_codes(user: User) -> int:
    """How many unused recovery codes the account has."""
    return int(db.session.execute(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalar_one())


def logout(reason: str = "logout") -> None:
    """End this session (logout or quick-lock)."""
    action = Action.AUTH_QUICK_LOCK if reason == "quick_lock" else Action.AUTH_LOGOUT
    with transaction():
        row = sessions.current()
        if row is not None:
            record(action, object_type=ObjectType.SESSION, object_id=row.id, actor=row.user)
        sessions.end_current(reason)


def change_password(user: User, current: str, new: str) -> list[str]:
    """Change one's own password; every other session ends. Returns problems (empty on success)."""
    if not passwords.verify_password(user.password_hash, current):
        with transaction():
            record(Action.AUTH_PASSWORD_CHANGE_FAILED, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED, reason="bad_current_password")
        return ["current"]
    found = passwords.problems(new, username=user.username)
    if found:
        return found
    with transaction():
        user.password_hash = passwords.hash_password(new)
        user.password_changed_at = utcnow()
        user.must_change_password = False
        row = sessions.current()
        sessions.revoke_all(user.id, "password_changed", keep=row.id if row else None)
        record(Action.AUTH_PASSWORD_CHANGED, object_type=ObjectType.USER, object_id=user.id)
    return []


class ResetRefused(ValueError):
    """No reset code can be issued for this account now; the message is safe to show."""


def issue_reset_token(admin: User, user: User) -> str:
    """Make a single-use reset token for ``user`` (shown once to the admin, stored as a digest).

    Refused (audited) while the account waits for a second admin's approval: a code is how an
    account is taken into use, so none exists before the access is approved.
    """
    if user.approval_pending:
        with transaction():
            record(Action.USER_PASSWORD_RESET_ISSUED, object_type=ObjectType.USER, object_id=user.id,
                   outcome=Outcome.DENIED, reason="awaiting_approval")
        raise ResetRefused(_("This account waits for a second admin to approve its access; "
                             "its one-time code can be issued after that."))
    token = codes.new_reset_code()
    now = utcnow()
    with transaction():
        db.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        db.session.add(PasswordResetToken(
            user_id=user.id, token_hash=sessions.token_digest(token), issued_by_id=admin.id,
            created_at=now,
            expires_at=now + timedelta(hours=current_app.config["PASSWORD_RESET_HOURS"]),
        ))
        record(Action.USER_PASSWORD_RESET_ISSUED, object_type=ObjectType.USER, object_id=user.id)
    return token


def _reset_row(token: str) -> PasswordResetToken | None:
    """The reset token row of what was typed (lower case, spaces and hyphens accepted; a code
    issued before codes were grouped is matched exactly as typed)."""
    digests = {sessions.token_digest(codes.normalise(token)), sessions.token_digest(token.strip())}
    return db.session.execute(
        select(PasswordResetToken).where(PasswordResetToken.token_hash.in_(digests))
    ).scalars().first()


def reset_account_language(token: str) -> str | None:
    """The language of the account a typed reset code opens (None unless the code is still
    valid: unused, unexpired, for an account that may sign in), so the rest of the reset page
    speaks it. A used or expired code opens nothing and reveals nothing."""
    row = _reset_row(token) if token else None
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    user = db.session.get(User, row.user_id)
    return user.language if user is not None and user.can_sign_in else None


def reset_password(token: str, new: str) -> tuple[bool, list[str]]:
    """Use a reset token: set the password and end every session. Returns (done, problems)."""
    now = utcnow()
    row = _reset_row(token)
    user = db.session.get(User, row.user_id) if row else None
    if row is None or user is None or row.used_at is not None or row.expires_at < now \
            or not user.can_sign_in:
        with transaction():
            record(Action.AUTH_PASSWORD_RESET_FAILED, object_type=ObjectType.USER,
                   object_id=row.user_id if row else None, outcome=Outcome.DENIED,
                   reason="invalid_token")
        return False, []
    found = passwords.problems(new, username=user.username)
    if found:
        return False, found
    with transaction():
        claimed = db.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        if getattr(claimed, "rowcount", 0) != 1:  # used by a concurrent request
            return False, []
        user.password_hash = passwords.hash_password(new)
        user.password_changed_at = now
        user.must_change_password = False
        sessions.revoke_all(user.id, "password_reset")
        throttle.clear(user.username)
        record(Action.AUTH_PASSWORD_RESET, object_type=ObjectType.USER, object_id=user.id, actor=user)
    return True, []


def end_own_session(user: User, session_id: uuid.UUID) -> bool:
    """End one of one's own sessions."""
    with transaction():
        done = sessions.revoke_one(session_id, user.id, "ended_by_user")
        record(Action.AUTH_SESSION_REVOKED, object_type=ObjectType.SESSION, object_id=session_id,
               outcome=Outcome.ALLOWED if done else Outcome.DENIED,
               reason=None if done else "not_found")
    return done


def record_sessions_view(user: User) -> None:
    """Audit that a user looked at their own session list."""
    with transaction():
        record(Action.AUTH_SESSIONS_VIEW, object_type=ObjectType.USER, object_id=user.id)


def set_language(user: User, lang: str) -> None:
    """Remember the account's preferred language."""
    with transaction():
        user.language = lang
        record(Action.AUTH_PROFILE_UPDATED, object_type=ObjectType.USER, object_id=user.id,
               reason="language")
