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
    AUTH_STEP_UP = "auth.step_up"
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
    AUTH_PASSKEY_ADDED = "auth.passkey_added"
    AUTH_PASSKEY_REMOVED = "auth.passkey_removed"
    AUTH_PASSKEYS_VIEW = "auth.passkeys_view"
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
    USER_SSO_LINK = "user.sso_link"
    USER_SSO_UNLINK = "user.sso_unlink"
    USER_SESSIONS_REVOKED = "user.sessions_revoked"
    USER_SCOPE_CHANGE = "user.scope_change"
    USER_GRANT_REQUEST = "user.grant_request"
    USER_GRANT_APPROVE = "user.grant_approve"
    USER_GRANT_REFUSE = "user.grant_refuse"
    USER_GRANT_EXPIRED = "user.grant_expired"
    DIRECTORY_VIEW = "directory.view"
    ORGANISATION_CREATE = "organisation.create"
    ORGANISATION_UPDATE = "organisation.update"
    ORGANISATION_SSO_UPDATE = "organisation.sso_update"
    SITE_CREATE = "site.create"
    SITE_UPDATE = "site.update"
    SAFE_SPACE_CREATE = "safe_space.create"
    SAFE_SPACE_UPDATE = "safe_space.update"
    SERVICE_CREATE = "service.create"
    SERVICE_UPDATE = "service.update"
    PLEDGE_PUBLISH = "pledge.publish"
    PLEDGE_ACCEPT = "pledge.accept"
    PLEDGE_VIEW = "pledge.view"
    # Cases
    CASE_SEARCH = "case.search"
    CASE_LIST = "case.list"
    CASE_VIEW = "case.view"
    CASE_CREATE = "case.create"
    CASE_UPDATE = "case.update"
    CASE_ASSIGN = "case.assign"
    CASE_STATUS = "case.status_change"
    CASE_CLOSURE_REQUEST = "case.closure_request"
    CASE_CLOSURE_APPROVE = "case.closure_approve"
    CASE_CLOSURE_REJECT = "case.closure_reject"
    CASE_REOPEN = "case.reopen"
    CASE_PLAN_APPROVE = "case.plan_approve"
    CASE_ERASE = "case.erase"
    CASE_PRINT = "case.print"
    CASE_PURGE = "case.purge_expired"
    CASE_REINDEX = "case.reindex"
    CASE_POSSIBLE_DUPLICATE = "case.possible_duplicate"
    CASE_SEARCH_THROTTLED = "case.search_throttled"
    CASE_UNASSIGN = "case.unassign"
    # Transfers between organisations (app/cases/transfer.py)
    CASE_TRANSFER_REQUEST = "case.transfer_request"
    CASE_TRANSFER_CANCEL = "case.transfer_cancel"
    CASE_TRANSFER_DECLINE = "case.transfer_decline"
    CASE_TRANSFER_ACCEPT = "case.transfer_accept"
    CASE_TRANSFER_RECEIVE = "case.transfer_receive"
    CASE_TRANSFER_VIEW = "case.transfer_view"
    CASE_TRANSFER_LIST = "case.transfer_list"
    CONSENT_RECORD = "consent.record"
    INCIDENT_CREATE = "incident.create"
    INCIDENT_UPDATE = "incident.update"
    ASSESSMENT_UPDATE = "assessment.update"
    ACTION_ITEM_CREATE = "action_item.create"
    ACTION_ITEM_UPDATE = "action_item.update"
    FOLLOW_UP_CREATE = "follow_up.create"
    FOLLOW_UP_UPDATE = "follow_up.update"
    NOTE_CREATE = "note.create"
    TASKS_VIEW = "tasks.view"
    BREAK_GLASS_OPEN = "break_glass.open"
    # Field capture (app/field): a device prepared (the intake key served), each envelope
    # synced (accepted; refused with its reason), the pending intakes and what became of them,
    # and the organisation's intake keys
    FIELD_PREPARE = "field.prepare"
    FIELD_SYNC = "field.sync"
    FIELD_INTAKES_LIST = "field.intakes_list"
    FIELD_INTAKE_VIEW = "field.intake_view"
    FIELD_INTAKE_OPEN_CASE = "field.intake_open_case"
    FIELD_INTAKE_MERGE = "field.intake_merge"
    FIELD_INTAKE_DISCARD = "field.intake_discard"
    FIELD_TEAM_LIST = "field.team_intakes_list"
    FIELD_INTAKE_HANDOVER = "field.intake_handover"
    FIELD_KEY_CREATE = "field.key_create"
    FIELD_KEY_RETIRE = "field.key_retire"
    # Attachments (app/attachments)
    ATTACHMENT_UPLOAD = "attachment.upload"
    ATTACHMENT_DOWNLOAD = "attachment.download"
    ATTACHMENT_SHARE = "attachment.share"
    # Referrals
    REFERRAL_CREATE = "referral.create"
    REFERRAL_OVERRIDE = "referral.consent_override"
    REFERRAL_VIEW = "referral.view"
    REFERRAL_PRINT = "referral.print"
    REFERRAL_LIST = "referral.list"
    REFERRAL_ACCEPT = "referral.accept"
    REFERRAL_DECLINE = "referral.decline"
    REFERRAL_COMPLETE = "referral.complete"
    REFERRAL_REVOKE = "referral.revoke"
    REFERRAL_REFER_ON = "referral.refer_on"
    REFERRAL_SERVICE_RECORD = "referral.service_record"
    # Audit itself
    AUDIT_SEARCH = "audit.search"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_ALERTS_VIEW = "audit.alerts_view"
    # Operations
    DEMO_SEED = "system.demo_seed"
    BACKUP_CREATE = "backup.create"
    BACKUP_RESTORE = "backup.restore"
    RATE_LIMIT_FALLBACK = "system.rate_limit_fallback"  # store unreachable: counting in-process
    # One-time submission tokens (app/submissions): a retried create, a refused token
    SUBMISSION_REPLAYED = "submission.replayed"
    SUBMISSION_REFUSED = "submission.refused"
    # Encryption
    CRYPTO_DECRYPT_FAILED = "crypto.decrypt_failed"
    KEYS_ROTATE = "keys.rotate"
    KEYS_RETIRE = "keys.retire"
    KEYS_VERIFY = "keys.verify"
    KEYS_SHRED = "keys.shred"
    # A sealed record inserted or changed (reason "v<version>"; app/crypto/fields.py), and a
    # record whose version disagrees with its last recorded write (``keys verify --deep``)
    RECORD_WRITE = "record.write"
    RECORD_VERSION_MISMATCH = "record.version_mismatch"
    KEYS_ENROL = "keys.enrol"
    # Safe spaces
    SAFE_SPACE_LIST = "safe_space.list"
    WGSS_SESSION_LIST = "wgss_session.list"
    WGSS_SESSION_VIEW = "wgss_session.view"
    WGSS_SESSION_CREATE = "wgss_session.create"
    WGSS_SESSION_UPDATE = "wgss_session.update"
    WGSS_SUMMARY_VIEW = "wgss_summary.view"
    WGSS_SUMMARY_EXPORT = "wgss_summary.export"
    WGSS_FIGURES_VIEW = "wgss_figures.view"
    WGSS_FIGURES_EXPORT = "wgss_figures.export"
    PROGRAMME_IMPACT_VIEW = "programme_impact.view"
    ACTIVITY_TYPE_LIST = "activity_type.list"
    ACTIVITY_TYPE_CREATE = "activity_type.create"
    ACTIVITY_TYPE_UPDATE = "activity_type.update"
    ACTIVITY_TYPE_VIEW = "activity_type.view"
    # Statistics: the incident list in the Incident Recorder layout (every download alerts)
    STATS_RECORDER_EXPORT = "stats.recorder_export"
    # Programme activity logs (app/programme): awareness sessions and staff trainings
    PROGRAMME_SITE_LIST = "programme.site_list"
    AWARENESS_SESSION_LIST = "awareness_session.list"
    AWARENESS_SESSION_VIEW = "awareness_session.view"
    AWARENESS_SESSION_CREATE = "awareness_session.create"
    AWARENESS_SESSION_UPDATE = "awareness_session.update"
    TRAINING_LIST = "staff_training.list"
    TRAINING_VIEW = "staff_training.view"
    TRAINING_CREATE = "staff_training.create"
    TRAINING_UPDATE = "staff_training.update"
    # Statistics (app/reports): the tables of one period and site, and their exports
    STATS_VIEW = "stats.view"
    STATS_EXPORT = "stats.export"
    # Home pages and notifications (app/main.py, app/notifications)
    HOME_VIEW = "home.view"
    NOTIFICATION_LIST = "notification.list"
    NOTIFICATION_OPEN = "notification.open"
    NOTIFICATIONS_READ = "notification.read_all"
    NOTIFICATION_EMAIL_VIEW = "notification.email_view"
    NOTIFICATION_EMAIL_ON = "notification.email_on"
    NOTIFICATION_EMAIL_OFF = "notification.email_off"


