"""Optional email: "there are N new items in Amana", a link to the login page, nothing more.

A user who opted in (``users.email_notify``, the address sealed in ``users.email_sealed``) is
told by email that there is something new, never what: no case number, no kind, no name. The
message is queued (``email_outbox``) in the transaction that made the notifications
(``announce``, called by ``service.notify``) and sent later by ``flask notify send`` (a timer),
so a slow or absent mail server never slows or fails a request.

- **Coalesced**: while a message to a user is pending (or being sent) no other is queued (a
  partial unique index holds even for two requests at once), and N is counted when it is sent:
  the unread notifications then (an item arriving while it goes out is seen at sign-in). None
  left (read in the meantime): nothing is sent. A user is written to at most once every
  ``MIN_GAP_MINUTES``.
- **Sent once**: a runner claims a due message with a conditional update (``pending`` →
  ``sending``, committed before the server is contacted), so two runners never send the same
  one. A message left ``sending`` by a crashed run is due again after ``LEASE_MINUTES``.
- **Retried**: a failure is recorded as a short code (``Failure``, never the server's words or
  the address) and tried again after ``BACKOFF_MINUTES``; after ``MAX_ATTEMPTS`` it is
  ``failed``.
- The address is sealed like the TOTP secret (AES-GCM under the ``account-secrets`` system key,
  bound to the user's id) and never logged.
"""

from __future__ import annotations

import enum
import logging
import re
import smtplib
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as Mail
from email.utils import format_datetime, make_msgid

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.actions import ObjectType
from app.auth.models import User
from app.clock import utcnow
from app.crypto.aead import SealError, open_sealed, seal
from app.crypto.envelope import system_key
from app.crypto.failures import failed
from app.db import db, transaction
from app.jobs import progress
from app.notifications.models import EmailMessage, Notification

log = logging.getLogger(__name__)

SYSTEM_KEY = "account-secrets"   # the key of the TOTP secrets (app.auth.mfa): account secrets
ADDRESS_MAX = 254                # RFC 5321's limit on a forward path
# Minutes to wait after the 1st, 2nd, ... failed attempt (the last repeats); then ``failed``.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720)
MAX_ATTEMPTS = 8                 # about 22 hours of trying
LEASE_MINUTES = 15               # a message still "sending" after this was left by a crash
MIN_GAP_MINUTES = 30             # at most one email per user in this time
BATCH = 200                      # messages one run sends at most
KEEP_DAYS = 30                   # sent and failed messages are deleted after this

# One address, as a person types it: no spaces, quotes, brackets or commas (nothing a header
# could be split on), one @, a dot in the domain.
_ADDRESS_RE = re.compile(r"[^@\s<>()\[\]\\,;:\"]{1,64}@[^@\s<>()\[\]\\,;:\"]+\.[^@\s<>()\[\]\\,;:\".]+")


class Status(enum.StrEnum):
    """Where a message is (stored codes)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


OPEN = (Status.PENDING, Status.SENDING)   # at most one such message per user


class Failure(enum.StrEnum):
    """Why the last attempt did not send (``last_error``), or why nothing was sent (stored codes).

    Codes only: the server's reply can quote the address, so it is never kept."""

    CONNECT = "connect"          # no answer: refused, unknown host, timed out, cut off
    TLS = "tls"                  # STARTTLS refused or the certificate did not verify
    AUTH = "auth"                # the server refused the user name and password
    REFUSED = "refused"          # the server refused the sender or the recipient
    SERVER = "server"            # any other SMTP error
    NO_ADDRESS = "no_address"    # the sealed address does not open
    NOTHING_NEW = "nothing_new"  # nothing unread any more: not sent
    OPTED_OUT = "opted_out"      # the user turned the email off (or the account is inactive)


class Undelivered(Exception):
    """One attempt failed; ``code`` says why in a word."""

    def __init__(self, code: Failure) -> None:
        super().__init__(str(code))
        self.code = code


@dataclass
class Summary:
    """What one run did (counts only, for the timer's log)."""

    sent: int = 0
    skipped: int = 0      # nothing new, or the user opted out
    retrying: int = 0
    failed: int = 0
    lost: int = 0         # claimed by another runner first


def enabled() -> bool:
    """Whether this instance can send email (``AMANA_SMTP_HOST`` is set)."""
    return bool(current_app.config.get("SMTP_HOST"))


def valid_address(text: str) -> bool:
    """Whether ``text`` looks like one email address (nothing that could break a header)."""
    return len(text) <= ADDRESS_MAX and _ADDRESS_RE.fullmatch(text) is not None


# --- The address, sealed ------------------------------------------------------------------------

def _aad(user: User) -> bytes:
    return f"users|{user.id}|email".encode()


