"""The tail of the audit trail cannot be cut unseen.

Triggers keep the head row moving only forward, in step with an inserted event; someone who
can drop the triggers (the tables' owner) can still cut the end off and rewind the head, and the
signed checkpoints kept outside the database, written automatically, catch that.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.db import db
from tests.test_audit_support import fill, row, verify


def _raw(app, sql: str, **params) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _head(app) -> tuple[int, bytes]:
    with app.app_context(), db.engine.connect() as conn:
        seq, mac = conn.exec_driver_sql("SELECT seq, mac FROM audit_head WHERE id = 1").one()
        return int(seq), bytes(mac)


# -- the trigger on audit_head ---------------------------------------------------------------

@pytest.mark.parametrize("how", ["rewind", "same-seq-other-mac", "forward-no-event",
                                 "forward-wrong-mac", "other-id"])
def test_head_moves_only_forward_with_an_event(app, how):
    last = fill(app, 4)
    with app.app_context(), db.engine.connect() as conn:
        macs = {s: row(conn, s)["mac"] for s in (last - 2, last)}
    seq, mac = _head(app)
    sql, params = {
        "rewind": ("UPDATE audit_head SET seq = :s, mac = :m", {"s": last - 2, "m": macs[last - 2]}),
        "same-seq-other-mac": ("UPDATE audit_head SET mac = :m", {"m": macs[last - 2]}),
        "forward-no-event": ("UPDATE audit_head SET seq = :s", {"s": last + 1}),
        "forward-wrong-mac": ("UPDATE audit_head SET seq = :s, mac = :m",
                              {"s": last + 1, "m": macs[last]}),
        "other-id": ("UPDATE audit_head SET id = 2", {}),
    }[how]
    with pytest.raises(DBAPIError) as refused:
        _raw(app, sql, **params)
    assert "audit head" in str(refused.value.orig)
    assert _head(app) == (seq, mac) == (last, macs[last])
    assert verify(app).ok


@pytest.mark.parametrize("sql", ["DELETE FROM audit_head",
                                 "INSERT INTO audit_head (id, seq, mac) "
                                 "SELECT 2, seq, mac FROM audit_head"])
def test_head_row_cannot_be_deleted_or_doubled(app, sql):
    last = fill(app, 2)
    with pytest.raises(DBAPIError) as refused:
        _raw(app, sql)
    assert "audit head" in str(refused.value.orig)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_head").scalar() == 1
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
