"""The attacker of the statistics: everything a programme manager can see, solved by LP.

The attacker holds every published number of the grid (every table, every month, quarter and
the year, every site and all sites, all row, column and grand totals) and knows how the tables
fit together: each published cell is the sum of the leaf counts under it, tables of one family
count one population (their grand totals are equal, published or not), and no count is
negative. For each withheld cell they solve two linear programmes (HiGHS through SciPy) for its
smallest and largest feasible value. This is tau-ARGUS's audit model for linked tables.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

from app.reports.grid import Key, Table, cell_key
from app.reports.suppression import Protection


@dataclass(frozen=True)
class Interval:
    key: Key
    low: float
    high: float

    @property
    def width(self) -> float:
        """The integer width: an attacker also knows counts are whole numbers."""
        if math.isinf(self.high):
            return math.inf
        return math.floor(self.high + 1e-6) - math.ceil(self.low - 1e-6)


class Attack:
    def __init__(self, protection: Protection) -> None:
        self.p = protection
        self.index: dict[tuple[str, tuple[str, ...]], int] = {}
        for table in protection.tables.values():
            dims = (protection.period, protection.site, *table.dims)
            for leaves in itertools.product(*(d.leaves for d in dims)):
                self.index[(table.code, leaves)] = len(self.index)
        self.expr: dict[Key, list[list[int]]] = {}   # one list of variables per table
        for table in protection.tables.values():
            for nodes, variables in self._cells(table):
                key = cell_key(table, nodes[0], nodes[1], nodes[2:])
                self.expr.setdefault(key, []).append(variables)
        rows: list[tuple[list[int], list[int], float]] = []
        for key, sums in self.expr.items():
            if key not in protection.withheld:
                rows.extend((v, [], protection.values[key]) for v in sums)
            else:
                rows.extend((sums[0], other, 0.0) for other in sums[1:])
        n = len(self.index)
        a = lil_matrix((len(rows), n))
        b = np.zeros(len(rows))
        for r, (plus, minus, value) in enumerate(rows):
            for v in plus:
                a[r, v] += 1
            for v in minus:
                a[r, v] -= 1
            b[r] = value
        self.a, self.b, self.n = a.tocsr(), b, n

    def _cells(self, table: Table) -> Iterator[tuple[tuple[str, ...], list[int]]]:
        p = self.p
        dims = (p.period, p.site, *table.dims)
        for nodes in itertools.product(*(d.nodes for d in dims)):
            leaves = itertools.product(*(d.leaves_under(x) for d, x in zip(dims, nodes,
                                                                           strict=True)))
            yield nodes, [self.index[(table.code, lv)] for lv in leaves]

    def interval(self, key: Key) -> Interval:
        c = np.zeros(self.n)
        c[self.expr[key][0]] = 1
        low = linprog(c, A_eq=self.a, b_eq=self.b, bounds=(0, None), method="highs")
        high = linprog(-c, A_eq=self.a, b_eq=self.b, bounds=(0, None), method="highs")
        assert low.status == 0, low.message
        top = math.inf if high.status == 3 else -high.fun
        assert high.status in (0, 3), high.message
        return Interval(key, low.fun, top)

    def narrow(self) -> list[Interval]:
        """Every withheld cell the attacker can pin to an interval narrower than k."""
        out = []
        for key in sorted(self.p.withheld):
            found = self.interval(key)
            if found.width < self.p.k:
                out.append(found)
        return out

    def truth_is_feasible(self) -> bool:
        """The real counts satisfy the attacker's system (the model is right)."""
        x = np.zeros(self.n)
        for table in self.p.tables.values():
            for leaves, count in table.counts.items():
                x[self.index[(table.code, leaves)]] = count
        return bool(np.allclose(self.a @ x, self.b))
