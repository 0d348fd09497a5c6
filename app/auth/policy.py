"""The access policy: every permission, which role holds it, and which routes need none.

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


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset({Permission.CASE_CREATE, Permission.CASE_READ, Permission.CASE_EDIT,
                                Permission.REFERRAL_CREATE}),
    Role.SUPERVISOR: frozenset({Permission.CASE_CREATE, Permission.CASE_READ, Permission.CASE_EDIT,
                                Permission.CASE_ASSIGN, Permission.CASE_APPROVE,
                                Permission.CASE_BREAK_GLASS, Permission.CASE_ERASE,
                                Permission.REFERRAL_CREATE, Permission.REFERRAL_OVERRIDE}),
    Role.SERVICE_PROVIDER: frozenset({Permission.REFERRAL_RECEIVE}),
    Role.WGSS_COORDINATOR: frozenset({Permission.WGSS_LOG, Permission.WGSS_SUMMARY}),
    Role.PROGRAM_MANAGER: frozenset({Permission.WGSS_SUMMARY}),
    Role.AUDITOR: frozenset({Permission.AUDIT_READ, Permission.AUDIT_EXPORT,
                             Permission.AUDIT_VERIFY}),
    Role.ADMIN: frozenset({Permission.ADMIN_USERS, Permission.ADMIN_DIRECTORY, Permission.WGSS_CONFIGURE}),
}

# Endpoints reachable without a session. Keep this list short: each entry is attack surface.
PUBLIC_ENDPOINTS = frozenset({
    "static",
    "health.healthz",
    "auth.login",
    "auth.reset_password",
    "main.set_language",
})

# Endpoints a password-verified session may reach before it has completed MFA.
MFA_STEP_ENDPOINTS = frozenset({
    "auth.mfa",
    "auth.mfa_enrol",
    "auth.mfa_qr",
    "auth.logout",
})

AUTHENTICATED = "authenticated"
_RULE_ATTR = "_amana_rule"


def has_permission(role: str, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission``."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def roles_with(*permissions: Permission) -> frozenset[str]:
    """The roles that hold any of ``permissions`` (for SQL filters on ``User.role``)."""
    return frozenset(role.value for role, held in ROLE_PERMISSIONS.items()
                     if held.intersection(permissions))


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
