"""Template helpers: the navigation a role sees, role names, dates in the user's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib import import_module

from flask import Flask, current_app, g
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import policy
from app.auth.policy import Permission, role_label


@dataclass(frozen=True)
class NavItem:
    """One link in the main navigation; ``count``, when set, names the function giving the
    number shown beside it (``"module:function"``, called with the signed-in user: one cheap
    indexed count), imported only when the link is shown, so this module imports no feature."""

    endpoint: str
    label: object
    permission: Permission
    count: str | None = None


NAV = (
    NavItem("cases.index", _l("Cases"), Permission.CASE_READ),
    NavItem("cases.tasks", _l("My tasks"), Permission.CASE_READ),
    NavItem("field.index", _l("Field intake"), Permission.CASE_CREATE),
    NavItem("cases.transfers_incoming", _l("Transfers received"), Permission.CASE_ASSIGN),
    NavItem("referrals.inbox", _l("Referrals received"), Permission.REFERRAL_RECEIVE,
            count="app.referrals.queries:new_count"),
    NavItem("admin.users", _l("Users"), Permission.ADMIN_USERS),
    NavItem("admin.grant_list", _l("Access approvals"), Permission.ADMIN_USERS),
    NavItem("admin.directory", _l("Directory"), Permission.ADMIN_DIRECTORY),
    NavItem("admin.pledge", _l("Pledge"), Permission.ADMIN_DIRECTORY),
    NavItem("safe_space.index", _l("Safe spaces"), Permission.WGSS_SUMMARY),
    NavItem("programme.index", _l("Activity logs"), Permission.PROGRAMME_LOG),
    NavItem("wgss_figures.figures_page", _l("Safe-space figures"), Permission.PROGRAMME_READ),
    NavItem("impact.impact_page", _l("Programme impact"), Permission.PROGRAMME_READ),
    NavItem("safe_space.activity_types", _l("Activity types"), Permission.WGSS_CONFIGURE),
    NavItem("reports.index", _l("Statistics"), Permission.STATS_READ),
    NavItem("recorder.download", _l("Incident Recorder export"), Permission.STATS_RECORDER_EXPORT),
    NavItem("audit.events", _l("Audit trail"), Permission.AUDIT_READ),
    NavItem("audit.alerts", _l("Alerts"), Permission.AUDIT_READ),
)


def nav_items() -> list[NavItem]:
    """Links the current user's role may follow (and that exist in this build)."""
    if not current_user.is_authenticated:
        return []
    return [i for i in NAV if i.endpoint in current_app.view_functions
            and policy.can(current_user, i.permission)]


def nav_count(item: NavItem) -> int:
    """The number beside ``item`` for the signed-in user (0 when it has none), counted once
    per request however often the page shows the link."""
    if item.count is None or not current_user.is_authenticated:
        return 0
    counts: dict[str, int] = g.setdefault("nav_counts", {})
    if item.count not in counts:
        module, _, name = item.count.partition(":")
        counts[item.count] = int(getattr(import_module(module), name)(current_user))
    return counts[item.count]


def unread_notifications() -> int:
    """The bell's number for the signed-in user (one indexed count, once per request)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:  # read with the session unless changed since
        from app.notifications.service import unread_count

        g.unread_notifications = unread_count(current_user.id)
    return int(g.unread_notifications)


def datetimeformat(value: datetime | None) -> str:
    """A UTC timestamp in the user's language and their organisation's time zone
    (``app.localtime.select_timezone``)."""
    return format_datetime(value, "medium") if value else ""


def dateformat(value: date | None) -> str:
    """A calendar date in the user's language."""
    return format_date(value, "medium") if value else ""


def code_label(code: str | None, domain: str) -> str:
    """The translated label of a stored code of ``domain`` (``app.cases.labels.Domain``)."""
    from app.cases.labels import label

    return label(code, domain)


def can(permission: Permission) -> bool:
    """Whether the signed-in user's role holds ``permission`` (templates ask this, never a
    role name)."""
    return policy.can(current_user, permission)


def install_ui(app: Flask) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(nav_items=nav_items, nav_count=nav_count,
                                 role_label=role_label, can=can,
                                 unread_notifications=unread_notifications,
                                 Permission=Permission)
    app.jinja_env.filters["datetimeformat"] = datetimeformat
    app.jinja_env.filters["dateformat"] = dateformat
    app.jinja_env.filters["code_label"] = code_label
