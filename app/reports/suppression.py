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
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from app.reports.grid import Dim, Key, Table, cell_key

Vector = dict[str, int]          # node -> +1 / -1 (the sum of a move's leaves under the node)
PARTNERS = 2                     # partners tried per dimension for each withheld cell


@dataclass(frozen=True)
class Move:
    """A certificate: the cells a move changes (+1 / -1) and how far it can go each way."""

    changes: dict[Key, int]
    down: float          # a: the move may be taken back this far...
    up: float            # ...and forward this far (infinite when nothing limits it)

    @property
    def width(self) -> float:
        return self.down + self.up


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


@dataclass(frozen=True)
class Option:
    """One dimension's part of a move: its vector, the leaf it adds to and (a pair) the leaf
    it takes from. Every option has exactly these one or two leaves: its *corners*."""

    vector: Vector
    plus: str
    minus: str | None = None
    leaves: tuple[str, ...] = field(init=False, repr=False, compare=False)
    signs: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        single = self.minus is None
        object.__setattr__(self, "leaves", (self.plus,) if single else (self.plus, self.minus))
        object.__setattr__(self, "signs", (0,) if single else (0, 1))


def single(dim: Dim, leaf: str) -> Vector:
    return dict.fromkeys(dim.ancestors(leaf), 1)


def pair(dim: Dim, plus: str, minus: str) -> Vector:
    vec: Vector = {}
    for node in dim.ancestors(plus):
        vec[node] = vec.get(node, 0) + 1
    for node in dim.ancestors(minus):
        vec[node] = vec.get(node, 0) - 1
    return {n: v for n, v in vec.items() if v}


@dataclass(frozen=True)
class _Part:
    """One table's share of a family move: its extent, its corner cells, every cell."""

    down: float
    up: float
    corners: list[Key]
    cells: list[tuple[Key, int]]


