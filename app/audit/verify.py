"""Verifying the audit trail: is it intact, and if not, where and how was it broken?

The trail is several independent chains; each is walked (``app.audit.chain``) to the first event
that does not check out and compared with its own head row and with the head each signed
checkpoint names for it. For a broken chain this module reads a few events around the fault
and names what most plausibly happened there:

- ``edited``: the event's fields (or its ``prev_mac``) were changed, while its MAC is still the
  one the chain continues from;
- ``deleted``: events before this one in its chain are missing (it is intact but follows an
  event that is not there, or later events were renumbered);
- ``swapped``: the event that belongs here is stored further on (two events exchanged places);
- ``forged``: a row whose MAC was not made with the audit key, which nothing continues from;
- ``truncated``: the end was cut off (the head row or a signed checkpoint names a later event),
  or the head row was moved back below a signed checkpoint, or moved back and written on from
  there (an event continues from an earlier one of its chain);
- ``diverged``: the stored chain differs from a signed checkpoint at that event (rewritten by
  someone holding the key, or the checkpoint belongs to another trail);
- ``head``: every event checks out but the head row was altered.

Every checkpoint given is compared (one per distinct set of heads): a checkpoint log signs
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
from app.audit.chain import Head, Progress, Row, RowReader, ScanOutcome, scan_chain
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
    last_mac: bytes       # MAC of the highest event that checked out
    head_seq: int         # the highest head
    checkpoints: int      # signed checkpoints compared
    broken: Break | None
    seconds: float
    heads: tuple[tuple[int, int, bytes], ...] = ()  # each chain's last event that checked out

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


def diagnose(reader: RowReader, key: bytes, k: int, running: tuple[int, bytes],
             head: tuple[int, bytes]) -> Break:
    """Explain the fault the walk found at event ``k`` of the reader's chain (every event
    before it checked out, the last being ``running``: its seq, or 0, and its MAC). Missing
    events are reported at the number after the last intact one."""
    intact, running_mac = running
    chain = f"chain {reader.chain}"
    rows = reader.rows_from(k, WINDOW)
    if not rows:
        return Break(k, BreakKind.TRUNCATED, f"event {k} and everything after it are missing")
    r0 = rows[0]
    seq = r0[0]
    if seq != k:
        return Break(k, BreakKind.DELETED, f"events {k} to {seq - 1} are missing")
    nxt = rows[1] if len(rows) > 1 else None
    links_forward = (nxt[1] == r0[2]) if nxt is not None else head == (seq, r0[2])
    if r0[1] == running_mac:
        if links_forward:
            return Break(k, BreakKind.EDITED, "its fields no longer match its MAC")
        return Break(k, BreakKind.FORGED,
                     "its MAC was not made with the audit key and nothing continues from it")
    if _mac_ok(key, r0, running_mac, seq):
        return Break(k, BreakKind.EDITED, "its link to the previous event (prev_mac) was changed")
    later = next((r for r in rows[1:] if r[1] == running_mac), None)
    if later is not None:
        return Break(k, BreakKind.SWAPPED, f"the event that belongs here is stored at {later[0]}")
    forked = r0[1] != GENESIS_MAC and reader.seq_of_mac(r0[1], intact) if intact else None
    if forked and _mac_ok(key, r0, r0[1], seq):
        return Break(k, BreakKind.TRUNCATED,
                     f"it continues from event {forked}: the head of {chain} was moved back "
                     f"there and events after it were cut off the chain")
    if _mac_ok(key, r0, r0[1], seq):
        return Break(intact + 1, BreakKind.DELETED,
                     f"event {seq} is intact, but the event it follows on {chain} (after "
                     f"{intact or 'its start'}) is missing")
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
    """One checkpoint per set of heads, the earliest signed, highest event first (a log signs
    the same heads again while the trail is not written)."""
    first: dict[tuple[tuple[int, int, bytes], ...], Checkpoint] = {}
    for cp in sorted(checkpoints, key=lambda c: c.time):
        first.setdefault(cp.chain_heads, cp)
    return sorted(first.values(), key=lambda c: (-c.seq, c.time))


def _checkpoint_breaks(checkpoints: Sequence[Checkpoint], stored: dict[int, tuple[int, bytes]],
                       head: Head, limit: int | None) -> list[Break]:
    """Where the chain of ``head`` differs from what the checkpoints say of it (only below the
    walk's fault ``limit``, if any)."""
    found: list[Break] = []
    for cp in checkpoints:
        for chain, seq, mac in cp.chain_heads:
            if chain != head.chain:
                continue
            if seq > head.end:
                if limit is None:
                    ends = (f"chain {chain} ends at {head.end}" if head.end
                            else f"chain {chain} is empty")
                    found.append(Break(head.end + 1, BreakKind.TRUNCATED,
                                       f"{_signed(cp)} names event {seq}, but {ends}"))
            elif (limit is None or seq < limit) and stored.get(seq) != (chain, mac):
                found.append(Break(seq, BreakKind.DIVERGED,
                                   f"the event differs from {_signed(cp)}"))
    return found


def _head_break(reader: RowReader, head: Head, scan: ScanOutcome,
                vouched: tuple[Checkpoint, int] | None) -> Break | None:
    """What is wrong with a chain's head row when every event on it checks out; ``vouched`` is
    the highest checkpoint the stored chain matches, and the event it names on this chain."""
    if head.seq > head.end:
        return Break(head.end + 1, BreakKind.TRUNCATED,
                     f"the head of chain {head.chain} names event {head.seq}, but the chain "
                     + (f"ends at {head.end}" if head.end else "is empty"))
    if head.seq < head.end:
        after = reader.rows_from(head.seq + 1, 1)
        first = after[0][0] if after else head.seq + 1
        if vouched is not None and vouched[1] > head.seq:
            return Break(first, BreakKind.TRUNCATED,
                         f"the head of chain {head.chain} was moved back to event {head.seq}, "
                         f"but {_signed(vouched[0])} names event {vouched[1]}")
        where = (f"the head of chain {head.chain} ({head.seq})" if head.has_row
                 else f"chain {head.chain}, which has no head,")
        return Break(first, BreakKind.FORGED, f"events after {where} were added outside the "
                                              "writer")
    if head.mac != scan.last_mac:
        return Break(head.end, BreakKind.HEAD,
                     f"the head of chain {head.chain} does not hold its last event's MAC")
    return None


def _vouched(signed: Sequence[Checkpoint], stored: dict[int, tuple[int, bytes]], chain: int
             ) -> tuple[Checkpoint, int] | None:
    for cp in signed:  # highest first
        for c, seq, mac in cp.chain_heads:
            if c == chain and stored.get(seq) == (c, mac):
                return cp, seq
    return None


def verify_chain(engine: sa.Engine, key: bytes, *, checkpoints: Sequence[Checkpoint] = (),
                 jobs: int = 1, progress: Progress | None = None,
                 on_start: Progress | None = None) -> VerifyResult:
    """Walk every chain and compare each with its head row and any signed checkpoints.

    ``on_start`` is told the highest event stored (the walk's length when there is one chain);
    ``progress`` how many were done. Reads use a connection of their own and take no write
    lock. The first break reported is the lowest-numbered one over all chains.
    """
    started = time.perf_counter()
    raw = engine.raw_connection()
    count = 0
    breaks: list[Break] = []
    walked: list[tuple[int, int, bytes]] = []
    try:
        reader = RowReader(raw.driver_connection, engine.dialect.name)
        heads = reader.heads()
        end = max(h.end for h in heads)
        if on_start is not None:
            on_start(end)
        signed = distinct(checkpoints)
        stored = reader.macs_at([seq for cp in signed for _c, seq, _m in cp.chain_heads
                                 if seq <= end])
        for head in heads:
            on = reader.on(head.chain)
            scan = scan_chain(engine, on, key, head.end, jobs=jobs, progress=progress)
            count += scan.count
            if scan.count:
                walked.append((head.chain, scan.last_seq, scan.last_mac))
            if scan.fault is not None:
                breaks.append(diagnose(on, key, scan.fault, (scan.last_seq, scan.last_mac),
                                       (head.seq, head.mac)))
            else:
                head_break = _head_break(on, head, scan, _vouched(signed, stored, head.chain))
                if head_break is not None:
                    breaks.append(head_break)
            breaks += _checkpoint_breaks(signed, stored, head, scan.fault)
        known = {h.chain for h in heads}
        for cp in signed:  # a chain a checkpoint names that is no longer there at all
            for chain, seq, _mac in cp.chain_heads:
                if chain not in known:
                    breaks.append(Break(seq, BreakKind.TRUNCATED,
                                        f"{_signed(cp)} names event {seq} of chain {chain}, "
                                        "which is gone"))
    finally:
        raw.close()
    priority = list(BreakKind)
    first = min(breaks, key=lambda b: (b.seq, priority.index(b.kind)), default=None)
    last_seq, last_mac = max(((s, m) for _c, s, m in walked), default=(0, GENESIS_MAC))
    return VerifyResult(count=count, end=end, last_mac=last_mac,
                        head_seq=max(h.seq for h in heads), checkpoints=len(signed),
                        broken=first, seconds=time.perf_counter() - started,
                        heads=tuple(walked))
