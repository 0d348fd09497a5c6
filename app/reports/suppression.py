"""Small-cell suppression over the publication grid (``app.reports.grid``).

The rule: every cell whose count is below ``k`` is withheld (primary suppression), and further
cells are withheld (secondary suppression) until nobody holding every published number of the
grid can narrow any withheld cell to an interval narrower than ``k``.

The method builds a proof for every withheld cell as it goes. A *move* is a change to the
leaf counts that leaves every published cell as it is: a product of one small vector per
dimension, each either a *single* leaf (+1 there, which also adds 1 to every total above it)
or a *pair* (+1 at one leaf, -1 at another, so the totals above both cancel). The move is
applied to one table, or, when it changes the table's grand total, to every table of the
family (each at a leaf chosen there), because their totals are one shared cell. If every cell
the move changes is withheld, then the counts plus ``t`` times the move are another table
consistent with everything published for every ``t`` in ``[-a, b]``, where ``a`` is the
smallest count the move decreases as ``t`` falls and ``b`` the smallest it decreases as ``t``
rises. So each cell the move touches can be anywhere in an interval ``a + b`` wide, whatever
else is published. The greedy below takes the primary cells from the most aggregated down
and, for each one not yet covered, chooses the cheapest move whose ``a + b`` is at least ``k``
(cheap: few and small newly withheld cells, detail before totals) and withholds every cell it
touches. Every withheld cell is then covered by a move at least ``k`` wide: the linear
programme an attacker would solve (``tests/test_suppression_attack.py`` solves it) can only
find a wider interval, never a narrower one. When no move is wide enough (a family with
almost nothing in the year), the whole family is withheld.

Primary and secondary cells are published with one mark, so a reader cannot tell which
withheld cells are small. This is the linear-programming guarantee of tau-ARGUS and sdcTable
("protection level" k on every sensitive cell, audit by LP on the linked tables), computed
with a heuristic instead of a solver.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.reports.grid import Dim, Key, Table, cell_key
from app.reports.suppression_moves import Move
from app.reports.suppression_search import Search

__all__ = ["Move", "Protection", "aggregate", "forget", "protect"]


@dataclass
class Protection:
    """Every cell of the grid: its value, or ``None`` where it is withheld."""

    k: int
    period: Dim
    site: Dim
    tables: dict[str, Table]
    values: dict[Key, int]
    withheld: set[Key]
    primary: set[Key]
    moves: list[Move] = field(default_factory=list)
    whole_families: set[str] = field(default_factory=set)
    empty: set[Key] = field(default_factory=set)

    def value(self, table: str, period: str, site: str, *cats: str) -> int | None:
        """The published count, or ``None`` when it is withheld."""
        key = cell_key(self.tables[table], period, site, cats)
        return None if key in self.withheld else self.values[key]

    def keys(self, table: Table) -> Iterable[Key]:
        """Every cell of ``table`` (its grand totals are its family's)."""
        dims = (self.period, self.site, *table.dims)
        for nodes in itertools.product(*(d.nodes for d in dims)):
            yield cell_key(table, nodes[0], nodes[1], nodes[2:])


def aggregate(period: Dim, site: Dim, tables: Sequence[Table]) -> dict[Key, int]:
    """Every cell's true value: each leaf count added to every cell above it.

    Tables of one family must count the same population: a table whose totals differ from
    its family's is refused (a category is missing, such as "not recorded").
    """
    values: dict[Key, int] = {}
    counted: dict[str, dict[Key, int]] = {}
    for table in tables:
        dims = (period, site, *table.dims)
        for nodes in itertools.product(*(d.nodes for d in dims)):
            values.setdefault(cell_key(table, nodes[0], nodes[1], nodes[2:]), 0)
        totals: dict[Key, int] = {}
        for leaves, count in table.counts.items():
            if not count:
                continue
            if count < 0 or len(leaves) != len(dims):
                raise ValueError(f"table {table.code}: bad count")
            for nodes in itertools.product(*(d.ancestors(n) for d, n in zip(dims, leaves,
                                                                             strict=True))):
                key = cell_key(table, nodes[0], nodes[1], nodes[2:])
                if key[0].startswith("family:"):
                    totals[key] = totals.get(key, 0) + count
                else:
                    values[key] += count
        first = counted.setdefault(table.family, totals)
        if first is not totals and first != totals:
            raise ValueError(f"table {table.code}: its totals differ from its family's")
        if first is totals:
            values.update(totals)
    return values


#: The last grids protected in this process, by everything that decides the result: the method
#: is deterministic, so a page asked again over unchanged data reads the same cells at no cost.
_RECENT: OrderedDict[tuple[object, ...], Protection] = OrderedDict()
_RECENT_SIZE = 8
_LOCK = threading.Lock()


def _fingerprint(period: Dim, site: Dim, tables: Sequence[Table], k: int) -> tuple[object, ...]:
    return (k, period, site, tuple(
        (t.code, t.family, t.dims, frozenset((key, n) for key, n in t.counts.items() if n))
        for t in tables))


def protect(period: Dim, site: Dim, tables: Sequence[Table], k: int, *,
            certificates: bool = False) -> Protection:
    """The grid's cells with every count below ``k`` withheld, and enough others withheld that
    nothing published narrows a withheld cell to an interval narrower than ``k``.

    The moves that prove it are kept in ``Protection.moves`` only with ``certificates``
    (tests): on a sparse year they hold most of the memory a remembered grid would take."""
    if k < 0:   # k = 0 withholds nothing: only tests of arithmetic ask for it
        raise ValueError("k cannot be negative")
    codes = [t.code for t in tables]
    if len(set(codes)) != len(codes) or any(c.startswith("family:") for c in codes):
        raise ValueError("table codes must be distinct")
    memo = (certificates, *_fingerprint(period, site, tables, k))
    with _LOCK:
        if memo in _RECENT:
            _RECENT.move_to_end(memo)
            return _RECENT[memo]
    search = Search(period, site, tables, k, aggregate(period, site, tables))
    primary, whole = search.run()
    found = Protection(k=k, period=period, site=site, tables=search.tables,
                       values=search.values, withheld=search.withheld, primary=primary,
                       moves=search.moves if certificates else [], whole_families=whole,
                       empty={key for key in search.values if search.empty(key)})
    with _LOCK:
        _RECENT[memo] = found
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)
    return found


def forget() -> None:
    """Drop the remembered grids (tests and benchmarks that time the method itself)."""
    with _LOCK:
        _RECENT.clear()
