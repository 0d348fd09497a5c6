"""Where the trail ends, read by code outside the audit area (backups name it in their manifest).

The trail is several chains (``app.audit.writer``), each with its head row in ``audit_head``
(id = chain number; a chain never written to names event 0). Callers get every head and the
highest sequence number, and never read the head table themselves. On PostgreSQL sequence
numbers may skip (a rolled-back transaction draws one), so the highest names where the trail
ends, not how many events it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

_HEADS = sa.text("SELECT id, seq, mac FROM audit_head ORDER BY id")


@dataclass(frozen=True)
class ChainHead:
    """The last event of one chain: its sequence number and MAC."""

    chain: int
    seq: int
    mac: bytes


def chain_heads(conn: sa.Connection) -> list[ChainHead]:
    """Every chain head, read on ``conn`` (in its transaction, so a snapshot sees its own)."""
    return [ChainHead(int(row[0]), int(row[1]), bytes(row[2]))
            for row in conn.execute(_HEADS)]


def last_seq(heads: list[ChainHead]) -> int:
    """The highest sequence number the heads name (0 for an empty trail)."""
    return max((h.seq for h in heads), default=0)
