"""Every audit action, named ``object.verb``. Events store these codes, never free text."""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    """One enum of audit actions (stable codes: stored in the trail, never renamed)."""

    # Access control
    ACCESS_DENIED = "access.denied"
    # Authentication and sessions
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOCKOUT = "auth.lockout"
    AUTH_MFA_VERIFIED = "auth.mfa_verified"
    AUTH_MFA_FAILED = "auth.mfa_failed"
    AUTH_MFA_ENROLLED = "auth.mfa_enrolled"
    AUTH_RECOVERY_CODE_USED = "auth.recovery_code_used"
    AUTH_RECOVERY_CODES_REGENERATED = "auth.recovery_codes_regenerated"
    AUTH_LOGOUT = "auth.logout"
    AUTH_QUICK_LOCK = "auth.quick_lock"
    AUTH_SESSION_TIMEOUT = "auth.session_timeout"
    AUTH_SESSION_REVOKED = "auth.session_revoked"
    AUTH_SESSIONS_VIEW = "auth.sessions_view"
    AUTH_PASSWORD_CHANGED = "auth.password_changed"
    AUTH_PASSWORD_CHANGE_FAILED = "auth.password_change_failed"
    AUTH_PASSWORD_RESET = "auth.password_reset"
    AUTH_PASSWORD_RESET_FAILED = "auth.password_reset_failed"
    AUTH_PROFILE_UPDATED = "auth.profile_updated"
    # Administration
    USER_LIST = "user.list"
    USER_VIEW = "user.view"
    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"
    USER_ROLE_CHANGE = "user.role_change"
    USER_DEACTIVATE = "user.deactivate"
    USER_REACTIVATE = "user.reactivate"
    USER_PASSWORD_RESET_ISSUED = "user.password_reset_issued"
    USER_MFA_RESET = "user.mfa_reset"
    USER_SESSIONS_REVOKED = "user.sessions_revoked"
    DIRECTORY_VIEW = "directory.view"
    ORGANISATION_CREATE = "organisation.create"
    ORGANISATION_UPDATE = "organisation.update"
    SITE_CREATE = "site.create"
    SITE_UPDATE = "site.update"
    SAFE_SPACE_CREATE = "safe_space.create"
    SAFE_SPACE_UPDATE = "safe_space.update"
    SERVICE_CREATE = "service.create"
    SERVICE_UPDATE = "service.update"
    # Audit itself
    AUDIT_SEARCH = "audit.search"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_ALERTS_VIEW = "audit.alerts_view"
    # Operations
    DEMO_SEED = "system.demo_seed"
    # Encryption
    CRYPTO_DECRYPT_FAILED = "crypto.decrypt_failed"
    KEYS_ROTATE = "keys.rotate"
    KEYS_RETIRE = "keys.retire"
    KEYS_VERIFY = "keys.verify"
    KEYS_SHRED = "keys.shred"


class Outcome(enum.StrEnum):
    """What happened to the attempt."""

    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"
