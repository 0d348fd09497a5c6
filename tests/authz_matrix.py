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
    "main.set_language": "/language",
}


@dataclass(frozen=True)
class Row:
    """One request and who may make it."""

    endpoint: str
    method: str
    path: str
    allowed: frozenset[str]
    data: dict[str, str] = field(default_factory=dict)
    ok: frozenset[int] = OK          # statuses an allowed role may get
    denied: int = 403                # status for everyone else


MATRIX: list[Row] = [
    # Self-service: any signed-in account, on its own things only.
    Row("main.home", "GET", "/", ALL),
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
    # Administration.
    Row("admin.users", "GET", "/admin/users", frozenset({"admin"})),
    Row("admin.user_new", "GET", "/admin/users/new", frozenset({"admin"})),
    Row("admin.user_edit", "GET", "/admin/users/{user:caseworker2}", frozenset({"admin"})),
    Row("admin.user_action", "POST", "/admin/users/{user:caseworker2}/end_sessions",
        frozenset({"admin"})),
    Row("admin.user_action", "POST", "/admin/users/{user:caseworker2}/deactivate",
        frozenset({"admin"})),
    Row("admin.user_reset_password", "POST", "/admin/users/{user:caseworker2}/reset-password",
        frozenset({"admin"}), ok=frozenset({200})),
    Row("admin.directory", "GET", "/admin/directory", frozenset({"admin"})),
    Row("admin.directory_record", "GET", "/admin/directory/site/new", frozenset({"admin"})),
    Row("admin.directory_record", "GET", "/admin/directory/site/{id:tripoli}",
        frozenset({"admin"})),
]
