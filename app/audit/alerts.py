"""Alerts for the auditor: patterns in the trail worth a human look.

- bursts of refused attempts by one account (or, when no one is logged in, one address);
- one account opening many distinct cases within an hour;
- every break-glass access;
- every download of the Incident Recorder export (the organisation's whole incident list);
- activity outside working hours (in the programme's time zone);
- every change of access: grant requests, approvals, refusals and expiries, role and scope
  changes, password-reset codes and two-step resets issued by admins, passkeys registered or
  removed, accounts linked to or unlinked from single sign-on, and an organisation's sign-on
  settings changed;
- every case search refused for going past the per-user limit (someone guessing names);
- every record that failed to decrypt (damaged or altered in the database), once per record;
- verification runs that found the trail broken, and refused checkpoints;
- no checkpoint outside the database, or none for more than twice the checkpoint interval;
- outages of the rate-limit store (logins counted per server until it was back).

Thresholds are settings (``app.config``); ``DEFAULTS`` holds their values when unset. Only the
recent past (``AUDIT_ALERT_LOOKBACK_HOURS``) is examined, read through the time index.
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select

from app.audit.actions import Action, Outcome
from app.audit.models import AuditEvent
from app.auth.models import User
from app.clock import utcnow
from app.db import db

DEFAULTS: dict[str, Any] = {
    "AUDIT_ALERT_LOOKBACK_HOURS": 24 * 7,   # how far back alerts look
    "AUDIT_ALERT_DENIALS": 10,              # refused attempts by one account or address...
    "AUDIT_ALERT_DENIAL_MINUTES": 10,       # ...within this many minutes
    "AUDIT_ALERT_CASES": 15,                # distinct cases opened by one account...
    "AUDIT_ALERT_CASE_MINUTES": 60,         # ...within this many minutes
    "AUDIT_ALERT_WORK_START_HOUR": 7,       # working hours, local time: from 07:00...
    "AUDIT_ALERT_WORK_END_HOUR": 19,        # ...to 19:00
    "AUDIT_ALERT_WORK_DAYS": (6, 0, 1, 2, 3),  # Python weekdays (Monday 0): Sunday to Thursday
    "AUDIT_ALERT_TIMEZONE": "Africa/Tripoli",
    "AUDIT_ALERT_MAX_ROWS": 200,            # alerts listed per kind
}
CASE_VIEW = Action.CASE_VIEW.value
# Changes to who can reach survivor data: every grant step, role change and credential reset
# (an admin who resets someone's password and two-step verification can sign in as them).
# A passkey registered or removed and an account linked to (or unlinked from) the sign-on
# provider are credentials too: whoever holds them signs in as the account.
ACCESS_ACTIONS = tuple(a.value for a in (
    Action.USER_GRANT_REQUEST, Action.USER_GRANT_APPROVE, Action.USER_GRANT_REFUSE,
    Action.USER_GRANT_EXPIRED, Action.USER_ROLE_CHANGE, Action.USER_SCOPE_CHANGE,
    Action.USER_PASSWORD_RESET_ISSUED, Action.USER_MFA_RESET, Action.AUTH_PASSKEY_ADDED,
    Action.AUTH_PASSKEY_REMOVED, Action.USER_SSO_LINK, Action.USER_SSO_UNLINK,
    Action.ORGANISATION_SSO_UPDATE))
BREAK_GLASS = Action.BREAK_GLASS_OPEN.value
RECORDER_EXPORT = Action.STATS_RECORDER_EXPORT.value


def setting(name: str) -> Any:
    """A threshold from the app's settings, or its default."""
    return current_app.config.get(name, DEFAULTS[name])


@dataclass
class Alert:
    """One pattern found: who, from where, when, how many, and the event to start from."""

    kind: str
    seq: int
    first: datetime
    last: datetime
    count: int = 1
    actor_id: uuid.UUID | None = None
    username: str | None = None
    client_address: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    reason: str | None = None
    action: str | None = None  # the event's action (alerts listed one event each)
    distinct: set[str] = field(default_factory=set, repr=False)


