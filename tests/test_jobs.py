"""The periodic jobs (``app.jobs``): run twice at once, each does its work once; the lock is
released after an exception; a second run afterwards does nothing new.

"At once" without timing: the first run is stopped inside its work (a wrapped step waits on an
event) while it holds the job's lock; the second run starts then, on its own database connection
(PostgreSQL: its own session, so the advisory lock really is contended; SQLite: its own open
file, so ``flock`` really is), and must find the job taken. Only then does the first go on.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from app import jobs
from app.audit import alerts, autocheckpoint, checkpoint_log
from app.audit.checkpoint import signing_key
from app.audit.models import AuditEvent
from app.cases import cli as cases_cli
from app.cases.models import Case, CaseTombstone
from app.db import db, transaction
from app.notifications import email
from tests.helpers.audit import fill
from tests.helpers.mail import SmtpServer, free_port, use_smtp
from tests.helpers.notifications import opt_in, tell

SKIP_LINE = "Another host or process is running {}; nothing done."


def run(app: Flask, *args: str) -> Any:
    """One command, as the timer runs it (output to the captured standard output)."""
    return app.cli.main(list(args), prog_name="flask", standalone_mode=False,
                        obj=ScriptInfo(create_app=lambda: app))


def paused_inside(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str
                  ) -> tuple[threading.Event, threading.Event]:
    """Wrap ``owner.name`` so that its first call signals ``inside`` and waits for ``go``."""
    inside, go = threading.Event(), threading.Event()
    real = getattr(owner, name)
    first = [True]

    def wrapped(*a: Any, **kw: Any) -> Any:
        if first[0]:
            first[0] = False
            inside.set()
            assert go.wait(30), "the test never let the first run go on"
        return real(*a, **kw)

    monkeypatch.setattr(owner, name, wrapped)
    return inside, go


def twice_at_once(app: Flask, args: list[str], inside: threading.Event,
                  go: threading.Event) -> list[BaseException]:
    """Run the command in a thread until it is inside its work, run it again meanwhile in this
    thread, then let the first finish. Returns the errors of either."""
    errors: list[BaseException] = []

    def first() -> None:
        try:
            run(app, *args)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            inside.set()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(30), "the first run never reached its work"
        try:
            run(app, *args)
        except BaseException as exc:
            errors.append(exc)
    finally:
        go.set()
        thread.join(60)
    assert not thread.is_alive()
    return errors


def skips(out: str, job: str) -> int:
    return out.splitlines().count(SKIP_LINE.format(jobs.JOBS[job][1]))


def events(app: Flask, action: str) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.reason)
                                       .where(AuditEvent.action == action)
                                       .order_by(AuditEvent.seq)))


# -- the lock itself -------------------------------------------------------------------------

def test_a_held_job_is_refused_to_another_connection_and_free_after_an_exception(app):
    with app.app_context():
        with pytest.raises(RuntimeError), jobs.job_lock("notify-send") as got:
            assert got
            with jobs.job_lock("notify-send") as other:   # another connection or open file
                assert other is False
            with jobs.job_lock("cases-purge") as unrelated:  # each job has its own lock
                assert unrelated
            raise RuntimeError("the job failed half-way")
        with jobs.job_lock("notify-send") as again:
            assert again
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = %s", (jobs.lock_key("notify-send") & 0xFFFFFFFF,)).scalar() == 0


def test_each_job_has_its_own_fixed_key():
    keys = [jobs.lock_key(name) for name in jobs.JOBS]
    assert len(set(keys)) == len(keys) and all(0 < k < 2 ** 63 for k in keys)
    assert jobs.lock_key("notify-send") == 0x414D414E41000004  # every host computes the same


# -- retention purge -------------------------------------------------------------------------

def _expire(app: Flask, world: Any, frozen: Any) -> uuid.UUID:
    case_id = uuid.UUID(world.ids["case_other"])
    with app.app_context(), transaction():
        case = db.session.get(Case, case_id)
        case.status, case.closed_at = "closed", frozen.now - timedelta(days=11)
    return case_id


def test_purge_twice_at_once_erases_the_case_once(app, world, frozen, monkeypatch, capsys):
    case_id = _expire(app, world, frozen)
    inside, go = paused_inside(monkeypatch, cases_cli, "erase")
    assert twice_at_once(app, ["cases", "purge-expired", "--days", "10", "--apply"],
                         inside, go) == []
    out = capsys.readouterr().out
    assert skips(out, "cases-purge") == 1 and out.count("Erased 1 case(s).") == 1
    assert "Erasing expired cases" not in out  # no progress bar under a timer
    with app.app_context():
        assert db.session.get(Case, case_id) is None
        assert db.session.scalar(select(func.count()).select_from(CaseTombstone)) == 1
    assert len(events(app, "case.erase")) == 1
    # Afterwards: nothing left to do.
    run(app, "cases", "purge-expired", "--days", "10", "--apply")
    assert "Erased 0 case(s)." in capsys.readouterr().out
    assert len(events(app, "case.erase")) == 1
    assert events(app, "case.purge_expired") == ["erased:1", "erased:0"]


def test_purge_failing_half_way_releases_the_lock(app, world, frozen, monkeypatch, capsys):
    case_id = _expire(app, world, frozen)
    real = cases_cli.erase

    def broken(*a: Any, **kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(cases_cli, "erase", broken)
    with pytest.raises(RuntimeError):
        run(app, "cases", "purge-expired", "--days", "10", "--apply")
    monkeypatch.setattr(cases_cli, "erase", real)
    run(app, "cases", "purge-expired", "--days", "10", "--apply")
    out = capsys.readouterr().out
    assert "Erased 1 case(s)." in out and skips(out, "cases-purge") == 0
    with app.app_context():
        assert db.session.get(Case, case_id) is None


def test_by_hand_the_purge_shows_a_progress_bar(app, world, frozen, monkeypatch, capsys):
    _expire(app, world, frozen)
    monkeypatch.setattr(jobs, "interactive", lambda: True)
    run(app, "cases", "purge-expired", "--days", "10", "--apply")
    assert "Erasing expired cases" in capsys.readouterr().out


# -- notification sending --------------------------------------------------------------------

@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    port = free_port()
    use_smtp(app, port)
    server = SmtpServer(port).start()
    yield server
    server.stop()


def test_sending_twice_at_once_sends_one_email(app, world, smtp, monkeypatch, capsys):
    opt_in(app, world)
    tell(app, world)
    inside, go = paused_inside(monkeypatch, email, "claim")
    assert twice_at_once(app, ["notify", "send"], inside, go) == []
    out = capsys.readouterr().out
    assert skips(out, "notify-send") == 1 and out.count("emails sent: 1,") == 1
    assert len(smtp.received) == 1
    run(app, "notify", "send")
    assert "emails sent: 0," in capsys.readouterr().out
    assert len(smtp.received) == 1
    with app.app_context():
        at, summary = jobs.last_result("notify-send")
    assert summary["sent"] == 0 and summary["failed"] == 0


# -- audit checkpoints -----------------------------------------------------------------------

@pytest.fixture
def log(app: Flask, tmp_path: Path) -> Path:
    path = tmp_path / "checkpoints.jsonl"
    app.config["AUDIT_CHECKPOINT_FILE"] = str(path)
    app.config["AUDIT_CHECKPOINT_IN_REQUESTS"] = False  # the timer does it
    autocheckpoint.forget()
    return path


def _logged(app: Flask, path: Path) -> list[int]:
    public = signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key()
    return [c.seq for c in checkpoint_log.read(path, public).checkpoints]


def test_checkpoint_twice_at_once_signs_once(app, log, monkeypatch, capsys, frozen):
    last = fill(app, 3)
    assert not log.exists()  # nothing on the request path: the timer's job
    inside, go = paused_inside(monkeypatch, autocheckpoint, "write")
    assert twice_at_once(app, ["audit", "checkpoint", "--if-due"], inside, go) == []
    out = capsys.readouterr().out
    assert skips(out, "audit-checkpoint") == 1
    assert out.count(f"Checkpoint of event {last} signed and added to the log.") == 1
    assert _logged(app, log) == [last]
    # Again at once: recent, and the trail has not grown: nothing.
    run(app, "audit", "checkpoint", "--if-due")
    assert "No checkpoint due" in capsys.readouterr().out
    assert _logged(app, log) == [last]
    # T minutes later it is due again (the same head is signed anew: nothing was cut since).
    frozen.advance(minutes=int(app.config["AUDIT_CHECKPOINT_MINUTES"]))
    run(app, "audit", "checkpoint", "--if-due")
    assert _logged(app, log) == [last, last]


def test_checkpoint_is_due_after_n_events_however_recent(app, log):
    app.config["AUDIT_CHECKPOINT_EVENTS"] = 5
    first = fill(app, 2)
    run(app, "audit", "checkpoint", "--if-due")
    fill(app, 3)
    run(app, "audit", "checkpoint", "--if-due")
    assert _logged(app, log) == [first]  # 3 behind: not yet
    last = fill(app, 2)
    run(app, "audit", "checkpoint", "--if-due")
    assert _logged(app, log) == [first, last]


def test_the_full_checkpoint_takes_the_same_lock(app, log, capsys):
    fill(app, 2)
    with app.app_context(), jobs.job_lock("audit-checkpoint") as got:
        assert got
        run(app, "audit", "checkpoint")
    assert skips(capsys.readouterr().out, "audit-checkpoint") == 1
    assert _logged(app, log) == []


@pytest.mark.parametrize("in_requests", [True, False])
def test_the_request_path_signs_only_without_the_timer(app, log, in_requests):
    app.config["AUDIT_CHECKPOINT_IN_REQUESTS"] = in_requests
    app.config["AUDIT_CHECKPOINT_EVENTS"] = 1  # every committed event is due
    last = fill(app, 2)
    assert _logged(app, log) == ([last - 1, last] if in_requests else [])


# -- alert evaluation ------------------------------------------------------------------------

def test_alerts_twice_at_once_evaluate_once_and_the_home_page_reads_them(
        app, log, monkeypatch, capsys, frozen):
    calls: list[int] = []
    real: Callable[[], Any] = alerts.compute

    def counted() -> Any:
        calls.append(1)
        return real()

    monkeypatch.setattr(alerts, "compute", counted)
    inside, go = paused_inside(monkeypatch, alerts, "compute")
    assert twice_at_once(app, ["audit", "alerts"], inside, go) == []
    out = capsys.readouterr().out
    assert skips(out, "audit-alerts") == 1 and out.count("open alerts: ") == 1
    assert len(calls) == 1
    with app.app_context():
        at, stored = jobs.last_result("audit-alerts")
        assert at == frozen.now and stored["checkpoint"] == 1  # no checkpoint yet
        rows = db.session.scalar(select(func.count()).select_from(jobs.JobResult))
    # The auditor's home page takes the stored counts while they are recent...
    from app.audit import home

    app.config["AUDIT_HOME_ALERT_MINUTES"] = 5
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(jobs.JobResult.__table__).where(
            jobs.JobResult.name == "audit-alerts").values(summary=json.dumps({"denials": 7})))
    with app.test_request_context():
        kinds, counted_at = home.alert_counts()
    assert [(k.kind, k.count) for k in kinds] == [("denials", 7)] and counted_at == frozen.now
    assert len(calls) == 1
    # ...and counts again itself once they are not.
    frozen.advance(minutes=5)
    with app.test_request_context():
        kinds, counted_at = home.alert_counts()
    assert counted_at == frozen.now and len(calls) == 2
    # A second run records nothing new: still one row, the same counts.
    run(app, "audit", "alerts")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(jobs.JobResult)) == rows