class ObjectType(enum.StrEnum):
    """Every kind of record an event can name (``object_type``); the auditor filters on these."""

    ACTION_ITEM = "action_item"
    ACTIVITY_TYPE = "activity_type"
    ASSESSMENT = "assessment"
    ATTACHMENT = "attachment"
    ATTACHMENT_CONTENT = "attachment_content"
    AWARENESS_SESSION = "awareness_session"
    AUDIT_CHAIN = "audit_chain"
    BACKUP = "backup"
    BREAK_GLASS = "break_glass"
    CASE = "case"
    CASE_CHANGE = "case_change"
    CASE_NUMBER = "case_number"
    CASE_STATUS_CHANGE = "case_status_change"
    CASE_TRANSFER = "case_transfer"
    CONSENT = "consent"
    DATA_KEY = "data_key"
    DIRECTORY = "directory"
    ENDPOINT = "endpoint"
    FIELD_INTAKE = "field_intake"
    FOLLOW_UP = "follow_up"
    INCIDENT = "incident"
    INTAKE_KEY = "intake_key"
    KEK = "kek"
    KEY = "key"
    NOTE = "note"
    NOTIFICATION = "notification"
    ORGANISATION = "organisation"
    PASSKEY = "passkey"
    PLEDGE = "pledge"
    REFERRAL = "referral"
    REFERRAL_ATTACHMENT = "referral_attachment"
    REFERRAL_EVENT = "referral_event"
    REFERRAL_SERVICE_RECORD = "referral_service_record"
    ROLE_GRANT = "role_grant"
    SAFE_SPACE = "safe_space"
    SERVICE = "service"
    SESSION = "session"
    SITE = "site"
    STAFF_TRAINING = "staff_training"
    SUBMISSION = "submission"
    USER = "user"
    WGSS_SESSION = "wgss_session"