def _events(*conditions: ColumnElement[bool]) -> Iterable[Any]:
    stmt = (select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor_id,
                   AuditEvent.client_address, AuditEvent.object_type, AuditEvent.object_id,
                   AuditEvent.reason, AuditEvent.action, User.username)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(*conditions).order_by(AuditEvent.seq))
    return db.session.execute(stmt.execution_options(yield_per=2_000))


def _bursts(kind: str, rows: Iterable[Any], key: Any, threshold: int, window: timedelta,
            distinct: bool = False) -> list[Alert]:
    """Sliding windows per key: an alert while ``threshold`` events (or distinct objects) fall
    within ``window``; overlapping windows merge into one alert."""
    recent: dict[Hashable, deque[Any]] = {}
    open_: dict[Hashable, Alert] = {}
    found: list[Alert] = []
    for row in rows:
        k = key(row)
        q = recent.setdefault(k, deque())
        q.append(row)
        while row.occurred_at - q[0].occurred_at > window:
            q.popleft()
        size = len({r.object_id for r in q}) if distinct else len(q)
        current = open_.get(k)
        if current is not None and row.occurred_at - current.last <= window:
            current.last, current.count = row.occurred_at, current.count + 1
            current.distinct.add(str(row.object_id))
        elif size >= threshold:
            first = q[0]
            alert = Alert(kind, first.seq, first.occurred_at, row.occurred_at, len(q),
                          row.actor_id, row.username, row.client_address,
                          distinct={str(r.object_id) for r in q})
            open_[k] = alert
            found.append(alert)
    if distinct:
        for alert in found:
            alert.count = len(alert.distinct)
    return found


def off_hours(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """UTC intervals outside working hours from ``since`` to the end of the local day that
    holds ``until``, merged (running to the end of that day, so events at "now" count)."""
    tz = ZoneInfo(setting("AUDIT_ALERT_TIMEZONE"))
    start_h, end_h = int(setting("AUDIT_ALERT_WORK_START_HOUR")), int(
        setting("AUDIT_ALERT_WORK_END_HOUR"))
    days = set(setting("AUDIT_ALERT_WORK_DAYS"))
    spans: list[tuple[datetime, datetime]] = []
    day = since.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, time(0), tz) < until:
        start, nxt = datetime.combine(day, time(0), tz), datetime.combine(
            day + timedelta(days=1), time(0), tz)
        if day.weekday() in days:
            spans += [(start, datetime.combine(day, time(start_h), tz)),
                      (datetime.combine(day, time(end_h), tz) if end_h < 24 else nxt, nxt)]
        else:
            spans.append((start, nxt))
        day += timedelta(days=1)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in ((max(a.astimezone(UTC), since), b.astimezone(UTC)) for a, b in spans):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _after_hours(since: datetime, now: datetime) -> list[Alert]:
    intervals = off_hours(since, now)
    if not intervals:
        return []
    tz = ZoneInfo(setting("AUDIT_ALERT_TIMEZONE"))
    window = or_(*(and_(AuditEvent.occurred_at >= a, AuditEvent.occurred_at < b)
                   for a, b in intervals))
    by_day: dict[tuple[Any, Any], Alert] = {}
    for row in _events(AuditEvent.actor_id.is_not(None), window):
        k = (row.actor_id, row.occurred_at.astimezone(tz).date())
        alert = by_day.get(k)
        if alert is None:
            by_day[k] = Alert("after_hours", row.seq, row.occurred_at, row.occurred_at,
                              actor_id=row.actor_id, username=row.username,
                              client_address=row.client_address)
        else:
            alert.last, alert.count = row.occurred_at, alert.count + 1
    return list(by_day.values())


def _each(kind: str, *conditions: ColumnElement[bool]) -> list[Alert]:
    return [Alert(kind, r.seq, r.occurred_at, r.occurred_at, actor_id=r.actor_id,
                  username=r.username, client_address=r.client_address,
                  object_type=r.object_type, object_id=r.object_id, reason=r.reason,
                  action=r.action)
            for r in _events(*conditions)]


