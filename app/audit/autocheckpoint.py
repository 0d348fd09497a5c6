"""Automatic checkpoints: the chain head is signed every N events and every T minutes.

Two rules, whichever comes first (``AUDIT_CHECKPOINT_EVENTS``, default 1000, and
``AUDIT_CHECKPOINT_MINUTES``, default 15):

- the writer tells ``appended`` each sequence number it writes; a multiple of N marks the
  session, and once that transaction has committed (``after_commit``) the committed head is
  signed;
- at the end of any request or command that appended to the trail, the head is signed if the
  newest checkpoint is older than T. The time of the newest checkpoint is kept in this process's
  memory, so the usual answer costs a comparison; only when it looks stale is the log's tail
  read again (another process may have written one since). If another process is appending
  right then, the time rule does not wait for it.

Both rules run on the request path by default, so an instance without timers (``make run``) is
checkpointed too; the cost there is a comparison per request, and once every N events or T
minutes one request signs, appends and syncs a line (and writes the mirror). A deployment with
the checkpoint timer (``flask audit checkpoint --if-due`` every few minutes, ``deploy/``) sets
``AMANA_AUDIT_CHECKPOINT_IN_REQUESTS=false``: both rules then run in the timer alone (rule
``timer``: the head is signed when the newest checkpoint is older than T or N events behind), and
no request ever waits for the log, a slow mirror or a full disk.

Automatic checkpoints do not walk the chains (``flask audit checkpoint`` verifies the whole trail
first). They read every chain's committed head fresh and sign them all only if each is stored as
an event of its chain, is not behind what the newest checkpoint in the log names for that chain
and continues it (the event that checkpoint names still has its MAC); otherwise the trail was
cut or rewritten, and signing would vouch for that.

A checkpoint that cannot be written never fails the request or command that triggered it: one
line goes to the log (no personal data) and the next attempt waits ``RETRY_SECONDS``; the
verification page and the alerts show the newest checkpoint's age, so a missing or stale one is
seen (``status``). Checkpoints go to ``app.audit.checkpoint_log``: the file in the instance folder
and the optional mirror. They are not events in the trail (an event would move the head past
the checkpoint that records it).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.audit import checkpoint_log
from app.audit.checkpoint import Checkpoint, key_id, make_line, signing_key
from app.audit.checkpoint import top as highest
from app.clock import utcnow
from app.db import db
from app.extensions import real_app

log = logging.getLogger("amana.audit")

DUE = "amana_audit_checkpoint_due"   # session.info: a multiple of N was written
APPENDED = "amana_audit_appended"    # g: this request or command wrote to the trail
RETRY_SECONDS = 60
STALE_FACTOR = 2                     # older than 2 x T: something stops checkpoints
DEFAULT_EVENTS = 1000
DEFAULT_MINUTES = 15

_HEADS = ("SELECT h.id, h.seq, h.mac, e.mac, e.chain FROM audit_head h "
          "LEFT JOIN audit_events e ON e.seq = h.seq ORDER BY h.id")
_MAC_AT = "SELECT mac, chain FROM audit_events WHERE seq = {}"
Heads = list[tuple[int, int, bytes]]


class Refused(RuntimeError):
    """The head is not fit to sign: the trail was cut or rewritten below the application."""


@dataclass
class _Known:
    """What this process knows of one log: the newest checkpoint's time, the last failure."""

    newest: datetime | None = None
    failed: datetime | None = None


_known: dict[str, _Known] = {}


def log_path(app: Flask | None = None) -> Path:
    """The checkpoint log of this instance."""
    return Path((app or current_app).config["AUDIT_CHECKPOINT_FILE"])


def minutes(app: Flask | None = None) -> int:
    """T: the longest wait between checkpoints while the trail is written."""
    return int((app or current_app).config.get("AUDIT_CHECKPOINT_MINUTES", DEFAULT_MINUTES))


def _every(app: Flask) -> int:
    return int(app.config.get("AUDIT_CHECKPOINT_EVENTS", DEFAULT_EVENTS))


def in_requests(app: Flask) -> bool:
    """Whether the two rules run on the request path (no checkpoint timer installed)."""
    return bool(app.config.get("AUDIT_CHECKPOINT_IN_REQUESTS", True))


