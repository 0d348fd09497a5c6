"""The chain: an untouched trail verifies; each kind of tampering is named at the right event;
signed checkpoints catch truncation and rewriting; the canonical form is unambiguous."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.audit import chain
from app.audit.actions import Action
from app.audit.canonical import CanonicalError, canonical
from app.audit.checkpoint import CheckpointError, load, make, public_pem, signing_key
from app.audit.models import AuditEvent
from app.audit.verify import BreakKind
from app.audit.writer import record
from app.db import transaction
from tests.helpers.audit import (
    delete,
    fill,
    put,
    random_mac,
    renumber_after,
    rewrite_from,
    row,
    set_head,
    unlocked,
    verify,
)

N = 30


def _fill(app, n: int = N) -> tuple[int, int]:
    """Append n events, all on chain 0 (so that event k of them is offset + k; several chains
    are in tests/test_audit_chains.py); returns (offset, last)."""
    app.config["AUDIT_CHAINS"] = 1
    last = fill(app, n)
    return last - n, last


def _checkpoint(app, seq: int):
    with unlocked(app) as conn:
        mac = row(conn, seq)["mac"]
    seed = app.config["KEY_AUDIT_SIGNING"]
    text = make(seed, seq, mac, datetime(2026, 11, 24, 12, tzinfo=UTC))
    return load(text, signing_key(seed).public_key())


def test_untouched_trail_is_intact(app):
    _o, last = _fill(app)
    result = verify(app)
    assert result.ok and result.broken is None
    assert result.count == last == result.end
    assert result.exit_code == 0


def test_trail_as_the_app_left_it_is_intact(app, auth):
    auth.login("admin").get("/admin/users")
    result = verify(app)
    assert result.ok and result.count == result.end > 0


def test_edited_field_is_found_at_its_event(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        put(conn, o + 12, {"reason": "nothing to see"})
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 12, BreakKind.EDITED)
    assert result.count == o + 11 and result.exit_code == 3


@pytest.mark.parametrize("column,value", [
    ("outcome", "allowed"), ("actor_id", uuid.UUID(int=5)),
    ("occurred_at", datetime(2020, 1, 1, tzinfo=UTC)),
    ("object_id", ""), ("action", "case.view"), ("client_address", "10.9.9.9"),
])
def test_every_field_is_sealed(app, column, value):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        assert row(conn, o + 9)[column] != value
        put(conn, o + 9, {column: value})
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 9, BreakKind.EDITED)


def test_edited_link_is_found(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        put(conn, o + 7, {"prev_mac": random_mac()})
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 7, BreakKind.EDITED)


def test_deleted_event_is_found(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        delete(conn, o + 15)
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 15, BreakKind.DELETED)
    assert result.exit_code == 4


def test_first_event_deleted_is_found(app):
    _fill(app)
    with unlocked(app) as conn:
        delete(conn, 1)
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (1, BreakKind.DELETED)


def test_deleted_and_renumbered_is_found(app):
    o, last = _fill(app)
    with unlocked(app) as conn:
        delete(conn, o + 15)
        renumber_after(conn, o + 15, last)
        set_head(conn, last - 1, row(conn, last - 1)["mac"])
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 15, BreakKind.DELETED)


def test_swapped_events_are_found(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        a, b = row(conn, o + 20), row(conn, o + 21)
        put(conn, o + 20, {k: v for k, v in b.items() if k != "seq"})
        put(conn, o + 21, {k: v for k, v in a.items() if k != "seq"})
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 20, BreakKind.SWAPPED)
    assert result.exit_code == 5


def test_forged_event_in_the_middle_is_found(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        put(conn, o + 18, {"reason": "forged", "mac": random_mac()})
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 18, BreakKind.FORGED)
    assert result.exit_code == 6


def test_forged_event_appended_is_found(app):
    _o, last = _fill(app)
    with unlocked(app) as conn:
        values = row(conn, last)
        values.update(seq=last + 1, prev_mac=values["mac"], mac=random_mac(), reason="forged")
        conn.execute(sa.insert(AuditEvent.__table__).values(**values))
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (last + 1, BreakKind.FORGED)


def test_wrong_type_in_a_column_is_found(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        if conn.dialect.name != "sqlite":
            pytest.skip("only SQLite lets a column hold another type")
        conn.exec_driver_sql(f"UPDATE audit_events SET object_id = 42 WHERE seq = {o + 5}")
        conn.exec_driver_sql(
            f"UPDATE audit_events SET reason = CAST(x'ff00' AS TEXT) WHERE seq = {o + 3}")
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (o + 3, BreakKind.EDITED)


def test_truncation_with_head_moved_needs_a_checkpoint(app):
    o, last = _fill(app)
    cp = _checkpoint(app, last)
    with unlocked(app) as conn:
        for s in range(o + 25, last + 1):
            delete(conn, s)
        set_head(conn, o + 24, row(conn, o + 24)["mac"])
    assert verify(app).ok  # cut cleanly: only a checkpoint can tell
    result = verify(app, checkpoints=[cp])
    assert (result.broken.seq, result.broken.kind) == (o + 25, BreakKind.TRUNCATED)
    assert result.exit_code == 7


def test_truncation_against_the_head_row(app):
    _o, last = _fill(app)
    with unlocked(app) as conn:
        delete(conn, last)
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (last, BreakKind.TRUNCATED)


def test_rewriting_with_the_key_diverges_from_a_checkpoint(app):
    o, last = _fill(app)
    cp = _checkpoint(app, last)
    with unlocked(app) as conn:
        rewrite_from(conn, app, o + 10, last)
    assert verify(app).ok
    result = verify(app, checkpoints=[cp])
    assert (result.broken.seq, result.broken.kind) == (last, BreakKind.DIVERGED)
    assert result.exit_code == 8


def test_altered_head_row_is_found(app):
    _o, last = _fill(app)
    with unlocked(app) as conn:
        set_head(conn, last, random_mac())
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (last, BreakKind.HEAD)


def test_earliest_break_wins(app):
    o, _last = _fill(app)
    with unlocked(app) as conn:
        put(conn, o + 22, {"reason": "later"})
        delete(conn, o + 8)
    assert verify(app).broken.seq == o + 8


def test_checkpoint_signature_is_checked(app):
    _o, last = _fill(app, 5)
    cp = _checkpoint(app, last)
    seed = app.config["KEY_AUDIT_SIGNING"]
    good = make(seed, cp.seq, cp.mac, cp.time)
    assert load(good, signing_key(seed).public_key()).seq == last
    other = signing_key(b"\x07" * 32).public_key()
    with pytest.raises(CheckpointError):
        load(good, other)
    with pytest.raises(CheckpointError):
        load(good.replace(f'"seq": {last}', f'"seq": {last + 1}'), signing_key(seed).public_key())
    assert b"PRIVATE" not in public_pem(seed)


def test_parallel_walk_agrees_with_a_single_one(app, monkeypatch):
    o, last = _fill(app, 60)
    monkeypatch.setattr(chain, "PARALLEL_MINIMUM", 1)
    monkeypatch.setattr(chain, "BATCH", 7)
    assert verify(app, jobs=2).count == last
    with unlocked(app) as conn:
        put(conn, o + 44, {"reason": "edited"})
    result = verify(app, jobs=2)
    assert (result.broken.seq, result.broken.kind, result.count) == (o + 44, BreakKind.EDITED,
                                                                     o + 43)


def test_canonical_form_is_unambiguous():
    base = {"seq": 1, "occurred_at": datetime(2026, 1, 1, tzinfo=UTC), "action": "a",
            "outcome": "allowed", "actor_id": uuid.UUID(int=1)}
    forms = {canonical({**base, "reason": None}), canonical({**base, "reason": ""}),
             canonical({**base, "reason": "x", "request_id": None}),
             canonical({**base, "reason": None, "request_id": "x"})}
    assert len(forms) == 4
    with pytest.raises(CanonicalError):
        canonical({**base, "reason": "split\x1fhere"})


def test_writer_refuses_separator_characters(app):
    before = verify(app).count
    with app.app_context(), pytest.raises(CanonicalError), transaction():
        record(Action.AUDIT_SEARCH, reason="a\x1fb")
    assert verify(app).count == before


def test_fast_hmac_states_equal_the_standard_hmac():
    import hmac
    import os

    from app.audit.canonical import hmac_pads

    for key in (os.urandom(32), os.urandom(64), os.urandom(100), b""):
        inner, outer = hmac_pads(key)
        for msg in (b"", os.urandom(1), os.urandom(300)):
            h = inner()
            h.update(msg)
            o = outer()
            o.update(h.digest())
            assert o.digest() == hmac.digest(key, msg, "sha256")


def test_a_failed_append_that_is_committed_anyway_leaves_no_gap(app):
    """Even if a caller swallows the error and commits, the head has not moved."""
    from app.db import db

    before = verify(app).count
    with app.app_context():
        try:
            record(Action.AUDIT_SEARCH, reason="a\x1fb")
        except CanonicalError:
            db.session.commit()
    fill(app, 2)
    result = verify(app)
    assert result.ok and result.count == before + 2
