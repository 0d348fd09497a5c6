"""Small-cell suppression over the publication grid (``app.reports.grid``).

INTERIM: every family with a count below k is withheld whole (safe, useless); the real
secondary suppression replaces this module's body, not its interface.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from app.reports.grid import Dim, Key, Table, cell_key


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

    def value(self, table: str, period: str, site: str, *cats: str) -> int | None:
        """The published count, or ``None`` when it is withheld."""
        key = cell_key(self.tables[table], period, site, cats)
        return None if key in self.withheld else self.values[key]


def aggregate(period: Dim, site: Dim, tables: Sequence[Table]) -> dict[Key, int]:
    """Every cell's true value (sums of the leaves under it)."""
    values: dict[Key, int] = {}
    for table in tables:
        dims = (period, site, *table.dims)
        for nodes in itertools.product(*(d.nodes for d in dims)):
            key = cell_key(table, nodes[0], nodes[1], nodes[2:])
            if key in values:
                continue
            total = 0
            for leaves in itertools.product(*(d.leaves_under(n) for d, n in zip(dims, nodes, strict=True))):
                total += table.counts.get(leaves, 0)
            values[key] = total
    return values


def protect(period: Dim, site: Dim, tables: Sequence[Table], k: int) -> Protection:
    """The grid's cells with every count below ``k`` withheld, and enough others withheld that
    nothing published narrows a withheld cell to an interval narrower than ``k``."""
    values = aggregate(period, site, tables)
    primary = {key for key, v in values.items() if v < k}
    family_of = {t.code: "family:" + t.family for t in tables}
    touched = {family_of.get(key[0], key[0]) for key in primary}
    withheld = {key for key in values if family_of.get(key[0], key[0]) in touched}
    return Protection(k=k, period=period, site=site, tables={t.code: t for t in tables},
                      values=values, withheld=withheld, primary=primary)