def address_of(user: User) -> str | None:
    """The user's address, or None (none given, or it does not open: tampered with or moved
    from another account). A sealed address that does not open is noted for the audit trail as
    a failed decryption (``app.crypto.failures``: written when the request or command ends), so
    the auditor sees it among the records that could not be read; the user is simply not
    emailed and may give the address again."""
    if user.email_sealed is None:
        return None
    try:
        return open_sealed(system_key(SYSTEM_KEY), user.email_sealed, _aad(user)).decode()
    except SealError:
        failed(ObjectType.USER, user.id, "email:auth_failed")
        return None


def set_preference(user: User, *, wanted: bool, address: str | None) -> None:
    """Turn the email on or off for ``user``, with ``address`` (sealed; None or "" forgets it).
    Turning it off drops the message waiting to be sent. In the caller's transaction."""
    if address:
        if address != address_of(user):
            user.email_sealed = seal(system_key(SYSTEM_KEY), address.encode(), _aad(user))
    else:
        user.email_sealed = None
    user.email_notify = bool(wanted and address)
    if not user.email_notify:
        db.session.execute(delete(EmailMessage).where(EmailMessage.user_id == user.id,
                                                      EmailMessage.status == Status.PENDING))
        # (one a runner is sending at this moment may still go out: it read the setting)


# --- Queueing -----------------------------------------------------------------------------------

def announce(user_ids: Iterable[uuid.UUID]) -> int:
    """Queue one message for each of ``user_ids`` who opted in and has none waiting. In the
    caller's transaction (no mail server is contacted); returns how many were queued."""
    if not enabled():
        return 0
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    wanting = set(db.session.scalars(select(User.id).where(
        User.id.in_(ids), User.email_notify.is_(True), User.email_sealed.is_not(None),
        User.active.is_(True))))
    if not wanting:
        return 0
    waiting = set(db.session.scalars(select(EmailMessage.user_id).where(
        EmailMessage.user_id.in_(wanting), EmailMessage.status.in_(OPEN))))
    now = utcnow()
    last_sent: dict[uuid.UUID, datetime | None] = {
        row.user_id: row.last for row in db.session.execute(
            select(EmailMessage.user_id, func.max(EmailMessage.sent_at).label("last")).where(
                EmailMessage.user_id.in_(wanting), EmailMessage.status == Status.SENT,
                EmailMessage.last_error.is_(None)).group_by(EmailMessage.user_id))}
    queued = 0
    for user_id in sorted(wanting - waiting):
        last = last_sent.get(user_id)
        due = max(now, last + timedelta(minutes=MIN_GAP_MINUTES)) if last else now
        try:
            with db.session.begin_nested():
                db.session.add(EmailMessage(user_id=user_id, status=Status.PENDING, attempts=0,
                                            next_attempt_at=due, created_at=now))
        except IntegrityError:
            continue  # another request queued one a moment ago: one is enough
        queued += 1
    return queued


# --- Sending ------------------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return timedelta(minutes=BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1])


def login_url() -> str:
    """The login page at the instance's public address (``AMANA_PUBLIC_URL``)."""
    path = current_app.url_map.bind("localhost").build("auth.login")
    return f"{str(current_app.config['PUBLIC_URL']).rstrip('/')}{path}"


def compose(address: str, count: int, language: str) -> Mail:
    """The message: how many new items, and where to sign in. Nothing else, in the user's
    language."""
    url = login_url()
    with force_locale(language or "en"):
        subject = ngettext("Amana: %(num)d new item", "Amana: %(num)d new items", count)
        body = "\n\n".join([
            ngettext("There is %(num)d new item for you in Amana.",
                     "There are %(num)d new items for you in Amana.", count),
            _("Sign in to see it:") if count == 1 else _("Sign in to see them:"),
            url,
            _("This email says nothing more on purpose. To stop these emails, sign in and open "
              "Notifications, then Email."),
        ])
    sender = str(current_app.config["MAIL_FROM"])
    mail = Mail()
    mail["Subject"] = str(subject)
    mail["From"] = sender
    mail["To"] = address
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(body + "\n")
    return mail


