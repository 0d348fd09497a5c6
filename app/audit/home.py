"""The auditor's home panel: what in the trail needs a look now.

- open alerts: what the Alerts page lists now (``alerts.compute``, the same look-back), by kind;
- the last verification: the newest run recorded in the trail (``audit.verify`` from the page
  or ``flask audit verify``, and ``audit.checkpoint``, which verifies the whole trail before it
  signs), its result and time;
- the newest checkpoint outside the database and its age, after applying the time rule as the
  verification page and the alerts do (``autocheckpoint.refresh``);
- decryption failures: the records the Alerts page lists as unreadable (one per record and
  reason);
- break-glass uses in the last seven days (allowed openings, from the trail's own action code).

The panel warns, in words, when the last verification found the trail broken, when none was
run or the last one is older than ``VERIFY_MAX_AGE``, and when no checkpoint exists or the
newest is stale by the instance's own rule or older than ``CHECKPOINT_MAX_AGE``.
Everything here is read from the trail and the checkpoint log (audit imports no feature):
codes, counts and times, never a record's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import jobs
from app.audit import alerts, autocheckpoint
from app.audit.actions import Action, Outcome
from app.audit.models import AuditEvent
from app.auth.policy import Permission, can
from app.clock import utcnow
from app.core import hooks
from app.core.home import Panel
from app.db import db
from app.localtime import from_local, user_zone

VERIFY_MAX_AGE = timedelta(days=7)        # a verification older than this is overdue
CHECKPOINT_MAX_AGE = timedelta(hours=24)  # and a checkpoint older than this is old
BREAK_GLASS_DAYS = 7
RUNS = (Action.AUDIT_VERIFY.value, Action.AUDIT_CHECKPOINT.value)

#: Each kind of alert: its heading on the Alerts page (the same words, so the same
#: translation) and the anchor of its section there, in the page's order.
ALERT_KINDS: dict[str, tuple[Any, str]] = {
    "verification": (_l("Failed verification"), "alerts-verification"),
    "outages": (_l("Rate-limit store unreachable"), "alerts-outages"),
    "checkpoint": (_l("Checkpoint missing or too old"), "alerts-checkpoint"),
    "break_glass": (_l("Break-glass access"), "alerts-break-glass"),
    "recorder_export": (_l("Incident Recorder downloads"), "alerts-recorder-export"),
    "decryption": (_l("Records that could not be read"), "alerts-decryption"),
    "access": (_l("Changes of access"), "alerts-access"),
    "searches": (_l("Too many case searches"), "alerts-searches"),
    "many_cases": (_l("Many cases opened"), "alerts-cases"),
    "denials": (_l("Bursts of refused attempts"), "alerts-denials"),
    "after_hours": (_l("Activity outside working hours"), "alerts-hours"),
}


@dataclass(frozen=True)
class LastRun:
    """The newest verification recorded in the trail."""

    seq: int
    at: datetime
    action: str
    ok: bool
    reason: str | None


@dataclass(frozen=True)
class AlertCount:
    """How many alerts of one kind the Alerts page lists."""

    kind: str
    label: Any
    anchor: str
    count: int


def last_run() -> LastRun | None:
    """The newest verification or checkpoint run (each verifies the whole trail), if any."""
    row = db.session.execute(
        select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.action, AuditEvent.outcome,
               AuditEvent.reason)
        .where(AuditEvent.action.in_(RUNS),
               AuditEvent.outcome.in_((Outcome.ALLOWED.value, Outcome.ERROR.value)))
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if row is None:
        return None
    return LastRun(row.seq, row.occurred_at, row.action, row.outcome == Outcome.ALLOWED.value,
                   row.reason)


def break_glass_since(since: datetime) -> int:
    """Emergency accesses opened (allowed) since ``since``."""
    return int(db.session.execute(
        select(func.count(AuditEvent.seq))
        .where(AuditEvent.action == Action.BREAK_GLASS_OPEN.value,
               AuditEvent.outcome == Outcome.ALLOWED.value,
               AuditEvent.occurred_at >= since)).scalar_one())


def alert_counts() -> tuple[list[AlertCount], datetime]:
    """The alerts the Alerts page lists, per kind (kinds with none left out), and when they
    were counted: counting reads a week of the trail, so the home page reuses a count made up
    to ``AUDIT_HOME_ALERT_MINUTES`` ago (the page says when; the Alerts page it links to always
    counts afresh). Such a count comes from the alerts timer (``flask audit alerts``, remembered
    in the database for every host), else from this process's own last count; only when
    neither is recent enough does the page count, on the request path."""
    now = utcnow()
    kept = timedelta(minutes=int(current_app.config.get("AUDIT_HOME_ALERT_MINUTES", 0)))
    memo: dict[str, Any] = current_app.extensions.setdefault("amana_home_alerts", {})
    last = memo.get("counts")
    stored = jobs.last_result("audit-alerts")
    if stored is not None and (last is None or stored[0] > last[0]):
        last = stored
    if last is None or not (timedelta(0) <= now - last[0] < kept):
        last = memo["counts"] = (now, alerts.counts(alerts.compute()))
    at, found = last
    return [AlertCount(kind, label, anchor, found[kind])
            for kind, (label, anchor) in ALERT_KINDS.items() if found.get(kind)], at


def warnings(run: LastRun | None, checkpoint: autocheckpoint.Status, now: datetime) -> list[str]:
    """What needs the auditor now, as codes (the partial words them)."""
    out = []
    if run is None:
        out.append("never_verified")
    elif not run.ok:
        out.append("verification_failed")
    elif now - run.at > VERIFY_MAX_AGE:
        out.append("verification_old")
    if checkpoint.state == "missing":
        out.append("checkpoint_missing")
    elif checkpoint.state == "stale" or (checkpoint.age or timedelta(0)) > CHECKPOINT_MAX_AGE:
        out.append("checkpoint_old")
    return out


@hooks.home_panels.subscribe
def auditor_panels(user: Any) -> list[Panel]:
    """The trail's state, for those who read the audit trail (auditors)."""
    if not can(user, Permission.AUDIT_READ):
        return []
    now = utcnow()
    zone = user_zone(user)
    # The week as the events search takes it: from a local minute, so its link lists the same.
    since_local = (now - timedelta(days=BREAK_GLASS_DAYS)).astimezone(zone).replace(
        second=0, microsecond=0, tzinfo=None)
    checkpoint = autocheckpoint.refresh()
    run = last_run()
    kinds, counted_at = alert_counts()
    return [Panel("audit", _l("Audit trail"), "audit/home_auditor.html", {
        "alerts": kinds, "open_alerts": sum(k.count for k in kinds),
        "alerts_counted_at": counted_at if counted_at < now else None,
        "decryption": next((k.count for k in kinds if k.kind == "decryption"), 0),
        "run": run, "checkpoint": checkpoint,
        "break_glass": break_glass_since(from_local(since_local, zone)),
        "break_glass_since": since_local.strftime("%Y-%m-%dT%H:%M"),
        "break_glass_days": BREAK_GLASS_DAYS, "break_glass_action": Action.BREAK_GLASS_OPEN.value,
        "warnings": warnings(run, checkpoint, now),
        "verify_days": VERIFY_MAX_AGE.days,
        "checkpoint_hours": int(CHECKPOINT_MAX_AGE.total_seconds() // 3600),
        "lookback_hours": int(alerts.setting("AUDIT_ALERT_LOOKBACK_HOURS")),
    }, order=10)]
