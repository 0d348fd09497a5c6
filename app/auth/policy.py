"""The access policy: every permission, which role holds it, and which routes need none.

Everything that depends on a role is answered here: ``can(user, Permission.X)`` is the one
question services, views and templates ask (templates through the ``can(permission)`` global);
SQL filters use ``roles_with``; which places an account needs (``ROLE_PLACES``) and what a role
is called (``ROLE_LABELS``) are here too. Only the scope modules (``app/*/scopes.py``) branch on
a role besides, and ``tests/test_policy_literals.py`` fails on any other place that does.

Denial is the default. A view declares what it needs with ``@require(Permission.X)`` or
``@authenticated`` (any logged-in, MFA-verified user acting on their own account). The guard
refuses a view that declares nothing, so forgetting a rule closes the route instead of opening
it. Record scopes (which cases, referrals or safe spaces a user may touch) are added here as
the areas that own those records land.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l

F = TypeVar("F", bound=Callable[..., Any])


class Role(enum.StrEnum):
    """One role per account (DESIGN.md, "Who uses it")."""

    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    SERVICE_PROVIDER = "service_provider"
    WGSS_COORDINATOR = "wgss_coordinator"
    PROGRAM_MANAGER = "program_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


#: The translated name of each role (shown, never compared: ``role_label``).
ROLE_LABELS: dict[Role, Any] = {
    Role.CASEWORKER: _l("Caseworker"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.SERVICE_PROVIDER: _l("Service provider"),
    Role.WGSS_COORDINATOR: _l("Safe-space coordinator"),
    Role.PROGRAM_MANAGER: _l("Programme manager"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Administrator"),
}


class Place(enum.StrEnum):
    """What an account is given besides its role: where (and for what) it works."""

    SITES = "sites"
    SAFE_SPACES = "safe_spaces"
    SERVICE = "service"


#: The places each role needs. A role needs at least one of each place listed; safe spaces and
#: a service are given only to the roles that need them (sites may be given to any role).
ROLE_PLACES: dict[Role, frozenset[Place]] = {
    Role.CASEWORKER: frozenset({Place.SITES}),
    Role.SUPERVISOR: frozenset({Place.SITES}),
    Role.SERVICE_PROVIDER: frozenset({Place.SERVICE}),
    Role.WGSS_COORDINATOR: frozenset({Place.SITES, Place.SAFE_SPACES}),
    Role.PROGRAM_MANAGER: frozenset(),
    Role.AUDITOR: frozenset(),
    Role.ADMIN: frozenset(),
}


class Permission(enum.StrEnum):
    """Every permission, named ``area:action``."""

    CASE_CREATE = "case:create"
    CASE_READ = "case:read"
    CASE_EDIT = "case:edit"
    CASE_ASSIGN = "case:assign"
    CASE_APPROVE = "case:approve"
    CASE_BREAK_GLASS = "case:break_glass"
    CASE_ERASE = "case:erase"
    REFERRAL_CREATE = "referral:create"
    REFERRAL_RECEIVE = "referral:receive"
    REFERRAL_OVERRIDE = "referral:override_consent"
    ADMIN_USERS = "admin:users"
    ADMIN_DIRECTORY = "admin:directory"
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"
    AUDIT_VERIFY = "audit:verify"
    WGSS_LOG = "wgss:log"
    WGSS_SUMMARY = "wgss:summary"
    WGSS_CONFIGURE = "wgss:configure"
    STATS_READ = "stats:read"                  # GBVIMS tables and charts (scoped to sites)
    STATS_EXPORT = "stats:export"              # the same tables as CSV / XLSX
    STATS_RECORDER_EXPORT = "stats:recorder"   # the incident list (Incident Recorder layout)
    PROGRAMME_LOG = "programme:log"            # awareness sessions and staff trainings
    PROGRAMME_READ = "programme:read"          # programme impact figures, all spaces' summaries


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset({Permission.CASE_CREATE, Permission.CASE_READ, Permission.CASE_EDIT,
                                Permission.REFERRAL_CREATE}),
    Role.SUPERVISOR: frozenset({Permission.CASE_CREATE, Permission.CASE_READ, Permission.CASE_EDIT,
                                Permission.CASE_ASSIGN, Permission.CASE_APPROVE,
                                Permission.CASE_BREAK_GLASS, Permission.CASE_ERASE,
                                Permission.REFERRAL_CREATE, Permission.REFERRAL_OVERRIDE,
                                Permission.STATS_READ, Permission.STATS_EXPORT}),
    Role.SERVICE_PROVIDER: frozenset({Permission.REFERRAL_RECEIVE}),
    Role.WGSS_COORDINATOR: frozenset({Permission.WGSS_LOG, Permission.WGSS_SUMMARY,
                                      Permission.PROGRAMME_LOG}),
    Role.PROGRAM_MANAGER: frozenset({Permission.WGSS_SUMMARY, Permission.STATS_READ,
                                     Permission.STATS_EXPORT, Permission.STATS_RECORDER_EXPORT,
                                     Permission.PROGRAMME_READ}),
    Role.AUDITOR: frozenset({Permission.AUDIT_READ, Permission.AUDIT_EXPORT,
                             Permission.AUDIT_VERIFY}),
    Role.ADMIN: frozenset({Permission.ADMIN_USERS, Permission.ADMIN_DIRECTORY, Permission.WGSS_CONFIGURE}),
}

#: Roles whose accounts take part in programme work (may be named as a safe-space session's
#: facilitators): every role except those kept apart from it (admins, auditors).
PROGRAMME_STAFF: frozenset[Role] = frozenset(Role) - {Role.ADMIN, Role.AUDITOR}

# Endpoints reachable without a session. Keep this list short: each entry is attack surface.
PUBLIC_ENDPOINTS = frozenset({
    "static",
    "health.healthz",
    "auth.login",
    "auth.reset_password",
    "auth.oidc_start",  # single sign-on: off unless configured (app/auth/oidc_routes.py)
    "auth.oidc_callback",
    "main.set_language",
    "metrics.scrape",  # loopback or bearer token only, else 404 (app.observability.routes)
})

# Endpoints a password-verified session may reach before it has completed MFA.
MFA_STEP_ENDPOINTS = frozenset({
    "auth.mfa",
    "auth.mfa_enrol",
    "auth.mfa_qr",
    "auth.mfa_passkey",
    "auth.logout",
})

AUTHENTICATED = "authenticated"
_RULE_ATTR = "_amana_rule"


def _role_of(user: object | None) -> Role | None:
    """The role of a signed-in account (or of an ``AccountSpec``), None for anyone else."""
    if user is None or getattr(user, "is_authenticated", True) is False:
        return None  # Flask-Login's anonymous user, or nobody
    role = getattr(user, "role", None)
    try:
        return Role(role) if isinstance(role, str) else None
    except ValueError:
        return None  # no role, or one the policy does not know: it holds nothing


def can(user: object | None, permission: Permission) -> bool:
    """The one authorization question: whether ``user`` (anything with a ``.role``: an account,
    an ``AccountSpec``) may do what ``permission`` names. None, an anonymous user and an unknown
    role may do nothing. Templates ask the same through the ``can(permission)`` global."""
    role = _role_of(user)
    return role is not None and permission in ROLE_PERMISSIONS[role]


def roles_with(*permissions: Permission) -> frozenset[str]:
    """The roles that hold any of ``permissions``: for SQL filters on ``User.role``, and for a
    role that is not on an account yet (a command-line argument)."""
    return frozenset(role.value for role, held in ROLE_PERMISSIONS.items()
                     if held.intersection(permissions))


def places_needed(role: str) -> frozenset[Place]:
    """The places an account of ``role`` needs (``ROLE_PLACES``); none for an unknown role."""
    try:
        return ROLE_PLACES[Role(role)]
    except ValueError:
        return frozenset()


def programme_staff() -> frozenset[str]:
    """The roles that may be named as facilitators (for SQL filters on ``User.role``)."""
    return frozenset(r.value for r in PROGRAMME_STAFF)


def role_label(role: str) -> str:
    """The translated name of a role (its code when the policy does not know it)."""
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def role_chosen(role: str, chosen: str | None) -> bool:
    """Whether ``role`` is among the role codes an organisation chose for a rule of its own
    (space-separated; ``Organisation.passkey_roles``: the roles that must use passkeys)."""
    return role in (chosen or "").split()


def require(permission: Permission) -> Callable[[F], F]:
    """Declare that a view needs ``permission``; the guard enforces it before the view runs."""

    def mark(view: F) -> F:
        setattr(view, _RULE_ATTR, permission)
        return view

    return mark


def authenticated(view: F) -> F:
    """Declare that any MFA-verified user may call the view (it acts on their own account)."""
    setattr(view, _RULE_ATTR, AUTHENTICATED)
    return view


def rule_for(view: Callable[..., Any] | None) -> Permission | str | None:
    """The rule a view declared, or ``None`` when it declared none (which means: refuse)."""
    return getattr(view, _RULE_ATTR, None) if view is not None else None
