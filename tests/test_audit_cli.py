"""``flask audit``: verify (distinct exit codes), checkpoint, export-key; runs are recorded."""

from __future__ import annotations

import json

import pytest

from app.audit.actions import Action
from tests.helpers.audit import delete, events, fill, put, random_mac, row, set_head, unlocked, verify


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", *args])


def test_verify_an_intact_trail(app):
    last = fill(app, 12)
    result = run(app, "verify")
    assert result.exit_code == 0, result.output
    assert f"Audit trail intact: {last:,} events verified" in result.output
    assert [e.reason for e in events(app, action=Action.AUDIT_VERIFY.value)] == ["cli:intact"]


@pytest.mark.parametrize("tamper,code,kind", [
    (lambda conn, s: put(conn, s, {"reason": "edited"}), 3, "edited"),
    (lambda conn, s: delete(conn, s), 4, "deleted"),
    (lambda conn, s: put(conn, s, {"mac": random_mac(), "object_id": "x.y"}), 6, "forged"),
])
def test_verify_names_the_break_and_exits_with_its_code(app, tamper, code, kind):
    last = fill(app, 12)
    with unlocked(app) as conn:
        tamper(conn, last - 4)
    result = run(app, "verify")
    assert result.exit_code == code
    assert f"BROKEN at event {last - 4}: {kind}" in result.output
    recorded = events(app, action=Action.AUDIT_VERIFY.value)[-1]
    assert (recorded.outcome, recorded.reason) == ("error", f"cli:{kind}@{last - 4}")


def test_checkpoint_then_truncation_is_caught(app, tmp_path):
    app.config["AUDIT_CHAINS"] = 1  # one chain's tail is cut (several: test_audit_chains.py)
    last = fill(app, 12)
    out = tmp_path / "cp.json"
    result = run(app, "checkpoint", "--out", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "amana-audit-checkpoint/2" and doc["seq"] == last
    assert [0, last, doc["mac"]] in doc["heads"]  # and any chain written before
    assert run(app, "checkpoint", "--out", str(out)).exit_code == 1  # never overwrites
    key = tmp_path / "audit.pub"
    assert run(app, "export-key", "--out", str(key)).exit_code == 0
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    checked = run(app, "verify", "--checkpoint", str(out), "--public-key", str(key))
    assert checked.exit_code == 0 and "1 checkpoint(s) matched" in checked.output
    signed = events(app, action=Action.AUDIT_CHECKPOINT.value)
    assert [(e.object_id, e.reason) for e in signed] == [(str(last), "cli:signed")]
    end = verify(app).end  # the runs above were recorded after the checkpointed event
    with unlocked(app) as conn:
        for s in range(last - 3, end + 1):
            delete(conn, s)
        set_head(conn, last - 4, row(conn, last - 4)["mac"])
    assert verify(app).ok  # cut cleanly (the head row was moved too): only a checkpoint can tell
    caught = run(app, "verify", "--checkpoint", str(out))
    assert caught.exit_code == 7
    assert f"BROKEN at event {last - 3}: truncated" in caught.output


def test_a_checkpoint_signed_by_another_key_is_refused(app, tmp_path):
    from app.audit.checkpoint import make, public_pem
    from app.clock import utcnow

    last = fill(app, 3)
    with unlocked(app) as conn:
        mac = row(conn, last)["mac"]
    forged = tmp_path / "forged.json"
    forged.write_text(make(b"\x09" * 32, last, mac, utcnow()))
    result = run(app, "verify", "--checkpoint", str(forged))
    assert result.exit_code == 9 and "Checkpoint refused" in result.output
    assert events(app, action=Action.AUDIT_VERIFY.value)[-1].reason == "cli:bad_checkpoint"
    other_key = tmp_path / "other.pub"
    other_key.write_bytes(public_pem(b"\x09" * 32))
    good = tmp_path / "good.json"
    assert run(app, "checkpoint", "--out", str(good)).exit_code == 0
    assert run(app, "verify", "--checkpoint", str(good), "--public-key",
               str(other_key)).exit_code == 9


def test_a_broken_trail_is_never_signed(app, tmp_path):
    last = fill(app, 6)
    with unlocked(app) as conn:
        put(conn, last - 1, {"reason": "edited"})
    out = tmp_path / "cp.json"
    result = run(app, "checkpoint", "--out", str(out))
    assert result.exit_code == 3 and not out.exists()
    assert "No checkpoint written" in result.output
    refused = events(app, action=Action.AUDIT_CHECKPOINT.value)[-1]
    assert (refused.outcome, refused.reason) == ("error", f"cli:refused:edited@{last - 1}")


def test_export_key_prints_only_the_public_key(app):
    result = run(app, "export-key")
    assert result.exit_code == 0
    assert result.output.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in result.output
