"""Verifying the audit trail: is it intact, and if not, where and how was it broken?

The walk (``app.audit.chain``) finds the first event that does not check out; this module then
reads a few events around it and names what most plausibly happened there:

- ``edited``: the event's fields (or its ``prev_mac``) were changed, while its MAC is still the
  one the chain continues from;
- ``deleted``: the event that belongs here is missing (a gap, or later events renumbered);
- ``swapped``: the event that belongs here is stored further on (two events exchanged places);
- ``forged``: a row whose MAC was not made with the audit key, which nothing continues from;
- ``truncated``: the end was cut off (the head row or a signed checkpoint names a later event),
  or the head row was moved back below a signed checkpoint;
- ``diverged``: the stored chain differs from a signed checkpoint at that event (rewritten by
  someone holding the key, or the checkpoint belongs to another trail);
- ``head``: every event checks out but the head row was altered.

Every checkpoint given is compared (one per distinct event and MAC): a checkpoint log signs
the head every few minutes, and ``flask audit verify`` reads the whole log by default
(``app.audit.checkpoint_log``). The sequence number reported is exact; the kind is the best
explanation of the evidence. At the
very end of the chain an edited event and a forged one look alike when the head row was changed
to match; signed checkpoints settle that.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from app.audit.canonical import GENESIS_MAC, CanonicalError, mac_of
from app.audit.chain import Progress, Row, RowReader, scan_chain
from app.audit.checkpoint import Checkpoint

WINDOW = 64  # events read after a fault to tell a swap or a renumbered deletion


class BreakKind(enum.StrEnum):
    """What is wrong at the first broken event."""

    EDITED = "edited"
    DELETED = "deleted"
    SWAPPED = "swapped"
    FORGED = "forged"
    TRUNCATED = "truncated"
    DIVERGED = "diverged"
    HEAD = "head"


# Exit status of ``flask audit verify`` (0: intact; 1: could not run; 2: usage).
EXIT_CODES: dict[BreakKind, int] = {
    BreakKind.EDITED: 3, BreakKind.DELETED: 4, BreakKind.SWAPPED: 5, BreakKind.FORGED: 6,
    BreakKind.TRUNCATED: 7, BreakKind.DIVERGED: 8, BreakKind.HEAD: 10,
}
EXIT_BAD_CHECKPOINT = 9


@dataclass(frozen=True)
class Break:
    """The first broken event and what is wrong there."""

    seq: int
    kind: BreakKind
    detail: str


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one verification."""

    count: int            # events that checked out
    end: int              # highest sequence number stored when the walk began
    last_mac: bytes       # MAC of the last event that checked out
    head_seq: int
    checkpoints: int      # signed checkpoints compared
    broken: Break | None
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the trail is intact."""
        return self.broken is None

    @property
    def exit_code(self) -> int:
        """The CLI's exit status for this result."""
        return 0 if self.broken is None else EXIT_CODES[self.broken.kind]

    @property
    def rate(self) -> float:
        """Events verified per second."""
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def code(self) -> str:
        """A short code for the audit row: ``intact`` or ``<kind>@<seq>``."""
        return "intact" if self.broken is None else f"{self.broken.kind}@{self.broken.seq}"


def _mac_ok(key: bytes, row: Row, prev: object, seq: int) -> bool:
    if not isinstance(prev, bytes):
        return False
    try:
        return bool(mac_of(key, prev, seq, row[3:]) == row[2])
    except (TypeError, ValueError, UnicodeEncodeError, CanonicalError):
        return False


def diagnose(reader: RowReader, key: bytes, k: int, head: tuple[int, bytes]) -> Break:
    """Explain the fault the walk found at position ``k`` (every event before it checked out)."""
    running = GENESIS_MAC if k == 1 else reader.mac_at(k - 1)
    rows = reader.rows_from(k, WINDOW)
    if not rows:
        return Break(k, BreakKind.TRUNCATED, f"event {k} and everything after it are missing")
    r0 = rows[0]
    seq = r0[0]
    if seq != k:
        return Break(k, BreakKind.DELETED, f"events {k} to {seq - 1} are missing")
    nxt = rows[1] if len(rows) > 1 else None
    links_forward = (nxt[1] == r0[2]) if nxt is not None else head == (seq, r0[2])
    if r0[1] == running:
        if links_forward:
            return Break(k, BreakKind.EDITED, "its fields no longer match its MAC")
        return Break(k, BreakKind.FORGED,
                     "its MAC was not made with the audit key and nothing continues from it")
    if _mac_ok(key, r0, running, seq):
        return Break(k, BreakKind.EDITED, "its link to the previous event (prev_mac) was changed")
    later = next((r for r in rows[1:] if r[1] == running), None)
    if later is not None:
        return Break(k, BreakKind.SWAPPED, f"the event that belongs here is stored at {later[0]}")
    if any(_mac_ok(key, r0, r0[1], seq + d) for d in range(1, WINDOW)):
        return Break(k, BreakKind.DELETED,
                     "the event before it is missing and later events were renumbered")
    if links_forward:
        return Break(k, BreakKind.EDITED, "its fields and its link no longer match its MAC")
    return Break(k, BreakKind.FORGED,
                 "it does not follow the previous event and its MAC was not made with the key")


