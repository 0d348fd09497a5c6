"""Many writers at once still make whole chains: no fork, no gap, no lost or doubled event.

Four processes append 200 events each, all at once, to the same database; then the whole trail
is verified (every chain). On PostgreSQL the writers spread over several chains (4 by default),
each serialised on its own head; on SQLite there is one. The PostgreSQL test runs in CI's
PostgreSQL pass (TEST_DATABASE_URL) and is skipped only when that is unset; the SQLite one runs
in the SQLite pass.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import db
from tests.helpers.apps import BACKEND
from tests.helpers.audit import verify

PROCESSES, EACH = 4, 200


def _writer(db_uri: str, instance: str, tag: int, start: object) -> None:
    from app.audit.actions import Action
    from app.audit.writer import record
    from app.db import transaction
    from tests.helpers.apps import make_app

    app = make_app(db_uri, Path(instance))
    with app.app_context():
        start.wait()  # type: ignore[attr-defined]
        for i in range(EACH):
            with transaction():
                record(Action.AUDIT_SEARCH, object_type="user", reason=f"w{tag}:{i}")
        db.engine.dispose()


def _run_writers(app, db_uri: str, instance_dir: Path) -> None:
    before = verify(app)
    assert before.ok
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_writer, args=(db_uri, str(instance_dir), tag, start))
             for tag in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    result = verify(app)
    assert result.ok, result.broken
    assert result.count == before.count + PROCESSES * EACH == result.end
    with app.app_context():
        reasons = db.session.execute(
            select(AuditEvent.reason).where(AuditEvent.seq > before.end).order_by(AuditEvent.seq)
        ).scalars().all()
    assert sorted(reasons) == sorted(f"w{t}:{i}" for t in range(PROCESSES) for i in range(EACH))
    # Each writer's own events stay in its order, and the writers really did run at once.
    for t in range(PROCESSES):
        mine = [int(r.split(":")[1]) for r in reasons if r.startswith(f"w{t}:")]
        assert mine == list(range(EACH))
    switches = sum(1 for a, b in zip(reasons, reasons[1:], strict=False) if a[:2] != b[:2])
    assert switches > PROCESSES, "the writers did not overlap; the test proved nothing"
    with app.app_context():
        used = set(db.session.execute(
            select(AuditEvent.chain).where(AuditEvent.seq > before.end).distinct()).scalars())
    assert len(used) == (1 if BACKEND == "sqlite" else 4), used  # several chains on PostgreSQL
    assert {c for c, _s, _m in result.heads} >= used


def test_postgresql_writers_in_parallel_keep_their_chains_whole(app, db_uri, instance_dir):
    if BACKEND != "postgresql":
        pytest.skip("needs TEST_DATABASE_URL (runs in CI's PostgreSQL pass)")
    _run_writers(app, db_uri, instance_dir)


def test_sqlite_writers_in_parallel_keep_one_chain_whole(app, db_uri, instance_dir):
    if BACKEND != "sqlite":
        pytest.skip("runs in the SQLite pass")
    _run_writers(app, db_uri, instance_dir)
