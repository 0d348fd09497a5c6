"""Audit reason codes as the auditor reads them: ``REASON_LABELS`` and ``reason_label``.

Split out of ``app.audit.labels`` (which re-exports both) because the list is long.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.auth.policy import role_label

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
    "step_up": _l("Identity confirmed with a code for this action"),
    "no_code": _l("No code typed"),
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
    "version": _l("Version"),  # a pledge published or accepted: version=N
    "bootstrap": _l("First account"),
    # Passkeys (app.auth.passkeys).
    "passkey": _l("Passkey"),
    "passkey_malformed": _l("Passkey answer not valid"),
    "passkey_challenge": _l("Passkey challenge used or expired"),
    "passkey_unknown": _l("Unknown passkey"),
    "passkey_other_account": _l("Another account's passkey"),
    "passkey_stopped": _l("Stopped passkey"),
    "passkey_refused": _l("Passkey signature or origin refused"),
    "passkey_cloned": _l("Copied passkey (counter went back)"),
    "passkey_exists": _l("Passkey already registered"),
    "passkey_required": _l("Passkey required for the role"),
    "too_many_passkeys": _l("Too many passkeys"),
    "last_passkey": _l("Last passkey"),
    "not_fresh": _l("Identity not confirmed recently"),
    "passkeys": _l("Passkeys"),
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
    # Field intakes (app/field/review.py): their decisions, the shredding of their keys.
    "already_decided": _l("Already dealt with"),
    "differences": _l("Identity details that differ"),
    "field_intake_opened": _l("Field intake became a case"),
    "field_intake_merged": _l("Field intake added to a case"),
    "field_intake_discarded": _l("Field intake discarded"),
    "duplicate_of_existing": _l("Duplicate of an existing case"),
    "test": _l("A test, not a real intake"),
    # Field intakes handed over by a supervisor (app/field/handover.py).
    "from_uploader": _l("Handed over from the caseworker who captured it"),
    "from_assignee": _l("Handed over again"),
    "bad_target": _l("Colleague who may not receive it"),
    # Transfers between organisations (app/cases/transfer.py, transfer_requests.py).
    "received": _l("Received by transfer"),
    "kept_as_secondary": _l("Previous caseworker kept as secondary"),
    "transfer": _l("Transfer to another organisation"),
    "cancelled_by_sender": _l("Cancelled by the sending organisation"),
    "no_capacity": _l("No capacity to take the case now"),
    "outside_area": _l("The survivor lives outside our area"),
    "services_not_offered": _l("We do not offer the services needed"),
    "survivor_not_reachable": _l("We cannot reach the survivor safely"),
    "other_reason": _l("Another reason (discuss with the sender)"),
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
    "parent_revoked": _l("The referral it came from was revoked"),
    "not_accepted": _l("The referral is not accepted"),
    "own_service": _l("Referral to one's own service"),
    "bad_service_code": _l("Unknown service code"),
    "date_in_future": _l("Date in the future"),
    "date_before_sent": _l("Date before the referral was sent"),
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
    "attachments_outside_consent": _l("Attached files outside the consent"),
    "wrong_order": _l("Not possible in this status"),
    # Attachments (app/attachments): kinds, types, refusals.
    "consent_form": _l("Signed consent form"),
    "thumbprint": _l("Thumbprint"),
    "medical_certificate": _l("Medical certificate"),
    "police_report": _l("Police report"),
    "identity_document": _l("Identity document"),
    "pdf": "PDF",
    "jpeg": "JPEG",
    "png": "PNG",
    "bad_kind": _l("Kind of file not valid"),
    "empty": _l("Empty file"),
    "too_large": _l("File too large"),
    "not_accepted_type": _l("Type of file not accepted"),
    "damaged_pdf": _l("Damaged PDF"),
    "damaged_image": _l("Damaged image"),
    "too_many_pixels": _l("Image too large in pixels"),
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
    # Backups (app/backup).
    "created": _l("Made"),
    "restored": _l("Restored"),
    "checks_failed": _l("Checks after the restore found problems"),
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
    "email": _l("Email address"),  # a sealed notification address that did not open
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
    # Single sign-on (app/auth/oidc_service.py): how a sign-in through the provider ended.
    "sso": _l("Single sign-on"),
    "provider_error": _l("The provider reported an error"),
    "no_state": _l("Return without its sign-in request"),
    "unknown_state": _l("Unknown sign-in request"),
    "bad_binding": _l("Sign-in request from another browser"),
    "replayed_state": _l("Sign-in request used again"),
    "expired_request": _l("Sign-in request expired"),
    "provider_unreachable": _l("Provider unreachable"),
    "token_refused": _l("Provider refused the code"),
    "provider_answer_invalid": _l("Provider's answer not valid"),
    "bad_discovery": _l("Provider's configuration not valid"),
    "no_id_token": _l("No ID token"),
    "malformed_token": _l("ID token malformed"),
    "bad_algorithm": _l("ID token algorithm refused"),
    "bad_signature": _l("ID token signature not valid"),
    "bad_issuer": _l("ID token from another issuer"),
    "bad_audience": _l("ID token for another client"),
    "expired_token": _l("ID token expired"),
    "bad_issued_at": _l("ID token issue time not valid"),
    "not_yet_valid": _l("ID token not yet valid"),
    "missing_claim": _l("ID token claim missing"),
    "missing_nonce": _l("ID token without nonce"),
    "bad_claim": _l("ID token claim not valid"),
    "bad_nonce": _l("ID token nonce does not match"),
    "nonce": _l("Nonce"),
    "unknown_subject": _l("No account linked to this subject"),
    "link_pending": _l("Link waiting for a second admin"),
    "subject": _l("Subject (keyed digest)"),
    "organisation_inactive": _l("Organisation inactive"),
    "sso_disabled": _l("Single sign-on off for the organisation"),
    "mfa_asked": _l("Amana's second step asked"),
    "mfa_claim_missing": _l("Provider's second factor not shown: Amana's asked"),
    "mfa_claim_stale": _l("Provider's sign-in too old: Amana's second step asked"),
    "mfa_passkey_required": _l("Role must use a passkey: Amana's second step asked"),
    "mfa_trusted": _l("Provider's second factor trusted"),
    "provider_mfa": _l("Second factor at the provider"),
    "subject_taken": _l("Subject linked to another account"),
    "already_linked": _l("Account already linked"),
    "not_linked": _l("Account not linked"),
    "trust_mfa": _l("Provider's second factor trusted"),
    "enabled": _l("Enabled"),
    "yes": _l("Yes"),
    "no": _l("No"),
    # Field capture (app.field.sync, app.field.keys): an envelope's answer, an intake key.
    "duplicate": _l("Received already"),
    "malformed": _l("Not a field envelope"),
    "other_user": _l("Made under another account"),
    "expired": _l("Too old, or dated in the future"),
    "unknown_key": _l("Intake key unknown or retired"),
    "tampered": _l("Changed after it was sealed"),
    "too_many": _l("Too many envelopes in one upload"),
    "sync_limit": _l("Upload limit reached"),
    "first_use": _l("Made on first use"),
    "rotation": _l("Rotation"),
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
