"""Several audit chains: events spread over chains verify; removing, altering or cutting the
tail of one chain is named; every checkpoint covers every chain's head; a trail written before
the chains (revision 0021) verifies after the upgrade and goes on growing on several chains.

Events are put on a chosen chain by setting the connection's preferred chain, as the writer
keeps it (``CHAIN_INFO``): on SQLite the writer takes exactly that one, on PostgreSQL the first
free head from it on, which in a test with one writer is that one.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.audit.actions import Action
from app.audit.canonical import GENESIS_MAC, compute_mac
from app.audit.checkpoint import CheckpointError, load, make, signing_key
from app.audit.models import AuditEvent
from app.audit.verify import BreakKind
from app.audit.writer import CHAIN_INFO, record
from app.db import db, transaction
from tests.helpers.audit import delete, put, row, set_head, unlocked, verify

CHAINS = 3
AT = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _write(app, plan: list[int]) -> list[tuple[int, int]]:
    """One event per entry of ``plan``, each on that chain, each in its own transaction;
    returns (seq, chain) of each as written."""
    app.config["AUDIT_CHAINS"] = CHAINS
    written = []
    with app.app_context():
        for i, chain in enumerate(plan):
            with transaction():
                db.session.connection().info[CHAIN_INFO] = chain
                done = record(Action.AUDIT_SEARCH, object_type="user", object_id=uuid.uuid4(),
                              reason=f"c{chain}:{i}")
            written.append((done.seq, done.chain))
        db.session.remove()
    assert [c for _s, c in written] == plan  # each went where it was sent
    return written


def _on(written: list[tuple[int, int]], chain: int) -> list[int]:
    return [s for s, c in written if c == chain]


def _checkpoint(app):
    """A checkpoint of every chain's head as it is now (what the log signs)."""
    result = verify(app)
    assert result.ok, result.broken
    seed = app.config["KEY_AUDIT_SIGNING"]
    text = make(seed, result.end, result.last_mac, AT, heads=result.heads)
    return load(text, signing_key(seed).public_key())


PLAN = [0, 1, 2, 1, 1, 0, 2, 2, 1, 0, 1, 2, 0, 1]


def test_events_on_several_chains_verify(app):
    before = verify(app)
    written = _write(app, PLAN)
    result = verify(app)
    assert result.ok, result.broken
    assert result.count == before.count + len(PLAN)
    heads = {c: s for c, s, _m in result.heads}
    for chain in range(CHAINS):
        assert heads[chain] == _on(written, chain)[-1]
    with app.app_context(), db.engine.connect() as conn:
        links = {s: row(conn, s) for s, _c in written}
    # Each event follows the one before it on its own chain, not the one before it in seq.
    for chain in range(CHAINS):
        seqs = _on(written, chain)
        for a, b in zip(seqs, seqs[1:], strict=False):
            assert links[b]["prev_mac"] == links[a]["mac"]
        assert links[seqs[0]]["chain"] == chain


def test_a_deleted_event_on_one_chain_is_named(app):
    written = _write(app, PLAN)
    ones = _on(written, 1)
    with unlocked(app) as conn:
        delete(conn, ones[2])
    result = verify(app)
    # named at the number after the last intact event of that chain
    assert (result.broken.seq, result.broken.kind) == (ones[1] + 1, BreakKind.DELETED)
    assert "chain 1" in result.broken.detail and result.exit_code == 4


def test_an_altered_event_on_one_chain_is_named(app):
    written = _write(app, PLAN)
    twos = _on(written, 2)
    with unlocked(app) as conn:
        put(conn, twos[1], {"reason": "nothing to see"})
    result = verify(app)
    assert (result.broken.seq, result.broken.kind) == (twos[1], BreakKind.EDITED)


def test_an_event_moved_to_another_chain_is_named(app):
    written = _write(app, PLAN)
    moved = _on(written, 2)[1]
    with unlocked(app) as conn:
        put(conn, moved, {"chain": 0})
    assert not verify(app).ok


def test_events_on_a_chain_without_a_head_are_walked(app):
    written = _write(app, PLAN)
    with unlocked(app) as conn:
        put(conn, _on(written, 0)[-1], {"chain": 40})  # no head row 40: walked all the same
    result = verify(app)
    assert result.broken.kind in (BreakKind.FORGED, BreakKind.TRUNCATED, BreakKind.DELETED)


def test_a_cut_tail_of_one_chain_is_caught_by_the_checkpoint(app):
    written = _write(app, PLAN)
    cp = _checkpoint(app)
    ones = _on(written, 1)
    assert (1, ones[-1]) in {(c, s) for c, s, _m in cp.chain_heads}
    keep = ones[-3]
    with unlocked(app) as conn:  # the tables' owner: triggers off, head moved back with it
        for s in ones[-2:]:
            delete(conn, s)
        set_head(conn, keep, row(conn, keep)["mac"], 1)
    assert verify(app).ok  # cut cleanly: the database alone cannot tell
    result = verify(app, checkpoints=[cp])
    assert result.broken.kind == BreakKind.TRUNCATED and result.exit_code == 7
    assert f"names event {ones[-1]}, but chain 1 ends at {keep}" in result.broken.detail
    assert result.broken.seq == keep + 1  # the first number after what is left of chain 1


