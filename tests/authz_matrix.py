"""The authorization matrix: every route, who may use it, and what everyone else gets.

Each row names an endpoint, a method, a path (placeholders are filled from the test world:
``{user:NAME}`` is an account's id, ``{id:LABEL}`` another record's id, ``{session:own}`` the
requesting user's own session and ``{session:other}`` another user's), the roles the policy lets
through, and what those roles should see. Everyone else gets 403 (404 where the row says the
record is out of their scope). ``test_route_authorization.py`` fails when a route of the app has
no row here, and runs every row against every role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("caseworker", "supervisor", "service_provider", "wgss_coordinator", "program_manager",
         "auditor", "admin")
ALL = frozenset(ROLES)
OK = frozenset({200, 204, 302, 303})

# Reachable without logging in.
PUBLIC = {
    "static": "/static/css/amana.css",
    "health.healthz": "/healthz",
    "auth.login": "/auth/login",
    "auth.reset_password": "/auth/reset",
    # single sign-on: without a provider (the test app), back to the login page
    "auth.oidc_start": "/auth/oidc/start",
    "auth.oidc_callback": "/auth/oidc/callback",
    "main.set_language": "/language",
    # Prometheus: loopback (the test client's 127.0.0.1) or a bearer token, else 404 for
    # everyone, signed in or not (tests/test_metrics.py)
    "metrics.scrape": "/metrics",
}


@dataclass(frozen=True)
class Row:
    """One request and who may make it."""

    endpoint: str
    method: str
    path: str
    allowed: frozenset[str]
    data: dict[str, Any] = field(default_factory=dict)
    ok: frozenset[int] = OK          # statuses an allowed role may get
    denied: int = 403                # status for everyone else
    not_found: frozenset[str] = frozenset()  # roles with the permission but not the record: 404
    # A script's endpoint (``app.core.jsonapi``): ``data`` goes as a JSON body with the CSRF
    # token in ``X-CSRFToken``, refusals are JSON, and anonymous gets 401 instead of the login page.
    json: bool = False


MATRIX: list[Row] = [
    # Self-service: any signed-in account, on its own things only.
    Row("main.home", "GET", "/", ALL),
    Row("notifications.index", "GET", "/notifications/", ALL),
    Row("notifications.read_all", "POST", "/notifications/read", ALL),
    # another user's or a made-up notification: the same 404 (own ones: test_notifications.py)
    Row("notifications.open_one", "POST", "/notifications/{uuid:x}/open", ALL,
        ok=frozenset({404})),
    # one's own email setting (email is off in the test app: the page says so, nothing changes)
    Row("notifications.email_setting", "GET", "/notifications/email", ALL),
    Row("notifications.email_setting", "POST", "/notifications/email", ALL),
    Row("auth.mfa", "GET", "/auth/mfa", ALL),
    Row("auth.mfa_enrol", "GET", "/auth/mfa/enrol", ALL),
    Row("auth.mfa_qr", "GET", "/auth/mfa/qr.svg", ALL, ok=frozenset({404})),
    Row("auth.logout", "POST", "/auth/logout", ALL),
    Row("auth.lock", "POST", "/auth/lock", ALL),
    Row("auth.keepalive", "POST", "/auth/keepalive", ALL, ok=frozenset({204})),
    Row("auth.change_password", "GET", "/auth/password", ALL),
    Row("auth.my_sessions", "GET", "/auth/sessions", ALL),
    Row("auth.end_session", "POST", "/auth/sessions/{session:own}/end", ALL),
    Row("auth.end_session", "POST", "/auth/sessions/{session:other}/end", ALL,
        ok=frozenset({404})),
    Row("auth.regenerate_codes", "POST", "/auth/recovery-codes", ALL, ok=frozenset({200})),
    # one's own organisation's pledge (the test world's organisation has none: the page says so)
    # passkeys: one's own (a made-up id: 404; a refused answer: back to the list, nothing kept)
    Row("auth.mfa_passkey", "POST", "/auth/mfa/passkey", ALL, data={"answer": "{}"}),
    Row("auth.passkey_list", "GET", "/auth/passkeys", ALL),
    Row("auth.passkey_new", "POST", "/auth/passkeys/new", ALL, data={"label": "Laptop"}),
    Row("auth.passkey_add", "POST", "/auth/passkeys/add", ALL,
        data={"label": "Laptop", "answer": "{}"}),
    Row("auth.passkey_remove", "POST", "/auth/passkeys/{uuid:x}/remove", ALL,
        ok=frozenset({404})),
    Row("auth.pledge", "GET", "/auth/pledge", ALL),
    Row("auth.pledge", "POST", "/auth/pledge", ALL, data={"accept": "y", "number": "1"}),
    # Administration.
    Row("admin.users", "GET", "/admin/users", frozenset({"admin"})),
    Row("admin.user_new", "GET", "/admin/users/new", frozenset({"admin"})),
    Row("admin.user_edit", "GET", "/admin/users/{user:caseworker2}", frozenset({"admin"})),
    Row("admin.user_action", "POST", "/admin/users/{user:caseworker2}/end_sessions",
        frozenset({"admin"})),
    Row("admin.user_action", "POST", "/admin/users/{user:caseworker2}/deactivate",
        frozenset({"admin"})),
    # An account with case data: the reset waits for a second admin (302 back to the account).
    Row("admin.user_reset_password", "POST", "/admin/users/{user:caseworker2}/reset-password",
        frozenset({"admin"}), ok=frozenset({302})),
    Row("admin.user_reset_password", "POST",
        "/admin/users/{user:wgss_coordinator}/reset-password", frozenset({"admin"}),
        ok=frozenset({200})),
    Row("admin.grant_list", "GET", "/admin/grants", frozenset({"admin"})),
    Row("admin.grant_decide", "POST", "/admin/grants/{uuid:random}/refuse", frozenset({"admin"}),
        data={"version": "1"}, ok=frozenset({404})),
    Row("admin.directory", "GET", "/admin/directory", frozenset({"admin"})),
    # the admin's own organisation's pledge; publishing answers the form with its errors
    # (no one-time token in the matrix's post)
    Row("admin.pledge", "GET", "/admin/pledge", frozenset({"admin"})),
    Row("admin.pledge_publish", "GET", "/admin/pledge/new", frozenset({"admin"})),
    Row("admin.pledge_publish", "POST", "/admin/pledge/new", frozenset({"admin"}),
        data={"text_en": "We keep every survivor's story confidential."}, ok=frozenset({200})),
    # single sign-on: an organisation's settings; linking an account (no provider in the test
    # app: refused with a message, back to the account) and removing the link
    Row("admin.organisation_sso", "GET", "/admin/directory/organisation/{id:org}/sso",
        frozenset({"admin"})),
    Row("admin.organisation_sso", "POST", "/admin/directory/organisation/{id:org}/sso",
        frozenset({"admin"}), data={"version": "0"}),
    Row("admin.user_sso_link", "POST", "/admin/users/{user:caseworker2}/sso",
        frozenset({"admin"}), data={"subject": "subject-0002"}),
    Row("admin.user_sso_unlink", "POST", "/admin/users/{user:caseworker2}/sso/unlink",
        frozenset({"admin"})),
    Row("admin.directory_record", "GET", "/admin/directory/site/new", frozenset({"admin"})),
    Row("admin.directory_record", "GET", "/admin/directory/site/{id:tripoli}",
        frozenset({"admin"})),
    # The auditor's workspace: auditors only.
    Row("audit.events", "GET", "/audit/events", frozenset({"auditor"})),
    Row("audit.record_history", "GET", "/audit/objects/user/{user:caseworker2}",
        frozenset({"auditor"})),
    Row("audit.user_activity", "GET", "/audit/users/{user:caseworker2}", frozenset({"auditor"})),
    Row("audit.export", "POST", "/audit/export", frozenset({"auditor"})),
    Row("audit.verify", "GET", "/audit/verify", frozenset({"auditor"})),
    Row("audit.verify", "POST", "/audit/verify", frozenset({"auditor"})),
    Row("audit.alerts", "GET", "/audit/alerts", frozenset({"auditor"})),
]

# Cases: caseworkers and supervisors hold the permissions; the record scope then decides.
# {id:case_own} is the caseworker's case at Tripoli, {id:case_other} a colleague's at Tripoli
# (the supervisor's site), {id:case_far} a case at Benghazi (outside everyone's scope here).
CASE_ROLES = frozenset({"caseworker", "supervisor"})
SUPERVISOR = frozenset({"supervisor"})
MATRIX += [
    Row("cases.index", "GET", "/cases/", CASE_ROLES),
    Row("cases.tasks", "GET", "/cases/tasks", CASE_ROLES),
    Row("cases.search_cases", "GET", "/cases/search", CASE_ROLES),
    Row("cases.new", "GET", "/cases/new", CASE_ROLES),
    Row("cases.break_glass", "GET", "/cases/break-glass", SUPERVISOR),
    # Field capture's upload (a device's script): whether a session is live, and the envelopes
    # (none here; tests/test_field_sync.py sends real ones).
    Row("field.sync_status", "GET", "/field/sync", CASE_ROLES, json=True),
    Row("field.sync_upload", "POST", "/field/sync", CASE_ROLES, data={"envelopes": []},
        json=True),
]
# Field intake, the offline form (app/field/routes.py): whoever may open a case. The shell and
# the worker hold nothing about the user; the setup names the user and the organisation's key.
MATRIX += [
    Row("field.index", "GET", "/field/", CASE_ROLES),
    Row("field.shell_page", "GET", "/field/shell/en", CASE_ROLES),
    Row("field.shell_page", "GET", "/field/shell/ar", CASE_ROLES),
    Row("field.setup", "GET", "/field/setup.json", CASE_ROLES),
    Row("field.worker", "GET", "/field/sw.js", CASE_ROLES),
]
for _case, _allowed in (("{id:case_own}", CASE_ROLES), ("{id:case_other}", SUPERVISOR),
                        ("{id:case_far}", frozenset())):
    _scoped = CASE_ROLES - _allowed
    MATRIX += [
        Row("cases.view", "GET", f"/cases/{_case}", _allowed, not_found=_scoped),
        Row("cases.edit", "GET", f"/cases/{_case}/edit", _allowed, not_found=_scoped),
        Row("cases.consent", "POST", f"/cases/{_case}/consent", _allowed, not_found=_scoped),
        Row("cases.incident", "GET", f"/cases/{_case}/incidents/new", _allowed, not_found=_scoped),
        Row("cases.assessment", "GET", f"/cases/{_case}/assessment", _allowed, not_found=_scoped),
        Row("cases.action_item", "GET", f"/cases/{_case}/actions/new", _allowed, not_found=_scoped),
        Row("cases.follow_up", "POST", f"/cases/{_case}/follow-ups", _allowed, not_found=_scoped),
        Row("cases.note", "POST", f"/cases/{_case}/notes", _allowed, not_found=_scoped),
        Row("cases.status", "POST", f"/cases/{_case}/status", _allowed, not_found=_scoped),
        Row("cases.closure_request", "POST", f"/cases/{_case}/closure", _allowed, not_found=_scoped),
        Row("cases.closure_decision", "POST", f"/cases/{_case}/closure/decision", _allowed & SUPERVISOR,
            not_found=_scoped & SUPERVISOR),
        Row("cases.reopen", "POST", f"/cases/{_case}/reopen", _allowed, not_found=_scoped),
        Row("cases.approve_plan", "POST", f"/cases/{_case}/plan/approve", _allowed & SUPERVISOR,
            not_found=_scoped & SUPERVISOR),
        Row("cases.assign", "GET", f"/cases/{_case}/assign", _allowed & SUPERVISOR,
            not_found=_scoped & SUPERVISOR),
        Row("cases.erase", "GET", f"/cases/{_case}/erase", _allowed & SUPERVISOR,
            not_found=_scoped & SUPERVISOR),
        Row("cases.history", "GET", f"/cases/{_case}/history", _allowed, not_found=_scoped),
        Row("cases.print_summary", "GET", f"/cases/{_case}/print", _allowed, not_found=_scoped),
        Row("cases.transfer", "GET", f"/cases/{_case}/transfer", _allowed, not_found=_scoped),
        Row("cases.transfer", "POST", f"/cases/{_case}/transfer", _allowed, not_found=_scoped,
            ok=frozenset({200})),
        Row("cases.transfer_cancel", "POST", f"/cases/{_case}/transfer/cancel", _allowed,
            not_found=_scoped),
    ]

MATRIX += [
    Row("cases.incident", "GET", "/cases/{id:case_own}/incidents/{incident:case_own}", CASE_ROLES),
    Row("cases.incident", "GET", "/cases/{id:case_other}/incidents/{incident:case_own}", SUPERVISOR,
        ok=frozenset({404}), not_found=frozenset({"caseworker"})),  # not that case's incident
    Row("cases.follow_up_done", "POST", "/cases/{id:case_own}/follow-ups/{uuid:random}/done",
        CASE_ROLES, ok=frozenset({404})),
]

# Transfers received: the receiving organisation's supervisors. The world's requests would go
# to the partner organisation, which has no account here: a random id is 404 for the
# supervisor (tests/test_case_transfer_pages.py covers requests addressed to them and not).
MATRIX += [
    Row("cases.transfers_incoming", "GET", "/cases/transfers", SUPERVISOR),
    Row("cases.transfer_decide", "GET", "/cases/transfers/{uuid:random}", SUPERVISOR,
        ok=frozenset({404})),
    Row("cases.transfer_accept", "POST", "/cases/transfers/{uuid:random}/accept", SUPERVISOR,
        ok=frozenset({404})),
    Row("cases.transfer_decline", "POST", "/cases/transfers/{uuid:random}/decline", SUPERVISOR,
        ok=frozenset({404})),
]

# Referrals: senders reach referrals through the case scope; recipients only those addressed
# to their own service and not revoked. {id:ref_mhpss} goes to the service_provider's service,
# {id:ref_legal} to another organisation's service.
PROVIDER = frozenset({"service_provider"})
MATRIX += [
    Row("referrals.new", "GET", "/referrals/new/{id:case_own}", CASE_ROLES),
    Row("referrals.new", "GET", "/referrals/new/{id:case_other}", SUPERVISOR,
        not_found=frozenset({"caseworker"})),
    Row("referrals.new", "GET", "/referrals/new/{id:case_far}", frozenset(), not_found=CASE_ROLES),
    Row("referrals.sent_view", "GET", "/referrals/{id:ref_mhpss}/sent", CASE_ROLES),
    Row("referrals.print_sent", "GET", "/referrals/{id:ref_mhpss}/sent/print", CASE_ROLES),
    Row("referrals.print_received", "GET", "/referrals/{id:ref_mhpss}/print", PROVIDER),
    Row("referrals.print_received", "GET", "/referrals/{id:ref_legal}/print", frozenset(),
        not_found=PROVIDER),
    Row("referrals.revoke", "POST", "/referrals/{id:ref_mhpss}/revoke", CASE_ROLES,
        data={"reason": "sent_in_error"}),
    Row("referrals.inbox", "GET", "/referrals/inbox", PROVIDER),
    Row("referrals.received", "GET", "/referrals/{id:ref_mhpss}", PROVIDER),
    Row("referrals.received", "GET", "/referrals/{id:ref_legal}", frozenset(), not_found=PROVIDER),
    Row("referrals.answer", "POST", "/referrals/{id:ref_mhpss}/accept", PROVIDER),
    Row("referrals.answer", "POST", "/referrals/{id:ref_legal}/accept", frozenset(),
        not_found=PROVIDER),
    # The receiving service's own work: referring on, recording services given. Only on a
    # referral addressed to its service ({id:ref_mhpss} is only sent in the world: the page
    # says why it cannot refer on yet, the service refuses the entry); others' referrals 404.
    Row("referrals.refer_on", "GET", "/referrals/{id:ref_mhpss}/onward", PROVIDER),
    Row("referrals.refer_on", "POST", "/referrals/{id:ref_mhpss}/onward", PROVIDER),
    Row("referrals.refer_on", "GET", "/referrals/{id:ref_legal}/onward", frozenset(),
        not_found=PROVIDER),
    Row("referrals.record_service", "POST", "/referrals/{id:ref_mhpss}/services", PROVIDER,
        data={"given_on": "2026-11-02", "service_code": "assessment"}),
    Row("referrals.record_service", "POST", "/referrals/{id:ref_legal}/services", frozenset(),
        not_found=PROVIDER),
]

# Attachments: a case's files through the case scope (write for uploads, read for downloads);
# a shared copy only to the service of a live referral. {file:case_own} is a file attached to
# {id:case_own} for the row, {shared:ref_mhpss} one shared with {id:ref_mhpss}. Auditors never
# download.
MATRIX += [
    Row("attachments.upload", "POST", "/cases/{id:case_own}/attachments", CASE_ROLES,
        ok=frozenset({200})),  # nothing sent: the case page again, the message beside the field
    Row("attachments.upload", "POST", "/cases/{id:case_other}/attachments", SUPERVISOR,
        ok=frozenset({200}), not_found=frozenset({"caseworker"})),
    Row("attachments.upload", "POST", "/cases/{id:case_far}/attachments", frozenset(),
        not_found=CASE_ROLES),
    Row("attachments.download", "GET", "/cases/{id:case_own}/attachments/{file:case_own}",
        CASE_ROLES, ok=frozenset({200})),
    # not that case's file: the same 404 as a missing one
    Row("attachments.download", "GET", "/cases/{id:case_other}/attachments/{file:case_own}",
        SUPERVISOR, ok=frozenset({404}), not_found=frozenset({"caseworker"})),
    Row("attachments.download", "GET", "/cases/{id:case_far}/attachments/{file:case_own}",
        frozenset(), not_found=CASE_ROLES),
    Row("attachments.shared_download", "GET", "/referrals/{id:ref_mhpss}/files/{shared:ref_mhpss}",
        PROVIDER, ok=frozenset({200})),
    Row("attachments.shared_download", "GET", "/referrals/{id:ref_legal}/files/{shared:ref_mhpss}",
        frozenset(), not_found=PROVIDER),
]

# Safe spaces: coordinators log and read the sessions of their own spaces ({id:safe_space};
# {id:safe_space2} is another space of the same organisation), programme managers see the
# summaries of their organisation's spaces and no session log, admins keep the activity types.
# The world holds no session log, so session rows use a random id (404 for the coordinator;
# tests/test_safe_space_scope.py covers own and other spaces' sessions).
WGSS_LOG = frozenset({"wgss_coordinator"})
WGSS_SUMMARY = frozenset({"wgss_coordinator", "program_manager"})
WGSS_ADMIN = frozenset({"admin"})
PROGRAMME_READ = frozenset({"program_manager"})
LIFE_SKILLS = "a2281e0f-63ba-589c-8169-8f802a1b694e"  # a default activity type (migration 0006)
MATRIX += [
    Row("safe_space.index", "GET", "/safe-spaces/", WGSS_SUMMARY),
    Row("safe_space.sessions", "GET", "/safe-spaces/{id:safe_space}/sessions", WGSS_LOG),
    Row("safe_space.sessions", "GET", "/safe-spaces/{id:safe_space2}/sessions", frozenset(),
        not_found=WGSS_LOG),
    Row("safe_space.new_session", "GET", "/safe-spaces/sessions/new", WGSS_LOG),
    Row("safe_space.new_session", "POST", "/safe-spaces/sessions/new", WGSS_LOG,
        ok=frozenset({200})),
    Row("safe_space.view_session", "GET", "/safe-spaces/sessions/{uuid:random}", WGSS_LOG,
        ok=frozenset({404})),
    Row("safe_space.edit_session", "GET", "/safe-spaces/sessions/{uuid:random}/edit", WGSS_LOG,
        ok=frozenset({404})),
    Row("safe_space.edit_session", "POST", "/safe-spaces/sessions/{uuid:random}/edit", WGSS_LOG,
        ok=frozenset({404})),
    Row("safe_space.summary", "GET", "/safe-spaces/{id:safe_space}/summary", WGSS_SUMMARY),
    Row("safe_space.summary", "GET", "/safe-spaces/{id:safe_space2}/summary?month=2026-10",
        frozenset({"program_manager"}), not_found=WGSS_LOG),
    Row("safe_space.summary_csv", "GET", "/safe-spaces/{id:safe_space}/summary.csv", WGSS_SUMMARY),
    Row("safe_space.summary_csv", "GET", "/safe-spaces/{id:safe_space2}/summary.csv",
        frozenset({"program_manager"}), not_found=WGSS_LOG),
    # The organisation's figures (every space, several months): programme managers only.
    # Another organisation's site is out of scope: 404 for the manager, as for a missing one.
    Row("wgss_figures.figures_page", "GET", "/safe-spaces/figures", PROGRAMME_READ),
    Row("wgss_figures.figures_page", "GET", "/safe-spaces/figures?period=2026-11&site=all",
        PROGRAMME_READ),
    Row("wgss_figures.figures_page", "GET",
        "/safe-spaces/figures?period=2026-11&site={id:partner_site}", frozenset(),
        not_found=PROGRAMME_READ),
    Row("wgss_figures.figures_csv", "GET", "/safe-spaces/figures.csv?period=2026-11&site=all",
        PROGRAMME_READ),
    Row("wgss_figures.figures_csv", "GET",
        "/safe-spaces/figures.csv?period=2026-11&site={id:tripoli}", PROGRAMME_READ),
    Row("wgss_figures.figures_csv", "GET",
        "/safe-spaces/figures.csv?period=2026-11&site={id:partner_site}", frozenset(),
        not_found=PROGRAMME_READ),
    Row("safe_space.activity_types", "GET", "/safe-spaces/activity-types", WGSS_ADMIN),
    Row("safe_space.activity_type", "GET", "/safe-spaces/activity-types/new", WGSS_ADMIN),
    Row("safe_space.activity_type", "POST", "/safe-spaces/activity-types/new", WGSS_ADMIN,
        ok=frozenset({200})),
    Row("safe_space.activity_type", "GET", f"/safe-spaces/activity-types/{LIFE_SKILLS}",
        WGSS_ADMIN),
]

# Statistics: the Incident Recorder export (the organisation's incident list, coded fields only)
# is for programme managers alone. An empty POST shows the form again with its errors (200);
# tests/test_recorder_export.py covers the second factor, consent and the file.
RECORDER = frozenset({"program_manager"})
MATRIX += [
    Row("recorder.download", "GET", "/statistics/recorder", RECORDER, ok=frozenset({200})),
    Row("recorder.download", "POST", "/statistics/recorder", RECORDER, ok=frozenset({200})),
]

# Programme activity logs: coordinators log awareness sessions and staff trainings at their own
# sites ({id:tripoli}; {id:benghazi} is another site of the same organisation, {id:partner_site}
# another organisation's). Nobody else opens a log (managers read the suppressed figures).
# The world holds no log, so log rows use a random id (404 for the coordinator;
# tests/test_programme_logs.py covers own and other sites' logs).
PROGRAMME_LOG = frozenset({"wgss_coordinator"})
MATRIX += [
    Row("programme.index", "GET", "/programme/", PROGRAMME_LOG),
    Row("programme.logs", "GET", "/programme/sites/{id:tripoli}/awareness", PROGRAMME_LOG),
    Row("programme.logs", "GET", "/programme/sites/{id:tripoli}/trainings?month=2026-10",
        PROGRAMME_LOG),
    Row("programme.logs", "GET", "/programme/sites/{id:benghazi}/awareness", frozenset(),
        not_found=PROGRAMME_LOG),
    Row("programme.logs", "GET", "/programme/sites/{id:partner_site}/trainings", frozenset(),
        not_found=PROGRAMME_LOG),
    Row("programme.new_log", "GET", "/programme/awareness/new", PROGRAMME_LOG),
    Row("programme.new_log", "GET", "/programme/trainings/new", PROGRAMME_LOG),
    Row("programme.new_log", "POST", "/programme/awareness/new", PROGRAMME_LOG,
        ok=frozenset({200})),
    Row("programme.new_log", "POST", "/programme/trainings/new", PROGRAMME_LOG,
        ok=frozenset({200})),
    Row("programme.edit_log", "GET", "/programme/awareness/{uuid:random}", PROGRAMME_LOG,
        ok=frozenset({404})),
    Row("programme.edit_log", "GET", "/programme/trainings/{uuid:random}", PROGRAMME_LOG,
        ok=frozenset({404})),
    Row("programme.edit_log", "POST", "/programme/awareness/{uuid:random}", PROGRAMME_LOG,
        ok=frozenset({404})),
]

# Statistics: programme managers read their organisation's (each site and all sites),
# supervisors their own sites ({id:tripoli}) one at a time; another site, the all-sites total
# for a supervisor and another organisation's site answer 404 (tests/test_statistics_scope.py).
STATS = frozenset({"supervisor", "program_manager"})
MANAGER = frozenset({"program_manager"})
SUPERVISOR = frozenset({"supervisor"})
MATRIX += [
    row
    for endpoint, path in (("reports.index", "/statistics/"),
                           ("reports.export_csv", "/statistics/export.csv"),
                           ("reports.export_xlsx", "/statistics/export.xlsx"))
    for row in (
        Row(endpoint, "GET", path, STATS),
        Row(endpoint, "GET", path + "?period=2026-10&site={id:tripoli}", STATS),
        Row(endpoint, "GET", path + "?site={id:benghazi}", MANAGER, not_found=SUPERVISOR),
        Row(endpoint, "GET", path + "?site=all", MANAGER, not_found=SUPERVISOR),
        Row(endpoint, "GET", path + "?site={id:partner_site}", frozenset(), not_found=STATS),
    )
]

# Programme impact: the organisation's yearly figures, for programme managers only.
MATRIX += [
    Row("impact.impact_page", "GET", "/statistics/impact", MANAGER),
    Row("impact.impact_page", "GET", "/statistics/impact?year=2026", MANAGER),
]

# Field intakes: whoever opens cases, on their own pending intakes only. {intake:caseworker} is
# a pending intake of the caseworker made on the spot (tests/helpers/field.py); anyone else
# who opens cases gets 404, as for a made-up id (tests/test_field_review.py).
CASEWORKER = frozenset({"caseworker"})
MATRIX += [Row("field.intakes", "GET", "/field/intakes", CASE_ROLES)]
for _endpoint, _method, _path, _data in (
        ("field.intake", "GET", "", {}),
        ("field.open_case", "POST", "/open", {}),
        ("field.merge", "POST", "/merge", {}),
        ("field.discard", "POST", "/discard", {})):
    MATRIX += [
        Row(_endpoint, _method, "/field/intakes/{intake:caseworker}" + _path, CASEWORKER,
            data=_data, not_found=CASE_ROLES - CASEWORKER),
        Row(_endpoint, _method, "/field/intakes/{uuid:random}" + _path, CASE_ROLES, data=_data,
            ok=frozenset({404})),
    ]

# The supervisors' view of their team's pending field intakes and the hand-over
# (app/field/handover.py): CASE_ASSIGN. An empty hand-over form changes nothing (back to the
# list with the message); a made-up id is 404. Another organisation's supervisor and a
# supervisor without a shared site: tests/test_field_handover.py.
MATRIX += [
    Row("field.team", "GET", "/field/team", SUPERVISOR),
    Row("field.team", "GET", "/field/team?page=2", SUPERVISOR),
    Row("field.hand_over", "POST", "/field/intakes/{intake:caseworker}/handover", SUPERVISOR),
    Row("field.hand_over", "POST", "/field/intakes/{uuid:random}/handover", SUPERVISOR,
        ok=frozenset({404})),
]
