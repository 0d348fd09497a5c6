"""Translated names of audit actions, record types and reason codes (the trail stores the
codes; the auditor reads these). Every ``Action`` and ``ObjectType`` has one (tests/test_rtl_labels.py);
an unknown code (from an older release) shows as itself."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.audit.actions import Action, ObjectType
from app.auth.policy import role_label

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
    A.CASE_REINDEX: _l("Search indexes rebuilt"),
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
    A.WGSS_FIGURES_VIEW: _l("Safe-space figures viewed"),
    A.WGSS_FIGURES_EXPORT: _l("Safe-space figures exported"),
    A.PROGRAMME_IMPACT_VIEW: _l("Programme impact viewed"),
    A.STATS_VIEW: _l("Statistics viewed"),
    A.STATS_EXPORT: _l("Statistics exported"),
    A.ACTIVITY_TYPE_LIST: _l("Activity types listed"),
    A.ACTIVITY_TYPE_CREATE: _l("Activity type added"),
    A.ACTIVITY_TYPE_UPDATE: _l("Activity type changed"),
    A.ACTIVITY_TYPE_VIEW: _l("Activity type viewed"),
    A.STATS_RECORDER_EXPORT: _l("Incident Recorder exported"),
    A.PROGRAMME_SITE_LIST: _l("Sites listed for activity logs"),
    A.AWARENESS_SESSION_LIST: _l("Awareness sessions listed"),
    A.AWARENESS_SESSION_VIEW: _l("Awareness session viewed"),
    A.AWARENESS_SESSION_CREATE: _l("Awareness session recorded"),
    A.AWARENESS_SESSION_UPDATE: _l("Awareness session changed"),
    A.TRAINING_LIST: _l("Staff trainings listed"),
    A.TRAINING_VIEW: _l("Staff training viewed"),
    A.TRAINING_CREATE: _l("Staff training recorded"),
    A.TRAINING_UPDATE: _l("Staff training changed"),
}

T = ObjectType
OBJECT_TYPE_LABELS: Mapping[str, object] = {
    T.ACTION_ITEM: _l("Action plan goal"),
    T.ACTIVITY_TYPE: _l("Activity type"),
    T.ASSESSMENT: _l("Assessment"),
    T.AWARENESS_SESSION: _l("Awareness session"),
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
    T.STAFF_TRAINING: _l("Staff training"),
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


#: Every reason code the app writes into the trail, by token: a reason is one code
#: (``awaiting_approval``) or several joined by ``;`` ``,`` and ``:`` (``cli:refused:edited@12``,
#: ``other;text=43``), with counts, ids, months and roles between them. Codes written by other
#: features (justification, closure, reopening and erasure reasons, case statuses) repeat their
#: features' English labels here, so the trail never imports a feature (tests/test_reason_labels.py
#: checks that every code in app/ has a label).
REASON_LABELS: Mapping[str, object] = {
    # Reads and searches of the audit trail itself.
    "all": _l("Everything"),
    "alerts": _l("Alerts"),
    "invalid_filter": _l("Filter not valid"),
    "record_history": _l("Record's history"),
    "user_activity": _l("Account's activity"),
    "verify_page": _l("Verification page"),
    "actor": _l("Account"),
    "type": _l("Record type"),
    "object": _l("Record id"),
    "action": _l("Action"),
    "outcome": _l("Outcome"),
    "since": _l("Since"),
    "until": _l("Before"),
    # Verification and checkpoints.
    "web": _l("On the web"),
    "cli": _l("Command line"),
    "intact": _l("Intact"),
    "refused": _l("Refused"),
    "signed": _l("Signed"),
    "missing": _l("Missing"),
    "stale": _l("Too old"),
    "bad_checkpoint": _l("Checkpoint refused"),
    "bad_checkpoint_lines": _l("Lines of the checkpoint file not valid"),
    "edited": _l("Event edited"),
    "deleted": _l("Event deleted"),
    "swapped": _l("Events swapped"),
    "forged": _l("Event forged"),
    "truncated": _l("End of the trail cut off"),
    "diverged": _l("Differs from a checkpoint"),
    "head": _l("Last event's record altered"),
    # Sign-in, sessions and access.
    "password_ok": _l("Password accepted"),
    "totp": _l("Authenticator code"),
    "locked": _l("Account locked"),
    "unknown_user": _l("No such account"),
    "inactive": _l("Account deactivated"),
    "awaiting_approval": _l("Awaiting approval"),
    "bad_password": _l("Wrong password"),
    "bad_current_password": _l("Wrong current password"),
    "bad_code": _l("Wrong code"),
    "bad_enrolment_code": _l("Wrong set-up code"),
    "too_many_failures": _l("Too many failed attempts"),
    "too_many_code_failures": _l("Too many wrong codes"),
    "invalid_token": _l("Reset code not valid"),
    "not_found": _l("Not found"),
    "language": _l("Language"),
    "idle_timeout": _l("Inactive too long"),
    "absolute_timeout": _l("Signed in too long"),
    "no_rule": _l("Page without an access rule"),
    "role": _l("Role not allowed"),
    "out_of_scope": _l("Outside the account's scope"),
    "own_access": _l("Own access"),
    "sessions_ended": _l("Sessions ended"),
    "bootstrap": _l("First account"),
    "superseded": _l("Replaced by a newer request"),
    "not_decidable": _l("Already decided"),
    "user": _l("Account"),
    "store_unreachable": _l("Store unreachable"),
    # Form tokens.
    "not_a_token": _l("Not a form token"),
    "not_issued_for_this_form": _l("Token of another form"),
    "claimed_by_another_form": _l("Token already used by another form"),
    # Cases.
    "identity": _l("Identity"),
    "break_glass": _l("Emergency access"),
    "break_glass_ended": _l("Emergency access ended"),
    "worker_scope_changed": _l("Worker's places changed"),
    "no_such_case_in_organisation": _l("No such case in the organisation"),
    "identifying_text": _l("Identifying text"),
    "text": _l("Explanation"),
    "rate_limit": _l("Search limit reached"),
    "matches": _l("Matches"),
    "match_outside_scope": _l("Match outside the account's scope"),
    "sent_back": _l("Sent back"),
    "given": _l("Given"),
    "withdrawn": _l("Withdrawn"),
    "dry_run": _l("Dry run"),
    "erased": _l("Erased"),
    "indexed": _l("Indexed"),
    "unreadable": _l("Unreadable"),
    "case_erased": _l("Case erased"),
    "survivor_request": _l("The survivor asked for erasure"),
    "recorded_in_error": _l("Recorded in error"),
    "needs_met": _l("Needs met, goals achieved"),
    "no_contact": _l("No contact for a long time"),
    "relocated": _l("Survivor moved away"),
    "transferred": _l("Transferred to another agency"),
    "deceased": _l("Survivor died"),
    "new_incident": _l("New incident"),
    "new_needs": _l("New needs"),
    "closed_in_error": _l("Closed in error"),
    "other": _l("Other"),
    "imminent_risk": _l("Immediate risk to the survivor's safety"),
    "medical_emergency": _l("Urgent medical care is needed"),
    "survivor_at_other_site": _l("The survivor came to a site outside the case's own"),
    "team_unreachable": _l("The case's caseworker and supervisor cannot be reached"),
    "risk_to_life": _l("Immediate danger to the survivor's life"),
    "child_protection": _l("Child protection: in the child's best interest"),
    "mandatory_reporting": _l("Required by law (mandatory reporting)"),
    "cannot_consent": _l("The survivor cannot give consent now (for example unconscious)"),
    "open": _l("Open (intake)"),
    "assessment": _l("Assessment"),
    "action_plan": _l("Action plan"),
    "implementation": _l("Implementation"),
    "follow_up": _l("Follow-up"),
    "closure_requested": _l("Closure requested"),
    "closed": _l("Closed"),
    # Referrals (statuses, urgencies, outcomes and withdrawals, as app.referrals.labels names
    # them; service types and consent kinds as app.cases names them).
    "sent": _l("Sent"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "completed": _l("Completed"),
    "revoked": _l("Revoked"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
    "no_longer_needed": _l("No longer needed"),
    "sent_in_error": _l("Sent in error"),
    "safety": _l("Safety concern"),
    "consent_withdrawn": _l("Consent withdrawn"),
    "provided": _l("Service provided"),
    "partially_provided": _l("Service partially provided"),
    "not_provided": _l("Service not provided"),
    "survivor_declined": _l("The survivor declined the service"),
    "did_not_attend": _l("The survivor did not come or could not be reached"),
    "not_available": _l("The service was not available"),
    "not_eligible": _l("The survivor was not eligible"),
    "referred_elsewhere": _l("Referred on to another service"),
    "services": _l("Case management services"),
    "reporting": _l("Non-identifying statistics"),
    "share": _l("Sharing"),
    "health_medical": _l("Health / medical"),
    "mhpss": _l("Mental health and psychosocial support"),
    "psychiatry": _l("Psychiatry"),
    "safety_security": _l("Safety and security"),
    "legal": _l("Legal assistance"),
    "shelter_safe_house": _l("Shelter / safe house"),
    "livelihoods": _l("Livelihoods"),
    "protection_child_protection": _l("Protection / child protection"),
    "wgss": _l("Women and girls safe space"),
    "service_unavailable": _l("Service not available"),
    "bad_urgency": _l("Urgency not valid"),
    "no_consent_for_service_type": _l("No consent for this service type"),
    "fields_outside_consent": _l("Fields outside the consent"),
    "wrong_order": _l("Not possible in this status"),
    # Safe spaces.
    "month": _l("Month"),
    "invalid_month": _l("Month not valid"),
    "session_form": _l("Session form"),
    # Statistics: the Incident Recorder export (its filter, format, size and refusals).
    "year": _l("Year"),
    "all_years": _l("All years"),
    "format": _l("Format"),
    "rows": _l("Incidents"),
    "no_second_factor": _l("No authenticator app set up"),
    "not_a_totp_code": _l("Not an authenticator code"),
    "replayed_code": _l("Code already used"),
    "no_data": _l("Nothing to export"),
    # Programme activity logs.
    "awareness_form": _l("Awareness session form"),
    "training_form": _l("Staff training form"),
    "period": _l("Period"),
    "site": _l("Site"),
    "future_period": _l("Period not started yet"),
    "nothing_logged": _l("Nothing logged in the year"),
    "no_safe_space_at_site": _l("No safe space at the site in the year"),
    # Statistics (the filter of a view or an export).
    "all_sites": _l("All sites"),
    "csv": "CSV",
    "xlsx": "XLSX",
    # Keys and sealed records.
    "all_open": _l("All open"),
    "failed": _l("Failed"),
    "unwrap_failed": _l("Could not be unwrapped"),
    "left": _l("Left to do"),
    "rewrapped": _l("Rewrapped"),
    "replaced": _l("Replaced"),
    "enrolled": _l("Enrolled"),
    "deep": _l("Deep check"),
    "clean": _l("Clean"),
    "records": _l("Records"),
    "new_version": _l("New version"),
    "still_in_use": _l("Still in use"),
    "retired": _l("Retired"),
    "destroyed": _l("Destroyed"),
    "auth_failed": _l("Integrity check failed"),
    "bad_version": _l("Unknown key version"),
    "decode_failed": _l("Could not be decoded"),
    "old_format": _l("Old format"),
    "unknown_format": _l("Unknown format"),
    "does_not_open": _l("Does not open"),
    "newer_than_audit": _l("Newer than the trail's last write"),
    "older_than_audit": _l("Older than the trail's last write"),
    "row": _l("Record version"),
    "audit": _l("Version in the trail"),
    "none": _l("None"),
}

_PIECE = re.compile(r"([;,:=@])")


def _token(token: str) -> str:
    """One piece of a reason: its label, a role's name, or the piece itself (a count, an id,
    a month, an endpoint)."""
    label = REASON_LABELS.get(token)
    return str(label) if label is not None else role_label(token)


def reason_label(reason: str | None) -> str:
    """A reason code as the auditor reads it: each code translated, counts and ids kept
    (``other;text=43`` reads "Other; Explanation: 43 characters"). The raw code stays in the
    page (a tooltip), so nothing is lost."""
    if not reason:
        return ""
    out: list[str] = []
    key: str | None = None
    for piece in _PIECE.split(reason):
        if piece in (";", ","):
            out.append("; ")
        elif piece in (":", "="):
            out.append(": ")
        elif piece == "@":
            out.append(" #")  # edited@12: the event number
        elif key == "text" and piece.isdigit():
            out.append(ngettext("%(num)d character", "%(num)d characters", int(piece)))
        else:
            out.append(_token(piece))
        if piece not in (":", "=", "@"):
            key = piece
    return "".join(out)
