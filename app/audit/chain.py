"""Walking a chain fast: one reader per chain, span scans and an optional worker pool.

The trail is made of independent chains (``AuditEvent.chain``); each is walked on its own. A
scan reads one chain's events in sequence order in keyset batches (constant memory, no long
lock) and checks, for each event, that its stored ``prev_mac`` is the previous event's MAC in
that chain (the first event's is the genesis value) and that its MAC matches its fields, which
include its sequence number. Sequence numbers grow along a chain but need not be consecutive
(other chains' events come in between), so a removed event shows as a broken link. The scan
stops at the first event where any of this fails and reports its sequence number;
``app.audit.verify`` then works out what happened there.

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
_BATCH_WHERE = "WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
_FROM_WHERE = "WHERE chain = ? AND seq >= ? ORDER BY seq LIMIT ?"
_HEADS_SQL = ("SELECT h.id, h.seq, h.mac, "
              "(SELECT max(e.seq) FROM audit_events e WHERE e.chain = h.id) "
              "FROM audit_head h ORDER BY h.id")
_CHAIN_END_SQL = "SELECT max(seq) FROM audit_events WHERE chain = ?"
# Both ends of the (chain, seq) index: events on a chain that has no head would not be walked.
_CHAIN_RANGE_SQL = "SELECT min(chain), max(chain) FROM audit_events"


@dataclass(frozen=True)
class Head:
    """One chain as stored: its head row (seq 0 and the genesis MAC when it has none) and the
    highest sequence number stored on it (0 when none)."""

    chain: int
    seq: int
    mac: bytes
    end: int
    has_row: bool = True


class RowReader:
    """Reads audit rows as canonical text straight from a driver connection."""

    def __init__(self, driver_connection: Any, dialect: str, chain: int = 0) -> None:
        if dialect not in _SELECT:
            raise ValueError(f"audit verification does not support {dialect}")
        self.conn, self.dialect, self.chain = driver_connection, dialect, chain

        def placeholders(sql: str) -> str:  # psycopg takes %s where sqlite3 takes ?
            return sql if dialect == "sqlite" else sql.replace("?", "%s")

        self._batch_sql = placeholders(_SELECT[dialect] + _BATCH_WHERE)
        self._from_sql = placeholders(_SELECT[dialect] + _FROM_WHERE)
        self._placeholders = placeholders

    def on(self, chain: int) -> RowReader:
        """A reader of another chain on the same connection."""
        return RowReader(self.conn, self.dialect, chain)

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
        return self._run(self._batch_sql, (self.chain, after, upto, limit))

    def rows_from(self, start: int, limit: int) -> list[Row]:
        """Up to ``limit`` rows with ``seq >= start``, in order."""
        return self._run(self._from_sql, (self.chain, start, limit))

    def macs_at(self, seqs: Sequence[int], chunk: int = 500) -> dict[int, tuple[int, bytes]]:
        """The chain and stored MAC of each of the events ``seqs`` that exist."""
        found: dict[int, tuple[int, bytes]] = {}
        wanted = sorted({s for s in seqs if s > 0})
        mark = "?" if self.dialect == "sqlite" else "%s"
        for i in range(0, len(wanted), chunk):
            part = wanted[i:i + chunk]
            cur = self.conn.cursor()
            try:
                cur.execute(f"SELECT seq, chain, mac FROM audit_events WHERE seq IN "  # noqa: S608
                            f"({', '.join([mark] * len(part))})", tuple(part))
                rows = cur.fetchall()
            finally:
                cur.close()
            found.update((int(seq), (int(chain), bytes(mac))) for seq, chain, mac in rows
                         if isinstance(mac, bytes | memoryview))
        return found

    def seq_of_mac(self, mac: bytes, below: int) -> int | None:
        """The event of this chain below ``below`` whose MAC is ``mac``, if any (a scan of the
        chain: used only to explain a break)."""
        found = self._all("SELECT max(seq) FROM audit_events WHERE chain = ? AND seq < ? "
                          "AND mac = ?", (self.chain, below, mac))
        return int(found[0][0]) if found and found[0][0] is not None else None

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        cur = self.conn.cursor()
        try:
            cur.execute(self._placeholders(sql), params)
            return list(cur.fetchall())
        finally:
            cur.close()

    def heads(self) -> list[Head]:
        """Every chain to walk: each head row, and any chain holding events without one."""
        found = [Head(int(c), int(s), bytes(m), int(e or 0)) for c, s, m, e in
                 self._all(_HEADS_SQL)]
        if not found:
            raise RuntimeError("audit chain head is missing; run 'flask db upgrade'")
        low, high = self._all(_CHAIN_RANGE_SQL)[0]
        known = {h.chain for h in found}
        if low is not None:
            for chain in range(int(low), int(high) + 1):
                if chain not in known:
                    end = self._all(_CHAIN_END_SQL, (chain,))[0][0]
                    if end is not None:
                        found.append(Head(chain, 0, GENESIS_MAC, int(end), has_row=False))
        return sorted(found, key=lambda h: h.chain)


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
    last_seq: int | None = None
    last: Any = None
    while True:
        rows = reader.batch(after, upto)
        if not rows:
            break
        for row in rows:
            seq, prev, mac, t, a, ro, o, ac, ot, oi, out, re, rq, ca = row
            if first_seq is None:
                first_seq, first_prev, last = seq, prev, prev
            if prev != last:
                return Span(count, first_seq, first_prev, last_seq, last if count else None, seq)
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
                return Span(count, first_seq, first_prev, last_seq, last if count else None, seq)
            last, last_seq = mac, seq
            count += 1
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    return Span(count, first_seq, first_prev, last_seq, last if count else None, None)


@dataclass(frozen=True)
class ScanOutcome:
    """The whole walk: events that checked out, where it ended and the first fault, if any."""

    count: int
    last_seq: int
    last_mac: bytes
    fault: int | None


def stitch(spans: Iterator[Span]) -> ScanOutcome:
    """Join consecutive spans of one chain; its first event must follow the genesis MAC."""
    count, last_seq, running = 0, 0, GENESIS_MAC
    for span in spans:
        if span.first_seq is None:
            continue  # nothing stored in this span; a removed event shows at the next one
        if span.first_prev != running:
            return ScanOutcome(count, last_seq, running, span.first_seq)
        count += span.count
        if span.fault is not None:
            return ScanOutcome(count, span.last_seq or last_seq, span.last_mac or running,
                               span.fault)
        assert span.last_seq is not None and span.last_mac is not None
        last_seq, running = span.last_seq, span.last_mac
    return ScanOutcome(count, last_seq, running, None)


# Worker processes: one engine each, made once.
_worker: dict[str, Any] = {}


def _init_worker(url: str, key: bytes) -> None:
    _worker["engine"] = sa.create_engine(url, poolclass=NullPool)
    _worker["key"] = key


def _scan_task(chain: int, after: int, upto: int) -> Span:
    engine: sa.Engine = _worker["engine"]
    raw = engine.raw_connection()
    try:
        return scan_span(RowReader(raw.driver_connection, engine.dialect.name, chain),
                         _worker["key"], after, upto)
    finally:
        raw.close()


def can_parallelise(engine: sa.Engine) -> bool:
    """Whether other processes can open this database (not an in-memory SQLite one)."""
    url = engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def scan_chain(engine: sa.Engine, reader: RowReader, key: bytes, upto: int, *, jobs: int = 1,
               progress: Progress | None = None) -> ScanOutcome:
    """Walk the reader's chain up to event ``upto``: in this process, or in ``jobs`` worker
    processes."""
    if jobs <= 1 or upto < PARALLEL_MINIMUM or not can_parallelise(engine):
        return stitch(iter([scan_span(reader, key, 0, upto, progress)]))
    size = max(BATCH, -(-upto // (jobs * 8)))
    bounds = [(lo, min(lo + size, upto)) for lo in range(0, upto, size)]
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(url, key)) as pool:
        futures: list[Future[Span]] = [pool.submit(_scan_task, reader.chain, lo, hi) for lo, hi in bounds]

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