def test_a_whole_chain_cut_off_is_caught_by_the_checkpoint(app):
    written = _write(app, PLAN)
    cp = _checkpoint(app)
    with unlocked(app) as conn:
        # every event of chain 2, the world's set-up events that happened to land there too
        whole = [r[0] for r in conn.execute(sa.text(
            "SELECT seq FROM audit_events WHERE chain = 2 ORDER BY seq"))]
        assert set(_on(written, 2)) <= set(whole)
        for s in whole:
            delete(conn, s)
        set_head(conn, 0, GENESIS_MAC, 2)
    assert verify(app).ok
    result = verify(app, checkpoints=[cp])
    assert result.broken.kind == BreakKind.TRUNCATED and "chain 2 is empty" in result.broken.detail


def test_the_checkpoint_signs_every_head(app):
    _write(app, PLAN)
    cp = _checkpoint(app)
    assert {c for c, _s, _m in cp.chain_heads} >= set(range(CHAINS))
    seed = app.config["KEY_AUDIT_SIGNING"]
    doc = json.loads(make(seed, 0, b"", AT, heads=cp.chain_heads))
    doc["heads"] = [h for h in doc["heads"] if h[0] != 1]  # leave a chain out
    with pytest.raises(CheckpointError, match="signature"):
        load(json.dumps(doc), signing_key(seed).public_key())
    doc = json.loads(make(seed, 0, b"", AT, heads=cp.chain_heads))
    doc["heads"][0][1] -= 1  # or name an earlier event
    with pytest.raises(CheckpointError, match="signature"):
        load(json.dumps(doc), signing_key(seed).public_key())


def test_the_automatic_checkpoint_covers_every_chain(app):
    from app.audit import autocheckpoint, checkpoint_log

    written = _write(app, PLAN)
    with app.app_context():
        signed = autocheckpoint.write(app, "time")
    assert signed is not None
    assert {(c, s) for c, s, _m in signed.chain_heads} >= {
        (chain, _on(written, chain)[-1]) for chain in range(CHAINS)}
    public = signing_key(app.config["KEY_AUDIT_SIGNING"]).public_key()
    logged = checkpoint_log.read(autocheckpoint.log_path(app), public).checkpoints
    assert verify(app, checkpoints=logged).ok


# -- upgrading a trail written with one chain -----------------------------------------------

def _old_trail(app, n: int) -> None:
    """Events as the single-chain writer of revision 0021 stored them, and its head (id 1)."""
    key, prev = app.config["KEY_AUDIT_HMAC"], GENESIS_MAC
    table = sa.table("audit_events", *[sa.column(c.name, c.type) for c in AuditEvent.__table__.c
                                       if c.name != "chain"])
    with db.engine.begin() as conn:
        for seq in range(1, n + 1):
            fields = {"seq": seq, "occurred_at": datetime(2026, 1, 1, 0, seq, tzinfo=UTC),
                      "actor_id": None, "actor_role": None, "organisation_id": None,
                      "action": Action.AUDIT_SEARCH.value, "object_type": "user",
                      "object_id": str(uuid.uuid4()), "outcome": "allowed", "reason": None,
                      "request_id": None, "client_address": None}
            mac = compute_mac(key, prev, fields)
            conn.execute(sa.insert(table).values(prev_mac=prev, mac=mac, **fields))
            prev = mac
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, mac = :m WHERE id = 1")
                     .bindparams(sa.bindparam("s", n),
                                 sa.bindparam("m", prev, type_=sa.LargeBinary)))


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_a_single_chain_trail_verifies_after_the_upgrade(engine_name, tmp_path, instance_dir):
    from flask_migrate import upgrade

    from tests.helpers.apps import make_app
    from tests.helpers.databases import empty_database

    for uri in empty_database(engine_name, tmp_path):
        app = make_app(uri, instance_dir)
        with app.app_context():
            upgrade(revision="0021")
            _old_trail(app, 7)
            seed = app.config["KEY_AUDIT_SIGNING"]
            with db.engine.connect() as conn:
                mac7 = conn.execute(sa.text("SELECT mac FROM audit_events WHERE seq = 7")).scalar()
            old_cp = load(make(seed, 7, bytes(mac7), AT), signing_key(seed).public_key())
            upgrade()
            result = verify(app, checkpoints=[old_cp])  # a format-1 checkpoint: chain 0
            assert result.ok and result.count == 7 and result.heads == ((0, 7, bytes(mac7)),)
            db.session.remove()
        written = _write(app, [1, 0, 2, 1])
        assert min(s for s, _c in written) > 7
        result = verify(app, checkpoints=[old_cp])
        assert result.ok and result.count == 11
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_worker_processes_walk_every_chain(app, monkeypatch):
    from app.audit import chain

    monkeypatch.setattr(chain, "PARALLEL_MINIMUM", 1)
    monkeypatch.setattr(chain, "BATCH", 3)  # many spans, some holding nothing of a chain
    before = verify(app)
    written = _write(app, PLAN)
    result = verify(app, jobs=2)
    assert result.ok and result.count == before.count + len(PLAN)
    ones = _on(written, 1)
    with unlocked(app) as conn:
        delete(conn, ones[2])
    result = verify(app, jobs=2)
    assert (result.broken.seq, result.broken.kind) == (ones[1] + 1, BreakKind.DELETED)
