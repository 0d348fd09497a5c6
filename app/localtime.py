"""Local time: each organisation works in its own time zone (``Organisation.time_zone``, an
IANA name such as ``Africa/Tripoli``; empty means the instance's ``AMANA_DEFAULT_TIMEZONE``).

Everything is stored in UTC. What a user sees is converted to their organisation's zone (the
Flask-Babel time-zone selector, so every ``datetimeformat`` in a template converts), and what
depends on "today" or a time of day (the 72-hour clinical window, overdue follow-ups) is counted
in the zone of the organisation the record belongs to. ``deadline`` shows a moment with its zone named;
``zone_shown()`` names the zone for a column header; ``from_local`` reads a time typed in a zone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g, has_app_context, has_request_context
from flask_babel import format_datetime, get_timezone
from flask_login import current_user

from app.clock import utcnow
from app.db import db
from app.directory.models import Organisation
from app.directory.service import known_time_zone

FALLBACK_ZONE = "Africa/Tripoli"


def default_zone_name() -> str:
    """The instance's zone, for organisations without one (``AMANA_DEFAULT_TIMEZONE``)."""
    if has_app_context():
        return str(current_app.config.get("DEFAULT_TIMEZONE") or FALLBACK_ZONE)
    return FALLBACK_ZONE


def zone_name(name: str | None) -> str:
    """``name`` when it is a known zone, else the instance's default."""
    return name if name and known_time_zone(name) else default_zone_name()


def zone(name: str | None) -> ZoneInfo:
    """The time zone ``name`` names (the instance's default when empty or unknown)."""
    return ZoneInfo(zone_name(name))


_ZONES = "localtime_zones"


def organisation_zone_name(organisation_id: uuid.UUID | None) -> str:
    """The zone name of an organisation (the default when it has none).

    Within a request it is read once per organisation: every date on a page asks for the zone
    (Flask-Babel's selector), and each commit of the request (its audit events) expires the
    organisation, so each would read it again. A zone changed by the request itself shows from
    the next one (a saved form redirects)."""
    if not organisation_id:
        return zone_name(None)
    known: dict[uuid.UUID, str] | None = None
    if has_request_context():
        known = g.setdefault(_ZONES, {})
        if organisation_id in known:
            return known[organisation_id]
    org = db.session.get(Organisation, organisation_id)
    name = zone_name(org.time_zone if org is not None else None)
    if known is not None:
        known[organisation_id] = name
    return name


def organisation_zone(organisation_id: uuid.UUID | None) -> ZoneInfo:
    """The time zone of an organisation: where its records' days and hours are counted."""
    return ZoneInfo(organisation_zone_name(organisation_id))


def user_zone_name(user: object | None = None) -> str:
    """The zone of ``user``'s organisation (the signed-in user by default; the instance's
    default without a user)."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    return organisation_zone_name(getattr(user, "organisation_id", None))


def user_zone(user: object | None = None) -> ZoneInfo:
    """The time zone of ``user``'s organisation."""
    return ZoneInfo(user_zone_name(user))


def today(where: tzinfo) -> date:
    """Today's date in ``where`` (the frozen clock in tests)."""
    return utcnow().astimezone(where).date()


def from_local(value: datetime, where: tzinfo) -> datetime:
    """A wall-clock time typed in ``where`` (a naive ``datetime`` from a form) as an aware UTC
    moment, to compare with what is stored."""
    return value.replace(tzinfo=where).astimezone(UTC)


def zone_shown() -> str:
    """The name of the zone times are shown in on this page ("Africa/Tripoli"), for headers
    such as "Time (Africa/Tripoli)"."""
    return str(get_timezone())


def select_timezone() -> str:
    """Flask-Babel's time-zone selector: the signed-in user's organisation's zone."""
    return user_zone_name()


def deadline(value: datetime | None) -> str:
    """A deadline in the user's zone and language, the zone named: "26 Nov 2026, 14:00:00
    (Africa/Tripoli)"."""
    if not value:
        return ""
    return f"{format_datetime(value, 'medium')} ({get_timezone()})"


def check_default_zone(app: Flask) -> None:
    """Refuse to start with an ``AMANA_DEFAULT_TIMEZONE`` this machine does not know."""
    name = app.config.get("DEFAULT_TIMEZONE") or FALLBACK_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuntimeError(f"AMANA_DEFAULT_TIMEZONE: unknown time zone {name!r}") from exc


def install_localtime(app: Flask) -> None:
    """Check the instance's zone and give templates ``deadline`` (``datetimeformat`` converts
    to the user's zone already, through ``select_timezone``)."""
    check_default_zone(app)
    app.jinja_env.filters["deadline"] = deadline
    app.jinja_env.globals["zone_shown"] = zone_shown
