"""The greedy search of small-cell suppression: for each withheld cell, the cheapest move at
least ``k`` wide (the method is described in ``app.reports.suppression``)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence

from app.reports.grid import Dim, Key, Table, cell_key
from app.reports.suppression_moves import PARTNERS, Move, Option, Part, Vector, pair, single


class Search:
    """The greedy over one grid (see ``app.reports.suppression``)."""

    def __init__(self, period: Dim, site: Dim, tables: Sequence[Table], k: int,
                 values: dict[Key, int]) -> None:
        self.period, self.site, self.k = period, site, k
        self.tables = {t.code: t for t in tables}
        self.family: dict[str, list[Table]] = {}
        for t in tables:
            self.family.setdefault(t.family, []).append(t)
        self.values = values  # every cell's true value (``suppression.aggregate``)
        self.withheld: set[Key] = set()
        self.covered: set[Key] = set()
        self.moves: list[Move] = []
        self.levels: dict[Key, int] = {}
        self.weights: dict[Key, float] = {}
        self.parts: dict[tuple[str, str, str | None, str, str | None], Part] = {}
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
                      minus_s: tuple[str, ...]) -> Part:
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
            found = self.parts[memo] = Part(down, up, corners, cells)
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
