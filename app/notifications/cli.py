"""``flask notify``: the notification timer's commands (run every few minutes by a systemd timer
or cron, README *Notifications by email*).

- ``scan``: notifications that come due with time alone (``hooks.notification_due``).
- ``send``: ``scan``, then the emails that are due, then ``prune`` (the timer's job: one run at a
  time across every host, ``app.jobs``; each email is also claimed before it is sent).
- ``prune``: old notifications and old sent or failed emails.

Each prints counts only: never an address, a name or a case number.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.clock import utcnow
from app.core import hooks
from app.db import db, transaction
from app.dbsetup import require_current_schema
from app.extensions import real_app
from app.jobs import finished, job_lock, skipped
from app.notifications import email, service
from app.notifications.models import Notification

notify_cli = AppGroup("notify", help="Notifications: time-based ones, email, pruning.")


def _scan(now: datetime) -> int:
    with transaction():
        hooks.notification_due.emit(now=now)
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.created_at >= now)) or 0


def _prune(now: datetime) -> tuple[int, int]:
    with transaction():
        return service.prune(now), email.prune_outbox(now)


@notify_cli.command("scan")
def scan() -> None:
    """Add the notifications that come due with time alone (the urgent clinical window)."""
    require_current_schema(real_app())
    click.echo(f"notifications added: {_scan(utcnow())}")


@notify_cli.command("send")
def send() -> None:
    """Scan, send the emails that are due (if email is set up), then prune."""
    with job_lock("notify-send") as got:  # first: on SQLite any transaction takes the write lock
        if not got:
            skipped("notify-send")
            return
        require_current_schema(real_app())
        now = utcnow()
        added = _scan(now)
        summary = email.send_due(now)
        notes, mails = _prune(now)
        finished("notify-send", {"added": added, "sent": summary.sent, "skipped": summary.skipped,
                                 "retrying": summary.retrying, "failed": summary.failed})
    state = "" if email.enabled() else " (email is off: AMANA_SMTP_HOST is not set)"
    click.echo(f"notifications added: {added}; emails sent: {summary.sent}, skipped: "
               f"{summary.skipped}, to retry: {summary.retrying}, failed: {summary.failed}{state}; "
               f"pruned: {notes} notification(s), {mails} email record(s)")


@notify_cli.command("prune")
def prune() -> None:
    """Delete old notifications (read after 30 days, any after 90) and old email records."""
    require_current_schema(real_app())
    notes, mails = _prune(utcnow())
    click.echo(f"pruned: {notes} notification(s), {mails} email record(s)")