def appended(seq: int) -> None:
    """Called by the writer for each event it appends (in the caller's transaction)."""
    g.setdefault(APPENDED, True)
    if seq % _every(current_app) == 0 and in_requests(current_app):
        db.session.info[DUE] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(DUE, False) and has_app_context():
        write_safely(real_app(), "events")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(DUE, None)


class _Reader:
    """Plain reads on a driver connection: no BEGIN, so no SQLite write lock is waited for
    (the request that triggers a checkpoint may still hold one)."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw, self.mark = raw, "?" if dialect == "sqlite" else "%s"

    def one(self, sql: str, *params: Any) -> Any:
        cur = self.raw.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchone()
        finally:
            cur.close()

    def heads(self) -> Heads:
        """(chain, seq, mac) of every chain holding events, each checked against its event."""
        cur = self.raw.cursor()
        try:
            cur.execute(_HEADS)
            rows = cur.fetchall()
        finally:
            cur.close()
        if not rows:
            raise Refused("the audit head is missing")
        heads: Heads = []
        for chain, seq, mac, event_mac, event_chain in rows:
            if not seq:
                continue
            if event_mac is None or bytes(event_mac) != bytes(mac) or event_chain != chain:
                raise Refused(f"the head of chain {chain} names event {seq}, which is not "
                              "stored as the head says")
            heads.append((int(chain), int(seq), bytes(mac)))
        return heads

    def check_continues(self, heads: Heads, top: Checkpoint) -> None:
        now = {chain: seq for chain, seq, _mac in heads}
        for chain, seq, mac in top.chain_heads:
            if now.get(chain, 0) < seq:
                raise Refused(f"the head of chain {chain} ({now.get(chain, 0)}) is behind the "
                              f"newest checkpoint ({seq}); run 'flask audit verify'")
            stored = self.one(_MAC_AT.format(self.mark), seq)
            if stored is None or bytes(stored[0]) != mac or stored[1] != chain:
                raise Refused(f"event {seq} differs from its checkpoint; run 'flask audit verify'")


def write(app: Flask, rule: str) -> Checkpoint | None:
    """Sign the committed head and append it to the log (and the mirror).

    ``rule`` is ``events`` (a multiple of N was committed; nothing is written if that head is
    signed already), ``time`` (the newest checkpoint is older than T; nothing is written if
    another process wrote one meanwhile) or ``timer`` (both at once, for the checkpoint timer:
    nothing is written unless the newest checkpoint is older than T or N events behind).
    Returns what was written, or None. Raises ``Refused``, ``OSError`` or a database error;
    ``write_safely`` is the form that never raises.
    """
    now = utcnow()
    path = log_path(app)
    seed = app.config["KEY_AUDIT_SIGNING"]
    public = signing_key(seed).public_key()
    known = _known.setdefault(str(path), _Known())
    with ExitStack() as stack:
        try:
            locked = stack.enter_context(checkpoint_log.locked(path, wait=rule != "time"))
        except BlockingIOError:
            return None  # another process is writing one right now
        tail = checkpoint_log.parse(locked.tail(), public, path)
        newest = tail.newest()
        known.newest = newest.time if newest else None
        if rule == "time" and newest is not None and now - newest.time < timedelta(
                minutes=minutes(app)):
            return None
        raw = db.engine.raw_connection()
        try:
            reader = _Reader(raw.driver_connection, db.engine.dialect.name)
            heads = reader.heads()
            top = max(tail.checkpoints, key=lambda c: (c.seq, c.time), default=None)
            if top is not None:
                reader.check_continues(heads, top)
        finally:
            raw.close()
        seq, mac = highest(heads)
        if seq == 0 or (rule == "events" and top is not None
                        and set(top.chain_heads) == set(heads)):
            return None  # nothing written yet, or already signed
        if rule == "timer" and newest is not None and top is not None and (
                now - newest.time < timedelta(minutes=minutes(app))
                and seq - top.seq < _every(app)):
            return None  # fresh enough by both rules
        line = make_line(seed, seq, mac, now, heads=heads)
        locked.append(line)
    known.newest, known.failed = now, None
    _mirror(app, seq, line)
    return Checkpoint(seq, mac, now, key_id(public), tuple(heads))


def _mirror(app: Flask, seq: int, line: str) -> None:
    destination = str(app.config.get("AUDIT_CHECKPOINT_MIRROR") or "")
    if destination:
        try:
            checkpoint_log.mirror(destination, line)
        except OSError as exc:
            log.warning("Audit checkpoint of event %d not copied to the mirror: %s", seq,
                        exc.strerror or exc.__class__.__name__)


def append_signed(app: Flask, heads: Heads, at: datetime) -> None:
    """Add a checkpoint of ``heads`` made by ``flask audit checkpoint`` (after a full
    verification) to the log and the mirror. Raises ``OSError`` when the log cannot be
    written."""
    seq, mac = highest(heads)
    line = make_line(app.config["KEY_AUDIT_SIGNING"], seq, mac, at, heads=heads)
    checkpoint_log.append(log_path(app), line)
    known = _known.setdefault(str(log_path(app)), _Known())
    known.newest = max(at, known.newest) if known.newest else at
    _mirror(app, seq, line)


def describe(exc: BaseException) -> str:
    """Why a checkpoint was not written, in one line without personal data."""
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.__class__.__name__}: {exc.strerror or 'unknown error'}"
    return exc.__class__.__name__


def write_safely(app: Flask, rule: str) -> Checkpoint | None:
    """``write`` that logs one line instead of raising: a checkpoint never fails a request."""
    known = _known.setdefault(str(log_path(app)), _Known())
    try:
        return write(app, rule)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the user's action stands
        known.failed = utcnow()
        log.warning("Audit checkpoint not written (%s rule): %s", rule, describe(exc))
        return None


def due(app: Flask) -> bool:
    """Whether the time rule may need a checkpoint (no database or file access when not)."""
    known = _known.get(str(log_path(app)))
    if known is None:
        return True
    now = utcnow()
    if known.failed is not None and now - known.failed < timedelta(seconds=RETRY_SECONDS):
        return False
    return known.newest is None or now - known.newest >= timedelta(minutes=minutes(app))


def on_time(app: Flask) -> Checkpoint | None:
    """The time rule: sign the head if the newest checkpoint is older than T (on the request
    path only while no timer does it)."""
    return write_safely(app, "time") if in_requests(app) and due(app) else None


def _end_of_request(exc: BaseException | None) -> None:
    if g.get(APPENDED):
        on_time(real_app())


def _end_of_context(exc: BaseException | None) -> None:
    # Requests are handled above; here only commands (a click context) that wrote events.
    if g.get(APPENDED) and click.get_current_context(silent=True) is not None:
        g.pop(APPENDED, None)
        on_time(real_app())


def install(app: Flask) -> None:
    """Run the time rule at the end of each request and command that wrote to the trail."""
    app.teardown_request(_end_of_request)
    app.teardown_appcontext(_end_of_context)


@dataclass(frozen=True)
class Status:
    """The newest checkpoint outside the database, for the verification page and alerts."""

    newest: Checkpoint | None
    age: timedelta | None
    minutes: int
    mirror: str
    unreadable: bool = False

    @property
    def state(self) -> str:
        """``missing``, ``stale`` (older than twice T) or ``ok``."""
        if self.newest is None or self.age is None:
            return "missing"
        return "stale" if self.age > timedelta(minutes=STALE_FACTOR * self.minutes) else "ok"

    @property
    def age_minutes(self) -> int:
        """The newest checkpoint's age in whole minutes."""
        return int(self.age.total_seconds() // 60) if self.age is not None else 0


def status(app: Flask | None = None) -> Status:
    """How old the newest checkpoint in the log is (read from the log's tail)."""
    app = app or real_app()
    public = signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key()
    mirror = str(app.config.get("AUDIT_CHECKPOINT_MIRROR") or "")
    try:
        tail = checkpoint_log.read_tail(log_path(app), public)
    except OSError:
        return Status(None, None, minutes(app), mirror, unreadable=True)
    newest = tail.newest()
    age = max(utcnow() - newest.time, timedelta(0)) if newest else None
    return Status(newest, age, minutes(app), mirror)


def refresh(app: Flask | None = None) -> Status:
    """Apply the time rule now, then say how old the newest checkpoint is (auditor pages)."""
    app = app or real_app()
    on_time(app)
    return status(app)


def forget() -> None:
    """Drop what this process remembers of every log (tests)."""
    _known.clear()
