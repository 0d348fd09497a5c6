"""The optional email of new items (``app.notifications.email``), against a real SMTP server on
localhost (aiosmtpd): it says how many and links to the login page, nothing else; it is queued
in the request and sent by the timer; it survives an outage and is sent once; two runners
never send the same message; the address is sealed; without settings nothing happens."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.auth.models import User
from app.clock import utcnow
from app.config import ConfigError, build_config
from app.crypto.failures import flush_failures
from app.db import db, transaction
from app.notifications import email, service
from app.notifications.kinds import TEXTS, Kind
from app.notifications.models import EmailMessage
from tests.helpers.apps import BACKEND, START
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from
from tests.helpers.login import Auth
from tests.helpers.mail import LOGIN_URL, SmtpServer, free_port, use_smtp
from tests.helpers.notifications import ADDRESS, opt_in, tell
from tests.helpers.notifications import uid as _uid


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mail_app(app: Flask, port: int) -> Flask:
    use_smtp(app, port)
    return app


@pytest.fixture
def server(port: int) -> Iterator[SmtpServer]:
    s = SmtpServer(port).start()
    yield s
    s.stop()


def outbox(app: Flask) -> list[EmailMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(EmailMessage).order_by(EmailMessage.created_at,
                                                                     EmailMessage.id)))
        db.session.expunge_all()
        return rows


def send(app: Flask, now: datetime | None = None) -> email.Summary:
    """One run of the timer at ``now`` (the frozen clock's time by default)."""
    with app.app_context():
        return email.send_due(now or utcnow())


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


# --- What the email says -------------------------------------------------------------------------

def test_opt_in_on_the_page_then_one_email_that_says_only_how_many(mail_app, world, auth: Auth,
                                                                   server):
    c = auth.login("caseworker")
    page = c.get("/notifications/email")
    assert page.status_code == 200 and b'name="address"' in page.data
    resp = c.post("/notifications/email", data={"notify": "y", "address": ADDRESS,
                                                 "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 302
    assert Action.NOTIFICATION_EMAIL_VIEW in actions(mail_app)
    assert actions(mail_app)[-1] == Action.NOTIFICATION_EMAIL_ON
    page = c.get("/notifications/email").get_data(as_text=True)
    assert f'value="{ADDRESS}"' in page and "checked" in page   # shown back to its owner

    tell(mail_app, world, kind=Kind.REFERRAL_NEW_URGENT, case="case_own")
    assert [(m.user_id, m.status) for m in outbox(mail_app)] == [(_uid(world, "caseworker"),
                                                                  "pending")]
    assert server.received == []          # nothing sent inside the request
    summary = send(mail_app)
    assert (summary.sent, summary.retrying, summary.failed) == (1, 0, 0)
    assert len(server.received) == 1
    got = server.received[0]
    assert got.recipients == [ADDRESS] and got.sender == "amana@example.org"
    assert got.subject == "Amana: 1 new item"
    assert "There is 1 new item for you in Amana." in got.body and LOGIN_URL in got.body
    everything = got.raw.decode("utf-8", "replace")
    forbidden = [*world.case_numbers.values(), *CANARY.values(), *(str(t) for t in TEXTS.values()),
                 "Test caseworker", "caseworker", "referral", "Referral", "urgent", "Urgent",
                 world.ids["case_own"]]
    assert [f for f in forbidden if f in everything] == []
    assert [m.status for m in outbox(mail_app)] == ["sent"]
    # a second run sends nothing more
    assert send(mail_app, utcnow() + timedelta(hours=1)).sent == 0 and len(server.received) == 1


def test_several_notifications_make_one_message_counted_when_sent(mail_app, world, server, frozen):
    opt_in(mail_app, world)
    tell(mail_app, world, kind=Kind.CASE_ASSIGNED, case="case_own")
    tell(mail_app, world, kind=Kind.PLAN_APPROVED, case="case_own")
    tell(mail_app, world, kind=Kind.CLOSURE_SENT_BACK, case="case_other")
    assert len(outbox(mail_app)) == 1            # three notifications, one message
    assert send(mail_app, START).sent == 1
    assert [m.subject for m in server.received] == ["Amana: 3 new items"]
    assert "There are 3 new items for you in Amana." in server.received[0].body

    # One more a minute later: queued, but not sent before MIN_GAP_MINUTES after the last one.
    frozen.advance(minutes=1)
    tell(mail_app, world, kind=Kind.REFERRAL_ANSWERED, case="case_own")
    queued = [m for m in outbox(mail_app) if m.status == "pending"]
    assert [m.next_attempt_at for m in queued] == [START + timedelta(minutes=30)]
    assert send(mail_app, START + timedelta(minutes=29)).sent == 0
    assert send(mail_app, START + timedelta(minutes=30)).sent == 1
    assert [m.subject for m in server.received] == ["Amana: 3 new items", "Amana: 4 new items"]


def test_nothing_unread_when_due_sends_nothing(mail_app, world, server):
    opt_in(mail_app, world)
    tell(mail_app, world)
    with mail_app.app_context(), transaction():
        assert service.mark_all_read(_uid(world, "caseworker")) == 1
    summary = send(mail_app, START)
    assert (summary.sent, summary.skipped) == (0, 1) and server.received == []
    assert [(m.status, m.last_error) for m in outbox(mail_app)] == [("sent", "nothing_new")]


def test_only_those_who_opted_in_are_written_to(mail_app, world, server):
    opt_in(mail_app, world, "caseworker")
    tell(mail_app, world, "caseworker")
    tell(mail_app, world, "caseworker2", case="case_other")   # never opted in
    assert [m.user_id for m in outbox(mail_app)] == [_uid(world, "caseworker")]
    assert send(mail_app, START).sent == 1 and len(server.received) == 1


def test_turning_it_off_forgets_the_address_and_the_waiting_message(mail_app, world, auth):
    opt_in(mail_app, world)
    tell(mail_app, world)
    assert len(outbox(mail_app)) == 1
    c = auth.login("caseworker")
    resp = c.post("/notifications/email", data={"address": "",
                                                 "csrf_token": auth.csrf(c, "/notifications/email")})
    assert resp.status_code == 302
    with mail_app.app_context():
        user = db.session.get(User, _uid(world, "caseworker"))
        assert (user.email_notify, user.email_sealed) == (False, None)
    assert outbox(mail_app) == []
    assert actions(mail_app)[-1] == Action.NOTIFICATION_EMAIL_OFF
    tell(mail_app, world)
    assert outbox(mail_app) == []


# --- Outages, retries, races ---------------------------------------------------------------------

def test_smtp_outage_leaves_requests_alone_then_the_message_goes_once(mail_app, world, auth, port):
    opt_in(mail_app, world)
    c = auth.login("caseworker")
    tell(mail_app, world)                                   # no server on the port
    assert c.get("/notifications/").status_code == 200     # the requests do not notice
    assert c.get("/notifications/email").status_code == 200
    assert c.get("/").status_code == 200
    [queued] = outbox(mail_app)
    assert (queued.status, queued.attempts) == ("pending", 0)

    t0 = utcnow()
    first = send(mail_app, t0)
    assert (first.sent, first.retrying) == (0, 1)
    [m] = outbox(mail_app)
    assert (m.status, m.attempts, m.last_error) == ("pending", 1, "connect")
    assert m.next_attempt_at == t0 + timedelta(minutes=1)
    assert send(mail_app, t0 + timedelta(seconds=59)).retrying == 0   # not due yet
    assert send(mail_app, t0 + timedelta(minutes=1)).retrying == 1
    [m] = outbox(mail_app)
    assert (m.attempts, m.next_attempt_at) == (2, t0 + timedelta(minutes=1 + 5))

    server = SmtpServer(port).start()
    try:
        assert send(mail_app, t0 + timedelta(minutes=6)).sent == 1
        assert send(mail_app, t0 + timedelta(days=1)).sent == 0
        assert len(server.received) == 1 and server.received[0].subject == "Amana: 1 new item"
    finally:
        server.stop()
    [m] = outbox(mail_app)
    assert (m.status, m.attempts, m.last_error) == ("sent", 3, None)


def test_failed_after_the_last_attempt_with_growing_waits(mail_app, world):
    opt_in(mail_app, world)
    tell(mail_app, world)
    now, waits = START, []
    for _ in range(email.MAX_ATTEMPTS):
        send(mail_app, now)
        [m] = outbox(mail_app)
        if m.status == "failed":
            break
        waits.append(m.next_attempt_at - now)
        now = m.next_attempt_at
    # 1, 5, 15, 60, 180, 360, 720 minutes after attempts 1 to 7; the 8th fails for good
    assert [int(w.total_seconds() // 60) for w in waits] == [1, 5, 15, 60, 180, 360, 720]
    assert (m.status, m.attempts, m.last_error) == ("failed", 8, "connect")
    assert send(mail_app, now + timedelta(days=2)).retrying == 0
    # a later notification starts a new message
    tell(mail_app, world)
    assert sorted(x.status for x in outbox(mail_app)) == ["failed", "pending"]


def test_two_runners_never_send_the_same_message(mail_app, world, server):
    opt_in(mail_app, world)
    tell(mail_app, world)
    [m] = outbox(mail_app)
    with mail_app.app_context():
        assert email.claim(m.id, START) is True
        assert email.claim(m.id, START) is False       # the other runner loses
        assert email.send_due(START).sent == 0          # nor does it find it due
        assert email.send_one(m.id, START) == "sent"
    assert len(server.received) == 1


@pytest.mark.skipif(BACKEND != "sqlite", reason="one run is enough for the threads")
def test_two_runners_at_once_send_one_email(mail_app, world, server, monkeypatch):
    """Both runners have read the message as due before either claims it."""
    opt_in(mail_app, world)
    tell(mail_app, world)
    both_read = threading.Barrier(2, timeout=10)
    real_claim = email.claim

    def claim_together(message_id: uuid.UUID, now: datetime) -> bool:
        both_read.wait()
        return real_claim(message_id, now)

    monkeypatch.setattr(email, "claim", claim_together)
    results: list[email.Summary] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            with mail_app.app_context():
                results.append(email.send_due(START))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted((r.sent, r.lost) for r in results) == [(0, 1), (1, 0)]
    assert len(server.received) == 1


def test_a_message_left_sending_by_a_crash_is_sent_after_the_lease(mail_app, world, server):
    opt_in(mail_app, world)
    tell(mail_app, world)
    [m] = outbox(mail_app)
    with mail_app.app_context():
        assert email.claim(m.id, START)                 # ... and the runner dies here
    tell(mail_app, world, kind=Kind.PLAN_APPROVED)      # coalesces into the one being sent
    assert len(outbox(mail_app)) == 1
    lease = timedelta(minutes=email.LEASE_MINUTES)
    assert send(mail_app, START + lease - timedelta(seconds=1)).sent == 0
    assert send(mail_app, START + lease).sent == 1
    assert [r.subject for r in server.received] == ["Amana: 2 new items"]
    [m] = outbox(mail_app)
    assert (m.status, m.attempts) == ("sent", 2)


def test_the_timer_command_sends_and_prints_counts_only(mail_app, world, server):
    opt_in(mail_app, world)
    tell(mail_app, world)
    out = mail_app.test_cli_runner().invoke(args=["notify", "send"])
    assert out.exit_code == 0, out.output
    assert "emails sent: 1" in out.output and ADDRESS not in out.output
    assert len(server.received) == 1
    # 31 days on, the sent record is pruned
    with mail_app.app_context():
        old = START - timedelta(days=email.KEEP_DAYS + 1)
        db.session.execute(sa.update(EmailMessage).values(created_at=old))
        db.session.commit()
    out = mail_app.test_cli_runner().invoke(args=["notify", "prune"])
    assert out.exit_code == 0 and "1 email record(s)" in out.output
    assert outbox(mail_app) == []


# --- Off without settings ------------------------------------------------------------------------

def test_without_smtp_settings_email_is_off(app, world, auth):
    assert app.config["SMTP_HOST"] is None
    c = auth.login("caseworker")
    page = c.get("/notifications/email")
    assert page.status_code == 200 and b'id="email-off"' in page.data
    assert b'name="address"' not in page.data
    resp = c.post("/notifications/email", data={"notify": "y", "address": ADDRESS,
                                                 "csrf_token": auth.csrf(c, "/notifications/")})
    assert resp.status_code == 200 and b'id="email-off"' in resp.data
    with app.app_context():
        user = db.session.get(User, _uid(world, "caseworker"))
        assert (user.email_notify, user.email_sealed) == (False, None)
    opt_in(app, world)        # even an account that had opted in before
    tell(app, world)
    assert outbox(app) == []
    assert send(app, START) == email.Summary()
    out = app.test_cli_runner().invoke(args=["notify", "send"])
    assert out.exit_code == 0 and "email is off" in out.output


def _config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: str = "testing",
            **values: str) -> dict[str, object]:
    for name in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS"):
        monkeypatch.delenv(f"AMANA_SMTP_{name}", raising=False)
    monkeypatch.delenv("AMANA_MAIL_FROM", raising=False)
    monkeypatch.delenv("AMANA_PUBLIC_URL", raising=False)
    monkeypatch.setenv("AMANA_ALLOWED_HOSTS", "amana.example.org")
    for name, value in values.items():
        monkeypatch.setenv(f"AMANA_{name}", value)
    return build_config(env, tmp_path, keys=False)


def test_settings_are_read_and_unsafe_ones_refused(monkeypatch, tmp_path):
    assert _config(monkeypatch, tmp_path)["SMTP_HOST"] is None
    good = {"SMTP_HOST": "smtp.example.org", "MAIL_FROM": "amana@example.org",
            "PUBLIC_URL": "https://amana.example.org/", "SMTP_USER": "amana",
            "SMTP_PASSWORD": "s3cret-Passw0rd"}
    cfg = _config(monkeypatch, tmp_path, **good)
    assert (cfg["SMTP_HOST"], cfg["SMTP_PORT"], cfg["SMTP_STARTTLS"], cfg["PUBLIC_URL"]) == (
        "smtp.example.org", 587, True, "https://amana.example.org")
    with pytest.raises(ConfigError) as refused:
        _config(monkeypatch, tmp_path, **good, SMTP_STARTTLS="false")
    assert "in clear" in str(refused.value) and "s3cret" not in str(refused.value)
    # a relay on localhost may take the password without TLS
    assert _config(monkeypatch, tmp_path, **dict(good, SMTP_HOST="localhost"),
                   SMTP_STARTTLS="false")["SMTP_STARTTLS"] is False
    with pytest.raises(ConfigError, match="AMANA_MAIL_FROM"):
        _config(monkeypatch, tmp_path, **dict(good, MAIL_FROM="not an address"))
    with pytest.raises(ConfigError, match="AMANA_PUBLIC_URL"):
        _config(monkeypatch, tmp_path, **dict(good, PUBLIC_URL=""))
    with pytest.raises(ConfigError, match="AMANA_SMTP_STARTTLS"):
        _config(monkeypatch, tmp_path, **good, SMTP_STARTTLS="maybe")
    with pytest.raises(ConfigError, match="go together"):
        _config(monkeypatch, tmp_path, **dict(good, SMTP_PASSWORD=""))


# --- The address: sealed, and checked --------------------------------------------------------------

def test_the_address_is_sealed_bound_to_its_account_and_never_logged(mail_app, world, server,
                                                                      auth, caplog):
    tag = uuid.uuid4().hex[:10]
    canary = f"zainab.canary{tag}@example.org"
    c = auth.login("caseworker")
    assert c.post("/notifications/email", data={
        "notify": "y", "address": canary,
        "csrf_token": auth.csrf(c, "/notifications/email")}).status_code == 302
    tell(mail_app, world)
    with caplog.at_level("DEBUG"):
        send(mail_app)
    assert [r.recipients for r in server.received] == [[canary]]   # it was used...
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("app")]
    assert ours and [m for m in ours if tag in m] == []              # ...never logged
    with mail_app.app_context():
        user = db.session.get(User, _uid(world, "caseworker"))
        other = db.session.get(User, _uid(world, "caseworker2"))
        assert email.address_of(user) == canary
        assert user.email_sealed is not None and tag.encode() not in user.email_sealed
        other.email_sealed = user.email_sealed        # copied to another account: does not open
        assert email.address_of(other) is None
        db.session.rollback()
        # ...and the auditor is told: a failed decryption of that account's address
        assert flush_failures() == 1
        unreadable = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "crypto.decrypt_failed")).all()
        assert [(e.object_type, e.object_id, e.reason) for e in unreadable] == [
            ("user", str(other.id), "email:auth_failed")]
        events = db.session.scalars(select(AuditEvent)).all()
        trail = " ".join(str(getattr(e, col.name)) for e in events
                         for col in AuditEvent.__table__.columns)
        assert "notification.email_on" in trail
        assert tag not in trail
        if BACKEND == "sqlite":
            path = Path(sa.make_url(str(db.engine.url)).database or "")
            db.session.remove()
            db.engine.dispose()
            data = path.read_bytes()
            assert b"email_outbox" in data
            assert tag.encode() not in data and tag.encode("utf-16-le") not in data


@pytest.mark.parametrize("address", [
    "not an address", "caseworker@", "@example.org", "a@b", "one@example.org, two@example.org",
    "a@example.org\r\nBcc: thief@example.org", "Name <a@example.org>", "a b@example.org",
    "x" * 250 + "@example.org",
])
def test_the_form_refuses_a_bad_address_and_changes_nothing(mail_app, world, auth, address):
    opt_in(mail_app, world)
    c = auth.login("caseworker")
    before = actions(mail_app)
    resp = c.post("/notifications/email", data={"notify": "y", "address": address,
                                                 "csrf_token": auth.csrf(c, "/notifications/")})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert 'class="error-summary"' in page and 'aria-invalid="true"' in page
    assert ("This is not an email address" in page
            or "An email address is at most 254 characters." in page)
    with mail_app.app_context():
        user = db.session.get(User, _uid(world, "caseworker"))
        assert user.email_notify is True and email.address_of(user) == ADDRESS
    assert [a for a in actions(mail_app)[len(before):]
            if a in (Action.NOTIFICATION_EMAIL_ON, Action.NOTIFICATION_EMAIL_OFF)] == []


def test_ticking_the_box_needs_an_address(mail_app, world, auth):
    c = auth.login("caseworker")
    resp = c.post("/notifications/email", data={"notify": "y", "address": "",
                                                 "csrf_token": auth.csrf(c, "/notifications/")})
    assert resp.status_code == 200
    assert "Give the address to send the email to." in resp.get_data(as_text=True)
    with mail_app.app_context():
        user = db.session.get(User, _uid(world, "caseworker"))
        assert (user.email_notify, user.email_sealed) == (False, None)


def test_the_notifications_page_links_to_the_setting(app, auth):
    c = auth.login("supervisor")
    page = c.get("/notifications/").get_data(as_text=True)
    assert 'href="/notifications/email"' in page


def test_the_database_holds_one_open_message_per_user(app, world):
    """Two requests announcing at the same moment both pass the "none waiting" check: the
    partial unique index refuses the second, and ``announce`` takes that as done."""
    user_id = _uid(world, "caseworker")
    with app.app_context():
        def add(status: str) -> None:
            db.session.add(EmailMessage(user_id=user_id, status=status, attempts=0,
                                        next_attempt_at=START, created_at=START))
            db.session.commit()

        add("sent")
        add("failed")
        add("pending")
        with pytest.raises(sa.exc.IntegrityError):
            add("pending")
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            add("sending")
        db.session.rollback()
        assert sorted(db.session.scalars(select(EmailMessage.status))) == [
            "failed", "pending", "sent"]