def deliver(mail: Mail) -> None:
    """Hand ``mail`` to the SMTP server; raises ``Undelivered`` with a code, never the reply."""
    cfg = current_app.config
    try:
        with smtplib.SMTP(str(cfg["SMTP_HOST"]), int(cfg["SMTP_PORT"]),
                          timeout=float(cfg.get("SMTP_TIMEOUT", 20))) as smtp:
            if cfg.get("SMTP_STARTTLS", True):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("SMTP_USER"):
                smtp.login(str(cfg["SMTP_USER"]), str(cfg["SMTP_PASSWORD"]))
            smtp.send_message(mail)
    # (smtplib's errors are OSErrors: the specific ones first)
    except smtplib.SMTPAuthenticationError:
        raise Undelivered(Failure.AUTH) from None
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused):
        raise Undelivered(Failure.REFUSED) from None
    except (smtplib.SMTPNotSupportedError, ssl.SSLError, ssl.CertificateError):
        raise Undelivered(Failure.TLS) from None
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected):
        raise Undelivered(Failure.CONNECT) from None
    except smtplib.SMTPException:
        raise Undelivered(Failure.SERVER) from None
    except OSError:  # refused, unknown host, timed out
        raise Undelivered(Failure.CONNECT) from None


def claim(message_id: uuid.UUID, now: datetime) -> bool:
    """Take a due message for this runner (committed): ``sending``, one more attempt, and a lease
    until ``now + LEASE_MINUTES``. False when another runner took it first."""
    with transaction():
        result = db.session.execute(
            update(EmailMessage).where(
                EmailMessage.id == message_id,
                EmailMessage.status.in_(OPEN), EmailMessage.next_attempt_at <= now)
            .values(status=Status.SENDING, attempts=EmailMessage.attempts + 1,
                    next_attempt_at=now + timedelta(minutes=LEASE_MINUTES))
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0) == 1


def _finish(message_id: uuid.UUID, now: datetime, *, status: Status,
            code: Failure | None = None, retry_at: datetime | None = None) -> None:
    values: dict[str, object] = {"status": status, "last_error": code}
    if status is Status.SENT:
        values["sent_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    with transaction():
        db.session.execute(update(EmailMessage).where(
            EmailMessage.id == message_id, EmailMessage.status == Status.SENDING).values(**values)
            .execution_options(synchronize_session=False))


def _unread(user_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def send_one(message_id: uuid.UUID, now: datetime) -> str:
    """Send one claimed message; returns ``sent``, ``skipped``, ``retrying`` or ``failed``."""
    with transaction():
        message = db.session.get(EmailMessage, message_id)
        user = db.session.get(User, message.user_id) if message is not None else None
        if message is None or user is None:
            return "skipped"
        attempts = message.attempts
        wanted = user.email_notify and user.active
        address = address_of(user) if wanted else None
        count = _unread(user.id) if wanted else 0
        language = user.language
    if not wanted:
        _finish(message_id, now, status=Status.SENT, code=Failure.OPTED_OUT)
        return "skipped"
    if count == 0:
        _finish(message_id, now, status=Status.SENT, code=Failure.NOTHING_NEW)
        return "skipped"
    try:
        if address is None or not valid_address(address):
            raise Undelivered(Failure.NO_ADDRESS)
        deliver(compose(address, count, language))
    except Undelivered as exc:
        log.warning("email %s not sent (attempt %d): %s", message_id, attempts, exc.code)
        if attempts >= MAX_ATTEMPTS or exc.code is Failure.NO_ADDRESS:
            _finish(message_id, now, status=Status.FAILED, code=exc.code)
            return "failed"
        _finish(message_id, now, status=Status.PENDING, code=exc.code,
                retry_at=now + backoff(attempts))
        return "retrying"
    _finish(message_id, now, status=Status.SENT)
    return "sent"


def send_due(now: datetime | None = None) -> Summary:
    """Send every message due at ``now`` (pending, or left ``sending`` by a crash), each claimed
    first so that no other runner sends it too. Commits as it goes."""
    now = now or utcnow()
    summary = Summary()
    if not enabled():
        return summary
    with transaction():
        due = list(db.session.scalars(
            select(EmailMessage.id)
            .where(EmailMessage.status.in_(OPEN), EmailMessage.next_attempt_at <= now)
            .order_by(EmailMessage.next_attempt_at, EmailMessage.id).limit(BATCH)))
    with progress(due, "Sending emails") as messages:  # a bar only when run by hand
        for message_id in messages:
            if not claim(message_id, now):
                summary.lost += 1
                continue
            outcome = send_one(message_id, now)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
    if due:
        log.info("email: %d sent, %d skipped, %d to retry, %d failed", summary.sent,
                 summary.skipped, summary.retrying, summary.failed)
    return summary


def prune_outbox(now: datetime | None = None) -> int:
    """Delete sent and failed messages older than ``KEEP_DAYS``. In the caller's transaction."""
    now = now or utcnow()
    result = db.session.execute(delete(EmailMessage).where(
        EmailMessage.status.in_([Status.SENT, Status.FAILED]),
        EmailMessage.created_at < now - timedelta(days=KEEP_DAYS)))
    return int(getattr(result, "rowcount", 0) or 0)