class _Search:
    """The greedy over one grid (see the module docstring)."""

    def __init__(self, period: Dim, site: Dim, tables: Sequence[Table], k: int) -> None:
        self.period, self.site, self.k = period, site, k
        self.tables = {t.code: t for t in tables}
        self.family: dict[str, list[Table]] = {}
        for t in tables:
            self.family.setdefault(t.family, []).append(t)
        self.values = aggregate(period, site, tables)
        self.withheld: set[Key] = set()
        self.covered: set[Key] = set()
        self.moves: list[Move] = []
        self.levels: dict[Key, int] = {}
        self.weights: dict[Key, float] = {}
        self.parts: dict[tuple[str, str, str | None, str, str | None], _Part] = {}
        self.made: dict[tuple[str, str, str | None], Option] = {}
        self.bound = math.inf   # the cost of the best move found so far for the current cell
        self.followers: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[Option]] = {}

    # -- costs and values -------------------------------------------------------------------
    def family_of(self, key: Key) -> str:
        if key[0].startswith("family:"):
            return key[0].removeprefix("family:")
        return self.tables[key[0]].family

    def table_and_cats(self, key: Key) -> tuple[Table, tuple[str, ...]]:
        if key[0].startswith("family:"):
            table = self.family[self.family_of(key)][0]
            return table, tuple(d.root for d in table.dims)
        return self.tables[key[0]], tuple(key[3:])

    def level(self, key: Key) -> int:
        found = self.levels.get(key)
        if found is None:
            table, cats = self.table_and_cats(key)
            dims = (self.period, self.site, *table.dims)
            found = self.levels[key] = sum(
                d.level(n) for d, n in zip(dims, (key[1], key[2], *cats), strict=True))
        return found

    def weight(self, key: Key) -> float:
        """What withholding the cell costs: more for totals and for big counts."""
        found = self.weights.get(key)
        if found is None:
            total = 4 if key[0].startswith("family:") else 1
            found = self.weights[key] = float(
                total * math.sqrt(1 + self.values[key]) * 4.0 ** self.level(key))
        return found

    def rank(self, keys: list[tuple[str, Key]]) -> list[str]:
        """Partner nodes worth trying: the largest, and the largest already withheld (free)."""
        keys.sort(key=lambda nk: -self.values[nk[1]])
        chosen = [n for n, _ in keys[:PARTNERS]]
        free = [n for n, key in keys if key in self.withheld and n not in chosen]
        return chosen + free[:1]

    def option(self, dim: Dim, plus: str, minus: str | None = None) -> Option:
        """The single at ``plus``, or the pair ``plus``/``minus`` (made once per search)."""
        memo = (dim.name, plus, minus)
        found = self.made.get(memo)
        if found is None:
            vector = single(dim, plus) if minus is None else pair(dim, plus, minus)
            found = self.made[memo] = Option(vector, plus, minus)
        return found

    # -- candidate vectors per dimension ----------------------------------------------------
    def options(self, dim: Dim, node: str, probe: Callable[[str], Key]) -> list[Option]:
        """Options for ``dim`` that change ``node``: singles and pairs with good partners.

        ``probe(n)`` is the key of the target cell with this dimension's node replaced by
        ``n``, used to rank partners by their counts.
        """
        under = dim.leaves_under(node)
        out: list[Option] = []
        if node in dim.leaves:
            others = [leaf for leaf in dim.leaves if leaf != node]
            # partners under the same parent first (their pair leaves every total unchanged)
            close = [leaf for leaf in others if dim.parent[leaf] == dim.parent[node]]
            far = [leaf for leaf in others if dim.parent[leaf] != dim.parent[node]]
            for group in (close, far):
                for partner in self.rank([(leaf, probe(leaf)) for leaf in group]):
                    out.append(self.option(dim, node, partner))
                if out:
                    break
            out.append(self.option(dim, node))
            return out
        for leaf in self.rank([(leaf, probe(leaf)) for leaf in under]):
            out.append(self.option(dim, leaf))
        if node != dim.root:
            outside = [leaf for leaf in dim.leaves if leaf not in under]
            inside = self.rank([(leaf, probe(leaf)) for leaf in under])[:1]
            for leaf in self.rank([(leaf, probe(leaf)) for leaf in outside]):
                out.extend(self.option(dim, i, leaf) for i in inside)
        return out

    # -- evaluating a move --------------------------------------------------------------------
    def changes(self, table: Table, vectors: Sequence[Vector], into: dict[Key, int],
                spent: float = 0.0) -> float | None:
        """Add the move given by one vector per dimension of ``table``, and return what its
        cells not withheld yet cost in all (``spent`` before); None if the move is
        inconsistent or already dearer than the best found for the current cell."""
        withheld, bound = self.withheld, self.bound
        for parts in itertools.product(*(v.items() for v in vectors)):
            sign = 1
            for _, s in parts:
                sign *= s
            nodes = [n for n, _ in parts]
            key = cell_key(table, nodes[0], nodes[1], nodes[2:])
            found = into.get(key)
            if found is None:
                into[key] = sign
                if key not in withheld:
                    spent += self.weight(key)
                    if spent > bound:
                        return None
            elif found != sign:
                return None
        return spent

    def corners(self, table: Table, options: Sequence[Option], down: float = math.inf,
                up: float = math.inf, seen: list[Key] | None = None,
                stop: bool = True) -> tuple[float, float]:
        """How far a move may go each way inside one table (``down``, ``up``: what other
        tables already allow), from its corner cells only (each option's plus or minus leaf):
        every other cell it changes lies above a corner of the same sign, so it holds at
        least as much and cannot be the smallest. It stops once the width is below k (it can
        only shrink; ``stop=False`` looks at every corner). The corners looked at are added
        to ``seen``."""
        head = (table.code,) if table.dims else ("family:" + table.family,)
        values, k = self.values, self.k
        for leaves, signs in zip(itertools.product(*(o.leaves for o in options)),
                                 itertools.product(*(o.signs for o in options)),
                                 strict=True):
            key = head + leaves
            value = values[key]
            if seen is not None:
                seen.append(key)
            if sum(signs) & 1:
                if value < up:
                    up = value
            elif value < down:
                down = value
            if stop and down + up < k:
                break
        return down, up

    def dearer(self, cells: Iterable[Key]) -> bool:
        """Whether withholding ``cells`` (part of a move) already costs more than the best
        move found for the current cell: then the whole move does too."""
        cost = 0.0
        for cell in cells:
            if cell not in self.withheld:
                cost += self.weight(cell)
                if cost > self.bound:
                    return True
        return False

    def family_move(self, family: str, to: Option, so: Option,
                    fixed: tuple[Table, Sequence[Option]]) -> tuple[Move, float] | None:
        """A move that changes the family total by ``to x so``: every table of the family
        follows it at one leaf combination (``fixed`` for the target's table; elsewhere the
        combination with the largest counts where the move takes away). None when it is
        narrower than k (found from the corners, before any cell is listed) or inconsistent."""
        minus_t = tuple(n for n, s in to.vector.items() if s < 0) or tuple(to.vector)
        minus_s = tuple(n for n, s in so.vector.items() if s < 0) or tuple(so.vector)
        table, options = fixed[0], [to, so, *fixed[1]]
        down = up = math.inf
        seen: list[Key] = []
        for t in self.family[family]:
            if t is table:
                down, up = self.corners(t, options, down, up, seen)
            else:
                part = self.follower_part(t, to, so, minus_t, minus_s)
                down, up = min(down, part.down), min(up, part.up)
                seen.extend(part.corners)
            if down + up < self.k:
                return None
        if self.dearer(dict.fromkeys(seen)):   # in order: every process sums alike
            return None
        changes: dict[Key, int] = {}
        spent: float | None = 0.0
        for t in self.family[family]:
            assert spent is not None
            if t is table:
                spent = self.changes(t, [o.vector for o in options], changes, spent)
            else:
                spent = self.add(self.follower_part(t, to, so, minus_t, minus_s).cells,
                                 changes, spent)
            if spent is None:
                return None
        assert spent is not None
        return Move(changes, down, up), spent

    def follower_part(self, table: Table, to: Option, so: Option, minus_t: tuple[str, ...],
                      minus_s: tuple[str, ...]) -> _Part:
        """A follower table's share of a family move (``follower``'s leaves), kept: the same
        period and site options come back for many cells."""
        memo = (table.code, to.plus, to.minus, so.plus, so.minus)
        found = self.parts.get(memo)
        if found is None:
            options = [to, so, *self.follower(table, minus_t, minus_s)]
            corners: list[Key] = []
            down, up = self.corners(table, options, seen=corners, stop=False)
            cells: list[tuple[Key, int]] = []
            for parts in itertools.product(*(o.vector.items() for o in options)):
                sign = 1
                for _, s in parts:
                    sign *= s
                nodes = [n for n, _ in parts]
                cells.append((cell_key(table, nodes[0], nodes[1], nodes[2:]), sign))
            found = self.parts[memo] = _Part(down, up, corners, cells)
        return found

    def add(self, cells: Iterable[tuple[Key, int]], into: dict[Key, int],
            spent: float) -> float | None:
        """``changes`` for cells already listed."""
        withheld, bound = self.withheld, self.bound
        for key, sign in cells:
            found = into.get(key)
            if found is None:
                into[key] = sign
                if key not in withheld:
                    spent += self.weight(key)
                    if spent > bound:
                        return None
            elif found != sign:
                return None
        return spent

    def follower(self, table: Table, periods: tuple[str, ...],
                 sites: tuple[str, ...]) -> list[Option]:
        """The leaf combination of ``table`` with the largest smallest count over the cells a
        family move takes away from (the values never change, so it is kept)."""
        memo = (table.code, periods, sites)
        if memo not in self.followers:
            def score(leaves: tuple[str, ...]) -> int:
                return min(self.values[cell_key(table, t, s, leaves)]
                           for t in periods for s in sites)
            best = max(itertools.product(*(d.leaves for d in table.dims)), key=score)
            self.followers[memo] = [Option(single(d, leaf), leaf)
                                    for d, leaf in zip(table.dims, best, strict=True)]
        return self.followers[memo]

    def viable(self, key: Key, options: list[list[Option]]) -> list[list[Option]]:
        """The options that may still make a move k wide around a leaf cell: the cell itself
        is a corner that the move decreases, so a move is at most its count plus the count
        of the corner that takes one pair's minus leaf instead; a pair whose corner holds
        less than ``k`` minus the cell's count cannot be part of any wide enough move."""
        need = self.k - self.values[key]
        out = []
        for i, found in enumerate(options):
            kept = []
            for o in found:
                if o.minus is not None and self.values[
                        (*key[:i + 1], o.minus, *key[i + 2:])] < need:
                    continue
                kept.append(o)
            out.append(kept)
        return out

    def candidates(self, key: Key, family_moves: bool) -> Iterable[tuple[Move, float]]:
        """Moves at least k wide, and no dearer than the best found so far, that change the
        cell ``key``, with their costs: those inside its table, or (``family_moves``) those
        that change the family total and so every table of the family (every category
        option a single)."""
        table, cats = self.table_and_cats(key)
        period, site = key[1], key[2]
        tvs = self.options(self.period, period, lambda n: cell_key(table, n, site, cats))
        svs = self.options(self.site, site, lambda n: cell_key(table, period, n, cats))
        cat_options = []
        for i, dim in enumerate(table.dims):
            def probe(n: str, i: int = i) -> Key:
                return cell_key(table, period, site, (*cats[:i], n, *cats[i + 1:]))
            found = self.options(dim, cats[i], probe)
            cat_options.append([o for o in found if o.minus is None] if family_moves
                               else found)
        if key[0] == table.code and all(n in d.leafset for n, d in zip(
                key[1:], (self.period, self.site, *table.dims), strict=True)):
            tvs, svs, *cat_options = self.viable(key, [tvs, svs, *cat_options])
        for to, so in itertools.product(tvs, svs):
            for cos in itertools.product(*cat_options):
                move: tuple[Move, float] | None
                if family_moves:
                    move = self.family_move(table.family, to, so, (table, cos))
                elif all(o.minus is None for o in cos):
                    continue   # every category total changes: a family move
                else:
                    options = (to, so, *cos)
                    seen: list[Key] = []
                    down, up = self.corners(table, options, seen=seen)
                    if down + up < self.k or self.dearer(seen):
                        continue   # too narrow or too dear: no need to list every cell
                    changes: dict[Key, int] = {}
                    spent = self.changes(table, [o.vector for o in options], changes)
                    move = None if spent is None else (Move(changes, down, up), spent)
                if move is not None and move[0].changes.get(key):
                    yield move

    # -- the greedy ---------------------------------------------------------------------------
    def protect_cell(self, key: Key) -> bool:
        best: tuple[float, float, Move] | None = None
        self.bound = math.inf
        for family_moves in (False, True):
            for move, cost in self.candidates(key, family_moves):
                if best is None or (cost, -move.width) < best[:2]:
                    best = (cost, -move.width, move)
                    self.bound = cost
            if best is not None:
                break
        if best is None:
            return False
        move = best[2]
        self.moves.append(move)
        self.withheld.update(move.changes)
        self.covered.update(move.changes)
        return True

    def empty(self, key: Key) -> bool:
        """A zero under a zero: the same categories count nothing in the whole year at any
        site, so this cell is zero by that published zero and points at nobody."""
        if self.values[key]:
            return False
        return self.values[(key[0], self.period.root, self.site.root, *key[3:])] == 0

    def run(self) -> tuple[set[Key], set[str]]:
        primary = {key for key, v in self.values.items() if v < self.k and not self.empty(key)}
        self.withheld |= primary
        whole: set[str] = set()
        for key in sorted(primary, key=lambda c: (-self.level(c), self.values[c], c)):
            if key in self.covered or self.family_of(key) in whole:
                continue
            if not self.protect_cell(key):
                whole.add(self.family_of(key))
        for family in whole:
            self.withheld.update(c for c in self.values if self.family_of(c) == family)
        return primary, whole


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
    search = _Search(period, site, tables, k)
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