class Outcome(enum.StrEnum):
    """What happened to the attempt."""

    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


# Sealed tables (app/crypto/sealed.py names a failed decryption by its table) as record types.
TABLE_TYPES: dict[str, ObjectType] = {
    "cases": ObjectType.CASE, "incidents": ObjectType.INCIDENT,
    "assessments": ObjectType.ASSESSMENT, "action_items": ObjectType.ACTION_ITEM,
    "follow_ups": ObjectType.FOLLOW_UP, "case_notes": ObjectType.NOTE,
    "case_status_changes": ObjectType.CASE_STATUS_CHANGE,
    "case_changes": ObjectType.CASE_CHANGE, "consent_records": ObjectType.CONSENT,
    "break_glass_grants": ObjectType.BREAK_GLASS, "referrals": ObjectType.REFERRAL,
    "referral_events": ObjectType.REFERRAL_EVENT,
    "referral_service_records": ObjectType.REFERRAL_SERVICE_RECORD,
    "wgss_sessions": ObjectType.WGSS_SESSION,
    "data_keys": ObjectType.DATA_KEY, "case_attachments": ObjectType.ATTACHMENT,
    "case_attachment_contents": ObjectType.ATTACHMENT_CONTENT,
    "referral_attachments": ObjectType.REFERRAL_ATTACHMENT,
    "intake_keys": ObjectType.INTAKE_KEY, "field_intakes": ObjectType.FIELD_INTAKE,
}
