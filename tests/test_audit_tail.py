"""The tail of the audit trail cannot be cut unseen.

Triggers keep the head row moving only forward, in step with an inserted event; someone who
can drop the triggers (the tables' owner) can still cut the end off and rewind the head, and the
signed checkpoints kept outside the database, written automatically, catch that.
"""

from __future__ import annotations

import errno
import html
import json
import logging
import stat

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.audit import autocheckpoint, checkpoint_log, service
from app.audit.canonical import GENESIS_MAC
from app.audit.models import AuditEvent
from app.config import ConfigError, _int_env, _mirror_env
from app.db import db
from tests.helpers.audit import delete, fill, row, set_head, unlocked, verify


def _raw(app, sql: str, **params) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _head(app) -> tuple[int, bytes]:
    """The highest head (of the chain the last event went to)."""
    with app.app_context(), db.engine.connect() as conn:
        seq, mac = conn.exec_driver_sql(
            "SELECT seq, mac FROM audit_head ORDER BY seq DESC, id LIMIT 1").one()
        return int(seq), bytes(mac)


def _chain_of(app, seq: int) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return row(conn, seq)["chain"]


# -- the trigger on audit_head ---------------------------------------------------------------

@pytest.mark.parametrize("how", ["rewind", "same-seq-other-mac", "forward-no-event",
                                 "forward-wrong-mac", "other-id", "other-chain"])
def test_head_moves_only_forward_with_an_event(app, how):
    last = fill(app, 4)
    with app.app_context(), db.engine.connect() as conn:
        macs = {s: row(conn, s)["mac"] for s in (last - 2, last)}
    seq, mac = _head(app)
    c = _chain_of(app, last)
    sql, params = {
        "rewind": ("UPDATE audit_head SET seq = :s, mac = :m WHERE id = :c",
                   {"s": last - 2, "m": macs[last - 2], "c": c}),
        "same-seq-other-mac": ("UPDATE audit_head SET mac = :m WHERE id = :c",
                               {"m": macs[last - 2], "c": c}),
        "forward-no-event": ("UPDATE audit_head SET seq = :s WHERE id = :c",
                             {"s": last + 1, "c": c}),
        "forward-wrong-mac": ("UPDATE audit_head SET seq = :s, mac = :m WHERE id = :c",
                              {"s": last + 1, "m": macs[last], "c": c}),
        "other-id": ("UPDATE audit_head SET id = 99 WHERE id = :c", {"c": c}),
        # a head moved to an event of another chain
        "other-chain": ("UPDATE audit_head SET seq = :s, mac = :m WHERE id = :c",
                        {"s": last, "m": macs[last], "c": (c + 1) % 16}),
    }[how]
    with pytest.raises(DBAPIError) as refused:
        _raw(app, sql, **params)
    assert "audit head" in str(refused.value.orig)
    assert _head(app) == (seq, mac) == (last, macs[last])
    assert verify(app).ok


@pytest.mark.parametrize("sql", ["DELETE FROM audit_head WHERE seq > 0",
                                 "INSERT INTO audit_head (id, seq, mac) "
                                 "SELECT 16, seq, mac FROM audit_head WHERE seq > 0"])
def test_head_row_cannot_be_deleted_or_doubled(app, sql):
    last = fill(app, 2)
    with pytest.raises(DBAPIError) as refused:
        _raw(app, sql)
    assert "audit head" in str(refused.value.orig)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_head").scalar() == 16
    assert _head(app)[0] == last