def _signed(cp: Checkpoint) -> str:
    return f"the checkpoint signed {cp.time:%Y-%m-%d %H:%M} UTC"


def distinct(checkpoints: Sequence[Checkpoint]) -> list[Checkpoint]:
    """One checkpoint per (event, MAC), the earliest signed, highest event first (a log signs
    the same head again while the trail is not written)."""
    first: dict[tuple[int, bytes], Checkpoint] = {}
    for cp in sorted(checkpoints, key=lambda c: c.time):
        first.setdefault((cp.seq, cp.mac), cp)
    return sorted(first.values(), key=lambda c: (-c.seq, c.time))


def _checkpoint_breaks(checkpoints: Sequence[Checkpoint], stored: dict[int, bytes], end: int,
                       limit: int | None) -> list[Break]:
    found: list[Break] = []
    for cp in checkpoints:
        if cp.seq > end:
            if limit is None:
                ends = f"the trail ends at {end}" if end else "the trail is empty"
                found.append(Break(end + 1, BreakKind.TRUNCATED,
                                   f"{_signed(cp)} names event {cp.seq}, but {ends}"))
        elif (limit is None or cp.seq < limit) and stored.get(cp.seq) != cp.mac:
            found.append(Break(cp.seq, BreakKind.DIVERGED, f"the event differs from {_signed(cp)}"))
    return found


def _head_break(head_seq: int, head_mac: bytes, end: int, last_mac: bytes,
                vouched: Checkpoint | None) -> Break | None:
    """What is wrong with the head row when every event checks out; ``vouched`` is the highest
    checkpoint the stored events match."""
    if head_seq > end:
        return Break(end + 1, BreakKind.TRUNCATED,
                     f"the head names event {head_seq}, but the trail ends at {end}")
    if head_seq < end:
        if vouched is not None and vouched.seq > head_seq:
            return Break(head_seq + 1, BreakKind.TRUNCATED,
                         f"the head was moved back to event {head_seq}, but {_signed(vouched)} "
                         f"names event {vouched.seq}")
        return Break(head_seq + 1, BreakKind.FORGED,
                     f"events after the head ({head_seq}) were added outside the writer")
    if head_mac != last_mac:
        return Break(end, BreakKind.HEAD, "the head row does not hold the last event's MAC")
    return None


def verify_chain(engine: sa.Engine, key: bytes, *, checkpoints: Sequence[Checkpoint] = (),
                 jobs: int = 1, progress: Progress | None = None,
                 on_start: Progress | None = None) -> VerifyResult:
    """Walk the whole trail and compare it with its head row and any signed checkpoints.

    ``on_start`` is told how many events will be walked; ``progress`` how many were done.
    Reads use a connection of their own and take no write lock.
    """
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        reader = RowReader(raw.driver_connection, engine.dialect.name)
        head_seq, head_mac, end = reader.bounds()
        if on_start is not None:
            on_start(end)
        scan = scan_chain(engine, reader, key, end, jobs=jobs, progress=progress)
        signed = distinct(checkpoints)
        stored = reader.macs_at([cp.seq for cp in signed if cp.seq <= end])
        breaks: list[Break] = []
        if scan.fault is not None:
            breaks.append(diagnose(reader, key, scan.fault, (head_seq, head_mac)))
        else:
            vouched = next((cp for cp in signed if stored.get(cp.seq) == cp.mac), None)
            head_break = _head_break(head_seq, head_mac, end, scan.last_mac, vouched)
            if head_break is not None:
                breaks.append(head_break)
        breaks += _checkpoint_breaks(signed, stored, end, scan.fault)
    finally:
        raw.close()
    priority = list(BreakKind)
    first = min(breaks, key=lambda b: (b.seq, priority.index(b.kind)), default=None)
    return VerifyResult(count=scan.count, end=end, last_mac=scan.last_mac, head_seq=head_seq,
                        checkpoints=len(signed), broken=first,
                        seconds=time.perf_counter() - started)
