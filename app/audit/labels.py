"""Translated names of audit actions and record types (the trail stores the codes; the
auditor reads these). Every ``Action`` and ``ObjectType`` has one (tests/test_rtl_labels.py);
an unknown code (from an older release) shows as itself."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

from app.audit.actions import Action, ObjectType

A = Action
ACTION_LABELS: Mapping[str, object] = {
    A.ACCESS_DENIED: _l("Access refused"),
    A.AUTH_LOGIN: _l("Logged in"),
    A.AUTH_LOGIN_FAILED: _l("Login failed"),
    A.AUTH_LOCKOUT: _l("Account locked after failed logins"),
    A.AUTH_MFA_VERIFIED: _l("Second step passed"),
    A.AUTH_MFA_FAILED: _l("Second step failed"),
    A.AUTH_MFA_ENROLLED: _l("Authenticator app set up"),
    A.AUTH_RECOVERY_CODE_USED: _l("Recovery code used"),
    A.AUTH_RECOVERY_CODES_REGENERATED: _l("Recovery codes replaced"),
    A.AUTH_LOGOUT: _l("Logged out"),
    A.AUTH_QUICK_LOCK: _l("Quick-locked"),
    A.AUTH_SESSION_TIMEOUT: _l("Session timed out"),
    A.AUTH_SESSION_REVOKED: _l("Session ended"),
    A.AUTH_SESSIONS_VIEW: _l("Own sessions viewed"),
    A.AUTH_PASSWORD_CHANGED: _l("Password changed"),
    A.AUTH_PASSWORD_CHANGE_FAILED: _l("Password change failed"),
    A.AUTH_PASSWORD_RESET: _l("Password set with a reset code"),
    A.AUTH_PASSWORD_RESET_FAILED: _l("Reset code refused"),
    A.AUTH_PROFILE_UPDATED: _l("Own profile changed"),
    A.USER_LIST: _l("Accounts listed"),
    A.USER_VIEW: _l("Account viewed"),
    A.USER_CREATE: _l("Account created"),
    A.USER_UPDATE: _l("Account changed"),
    A.USER_ROLE_CHANGE: _l("Role changed"),
    A.USER_DEACTIVATE: _l("Account deactivated"),
    A.USER_REACTIVATE: _l("Account reactivated"),
    A.USER_PASSWORD_RESET_ISSUED: _l("Reset code issued"),
    A.USER_MFA_RESET: _l("Second step reset"),
    A.USER_SESSIONS_REVOKED: _l("Account's sessions ended"),
    A.USER_SCOPE_CHANGE: _l("Account's places changed"),
    A.USER_GRANT_REQUEST: _l("Access approval asked"),
    A.USER_GRANT_APPROVE: _l("Access approved"),
    A.USER_GRANT_REFUSE: _l("Access refused by an admin"),
    A.USER_GRANT_EXPIRED: _l("Access approval expired"),
    A.DIRECTORY_VIEW: _l("Directory record viewed"),
    A.ORGANISATION_CREATE: _l("Organisation added"),
    A.ORGANISATION_UPDATE: _l("Organisation changed"),
    A.SITE_CREATE: _l("Site added"),
    A.SITE_UPDATE: _l("Site changed"),
    A.SAFE_SPACE_CREATE: _l("Safe space added"),
    A.SAFE_SPACE_UPDATE: _l("Safe space changed"),
    A.SERVICE_CREATE: _l("Service added"),
    A.SERVICE_UPDATE: _l("Service changed"),
    A.CASE_SEARCH: _l("Cases searched"),
    A.CASE_LIST: _l("Cases listed"),
    A.CASE_VIEW: _l("Case viewed"),
    A.CASE_CREATE: _l("Case opened"),
    A.CASE_UPDATE: _l("Case changed"),
    A.CASE_ASSIGN: _l("Case assigned"),
    A.CASE_STATUS: _l("Case status changed"),
    A.CASE_CLOSURE_REQUEST: _l("Closure requested"),
    A.CASE_CLOSURE_APPROVE: _l("Closure approved"),
    A.CASE_CLOSURE_REJECT: _l("Closure sent back"),
    A.CASE_REOPEN: _l("Case reopened"),
    A.CASE_PLAN_APPROVE: _l("Action plan approved"),
    A.CASE_ERASE: _l("Case erased"),
    A.CASE_PURGE: _l("Expired case purged"),
    A.CASE_POSSIBLE_DUPLICATE: _l("Possible duplicate case"),
    A.CASE_SEARCH_THROTTLED: _l("Case searches slowed down"),
    A.CASE_UNASSIGN: _l("Case unassigned"),
    A.CONSENT_RECORD: _l("Consent recorded"),
    A.INCIDENT_CREATE: _l("Incident recorded"),
    A.INCIDENT_UPDATE: _l("Incident changed"),
    A.ASSESSMENT_UPDATE: _l("Assessment saved"),
    A.ACTION_ITEM_CREATE: _l("Goal added"),
    A.ACTION_ITEM_UPDATE: _l("Goal changed"),
    A.FOLLOW_UP_CREATE: _l("Follow-up added"),
    A.FOLLOW_UP_UPDATE: _l("Follow-up changed"),
    A.NOTE_CREATE: _l("Case note added"),
    A.TASKS_VIEW: _l("Tasks viewed"),
    A.BREAK_GLASS_OPEN: _l("Emergency access opened"),
    A.REFERRAL_CREATE: _l("Referral sent"),
    A.REFERRAL_OVERRIDE: _l("Referral sent without consent"),
    A.REFERRAL_VIEW: _l("Referral viewed"),
    A.REFERRAL_LIST: _l("Referrals listed"),
    A.REFERRAL_ACCEPT: _l("Referral accepted"),
    A.REFERRAL_DECLINE: _l("Referral declined"),
    A.REFERRAL_COMPLETE: _l("Referral completed"),
    A.REFERRAL_REVOKE: _l("Referral withdrawn"),
    A.AUDIT_SEARCH: _l("Audit trail searched"),
    A.AUDIT_VIEW: _l("Audit trail viewed"),
    A.AUDIT_EXPORT: _l("Audit trail exported"),
    A.AUDIT_VERIFY: _l("Audit trail verified"),
    A.AUDIT_CHECKPOINT: _l("Audit checkpoint signed"),
    A.AUDIT_ALERTS_VIEW: _l("Audit alerts viewed"),
    A.DEMO_SEED: _l("Demonstration data loaded"),
    A.RATE_LIMIT_FALLBACK: _l("Rate limits counted in-process"),
    A.SUBMISSION_REPLAYED: _l("Form sent twice (shown as saved)"),
    A.SUBMISSION_REFUSED: _l("Form token refused"),
    A.CRYPTO_DECRYPT_FAILED: _l("Record could not be decrypted"),
    A.KEYS_ROTATE: _l("Keys rotated"),
    A.KEYS_RETIRE: _l("Key retired"),
    A.KEYS_VERIFY: _l("Keys verified"),
    A.KEYS_SHRED: _l("Key destroyed"),
    A.RECORD_WRITE: _l("Sealed record written"),
    A.RECORD_VERSION_MISMATCH: _l("Record version disagrees with the trail"),
    A.KEYS_ENROL: _l("Key enrolled"),
    A.SAFE_SPACE_LIST: _l("Safe spaces listed"),
    A.WGSS_SESSION_LIST: _l("Safe space sessions listed"),
    A.WGSS_SESSION_VIEW: _l("Safe space session viewed"),
    A.WGSS_SESSION_CREATE: _l("Safe space session recorded"),
    A.WGSS_SESSION_UPDATE: _l("Safe space session changed"),
    A.WGSS_SUMMARY_VIEW: _l("Safe space summary viewed"),
    A.WGSS_SUMMARY_EXPORT: _l("Safe space summary exported"),
    A.ACTIVITY_TYPE_LIST: _l("Activity types listed"),
    A.ACTIVITY_TYPE_CREATE: _l("Activity type added"),
    A.ACTIVITY_TYPE_UPDATE: _l("Activity type changed"),
    A.ACTIVITY_TYPE_VIEW: _l("Activity type viewed"),
}

T = ObjectType
OBJECT_TYPE_LABELS: Mapping[str, object] = {
    T.ACTION_ITEM: _l("Action plan goal"),
    T.ACTIVITY_TYPE: _l("Activity type"),
    T.ASSESSMENT: _l("Assessment"),
    T.AUDIT_CHAIN: _l("Audit trail"),
    T.BREAK_GLASS: _l("Emergency access"),
    T.CASE: _l("Case"),
    T.CASE_NUMBER: _l("Case number"),
    T.CASE_STATUS_CHANGE: _l("Case status change"),
    T.CONSENT: _l("Consent"),
    T.DATA_KEY: _l("Data key"),
    T.DIRECTORY: _l("Directory"),
    T.ENDPOINT: _l("Page"),
    T.FOLLOW_UP: _l("Follow-up"),
    T.INCIDENT: _l("Incident"),
    T.KEK: _l("Key-encryption key"),
    T.KEY: _l("Key"),
    T.NOTE: _l("Case note"),
    T.ORGANISATION: _l("Organisation"),
    T.REFERRAL: _l("Referral"),
    T.REFERRAL_EVENT: _l("Referral step"),
    T.ROLE_GRANT: _l("Access approval"),
    T.SAFE_SPACE: _l("Safe space"),
    T.SERVICE: _l("Service"),
    T.SESSION: _l("Session"),
    T.SITE: _l("Site"),
    T.SUBMISSION: _l("Form submission"),
    T.USER: _l("Account"),
    T.WGSS_SESSION: _l("Safe space session"),
}


def action_label(code: str | None) -> str:
    """The translated name of an audit action (the code itself if unknown)."""
    if not code:
        return ""
    return str(ACTION_LABELS.get(code, code))


def object_type_label(code: str | None) -> str:
    """The translated name of a record type named in events (the code itself if unknown)."""
    if not code:
        return ""
    return str(OBJECT_TYPE_LABELS.get(code, code))