def test_head_cannot_be_truncated_on_postgresql(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE; DELETE is refused above")
    with pytest.raises(DBAPIError) as refused:
        _raw(app, "TRUNCATE audit_head")
    assert "audit head" in str(refused.value.orig)


def test_writer_still_moves_the_head(app):
    # The writer's lock (no change) and its move to the event it inserted (one statement on
    # PostgreSQL) both pass the trigger.
    last = fill(app, 3)
    assert _head(app)[0] == last
    assert verify(app).ok


# -- automatic checkpoints outside the database ----------------------------------------------

def _log(app) -> checkpoint_log.LogRead:
    with app.app_context():
        return service.read_log()


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _every(app, n: int) -> int:
    """Checkpoint every ``n`` events from now on, all on chain 0 (these tests cut one chain's
    tail; tests/test_audit_chains.py does it with several); returns the current head."""
    app.config["AUDIT_CHECKPOINT_EVENTS"] = n
    app.config["AUDIT_CHAINS"] = 1
    return _head(app)[0]


def test_a_checkpoint_every_n_events(app):
    start = _every(app, 5)
    last = fill(app, 12)
    read = _log(app)
    assert read.bad == []
    assert [c.seq for c in read.checkpoints] == [s for s in range(start + 1, last + 1)
                                                 if s % 5 == 0]
    with app.app_context(), db.engine.connect() as conn:
        assert all(row(conn, c.seq)["mac"] == c.mac for c in read.checkpoints)
    assert verify(app, checkpoints=read.checkpoints).ok


def test_a_checkpoint_every_t_minutes_at_the_end_of_a_request(app, auth, frozen):
    client = auth.login("auditor")  # writes events: the first request to do so signs the head
    first = _log(app).checkpoints
    assert len(first) == 1
    frozen.advance(minutes=10)
    assert client.get("/audit/events").status_code == 200
    assert len(_log(app).checkpoints) == 1  # not yet 15 minutes
    frozen.advance(minutes=6)
    assert client.get("/audit/events").status_code == 200
    read = _log(app)
    assert len(read.checkpoints) == 2
    newest = read.checkpoints[-1]
    assert newest.time == frozen.now and newest.seq == _head(app)[0] > first[0].seq


def test_a_command_that_writes_events_applies_the_time_rule(app, frozen):
    fill(app, 2)
    assert not _log(app).exists  # no request or command yet: nothing signed
    assert _cli(app).exit_code == 0
    assert [c.seq for c in _log(app).checkpoints] == [_head(app)[0]]


def test_a_checkpoint_signed_by_hand_goes_to_the_log_too(app, tmp_path):
    last = fill(app, 3)
    out = tmp_path / "cp.json"
    assert app.test_cli_runner().invoke(args=["audit", "checkpoint", "--out", str(out)]
                                        ).exit_code == 0
    assert [(c.seq, c.mac.hex()) for c in _log(app).checkpoints][:1] == [
        (last, json.loads(out.read_text())["mac"])]


def test_the_time_rule_does_not_wait_for_another_writer(app):
    fill(app, 2)
    path = autocheckpoint.log_path(app)
    with checkpoint_log.locked(path), app.app_context():  # another process appending
        assert autocheckpoint.write(app, "time") is None
    with app.app_context():
        assert autocheckpoint.write(app, "time") is not None
    assert len(_log(app).checkpoints) == 1


def test_the_log_is_private_and_only_appended_to(app):
    _every(app, 2)
    fill(app, 4)
    path = autocheckpoint.log_path(app)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    before = path.read_bytes()
    fill(app, 2)
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1
    assert all(json.loads(line)["format"] == "amana-audit-checkpoint/2"
               for line in after.splitlines())


def _truncate(app, keep: int) -> None:
    """Cut every event after ``keep`` and move the head back, as the tables' owner could."""
    end = verify(app).end
    with unlocked(app) as conn:
        chains = {row(conn, s)["chain"] for s in range(keep + 1, end + 1)}
        for s in range(keep + 1, end + 1):
            delete(conn, s)
        for chain in chains:  # each chain's head back to its last event left
            left = conn.execute(sa.select(sa.func.max(AuditEvent.seq))
                                .where(AuditEvent.chain == chain)).scalar()
            set_head(conn, left or 0, row(conn, left)["mac"] if left else GENESIS_MAC, chain)


def test_a_cut_off_tail_is_named_against_the_checkpoint_file(app):
    _every(app, 5)
    fill(app, 12)
    signed = max(c.seq for c in _log(app).checkpoints)
    keep = signed - 3
    _truncate(app, keep)
    assert verify(app).ok  # cut cleanly: the database alone cannot tell
    result = _cli(app)
    assert result.exit_code == 7, result.output
    assert (f"Audit trail BROKEN at event {keep + 1}: truncated (the checkpoint signed "
            f"2026-11-24 10:00 UTC names event {signed}, but chain 0 ends at {keep})"
            in result.output)
    assert _cli(app, "--no-checkpoint-file").exit_code == 0  # what verify said before
    # A rewound head is never signed. (On PostgreSQL the run above was recorded past the cut,
    # numbered from the sequence: the head is not behind, but the checkpoint's event is gone.)
    with app.app_context(), pytest.raises(autocheckpoint.Refused, match="behind|differs"):
        autocheckpoint.write(app, "events")


def test_a_deleted_trail_is_named_against_the_checkpoint_file(app):
    _every(app, 3)
    fill(app, 4)
    signed = max(c.seq for c in _log(app).checkpoints)
    _truncate(app, 0)
    assert verify(app).ok
    result = _cli(app)
    assert result.exit_code == 7
    assert (f"BROKEN at event 1: truncated (the checkpoint signed 2026-11-24 10:00 UTC names "
            f"event {signed}, but chain 0 is empty)") in result.output


def test_a_head_moved_back_below_a_checkpoint_is_named(app):
    _every(app, 5)
    fill(app, 12)
    signed = max(c.seq for c in _log(app).checkpoints)
    with unlocked(app) as conn:
        set_head(conn, signed - 2, row(conn, signed - 2)["mac"])
    result = _cli(app)
    assert result.exit_code == 7
    assert (f"BROKEN at event {signed - 1}: truncated (the head of chain 0 was moved back to event "
            f"{signed - 2}, but the checkpoint signed 2026-11-24 10:00 UTC names event "
            f"{signed})") in result.output
    # The first run recorded itself on the rewound head, forking chain 0 off event signed - 2:
    # named as a head moved back even without the checkpoints.
    assert _cli(app, "--no-checkpoint-file").exit_code == 7


def test_lines_that_do_not_verify_are_reported(app):
    _every(app, 3)
    fill(app, 3)
    path = autocheckpoint.log_path(app)
    good = path.read_text().splitlines()[0]
    forged = json.loads(good) | {"seq": json.loads(good)["seq"] + 1}
    with path.open("a") as fh:
        fh.write(json.dumps(forged) + "\n" + '{"format": "amana-audit-')  # and a torn line
    fill(app, 3)  # the next checkpoint closes the torn line first
    read = _log(app)
    assert [b.number for b in read.bad] == [2, 3] and len(read.checkpoints) == 2
    result = _cli(app)
    assert result.exit_code == 9
    assert "line 2 refused: the checkpoint's signature does not verify" in result.output
    assert "line 3 refused: the checkpoint is not JSON" in result.output
    assert "2 line(s) of the checkpoint file(s) did not verify" in result.output


def test_a_missing_file_is_said_and_can_be_skipped(app):
    fill(app, 2)
    result = _cli(app)
    assert result.exit_code == 0
    assert f"No checkpoint file at {autocheckpoint.log_path(app)}" in result.output
    assert "No checkpoint file" not in _cli(app, "--no-checkpoint-file").output


def test_the_mirror_gets_every_checkpoint(app, tmp_path, monkeypatch):
    mirror = tmp_path / "other-volume" / "checkpoints.jsonl"
    app.config["AUDIT_CHECKPOINT_MIRROR"] = str(mirror)
    _every(app, 3)
    fill(app, 6)
    assert mirror.read_bytes() == autocheckpoint.log_path(app).read_bytes() != b""
    sent: list[str] = []
    monkeypatch.setattr(checkpoint_log.syslog, "syslog", lambda _prio, msg: sent.append(msg))
    app.config["AUDIT_CHECKPOINT_MIRROR"] = "syslog"
    fill(app, 3)
    newest = autocheckpoint.log_path(app).read_text().splitlines()[-1]
    assert sent == [f"checkpoint {newest}"]
    # A mirror from a copy of the log is read with --checkpoint, like a checkpoint file.
    assert _cli(app, "--no-checkpoint-file", "--checkpoint", str(mirror)).exit_code == 0


def test_settings_are_checked(monkeypatch):
    for value in ("syslog", "/var/lib/amana-checkpoints/log.jsonl", ""):
        monkeypatch.setenv("AMANA_AUDIT_CHECKPOINT_MIRROR", value)
        assert _mirror_env("AMANA_AUDIT_CHECKPOINT_MIRROR") == value
    monkeypatch.setenv("AMANA_AUDIT_CHECKPOINT_MIRROR", "relative/log.jsonl")
    with pytest.raises(ConfigError, match="absolute"):
        _mirror_env("AMANA_AUDIT_CHECKPOINT_MIRROR")
    monkeypatch.setenv("AMANA_AUDIT_CHECKPOINT_EVENTS", "0")
    with pytest.raises(ConfigError, match="positive"):
        _int_env("AMANA_AUDIT_CHECKPOINT_EVENTS", 1000)


# -- what the auditor sees -------------------------------------------------------------------

def _fail_writes(monkeypatch) -> None:
    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(checkpoint_log.Locked, "append", full)


def test_the_page_shows_the_newest_checkpoints_age(app, auth, frozen):
    client = auth.login("auditor")
    frozen.advance(minutes=3)
    newest = _log(app).checkpoints[-1]
    page = client.get("/audit/verify").get_data(as_text=True)
    # The time is shown in the auditor's organisation's zone (the instance's default here),
    # the zone named: "Nov 24, 2026, 12:00:00 PM (Africa/Tripoli)".
    from flask_babel import force_locale

    from app.localtime import deadline
    with app.test_request_context(), force_locale("en"):
        signed_at = deadline(newest.time)
    assert "(Africa/Tripoli)" in signed_at and "12:00:00" in signed_at
    assert (f"The newest checkpoint names event {newest.seq}. It was signed 4 minutes ago, at "
            f"{signed_at}.") in html.unescape(page)  # 3.5 minutes: login took 31 s
    assert 'id="checkpoint-ok"' in page and "too old" not in page


def test_the_page_flags_a_stale_checkpoint_and_the_request_still_works(app, auth, frozen,
                                                                      monkeypatch, caplog):
    app.config["AUDIT_CHECKPOINT_MINUTES"] = 5  # stale after 10 minutes, before sessions idle
    client = auth.login("auditor")
    assert len(_log(app).checkpoints) == 1
    _fail_writes(monkeypatch)
    # Alembic's logging set-up (migrations/env.py, run by the template fixture) disables the
    # loggers that existed then; a server process never runs it.
    monkeypatch.setattr(autocheckpoint.log, "disabled", False)
    frozen.advance(minutes=11)
    with caplog.at_level(logging.WARNING, logger="amana.audit"):
        resp = client.get("/audit/verify")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "This is too old" in page and 'id="checkpoint-stale"' in page
    assert caplog.messages == ["Audit checkpoint not written (time rule): "
                               "OSError: No space left on device"]
    alerts = client.get("/audit/alerts").get_data(as_text=True)
    assert 'Checkpoint missing or too old <span class="badge">1</span>' in alerts


def test_the_page_and_alerts_flag_a_missing_checkpoint(app, auth, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    app.config["AUDIT_CHECKPOINT_FILE"] = str(blocked / "checkpoints.jsonl")
    client = auth.login("auditor")
    assert client.get("/audit/events").status_code == 200
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "No checkpoint has been written outside the database." in page
    assert 'id="checkpoint-missing"' in page
    alerts = client.get("/audit/alerts").get_data(as_text=True)
    assert 'Checkpoint missing or too old <span class="badge">1</span>' in alerts
