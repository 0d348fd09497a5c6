"""The publication grid: hierarchical dimensions and the tables that live on them.

Every statistic Amana publishes for an organisation and a calendar year is a cell of one fixed
grid: a table's counts by month of the year, by site and by one or two category dimensions,
each dimension with its totals (months roll up into quarters and the year, sites into all
sites, categories into the table's total). A request for a month, a quarter or the year, for a
site or for all sites, reads cells of this grid; suppression is decided once for the whole grid,
so no combination of requests shows more than the grid does.

Tables of one *family* count the same population (for example every consented GBV incident), so
their grand totals are one shared cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

ROOT = "*"


@dataclass(frozen=True)
class Dim:
    """A dimension: its leaves, optional groups of leaves (quarters) and the root (all)."""

    name: str
    leaves: tuple[str, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    root: str = ROOT
    parent: dict[str, str] = field(init=False, repr=False, compare=False)
    leafset: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.leaves)) != len(self.leaves) or not self.leaves:
            raise ValueError(f"dimension {self.name}: leaves must be distinct and non-empty")
        parent: dict[str, str] = {}
        for group, members in self.groups:
            for leaf in members:
                if leaf not in self.leaves or leaf in parent:
                    raise ValueError(f"dimension {self.name}: bad group {group}")
                parent[leaf] = group
            parent[group] = self.root
        for leaf in self.leaves:
            parent.setdefault(leaf, self.root)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "leafset", frozenset(self.leaves))

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node: leaves, then groups, then the root."""
        return (*self.leaves, *(g for g, _ in self.groups), self.root)

    def ancestors(self, node: str) -> list[str]:
        """``node`` and every node above it, up to the root."""
        out = [node]
        while out[-1] != self.root:
            out.append(self.parent[out[-1]])
        return out

    def leaves_under(self, node: str) -> tuple[str, ...]:
        if node == self.root:
            return self.leaves
        for group, members in self.groups:
            if group == node:
                return members
        if node in self.leaves:
            return (node,)
        raise KeyError(node)

    def level(self, node: str) -> int:
        """0 for a leaf, 1 for a group above leaves, and so on (the root is highest)."""
        return len(self.ancestors(self.leaves_under(node)[0])) - len(self.ancestors(node))


def months(year: int, through: int = 12) -> Dim:
    """Months ``YYYY-MM`` grouped in quarters ``YYYY-Qn``; the root is the year ``YYYY``.

    ``through`` is the last month in the grid: the current month for the current year, so
    that months still to come (zero by necessity, known to everyone) are not cells.
    """
    if not 1 <= through <= 12:
        raise ValueError("through must be a month number")
    leaves = tuple(f"{year:04d}-{m:02d}" for m in range(1, through + 1))
    groups = tuple((f"{year:04d}-Q{q}", leaves[3 * (q - 1):3 * q])
                   for q in range(1, 5) if leaves[3 * (q - 1):3 * q])
    return Dim("period", leaves, groups, root=f"{year:04d}")


def categories(name: str, codes: Iterable[str]) -> Dim:
    return Dim(name, tuple(codes))


def places(ids: Iterable[str]) -> Dim:
    """Sites (as strings); the root ``*`` is every site of the organisation."""
    return Dim("site", tuple(ids))


@dataclass(frozen=True)
class Table:
    """Counts by (month, site, category...) at the leaves; a missing key counts zero."""

    code: str
    family: str
    dims: tuple[Dim, ...]
    counts: Mapping[tuple[str, ...], int]
    roots: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roots", tuple(d.root for d in self.dims))


Key = tuple[str, ...]   # (family or table code, period node, site node, category nodes...)


def cell_key(table: Table, period: str, site: str, cats: Sequence[str]) -> Key:
    """The cell's identity: a table's grand total is its family's shared total."""
    if tuple(cats) == table.roots:
        return ("family:" + table.family, period, site)
    return (table.code, period, site, *cats)
