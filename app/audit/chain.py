"""Walking the chain fast: one reader per database, span scans and an optional worker pool.

A scan reads events in sequence order in keyset batches (constant memory, no long lock) and
checks, for each event, that its sequence number follows the previous one, that its stored
``prev_mac`` is the previous event's MAC and that its MAC matches its fields. It stops at the
first event where any of this fails and reports that position; ``app.audit.verify`` then works
out what happened there.

Spans of the sequence can be scanned by separate processes (each with its own connection) and
stitched together in order: a span's first event must continue from the previous span's last.
This module imports no Flask code, so worker processes start quickly.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.audit.canonical import GENESIS_MAC, PRESENT, SEP, hmac_pads

Row = tuple[Any, ...]  # seq, prev_mac, mac, then the eleven field texts in canonical order
Progress = Callable[[int], None]
BATCH = 10_000
PARALLEL_MINIMUM = 100_000  # below this, starting worker processes costs more than it saves

_REST = ("action, object_type, object_id, outcome, reason, request_id, client_address "
         "FROM audit_events ")
_SELECT = {
    "sqlite": "SELECT seq, prev_mac, mac, occurred_at, actor_id, actor_role, organisation_id, "
              + _REST,
    # The same text SQLite stores: UTC time with microseconds, UUIDs as 32 hex digits.
    "postgresql": "SELECT seq, prev_mac, mac, "
                  "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
                  "encode(uuid_send(actor_id), 'hex'), actor_role, "
                  "encode(uuid_send(organisation_id), 'hex'), " + _REST,
}
_BATCH_WHERE = "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
_FROM_WHERE = "WHERE seq >= ? ORDER BY seq LIMIT ?"
_MAC_SQL = "SELECT mac FROM audit_events WHERE seq = ?"
_BOUNDS_SQL = ("SELECT h.seq, h.mac, (SELECT max(seq) FROM audit_events) "
               "FROM audit_head h WHERE h.id = 1")


class RowReader:
    """Reads audit rows as canonical text straight from a driver connection."""

    def __init__(self, driver_connection: Any, dialect: str) -> None:
        if dialect not in _SELECT:
            raise ValueError(f"audit verification does not support {dialect}")
        self.conn, self.dialect = driver_connection, dialect

        def placeholders(sql: str) -> str:  # psycopg takes %s where sqlite3 takes ?
            return sql if dialect == "sqlite" else sql.replace("?", "%s")

        self._batch_sql = placeholders(_SELECT[dialect] + _BATCH_WHERE)
        self._from_sql = placeholders(_SELECT[dialect] + _FROM_WHERE)
        self._mac_sql = placeholders(_MAC_SQL)

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        cur = (self.conn.cursor(binary=True) if self.dialect == "postgresql"
               else self.conn.cursor())
        try:
            cur.execute(sql, params)
            return list(cur.fetchall())
        except sqlite3.OperationalError as exc:
            if "decode" not in str(exc):
                raise
            return self._run_lenient(sql, params)  # text that is not UTF-8: a tampered row
        finally:
            cur.close()

    def _run_lenient(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        # Undecodable bytes become lone surrogates, which fail to encode when checked.
        self.conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        try:
            return list(self.conn.execute(sql, params).fetchall())
        finally:
            self.conn.text_factory = str

    def batch(self, after: int, upto: int, limit: int = BATCH) -> list[Row]:
        """Rows with ``after < seq <= upto``, in order, at most ``limit``."""
        return self._run(self._batch_sql, (after, upto, limit))

    def rows_from(self, start: int, limit: int) -> list[Row]:
        """Up to ``limit`` rows with ``seq >= start``, in order."""
        return self._run(self._from_sql, (start, limit))

    def mac_at(self, seq: int) -> bytes | None:
        """The stored MAC of event ``seq`` (the genesis value for 0), if it exists."""
        if seq == 0:
            return GENESIS_MAC
        cur = self.conn.cursor()
        try:
            cur.execute(self._mac_sql, (seq,))
            found = cur.fetchone()
        finally:
            cur.close()
        return bytes(found[0]) if found and isinstance(found[0], bytes | memoryview) else None

    def macs_at(self, seqs: Sequence[int], chunk: int = 500) -> dict[int, bytes]:
        """The stored MACs of the events ``seqs`` that exist (the genesis value for 0)."""
        found: dict[int, bytes] = {0: GENESIS_MAC} if 0 in seqs else {}
        wanted = sorted({s for s in seqs if s > 0})
        mark = "?" if self.dialect == "sqlite" else "%s"
        for i in range(0, len(wanted), chunk):
            part = wanted[i:i + chunk]
            cur = self.conn.cursor()
            try:
                cur.execute(f"SELECT seq, mac FROM audit_events WHERE seq IN "  # noqa: S608
                            f"({', '.join([mark] * len(part))})", tuple(part))
                rows = cur.fetchall()
            finally:
                cur.close()
            found.update((int(seq), bytes(mac)) for seq, mac in rows
                         if isinstance(mac, bytes | memoryview))
        return found

    def bounds(self) -> tuple[int, bytes, int]:
        """(head sequence, head MAC, highest stored sequence), read in one statement."""
        cur = self.conn.cursor()
        try:
            cur.execute(_BOUNDS_SQL)
            found = cur.fetchone()
        finally:
            cur.close()
        if found is None:
            raise RuntimeError("audit chain head is missing; run 'flask db upgrade'")
        return int(found[0]), bytes(found[1]), int(found[2] or 0)


@dataclass(frozen=True)
class Span:
    """What one scan of ``after < seq <= upto`` found."""

    count: int                 # events that checked out
    first_seq: int | None      # first event seen, and the MAC it says it follows
    first_prev: bytes | None
    last_seq: int | None       # last event that checked out, and its MAC
    last_mac: bytes | None
    fault: int | None          # first position where something does not check


def scan_span(reader: RowReader, key: bytes, after: int, upto: int,
              progress: Progress | None = None) -> Span:
    """Check every event in ``after < seq <= upto``; stop at the first fault."""
    inner, outer = hmac_pads(key)
    join = SEP.join
    p = PRESENT
    count = 0
    first_seq: int | None = None
    first_prev: bytes | None = None
    expected: int | None = None
    last: Any = None
    while True:
        rows = reader.batch(after, upto)
        if not rows:
            break
        for row in rows:
            seq, prev, mac, t, a, ro, o, ac, ot, oi, out, re, rq, ca = row
            if expected is None:
                first_seq, first_prev, expected, last = seq, prev, seq, prev
            if seq != expected or prev != last:
                return Span(count, first_seq, first_prev, expected - 1 if count else None,
                            last if count else None, expected)
            try:
                text = join((str(seq), p + t, "" if a is None else p + a,
                             "" if ro is None else p + ro, "" if o is None else p + o, p + ac,
                             "" if ot is None else p + ot, "" if oi is None else p + oi,
                             p + out, "" if re is None else p + re,
                             "" if rq is None else p + rq, "" if ca is None else p + ca))
                h = inner()  # HMAC-SHA256(key, prev || canonical), inlined: this is the hot loop
                h.update(prev + text.encode("utf-8"))
                digest = h.digest()
                h = outer()
                h.update(digest)
            except (TypeError, UnicodeEncodeError):
                h = None  # a value of the wrong type or not text: not what the writer wrote
            if h is None or h.digest() != mac:
                return Span(count, first_seq, first_prev, seq - 1 if count else None,
                            last if count else None, seq)
            last, expected = mac, seq + 1
            count += 1
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    return Span(count, first_seq, first_prev, expected - 1 if count and expected else None,
                last if count else None, None)


@dataclass(frozen=True)
class ScanOutcome:
    """The whole walk: events that checked out, where it ended and the first fault, if any."""

    count: int
    last_seq: int
    last_mac: bytes
    fault: int | None


def stitch(spans: Iterator[Span]) -> ScanOutcome:
    """Join consecutive spans; the first event overall must be 1 and follow the genesis MAC."""
    count, expected, running = 0, 1, GENESIS_MAC
    for span in spans:
        if span.first_seq is None:
            continue  # nothing stored in this span; a gap shows at the next event
        if span.first_seq != expected or span.first_prev != running:
            return ScanOutcome(count, expected - 1, running, expected)
        count += span.count
        if span.fault is not None:
            return ScanOutcome(count, span.fault - 1, span.last_mac or running, span.fault)
        assert span.last_seq is not None and span.last_mac is not None
        expected, running = span.last_seq + 1, span.last_mac
    return ScanOutcome(count, expected - 1, running, None)


# Worker processes: one engine each, made once.
_worker: dict[str, Any] = {}


def _init_worker(url: str, key: bytes) -> None:
    _worker["engine"] = sa.create_engine(url, poolclass=NullPool)
    _worker["key"] = key


def _scan_task(after: int, upto: int) -> Span:
    engine: sa.Engine = _worker["engine"]
    raw = engine.raw_connection()
    try:
        return scan_span(RowReader(raw.driver_connection, engine.dialect.name), _worker["key"],
                         after, upto)
    finally:
        raw.close()


def can_parallelise(engine: sa.Engine) -> bool:
    """Whether other processes can open this database (not an in-memory SQLite one)."""
    url = engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def scan_chain(engine: sa.Engine, reader: RowReader, key: bytes, upto: int, *, jobs: int = 1,
               progress: Progress | None = None) -> ScanOutcome:
    """Walk events 1..``upto``: in this process, or in ``jobs`` worker processes."""
    if jobs <= 1 or upto < PARALLEL_MINIMUM or not can_parallelise(engine):
        return stitch(iter([scan_span(reader, key, 0, upto, progress)]))
    size = max(BATCH, -(-upto // (jobs * 8)))
    bounds = [(lo, min(lo + size, upto)) for lo in range(0, upto, size)]
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(url, key)) as pool:
        futures: list[Future[Span]] = [pool.submit(_scan_task, lo, hi) for lo, hi in bounds]

        def in_order() -> Iterator[Span]:
            for (lo, hi), fut in zip(bounds, futures, strict=True):
                span = fut.result()
                if progress is not None:
                    progress(hi - lo)
                yield span
                if span.fault is not None:
                    break

        outcome = stitch(in_order())
        for fut in futures:
            fut.cancel()
    return outcome