def _outages(recent: ColumnElement[bool]) -> list[Alert]:
    """Each start of a rate-limit store outage: a server counted logins in its own memory, so
    the lockout held per server only (app/dependencies.py)."""
    return _each("outages", recent, AuditEvent.action == Action.RATE_LIMIT_FALLBACK.value)


def _decryption_failures(recent: ColumnElement[bool]) -> list[Alert]:
    """Records that did not decrypt (damaged, altered, or their key would not unwrap): one
    alert per record and reason, with how often and from when to when it was met. Reading an
    erased record (its key destroyed on purpose) is not a failure and raises nothing."""
    by_record: dict[tuple[Any, Any, Any], Alert] = {}
    for r in _events(recent, AuditEvent.action == Action.CRYPTO_DECRYPT_FAILED.value,
                     or_(AuditEvent.reason.is_(None), AuditEvent.reason != "destroyed")):
        seen = by_record.get((r.object_type, r.object_id, r.reason))
        if seen is None:
            by_record[(r.object_type, r.object_id, r.reason)] = Alert(
                "decryption", r.seq, r.occurred_at, r.occurred_at, actor_id=r.actor_id,
                username=r.username, client_address=r.client_address,
                object_type=r.object_type, object_id=r.object_id, reason=r.reason)
        else:
            seen.last, seen.count = r.occurred_at, seen.count + 1
    return list(by_record.values())


def _checkpoint(now: datetime) -> list[Alert]:
    """The newest checkpoint outside the database is missing or stale (app.audit.autocheckpoint):
    the end of the trail could be cut off unseen."""
    from app.audit.autocheckpoint import status

    found = status()
    if found.state == "ok":
        return []
    newest = found.newest
    return [Alert("checkpoint", newest.seq if newest else 0, newest.time if newest else now, now,
                  reason=found.state)]


def compute() -> dict[str, list[Alert]]:
    """Every alert in the look-back window, newest first within each kind."""
    now = utcnow()
    since = now - timedelta(hours=int(setting("AUDIT_ALERT_LOOKBACK_HOURS")))
    recent = AuditEvent.occurred_at >= since
    found = {
        "denials": _bursts("denials", _events(recent, AuditEvent.outcome == "denied"),
                           lambda r: r.actor_id or ("address", r.client_address),
                           int(setting("AUDIT_ALERT_DENIALS")),
                           timedelta(minutes=int(setting("AUDIT_ALERT_DENIAL_MINUTES")))),
        "many_cases": _bursts("many_cases", _events(recent, AuditEvent.action == CASE_VIEW,
                                                    AuditEvent.actor_id.is_not(None)),
                              lambda r: r.actor_id,
                              int(setting("AUDIT_ALERT_CASES")),
                              timedelta(minutes=int(setting("AUDIT_ALERT_CASE_MINUTES"))),
                              distinct=True),
        "break_glass": _each("break_glass", recent, AuditEvent.action == BREAK_GLASS),
        # Downloads only: a refused attempt is no export (bursts of them are "denials").
        "recorder_export": _each("recorder_export", recent, AuditEvent.action == RECORDER_EXPORT,
                                 AuditEvent.outcome == Outcome.ALLOWED.value),
        "after_hours": _after_hours(since, now),
        "access": _each("access", recent, AuditEvent.action.in_(ACCESS_ACTIONS)),
        "checkpoint": _checkpoint(now),
        "decryption": _decryption_failures(recent),
        "searches": _each("searches", recent,
                          AuditEvent.action == Action.CASE_SEARCH_THROTTLED.value),
        "verification": _each("verification", recent, AuditEvent.outcome == "error",
                              AuditEvent.action.in_((Action.AUDIT_VERIFY.value,
                                                     Action.AUDIT_CHECKPOINT.value))),
        "outages": _outages(recent),
    }
    limit = int(setting("AUDIT_ALERT_MAX_ROWS"))
    return {kind: sorted(alerts, key=lambda a: a.seq, reverse=True)[:limit]
            for kind, alerts in found.items()}


def counts(found: dict[str, list[Alert]]) -> Counter[str]:
    """How many alerts of each kind."""
    return Counter({kind: len(alerts) for kind, alerts in found.items()})
